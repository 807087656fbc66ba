#!/usr/bin/env python3
"""Regenerate tests/vectors.json: requests signed by botocore, the reference
client, so the Rust verifier is checked against real client output rather
than against itself.

    python3 crates/sigv4/tests/gen_vectors.py > crates/sigv4/tests/vectors.json
"""
import datetime
import json
from urllib.parse import urlsplit

import botocore.auth
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

KEY_ID = "AKIAPORTCULLISTEST01"
SECRET = "pOrTcUlLiS/sEcReT+kEy/0123456789abcdefXYZ"
TOKEN = "FQoGZXIvYXdzEXAMPLE//session+token=="
SIGNED_AT = datetime.datetime(2026, 11, 23, 19, 0, 0)
FORM = "application/x-www-form-urlencoded; charset=utf-8"


def freeze(at):
    # botocore reads the clock through this one helper.
    botocore.auth.get_current_datetime = lambda: at


def sign(name, method, url, headers=None, body=b"", service="iam", token=None,
         presign_expires=None, secret=SECRET, key_id=KEY_ID, at=SIGNED_AT,
         extra_received=None, expect_signature=None):
    freeze(at)
    creds = Credentials(key_id, secret, token)
    req = AWSRequest(method=method, url=url, headers=dict(headers or {}), data=body)
    if presign_expires is None:
        auth = SigV4Auth(creds, service, "us-east-1")
    else:
        auth = SigV4QueryAuth(creds, service, "us-east-1", expires=presign_expires)

    # Record the canonical request botocore hashed, for exact comparison.
    seen = {}
    original = auth.canonical_request

    def recording(request):
        seen["cr"] = original(request)
        return seen["cr"]

    auth.canonical_request = recording
    auth.add_auth(req)

    parts = urlsplit(req.url)
    received = [("Host", parts.netloc)] + [(k, v) for k, v in req.headers.items()]
    # Headers a real client adds outside the signature; they must be ignored.
    received += [("User-Agent", "Botocore/test"), ("Accept-Encoding", "identity")]
    if body and "Content-Length" not in req.headers:
        received.append(("Content-Length", str(len(body))))
    received += extra_received or []

    if presign_expires is None:
        auth_header = req.headers["Authorization"]
        signature = auth_header.rsplit("Signature=", 1)[1]
        signed_headers = auth_header.split("SignedHeaders=", 1)[1].split(",", 1)[0]
    else:
        q = dict(p.split("=", 1) for p in parts.query.split("&"))
        signature = q["X-Amz-Signature"]
        signed_headers = q["X-Amz-SignedHeaders"]
    if expect_signature is not None:
        assert signature == expect_signature, (name, signature)

    return {
        "name": name,
        "secret": secret,
        "signed_at": at.strftime("%Y%m%dT%H%M%SZ"),
        "method": method,
        "path": parts.path or "/",
        "query": parts.query,
        "headers": received,
        "body": body.decode(),
        "canonical_request": seen["cr"],
        "expect": {
            "access_key_id": key_id,
            "date": at.strftime("%Y%m%d"),
            "region": "us-east-1",
            "service": service,
            "signed_headers": signed_headers.split(";"),
            "signature": signature,
            "security_token": token,
            "presigned_expires": presign_expires,
        },
    }


def main():
    list_users = b"Action=ListUsers&Version=2010-05-08"
    json_body = b'{"UserName":"alice","Path":"/division_abc/"}'
    vectors = [
        # AWS's documented IAM example (general reference, "create a signed request").
        sign("aws_doc_iam_get", "GET",
             "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08",
             headers={"Content-Type": FORM}, key_id="AKIDEXAMPLE",
             secret="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
             at=datetime.datetime(2015, 8, 30, 12, 36, 0),
             expect_signature="5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"),
        sign("iam_query_post", "POST", "https://iam.amazonaws.com/",
             headers={"Content-Type": FORM}, body=list_users),
        sign("iam_query_post_session_token", "POST", "https://iam.amazonaws.com/",
             headers={"Content-Type": FORM}, body=list_users, token=TOKEN),
        sign("sts_get_query_params", "GET",
             "https://sts.amazonaws.com/?Version=2011-06-15&Action=GetCallerIdentity"
             "&Marker=a%20b%2Fc~d%2Ae&Empty=&Action2=%E2%9C%93",
             service="sts"),
        sign("json_target_session_token", "POST", "https://iam.us-east-1.amazonaws.com/",
             headers={"Content-Type": "application/x-amz-json-1.1",
                      "X-Amz-Target": "AWSIdentityManagementV20100508.CreateUser",
                      "X-Amz-Meta-Note": "  spaced    out\tvalue "},
             body=json_body, token=TOKEN),
        # The AWS SDK for Rust signs content-length and x-amz-user-agent too.
        sign("rust_sdk_style_headers", "POST", "https://iam.amazonaws.com/",
             headers={"Content-Type": FORM, "Content-Length": str(len(list_users)),
                      "X-Amz-User-Agent": "aws-sdk-rust/1.3.0 api/iam/1.50.0"},
             body=list_users),
        sign("declared_payload_hash", "POST", "https://iam.amazonaws.com/",
             headers={"Content-Type": FORM,
                      "X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD"},
             body=list_users),
        sign("sts_presigned_session_token", "GET",
             "https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15",
             service="sts", token=TOKEN, presign_expires=900),
        sign("iam_presigned", "GET",
             "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08",
             presign_expires=3600),
    ]
    print(json.dumps(vectors, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
