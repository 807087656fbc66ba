"""AssumeRoleWithWebIdentity with real signatures: the tests run their own OpenID Connect
issuer (oidc_issuer.py: a CA, discovery and JWKS over HTTPS on loopback, RS256 tokens),
Portcullis trusts its CA with --oidc-ca-file, and a GitHub-Actions-style trust policy
(the provider as Federated principal, conditions on `HOST:aud` and `HOST:sub`) lets in
exactly the tokens it should. Forged, unsigned, expired, wrong-audience and unknown-issuer
tokens are refused with AWS's codes and messages."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from cryptography.hazmat.primitives.asymmetric import rsa

from compat_helpers import expect_error
from oidc_issuer import Issuer


@pytest.fixture
def federation(server_factory, tmp_path):
    issuer = Issuer(tmp_path).start()
    srv = server_factory(extra_args=["--oidc-ca-file", str(issuer.ca_file)])
    iam = srv.client()
    host = issuer.url.removeprefix("https://")
    provider = iam.create_open_id_connect_provider(Url=issuer.url, ClientIDList=["sts.amazonaws.com"])["OpenIDConnectProviderArn"]
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": provider},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {
            "StringEquals": {f"{host}:aud": "sts.amazonaws.com"},
            "StringLike": {f"{host}:sub": "repo:octo-org/octo-repo:*"},
        },
    }]}
    role_arn = iam.create_role(RoleName="deploy", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.attach_role_policy(RoleName="deploy", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    # AssumeRoleWithWebIdentity is not signed: the token is the proof.
    sts = boto3.client("sts", endpoint_url=srv.endpoint, region_name="us-east-1", config=Config(signature_version=UNSIGNED))
    yield srv, issuer, sts, role_arn, provider
    issuer.stop()


def now(srv) -> int:
    import requests
    return requests.post(f"{srv.endpoint}/_portcullis/clock", json={"advance_seconds": 0}, timeout=10).json()["now"]


def claims(srv, **extra) -> dict:
    t = now(srv)
    return {"aud": "sts.amazonaws.com", "sub": "repo:octo-org/octo-repo:ref:refs/heads/main", "iat": t, "nbf": t - 60, "exp": t + 300,
            "repository": "octo-org/octo-repo", **extra}


def test_a_signed_token_becomes_a_role_session(federation):
    srv, issuer, sts, role_arn, provider = federation
    out = sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="gha-run-1", WebIdentityToken=issuer.token(claims(srv)))
    assert out["SubjectFromWebIdentityToken"] == "repo:octo-org/octo-repo:ref:refs/heads/main"
    assert out["Provider"] == provider and out["Audience"] == "sts.amazonaws.com"
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{srv.account_id}:assumed-role/deploy/gha-run-1"
    c = out["Credentials"]
    assert c["AccessKeyId"].startswith("ASIA")
    session = boto3.client("sts", endpoint_url=srv.endpoint, region_name="us-east-1", aws_access_key_id=c["AccessKeyId"],
                           aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])
    assert session.get_caller_identity()["Arn"] == out["AssumedRoleUser"]["Arn"]
    # The session has the role's permissions and nothing else.
    iam = boto3.client("iam", endpoint_url=srv.endpoint, region_name="us-east-1", aws_access_key_id=c["AccessKeyId"],
                       aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])
    iam.list_roles()
    with expect_error("AccessDenied", 403):
        iam.create_user(UserName="not-allowed")
    # The audit trail names the token's subject (never the token) and the session's role.
    trail = boto3.client("cloudtrail", endpoint_url=srv.endpoint, region_name="us-east-1",
                         aws_access_key_id=srv.admin_key_id, aws_secret_access_key=srv.admin_secret)
    found = trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "AssumeRoleWithWebIdentity"}])["Events"]
    event = json.loads(found[-1]["CloudTrailEvent"])
    assert event["userIdentity"]["type"] == "WebIdentityUser" and event["userIdentity"]["userName"] == out["SubjectFromWebIdentityToken"]
    assert event["recipientAccountId"] == srv.account_id and found[-1]["Username"] == out["SubjectFromWebIdentityToken"]
    assert event["requestParameters"]["webIdentityToken"] == "HIDDEN_DUE_TO_SECURITY_REASONS"
    refused = trail.lookup_events(LookupAttributes=[{"AttributeKey": "AccessKeyId", "AttributeValue": c["AccessKeyId"]}])["Events"]
    denied = [json.loads(e["CloudTrailEvent"]) for e in refused if e["EventName"] == "CreateUser"][0]
    assert denied["errorCode"] == "AccessDenied" and denied["userIdentity"]["type"] == "AssumedRole"
    assert denied["userIdentity"]["sessionContext"]["sessionIssuer"]["userName"] == "deploy"
    # The keys were fetched once and then served from the cache.
    issuer.requests.clear()
    sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="gha-run-2", WebIdentityToken=issuer.token(claims(srv)))
    assert issuer.requests == []


def test_the_trust_policy_decides_on_the_tokens_claims(federation):
    srv, issuer, sts, role_arn, _ = federation
    for bad in ({"sub": "repo:someone-else/repo:ref:refs/heads/main"},):
        with expect_error("AccessDenied", 403) as e:
            sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="sess", WebIdentityToken=issuer.token(claims(srv, **bad)))
        assert e.message == "Not authorized to perform sts:AssumeRoleWithWebIdentity"
    with expect_error("AccessDenied", 403):
        sts.assume_role_with_web_identity(RoleArn=role_arn.replace("deploy", "no-such-role"), RoleSessionName="sess",
                                          WebIdentityToken=issuer.token(claims(srv)))


def test_forged_unsigned_expired_and_foreign_tokens_are_refused(federation):
    srv, issuer, sts, role_arn, _ = federation

    def refused(token: str, code: str = "InvalidIdentityToken", status: int = 400):
        with expect_error(code, status) as e:
            sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="sess", WebIdentityToken=token)
        return e.message

    good = issuer.token(claims(srv))
    header, body, signature = good.split(".")
    # Claims changed after signing (another repository), same signature.
    forged_body = issuer.token(claims(srv, sub="repo:octo-org/octo-repo:ref:refs/heads/evil")).split(".")[1]
    assert "could not be verified" in refused(f"{header}.{forged_body}.{signature}")
    # Signed by a key the issuer never published, under its key id.
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert "could not be verified" in refused(issuer.token(claims(srv), key=stranger))
    # No signature at all.
    refused(issuer.token(claims(srv), alg="none"))
    # Not a JWT.
    assert refused("not-a-jwt-at-all") == "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)"
    # For another audience.
    assert refused(issuer.token(claims(srv, aud="someone-else"))) == "Incorrect token audience"
    # From an issuer the account does not trust.
    other = issuer.token({**claims(srv), "iss": "https://issuer.invalid"})
    assert refused(other) == "No OpenIDConnect provider found in your account for https://issuer.invalid"
    # Expired (beyond the five minutes of tolerated skew).
    t = now(srv)
    message = refused(issuer.token(claims(srv, exp=t - 400, iat=t - 1000, nbf=t - 1000)), "ExpiredTokenException", 400)
    assert message == f"Token expired: current date/time {t} must be before the expiration date/time {t - 400}"


def test_keys_that_cannot_be_fetched_refuse_the_token(server_factory, tmp_path):
    issuer = Issuer(tmp_path).start()
    # No --oidc-ca-file: the issuer's certificate is not trusted, so its keys are not used.
    srv = server_factory()
    try:
        iam = srv.client()
        provider = iam.create_open_id_connect_provider(Url=issuer.url, ClientIDList=["sts.amazonaws.com"])["OpenIDConnectProviderArn"]
        trust = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithWebIdentity"}]}
        role_arn = iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        sts = boto3.client("sts", endpoint_url=srv.endpoint, region_name="us-east-1", config=Config(signature_version=UNSIGNED))
        with expect_error("InvalidIdentityToken", 400) as e:
            sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="sess", WebIdentityToken=issuer.token(claims(srv)))
        assert e.message.startswith("Couldn't retrieve verification key from your identity provider")
        assert issuer.requests == [], "the handshake must fail before any request"
    finally:
        issuer.stop()
