"""The outside review's findings, each probed as an attacker or a careless client would:

- a session policy, a permissions boundary and an explicit deny each limit every STS action
  that policies control, and the authorization endpoint (no second decision path);
- a stored policy that does not parse denies instead of being skipped;
- sign-in and MFA throttles count per identity, however it is named;
- input that once panicked the server gets a clean answer;
- strict SigV4 parsing, and AWS-shaped answers from the HTTP layer.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import sqlite3
import subprocess

import boto3
import pyotp
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from compat_helpers import REGION, delete_role_fully, delete_user_fully, expect_error, parse_error_xml

NO_RETRY = Config(retries={"mode": "standard", "total_max_attempts": 1})


def doc(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*"):
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def deny(action, resource="*"):
    return {"Effect": "Deny", "Action": action, "Resource": resource}


def clients(server, key_id, secret, token=None):
    kw = dict(endpoint_url=server.endpoint, region_name=REGION, aws_access_key_id=key_id,
              aws_secret_access_key=secret, aws_session_token=token, config=NO_RETRY)
    return boto3.client("iam", **kw), boto3.client("sts", **kw)


def signed_request(key_id, secret, token=None, service="ec2", body="Action=DescribeInstances&Version=2016-11-15"):
    """A SigV4-signed request as another service would receive it, for /_portcullis/authorize."""
    req = AWSRequest(method="POST", url=f"https://{service}.us-east-1.amazonaws.com/", data=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(key_id, secret, token), service, REGION).add_auth(req)
    prepared = req.prepare()
    return {
        "method": "POST", "path": "/", "query": "",
        "headers": [[k, v] for k, v in prepared.headers.items()] + [["host", f"{service}.us-east-1.amazonaws.com"]],
        "body": base64.b64encode(body.encode()).decode(),
    }


def authorize(server, creds, action, resource="*", context=None):
    r = requests.post(f"{server.endpoint}/_portcullis/authorize", timeout=30, json={
        "request": signed_request(*creds), "action": action, "resource": resource, "context": context or {}})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def two_admin_roles(iam, uniq, cleanup, account_id):
    """Roles R1 and R2 that trust the account and carry AdministratorAccess."""
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"}, "Action": "sts:AssumeRole"}]})
    arns = []
    for _ in range(2):
        name = uniq("admin-role")
        cleanup(delete_role_fully, iam, name)
        arns.append(iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"])
        iam.attach_role_policy(RoleName=name, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    return arns


def admin_user(iam, uniq, cleanup, prefix, boundary=None, extra=None):
    """A user with AdministratorAccess (and a boundary or an inline policy), and its key."""
    name = uniq(prefix)
    cleanup(delete_user_fully, iam, name)
    iam.create_user(UserName=name, **({"PermissionsBoundary": boundary} if boundary else {}))
    iam.attach_user_policy(UserName=name, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    if extra:
        iam.put_user_policy(UserName=name, PolicyName="extra", PolicyDocument=extra)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def assert_sts_actions_limited(server, creds, role_arn, *, session_token_allowed):
    """Every STS action that policies control is denied for these credentials; the two that
    AWS never lets a policy control (GetCallerIdentity, GetSessionToken) still answer."""
    _, sts = clients(server, *creds)
    with expect_error("AccessDenied", 403):
        sts.assume_role(RoleArn=role_arn, RoleSessionName="escape")
    with expect_error("AccessDenied", 403):
        sts.decode_authorization_message(EncodedMessage="anything")
    with expect_error("AccessDenied", 403):
        sts.get_access_key_info(AccessKeyId=creds[0])
    assert sts.get_caller_identity()["Account"] == server.account_id
    if session_token_allowed:
        assert sts.get_session_token(DurationSeconds=900)["Credentials"]["AccessKeyId"].startswith("ASIA")
    verdict = authorize(server, creds, "iam:ListUsers")
    assert verdict["allowed"] is False and verdict["decision"] != "allowed", verdict
    verdict = authorize(server, creds, "sts:AssumeRole", role_arn)
    assert verdict["allowed"] is False, verdict


def test_without_limits_every_sts_action_is_allowed(server, iam, two_admin_roles, uniq, cleanup):
    """The control: the same calls succeed for an unlimited administrator, so the denials
    below are the limits' doing."""
    creds = admin_user(iam, uniq, cleanup, "unlimited")
    _, sts = clients(server, *creds)
    assert sts.assume_role(RoleArn=two_admin_roles[1], RoleSessionName="ok")["Credentials"]["AccessKeyId"].startswith("ASIA")
    assert sts.get_access_key_info(AccessKeyId=creds[0])["Account"] == server.account_id
    with expect_error("InvalidAuthorizationMessageException", 400):
        sts.decode_authorization_message(EncodedMessage="anything")
    assert authorize(server, creds, "iam:ListUsers")["allowed"] is True


def test_a_session_policy_cannot_be_escaped_through_assume_role(server, iam, two_admin_roles):
    _, sts = clients(server, server.admin_key_id, server.admin_secret)
    r1 = sts.assume_role(RoleArn=two_admin_roles[0], RoleSessionName="s3-only",
                         Policy=doc(allow("s3:*")))["Credentials"]
    creds = (r1["AccessKeyId"], r1["SecretAccessKey"], r1["SessionToken"])
    limited_iam, _ = clients(server, *creds)
    with expect_error("AccessDenied", 403):
        limited_iam.list_users()
    # The review's escalation: R2 would be a full administrator.
    assert_sts_actions_limited(server, creds, two_admin_roles[1], session_token_allowed=False)
    assert authorize(server, creds, "s3:GetObject", "arn:aws:s3:::bucket/key")["allowed"] is True

    # A session policy that does allow sts:AssumeRole lets the chain go on.
    r1 = sts.assume_role(RoleArn=two_admin_roles[0], RoleSessionName="may-chain",
                         Policy=doc(allow("sts:AssumeRole")))["Credentials"]
    _, chained = clients(server, r1["AccessKeyId"], r1["SecretAccessKey"], r1["SessionToken"])
    assert chained.assume_role(RoleArn=two_admin_roles[1], RoleSessionName="next")["AssumedRoleUser"]["Arn"].endswith("/next")


def test_a_managed_session_policy_limits_assume_role(server, iam, two_admin_roles, uniq, cleanup, account_id):
    _, sts = clients(server, server.admin_key_id, server.admin_secret)
    r1 = sts.assume_role(RoleArn=two_admin_roles[0], RoleSessionName="read-only",
                         PolicyArns=[{"arn": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"}])["Credentials"]
    creds = (r1["AccessKeyId"], r1["SecretAccessKey"], r1["SessionToken"])
    assert_sts_actions_limited(server, creds, two_admin_roles[1], session_token_allowed=False)


def test_a_permissions_boundary_limits_every_sts_action(server, iam, two_admin_roles, uniq, cleanup, account_id):
    boundary_name = uniq("s3-boundary")
    boundary = iam.create_policy(PolicyName=boundary_name, PolicyDocument=doc(allow("s3:*")))["Policy"]["Arn"]
    cleanup(iam.delete_policy, PolicyArn=boundary)
    creds = admin_user(iam, uniq, cleanup, "bounded", boundary=boundary)
    assert_sts_actions_limited(server, creds, two_admin_roles[1], session_token_allowed=True)


def test_an_explicit_deny_limits_every_sts_action(server, iam, two_admin_roles, uniq, cleanup):
    creds = admin_user(iam, uniq, cleanup, "denied", extra=doc(deny("sts:*"), deny("iam:ListUsers")))
    assert_sts_actions_limited(server, creds, two_admin_roles[1], session_token_allowed=True)
    verdict = authorize(server, creds, "iam:ListUsers")
    assert verdict["decision"] == "explicitDeny", verdict


def test_a_boundary_limits_a_role_session_assuming_another_role(server, iam, two_admin_roles, uniq, cleanup, account_id):
    """A boundary on the role whose session calls AssumeRole is applied too."""
    boundary = iam.create_policy(PolicyName=uniq("s3-boundary"), PolicyDocument=doc(allow("s3:*")))["Policy"]["Arn"]
    cleanup(iam.delete_policy, PolicyArn=boundary)
    name = two_admin_roles[0].rsplit("/", 1)[1]
    iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=boundary)
    cleanup(iam.delete_role_permissions_boundary, RoleName=name)
    _, sts = clients(server, server.admin_key_id, server.admin_secret)
    r1 = sts.assume_role(RoleArn=two_admin_roles[0], RoleSessionName="bounded")["Credentials"]
    creds = (r1["AccessKeyId"], r1["SecretAccessKey"], r1["SessionToken"])
    assert_sts_actions_limited(server, creds, two_admin_roles[1], session_token_allowed=False)


def test_session_tags_and_source_identity_need_the_trust_policys_allow(server, iam, uniq, cleanup, account_id):
    """sts:TagSession and sts:SetSourceIdentity are decided like sts:AssumeRole: a caller
    cannot give its session principal tags that the role's trust policy did not allow."""
    def role(actions):
        name = uniq("tagged-role")
        cleanup(delete_role_fully, iam, name)
        trust = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"}, "Action": actions}]})
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        iam.attach_role_policy(RoleName=name, PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
        return arn
    _, sts = clients(server, server.admin_key_id, server.admin_secret)
    plain = role("sts:AssumeRole")
    with expect_error("AccessDenied", 403) as err:
        sts.assume_role(RoleArn=plain, RoleSessionName="tagged", Tags=[{"Key": "team", "Value": "admins"}])
    assert "sts:TagSession" in err.message
    with expect_error("AccessDenied", 403) as err:
        sts.assume_role(RoleArn=plain, RoleSessionName="sourced", SourceIdentity="alice")
    assert "sts:SetSourceIdentity" in err.message
    assert sts.assume_role(RoleArn=plain, RoleSessionName="untagged")["AssumedRoleUser"]["Arn"].endswith("/untagged")

    both = role(["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"])
    out = sts.assume_role(RoleArn=both, RoleSessionName="tagged", Tags=[{"Key": "team", "Value": "admins"}],
                          SourceIdentity="alice")
    assert out["SourceIdentity"] == "alice"


# --------------------------------------------------------------------------
# A stored policy that does not parse fails closed.
# --------------------------------------------------------------------------

def run_sql(srv, sql: str):
    """Changes the database behind the API's back (the server is stopped)."""
    if srv.database_url:
        r = subprocess.run(["psql", srv.database_url, "-v", "ON_ERROR_STOP=1", "-X", "-q", "-c", sql],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
    else:
        db = sqlite3.connect(srv.data_dir / "portcullis.db")
        with db:
            assert db.execute(sql).rowcount == 1
        db.close()


def break_inline_policy(srv, policy_name: str):
    """Overwrites a stored inline policy with text that does not parse."""
    run_sql(srv, f"UPDATE inline_policies SET document = '{{\"Version\": \"2012-10-17\", \"Statement\": [' WHERE policy_name = '{policy_name}'")


def test_an_unparseable_stored_policy_denies(server_factory):
    srv = server_factory()
    admin = srv.client()
    admin.create_user(UserName="broken-bob")
    admin.attach_user_policy(UserName="broken-bob", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    admin.put_user_policy(UserName="broken-bob", PolicyName="DenyIam", PolicyDocument=doc(deny("iam:*")))
    key = admin.create_access_key(UserName="broken-bob")["AccessKey"]
    bob_iam, bob_sts = clients(srv, key["AccessKeyId"], key["SecretAccessKey"])
    with expect_error("AccessDenied", 403):
        bob_iam.list_users()

    srv.stop()
    break_inline_policy(srv, "DenyIam")
    srv.start()
    bob_iam, _ = clients(srv, key["AccessKeyId"], key["SecretAccessKey"])
    # The deny it held is not lost: every request of the user is denied, naming the policy.
    with expect_error("AccessDenied", 403) as err:
        bob_iam.list_users()
    assert "DenyIam" in err.message, err.message
    with expect_error("AccessDenied", 403):
        bob_iam.get_user()
    verdict = authorize(srv, (key["AccessKeyId"], key["SecretAccessKey"]), "ec2:DescribeInstances")
    assert verdict["allowed"] is False and "DenyIam" in verdict["message"], verdict
    # The simulator does not pretend the policy is not there.
    with expect_error("ServiceFailure", 500):
        srv.client().simulate_principal_policy(
            PolicySourceArn=f"arn:aws:iam::{srv.account_id}:user/broken-bob", ActionNames=["iam:ListUsers"])
    assert "stored policy does not parse" in srv.log_tail(200)
    # Other users are unaffected, and an administrator can repair it.
    admin = srv.client()
    admin.put_user_policy(UserName="broken-bob", PolicyName="DenyIam", PolicyDocument=doc(deny("iam:*")))
    bob_iam, bob_sts = clients(srv, key["AccessKeyId"], key["SecretAccessKey"])
    with expect_error("AccessDenied", 403) as err:
        bob_iam.list_users()
    assert "explicit deny" in err.message
    assert bob_sts.get_caller_identity()["Arn"].endswith(":user/broken-bob")


def test_a_boundary_that_no_longer_exists_denies(server_factory):
    srv = server_factory()
    admin = srv.client()
    boundary = admin.create_policy(PolicyName="s3-only", PolicyDocument=doc(allow("s3:*")))["Policy"]["Arn"]
    admin.create_user(UserName="bounded-bea", PermissionsBoundary=boundary)
    admin.attach_user_policy(UserName="bounded-bea", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    key = admin.create_access_key(UserName="bounded-bea")["AccessKey"]
    creds = (key["AccessKeyId"], key["SecretAccessKey"])
    assert authorize(srv, creds, "s3:GetObject", "arn:aws:s3:::b/k")["allowed"] is True
    assert authorize(srv, creds, "iam:ListUsers")["allowed"] is False
    # Through the API the boundary's policy cannot be deleted while it limits someone.
    with expect_error("DeleteConflict", 409) as err:
        admin.delete_policy(PolicyArn=boundary)
    assert err.message == "Cannot delete a policy attached to entities."

    srv.stop()
    run_sql(srv, f"UPDATE users SET permissions_boundary = 'arn:aws:iam::{srv.account_id}:policy/gone' WHERE name = 'bounded-bea'")
    srv.start()
    # A boundary that vanished does not lift its limits: everything is denied.
    for action in ["iam:ListUsers", "s3:GetObject"]:
        verdict = authorize(srv, creds, action, "arn:aws:s3:::b/k")
        assert verdict["allowed"] is False and "policy/gone" in verdict["message"], verdict


# --------------------------------------------------------------------------
# Throttles count per identity.
# --------------------------------------------------------------------------

def sign_in(srv, **body):
    return requests.post(f"{srv.endpoint}/_portcullis/signin", json=body, timeout=30)


def test_password_guesses_count_per_identity_not_per_spelling(server_factory):
    srv = server_factory()
    admin = srv.client()
    admin.create_user(UserName="Bob")
    admin.create_login_profile(UserName="Bob", Password="Bob-password-123")
    admin.create_account_alias(AccountAlias="hardening-alias")
    spellings = [
        dict(account=srv.account_id, user_name="Bob"),
        dict(account="hardening-alias", user_name="Bob"),
        dict(account="hardening-alias", user_name="bob"),
        dict(account=srv.account_id, user_name="BOB"),
        dict(account=" hardening-alias ", user_name="bOb"),
    ]
    # Five wrong passwords, each through another way of naming Bob.
    for who in spellings:
        r = sign_in(srv, **who, password="wrong-guess")
        assert r.status_code == 401 and r.json()["error"]["code"] == "InvalidCredentials", r.text
    # No spelling gets more guesses, not even with the right password.
    for who in spellings:
        r = sign_in(srv, **who, password="Bob-password-123")
        assert r.status_code == 429 and r.json()["error"]["code"] == "Throttling", (who, r.text)
    # Another user of the account is not locked out by Bob's count.
    admin.create_user(UserName="Alice")
    admin.create_login_profile(UserName="Alice", Password="Alice-password-123")
    r = sign_in(srv, account="hardening-alias", user_name="Alice", password="Alice-password-123")
    assert r.status_code == 200 and r.json()["status"] == "SignedIn", r.text


def test_guesses_for_a_name_nobody_has_are_counted_like_a_users(server_factory):
    """Otherwise the count would tell which names exist: five wrong tries through the
    account id, then one through the alias, answer alike for Bob and for nobody."""
    srv = server_factory()
    admin = srv.client()
    admin.create_user(UserName="Bob")
    admin.create_login_profile(UserName="Bob", Password="Bob-password-123")
    admin.create_account_alias(AccountAlias="oracle-alias")
    for name in ["Bob", "Ghost"]:
        for _ in range(5):
            r = sign_in(srv, account=srv.account_id, user_name=name, password="wrong-guess")
            assert r.status_code == 401, r.text
        r = sign_in(srv, account="oracle-alias", user_name=name.upper(), password="wrong-guess")
        assert r.status_code == 429 and r.json()["error"]["code"] == "Throttling", (name, r.text)


def test_a_role_session_can_neither_use_nor_exhaust_the_root_users_mfa(server_factory):
    srv = server_factory()
    admin = srv.client()
    out = sign_in(srv, email="root@example.com", password=srv.root_password).json()
    root_creds = out["credentials"]
    root_iam, _ = clients(srv, root_creds["AccessKeyId"], root_creds["SecretAccessKey"], root_creds["SessionToken"])
    dev = root_iam.create_virtual_mfa_device(VirtualMFADeviceName="root-account-mfa-device")["VirtualMFADevice"]
    serial, totp = dev["SerialNumber"], pyotp.TOTP(dev["Base32StringSeed"].decode())
    clock = f"{srv.endpoint}/_portcullis/clock"
    now = requests.post(clock, json={"advance_seconds": 0}, timeout=10).json()["now"]
    req = AWSRequest(method="POST", url=f"{srv.endpoint}/_portcullis/root/mfa-device", data=json.dumps(
        {"serial_number": serial, "authentication_code1": totp.at(now - 30), "authentication_code2": totp.at(now)}),
        headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(root_creds["AccessKeyId"], root_creds["SecretAccessKey"], root_creds["SessionToken"]), "iam", REGION).add_auth(req)
    prepared = req.prepare()
    r = requests.post(prepared.url, data=prepared.body, headers=dict(prepared.headers.items()), timeout=30)
    assert r.status_code == 200, r.text

    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{srv.account_id}:root"}, "Action": "sts:AssumeRole"}]})
    role = admin.create_role(RoleName="chain", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    admin.attach_role_policy(RoleName="chain", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    _, admin_sts = clients(srv, srv.admin_key_id, srv.admin_secret)
    session = admin_sts.assume_role(RoleArn=role, RoleSessionName="chained")["Credentials"]
    _, role_sts = clients(srv, session["AccessKeyId"], session["SecretAccessKey"], session["SessionToken"])
    requests.post(clock, json={"advance_seconds": 60}, timeout=10)
    now += 60
    # The root user's current code does not make a role session MFA-authenticated ...
    with expect_error("AccessDenied", 403):
        role_sts.assume_role(RoleArn=role, RoleSessionName="mfa", SerialNumber=serial, TokenCode=totp.at(now))
    # ... and wrong codes from a role session do not lock the root user out.
    for i in range(6):
        with expect_error("AccessDenied", 403):
            role_sts.assume_role(RoleArn=role, RoleSessionName="mfa", SerialNumber=serial,
                                 TokenCode=f"{(int(totp.at(now)) + 1 + i) % 1_000_000:06d}")
    r = sign_in(srv, email="root@example.com", password=srv.root_password, mfa_code=totp.at(now))
    assert r.status_code == 200 and r.json()["status"] == "SignedIn" and r.json()["mfa_authenticated"] is True, r.text


def test_root_password_guesses_count_per_account(server_factory):
    srv = server_factory()
    for email in ["root@example.com", "ROOT@example.com", " Root@Example.com "] * 2:
        r = sign_in(srv, email=email, password="wrong-guess")
        if r.status_code == 429:
            break
        assert r.status_code == 401, r.text
    r = sign_in(srv, email="root@example.com", password=srv.root_password)
    assert r.status_code == 429 and r.json()["error"]["code"] == "Throttling", r.text


def test_mfa_code_guesses_count_per_identity_across_devices_and_channels(server_factory):
    srv = server_factory()
    admin = srv.client()
    admin.create_user(UserName="carol")
    admin.create_login_profile(UserName="carol", Password="Carol-password-1")
    key = admin.create_access_key(UserName="carol")["AccessKey"]
    now = requests.post(f"{srv.endpoint}/_portcullis/clock", json={"advance_seconds": 0}, timeout=10).json()["now"]
    serials, totps = [], []
    for device in ["carol-phone", "carol-tablet"]:
        dev = admin.create_virtual_mfa_device(VirtualMFADeviceName=device)["VirtualMFADevice"]
        totp = pyotp.TOTP(dev["Base32StringSeed"].decode())
        step = now // 30
        admin.enable_mfa_device(UserName="carol", SerialNumber=dev["SerialNumber"],
                                AuthenticationCode1=totp.at((step - 1) * 30), AuthenticationCode2=totp.at(step * 30))
        serials.append(dev["SerialNumber"])
        totps.append(totp)
    requests.post(f"{srv.endpoint}/_portcullis/clock", json={"advance_seconds": 60}, timeout=10)
    now += 60
    _, sts = clients(srv, key["AccessKeyId"], key["SecretAccessKey"])

    def wrong(code):
        return f"{(int(code) + 1) % 1_000_000:06d}"

    # Five wrong codes, spread over both devices.
    for i in range(5):
        with expect_error("AccessDenied", 403):
            sts.get_session_token(SerialNumber=serials[i % 2], TokenCode=wrong(totps[i % 2].at(now)))
    # A right code of either device is now refused, through STS and through sign-in alike.
    with expect_error("AccessDenied", 403) as err:
        sts.get_session_token(SerialNumber=serials[1], TokenCode=totps[1].at(now))
    assert "too many" in err.message
    r = sign_in(srv, account=srv.account_id, user_name="carol", password="Carol-password-1",
                mfa_serial=serials[0], mfa_code=totps[0].at(now))
    assert r.status_code == 429 and r.json()["error"]["code"] == "Throttling", r.text


# --------------------------------------------------------------------------
# Input that once panicked the server.
# --------------------------------------------------------------------------

BAD_DATES = ["2020-01-01T00:00+a\u00e91", "2020-01-01T00:00+\u00e9\u00e9", "2020-01-01T0\u00e9:00Z", "\u00e9", "2020-01-01T00:00-1\u2028"]


def date_policy(value, operator="DateGreaterThan", key="aws:CurrentTime"):
    return doc({"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*",
                "Condition": {operator: {key: value}}})


def answered_cleanly(call):
    """The call returns, or fails with an AWS error; it never drops the connection."""
    try:
        call()
    except iam_client_error_types() as e:
        code = e.response["Error"]["Code"]
        status = e.response["ResponseMetadata"]["HTTPStatusCode"]
        assert status < 500, (code, status)
        return code
    return None


def iam_client_error_types():
    from botocore.exceptions import ClientError
    return (ClientError,)


def test_multi_byte_date_values_get_clean_answers(server_factory):
    srv = server_factory()
    admin = srv.client()
    admin.create_user(UserName="dates")
    key = admin.create_access_key(UserName="dates")["AccessKey"]
    creds = (key["AccessKeyId"], key["SecretAccessKey"])
    user_iam, _ = clients(srv, *creds)
    # The control: a condition on a good date does allow, so the denials below can fail.
    admin.put_user_policy(UserName="dates", PolicyName="good", PolicyDocument=date_policy("2020-01-01T00:00:00Z"))
    assert user_iam.get_user(UserName="dates")["User"]["UserName"] == "dates"
    admin.delete_user_policy(UserName="dates", PolicyName="good")
    for i, value in enumerate(BAD_DATES):
        for operator in ["DateGreaterThan", "DateLessThanEquals", "DateEqualsIfExists", "ForAnyValue:DateGreaterThan"]:
            text = date_policy(value, operator)
            answered_cleanly(lambda: admin.create_policy(PolicyName=f"date-{i}-{operator.replace(':', '-')}", PolicyDocument=text))
            answered_cleanly(lambda: admin.put_user_policy(UserName="dates", PolicyName=f"d{i}", PolicyDocument=text))
            # A condition on a value that is no date never holds.
            with expect_error("AccessDenied", 403):
                user_iam.get_user(UserName="dates")
            # The simulator refuses the document as create_policy does (InvalidInput).
            assert answered_cleanly(lambda: admin.simulate_custom_policy(PolicyInputList=[text], ActionNames=["iam:GetUser"])) is not None
        list_form = date_policy([value, "2020-01-01"])
        if answered_cleanly(lambda: admin.put_user_policy(UserName="dates", PolicyName="list", PolicyDocument=list_form)) is None:
            # The list's good date holds, its bad one is skipped.
            assert user_iam.get_user(UserName="dates")["User"]["UserName"] == "dates"
            admin.delete_user_policy(UserName="dates", PolicyName="list")
        # A simulator context entry of type date, and one of the date-list type.
        answered_cleanly(lambda: admin.simulate_custom_policy(
            PolicyInputList=[date_policy("2020-01-01T00:00:00Z")], ActionNames=["iam:GetUser"],
            ContextEntries=[{"ContextKeyName": "aws:CurrentTime", "ContextKeyValues": [value], "ContextKeyType": "date"}]))
        answered_cleanly(lambda: admin.simulate_custom_policy(
            PolicyInputList=[date_policy("2020-01-01T00:00:00Z")], ActionNames=["iam:GetUser"],
            ContextEntries=[{"ContextKeyName": "aws:CurrentTime", "ContextKeyValues": [value, value], "ContextKeyType": "dateList"}]))
        # The authorization endpoint's context values.
        verdict = authorize(srv, creds, "iam:GetUser", context={"aws:CurrentTime": value, "aws:EpochTime": [value]})
        assert verdict["allowed"] in (True, False)

    # A request tag checked by the principal's Date condition.
    admin.put_user_policy(UserName="dates", PolicyName="tagging", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "iam:TagUser", "Resource": "*",
         "Condition": {"DateGreaterThan": {"aws:RequestTag/d": "2020-01-01T00:00:00Z"}}}))
    for value in BAD_DATES:
        with expect_error("AccessDenied", 403):
            user_iam.tag_user(UserName="dates", Tags=[{"Key": "d", "Value": value}])
    user_iam.tag_user(UserName="dates", Tags=[{"Key": "d", "Value": "2021-06-01T00:00:00Z"}])

    assert srv.running
    assert "panicked" not in srv.log_tail(100_000) and "panic while serving" not in srv.log_tail(100_000)


# --------------------------------------------------------------------------
# Strict SigV4 and AWS-shaped answers from the HTTP layer.
# --------------------------------------------------------------------------

def signed_headers(server, body="Action=ListUsers&Version=2010-05-08"):
    req = AWSRequest(method="POST", url=server.endpoint + "/", data=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(server.admin_key_id, server.admin_secret), "iam", REGION).add_auth(req)
    return body, dict(req.prepare().headers.items())


def raw_post(server, headers: list[tuple[str, str]], body: str):
    """POST with exactly these headers (repeats kept), as http.client sends them."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.putrequest("POST", "/", skip_accept_encoding=True)
    for k, v in headers:
        conn.putheader(k, v)
    conn.endheaders(body.encode())
    resp = conn.getresponse()
    out = (resp.status, dict(resp.getheaders()), resp.read())
    conn.close()
    return out


def aws_error(status, headers, body):
    assert headers.get("content-type") == "text/xml", headers
    err = parse_error_xml(body)
    assert err.get("RequestId") and headers.get("x-amzn-RequestId", headers.get("x-amzn-requestid")) == err["RequestId"], (headers, err)
    return status, err["Code"], err["Message"]


@pytest.mark.parametrize("edit, code, status, message", [
    (lambda a: [("Authorization", a + ", Credential=AKIAIOSFODNN7EXAMPLE/20200101/us-east-1/iam/aws4_request")],
     "IncompleteSignature", 400, "more than one 'Credential' parameter"),
    (lambda a: [("Authorization", a + ", Signature=" + "0" * 64)], "IncompleteSignature", 400, "more than one 'Signature' parameter"),
    (lambda a: [("Authorization", a.replace(", ", " "))], "IncompleteSignature", 400, "separated by commas"),
    (lambda a: [("Authorization", a + ", Extra=" + "x" * 65_536)], "IncompleteSignature", 400, "'Extra' is not an Authorization header parameter"),
    (lambda a: [("Authorization", a), ("Authorization", "garbage")], "IncompleteSignature", 400, "more than one 'authorization' header"),
    (lambda a: [("Authorization", "garbage"), ("Authorization", a)], "IncompleteSignature", 400, "more than one 'authorization' header"),
], ids=["duplicate-credential", "duplicate-signature", "no-commas", "unknown-64k-field", "second-header-garbage", "first-header-garbage"])
def test_lenient_sigv4_forms_are_refused(server, edit, code, status, message):
    body, headers = signed_headers(server)
    auth = headers.pop("Authorization")
    # The untouched request is accepted, so the refusals below are the edits' doing.
    ok_status, _, ok_body = raw_post(server, list(headers.items()) + [("Authorization", auth)], body)
    assert ok_status == 200, ok_body
    got = aws_error(*raw_post(server, list(headers.items()) + edit(auth), body))
    assert got[:2] == (status, code) and message in got[2], got


def raw_exchange(server, raw: bytes) -> tuple[bytes, bytes]:
    """Sends raw bytes and reads until the server closes: (head, body) of its answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        try:
            s.sendall(raw)
        except OSError:  # the server may answer and close before reading everything
            pass
        data = b""
        try:
            while chunk := s.recv(65536):
                data += chunk
        except ConnectionResetError:  # the close may come as a reset after unread input
            pass
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


def test_http_layer_answers_are_aws_shaped(server):
    # A 1 MB Authorization header.
    head, body = raw_exchange(server, b"POST / HTTP/1.1\r\nHost: x\r\nAuthorization: " + b"A" * 1_000_000 + b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 "), head
    assert b"<Code>RequestHeaderSectionTooLarge</Code>" in body and b"<RequestId>" in body, body

    # A control character in a header.
    head, body = raw_exchange(server, b"GET / HTTP/1.1\r\nHost: x\r\nX-Note: a\x01b\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 "), head
    assert b"<ErrorResponse" in body and b"<RequestId>" in body, body

    # A wrong method on an endpoint of Portcullis's own.
    r = requests.get(f"{server.endpoint}/_portcullis/authorize", timeout=30)
    assert r.status_code == 405 and r.json()["error"]["code"] == "MethodNotAllowed", r.text
    assert r.headers.get("x-amzn-RequestId")

    # A malformed percent-escape in a query-protocol body or query string.
    body, headers = signed_headers(server, "Action=ListUsers&Version=2010-05-08&Marker=%E")
    r = requests.post(server.endpoint + "/", data=body, headers=headers, timeout=30)
    status, code, message = aws_error(r.status_code, r.headers, r.content)
    assert (status, code, message) == (404, "MalformedQueryString", "Incomplete trailing escape % sequence")
    # (http.client sends the query as written; requests would re-quote the broken escape.)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("GET", "/?Action=ListUsers&Version=2010-05-08&Marker=%ZZ")
    resp = conn.getresponse()
    status, code, message = aws_error(resp.status, dict(resp.getheaders()), resp.read())
    conn.close()
    assert (status, code) == (404, "MalformedQueryString") and "%ZZ" in message
