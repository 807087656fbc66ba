"""AssumeRoleWithSAML with real XML signatures: the tests run their own SAML identity
provider (saml_idp.py: a key and certificate per run, responses signed by signxml), upload
its metadata as a SAML provider, and exchange signed responses for role sessions with
boto3 and aws-cli. Forged, tampered, unsigned, wrapped, expired, mis-addressed and replayed
responses are refused with AWS's codes and messages; the trust policy decides with the
`saml:*` condition keys."""

from __future__ import annotations

import base64
import copy
import datetime
import hashlib
import json
import os
import subprocess

import boto3
import pytest
import requests
from botocore import UNSIGNED
from botocore.config import Config
from cryptography.hazmat.primitives import serialization
from lxml import etree
from signxml import XMLSigner, methods

from compat_helpers import expect_error, self_signed
from conftest import aws_cli_path
from saml_idp import AWS_SAML, DS, SAML, IdP, encode, wrapped

PROVIDER = "CorpIdP"


def now(srv) -> int:
    return requests.post(f"{srv.endpoint}/_portcullis/clock", json={"advance_seconds": 0}, timeout=10).json()["now"]


@pytest.fixture
def saml(server_factory):
    srv = server_factory()
    iam = srv.client()
    idp = IdP()
    provider = iam.create_saml_provider(Name=PROVIDER, SAMLMetadataDocument=idp.metadata())["SAMLProviderArn"]
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": provider},
        "Action": "sts:AssumeRoleWithSAML",
        "Condition": {"StringLike": {"SAML:aud": "https://*signin.aws.amazon.com/saml"}, "StringEquals": {"saml:iss": idp.entity_id}},
    }]}
    role = iam.create_role(RoleName="Admins", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.attach_role_policy(RoleName="Admins", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    # AssumeRoleWithSAML is not signed: the response is the proof.
    sts = boto3.client("sts", endpoint_url=srv.endpoint, region_name="us-east-1", config=Config(signature_version=UNSIGNED))
    return srv, iam, idp, sts, role, provider


def pair(role: str, provider: str) -> str:
    return f"{role},{provider}"


def assume(sts, role, provider, response, **kw):
    return sts.assume_role_with_saml(RoleArn=role, PrincipalArn=provider, SAMLAssertion=response, **kw)


def test_a_signed_response_becomes_a_role_session(saml):
    srv, iam, idp, sts, role, provider = saml
    out = assume(sts, role, provider, idp.response([pair(role, provider)], now=now(srv)))
    account = srv.account_id
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{account}:assumed-role/Admins/alice"
    assert out["AssumedRoleUser"]["AssumedRoleId"].endswith(":alice")
    assert out["AssumedRoleUser"]["AssumedRoleId"].startswith("AROA")
    assert out["Subject"] == "alice@example.test" and out["SubjectType"] == "persistent"
    assert out["Issuer"] == idp.entity_id and out["Audience"] == AWS_SAML
    expected = base64.b64encode(hashlib.sha1(f"{idp.entity_id}{account}/{PROVIDER}".encode()).digest()).decode()
    assert out["NameQualifier"] == expected
    assert "PackedPolicySize" not in out and "SourceIdentity" not in out
    c = out["Credentials"]
    assert c["AccessKeyId"].startswith("ASIA")
    session = dict(endpoint_url=srv.endpoint, region_name="us-east-1", aws_access_key_id=c["AccessKeyId"],
                   aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])
    assert boto3.client("sts", **session).get_caller_identity()["Arn"] == out["AssumedRoleUser"]["Arn"]
    # The session has the role's permissions and nothing else.
    role_iam = boto3.client("iam", **session)
    role_iam.list_roles()
    with expect_error("AccessDenied", 403):
        role_iam.create_user(UserName="not-allowed")


def test_aws_cli_assume_role_with_saml(saml):
    srv, iam, idp, sts, role, provider = saml
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_EC2_METADATA_DISABLED="true", AWS_PAGER="")
    cmd = [aws_cli_path(), "--endpoint-url", srv.endpoint, "--region", "us-east-1", "--output", "json", "sts", "assume-role-with-saml",
           "--role-arn", role, "--principal-arn", provider, "--saml-assertion", idp.response([pair(role, provider)], now=now(srv))]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["AssumedRoleUser"]["Arn"].endswith(":assumed-role/Admins/alice") and out["Credentials"]["AccessKeyId"].startswith("ASIA")


def test_a_response_signed_at_the_response_level_and_provider_first_pairs(saml):
    srv, iam, idp, sts, role, provider = saml
    response = idp.response([f"{provider},{role}"], sign_assertion=False, sign_response=True, now=now(srv))
    assert assume(sts, role, provider, response)["Subject"] == "alice@example.test"
    both = idp.response([pair(role, provider)], sign_assertion=True, sign_response=True, session_name="alice2", now=now(srv))
    assert assume(sts, role, provider, both)["AssumedRoleUser"]["Arn"].endswith("/alice2")


def test_forged_tampered_unsigned_and_wrapped_responses_are_refused(saml):
    srv, iam, idp, sts, role, provider = saml
    roles = [pair(role, provider)]
    t = now(srv)
    _, other_key = self_signed("evil.example")
    forged = idp.response(roles, key=other_key, now=t)

    tampered_xml = idp.response_xml(roles, now=t)
    tampered_xml.find(f".//{{{SAML}}}NameID").text = "admin@example.test"
    unsigned = idp.response(roles, sign_assertion=False, now=t)
    for response in (forged, encode(tampered_xml), unsigned):
        with expect_error("InvalidIdentityToken", 400) as e:
            assume(sts, role, provider, response)
        assert e.message == "Response signature invalid"
    # Signature wrapping: the genuine signed assertion moved aside, a forged one in its place.
    with expect_error("InvalidIdentityToken", 400) as e:
        assume(sts, role, provider, wrapped(idp.response_xml(roles, now=t)))
    assert "exactly one assertion" in e.message
    # A certificate the document carries is not trusted: only the provider's metadata is.
    other_cert, other = self_signed("evil.example")
    with expect_error("InvalidIdentityToken", 400):
        assume(sts, role, provider, idp.response(roles, key=other, cert=other_cert, now=t))


def test_a_comment_cannot_cut_a_signed_name_short(saml):
    srv, iam, idp, sts, role, provider = saml
    signed = idp.response_xml([pair(role, provider)], subject="admin@example.test.evil.example", now=now(srv))
    name_id = signed.find(f".//{{{SAML}}}NameID")
    # Comments are not signed (exclusive C14N without comments): the signature still holds,
    # and the subject must be read whole, not up to the comment.
    name_id.text = "admin@example.test"
    comment = etree.Comment("x")
    comment.tail = ".evil.example"
    name_id.append(comment)
    out = assume(sts, role, provider, encode(signed))
    assert out["Subject"] == "admin@example.test.evil.example"


def test_time_audience_recipient_and_issuer_are_checked(saml):
    srv, iam, idp, sts, role, provider = saml
    roles = [pair(role, provider)]
    t = now(srv)
    with expect_error("ExpiredTokenException", 400) as e:
        assume(sts, role, provider, idp.response(roles, issued_ago=600, lifetime=900, now=t))
    assert e.message == "Token must be redeemed within 5 minutes of issuance"
    with expect_error("ExpiredTokenException", 400) as e:
        assume(sts, role, provider, idp.response(roles, lifetime=-120, now=t))
    assert e.message == "Response has expired"
    for kw in ({"audience": "https://sp.example.com"}, {"recipient": "https://sp.example.com/acs"}):
        with expect_error("InvalidIdentityToken", 400):
            assume(sts, role, provider, idp.response(roles, now=t, **kw))
    # A regional sign-in endpoint is AWS too.
    regional = "https://eu-west-1.signin.aws.amazon.com/saml"
    out = assume(sts, role, provider, idp.response(roles, recipient=regional, now=t, session_name="regional"))
    assert out["Audience"] == regional
    with expect_error("InvalidIdentityToken", 400) as e:
        assume(sts, role, provider, idp.response(roles, issuer="https://other-idp.example/saml", now=t))
    assert e.message == "Issuer not present in specified provider"


def test_role_attribute_session_name_and_provider_are_required(saml):
    srv, iam, idp, sts, role, provider = saml
    t = now(srv)
    other_role = role.replace("role/Admins", "role/Other")
    with expect_error("AccessDenied", 403) as e:
        assume(sts, role, provider, idp.response([pair(other_role, provider)], now=t))
    assert e.message == "Not authorized to perform sts:AssumeRoleWithSAML"
    with expect_error("InvalidIdentityToken", 400) as e:
        assume(sts, role, provider, idp.response([pair(role, provider)], session_name=None, now=t))
    assert e.message == "RoleSessionName is required in AuthnResponse"
    with expect_error("InvalidIdentityToken", 400) as e:
        assume(sts, role, provider, idp.response([pair(role, provider)], session_name="bad name!", now=t))
    assert e.message == "RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}"
    missing = provider.replace(PROVIDER, "NoSuchIdP")
    with expect_error("InvalidIdentityToken", 400) as e:
        assume(sts, role, missing, idp.response([pair(role, missing)], now=t))
    assert e.message == "Specified provider doesn't exist."
    for junk in ("not base64!", base64.b64encode(b"<html/>").decode(), base64.b64encode(b"\xff\xfe").decode()):
        with expect_error("InvalidIdentityToken", 400):
            assume(sts, role, provider, junk)
    bomb = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
            '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&c;</samlp:Response>')
    with expect_error("InvalidIdentityToken", 400):
        assume(sts, role, provider, base64.b64encode(bomb.encode()).decode())
    assert srv.client().get_user()["User"]


def test_a_response_is_redeemed_once_per_role(saml):
    srv, iam, idp, sts, role, provider = saml
    trust = iam.get_role(RoleName="Admins")["Role"]["AssumeRolePolicyDocument"]
    second = iam.create_role(RoleName="ReadOnly", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    response = idp.response([pair(role, provider), pair(second, provider)], now=now(srv))
    assume(sts, role, provider, response)
    with expect_error("InvalidIdentityToken", 400) as e:
        assume(sts, role, provider, response)
    assert "already been used" in e.message
    # The same response may choose another role it names, once.
    assert assume(sts, second, provider, response)["AssumedRoleUser"]["Arn"].endswith("assumed-role/ReadOnly/alice")


def test_the_trust_policy_decides_with_saml_condition_keys(saml):
    srv, iam, idp, sts, role, provider = saml
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": provider},
        "Action": "sts:AssumeRoleWithSAML",
        "Condition": {
            "StringEquals": {"saml:aud": AWS_SAML, "saml:sub_type": "persistent", "saml:doc": f"{srv.account_id}/{PROVIDER}",
                             "saml:edupersonaffiliation": "staff"},
            "StringLike": {"saml:sub": "*@example.test"},
        },
    }]}
    iam.update_assume_role_policy(RoleName="Admins", PolicyDocument=json.dumps(trust))
    staff = {"urn:oid:1.3.6.1.4.1.5923.1.1.1.1": ["member", "staff"]}
    t = now(srv)
    assume(sts, role, provider, idp.response([pair(role, provider)], attributes=staff, now=t))
    refused = (
        dict(attributes={"urn:oid:1.3.6.1.4.1.5923.1.1.1.1": ["student"]}),
        dict(attributes=staff, subject="mallory@evil.example"),
        dict(attributes=staff, subject_format="urn:oasis:names:tc:SAML:2.0:nameid-format:transient"),
    )
    for kw in refused:
        with expect_error("AccessDenied", 403):
            assume(sts, role, provider, idp.response([pair(role, provider)], now=t, **kw))
    # A provider the trust policy does not name cannot be used, even with a valid response.
    other = iam.create_saml_provider(Name="OtherIdP", SAMLMetadataDocument=idp.metadata())["SAMLProviderArn"]
    with expect_error("AccessDenied", 403):
        assume(sts, role, other, idp.response([pair(role, other)], attributes=staff, now=t))


def test_session_tags_source_identity_and_duration_from_attributes(saml):
    srv, iam, idp, sts, role, provider = saml
    attrs = {"https://aws.amazon.com/SAML/Attributes/PrincipalTag:team": ["blue"],
             "https://aws.amazon.com/SAML/Attributes/SourceIdentity": ["alice-src"]}
    t = now(srv)
    # Tags and a source identity need sts:TagSession and sts:SetSourceIdentity in the trust policy.
    with expect_error("AccessDenied", 403):
        assume(sts, role, provider, idp.response([pair(role, provider)], attributes=attrs, now=t))
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": provider},
        "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession", "sts:SetSourceIdentity"],
        "Condition": {"StringEquals": {"saml:aud": AWS_SAML}}}]}
    iam.update_assume_role_policy(RoleName="Admins", PolicyDocument=json.dumps(trust))
    attrs["https://aws.amazon.com/SAML/Attributes/SessionDuration"] = ["900"]
    out = assume(sts, role, provider, idp.response([pair(role, provider)], attributes=attrs, now=t), DurationSeconds=3600)
    assert out["SourceIdentity"] == "alice-src" and "PackedPolicySize" in out
    lifetime = out["Credentials"]["Expiration"] - datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    assert 850 <= lifetime.total_seconds() <= 960
    with expect_error("ValidationError", 400):
        assume(sts, role, provider, idp.response([pair(role, provider)], session_name="long", now=t), DurationSeconds=43200)


def test_only_the_identity_providers_signing_keys_are_trusted(saml):
    srv, iam, idp, sts, role, provider = saml
    # A metadata document that also lists a service provider's certificate: that key signs nothing.
    sp_cert, sp_key = self_signed("sp.example.test")
    sp_der = base64.b64encode(sp_cert.public_bytes(serialization.Encoding.DER)).decode()
    sp = ('<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
          f'<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{sp_der}</ds:X509Certificate>'
          '</ds:X509Data></ds:KeyInfo></md:KeyDescriptor>'
          '<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp.example.test/acs" index="0"/>'
          '</md:SPSSODescriptor></md:EntityDescriptor>')
    iam.update_saml_provider(SAMLProviderArn=provider, SAMLMetadataDocument=idp.metadata().replace("</md:EntityDescriptor>", sp))
    t = now(srv)
    with expect_error("InvalidIdentityToken", 400) as e:
        assume(sts, role, provider, idp.response([pair(role, provider)], key=sp_key, cert=sp_cert, now=t))
    assert e.message == "Response signature invalid"
    assert assume(sts, role, provider, idp.response([pair(role, provider)], now=t))["Subject"] == "alice@example.test"


def test_signatures_out_of_place_and_foreign_audiences_are_refused(saml):
    srv, iam, idp, sts, role, provider = saml
    t = now(srv)
    signed = idp.response_xml([pair(role, provider)], now=t)
    # A second signature somewhere SAML does not put one (copied from the assertion).
    extra = copy.deepcopy(signed.find(f".//{{{SAML}}}Assertion/{{{DS}}}Signature"))
    signed.find(f".//{{{SAML}}}Subject").append(extra)
    with expect_error("InvalidIdentityToken", 400) as e:
        assume(sts, role, provider, encode(signed))
    assert e.message == "Response signature invalid"
    # Every AudienceRestriction must admit AWS: a second one for another party is refused.
    response = idp.response_xml([pair(role, provider)], now=t, sign_assertion=False)
    restriction = etree.SubElement(response.find(f".//{{{SAML}}}Conditions"), f"{{{SAML}}}AudienceRestriction")
    etree.SubElement(restriction, f"{{{SAML}}}Audience").text = "https://other-sp.example"
    with expect_error("InvalidIdentityToken", 400):
        assume(sts, role, provider, sign_response_of(idp, response))


def sign_response_of(idp, response) -> str:
    """Signs a response built by hand as the identity provider would (the Response, enveloped)."""
    key = idp.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    cert = idp.cert.public_bytes(serialization.Encoding.PEM)
    placeholder = etree.Element("{http://www.w3.org/2000/09/xmldsig#}Signature", Id="placeholder")
    response.insert(1, placeholder)
    signer = XMLSigner(method=methods.enveloped, signature_algorithm="rsa-sha256", digest_algorithm="sha256",
                       c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#")
    return encode(signer.sign(response, key=key, cert=cert, reference_uri=response.get("ID")))


def sp_key_pem(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


def test_encrypted_assertions_are_decrypted_with_the_providers_private_key(saml):
    from saml_idp import encrypt_assertion
    srv, iam, idp, sts, role, provider = saml
    sp_cert, sp_key = self_signed("sp.example.test")
    t = now(srv)
    # Without a private key the provider cannot read an encrypted assertion.
    response = idp.response_xml([pair(role, provider)], now=t)
    encrypt_assertion(response, sp_cert)
    with expect_error("InvalidIdentityToken", 400):
        assume(sts, role, provider, encode(response))

    with expect_error("InvalidInput", 400):
        iam.update_saml_provider(SAMLProviderArn=provider, AddPrivateKey="-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----")
    iam.update_saml_provider(SAMLProviderArn=provider, AddPrivateKey=sp_key_pem(sp_key), AssertionEncryptionMode="Required")
    # The assertion signed, then encrypted.
    response = idp.response_xml([pair(role, provider)], now=t, session_name="sealed")
    encrypt_assertion(response, sp_cert)
    out = assume(sts, role, provider, encode(response))
    assert out["AssumedRoleUser"]["Arn"].endswith("/sealed") and out["Subject"] == "alice@example.test"
    # The response signed over the encrypted (unsigned) assertion.
    response = idp.response_xml([pair(role, provider)], now=t, session_name="outer", sign_assertion=False)
    encrypt_assertion(response, sp_cert)
    assert assume(sts, role, provider, sign_response_of(idp, response))["AssumedRoleUser"]["Arn"].endswith("/outer")
    # Neither signed: refused, encrypted or not.
    response = idp.response_xml([pair(role, provider)], now=t, session_name="nosig", sign_assertion=False)
    encrypt_assertion(response, sp_cert)
    with expect_error("InvalidIdentityToken", 400) as e:
        assume(sts, role, provider, encode(response))
    assert e.message == "Response signature invalid"
    # Encrypted for someone else's key.
    other_cert, _ = self_signed("other-sp.example.test")
    response = idp.response_xml([pair(role, provider)], now=t, session_name="other")
    encrypt_assertion(response, other_cert)
    with expect_error("InvalidIdentityToken", 400):
        assume(sts, role, provider, encode(response))
    # Encryption required: a plain assertion is refused.
    with expect_error("InvalidIdentityToken", 400) as e:
        assume(sts, role, provider, idp.response([pair(role, provider)], now=t, session_name="plain"))
    assert "requires encrypted assertions" in e.message


def test_a_new_response_id_does_not_make_a_used_assertion_new(saml):
    srv, iam, idp, sts, role, provider = saml
    signed = idp.response_xml([pair(role, provider)], now=now(srv))
    assume(sts, role, provider, encode(signed))
    signed.set("ID", "_another-response-id")  # the response itself is not signed
    with expect_error("InvalidIdentityToken", 400) as e:
        assume(sts, role, provider, encode(signed))
    assert "already been used" in e.message


def test_required_encryption_cannot_be_met_by_a_wrapped_plain_assertion(saml):
    from saml_idp import XENC, encrypt_assertion
    srv, iam, idp, sts, role, provider = saml
    sp_cert, sp_key = self_signed("sp.example.test")
    iam.update_saml_provider(SAMLProviderArn=provider, AddPrivateKey=sp_key_pem(sp_key), AssertionEncryptionMode="Required")
    t = now(srv)
    # A signed plain assertion inside an EncryptedAssertion, beside a real EncryptedData.
    decoy = idp.response_xml([pair(role, provider)], now=t, session_name="decoy")
    encrypt_assertion(decoy, sp_cert)
    encrypted_data = decoy.find(f".//{{{XENC}}}EncryptedData")
    forged = idp.response_xml([pair(role, provider)], now=t, session_name="forged")
    plain = forged.find(f"{{{SAML}}}Assertion")
    wrapper = etree.SubElement(forged, f"{{{SAML}}}EncryptedAssertion")
    forged.remove(plain)
    wrapper.append(plain)
    wrapper.append(copy.deepcopy(encrypted_data))
    with expect_error("InvalidIdentityToken", 400):
        assume(sts, role, provider, encode(forged))
