"""A SAML 2.0 identity provider of the tests' own: an RSA key and a self-signed certificate
made per run, its metadata document, and signed SAML responses (XML-DSig by signxml, which
is independent of Portcullis's verifier) carrying the attributes AWS reads. The knobs
let a test forge, expire, re-target or wrap a response."""

from __future__ import annotations

import base64
import copy
import datetime
import secrets

from cryptography.hazmat.primitives import serialization
from lxml import etree
from signxml import XMLSigner, methods

from compat_helpers import self_signed

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
DS = "http://www.w3.org/2000/09/xmldsig#"
AWS_SAML = "https://signin.aws.amazon.com/saml"
ROLE_ATTR = "https://aws.amazon.com/SAML/Attributes/Role"
SESSION_ATTR = "https://aws.amazon.com/SAML/Attributes/RoleSessionName"
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"


def _time(t: datetime.datetime) -> str:
    return t.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _el(parent, ns: str, name: str, text: str | None = None, **attrs):
    e = etree.SubElement(parent, f"{{{ns}}}{name}", {k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        e.text = text
    return e


class IdP:
    def __init__(self, entity_id: str = "https://idp.example.test/saml"):
        self.entity_id = entity_id
        self.cert, self.key = self_signed("idp.example.test", days=365)

    def metadata(self, cert=None) -> str:
        der = base64.b64encode((cert or self.cert).public_bytes(serialization.Encoding.DER)).decode()
        return (f'<?xml version="1.0"?>\n<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
                f'xmlns:ds="{DS}" entityID="{self.entity_id}">'
                '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
                f'<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{der}'
                '</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>'
                '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" '
                'Location="https://idp.example.test/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>')

    def response_xml(self, roles: list[str], *, subject: str = "alice@example.test", subject_format: str = PERSISTENT,
                     session_name: str | None = "alice", recipient: str = AWS_SAML, audience: str = AWS_SAML,
                     issuer: str | None = None, lifetime: int = 300, issued_ago: int = 0,
                     attributes: dict[str, list[str]] | None = None, sign_assertion: bool = True,
                     sign_response: bool = False, key=None, cert=None, now: int | None = None) -> etree._Element:
        """A signed response naming `roles` ("ROLE_ARN,PROVIDER_ARN"); `now` is the server's
        clock (Unix seconds), as the tests may have moved it."""
        now = (datetime.datetime.fromtimestamp(now, datetime.timezone.utc) if now is not None
               else datetime.datetime.now(datetime.timezone.utc)) - datetime.timedelta(seconds=issued_ago)
        until = _time(now + datetime.timedelta(seconds=lifetime))
        issuer = issuer or self.entity_id
        response = etree.Element(f"{{{SAMLP}}}Response", {"ID": "_" + secrets.token_hex(16), "Version": "2.0",
                                                          "IssueInstant": _time(now), "Destination": recipient},
                                 nsmap={"samlp": SAMLP, "saml": SAML, "ds": DS})
        _el(response, SAML, "Issuer", issuer)
        status = _el(response, SAMLP, "Status")
        _el(status, SAMLP, "StatusCode", Value="urn:oasis:names:tc:SAML:2.0:status:Success")
        assertion = etree.Element(f"{{{SAML}}}Assertion", {"ID": "_" + secrets.token_hex(16), "Version": "2.0",
                                                          "IssueInstant": _time(now)}, nsmap={"saml": SAML, "ds": DS})
        _el(assertion, SAML, "Issuer", issuer)
        if sign_assertion:
            _el(assertion, DS, "Signature", Id="placeholder")
        subj = _el(assertion, SAML, "Subject")
        _el(subj, SAML, "NameID", subject, Format=subject_format)
        confirmation = _el(subj, SAML, "SubjectConfirmation", Method="urn:oasis:names:tc:SAML:2.0:cm:bearer")
        _el(confirmation, SAML, "SubjectConfirmationData", NotOnOrAfter=until, Recipient=recipient)
        conditions = _el(assertion, SAML, "Conditions", NotBefore=_time(now - datetime.timedelta(seconds=5)), NotOnOrAfter=until)
        _el(_el(conditions, SAML, "AudienceRestriction"), SAML, "Audience", audience)
        _el(assertion, SAML, "AuthnStatement", AuthnInstant=_time(now), SessionIndex="_" + secrets.token_hex(8))
        statement = _el(assertion, SAML, "AttributeStatement")
        attrs: dict[str, list[str]] = {ROLE_ATTR: roles}
        if session_name is not None:
            attrs[SESSION_ATTR] = [session_name]
        attrs.update(attributes or {})
        for name, values in attrs.items():
            a = _el(statement, SAML, "Attribute", Name=name)
            for v in values:
                _el(a, SAML, "AttributeValue", v)
        key, cert = key or self.key, cert or self.cert
        pem_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        pem_cert = cert.public_bytes(serialization.Encoding.PEM)
        signer = XMLSigner(method=methods.enveloped, signature_algorithm="rsa-sha256", digest_algorithm="sha256", c14n_algorithm=EXC_C14N)
        if sign_assertion:
            assertion = signer.sign(assertion, key=pem_key, cert=pem_cert, reference_uri=assertion.get("ID"))
        response.append(assertion)
        if sign_response:
            _el(response, DS, "Signature", Id="placeholder")
            response.insert(1, response[-1])
            response = signer.sign(response, key=pem_key, cert=pem_cert, reference_uri=response.get("ID"))
        return response

    def response(self, roles: list[str], **kw) -> str:
        return encode(self.response_xml(roles, **kw))


def encode(element) -> str:
    return base64.b64encode(etree.tostring(element)).decode()


def wrapped(signed: etree._Element, evil_subject: str = "mallory") -> str:
    """Signature wrapping: the genuine signed assertion is moved under an Extensions element
    and a forged copy (another subject, no valid signature of its own) takes its place."""
    response = copy.deepcopy(signed)
    genuine = response.find(f"{{{SAML}}}Assertion")
    forged = copy.deepcopy(genuine)
    forged.set("ID", "_" + secrets.token_hex(16))
    forged.find(f"{{{SAML}}}Subject/{{{SAML}}}NameID").text = evil_subject
    response.remove(genuine)
    extensions = etree.Element(f"{{{SAMLP}}}Extensions")
    extensions.append(genuine)
    response.insert(1, extensions)
    response.append(forged)
    return encode(response)


XENC = "http://www.w3.org/2001/04/xmlenc#"
XENC11 = "http://www.w3.org/2009/xmlenc11#"


def encrypt_assertion(response, sp_certificate) -> None:
    """Replaces the response's Assertion by an EncryptedAssertion for the service
    provider's certificate, as IdPs do for encrypted assertions: AES-256-GCM for the
    assertion, its key wrapped with RSA-OAEP (SHA-256, MGF1 with SHA-256) for the SP."""
    import os

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    assertion = response.find(f"{{{SAML}}}Assertion")
    plain = etree.tostring(assertion)
    key, iv = os.urandom(32), os.urandom(12)
    sealed = iv + AESGCM(key).encrypt(iv, plain, None)
    wrapped_key = sp_certificate.public_key().encrypt(
        key, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
    encrypted = etree.Element(f"{{{SAML}}}EncryptedAssertion")
    data = _el(encrypted, XENC, "EncryptedData", Type=f"{XENC}Element")
    _el(data, XENC, "EncryptionMethod", Algorithm=f"{XENC11}aes256-gcm")
    key_info = _el(data, DS, "KeyInfo")
    enc_key = _el(key_info, XENC, "EncryptedKey")
    method = _el(enc_key, XENC, "EncryptionMethod", Algorithm=f"{XENC11}rsa-oaep")
    _el(method, DS, "DigestMethod", Algorithm="http://www.w3.org/2001/04/xmlenc#sha256")
    _el(method, XENC11, "MGF", Algorithm="http://www.w3.org/2009/xmlenc11#mgf1sha256")
    _el(_el(enc_key, XENC, "CipherData"), XENC, "CipherValue", base64.b64encode(wrapped_key).decode())
    _el(_el(data, XENC, "CipherData"), XENC, "CipherValue", base64.b64encode(sealed).decode())
    response.replace(assertion, encrypted)
