"""Console sign-in (`POST /_portcullis/signin`) and the root user's MFA device.

The root user signs in with its e-mail address and the one-time password printed at the
first start; an IAM user with the account id or alias, its name and its login-profile
password. MFA is asked for when the identity has an enabled device, a new password when
an administrator required a reset or the password policy's MaxPasswordAge has passed
(HardExpiry: only an administrator can help). The root user's MFA device, which AWS
enables only in its console, is enabled by a root session on `/_portcullis/root/mfa-device`.
"""

from __future__ import annotations

import csv
import io
import json

import boto3
import pyotp
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from compat_helpers import expect_error

REGION = "us-east-1"
ROOT_EMAIL = "root@example.com"


def sign_in(srv, **body):
    return requests.post(f"{srv.endpoint}/_portcullis/signin", json=body, timeout=30)


def signed_in(resp):
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert out["status"] == "SignedIn", out
    creds = out["credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and creds["Expiration"].endswith("Z")
    return out


def session_clients(srv, creds):
    kw = dict(
        endpoint_url=srv.endpoint,
        region_name=REGION,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )
    return boto3.client("iam", **kw), boto3.client("sts", **kw)


def server_now(srv) -> int:
    r = requests.post(f"{srv.endpoint}/_portcullis/clock", json={"advance_seconds": 0}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["now"]


def advance(srv, seconds):
    r = requests.post(f"{srv.endpoint}/_portcullis/clock", json={"advance_seconds": seconds}, timeout=10)
    assert r.status_code == 200, r.text


def enable_root_mfa(srv, creds, body):
    req = AWSRequest(method="POST", url=f"{srv.endpoint}/_portcullis/root/mfa-device", data=json.dumps(body),
                     headers={"Content-Type": "application/json"})
    cred = Credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds.get("SessionToken"))
    SigV4Auth(cred, "iam", REGION).add_auth(req)
    prepared = req.prepare()
    return requests.post(prepared.url, data=prepared.body, headers=dict(prepared.headers.items()), timeout=30)


def error_code(resp):
    return resp.json()["error"]["code"]


def test_root_signs_in_and_enables_mfa(server_factory):
    srv = server_factory()
    admin = srv.client()
    assert srv.root_password, "the server did not print the one-time root password"

    # Wrong password, unknown e-mail: the same answer.
    for body in ({"email": ROOT_EMAIL, "password": srv.root_password + "x"},
                 {"email": "someone@example.com", "password": srv.root_password}):
        r = sign_in(srv, **body)
        assert r.status_code == 401 and error_code(r) == "InvalidCredentials", r.text
        assert r.json()["error"]["message"] == "Your authentication information is incorrect. Please try again."

    out = signed_in(sign_in(srv, email=ROOT_EMAIL.upper(), password=srv.root_password))
    assert out["arn"] == f"arn:aws:iam::{srv.account_id}:root" and out["mfa_authenticated"] is False
    root_iam, root_sts = session_clients(srv, out["credentials"])
    assert root_sts.get_caller_identity()["Arn"] == f"arn:aws:iam::{srv.account_id}:root"
    assert admin.get_account_summary()["SummaryMap"]["AccountMFAEnabled"] == 0

    # The root session creates a virtual device with the IAM API, then enables it here.
    dev = root_iam.create_virtual_mfa_device(VirtualMFADeviceName="root-account-mfa-device")["VirtualMFADevice"]
    serial, seed = dev["SerialNumber"], dev["Base32StringSeed"].decode()
    assert serial == f"arn:aws:iam::{srv.account_id}:mfa/root-account-mfa-device"
    step = server_now(srv) // 30
    totp = pyotp.TOTP(seed)
    wrong = enable_root_mfa(srv, out["credentials"], {"serial_number": serial, "authentication_code1": "000000",
                                                      "authentication_code2": "111111"})
    assert wrong.status_code == 403 and error_code(wrong) == "InvalidAuthenticationCode", wrong.text
    # Only the root user may use the endpoint.
    by_admin = enable_root_mfa(srv, {"AccessKeyId": srv.admin_key_id, "SecretAccessKey": srv.admin_secret},
                               {"serial_number": serial, "authentication_code1": totp.at((step - 1) * 30),
                                "authentication_code2": totp.at(step * 30)})
    assert by_admin.status_code == 403 and error_code(by_admin) == "AccessDenied", by_admin.text
    ok = enable_root_mfa(srv, out["credentials"], {"serial_number": serial, "authentication_code1": totp.at((step - 1) * 30),
                                                   "authentication_code2": totp.at(step * 30)})
    assert ok.status_code == 200, ok.text

    # Everything that reports root MFA sees it.
    assert admin.get_account_summary()["SummaryMap"]["AccountMFAEnabled"] == 1
    listed = admin.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"]
    assert [d["User"]["Arn"] for d in listed if d["SerialNumber"] == serial] == [f"arn:aws:iam::{srv.account_id}:root"]
    assert [d["SerialNumber"] for d in root_iam.list_mfa_devices()["MFADevices"]] == [serial]
    admin.generate_credential_report()
    rows = {r["user"]: r for r in csv.DictReader(io.StringIO(admin.get_credential_report()["Content"].decode()))}
    assert rows["<root_account>"]["mfa_active"] == "true"

    # Signing in now asks for a code; a wrong one is refused, a fresh one accepted once.
    r = sign_in(srv, email=ROOT_EMAIL, password=srv.root_password)
    assert r.status_code == 200 and r.json() == {"status": "MfaRequired", "mfa_devices": [serial], "security_key": False, "recovery_codes": False}, r.text
    r = sign_in(srv, email=ROOT_EMAIL, password=srv.root_password, mfa_code="123456")
    assert r.status_code == 401 and error_code(r) == "InvalidMfaCode", r.text
    advance(srv, 30)
    code = totp.at(server_now(srv))
    out = signed_in(sign_in(srv, email=ROOT_EMAIL, password=srv.root_password, mfa_code=code))
    assert out["mfa_authenticated"] is True
    r = sign_in(srv, email=ROOT_EMAIL, password=srv.root_password, mfa_code=code)
    assert r.status_code == 401 and error_code(r) == "InvalidMfaCode", "a code is accepted only once"

    # The root user deactivates it with the IAM API (no user name: the caller itself).
    root_iam, _ = session_clients(srv, out["credentials"])
    root_iam.deactivate_mfa_device(SerialNumber=serial)
    assert admin.get_account_summary()["SummaryMap"]["AccountMFAEnabled"] == 0
    signed_in(sign_in(srv, email=ROOT_EMAIL, password=srv.root_password))


def test_user_sign_in_with_account_id_alias_and_mfa(server_factory):
    srv = server_factory()
    admin = srv.client()
    admin.create_user(UserName="console-alice")
    admin.create_login_profile(UserName="console-alice", Password="Alice!Passw0rd-1")
    admin.attach_user_policy(UserName="console-alice", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    admin.create_account_alias(AccountAlias="signin-test-alias")

    for account in (srv.account_id, "signin-test-alias"):
        out = signed_in(sign_in(srv, account=account, user_name="console-alice", password="Alice!Passw0rd-1"))
        assert out["arn"] == f"arn:aws:iam::{srv.account_id}:user/console-alice"
    for body in ({"account": srv.account_id, "user_name": "console-alice", "password": "wrong"},
                 {"account": srv.account_id, "user_name": "nobody", "password": "Alice!Passw0rd-1"},
                 {"account": "999999999999", "user_name": "console-alice", "password": "Alice!Passw0rd-1"},
                 {"account": srv.account_id, "user_name": srv.admin_user, "password": "x"}):  # no login profile
        r = sign_in(srv, **body)
        assert r.status_code == 401 and error_code(r) == "InvalidCredentials", (body, r.text)
    r = sign_in(srv, user_name="console-alice", password="x")
    assert r.status_code == 400 and error_code(r) == "ValidationError"

    # The session acts as the user, with the user's permissions, and the sign-in is recorded
    # as the password's last use.
    user_iam, _ = session_clients(srv, out["credentials"])
    me = user_iam.get_user()["User"]
    assert me["UserName"] == "console-alice" and "PasswordLastUsed" in me
    with expect_error("AccessDenied", 403):
        user_iam.create_user(UserName="not-allowed")

    # With an enabled device, a code is needed.
    dev = admin.create_virtual_mfa_device(VirtualMFADeviceName="console-alice-phone")["VirtualMFADevice"]
    serial, totp = dev["SerialNumber"], pyotp.TOTP(dev["Base32StringSeed"].decode())
    step = server_now(srv) // 30
    admin.enable_mfa_device(UserName="console-alice", SerialNumber=serial,
                            AuthenticationCode1=totp.at((step - 1) * 30), AuthenticationCode2=totp.at(step * 30))
    r = sign_in(srv, account=srv.account_id, user_name="console-alice", password="Alice!Passw0rd-1")
    assert r.json() == {"status": "MfaRequired", "mfa_devices": [serial], "security_key": False, "recovery_codes": False}, r.text
    advance(srv, 30)
    out = signed_in(sign_in(srv, account=srv.account_id, user_name="console-alice", password="Alice!Passw0rd-1",
                            mfa_code=totp.at(server_now(srv)), mfa_serial=serial))
    assert out["mfa_authenticated"] is True


def test_reset_required_then_expiry_and_hard_expiry(server_factory):
    srv = server_factory()
    admin = srv.client()
    admin.update_account_password_policy(MinimumPasswordLength=12, RequireNumbers=True, MaxPasswordAge=1,
                                         PasswordReusePrevention=2, AllowUsersToChangePassword=True)
    admin.create_user(UserName="console-bob")
    admin.create_login_profile(UserName="console-bob", Password="Bob-initial-01", PasswordResetRequired=True)
    who = dict(account=srv.account_id, user_name="console-bob")

    # An administrator required a reset: the right password leads to a change, nothing else.
    r = sign_in(srv, **who, password="Bob-initial-01")
    assert r.status_code == 200 and r.json() == {"status": "PasswordChangeRequired", "reason": "reset_required"}, r.text
    r = sign_in(srv, **who, password="wrong-password-1", new_password="Bob-second-002")
    assert r.status_code == 401 and error_code(r) == "InvalidCredentials"
    r = sign_in(srv, **who, password="Bob-initial-01", new_password="short1")
    assert r.status_code == 400 and error_code(r) == "PasswordPolicyViolation", r.text
    assert r.json()["error"]["message"] == "Password should have a minimum length of 12"
    r = sign_in(srv, **who, password="Bob-initial-01", new_password="Bob-initial-01")
    assert r.status_code == 400 and error_code(r) == "PasswordPolicyViolation", r.text
    signed_in(sign_in(srv, **who, password="Bob-initial-01", new_password="Bob-second-002"))
    assert admin.get_login_profile(UserName="console-bob")["LoginProfile"]["PasswordResetRequired"] is False
    assert sign_in(srv, **who, password="Bob-initial-01").status_code == 401
    signed_in(sign_in(srv, **who, password="Bob-second-002"))

    # MaxPasswordAge=1: two days later the password has expired and must be changed.
    advance(srv, 2 * 86400)
    r = sign_in(srv, **who, password="Bob-second-002")
    assert r.json() == {"status": "PasswordChangeRequired", "reason": "expired"}, r.text
    r = sign_in(srv, **who, password="Bob-second-002", new_password="Bob-initial-01")
    assert r.status_code == 400 and error_code(r) == "PasswordPolicyViolation", "reuse prevention applies"
    signed_in(sign_in(srv, **who, password="Bob-second-002", new_password="Bob-third-0003"))

    # HardExpiry: after expiry only an administrator can set a new password.
    admin.update_account_password_policy(MinimumPasswordLength=12, MaxPasswordAge=1, HardExpiry=True)
    advance(srv, 2 * 86400)
    r = sign_in(srv, **who, password="Bob-third-0003")
    assert r.status_code == 403 and error_code(r) == "PasswordExpired", r.text
    r = sign_in(srv, **who, password="Bob-third-0003", new_password="Bob-fourth-004")
    assert r.status_code == 403 and error_code(r) == "PasswordExpired", r.text
    admin.update_login_profile(UserName="console-bob", Password="Bob-admin-set-5")
    signed_in(sign_in(srv, **who, password="Bob-admin-set-5"))
    with expect_error("NoSuchEntity", 404):
        admin.get_login_profile(UserName="nobody-here")


def test_password_change_needs_permission_keeps_the_code_and_guessing_is_throttled(server_factory):
    srv = server_factory()
    admin = srv.client()
    admin.create_user(UserName="console-carol")
    admin.create_login_profile(UserName="console-carol", Password="Carol-initial-1", PasswordResetRequired=True)
    who = dict(account=srv.account_id, user_name="console-carol")

    # No AllowUsersToChangePassword and no iam:ChangePassword: the required change is refused.
    r = sign_in(srv, **who, password="Carol-initial-1", new_password="Carol-second-22")
    assert r.status_code == 403 and error_code(r) == "AccessDenied", r.text
    admin.attach_user_policy(UserName="console-carol", PolicyArn="arn:aws:iam::aws:policy/IAMUserChangePassword")

    # With an MFA device: a rejected new password does not use up the code.
    dev = admin.create_virtual_mfa_device(VirtualMFADeviceName="console-carol-phone")["VirtualMFADevice"]
    serial, totp = dev["SerialNumber"], pyotp.TOTP(dev["Base32StringSeed"].decode())
    step = server_now(srv) // 30
    admin.enable_mfa_device(UserName="console-carol", SerialNumber=serial,
                            AuthenticationCode1=totp.at((step - 1) * 30), AuthenticationCode2=totp.at(step * 30))
    advance(srv, 30)
    code = totp.at(server_now(srv))
    r = sign_in(srv, **who, password="Carol-initial-1", new_password="carol", mfa_code=code)
    assert r.status_code == 400 and error_code(r) == "PasswordPolicyViolation", r.text
    out = signed_in(sign_in(srv, **who, password="Carol-initial-1", new_password="Carol-second-22", mfa_code=code))
    assert out["mfa_authenticated"] is True

    # A new password when none is needed is refused rather than silently ignored.
    advance(srv, 30)
    r = sign_in(srv, **who, password="Carol-second-22", new_password="Carol-third-333", mfa_code=totp.at(server_now(srv)))
    assert r.status_code == 400 and error_code(r) == "ValidationError", r.text

    # Five wrong passwords in a row: further attempts wait, even with the right password.
    for _ in range(5):
        r = sign_in(srv, **who, password="not-the-password")
        assert r.status_code == 401 and error_code(r) == "InvalidCredentials", r.text
    r = sign_in(srv, **who, password="Carol-second-22")
    assert r.status_code == 429 and error_code(r) == "Throttling", r.text
    advance(srv, 301)
    r = sign_in(srv, **who, password="Carol-second-22")
    assert r.status_code == 200 and r.json()["status"] == "MfaRequired", r.text
