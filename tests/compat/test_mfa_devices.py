"""Virtual MFA devices, checked with implementations that are not ours: codes from pyotp
and oathtool, the QR code decoded by zbarimg back to the otpauth URI."""

from __future__ import annotations

import subprocess
import time
import urllib.parse

import pyotp
import pytest

from compat_helpers import delete_user_fully, expect_error


def oathtool(seed: str, at: int) -> str:
    out = subprocess.run(["oathtool", "--totp", "-b", f"--now=@{at}", seed],
                         capture_output=True, text=True, check=True, timeout=10)
    return out.stdout.strip()


@pytest.fixture
def device(iam, uniq, cleanup):
    """A user and an unassigned virtual MFA device: (user, serial, seed, create response)."""
    user = uniq("mfa")
    cleanup(delete_user_fully, iam, user)
    iam.create_user(UserName=user)
    dev = iam.create_virtual_mfa_device(VirtualMFADeviceName=user, Tags=[{"Key": "team", "Value": "sec"}])["VirtualMFADevice"]

    def remove():
        try:
            iam.deactivate_mfa_device(UserName=user, SerialNumber=dev["SerialNumber"])
        except Exception:
            pass
        iam.delete_virtual_mfa_device(SerialNumber=dev["SerialNumber"])

    cleanup(remove)
    return user, dev["SerialNumber"], dev["Base32StringSeed"].decode(), dev


def test_qr_code_encodes_the_otpauth_uri(tmp_path, device, account_id):
    user, serial, seed, dev = device
    png = tmp_path / "qr.png"
    png.write_bytes(dev["QRCodePNG"])
    out = subprocess.run(["zbarimg", "--quiet", "--raw", str(png)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    uri = out.stdout.strip()
    parsed = urllib.parse.urlparse(uri)
    assert parsed.scheme == "otpauth" and parsed.netloc == "totp"
    assert urllib.parse.unquote(parsed.path) == f"/Portcullis:{user}@{account_id}"
    query = urllib.parse.parse_qs(parsed.query)
    assert query["secret"] == [seed] and query["issuer"] == ["Portcullis"]
    assert len(seed) == 64 and set(seed) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    assert dev["Tags"] == [{"Key": "team", "Value": "sec"}]


def test_enable_with_independent_codes_then_resync_deactivate_delete(iam, device):
    user, serial, seed, _ = device
    now = int(time.time())
    step = now // 30
    code1, code2 = oathtool(seed, (step - 1) * 30), pyotp.TOTP(seed).at(step * 30)
    assert code2 == oathtool(seed, step * 30)
    iam.enable_mfa_device(UserName=user, SerialNumber=serial, AuthenticationCode1=code1, AuthenticationCode2=code2)
    listed = iam.list_mfa_devices(UserName=user)["MFADevices"]
    assert [d["SerialNumber"] for d in listed] == [serial] and listed[0]["UserName"] == user
    got = iam.get_mfa_device(SerialNumber=serial)
    assert got["UserName"] == user and got["SerialNumber"] == serial and "EnableDate" in got
    assigned = iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"]
    mine = [d for d in assigned if d["SerialNumber"] == serial][0]
    assert mine["User"]["UserName"] == user and "Base32StringSeed" not in mine
    assert iam.list_mfa_device_tags(SerialNumber=serial)["Tags"] == [{"Key": "team", "Value": "sec"}]

    # The same codes are not accepted again (replay), even for a resync.
    with expect_error("InvalidAuthenticationCode", 403):
        iam.resync_mfa_device(UserName=user, SerialNumber=serial, AuthenticationCode1=code1, AuthenticationCode2=code2)
    # A device whose clock ran five minutes ahead resyncs.
    ahead = step + 10
    iam.resync_mfa_device(UserName=user, SerialNumber=serial,
                          AuthenticationCode1=pyotp.TOTP(seed).at(ahead * 30),
                          AuthenticationCode2=pyotp.TOTP(seed).at((ahead + 1) * 30))

    # Already in use: cannot be enabled for someone else nor deleted.
    with expect_error("EntityAlreadyExists", 409):
        iam.enable_mfa_device(UserName=user, SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321")
    with expect_error("DeleteConflict", 409):
        iam.delete_virtual_mfa_device(SerialNumber=serial)
    iam.deactivate_mfa_device(UserName=user, SerialNumber=serial)
    assert iam.list_mfa_devices(UserName=user)["MFADevices"] == []
    iam.delete_virtual_mfa_device(SerialNumber=serial)
    with expect_error("NoSuchEntity", 404):
        iam.get_mfa_device(SerialNumber=serial)


def test_wrong_codes(iam, device):
    user, serial, seed, _ = device
    step = int(time.time()) // 30
    good = pyotp.TOTP(seed)
    with expect_error("InvalidAuthenticationCode", 403) as err:
        iam.enable_mfa_device(UserName=user, SerialNumber=serial,
                              AuthenticationCode1=good.at(step * 30), AuthenticationCode2=good.at((step - 1) * 30))
    assert err.message == "Authentication code for device is not valid."
    with expect_error("InvalidAuthenticationCode", 403):
        iam.enable_mfa_device(UserName=user, SerialNumber=serial,
                              AuthenticationCode1=good.at((step - 40) * 30), AuthenticationCode2=good.at((step - 39) * 30))
    with expect_error("NoSuchEntity", 404):
        iam.enable_mfa_device(UserName=user, SerialNumber=serial + "x",
                              AuthenticationCode1="123456", AuthenticationCode2="654321")


def test_repeated_wrong_codes_are_throttled(iam, device):
    user, serial, seed, _ = device
    good = pyotp.TOTP(seed)
    step = int(time.time()) // 30
    for _ in range(5):
        with expect_error("InvalidAuthenticationCode", 403):
            iam.enable_mfa_device(UserName=user, SerialNumber=serial,
                                  AuthenticationCode1="000000", AuthenticationCode2="000001")
    # Now even the right codes are refused for a while.
    with expect_error("AccessDenied", 403) as err:
        iam.enable_mfa_device(UserName=user, SerialNumber=serial,
                              AuthenticationCode1=good.at((step - 1) * 30), AuthenticationCode2=good.at(step * 30))
    assert "too many invalid one-time codes" in err.message
