# IAM Identity Center as the first tutorial sets it up: an organization with an account,
# the instance, John in the Admins group, the AdministratorAccess permission set (PT1H) and
# its assignment to the account. The instance is made beforehand (AWS's console's Enable);
# the configuration reads it with the aws_ssoadmin_instances data source.

resource "aws_organizations_account" "sandbox" {
  name              = "sandbox"
  email             = "sandbox@example.com"
  close_on_deletion = false
}

data "aws_ssoadmin_instances" "this" {}

locals {
  instance_arn      = tolist(data.aws_ssoadmin_instances.this.arns)[0]
  identity_store_id = tolist(data.aws_ssoadmin_instances.this.identity_store_ids)[0]
}

resource "aws_identitystore_user" "john" {
  identity_store_id = local.identity_store_id
  user_name         = "John"
  display_name      = "John Doe"
  name {
    given_name  = "John"
    family_name = "Doe"
  }
  emails {
    value   = "john@example.com"
    primary = true
  }
}

resource "aws_identitystore_group" "admins" {
  identity_store_id = local.identity_store_id
  display_name      = "Admins"
  description       = "Administrators"
}

resource "aws_identitystore_group_membership" "john_admins" {
  identity_store_id = local.identity_store_id
  group_id          = aws_identitystore_group.admins.group_id
  member_id         = aws_identitystore_user.john.user_id
}

resource "aws_ssoadmin_permission_set" "admin" {
  name             = "AdministratorAccess"
  instance_arn     = local.instance_arn
  session_duration = "PT1H"
}

resource "aws_ssoadmin_managed_policy_attachment" "admin" {
  instance_arn       = local.instance_arn
  permission_set_arn = aws_ssoadmin_permission_set.admin.arn
  managed_policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}

resource "aws_ssoadmin_account_assignment" "admins_sandbox" {
  instance_arn       = local.instance_arn
  permission_set_arn = aws_ssoadmin_permission_set.admin.arn
  principal_type     = "GROUP"
  principal_id       = aws_identitystore_group.admins.group_id
  target_type        = "AWS_ACCOUNT"
  target_id          = aws_organizations_account.sandbox.id
  depends_on         = [aws_ssoadmin_managed_policy_attachment.admin]
}
