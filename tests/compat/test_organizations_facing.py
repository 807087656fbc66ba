"""IAM's and STS's organizations-facing operations while the account belongs to no
organization: AWS's answers for that case (OrganizationNotFoundException, a job that does
not exist, and AssumeRoot's input checks followed by its AccessDenied), after the caller's
own permissions are checked."""

from __future__ import annotations


import boto3

from compat_helpers import expect_error

NO_ORG = "The request was rejected because no organization is associated with your account."


def test_organizations_features_and_access_reports_outside_an_organization(iam, account_id):
    calls = [
        lambda: iam.list_organizations_features(),
        lambda: iam.enable_organizations_root_credentials_management(),
        lambda: iam.disable_organizations_root_credentials_management(),
        lambda: iam.enable_organizations_root_sessions(),
        lambda: iam.disable_organizations_root_sessions(),
        lambda: iam.generate_organizations_access_report(EntityPath="o-a1b2c3d4e5/r-f6g7h8i9j0example"),
    ]
    for call in calls:
        with expect_error("OrganizationNotFoundException", 400) as e:
            call()
        assert e.message == NO_ORG
    with expect_error("NoSuchEntity", 404) as e:
        iam.get_organizations_access_report(JobId="examplea-1234-b567-cde8-90fg123abcd4")
    assert e.message == "Job examplea-1234-b567-cde8-90fg123abcd4 does not exist."


def test_the_callers_permissions_are_checked_first(server, iam, uniq, cleanup):
    from compat_helpers import delete_user_fully
    name = uniq("no-iam")
    cleanup(delete_user_fully, iam, name)
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    other = server.client(key["AccessKeyId"], key["SecretAccessKey"])
    with expect_error("AccessDenied", 403):
        other.list_organizations_features()


def test_assume_root_checks_its_input_then_is_denied(server, account_id):
    sts = boto3.client("sts", endpoint_url=server.endpoint, region_name="us-east-1",
                       aws_access_key_id=server.admin_key_id, aws_secret_access_key=server.admin_secret)
    caller = sts.get_caller_identity()["Arn"]
    task = {"arn": "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"}
    with expect_error("ValidationError", 400) as e:
        sts.assume_root(TargetPrincipal=f"arn:aws:iam::{account_id}:user/someone", TaskPolicyArn=task)
    assert e.message == "Request must contain a valid target principal"
    with expect_error("ValidationError", 400) as e:
        sts.assume_root(TargetPrincipal="111122223333", TaskPolicyArn={"arn": "arn:aws:iam::aws:policy/AdministratorAccess"})
    assert e.message == "Request must contain valid AWS managed task policy ARN"
    for target in ("111122223333", "arn:aws:iam::111122223333:root"):
        with expect_error("AccessDenied", 403) as e:
            sts.assume_root(TargetPrincipal=target, TaskPolicyArn=task, DurationSeconds=900)
        assert e.message == f"User: {caller} is not authorized to perform: sts:AssumeRoot on resource: arn:aws:iam::111122223333:root"
    with expect_error("ValidationError", 400):
        sts.assume_root(TargetPrincipal="111122223333", TaskPolicyArn=task, DurationSeconds=901)
