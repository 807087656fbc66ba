"""The security checklist: JSON from the signed endpoint and the `portcullis security-status`
command (a table; exit code 1 while a check fails)."""

from __future__ import annotations

import json
import subprocess

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from compat_helpers import REGION
from conftest import portcullis_bin


def signed_get(srv, key_id, secret):
    req = AWSRequest(method="GET", url=f"{srv.endpoint}/_portcullis/security-status")
    SigV4Auth(Credentials(key_id, secret), "iam", REGION).add_auth(req)
    prepared = req.prepare()
    return requests.get(prepared.url, headers=dict(prepared.headers.items()), timeout=30)


def checks(resp):
    assert resp.status_code == 200, resp.text
    return {c["id"]: c["ok"] for c in resp.json()["checks"]}


def test_security_status_endpoint_and_cli(server_factory):
    srv = server_factory()
    iam = srv.client()
    resp = signed_get(srv, srv.admin_key_id, srv.admin_secret)
    # The endpoint names the sign-in URL of the account's IAM users.
    assert resp.json()["sign_in_url"].endswith(f"/signin/{srv.account_id}"), resp.json()
    status = checks(resp)
    # bootstrap-admin made John in Admins with AdministratorAccess: users and groups are in use.
    assert status == {"root_mfa": False, "root_access_keys": True, "iam_users": True, "groups": True,
                      "password_policy": False, "users_mfa": True, "access_key_rotation": True}

    iam.update_account_password_policy(MinimumPasswordLength=14)
    iam.create_user(UserName="console-user")
    iam.create_login_profile(UserName="console-user", Password="Console!Passw0rd")
    status = checks(signed_get(srv, srv.admin_key_id, srv.admin_secret))
    assert status["password_policy"] is True and status["users_mfa"] is False

    # Unsigned or unprivileged callers get nothing.
    assert requests.get(f"{srv.endpoint}/_portcullis/security-status", timeout=10).status_code == 403
    key = iam.create_access_key(UserName="console-user")["AccessKey"]
    resp = signed_get(srv, key["AccessKeyId"], key["SecretAccessKey"])
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "AccessDenied"

    cli = subprocess.run([str(portcullis_bin()), "security-status", *srv._common_args()], capture_output=True, text=True, timeout=60)
    assert cli.returncode == 1, cli.stdout + cli.stderr
    assert "[!!] Add MFA for the root user" in cli.stdout
    assert "[ok] Apply an IAM password policy" in cli.stdout
    as_json = subprocess.run([str(portcullis_bin()), "security-status", "--json", *srv._common_args()],
                             capture_output=True, text=True, timeout=60)
    assert json.loads(as_json.stdout)["account_id"] == srv.account_id
