"""SSH public keys, signing certificates and service-specific credentials with boto3,
against AWS's recorded answers: key and certificate checks, fingerprints and ids, the
per-user quotas, duplicates, one-time passwords, and DeleteUser's conflicts."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from compat_helpers import expect_error, self_signed


def ssh_key(bits: int = 2048):
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    openssh = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return openssh, pem


def certificate(days: int = 30) -> tuple[str, bytes]:
    cert, _ = self_signed("signing", days=days, key=ec.generate_private_key(ec.SECP256R1()))
    return cert.public_bytes(serialization.Encoding.PEM).decode(), cert.public_bytes(serialization.Encoding.DER)


@pytest.fixture
def user(iam, uniq, cleanup):
    name = uniq("creds")
    iam.create_user(UserName=name)
    cleanup(lambda: iam.delete_user(UserName=name))
    return name


def test_ssh_public_keys(iam, user, cleanup):
    openssh, pem = ssh_key()
    body = f"{openssh} someone@laptop"
    k = iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=body)["SSHPublicKey"]
    cleanup(lambda: iam.delete_ssh_public_key(UserName=user, SSHPublicKeyId=k["SSHPublicKeyId"]))
    assert re.fullmatch(r"APKA[A-Z2-7]{16}", k["SSHPublicKeyId"]) and k["Status"] == "Active" and k["SSHPublicKeyBody"] == body
    blob = base64.b64decode(openssh.split()[1])
    assert k["Fingerprint"] == ":".join(f"{b:02x}" for b in hashlib.md5(blob).digest())
    # The same key again, even as PEM, is a duplicate for this user.
    for again in (openssh, pem):
        with expect_error("DuplicateSSHPublicKey", 400) as e:
            iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=again)
        assert e.message == "Duplicate SSH public key uploaded."
    got = iam.get_ssh_public_key(UserName=user, SSHPublicKeyId=k["SSHPublicKeyId"], Encoding="SSH")["SSHPublicKey"]
    assert got["SSHPublicKeyBody"] == openssh, "the comment is not part of the key"
    got = iam.get_ssh_public_key(UserName=user, SSHPublicKeyId=k["SSHPublicKeyId"], Encoding="PEM")["SSHPublicKey"]
    assert got["SSHPublicKeyBody"] == pem
    listed = iam.list_ssh_public_keys(UserName=user)["SSHPublicKeys"]
    assert [set(x) for x in listed] == [{"UserName", "SSHPublicKeyId", "Status", "UploadDate"}]
    iam.update_ssh_public_key(UserName=user, SSHPublicKeyId=k["SSHPublicKeyId"], Status="Inactive")
    assert iam.list_ssh_public_keys(UserName=user)["SSHPublicKeys"][0]["Status"] == "Inactive"
    with expect_error("InvalidInput", 400) as e:
        iam.update_ssh_public_key(UserName=user, SSHPublicKeyId=k["SSHPublicKeyId"], Status="Expired")
    assert e.message == "Operation does not support status Expired"
    with expect_error("DeleteConflict", 409) as e:
        iam.delete_user(UserName=user)
    assert e.message == "Cannot delete entity, must delete SSH public keys first."

    with expect_error("UnrecognizedPublicKeyEncoding", 400) as e:
        iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody="not a key")
    assert e.message == "Invalid public key uploaded."
    with expect_error("InvalidPublicKey", 400) as e:
        iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=ssh_key(1024)[1])
    assert e.message == "Invalid body for public key"
    with expect_error("NoSuchEntity", 404) as e:
        iam.get_ssh_public_key(UserName=user, SSHPublicKeyId="APKAXXXXXXXXXXXXXXXX", Encoding="SSH")
    assert e.message == "The Public Key with id APKAXXXXXXXXXXXXXXXX cannot be found."
    with expect_error("ValidationError", 400):
        iam.get_ssh_public_key(UserName=user, SSHPublicKeyId=k["SSHPublicKeyId"], Encoding="ssh")


def test_five_ssh_keys_per_user(iam, user, cleanup):
    ids = []
    for _ in range(5):
        ids.append(iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=ssh_key()[0])["SSHPublicKey"]["SSHPublicKeyId"])
    for i in ids:
        cleanup(lambda i=i: iam.delete_ssh_public_key(UserName=user, SSHPublicKeyId=i))
    with expect_error("LimitExceeded", 409):
        iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=ssh_key()[0])


def test_signing_certificates(iam, user, uniq, cleanup):
    body, der = certificate()
    c = iam.upload_signing_certificate(UserName=user, CertificateBody=body)["Certificate"]
    cleanup(lambda: iam.delete_signing_certificate(UserName=user, CertificateId=c["CertificateId"]))
    assert c["CertificateId"] == base64.b32encode(hashlib.sha1(der).digest()).decode().rstrip("=")
    assert c["CertificateBody"] == body and c["Status"] == "Active" and c["UserName"] == user
    # The same certificate again is the same one; for another user it is a duplicate.
    assert iam.upload_signing_certificate(UserName=user, CertificateBody=body)["Certificate"]["CertificateId"] == c["CertificateId"]
    other = uniq("creds")
    iam.create_user(UserName=other)
    cleanup(lambda: iam.delete_user(UserName=other))
    with expect_error("DuplicateCertificate", 409) as e:
        iam.upload_signing_certificate(UserName=other, CertificateBody=body)
    assert e.message == "Duplicate certificate uploaded."
    second = iam.upload_signing_certificate(UserName=user, CertificateBody=certificate()[0])["Certificate"]["CertificateId"]
    cleanup(lambda: iam.delete_signing_certificate(UserName=user, CertificateId=second))
    with expect_error("LimitExceeded", 409) as e:
        iam.upload_signing_certificate(UserName=user, CertificateBody=certificate()[0])
    assert e.message == "Cannot exceed quota for CertificatesPerUser: 2"
    with expect_error("MalformedCertificate", 400) as e:
        iam.upload_signing_certificate(UserName=user, CertificateBody="invalid-certificate-body")
    assert e.message == "Certificate invalid-certificate-body is malformed."
    with expect_error("MalformedCertificate", 400):
        iam.upload_signing_certificate(UserName=other, CertificateBody=certificate(days=-1)[0])
    listed = iam.list_signing_certificates(UserName=user)["Certificates"]
    assert sorted(x["CertificateId"] for x in listed) == sorted([c["CertificateId"], second])
    iam.update_signing_certificate(UserName=user, CertificateId=second, Status="Inactive")
    with expect_error("DeleteConflict", 409) as e:
        iam.delete_user(UserName=user)
    assert e.message == "Cannot delete entity, must delete certificates first."
    with expect_error("NoSuchEntity", 404) as e:
        iam.delete_signing_certificate(UserName=user, CertificateId="NONEXISTENTCERTID12345678901")
    assert e.message == "The Certificate with id NONEXISTENTCERTID12345678901 cannot be found."


def test_service_specific_credentials(iam, user, account_id, cleanup):
    c = iam.create_service_specific_credential(UserName=user, ServiceName="codecommit.amazonaws.com")["ServiceSpecificCredential"]
    cleanup(lambda: iam.delete_service_specific_credential(UserName=user, ServiceSpecificCredentialId=c["ServiceSpecificCredentialId"]))
    assert re.fullmatch(r"ACCA[A-Z2-7]{17}", c["ServiceSpecificCredentialId"])
    assert c["ServiceUserName"] == f"{user}-at-{account_id}" and len(c["ServicePassword"]) == 60 and c["Status"] == "Active"
    second = iam.create_service_specific_credential(UserName=user, ServiceName="CodeCommit.amazonaws.com")["ServiceSpecificCredential"]
    cleanup(lambda: iam.delete_service_specific_credential(UserName=user, ServiceSpecificCredentialId=second["ServiceSpecificCredentialId"]))
    assert second["ServiceUserName"] == f"{user}+1-at-{account_id}" and second["ServiceName"] == "codecommit.amazonaws.com"
    with expect_error("LimitExceeded", 409) as e:
        iam.create_service_specific_credential(UserName=user, ServiceName="codecommit.amazonaws.com")
    assert e.message == "Cannot exceed quota for ContextSpecificCredentialsPerUserPerContext: 2"
    with expect_error("NoSuchEntity", 404) as e:
        iam.create_service_specific_credential(UserName=user, ServiceName="lambda.amazonaws.com")
    assert e.message == "No such service lambda.amazonaws.com is supported for Service Specific Credentials"

    listed = iam.list_service_specific_credentials(UserName=user, ServiceName="codecommit.amazonaws.com")["ServiceSpecificCredentials"]
    assert len(listed) == 2 and all("ServicePassword" not in x for x in listed)
    reset = iam.reset_service_specific_credential(UserName=user, ServiceSpecificCredentialId=c["ServiceSpecificCredentialId"])["ServiceSpecificCredential"]
    assert reset["ServicePassword"] != c["ServicePassword"] and reset["CreateDate"] == c["CreateDate"]
    iam.update_service_specific_credential(UserName=user, ServiceSpecificCredentialId=c["ServiceSpecificCredentialId"], Status="Inactive")
    with expect_error("DeleteConflict", 409) as e:
        iam.delete_user(UserName=user)
    assert e.message == "Cannot delete entity, must remove referenced objects first."
    with expect_error("NoSuchEntity", 404) as e:
        iam.delete_service_specific_credential(UserName=user, ServiceSpecificCredentialId="satisfiesregexbutstillinvalid")
    assert e.message == "No such credential satisfiesregexbutstillinvalid exists"

    key = iam.create_service_specific_credential(UserName=user, ServiceName="bedrock.amazonaws.com", CredentialAgeDays=1)["ServiceSpecificCredential"]
    cleanup(lambda: iam.delete_service_specific_credential(UserName=user, ServiceSpecificCredentialId=key["ServiceSpecificCredentialId"]))
    assert key["ServiceCredentialAlias"] == f"{user}-at-{account_id}" and key["ServiceCredentialSecret"].startswith("ABSK")
    assert "ServicePassword" not in key and (key["ExpirationDate"] - key["CreateDate"]).total_seconds() == 86400
