"""The authorization endpoint for other services: a service passes the parts of a
SigV4-signed request it received plus the action and resource, and Portcullis answers
allow/deny. This is how the tutorial's EC2 console step is reproduced without EC2."""

from __future__ import annotations

import base64
import json

import boto3
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

import totp
from compat_helpers import REGION, delete_user_fully, ec2_mfa_group



def ec2_request(key_id, secret, token=None):
    """What an EC2-compatible service would receive from aws-cli: a signed DescribeInstances."""
    body = "Action=DescribeInstances&Version=2016-11-15"
    req = AWSRequest(method="POST", url="https://ec2.us-east-1.amazonaws.com/", data=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(key_id, secret, token), "ec2", REGION).add_auth(req)
    prepared = req.prepare()
    return {
        "method": "POST",
        "path": "/",
        "query": "",
        "headers": [[k, v] for k, v in prepared.headers.items()] + [["host", "ec2.us-east-1.amazonaws.com"]],
        "body": base64.b64encode(body.encode()).decode(),
    }


def ask(server, request, action="ec2:DescribeInstances", resource="*"):
    return requests.post(f"{server.endpoint}/_portcullis/authorize", timeout=30,
                         json={"request": request, "action": action, "resource": resource})


def test_mfa_user_is_denied_ec2_without_mfa_and_allowed_with_it(server, iam, uniq, cleanup, account_id):
    group, user = ec2_mfa_group(iam, uniq, cleanup), uniq("MFAUser")
    cleanup(delete_user_fully, iam, user)
    iam.create_user(UserName=user)
    iam.add_user_to_group(GroupName=group, UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]

    resp = ask(server, ec2_request(key["AccessKeyId"], key["SecretAccessKey"]))
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert out["allowed"] is False and out["decision"] == "explicitDeny"
    assert out["principal"]["arn"] == f"arn:aws:iam::{account_id}:user/{user}"
    assert out["message"].endswith("with an explicit deny in an identity-based policy")
    decoded = json.loads(boto3.client(
        "sts", endpoint_url=server.endpoint, region_name=REGION, aws_access_key_id=server.admin_key_id,
        aws_secret_access_key=server.admin_secret).decode_authorization_message(
            EncodedMessage=out["encodedMessage"])["DecodedMessage"])
    assert decoded["explicitDeny"] is True and decoded["context"]["action"] == "ec2:DescribeInstances"

    # Enrol a virtual MFA device, get an MFA session, and ask again.
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=user)["VirtualMFADevice"]
    seed, step = serial["Base32StringSeed"], totp.current_step()
    iam.enable_mfa_device(UserName=user, SerialNumber=serial["SerialNumber"],
                          AuthenticationCode1=totp.code(seed, step - 1), AuthenticationCode2=totp.code(seed, step))
    sts = boto3.client("sts", endpoint_url=server.endpoint, region_name=REGION,
                       aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    creds = sts.get_session_token(SerialNumber=serial["SerialNumber"],
                                  TokenCode=totp.code(seed, step + 1))["Credentials"]
    out = ask(server, ec2_request(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])).json()
    assert out["allowed"] is True and out["decision"] == "allowed" and out["encodedMessage"] is None
    # Still nothing outside EC2 and the self-service statements.
    out = ask(server, ec2_request(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]),
              action="s3:ListAllMyBuckets").json()
    assert out["decision"] == "implicitDeny"
    iam.deactivate_mfa_device(UserName=user, SerialNumber=serial["SerialNumber"])
    iam.delete_virtual_mfa_device(SerialNumber=serial["SerialNumber"])


def test_admin_is_allowed(server):
    out = ask(server, ec2_request(server.admin_key_id, server.admin_secret)).json()
    assert out["allowed"] is True


def test_bad_signatures_and_unknown_keys(server):
    req = ec2_request(server.admin_key_id, server.admin_secret)
    req["body"] = base64.b64encode(b"Action=TerminateInstances&Version=2016-11-15").decode()
    resp = ask(server, req)
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "SignatureDoesNotMatch"
    resp = ask(server, ec2_request("AKIAAAAAAAAAAAAAAAAA", "x" * 40))
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "InvalidClientTokenId"
    resp = requests.post(f"{server.endpoint}/_portcullis/authorize", data="{nope", timeout=30)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "ValidationError"
