"""Server certificates with boto3: upload with a matching private key (and a chain), the
metadata and ARN, names unique ignoring case, rename, tags, and refusals for a key that
does not match, an unparsable certificate; SetSecurityTokenServicePreferences."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization

from compat_helpers import expect_error, self_signed


def pair():
    cert, key = self_signed("www.example.com", days=90)
    pem_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()).decode()
    return cert.public_bytes(serialization.Encoding.PEM).decode(), pem_key, cert


def test_upload_get_list_rename_and_delete(iam, uniq, account_id, cleanup):
    body, key, cert = pair()
    chain, _, _ = pair()
    name = uniq("cert")
    meta = iam.upload_server_certificate(ServerCertificateName=name, Path="/cloudfront/", CertificateBody=body, PrivateKey=key,
                                         CertificateChain=chain)["ServerCertificateMetadata"]
    cleanup(lambda: iam.delete_server_certificate(ServerCertificateName=meta["ServerCertificateName"]))
    assert meta["Arn"] == f"arn:aws:iam::{account_id}:server-certificate/cloudfront/{name}"
    assert meta["ServerCertificateId"].startswith("ASCA") and meta["Expiration"] == cert.not_valid_after_utc
    with expect_error("EntityAlreadyExists", 409) as e:
        iam.upload_server_certificate(ServerCertificateName=name.upper(), CertificateBody=body, PrivateKey=key)
    assert e.message == f"The Server Certificate with name {name.upper()} already exists."
    got = iam.get_server_certificate(ServerCertificateName=name)["ServerCertificate"]
    assert got["CertificateBody"] == body.strip() and got["CertificateChain"] == chain.strip() and got["Tags"] == []
    assert "PrivateKey" not in got
    listed = iam.list_server_certificates(PathPrefix="/cloudfront/")["ServerCertificateMetadataList"]
    assert [c["ServerCertificateName"] for c in listed] == [name]
    iam.tag_server_certificate(ServerCertificateName=name, Tags=[{"Key": "env", "Value": "prod"}])
    assert iam.list_server_certificate_tags(ServerCertificateName=name)["Tags"] == [{"Key": "env", "Value": "prod"}]
    renamed = uniq("cert")
    iam.update_server_certificate(ServerCertificateName=name, NewServerCertificateName=renamed, NewPath="/")
    meta["ServerCertificateName"] = renamed
    with expect_error("NoSuchEntity", 404) as e:
        iam.get_server_certificate(ServerCertificateName=name)
    assert e.message == f"The Server Certificate with name {name} cannot be found."
    assert iam.get_server_certificate(ServerCertificateName=renamed)["ServerCertificate"]["ServerCertificateMetadata"]["Path"] == "/"


def test_refusals(iam, uniq):
    body, _, _ = pair()
    _, other_key, _ = pair()
    with expect_error("KeyPairMismatch", 400):
        iam.upload_server_certificate(ServerCertificateName=uniq("cert"), CertificateBody=body, PrivateKey=other_key)
    with expect_error("MalformedCertificate", 400):
        iam.upload_server_certificate(ServerCertificateName=uniq("cert"), CertificateBody="not a certificate", PrivateKey=other_key)


def test_sts_preferences_show_in_the_account_summary(server_factory):
    iam = server_factory().client()
    assert iam.get_account_summary()["SummaryMap"]["GlobalEndpointTokenVersion"] == 1
    iam.set_security_token_service_preferences(GlobalEndpointTokenVersion="v2Token")
    assert iam.get_account_summary()["SummaryMap"]["GlobalEndpointTokenVersion"] == 2
