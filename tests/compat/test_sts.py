"""STS temporary credentials, virtual MFA devices and AssumeRole, with real enforcement:
the tutorial's MFAUser is denied without MFA and allowed with it."""

from __future__ import annotations

import datetime as dt
import json

import boto3
import pytest

import totp
from compat_helpers import REGION, delete_role_fully, delete_user_fully, expect_error, ec2_mfa_group



def doc(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def clients(server, key_id, secret, token=None):
    kw = dict(endpoint_url=server.endpoint, region_name=REGION, aws_access_key_id=key_id,
              aws_secret_access_key=secret, aws_session_token=token)
    return boto3.client("iam", **kw), boto3.client("sts", **kw)


@pytest.fixture
def user_with_key(iam, uniq, cleanup, server):
    def make(prefix="sts"):
        name = uniq(prefix)
        cleanup(delete_user_fully, iam, name)
        arn = iam.create_user(UserName=name)["User"]["Arn"]
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return name, arn, key
    return make


def enable_virtual_mfa(iam_client, user_name, account_id):
    """Create and enable a virtual MFA device with two consecutive codes; returns (serial, seed)."""
    dev = iam_client.create_virtual_mfa_device(VirtualMFADeviceName=user_name)["VirtualMFADevice"]
    assert dev["SerialNumber"] == f"arn:aws:iam::{account_id}:mfa/{user_name}"
    assert dev["QRCodePNG"].startswith(b"\x89PNG")
    seed = dev["Base32StringSeed"]
    step = totp.current_step()
    iam_client.enable_mfa_device(UserName=user_name, SerialNumber=dev["SerialNumber"],
                                 AuthenticationCode1=totp.code(seed, step - 1),
                                 AuthenticationCode2=totp.code(seed, step))
    return dev["SerialNumber"], seed


def test_get_session_token_gives_working_temporary_credentials(server, user_with_key):
    name, arn, key = user_with_key()
    _, sts = clients(server, key["AccessKeyId"], key["SecretAccessKey"])
    creds = sts.get_session_token(DurationSeconds=900)["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and len(creds["AccessKeyId"]) == 20
    assert len(creds["SecretAccessKey"]) == 40
    left = creds["Expiration"] - dt.datetime.now(dt.timezone.utc)
    assert dt.timedelta(seconds=800) < left <= dt.timedelta(seconds=900)
    _, temp_sts = clients(server, creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    ident = temp_sts.get_caller_identity()
    assert ident["Arn"] == arn
    # Session credentials cannot make another session.
    with expect_error("AccessDenied", 403):
        temp_sts.get_session_token()


def test_tampered_or_missing_token_is_refused(server, user_with_key):
    _, _, key = user_with_key()
    _, sts = clients(server, key["AccessKeyId"], key["SecretAccessKey"])
    creds = sts.get_session_token()["Credentials"]
    token = creds["SessionToken"]
    bad = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")
    _, tampered = clients(server, creds["AccessKeyId"], creds["SecretAccessKey"], bad)
    with expect_error("InvalidClientTokenId", 403):
        tampered.get_caller_identity()
    _, missing = clients(server, creds["AccessKeyId"], creds["SecretAccessKey"])
    with expect_error("InvalidClientTokenId", 403):
        missing.get_caller_identity()
    other = sts.get_session_token()["Credentials"]
    _, mixed = clients(server, creds["AccessKeyId"], creds["SecretAccessKey"], other["SessionToken"])
    with expect_error("InvalidClientTokenId", 403):
        mixed.get_caller_identity()


def test_tutorial_mfa_user_is_denied_without_mfa_and_allowed_with_it(server, iam, uniq, cleanup, user_with_key, account_id):
    group = ec2_mfa_group(iam, uniq, cleanup)
    name, arn, key = user_with_key("MFAUser")
    iam.add_user_to_group(GroupName=group, UserName=name)
    user_iam, user_sts = clients(server, key["AccessKeyId"], key["SecretAccessKey"])

    # Long-term keys: no MFA, so Force_MFA denies everything but the MFA self-service.
    with expect_error("AccessDenied", 403):
        user_iam.list_access_keys()
    serial, seed = enable_virtual_mfa(user_iam, name, account_id)
    assert [d["SerialNumber"] for d in user_iam.list_mfa_devices()["MFADevices"]] == [serial]

    # A wrong code gets nothing.
    with expect_error("AccessDenied", 403):
        user_sts.get_session_token(SerialNumber=serial, TokenCode="000000" if totp.code(seed, totp.current_step()) != "000000" else "111111")
    step = totp.current_step() + 1  # the next code: never used yet
    creds = user_sts.get_session_token(SerialNumber=serial, TokenCode=totp.code(seed, step))["Credentials"]
    mfa_iam, _ = clients(server, creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    assert mfa_iam.list_access_keys()["AccessKeyMetadata"][0]["AccessKeyId"] == key["AccessKeyId"]
    # ListUsers is not granted by these policies at all: implicit deny even with MFA.
    with expect_error("AccessDenied", 403) as err:
        mfa_iam.list_users()
    assert "because no identity-based policy allows" in err.message
    # The same code is not accepted twice.
    with expect_error("AccessDenied", 403):
        user_sts.get_session_token(SerialNumber=serial, TokenCode=totp.code(seed, step))
    summary = iam.get_account_summary()["SummaryMap"]
    assert summary["MFADevicesInUse"] >= 1
    # Cleanup needs the device deactivated and deleted first (DeleteUser refuses otherwise).
    with expect_error("DeleteConflict", 409):
        iam.delete_user(UserName=name)
    iam.deactivate_mfa_device(UserName=name, SerialNumber=serial)
    iam.delete_virtual_mfa_device(SerialNumber=serial)


def test_enable_mfa_device_rejects_wrong_codes(iam, uniq, cleanup, account_id):
    name = uniq("mfa")
    cleanup(delete_user_fully, iam, name)
    iam.create_user(UserName=name)
    dev = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]
    cleanup(lambda: iam.delete_virtual_mfa_device(SerialNumber=dev["SerialNumber"]))
    seed, step = dev["Base32StringSeed"], totp.current_step()
    with expect_error("InvalidAuthenticationCode", 403):
        # Not consecutive: the same code twice.
        iam.enable_mfa_device(UserName=name, SerialNumber=dev["SerialNumber"],
                              AuthenticationCode1=totp.code(seed, step), AuthenticationCode2=totp.code(seed, step))
    unassigned = iam.list_virtual_mfa_devices(AssignmentStatus="Unassigned")["VirtualMFADevices"]
    assert dev["SerialNumber"] in [d["SerialNumber"] for d in unassigned]
    assert all("Base32StringSeed" not in d for d in unassigned)
    with expect_error("EntityAlreadyExists", 409):
        iam.create_virtual_mfa_device(VirtualMFADeviceName=name)


@pytest.fixture
def role(iam, uniq, cleanup, account_id):
    def make(trust_statements, max_session=3600, policy_arn="arn:aws:iam::aws:policy/IAMReadOnlyAccess"):
        name = uniq("role")
        cleanup(delete_role_fully, iam, name)
        r = iam.create_role(RoleName=name, AssumeRolePolicyDocument=doc(*trust_statements),
                            MaxSessionDuration=max_session)["Role"]
        if policy_arn:
            iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
        return r
    return make


def test_assume_role_needs_trust_and_permission(server, iam, role, user_with_key, account_id):
    r = role([{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"}, "Action": "sts:AssumeRole"}])
    name, arn, key = user_with_key()
    _, sts = clients(server, key["AccessKeyId"], key["SecretAccessKey"])
    # The trust policy trusts the account, so the user's own policies must allow too.
    with expect_error("AccessDenied", 403) as err:
        sts.assume_role(RoleArn=r["Arn"], RoleSessionName="s1")
    assert err.message == f"User: {arn} is not authorized to perform: sts:AssumeRole on resource: {r['Arn']}"
    iam.put_user_policy(UserName=name, PolicyName="assume", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": r["Arn"]}))
    out = sts.assume_role(RoleArn=r["Arn"], RoleSessionName="s1")
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{account_id}:assumed-role/{r['RoleName']}/s1"
    assert out["AssumedRoleUser"]["AssumedRoleId"] == f"{r['RoleId']}:s1"
    c = out["Credentials"]
    role_iam, role_sts = clients(server, c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
    assert role_sts.get_caller_identity()["Arn"] == out["AssumedRoleUser"]["Arn"]
    role_iam.list_users()  # IAMReadOnlyAccess
    with expect_error("AccessDenied", 403) as err:
        role_iam.create_user(UserName="nope")
    assert err.message.startswith(f"User: arn:aws:sts::{account_id}:assumed-role/{r['RoleName']}/s1 is not authorized")


def test_trust_policy_naming_the_user_needs_no_identity_permission(server, role, user_with_key):
    name, arn, key = user_with_key()
    r = role([{"Effect": "Allow", "Principal": {"AWS": arn}, "Action": "sts:AssumeRole",
               "Condition": {"StringEquals": {"sts:ExternalId": "tenant-42"}}}])
    _, sts = clients(server, key["AccessKeyId"], key["SecretAccessKey"])
    with expect_error("AccessDenied", 403):
        sts.assume_role(RoleArn=r["Arn"], RoleSessionName="xs")
    with expect_error("AccessDenied", 403):
        sts.assume_role(RoleArn=r["Arn"], RoleSessionName="xs", ExternalId="other")
    sts.assume_role(RoleArn=r["Arn"], RoleSessionName="xs", ExternalId="tenant-42")


def test_assume_role_duration_and_session_policy(server, role, user_with_key):
    name, arn, key = user_with_key()
    r = role([{"Effect": "Allow", "Principal": {"AWS": arn}, "Action": "sts:AssumeRole"}], max_session=3600)
    _, sts = clients(server, key["AccessKeyId"], key["SecretAccessKey"])
    with expect_error("ValidationError", 400):
        sts.assume_role(RoleArn=r["Arn"], RoleSessionName="xs", DurationSeconds=7200)
    only_get_user = doc({"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"})
    out = sts.assume_role(RoleArn=r["Arn"], RoleSessionName="scoped", Policy=only_get_user)
    assert 0 < out["PackedPolicySize"] <= 100
    c = out["Credentials"]
    scoped_iam, _ = clients(server, c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
    scoped_iam.get_user(UserName=name)
    with expect_error("AccessDenied", 403) as err:
        scoped_iam.list_users()
    assert err.message.endswith("because no session policy allows the iam:ListUsers action")


def test_assume_role_with_mfa_condition(server, iam, role, user_with_key, account_id):
    name, arn, key = user_with_key()
    r = role([{"Effect": "Allow", "Principal": {"AWS": arn}, "Action": "sts:AssumeRole",
               "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}])
    serial, seed = enable_virtual_mfa(iam, name, account_id)
    _, sts = clients(server, key["AccessKeyId"], key["SecretAccessKey"])
    with expect_error("AccessDenied", 403):
        sts.assume_role(RoleArn=r["Arn"], RoleSessionName="xs")
    sts.assume_role(RoleArn=r["Arn"], RoleSessionName="xs", SerialNumber=serial,
                    TokenCode=totp.code(seed, totp.current_step() + 1))
    iam.deactivate_mfa_device(UserName=name, SerialNumber=serial)
    iam.delete_virtual_mfa_device(SerialNumber=serial)


def test_get_access_key_info(server, iam, user_with_key, account_id):
    _, _, key = user_with_key()
    _, sts = clients(server, server.admin_key_id, server.admin_secret)
    assert sts.get_access_key_info(AccessKeyId=key["AccessKeyId"])["Account"] == account_id


def test_a_source_identity_cannot_change_through_role_chaining(iam, server, uniq, cleanup, account_id):
    role = uniq("chain")
    cleanup(delete_role_fully, iam, role)
    trust = doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                 "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"]})
    arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    iam.put_role_policy(RoleName=role, PolicyName="chain", PolicyDocument=doc(
        {"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"], "Resource": "*"}))
    _, sts = clients(server, server.admin_key_id, server.admin_secret)
    first = sts.assume_role(RoleArn=arn, RoleSessionName="first", SourceIdentity="alice")
    assert first["SourceIdentity"] == "alice"
    c = first["Credentials"]
    _, chained = clients(server, c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
    # The same value again is fine; another is refused; none keeps it.
    assert chained.assume_role(RoleArn=arn, RoleSessionName="same", SourceIdentity="alice")["SourceIdentity"] == "alice"
    with expect_error("AccessDenied", 403):
        chained.assume_role(RoleArn=arn, RoleSessionName="other", SourceIdentity="mallory")
    assert chained.assume_role(RoleArn=arn, RoleSessionName="kept")["SourceIdentity"] == "alice"
