"""Portcullis as a drop-in for moto's server: dummy keys act as root, state resets between
tests, and keys created through the API are checked for real."""

from __future__ import annotations

import json
import subprocess

import pytest
import requests
from botocore.exceptions import ClientError

from conftest import BIN


def code(exc: pytest.ExceptionInfo) -> str:
    return exc.value.response["Error"]["Code"]


def test_dummy_credentials_act_as_root(aws):
    ident = aws("sts").get_caller_identity()
    assert ident == {**ident, "Account": "123456789012", "Arn": "arn:aws:iam::123456789012:root"}
    user = aws("iam").create_user(UserName="alice")["User"]
    assert user["Arn"] == "arn:aws:iam::123456789012:user/alice"
    # The AWS-managed catalog is there.
    assert aws("iam").get_policy(PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")["Policy"]["DefaultVersionId"] == "v1"


def test_state_from_the_previous_test_is_gone(aws):
    with pytest.raises(ClientError) as e:
        aws("iam").get_user(UserName="alice")
    assert code(e) == "NoSuchEntity"
    assert aws("iam").list_users()["Users"] == []


def test_created_keys_are_enforced_for_real(aws):
    iam = aws("iam")
    iam.create_user(UserName="bob")
    key = iam.create_access_key(UserName="bob")["AccessKey"]
    bob = aws("iam", key["AccessKeyId"], key["SecretAccessKey"])
    with pytest.raises(ClientError) as e:
        bob.list_users()
    assert code(e) == "AccessDenied"
    assert "because no identity-based policy allows the iam:ListUsers action" in e.value.response["Error"]["Message"]
    iam.attach_user_policy(UserName="bob", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    assert [u["UserName"] for u in bob.list_users()["Users"]] == ["bob"]
    # A wrong secret for a key Portcullis issued is still a bad signature, not root.
    with pytest.raises(ClientError) as e:
        aws("iam", key["AccessKeyId"], "x" * 40).list_users()
    assert code(e) == "SignatureDoesNotMatch"


def test_reset_auth_countdown(endpoint, aws):
    r = requests.post(f"{endpoint}/moto-api/reset-auth", data="2", timeout=10)
    assert r.status_code == 200
    assert json.loads(r.text) == {"PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT": float("inf")}
    iam = aws("iam")
    iam.create_user(UserName="carol")   # unchecked 1
    iam.get_user(UserName="carol")      # unchecked 2
    with pytest.raises(ClientError) as e:  # from now on every request is checked
        iam.list_users()
    assert code(e) == "InvalidClientTokenId"
    r = requests.post(f"{endpoint}/moto-api/reset-auth", data="0", timeout=10)
    assert json.loads(r.text) == {"PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT": 0}
    # Portcullis's own reset returns to the rule the server started with.
    assert requests.post(f"{endpoint}/_portcullis/reset", timeout=10).status_code == 200
    assert iam.list_users()["Users"] == []


def test_refuses_non_loopback_and_lone_accept_any(tmp_path):
    out = subprocess.run([str(BIN), "serve", "--ephemeral", "--listen", "0.0.0.0:0"],
                         capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert out.returncode != 0 and "loopback" in out.stderr
    out = subprocess.run([str(BIN), "serve", "--accept-any-credentials", "--listen", "127.0.0.1:0"],
                         capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert out.returncode != 0 and "--ephemeral" in out.stderr


def test_account_id_can_be_chosen(tmp_path):
    proc = subprocess.Popen([str(BIN), "serve", "--ephemeral", "--account-id", "210987654321", "--listen", "127.0.0.1:0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("listening on"):
                break
        assert any("account 210987654321" in l for l in lines), "".join(lines)
        # Without --accept-any-credentials, dummy keys are refused.
        import boto3
        url = lines[-1].split()[-1]
        sts = boto3.client("sts", endpoint_url=url, region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        with pytest.raises(ClientError) as e:
            sts.get_caller_identity()
        assert code(e) == "InvalidClientTokenId"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
