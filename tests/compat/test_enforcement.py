"""Real enforcement: every request is decided by the policy evaluator, with AWS's
AccessDenied messages (HTTP 403)."""

from __future__ import annotations

import json
import pathlib

import pytest

from compat_helpers import delete_group_fully, delete_policy_fully, delete_user_fully, expect_error, ec2_mfa_group

SEED = pathlib.Path(__file__).resolve().parents[2] / "crates" / "policy" / "tests" / "seed"


def doc(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.fixture
def new_user(iam, make_iam, uniq, cleanup):
    """Factory: new_user(path="/", boundary=None) -> (name, arn, boto3 client with its own key)."""

    def make(path="/", boundary=None, prefix="enf"):
        name = uniq(prefix)
        cleanup(delete_user_fully, iam, name)
        kwargs = {"UserName": name, "Path": path}
        if boundary:
            kwargs["PermissionsBoundary"] = boundary
        arn = iam.create_user(**kwargs)["User"]["Arn"]
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return name, arn, make_iam(key["AccessKeyId"], key["SecretAccessKey"])

    return make


def test_no_policy_means_implicit_deny(new_user, account_id):
    name, arn, client = new_user()
    with expect_error("AccessDenied", 403) as err:
        client.list_users()
    assert err.message == (
        f"User: {arn} is not authorized to perform: iam:ListUsers on resource: "
        f"arn:aws:iam::{account_id}:user/ because no identity-based policy allows the iam:ListUsers action"
    )


def test_inline_allow_then_explicit_deny(iam, new_user, account_id):
    name, arn, client = new_user()
    iam.put_user_policy(UserName=name, PolicyName="read", PolicyDocument=doc(
        {"Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"}))
    client.get_user(UserName=name)  # allowed now, immediately after the policy was put
    iam.put_user_policy(UserName=name, PolicyName="deny", PolicyDocument=doc(
        {"Effect": "Deny", "Action": "iam:ListUsers", "Resource": "*"}))
    with expect_error("AccessDenied", 403) as err:
        client.list_users()
    assert err.message.endswith("with an explicit deny in an identity-based policy")
    client.get_user(UserName=name)  # still allowed


def test_resource_arn_includes_the_path(iam, new_user):
    name, _, client = new_user()
    eng, _, _ = new_user(path="/eng/")
    ops, _, _ = new_user(path="/ops/")
    iam.put_user_policy(UserName=name, PolicyName="eng", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "arn:aws:iam::*:user/eng/*"}))
    assert client.get_user(UserName=eng)["User"]["Path"] == "/eng/"
    with expect_error("AccessDenied", 403) as err:
        client.get_user(UserName=ops)
    assert f"user/ops/{ops}" in err.message


def test_group_membership_grants_and_revokes(iam, new_user, uniq, cleanup):
    name, _, client = new_user()
    group = uniq("readers")
    cleanup(delete_group_fully, iam, group)
    iam.create_group(GroupName=group)
    iam.attach_group_policy(GroupName=group, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    with expect_error("AccessDenied", 403):
        client.list_groups()
    iam.add_user_to_group(GroupName=group, UserName=name)
    client.list_groups()
    iam.remove_user_from_group(GroupName=group, UserName=name)
    with expect_error("AccessDenied", 403):
        client.list_groups()


def test_permissions_boundary_limits_administrator_access(iam, new_user, uniq, cleanup):
    boundary = iam.create_policy(PolicyName=uniq("boundary"), PolicyDocument=doc(
        {"Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"}))["Policy"]["Arn"]
    cleanup(delete_policy_fully, iam, boundary)
    name, _, client = new_user(boundary=boundary)
    iam.attach_user_policy(UserName=name, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    client.list_users()
    with expect_error("AccessDenied", 403) as err:
        client.create_user(UserName=uniq("nope"))
    assert err.message.endswith("because no permissions boundary allows the iam:CreateUser action")
    iam.delete_user_permissions_boundary(UserName=name)
    created = uniq("yes")
    cleanup(delete_user_fully, iam, created)
    client.create_user(UserName=created)
    iam.put_user_permissions_boundary(UserName=name, PermissionsBoundary=boundary)
    with expect_error("AccessDenied", 403):
        client.create_user(UserName=uniq("nope"))


def test_request_tag_condition(iam, new_user, uniq, cleanup):
    name, _, client = new_user()
    iam.put_user_policy(UserName=name, PolicyName="tagged", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "iam:CreateUser", "Resource": "*",
         "Condition": {"StringEquals": {"aws:RequestTag/team": "web"}}}))
    with expect_error("AccessDenied", 403):
        client.create_user(UserName=uniq("untagged"))
    ok = uniq("tagged")
    cleanup(delete_user_fully, iam, ok)
    client.create_user(UserName=ok, Tags=[{"Key": "team", "Value": "web"}])


def test_policy_arn_condition_on_attach(iam, new_user, uniq, cleanup):
    name, arn, client = new_user()
    target, _, _ = new_user()
    iam.put_user_policy(UserName=name, PolicyName="attach-readonly-only", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "iam:AttachUserPolicy", "Resource": "*",
         "Condition": {"ArnEquals": {"iam:PolicyARN": "arn:aws:iam::aws:policy/ReadOnlyAccess"}}}))
    client.attach_user_policy(UserName=target, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    with expect_error("AccessDenied", 403):
        client.attach_user_policy(UserName=target, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")


def test_username_variable(iam, new_user):
    """The self-service pattern: each user may manage only its own access keys."""
    name, _, client = new_user()
    other, _, _ = new_user()
    iam.put_user_policy(UserName=name, PolicyName="own-keys", PolicyDocument=doc(
        {"Effect": "Allow", "Action": ["iam:ListAccessKeys", "iam:GetUser"],
         "Resource": "arn:aws:iam::*:user/${aws:username}"}))
    assert len(client.list_access_keys()["AccessKeyMetadata"]) == 1
    assert client.get_user()["User"]["UserName"] == name
    with expect_error("AccessDenied", 403):
        client.list_access_keys(UserName=other)


def test_force_mfa_with_long_term_keys_denies_everything_but_self_service(iam, new_user, uniq, cleanup):
    """The tutorial's MFAUser in EC2MFA: long-term keys carry no MFA, so Force_MFA denies."""
    group = ec2_mfa_group(iam, uniq, cleanup)
    name, arn, client = new_user(prefix="MFAUser")
    iam.add_user_to_group(GroupName=group, UserName=name)
    with expect_error("AccessDenied", 403) as err:
        client.list_users()
    assert err.message.endswith("with an explicit deny in an identity-based policy")
    # Without MFA the user may still see itself and its MFA devices, but not its keys.
    assert client.get_user()["User"]["UserName"] == name
    assert client.list_mfa_devices()["MFADevices"] == []
    with expect_error("AccessDenied", 403):
        client.list_access_keys()


def test_deactivated_and_deleted_keys_are_refused(iam, new_user):
    name, _, client = new_user()
    iam.put_user_policy(UserName=name, PolicyName="read", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"}))
    client.get_user()
    key_id = iam.list_access_keys(UserName=name)["AccessKeyMetadata"][0]["AccessKeyId"]
    iam.update_access_key(UserName=name, AccessKeyId=key_id, Status="Inactive")
    with expect_error("InvalidClientTokenId", 403):
        client.get_user()
    iam.update_access_key(UserName=name, AccessKeyId=key_id, Status="Active")
    client.get_user()
    iam.delete_access_key(UserName=name, AccessKeyId=key_id)
    with expect_error("InvalidClientTokenId", 403):
        client.get_user()


def test_iam_user_change_password_lets_a_user_change_only_its_own(iam, new_user, make_iam):
    """IAMUserChangePassword: a user may change its own password, nothing else."""
    name, _, client = new_user()
    other, _, _ = new_user()
    iam.attach_user_policy(UserName=name, PolicyArn="arn:aws:iam::aws:policy/IAMUserChangePassword")
    iam.create_login_profile(UserName=name, Password="Initial!Passw0rd", PasswordResetRequired=True)
    with expect_error("AccessDenied", 403):
        client.change_password(OldPassword="wrong-Passw0rd!", NewPassword="Changed!Passw0rd1")
    with expect_error("PasswordPolicyViolation", 400):
        client.change_password(OldPassword="Initial!Passw0rd", NewPassword="short")
    client.change_password(OldPassword="Initial!Passw0rd", NewPassword="Changed!Passw0rd1")
    assert iam.get_login_profile(UserName=name)["LoginProfile"]["PasswordResetRequired"] is False
    with expect_error("AccessDenied", 403):
        client.update_login_profile(UserName=other, Password="Hijack!Passw0rd1")
    with expect_error("AccessDenied", 403):
        client.list_users()
