"""`portcullis audit`: the account-security checklist run with the AWS SDK for Rust against a
running server, as it would be against AWS (credentials from the AWS chain, --endpoint-url).

Exit 0 when no check fails, 1 when one does, 2 when the endpoint cannot be read."""

from __future__ import annotations

import json
import os
import socket
import subprocess

import boto3
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

import totp
from compat_helpers import REGION
from conftest import portcullis_bin

ADMIN_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
ROOT_EMAIL = "root@example.com"
TITLES = {
    "root_mfa": "Root user has MFA",
    "root_access_keys": "Root user has no access keys",
    "admin_group": "An administrator is in a group with AdministratorAccess",
    "password_policy": "A strong password policy is set",
    "console_users_mfa": "Every console user has MFA",
    "unused_credentials": "No credentials unused for 90 days",
    "access_key_rotation": "Active access keys are rotated within 90 days",
}
PASSES = {
    "root_mfa": "MFA is active for the root user.",
    "root_access_keys": "The root user has no access keys.",
    "admin_group": "AdministratorAccess is held through Admins (1 member(s)).",
    "console_users_mfa": "No IAM user has a console password.",
    "unused_credentials": "Every password and active access key older than 90 days was used within 90 days.",
    "access_key_rotation": "No active access key is older than 90 days.",
}


def audit(srv, *args, key=None, secret=None, endpoint=True, env=None):
    """Runs `portcullis audit` with the admin's key (or the given one) in the environment."""
    run_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    run_env.update(AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_EC2_METADATA_DISABLED="true")
    if key is not False:
        run_env.update(AWS_ACCESS_KEY_ID=key or srv.admin_key_id, AWS_SECRET_ACCESS_KEY=secret or srv.admin_secret)
    run_env.update(env or {})
    cmd = [str(portcullis_bin()), "audit", *(["--endpoint-url", srv.endpoint] if endpoint else []), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=run_env, stdin=subprocess.DEVNULL)


def audit_json(srv, expected_code, **kw):
    r = audit(srv, "--format", "json", **kw)
    assert r.returncode == expected_code, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert [c["id"] for c in doc["checks"]] == list(TITLES)
    assert all(c["title"] == TITLES[c["id"]] for c in doc["checks"]), doc
    assert doc["passed"] is (expected_code == 0)
    return {c["id"]: (c["status"], c["detail"]) for c in doc["checks"]}


def server_now(srv, advance=0) -> int:
    r = requests.post(f"{srv.endpoint}/_portcullis/clock", json={"advance_seconds": advance}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["now"]


def enable_root_mfa(srv):
    """Signs in as the root user and enables a virtual MFA device for it, as test_signin does."""
    r = requests.post(f"{srv.endpoint}/_portcullis/signin", json={"email": ROOT_EMAIL, "password": srv.root_password}, timeout=30)
    assert r.status_code == 200 and r.json()["status"] == "SignedIn", r.text
    creds = r.json()["credentials"]
    root_iam = boto3.client("iam", endpoint_url=srv.endpoint, region_name=REGION, aws_access_key_id=creds["AccessKeyId"],
                            aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"],
                            config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
    dev = root_iam.create_virtual_mfa_device(VirtualMFADeviceName="root-account-mfa-device")["VirtualMFADevice"]
    step = server_now(srv) // 30
    body = {"serial_number": dev["SerialNumber"], "authentication_code1": totp.code(dev["Base32StringSeed"], step - 1),
            "authentication_code2": totp.code(dev["Base32StringSeed"], step)}
    req = AWSRequest(method="POST", url=f"{srv.endpoint}/_portcullis/root/mfa-device", data=json.dumps(body),
                     headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]), "iam", REGION).add_auth(req)
    prepared = req.prepare()
    r = requests.post(prepared.url, data=prepared.body, headers=dict(prepared.headers.items()), timeout=30)
    assert r.status_code == 200, r.text


def next_report(srv):
    """Like AWS, the server hands out the same credential report for four hours: move its
    clock past them so that the next audit sees a new one."""
    server_now(srv, advance=4 * 3600 + 1)


def enable_user_mfa(srv, iam, user):
    dev = iam.create_virtual_mfa_device(VirtualMFADeviceName=user)["VirtualMFADevice"]
    seed, step = dev["Base32StringSeed"], server_now(srv) // 30
    iam.enable_mfa_device(UserName=user, SerialNumber=dev["SerialNumber"],
                          AuthenticationCode1=totp.code(seed, step - 1), AuthenticationCode2=totp.code(seed, step))


def test_a_fresh_account_fails_then_passes_once_fixed(server_factory):
    srv = server_factory()
    iam = srv.client()

    # bootstrap-admin put John in Admins, which has AdministratorAccess.
    assert audit_json(srv, 1) == {
        **{k: ("PASS", v) for k, v in PASSES.items()},
        "root_mfa": ("FAIL", "The root user has no active MFA device."),
        "password_policy": ("FAIL", "No password policy is set."),
    }

    # Administrator access held directly, not through a group: the group check fails.
    iam.attach_user_policy(UserName=srv.admin_user, PolicyArn=ADMIN_ARN)
    iam.remove_user_from_group(GroupName="Admins", UserName=srv.admin_user)
    iam.update_account_password_policy(MinimumPasswordLength=10, RequireNumbers=True)
    iam.create_user(UserName="console-carol")
    iam.create_login_profile(UserName="console-carol", Password="Carol!Passw0rd-1")
    next_report(srv)
    checks = audit_json(srv, 1)
    assert checks["admin_group"] == ("FAIL", "Groups with AdministratorAccess have no members: Admins.")
    assert checks["password_policy"] == ("FAIL", "Minimum length 10 with 1 of 4 character types required: "
                                                 "ask for 14 characters, or 3 character types.")
    assert checks["console_users_mfa"] == ("FAIL", "Console users without MFA: console-carol.")

    # In the group again, but still attached directly as well: a warning, not a failure.
    iam.add_user_to_group(GroupName="Admins", UserName=srv.admin_user)
    checks = audit_json(srv, 1)
    assert checks["admin_group"] == ("WARN", "AdministratorAccess is held through Admins (1 member(s)), "
                                             "but is also attached directly to user(s): John.")

    # Fix everything with boto3 (and the root user's own session for its MFA device).
    iam.detach_user_policy(UserName=srv.admin_user, PolicyArn=ADMIN_ARN)
    iam.update_account_password_policy(MinimumPasswordLength=14, RequireSymbols=True, RequireNumbers=True)
    enable_user_mfa(srv, iam, "console-carol")
    enable_root_mfa(srv)
    next_report(srv)
    assert audit_json(srv, 0) == {
        **{k: ("PASS", v) for k, v in PASSES.items()},
        "password_policy": ("PASS", "Minimum length 14, 2 of 4 character types required."),
        "console_users_mfa": ("PASS", "All 1 console user(s) have MFA."),
    }

    # The table names every check with its status; the default format is the table.
    r = audit(srv)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["CHECK", "STATUS", "DETAIL"]
    for title in TITLES.values():
        assert any(line.startswith(title) and "  PASS  " in line for line in lines), (title, r.stdout)
    assert lines[-1] == "7 passed, 0 failed, 0 warnings"


def test_old_and_unused_credentials_after_90_days(server_factory):
    srv = server_factory()
    iam = srv.client()
    iam.update_account_password_policy(MinimumPasswordLength=16)
    iam.create_user(UserName="idle")
    iam.create_access_key(UserName="idle")
    iam.create_user(UserName="console-dan")
    iam.create_login_profile(UserName="console-dan", Password="Dan!Passw0rd-0001")
    enable_user_mfa(srv, iam, "console-dan")
    assert audit_json(srv, 1)["unused_credentials"][0] == "PASS"

    # 100 days on (the server's clock): the report's generation time is the audit's "now".
    server_now(srv, advance=100 * 86400)
    r = audit(srv)
    assert r.returncode == 1, r.stdout + r.stderr
    assert any(line.startswith(TITLES["access_key_rotation"]) and "  FAIL  " in line for line in r.stdout.splitlines()), r.stdout
    checks = audit_json(srv, 1)

    def findings(check):
        status, detail = checks[check]
        assert detail.endswith("."), detail
        return status, set(detail[:-1].split("; "))

    # John's key signs the audit itself, so it is in use, but it is 100 days old.
    assert findings("unused_credentials") == (
        "FAIL", {"idle: access key 1 set 100 days ago and never used", "console-dan: password set 100 days ago and never used"})
    assert findings("access_key_rotation") == (
        "FAIL", {"John: access key 1 is 100 days old", "idle: access key 1 is 100 days old"})
    assert checks["console_users_mfa"] == ("PASS", "All 1 console user(s) have MFA.")


def test_credentials_and_endpoint_from_the_aws_configuration(server_factory, tmp_path):
    srv = server_factory()
    creds = tmp_path / "credentials"
    creds.write_text(f"[auditor]\naws_access_key_id = {srv.admin_key_id}\naws_secret_access_key = {srv.admin_secret}\n")
    # A profile's keys, and AWS_ENDPOINT_URL instead of --endpoint-url.
    r = audit(srv, "--profile", "auditor", "--format", "json", key=False, endpoint=False,
              env={"AWS_SHARED_CREDENTIALS_FILE": str(creds), "AWS_ENDPOINT_URL": srv.endpoint})
    assert r.returncode == 1, r.stdout + r.stderr
    assert json.loads(r.stdout)["passed"] is False
    # An explicit Region is only used to sign.
    r = audit(srv, "--region", "eu-west-1", "--format", "json")
    assert r.returncode == 1 and len(json.loads(r.stdout)["checks"]) == 7, r.stdout + r.stderr


def test_an_endpoint_that_cannot_be_read_exits_2(server_factory):
    srv = server_factory()
    iam = srv.client()

    r = audit(srv, key="AKIAIOSFODNN7EXAMPLE", secret="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stdout == ""
    assert r.stderr.startswith("error: cannot audit the account: GetAccountSummary: ") and "InvalidClientTokenId" in r.stderr, r.stderr

    # A user without permissions: AccessDenied.
    iam.create_user(UserName="nobody")
    key = iam.create_access_key(UserName="nobody")["AccessKey"]
    r = audit(srv, "--format", "json", key=key["AccessKeyId"], secret=key["SecretAccessKey"])
    assert r.returncode == 2 and r.stdout == "", r.stdout + r.stderr
    assert "AccessDenied" in r.stderr, r.stderr

    # Nothing listening.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = audit(srv, "--endpoint-url", f"http://127.0.0.1:{port}", endpoint=False)
    assert r.returncode == 2 and r.stdout == "", r.stdout + r.stderr
    assert r.stderr.startswith("error: cannot audit the account: GetAccountSummary: "), r.stderr
