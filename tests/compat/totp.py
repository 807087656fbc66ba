"""RFC 6238 TOTP (SHA-1, 6 digits, 30 s), computed the way authenticator apps do."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time


def code(seed_base32: str | bytes, step: int) -> str:
    if isinstance(seed_base32, bytes):
        seed_base32 = seed_base32.decode()
    seed_base32 = seed_base32.strip().upper()
    key = base64.b32decode(seed_base32 + "=" * (-len(seed_base32) % 8))
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def current_step() -> int:
    return int(time.time()) // 30
