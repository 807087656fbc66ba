"""Passkeys and security keys (WebAuthn) as MFA devices, and recovery codes, through the
console's forms with a software authenticator (webauthn_authenticator.py): what AWS's APIs
then show of the key (ListMFADevices, the credential report, DeleteUser), that a console
session signed in with the key has MFA (Force_MFA stops denying), and that hostile answers
(another origin or relying party, no user verification, an unknown key, a replayed answer,
a cloned key's counter) are refused. The same flow runs in Chromium with its virtual
authenticator in tests/browser/security_keys.test.mjs."""

from __future__ import annotations

import html
import json
import re


import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from compat_helpers import SEED_POLICIES
from test_console import INCORRECT, browser, hidden, root_sign_in, user_sign_in
from webauthn_authenticator import Authenticator


def options_in(page: str) -> dict:
    m = re.search(r'data-options="([^"]*)"', page)
    assert m, f"no WebAuthn options in page:\n{page[:3000]}"

    return json.loads(html.unescape(m.group(1)))


def origin_of(srv) -> str:
    # WebAuthn binds keys to a host name; by default the console's is localhost, any port.
    return srv.endpoint.replace("127.0.0.1", "localhost")


def register_key(srv, s: requests.Session, name: str, auth: Authenticator, **hostile) -> requests.Response:
    page = s.get(f"{srv.endpoint}/console/mfa/assign", timeout=30).text
    r = s.post(f"{srv.endpoint}/console/mfa/assign", timeout=30,
               data={"csrf": hidden(page, "csrf"), "device_name": name, "kind": "key"})
    assert r.status_code == 200, r.text
    return s.post(f"{srv.endpoint}/console/mfa/enable-key", timeout=30,
                  data={"csrf": hidden(r.text, "csrf"), "credential": auth.create(options_in(r.text), **hostile)})


def answer_key(srv, s: requests.Session, page: str, response: str) -> requests.Response:
    return s.post(f"{srv.endpoint}/signin/step/mfa", timeout=30,
                  data={"csrf": hidden(page, "csrf"), "security_key_response": response})


def test_a_users_security_key_is_an_mfa_device_and_its_session_has_mfa(server_factory):
    srv = server_factory()
    admin = srv.client()
    force_mfa = admin.create_policy(PolicyName="Force_MFA", PolicyDocument=(SEED_POLICIES / "Force_MFA.json").read_text())["Policy"]["Arn"]
    admin.create_user(UserName="Kim")
    admin.create_login_profile(UserName="Kim", Password="Kim-password-1!")
    admin.attach_user_policy(UserName="Kim", PolicyArn=force_mfa)
    admin.attach_user_policy(UserName="Kim", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")

    s = browser()
    r = user_sign_in(srv, s, srv.account_id, "Kim", "Kim-password-1!")
    assert r.url.endswith("/console"), r.text
    # Without MFA, Force_MFA denies listing users.
    assert "You are not allowed to list users" in s.get(f"{srv.endpoint}/console/users", timeout=30).text

    key = Authenticator(origin_of(srv))
    r = register_key(srv, s, "kim-key", key)
    assert r.status_code == 200 and "/console/mfa/recovery-codes" in r.url, (r.status_code, r.url, r.text[:2000])
    assert "Passkey or security key registered" in r.text

    # The APIs show it as AWS shows a FIDO security key.
    devices = admin.list_mfa_devices(UserName="Kim")["MFADevices"]
    assert len(devices) == 1 and devices[0]["UserName"] == "Kim"
    serial = devices[0]["SerialNumber"]
    assert re.fullmatch(rf"arn:aws:iam::{srv.account_id}:u2f/user/Kim/kim-key-[A-Z2-7]+", serial), serial
    assert all(d["SerialNumber"] != serial for d in admin.list_virtual_mfa_devices()["VirtualMFADevices"])
    admin.generate_credential_report()
    report = admin.get_credential_report()["Content"].decode().splitlines()
    header = report[0].split(",")
    kim = next(line.split(",") for line in report if line.startswith("Kim,"))
    assert kim[header.index("mfa_active")] == "true"
    with pytest.raises(ClientError) as e:
        admin.delete_user(UserName="Kim")
    assert e.value.response["Error"]["Code"] == "DeleteConflict"
    # The CLI cannot use a security key (as in AWS): GetSessionToken refuses its serial.
    kim_key = admin.create_access_key(UserName="Kim")["AccessKey"]
    sts = boto3.client("sts", endpoint_url=srv.endpoint, region_name="us-east-1",
                       aws_access_key_id=kim_key["AccessKeyId"], aws_secret_access_key=kim_key["SecretAccessKey"])
    with pytest.raises(ClientError) as e:
        sts.get_session_token(SerialNumber=serial, TokenCode="123456")
    assert e.value.response["Error"]["Code"] == "AccessDenied"

    # Signing in now asks for the key (Kim has no app, so no code field), and the session
    # it gives has MFA: Force_MFA no longer denies.
    s = browser()
    r = user_sign_in(srv, s, srv.account_id, "Kim", "Kim-password-1!")
    assert r.status_code == 200 and 'name="mfa_code"' not in r.text and "Use passkey or security key" in r.text, r.text
    r = answer_key(srv, s, r.text, key.get(options_in(r.text)))
    assert r.url.endswith("/console"), r.text
    users = s.get(f"{srv.endpoint}/console/users", timeout=30).text
    assert "You are not allowed to list users" not in users and ">Kim<" in users, users


def test_hostile_answers_are_refused(server_factory):
    srv = server_factory()
    origin = origin_of(srv)
    s = browser()
    assert root_sign_in(srv, s, srv.root_password).url.endswith("/console")

    # A registration made for another site, or for another relying party, is not kept.
    for hostile in ({"origin": "http://evil.example"}, {"rp_id": "evil.example"}):
        r = register_key(srv, s, "root-key", Authenticator(origin), **hostile)
        assert r.status_code == 400 and "was not registered" in r.text, (hostile, r.text[:1500])
    assert "No MFA device is assigned" in s.get(f"{srv.endpoint}/console/security-credentials", timeout=30).text
    key = Authenticator(origin)
    assert "/console/mfa/recovery-codes" in register_key(srv, s, "root-key", key).url
    # The same authenticator cannot be registered twice.
    r = register_key(srv, s, "again", key)
    assert r.status_code == 400 and "was not registered" in r.text

    def sign_in_page() -> tuple[requests.Session, str]:
        b = browser()
        r = root_sign_in(srv, b, srv.root_password)
        assert r.status_code == 200 and "Use passkey or security key" in r.text, r.text
        return b, r.text

    stranger = Authenticator(origin)
    stranger.user_handle = key.user_handle
    cases = {
        "another origin": lambda o: key.get(o, origin="http://evil.example"),
        "another relying party": lambda o: key.get(o, rp_id="evil.example"),
        "no user verification": lambda o: key.get(o, user_verified=False),
        "an unregistered key": lambda o: stranger.get(o),
        "not JSON": lambda o: "{not json",
    }
    for what, answer in cases.items():
        b, page = sign_in_page()
        r = answer_key(srv, b, page, answer(options_in(page)))
        assert r.status_code == 401 and INCORRECT in r.text and "portcullis-session" not in b.cookies, what
        # The step is offered again, with a new challenge.
        assert options_in(r.text)["publicKey"]["challenge"] != options_in(page)["publicKey"]["challenge"], what

    # Five failures: the identity's MFA throttle holds even the right key back for a while.
    b, page = sign_in_page()
    r = answer_key(srv, b, page, key.get(options_in(page)))
    assert r.status_code == 401 and INCORRECT in r.text
    requests.post(f"{srv.endpoint}/_portcullis/clock", json={"advance_seconds": 301}, timeout=10)

    b, page = sign_in_page()
    good = key.get(options_in(page), counter=5)
    assert answer_key(srv, b, page, good).url.endswith("/console")
    # A recorded answer does not sign in again: the next sign-in has another challenge.
    b, page = sign_in_page()
    r = answer_key(srv, b, page, good)
    assert r.status_code == 401 and INCORRECT in r.text
    # A cloned key shows itself by a counter that does not move forward.
    b, page = sign_in_page()
    r = answer_key(srv, b, page, key.get(options_in(page), counter=3))
    assert r.status_code == 401 and INCORRECT in r.text
    b, page = sign_in_page()
    assert answer_key(srv, b, page, key.get(options_in(page), counter=6)).url.endswith("/console")


def test_recovery_codes_replace_a_lost_key_once(server_factory):
    srv = server_factory()
    s = browser()
    assert root_sign_in(srv, s, srv.root_password).url.endswith("/console")
    # No codes without an MFA device.
    page = s.get(f"{srv.endpoint}/console/mfa/recovery-codes", timeout=30).text
    r = s.post(f"{srv.endpoint}/console/mfa/recovery-codes", data={"csrf": hidden(page, "csrf")}, timeout=30)
    assert r.status_code == 400 and "Assign an MFA device first" in r.text
    assert "/console/mfa/recovery-codes" in register_key(srv, s, "root-key", Authenticator(origin_of(srv))).url
    r = s.post(f"{srv.endpoint}/console/mfa/recovery-codes", data={"csrf": hidden(page, "csrf")}, timeout=30)
    codes = re.findall(r"<li><code>([A-Z2-7-]+)</code></li>", r.text)
    assert len(codes) == 10 and len(set(codes)) == 10, r.text

    sign_in = f"{srv.endpoint}/_portcullis/signin"
    base = {"email": "root@example.com", "password": srv.root_password}
    r = requests.post(sign_in, json=base, timeout=30).json()
    assert r["status"] == "MfaRequired" and r["security_key"] is True and r["recovery_codes"] is True and r["mfa_devices"] == [], r
    r = requests.post(sign_in, json={**base, "recovery_code": codes[0].lower().replace("-", " ")}, timeout=30)
    assert r.status_code == 200 and r.json()["status"] == "SignedIn", r.text
    assert r.json()["mfa_authenticated"] is True and r.json()["recovery_codes_left"] == 9
    r = requests.post(sign_in, json={**base, "recovery_code": codes[0]}, timeout=30)
    assert r.status_code == 401 and r.json()["error"]["code"] == "InvalidMfaCode", r.text
    assert "9 of 10 recovery codes unused" in s.get(f"{srv.endpoint}/console/security-credentials", timeout=30).text

    # New codes replace the old ones, after a confirmation.
    r = s.post(f"{srv.endpoint}/console/mfa/recovery-codes", data={"csrf": hidden(page, "csrf"), "replace": "1"}, timeout=30)
    assert "Replace recovery codes" in r.text and "Your 9 unused codes stop working" in r.text
    r = s.post(f"{srv.endpoint}/console/mfa/recovery-codes", timeout=30,
               data={"csrf": hidden(page, "csrf"), "replace": "1", "confirmed": "yes"})
    fresh = re.findall(r"<li><code>([A-Z2-7-]+)</code></li>", r.text)
    assert len(fresh) == 10 and not set(fresh) & set(codes)
    r = requests.post(sign_in, json={**base, "recovery_code": codes[1]}, timeout=30)
    assert r.status_code == 401
    # Wrong codes share the identity's MFA throttle: after five, even a right one waits.
    for _ in range(5):
        requests.post(sign_in, json={**base, "recovery_code": "AAAA-AAAA-AAAA-AAAA"}, timeout=30)
    r = requests.post(sign_in, json={**base, "recovery_code": fresh[0]}, timeout=30)
    assert r.status_code == 429, r.text
    requests.post(f"{srv.endpoint}/_portcullis/clock", json={"advance_seconds": 301}, timeout=10)
    s = browser()
    assert root_sign_in(srv, s, srv.root_password).status_code == 200
    r = requests.post(sign_in, json={**base, "recovery_code": fresh[0]}, timeout=30)
    assert r.json()["status"] == "SignedIn", r.text

    # Removing the last device drops the codes with it.
    s = browser()
    r = root_sign_in(srv, s, srv.root_password)
    r = s.post(f"{srv.endpoint}/signin/step/mfa", data={"csrf": hidden(r.text, "csrf"), "recovery_code": fresh[1]}, timeout=30)
    assert "/console/security-credentials?done=recovery" in r.url and "recovery code" in r.text
    serial = re.search(r"(arn:aws:iam::\d{12}:u2f/root/root-key-[A-Z2-7]+)", r.text).group(1)
    r = s.post(f"{srv.endpoint}/console/mfa/remove", timeout=30,
               data={"csrf": hidden(r.text, "csrf"), "serial": serial, "confirmed": "yes"})
    assert "MFA device removed." in r.text and "No MFA device is assigned" in r.text
    assert "You have no recovery codes" in r.text

