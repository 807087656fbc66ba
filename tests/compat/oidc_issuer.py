"""An OpenID Connect issuer of the tests' own: a CA and a server certificate made per run,
the discovery document and JWKS served over HTTPS on loopback, and RS256 tokens signed with
a key made per run (cryptography). Portcullis trusts the CA through --oidc-ca-file."""

from __future__ import annotations

import base64
import datetime
import hashlib
import http.server
import ipaddress
import json
import ssl
import threading
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int_b64(n: int) -> str:
    return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))


def _certificate(subject: str, issuer_name: x509.Name, key, signer, ca: bool, sans=None) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(signer, hashes.SHA256())


class Issuer:
    """Start with `Issuer(workdir).start()`; `url` is the `iss`, `ca_file` the CA to trust."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "key-1"
        self.requests: list[str] = []
        ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Portcullis test OIDC CA")])
        ca_cert = _certificate("Portcullis test OIDC CA", ca_name, ca_key, ca_key, ca=True)
        server_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        sans = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        server_cert = _certificate("localhost", ca_name, server_key, ca_key, ca=False, sans=sans)
        self.ca_file = workdir / "oidc-ca.pem"
        self.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        self._cert_file = workdir / "oidc-server.pem"
        self._cert_file.write_bytes(
            server_cert.public_bytes(serialization.Encoding.PEM)
            + server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        self.thumbprint = hashlib.sha1(ca_cert.public_bytes(serialization.Encoding.DER)).hexdigest()
        self.url = ""
        self._server: http.server.ThreadingHTTPServer | None = None

    def jwks(self) -> dict:
        numbers = self.signing_key.public_key().public_numbers()
        return {"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid, "n": _int_b64(numbers.n), "e": _int_b64(numbers.e)}]}

    def start(self) -> "Issuer":
        issuer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the standard library's name
                issuer.requests.append(self.path)
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": issuer.url, "jwks_uri": f"{issuer.url}/jwks", "id_token_signing_alg_values_supported": ["RS256"]}
                elif self.path == "/jwks":
                    body = issuer.jwks()
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self._cert_file)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.url = f"https://localhost:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def token(self, claims: dict, *, key=None, kid: str | None = "", alg: str = "RS256") -> str:
        """A signed JWT with these claims (`iss` defaults to this issuer)."""
        header = {"alg": alg, "typ": "JWT"}
        kid = self.kid if kid == "" else kid
        if kid is not None:
            header["kid"] = kid
        body = {"iss": self.url, **claims}
        signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(body).encode())}".encode()
        if alg == "none":
            return signing_input.decode() + "."
        signature = (key or self.signing_key).sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input.decode()}.{b64url(signature)}"
