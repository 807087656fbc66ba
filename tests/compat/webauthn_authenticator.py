"""A software WebAuthn authenticator for tests: what a browser and a passkey send the server
(a P-256 key, "none" attestation, CBOR by cbor2, ECDSA by cryptography), with knobs to send
what a broken or hostile one would (another origin, another relying party, no user
verification, a signature counter that goes backwards)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, AT = 0x01, 0x04, 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Authenticator:
    def __init__(self, origin: str):
        self.origin = origin
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(16)
        self.counter = 0
        self.user_handle: bytes | None = None

    def _cose_public_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin or self.origin, "crossOrigin": False}).encode()

    def create(self, options: dict, *, origin: str | None = None, rp_id: str | None = None) -> str:
        """Answers `navigator.credentials.create` for the server's options ({"publicKey": …})."""
        pk = options["publicKey"]
        self.user_handle = unb64url(pk["user"]["id"])
        client_data = self._client_data("webauthn.create", pk["challenge"], origin)
        auth_data = (
            hashlib.sha256((rp_id or pk["rp"]["id"]).encode()).digest()
            + bytes([UP | UV | AT])
            + struct.pack(">I", self.counter)
            + bytes(16)
            + struct.pack(">H", len(self.credential_id))
            + self.credential_id
            + self._cose_public_key()
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return json.dumps({
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "response": {"attestationObject": b64url(attestation), "clientDataJSON": b64url(client_data)},
            "clientExtensionResults": {},
        })

    def get(self, options: dict, *, origin: str | None = None, rp_id: str | None = None,
            user_verified: bool = True, counter: int | None = None) -> str:
        """Answers `navigator.credentials.get`; the counter goes up by one unless told."""
        pk = options["publicKey"]
        self.counter = self.counter + 1 if counter is None else counter
        client_data = self._client_data("webauthn.get", pk["challenge"], origin)
        auth_data = (
            hashlib.sha256((rp_id or pk["rpId"]).encode()).digest()
            + bytes([UP | (UV if user_verified else 0)])
            + struct.pack(">I", self.counter)
        )
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        response = {
            "authenticatorData": b64url(auth_data),
            "clientDataJSON": b64url(client_data),
            "signature": b64url(signature),
        }
        if self.user_handle is not None:
            response["userHandle"] = b64url(self.user_handle)
        return json.dumps({
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "response": response,
            "clientExtensionResults": {},
        })
