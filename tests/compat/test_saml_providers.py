"""SAML providers with boto3, against AWS's recorded answers: the ARN, metadata checked when
uploaded (a SAML EntityDescriptor with an IdP and signing certificates), ValidUntil from
the metadata or a hundred years, the Get defaults, updates, tags, the not-found wording,
and the providers count in GetAccountSummary."""

from __future__ import annotations

import base64
import re

from cryptography.hazmat.primitives import serialization

from compat_helpers import expect_error, self_signed


def metadata(valid_until: str | None = None) -> str:
    cert, _ = self_signed("idp.example.com", days=365)
    der = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
    until = f' validUntil="{valid_until}"' if valid_until else ""
    return (f'<?xml version="1.0"?>\n<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
            f'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://idp.example.com/saml"{until}>'
            '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
            f'<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{der}</ds:X509Certificate>'
            '</ds:X509Data></ds:KeyInfo></md:KeyDescriptor>'
            '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/>'
            '</md:IDPSSODescriptor></md:EntityDescriptor>')


def test_create_get_update_and_delete(server_factory, uniq):
    iam = server_factory().client()
    before = iam.get_account_summary()["SummaryMap"]["Providers"]
    doc = metadata()
    arn = iam.create_saml_provider(Name="Okta", SAMLMetadataDocument=doc)["SAMLProviderArn"]
    account = arn.split(":")[4]
    assert arn == f"arn:aws:iam::{account}:saml-provider/Okta"
    got = iam.get_saml_provider(SAMLProviderArn=arn)
    assert got["SAMLMetadataDocument"] == doc and re.fullmatch(r"SAMLSP[A-Z0-9]{20}", got["SAMLProviderUUID"])
    assert got["Tags"] == [] and got["AssertionEncryptionMode"] == "Allowed" and got["PrivateKeyList"] == []
    assert 99 <= (got["ValidUntil"] - got["CreateDate"]).days / 365 <= 101
    assert iam.get_account_summary()["SummaryMap"]["Providers"] == before + 1
    assert [p["Arn"] for p in iam.list_saml_providers()["SAMLProviderList"]] == [arn]

    dated = metadata("2031-01-02T03:04:05Z")
    assert iam.update_saml_provider(SAMLProviderArn=arn, SAMLMetadataDocument=dated)["SAMLProviderArn"] == arn
    got = iam.get_saml_provider(SAMLProviderArn=arn)
    assert got["SAMLMetadataDocument"] == dated and got["ValidUntil"].isoformat().startswith("2031-01-02T03:04:05")
    iam.tag_saml_provider(SAMLProviderArn=arn, Tags=[{"Key": "team", "Value": "it"}])
    assert iam.list_saml_provider_tags(SAMLProviderArn=arn)["Tags"] == [{"Key": "team", "Value": "it"}]
    iam.untag_saml_provider(SAMLProviderArn=arn, TagKeys=["team"])

    iam.delete_saml_provider(SAMLProviderArn=arn)
    for call in (iam.get_saml_provider, iam.delete_saml_provider):
        with expect_error("NoSuchEntity", 404) as e:
            call(SAMLProviderArn=arn)
        assert e.message == f"Manifest not found for arn {arn}"


def test_metadata_is_checked(iam, uniq):
    not_saml = "<html>" + "x" * 1000 + "</html>"
    no_idp = '<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x">' + " " * 1000 + "</EntityDescriptor>"
    bad_cert = metadata().replace("<ds:X509Certificate>", "<ds:X509Certificate>AAAA")
    for doc in (not_saml, no_idp, bad_cert):
        with expect_error("InvalidInput", 400) as e:
            iam.create_saml_provider(Name=uniq("saml"), SAMLMetadataDocument=doc)
        assert e.message == "Could not parse metadata"
