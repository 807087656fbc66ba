# An organization with trusted access for IAM, IAM's centralized root access features, a
# unit, a service control policy attached to it, and an account created in the organization.

resource "aws_organizations_organization" "org" {
  feature_set                   = "ALL"
  aws_service_access_principals = ["iam.amazonaws.com"]
  enabled_policy_types          = ["SERVICE_CONTROL_POLICY"]
}

resource "aws_iam_organizations_features" "root_access" {
  enabled_features = ["RootCredentialsManagement", "RootSessions"]
  depends_on       = [aws_organizations_organization.org]
}

resource "aws_organizations_organizational_unit" "sandbox" {
  name      = "sandbox"
  parent_id = aws_organizations_organization.org.roots[0].id
  tags      = { team = "platform" }
}

resource "aws_organizations_policy" "no_users" {
  name        = "no-iam-users"
  description = "Members create roles, not users"
  type        = "SERVICE_CONTROL_POLICY"
  depends_on  = [aws_organizations_organization.org]
  content = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Deny", Action = ["iam:CreateUser", "iam:CreateAccessKey"], Resource = "*" }]
  })
}

resource "aws_organizations_policy_attachment" "sandbox_no_users" {
  policy_id = aws_organizations_policy.no_users.id
  target_id = aws_organizations_organizational_unit.sandbox.id
}

resource "aws_organizations_account" "dev" {
  name              = "dev"
  email             = "dev@example.com"
  parent_id         = aws_organizations_organizational_unit.sandbox.id
  close_on_deletion = false
}
