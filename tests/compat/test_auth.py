"""Request authentication and the query-protocol envelope, over raw HTTP."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from compat_helpers import REGION, expect_error, parse_error_xml, xml_find_text

FORM = "application/x-www-form-urlencoded; charset=utf-8"
LIST_USERS = "Action=ListUsers&Version=2010-05-08"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def signed_post(server, body, key_id=None, secret=None, region=REGION,
                content_type=FORM) -> requests.Response:
    """POST ``body`` to the server, SigV4-signed for service iam (admin key by default)."""
    req = AWSRequest(method="POST", url=server.endpoint + "/", data=body,
                     headers={"Content-Type": content_type})
    creds = Credentials(key_id or server.admin_key_id, secret or server.admin_secret)
    SigV4Auth(creds, "iam", region).add_auth(req)
    prepared = req.prepare()
    return requests.post(prepared.url, data=prepared.body, headers=dict(prepared.headers.items()),
                         timeout=60)


def unsigned_post(server, body, content_type=FORM) -> requests.Response:
    return requests.post(server.endpoint + "/", data=body,
                         headers={"Content-Type": content_type}, timeout=60)


def assert_error(resp: requests.Response, status: int, code: str) -> dict:
    err = parse_error_xml(resp.content)
    assert resp.status_code == status, f"HTTP {resp.status_code}, expected {status}: {resp.text[:500]}"
    assert err["Code"] == code, f"Code {err['Code']!r}, expected {code!r}: {resp.text[:500]}"
    assert err["Type"] == "Sender"
    assert err["Message"], "error Message is empty"
    assert resp.headers.get("Content-Type", "").startswith("text/xml")
    assert_request_id(resp, err["RequestId"])
    return err


def assert_request_id(resp: requests.Response, body_request_id: str | None):
    header = resp.headers.get("x-amzn-RequestId")
    assert header, f"no x-amzn-RequestId header: {dict(resp.headers)}"
    assert body_request_id == header, f"body RequestId {body_request_id!r} != header {header!r}"
    assert UUID_RE.match(header), f"RequestId is not a UUID: {header!r}"


def test_signed_raw_request_succeeds(server):
    resp = signed_post(server, LIST_USERS)
    assert resp.status_code == 200, resp.text[:500]
    assert resp.headers.get("Content-Type", "").startswith("text/xml")
    root = ET.fromstring(resp.content)
    assert root.tag.endswith("ListUsersResponse")
    assert root.tag == "{https://iam.amazonaws.com/doc/2010-05-08/}ListUsersResponse"
    assert xml_find_text(root, "IsTruncated") in ("false", "true")
    names = [el.text for el in root.iter() if el.tag.endswith("}UserName")]
    assert server.admin_user in names
    assert_request_id(resp, xml_find_text(root, "RequestId"))


def test_request_ids_are_unique(server):
    ids = {signed_post(server, LIST_USERS).headers.get("x-amzn-RequestId") for _ in range(3)}
    assert len(ids) == 3 and None not in ids


def test_boto3_sees_request_id(iam):
    resp = iam.list_users(MaxItems=1)
    meta = resp["ResponseMetadata"]
    assert meta["HTTPStatusCode"] == 200
    assert meta["RequestId"] == meta["HTTPHeaders"]["x-amzn-requestid"]


def test_unsigned_request_missing_authentication_token(server):
    resp = unsigned_post(server, LIST_USERS)
    assert_error(resp, 403, "MissingAuthenticationToken")


def test_unsigned_get_missing_authentication_token(server):
    resp = requests.get(server.endpoint + "/", params={"Action": "ListUsers", "Version": "2010-05-08"},
                        timeout=60)
    assert_error(resp, 403, "MissingAuthenticationToken")


def test_unknown_access_key(server, make_iam):
    client = make_iam("AKIAZZZZZZZZZZZZZZZZ", "x" * 40)
    with expect_error("InvalidClientTokenId", 403) as e:
        client.list_users()
    assert e.type == "Sender"
    assert_error(signed_post(server, LIST_USERS, key_id="AKIAZZZZZZZZZZZZZZZZ", secret="x" * 40),
                 403, "InvalidClientTokenId")


def test_wrong_secret(server, make_iam):
    wrong = ("A" if server.admin_secret[0] != "A" else "B") + server.admin_secret[1:]
    client = make_iam(server.admin_key_id, wrong)
    with expect_error("SignatureDoesNotMatch", 403):
        client.list_users()
    assert_error(signed_post(server, LIST_USERS, secret=wrong), 403, "SignatureDoesNotMatch")


def test_tampered_body_signature_does_not_match(server):
    req = AWSRequest(method="POST", url=server.endpoint + "/", data=LIST_USERS,
                     headers={"Content-Type": FORM})
    SigV4Auth(Credentials(server.admin_key_id, server.admin_secret), "iam", REGION).add_auth(req)
    prepared = req.prepare()
    resp = requests.post(prepared.url, data=LIST_USERS + "&MaxItems=1",
                         headers=dict(prepared.headers.items()), timeout=60)
    assert_error(resp, 403, "SignatureDoesNotMatch")


def test_any_region_is_accepted(make_iam, server):
    client = make_iam(region_name="eu-central-1")
    assert client.get_user()["User"]["UserName"] == server.admin_user


def test_unknown_action(server):
    resp = signed_post(server, "Action=FrobnicateUsers&Version=2010-05-08")
    err = assert_error(resp, 400, "InvalidAction")
    assert "FrobnicateUsers" in err["Message"]


def test_missing_action(server):
    resp = signed_post(server, "Version=2010-05-08")
    err = parse_error_xml(resp.content)
    assert resp.status_code == 400, resp.text[:500]
    assert err["Code"] in ("InvalidAction", "MissingAction"), err


def test_missing_required_parameter(server):
    resp = signed_post(server, "Action=GetGroup&Version=2010-05-08")
    err = parse_error_xml(resp.content)
    assert resp.status_code == 400, resp.text[:500]
    assert err["Code"] == "ValidationError", err


@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed"])
def test_huge_garbage_body_gets_error_xml(server, signed):
    body = os.urandom(1_100_000)
    try:
        if signed:
            resp = signed_post(server, body, content_type="application/octet-stream")
        else:
            resp = unsigned_post(server, body, content_type=FORM)
    except requests.ConnectionError as e:  # pragma: no cover - failure path
        pytest.fail(f"server dropped the connection instead of answering: {e}")
    assert resp.status_code < 500, f"HTTP {resp.status_code}: {resp.text[:300]}"
    assert 400 <= resp.status_code < 500
    err = parse_error_xml(resp.content)
    assert err["Code"], err
    # The server is still healthy afterwards.
    assert signed_post(server, LIST_USERS).status_code == 200


def test_credential_scoped_to_another_service_is_refused(server):
    """A signature made for another service does not authenticate an IAM call."""
    req = AWSRequest(method="POST", url=server.endpoint + "/", data=LIST_USERS,
                     headers={"Content-Type": FORM})
    SigV4Auth(Credentials(server.admin_key_id, server.admin_secret), "s3", REGION).add_auth(req)
    prepared = req.prepare()
    resp = requests.post(prepared.url, data=prepared.body, headers=dict(prepared.headers.items()), timeout=60)
    err = assert_error(resp, 403, "SignatureDoesNotMatch")
    assert "'iam'" in err["Message"]


def test_sts_get_caller_identity_for_the_admin(server):
    import boto3
    sts = boto3.client("sts", endpoint_url=server.endpoint, region_name=REGION,
                       aws_access_key_id=server.admin_key_id,
                       aws_secret_access_key=server.admin_secret)
    ident = sts.get_caller_identity()
    assert ident["Account"] == server.account_id
    assert ident["Arn"] == f"arn:aws:iam::{server.account_id}:user/John"
    assert ident["UserId"].startswith("AIDA")


def test_presigned_get_caller_identity(server):
    import time
    import boto3
    sts = boto3.client("sts", endpoint_url=server.endpoint, region_name=REGION,
                       aws_access_key_id=server.admin_key_id, aws_secret_access_key=server.admin_secret)
    url = sts.generate_presigned_url("get_caller_identity", ExpiresIn=60, HttpMethod="GET")
    resp = requests.get(url, timeout=30)
    assert resp.status_code == 200, resp.text
    assert f"arn:aws:iam::{server.account_id}:user/John" in resp.text
    short = sts.generate_presigned_url("get_caller_identity", ExpiresIn=1, HttpMethod="GET")
    time.sleep(2.2)
    resp = requests.get(short, timeout=30)
    err = parse_error_xml(resp.content)
    assert resp.status_code == 400 and err["Code"] == "RequestExpired", resp.text


def test_clock_skew_over_15_minutes_is_refused(server, monkeypatch):
    import datetime as dt
    import botocore.auth

    real = dt.datetime

    class Skewed(real):
        @classmethod
        def utcnow(cls):
            return real.utcnow() - dt.timedelta(minutes=16)

        @classmethod
        def now(cls, tz=None):
            return real.now(tz) - dt.timedelta(minutes=16)

    monkeypatch.setattr(botocore.auth.datetime, "datetime", Skewed)
    resp = signed_post(server, LIST_USERS)
    monkeypatch.undo()
    err = parse_error_xml(resp.content)
    assert resp.status_code == 400 and err["Code"] == "RequestExpired", resp.text
