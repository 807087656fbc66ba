"""Service-linked roles with boto3, against AWS's recorded answers: the role's path, name,
trust policy and managed policy, custom suffixes, names taken, unknown services, deletion
tasks, and the protection of such roles from ordinary role calls."""

from __future__ import annotations

import json

from compat_helpers import expect_error

PROTECTED = "Cannot perform the operation on the protected role '{}' - this role is only modifiable by AWS"


def test_create_get_and_delete(iam, account_id, cleanup):
    role = iam.create_service_linked_role(AWSServiceName="batch.amazonaws.com")["Role"]
    cleanup(lambda: iam.delete_service_linked_role(RoleName="AWSServiceRoleForBatch"))
    assert role["RoleName"] == "AWSServiceRoleForBatch" and role["Path"] == "/aws-service-role/batch.amazonaws.com/"
    assert role["Arn"] == f"arn:aws:iam::{account_id}:role/aws-service-role/batch.amazonaws.com/AWSServiceRoleForBatch"
    assert role["AssumeRolePolicyDocument"] == {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "batch.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    attached = iam.list_attached_role_policies(RoleName="AWSServiceRoleForBatch")["AttachedPolicies"]
    assert attached == [{"PolicyName": "BatchServiceRolePolicy",
                         "PolicyArn": "arn:aws:iam::aws:policy/aws-service-role/BatchServiceRolePolicy"}]
    with expect_error("InvalidInput", 400) as e:
        iam.create_service_linked_role(AWSServiceName="batch.amazonaws.com")
    assert e.message == "Service role name AWSServiceRoleForBatch has been taken in this account, please try a different suffix."

    task = iam.delete_service_linked_role(RoleName="AWSServiceRoleForBatch")["DeletionTaskId"]
    assert task.startswith("task/aws-service-role/batch.amazonaws.com/AWSServiceRoleForBatch/")
    assert iam.get_service_linked_role_deletion_status(DeletionTaskId=task)["Status"] == "SUCCEEDED"
    with expect_error("NoSuchEntity", 404):
        iam.get_role(RoleName="AWSServiceRoleForBatch")
    with expect_error("InvalidInput", 400):
        iam.get_service_linked_role_deletion_status(DeletionTaskId="task/not-a-task")


def test_suffixes_and_unknown_services(iam, uniq, cleanup):
    suffix = uniq("s")
    role = iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com", CustomSuffix=suffix, Description="for the web tier")["Role"]
    cleanup(lambda: iam.delete_service_linked_role(RoleName=role["RoleName"]))
    assert role["RoleName"] == f"AWSServiceRoleForAutoScaling_{suffix}" and role["Description"] == "for the web tier"
    with expect_error("InvalidInput", 400) as e:
        iam.create_service_linked_role(AWSServiceName="ecs.amazonaws.com", CustomSuffix="x")
    assert e.message == "Custom suffix is not allowed for ecs.amazonaws.com"
    with expect_error("AccessDenied", 403) as e:
        iam.create_service_linked_role(AWSServiceName="nothing.example.com")
    assert e.message == "Cannot find Service Linked Role template for nothing.example.com"


def test_service_linked_roles_are_protected(iam, uniq, cleanup):
    name = iam.create_service_linked_role(AWSServiceName="elasticbeanstalk.amazonaws.com")["Role"]["RoleName"]
    cleanup(lambda: iam.delete_service_linked_role(RoleName=name))
    doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]})
    calls = [
        lambda: iam.delete_role(RoleName=name),
        lambda: iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust),
        lambda: iam.attach_role_policy(RoleName=name, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess"),
        lambda: iam.detach_role_policy(RoleName=name, PolicyArn="arn:aws:iam::aws:policy/aws-service-role/AWSElasticBeanstalkServiceRolePolicy"),
        lambda: iam.put_role_policy(RoleName=name, PolicyName="extra", PolicyDocument=doc),
        lambda: iam.update_role(RoleName=name, MaxSessionDuration=7200),
    ]
    for call in calls:
        with expect_error("UnmodifiableEntity", 400) as e:
            call()
        assert e.message == PROTECTED.format(name)
    # Its description may change.
    iam.update_role(RoleName=name, Description="managed by Beanstalk")
    assert iam.get_role(RoleName=name)["Role"]["Description"] == "managed by Beanstalk"
    # An ordinary role is not a service-linked one.
    plain = uniq("plain")
    iam.create_role(RoleName=plain, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    cleanup(lambda: iam.delete_role(RoleName=plain))
    with expect_error("InvalidInput", 400):
        iam.delete_service_linked_role(RoleName=plain)


def test_the_reserved_paths_are_the_services(iam, uniq):
    """CreateRole cannot use a service-linked or reserved path (SCPs exempt roles there)."""
    trust = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
    with expect_error("InvalidInput", 400) as e:
        iam.create_role(RoleName=uniq("fake"), Path="/aws-service-role/ec2.amazonaws.com/", AssumeRolePolicyDocument=trust)
    assert e.message == "Path prefix '/aws-service-role/' can only be used for AWS Service linked Roles"
    with expect_error("InvalidInput", 400):
        iam.create_role(RoleName=uniq("fake"), Path="/aws-reserved/sso.amazonaws.com/", AssumeRolePolicyDocument=trust)
