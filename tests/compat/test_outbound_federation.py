"""Outbound web identity federation: the account's issuer is turned on and off, and
GetWebIdentityToken's JWTs verify with the JWKS the server publishes under the issuer URL."""

from __future__ import annotations

import base64
import json

import boto3
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from compat_helpers import REGION, expect_error


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_tokens_verify_with_the_published_keys(server_factory):
    srv = server_factory()
    iam = srv.client()
    sts = boto3.client("sts", endpoint_url=srv.endpoint, region_name=REGION, aws_access_key_id=srv.admin_key_id,
                       aws_secret_access_key=srv.admin_secret)
    with expect_error("FeatureDisabled", 404):
        iam.get_outbound_web_identity_federation_info()
    with expect_error("OutboundWebIdentityFederationDisabledException", 403):
        sts.get_web_identity_token(Audience=["https://api.example.com"], SigningAlgorithm="RS256")

    issuer = iam.enable_outbound_web_identity_federation()["IssuerIdentifier"]
    assert issuer.startswith(f"http://localhost:{srv.port}/_portcullis/oidc/"), issuer
    with expect_error("FeatureEnabled", 409):
        iam.enable_outbound_web_identity_federation()
    assert iam.get_outbound_web_identity_federation_info() | {"ResponseMetadata": None} == {
        "IssuerIdentifier": issuer, "JwtVendingEnabled": True, "ResponseMetadata": None}

    out = sts.get_web_identity_token(Audience=["https://api.example.com"], SigningAlgorithm="RS256", DurationSeconds=120)
    token = out["WebIdentityToken"]
    header, payload, signature = token.split(".")
    claims = json.loads(unb64(payload))
    me = sts.get_caller_identity()["Arn"]
    assert claims["iss"] == issuer and claims["sub"] == me and claims["aud"] == "https://api.example.com"
    assert claims["exp"] - claims["iat"] == 120

    # Anyone can verify it with the issuer's published keys.
    base = issuer.replace("localhost", "127.0.0.1")
    discovery = requests.get(f"{base}/.well-known/openid-configuration", timeout=10).json()
    assert discovery["issuer"] == issuer
    jwks = requests.get(discovery["jwks_uri"].replace("localhost", "127.0.0.1"), timeout=10).json()
    jwk = next(k for k in jwks["keys"] if k["kid"] == json.loads(unb64(header))["kid"])
    key = rsa.RSAPublicNumbers(int.from_bytes(unb64(jwk["e"]), "big"), int.from_bytes(unb64(jwk["n"]), "big")).public_key()
    key.verify(unb64(signature), f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
    assert requests.get(f"{srv.endpoint}/_portcullis/oidc/nobody/.well-known/jwks.json", timeout=10).status_code == 404

    iam.disable_outbound_web_identity_federation()
    assert iam.get_outbound_web_identity_federation_info()["JwtVendingEnabled"] is False
    with expect_error("OutboundWebIdentityFederationDisabledException", 403):
        sts.get_web_identity_token(Audience=["https://api.example.com"], SigningAlgorithm="RS256")
    with expect_error("FeatureDisabled", 404):
        iam.disable_outbound_web_identity_federation()
