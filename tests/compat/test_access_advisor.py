"""Access advisor with boto3: the authorizer records each allowed use (IAM calls, and other
services' calls through the authorization endpoint); GenerateServiceLastAccessedDetails,
GetServiceLastAccessedDetails (service and action level) and ...WithEntities report them
for users, groups, roles and policies, with AWS's recorded rules (every service the
policies allow, sorted by namespace; a service denied wholly is left out) and messages."""

from __future__ import annotations

import json
import time

import boto3
import pytest

from compat_helpers import expect_error
from test_authorization_endpoint import ask, ec2_request

POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["iam:Get*", "iam:List*", "ec2:DescribeInstances", "s3:GetObject"], "Resource": "*"},
]}


@pytest.fixture
def advisor(server_factory):
    srv = server_factory()
    admin = srv.client()
    admin.create_group(GroupName="readers")
    admin.put_group_policy(GroupName="readers", PolicyName="read", PolicyDocument=json.dumps(POLICY))
    admin.create_user(UserName="ana")
    admin.add_user_to_group(GroupName="readers", UserName="ana")
    key = admin.create_access_key(UserName="ana")["AccessKey"]
    ana = srv.client(key["AccessKeyId"], key["SecretAccessKey"])
    return srv, admin, ana, key


def report(iam, arn, **kw):
    """Generates a report, and asks again until the uses just made are recorded (they are
    written off the request path)."""
    for _ in range(50):
        job = iam.generate_service_last_accessed_details(Arn=arn, **kw)["JobId"]
        out = iam.get_service_last_accessed_details(JobId=job)
        if any("LastAuthenticated" in s for s in out["ServicesLastAccessed"]):
            return job, out
        time.sleep(0.1)
    return job, out


def test_a_users_report_lists_every_allowed_service_and_its_last_use(advisor):
    srv, admin, ana, key = advisor
    ana.list_users()
    ana_arn = f"arn:aws:iam::{srv.account_id}:user/ana"
    job, out = report(admin, ana_arn)
    assert len(job) == 36 and out["JobStatus"] == "COMPLETED" and out["JobType"] == "SERVICE_LEVEL"
    assert out["JobCompletionDate"] >= out["JobCreationDate"] and out["IsTruncated"] is False
    services = out["ServicesLastAccessed"]
    assert [s["ServiceNamespace"] for s in services] == ["ec2", "iam", "s3"]
    iam_entry = services[1]
    assert iam_entry["ServiceName"] == "AWS Identity and Access Management"
    assert iam_entry["LastAuthenticatedEntity"] == ana_arn and iam_entry["LastAuthenticatedRegion"] == "us-east-1"
    assert iam_entry["TotalAuthenticatedEntities"] == 1
    assert services[2] == {"ServiceName": "Amazon S3", "ServiceNamespace": "s3", "TotalAuthenticatedEntities": 0}

    # A use another service authorizes through Portcullis counts too.
    assert ask(srv, ec2_request(key["AccessKeyId"], key["SecretAccessKey"])).json()["allowed"] is True
    for _ in range(50):
        _, out = report(admin, ana_arn)
        ec2 = out["ServicesLastAccessed"][0]
        if "LastAuthenticated" in ec2:
            break
        time.sleep(0.1)
    assert ec2["ServiceName"] == "Amazon EC2" and ec2["LastAuthenticatedEntity"] == ana_arn

    # Action level: the actions of tracked services, one by one.
    _, out = report(admin, ana_arn, Granularity="ACTION_LEVEL")
    tracked = next(s for s in out["ServicesLastAccessed"] if s["ServiceNamespace"] == "iam")["TrackedActionsLastAccessed"]
    assert [a["ActionName"] for a in tracked] == ["ListUsers"] and tracked[0]["LastAccessedEntity"] == ana_arn


def test_a_service_denied_wholly_is_left_out(advisor):
    srv, admin, ana, key = advisor
    admin.put_user_policy(UserName="ana", PolicyName="no-s3", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}))
    job = admin.generate_service_last_accessed_details(Arn=f"arn:aws:iam::{srv.account_id}:user/ana")["JobId"]
    assert [s["ServiceNamespace"] for s in admin.get_service_last_accessed_details(JobId=job)["ServicesLastAccessed"]] == ["ec2", "iam"]


def test_group_and_policy_reports_and_their_entities(advisor):
    srv, admin, ana, key = advisor
    ana.list_users()
    admin.create_user(UserName="bo")
    admin.add_user_to_group(GroupName="readers", UserName="bo")
    group_arn = f"arn:aws:iam::{srv.account_id}:group/readers"
    job, out = report(admin, group_arn)
    assert [s["ServiceNamespace"] for s in out["ServicesLastAccessed"]] == ["ec2", "iam", "s3"]
    entities = admin.get_service_last_accessed_details_with_entities(JobId=job, ServiceNamespace="iam")
    assert entities["JobStatus"] == "COMPLETED"
    by_name = {e["EntityInfo"]["Name"]: e for e in entities["EntityDetailsList"]}
    assert set(by_name) == {"ana", "bo"}
    assert "LastAuthenticated" in by_name["ana"] and "LastAuthenticated" not in by_name["bo"]
    assert by_name["ana"]["EntityInfo"]["Type"] == "USER" and by_name["ana"]["EntityInfo"]["Id"].startswith("AIDA")
    # A valid namespace the entity has no access to: nobody.
    assert admin.get_service_last_accessed_details_with_entities(JobId=job, ServiceNamespace="sqs")["EntityDetailsList"] == []
    with expect_error("InvalidInput", 400) as e:
        admin.get_service_last_accessed_details_with_entities(JobId=job, ServiceNamespace="nosuchservice")
    assert e.message == "Service namepace nosuchservice is either invalid or unsupported."

    # A managed policy's report covers whoever it is attached to.
    admin.create_role(RoleName="auditor", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{srv.account_id}:root"}, "Action": "sts:AssumeRole"}]}))
    admin.attach_role_policy(RoleName="auditor", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    job = admin.generate_service_last_accessed_details(Arn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")["JobId"]
    out = admin.get_service_last_accessed_details(JobId=job)
    assert "iam" in [s["ServiceNamespace"] for s in out["ServicesLastAccessed"]]
    listed = admin.get_service_last_accessed_details_with_entities(JobId=job, ServiceNamespace="iam")["EntityDetailsList"]
    assert [(e["EntityInfo"]["Name"], e["EntityInfo"]["Type"]) for e in listed] == [("auditor", "ROLE")]


def test_errors_as_aws_answers_them(advisor):
    srv, admin, ana, key = advisor
    account = srv.account_id
    with expect_error("NoSuchEntity", 404) as e:
        admin.get_service_last_accessed_details(JobId="00000000-0000-0000-0000-000000000000")
    assert e.message == "Job 00000000-0000-0000-0000-000000000000 does not exist."
    with expect_error("NoSuchEntity", 404) as e:
        admin.generate_service_last_accessed_details(Arn=f"arn:aws:iam::{account}:user/nobody")
    assert e.message == f"ARN arn:aws:iam::{account}:user/nobody does not exist."
    with expect_error("InvalidInput", 400) as e:
        admin.generate_service_last_accessed_details(Arn=f"arn:aws:iam::{account}:root")
    assert e.message == f"Invalid Entity Arn: arn:aws:iam::{account}:root is not supported."
    with expect_error("ValidationError", 400) as e:
        admin.generate_service_last_accessed_details(Arn=f"arn:aws:s3:::{account}-bucket-name")
    assert e.message == "Invalid service in ARN"
    with expect_error("AccessDenied", 403):
        admin.generate_service_last_accessed_details(Arn="arn:aws:iam::999999999999:user/ana")
    # A job is its requester's: another user is told it does not exist.
    job = admin.generate_service_last_accessed_details(Arn=f"arn:aws:iam::{account}:user/ana")["JobId"]
    with expect_error("NoSuchEntity", 404):
        ana.get_service_last_accessed_details(JobId=job)
    # Without iam:GenerateServiceLastAccessedDetails on the entity: denied.
    admin.put_user_policy(UserName="ana", PolicyName="no-reports", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "iam:GenerateServiceLastAccessedDetails", "Resource": "*"}]}))
    with expect_error("AccessDenied", 403):
        ana.generate_service_last_accessed_details(Arn=f"arn:aws:iam::{account}:user/ana")


def test_a_report_is_authorized_on_the_entitys_real_path(advisor):
    srv, admin, ana, key = advisor
    account = srv.account_id
    admin.create_user(UserName="boss", Path="/secret/")
    admin.put_user_policy(UserName="ana", PolicyName="public-reports", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["iam:GenerateServiceLastAccessedDetails", "iam:GetServiceLastAccessedDetails"],
         "Resource": f"arn:aws:iam::{account}:user/public/*"}]}))
    # Found by name whatever the path asked, as AWS does, but authorized on its real path too.
    with expect_error("AccessDenied", 403):
        ana.generate_service_last_accessed_details(Arn=f"arn:aws:iam::{account}:user/public/boss")
    assert admin.generate_service_last_accessed_details(Arn=f"arn:aws:iam::{account}:user/public/boss")["JobId"]
