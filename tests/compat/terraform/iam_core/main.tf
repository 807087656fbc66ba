# The resources the account-security tutorials and a typical EC2 application use.
resource "aws_iam_group" "admins" {
  name = "Operators"
}

resource "aws_iam_group_policy_attachment" "admins" {
  group      = aws_iam_group.admins.name
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}

resource "aws_iam_user" "alice" {
  name = "alice"
  path = "/staff/"
  tags = { team = "ops" }
}

resource "aws_iam_user_group_membership" "alice" {
  user   = aws_iam_user.alice.name
  groups = [aws_iam_group.admins.name]
}

resource "aws_iam_access_key" "alice" {
  user = aws_iam_user.alice.name
}

resource "aws_iam_user_login_profile" "alice" {
  user                    = aws_iam_user.alice.name
  password_reset_required = true
}

resource "aws_iam_policy" "force_mfa" {
  name        = "Force_MFA"
  description = "Deny everything but managing one's own MFA without MFA"
  policy      = file("${var.seed_dir}/Force_MFA.json")
}

resource "aws_iam_group" "ec2mfa" {
  name = "EC2MFA"
}

resource "aws_iam_group_policy_attachment" "ec2mfa_ec2" {
  group      = aws_iam_group.ec2mfa.name
  policy_arn = "arn:aws:iam::aws:policy/AmazonEC2FullAccess"
}

resource "aws_iam_group_policy_attachment" "ec2mfa_force" {
  group      = aws_iam_group.ec2mfa.name
  policy_arn = aws_iam_policy.force_mfa.arn
}

resource "aws_iam_role" "app" {
  name                 = "app"
  description          = "The application's EC2 instances"
  max_session_duration = 7200
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "ec2.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
  tags = { app = "web" }
}

resource "aws_iam_role_policy" "app_read" {
  role = aws_iam_role.app.id
  name = "read-objects"
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "s3:GetObject", Resource = "*" }]
  })
}

resource "aws_iam_role_policy_attachment" "app_ssm" {
  role       = aws_iam_role.app.name
  policy_arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
}

resource "aws_iam_instance_profile" "app" {
  name = "app"
  role = aws_iam_role.app.name
  tags = { app = "web" }
}

resource "aws_iam_account_password_policy" "strict" {
  minimum_password_length        = 14
  require_symbols                = true
  require_numbers                = true
  allow_users_to_change_password = true
  password_reuse_prevention      = 5
}

resource "aws_iam_account_alias" "alias" {
  account_alias = "tf-corp"
}
