"""The first tutorial's sign-in, end to end with boto3 and HTTP: John of the Admins group
gets a one-time password, signs in to the access portal and chooses a new password, takes
access keys for AdministratorAccess in a member account, and approves the device
authorization that boto3's sso-oidc starts; the portal API (sso) then lists his accounts and
roles and issues role credentials that STS knows as
assumed-role/AWSReservedSSO_AdministratorAccess_<hex>/John. Refresh tokens, logout, and
botocore's own SSO credential provider with a profile and its token cache work too."""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import subprocess
import sys
import time

import boto3
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from compat_helpers import REGION, expect_error, unique_name
from conftest import start_server
from test_organizations import Org, client

NEW_PASSWORD = "Tutorial-Passw0rd!"


def one_time_password(srv, store, user_id):
    req = AWSRequest(method="POST", url=f"{srv.endpoint}/_portcullis/identity-center/one-time-password",
                     data=json.dumps({"IdentityStoreId": store, "UserId": user_id}), headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(srv.admin_key_id, srv.admin_secret), "iam", REGION).add_auth(req)
    p = req.prepare()
    r = requests.post(p.url, data=p.body, headers=dict(p.headers.items()), timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


class Tutorial:
    def __init__(self, srv):
        self.org = Org(srv)
        self.srv = srv
        admin = client(srv, "sso-admin")
        ids = client(srv, "identitystore")
        self.instance = admin.create_instance(Name="tutorial")["InstanceArn"]
        self.store = admin.describe_instance(InstanceArn=self.instance)["IdentityStoreId"]
        self.account_id = self.org.create_account("sandbox")
        self.user_id = ids.create_user(IdentityStoreId=self.store, UserName="John", DisplayName="John Doe",
                                       Name={"GivenName": "John", "FamilyName": "Doe"},
                                       Emails=[{"Value": "john@example.com", "Primary": True}])["UserId"]
        group = ids.create_group(IdentityStoreId=self.store, DisplayName="Admins")["GroupId"]
        ids.create_group_membership(IdentityStoreId=self.store, GroupId=group, MemberId={"UserId": self.user_id})
        ps = admin.create_permission_set(InstanceArn=self.instance, Name="AdministratorAccess", SessionDuration="PT1H")["PermissionSet"]["PermissionSetArn"]
        admin.attach_managed_policy_to_permission_set(InstanceArn=self.instance, PermissionSetArn=ps, ManagedPolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
        admin.create_account_assignment(InstanceArn=self.instance, TargetId=self.account_id, TargetType="AWS_ACCOUNT", PermissionSetArn=ps, PrincipalType="GROUP", PrincipalId=group)
        otp = one_time_password(srv, self.store, self.user_id)
        self.password = otp["Password"]
        self.portal_url = otp["PortalUrl"]
        assert self.portal_url.endswith(f"/start/{self.store}")
        # Each test below covers its own step; the MFA requirement at sign-in (Identity
        # Center's default) has a test of its own that turns it on.
        assert signed_post(srv, "/_portcullis/identity-center/mfa-settings", {"IdentityStoreId": self.store, "UsersWithoutMfa": "ALLOW_SIGN_IN"}).status_code == 200
        self.browser = requests.Session()

    def url(self, path=""):
        return f"{self.srv.endpoint}/start/{self.store}{path}"

    def sign_in(self, password, new_password=None, next_=""):
        form = {"user_name": "John", "password": password, "next": next_}
        if new_password:
            form["new_password"] = new_password
        return self.browser.post(self.url("/signin"), data=form, timeout=30)

    def oidc(self):
        return boto3.session.Session().client("sso-oidc", endpoint_url=self.srv.endpoint, region_name=REGION,
                                              config=Config(retries={"mode": "standard", "total_max_attempts": 1}))

    def portal(self):
        return boto3.session.Session().client("sso", endpoint_url=self.srv.endpoint, region_name=REGION,
                                              config=Config(retries={"mode": "standard", "total_max_attempts": 1}))


class Inbox:
    """An SMTP sink on loopback: the messages the server sends."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        import email
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture(scope="module")
def inbox():
    import socket
    from aiosmtpd.controller import Controller
    box = Inbox()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        box.port = s.getsockname()[1]
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def tut(backend, tmp_path_factory, inbox):
    srv = start_server(backend, tmp_path_factory.mktemp(f"portal-{backend}"), extra_args=["--smtp-url", f"smtp://127.0.0.1:{inbox.port}"])
    try:
        yield Tutorial(srv)
    finally:
        srv.teardown()


def approve(tut, verification_uri_complete):
    page = tut.browser.get(verification_uri_complete.replace("http://localhost:", "http://127.0.0.1:"), timeout=30)
    assert page.status_code == 200, page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    code = re.search(r'name="user_code" required value="([^"]*)"', page.text).group(1)
    done = tut.browser.post(tut.url("/device"), data={"csrf": csrf, "user_code": html.unescape(code)}, timeout=30)
    assert 'id="approved"' in done.text, done.text


def test_one_time_password_then_a_new_password(tut):
    page = tut.browser.get(tut.url(), timeout=30)
    assert page.status_code == 200 and "Sign in to the access portal" in page.text
    assert "Invalid username or password." in tut.sign_in("wrong-password").text
    first = tut.sign_in(tut.password)
    assert 'name="new_password"' in first.text, "a one-time password must be changed"
    weak = tut.sign_in(tut.password, "short")
    assert "8 and 64 characters" in weak.text
    done = tut.sign_in(tut.password, NEW_PASSWORD)
    assert done.url.endswith(f"/start/{tut.store}") and "AWS accounts" in done.text, done.text
    assert tut.account_id in done.text and "AdministratorAccess" in done.text
    # The one-time password no longer works; the new one does.
    assert "Invalid username or password." in requests.post(tut.url("/signin"), data={"user_name": "John", "password": tut.password}, timeout=30).text


def test_access_keys_from_the_portal(tut):
    if "AWS accounts" not in tut.browser.get(tut.url(), timeout=30).text:
        tut.sign_in(NEW_PASSWORD)
    page = tut.browser.get(tut.url(f"/credentials?account_id={tut.account_id}&role_name=AdministratorAccess"), timeout=30)
    assert page.status_code == 200, page.text
    key = html.unescape(re.search(r'id="access-key-id">([^<]+)<', page.text).group(1))
    secret = html.unescape(re.search(r'id="secret-access-key">([^<]+)<', page.text).group(1))
    token = html.unescape(re.search(r'id="session-token">([^<]+)<', page.text).group(1))
    who = client(tut.srv, "sts", key, secret, token).get_caller_identity()
    assert who["Account"] == tut.account_id
    assert re.fullmatch(rf"arn:aws:sts::{tut.account_id}:assumed-role/AWSReservedSSO_AdministratorAccess_[0-9a-f]{{16}}/John", who["Arn"]), who["Arn"]
    assert who["UserId"].startswith("AROA") and who["UserId"].endswith(":John")
    assert "export AWS_ACCESS_KEY_ID" in page.text


def test_device_authorization_and_the_portal_api(tut):
    if "AWS accounts" not in tut.browser.get(tut.url(), timeout=30).text:
        tut.sign_in(NEW_PASSWORD)
    oidc = tut.oidc()
    reg = oidc.register_client(clientName="botocore-test", clientType="public")
    assert reg["clientSecretExpiresAt"] > reg["clientIdIssuedAt"]
    with expect_error("InvalidClientException", 401):
        oidc.start_device_authorization(clientId=reg["clientId"], clientSecret="wrong", startUrl=tut.portal_url)
    start = oidc.start_device_authorization(clientId=reg["clientId"], clientSecret=reg["clientSecret"], startUrl=tut.portal_url)
    assert re.fullmatch(r"[A-Z]{4}-[A-Z]{4}", start["userCode"]) and start["expiresIn"] == 600 and start["interval"] == 1
    grant = dict(clientId=reg["clientId"], clientSecret=reg["clientSecret"], grantType="urn:ietf:params:oauth:grant-type:device_code", deviceCode=start["deviceCode"])
    with pytest.raises(oidc.exceptions.AuthorizationPendingException) as pending:
        oidc.create_token(**grant)
    assert pending.value.response["error"] == "authorization_pending"
    approve(tut, start["verificationUriComplete"])
    token = oidc.create_token(**grant)
    assert token["tokenType"] == "Bearer" and token["expiresIn"] > 3600 and token["refreshToken"]
    with pytest.raises(oidc.exceptions.InvalidGrantException):
        oidc.create_token(**grant)  # a device code is redeemed once

    portal = tut.portal()
    accounts = portal.list_accounts(accessToken=token["accessToken"])["accountList"]
    assert accounts == [{"accountId": tut.account_id, "accountName": "sandbox", "emailAddress": "sandbox@example.com"}]
    roles = portal.list_account_roles(accessToken=token["accessToken"], accountId=tut.account_id)["roleList"]
    assert roles == [{"roleName": "AdministratorAccess", "accountId": tut.account_id}]
    creds = portal.get_role_credentials(accessToken=token["accessToken"], accountId=tut.account_id, roleName="AdministratorAccess")["roleCredentials"]
    assert 3500 <= creds["expiration"] / 1000 - time.time() <= 3700, "PT1H, in epoch milliseconds"
    who = client(tut.srv, "sts", creds["accessKeyId"], creds["secretAccessKey"], creds["sessionToken"]).get_caller_identity()
    assert who["Arn"].endswith("/John") and ":assumed-role/AWSReservedSSO_AdministratorAccess_" in who["Arn"]
    with pytest.raises(portal.exceptions.ResourceNotFoundException):
        portal.get_role_credentials(accessToken=token["accessToken"], accountId=tut.org.srv.account_id, roleName="AdministratorAccess")

    refreshed = oidc.create_token(clientId=reg["clientId"], clientSecret=reg["clientSecret"], grantType="refresh_token", refreshToken=token["refreshToken"])
    assert refreshed["accessToken"] != token["accessToken"]
    portal.logout(accessToken=token["accessToken"])
    with pytest.raises(portal.exceptions.UnauthorizedException):
        portal.list_accounts(accessToken=token["accessToken"])
    assert portal.list_accounts(accessToken=refreshed["accessToken"])["accountList"][0]["accountId"] == tut.account_id


def test_botocore_sso_profile_with_the_token_cache(tut, tmp_path):
    """botocore's SSO credential provider, as a profile with sso_session uses it."""
    if "AWS accounts" not in tut.browser.get(tut.url(), timeout=30).text:
        tut.sign_in(NEW_PASSWORD)
    oidc = tut.oidc()
    reg = oidc.register_client(clientName="cache-test", clientType="public")
    start = oidc.start_device_authorization(clientId=reg["clientId"], clientSecret=reg["clientSecret"], startUrl=tut.portal_url)
    approve(tut, start["verificationUriComplete"])
    token = oidc.create_token(clientId=reg["clientId"], clientSecret=reg["clientSecret"], grantType="urn:ietf:params:oauth:grant-type:device_code", deviceCode=start["deviceCode"])
    home = tmp_path / "home"
    cache = home / ".aws" / "sso" / "cache"
    cache.mkdir(parents=True)
    session_name = "tutorial"
    expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    (cache / f"{hashlib.sha1(session_name.encode()).hexdigest()}.json").write_text(json.dumps({
        "startUrl": tut.portal_url, "region": REGION, "accessToken": token["accessToken"], "expiresAt": expires,
        "clientId": reg["clientId"], "clientSecret": reg["clientSecret"], "refreshToken": token["refreshToken"],
        "registrationExpiresAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(reg["clientSecretExpiresAt"])),
    }))
    config = home / "config"
    config.write_text(
        f"[profile john]\nsso_session = {session_name}\nsso_account_id = {tut.account_id}\nsso_role_name = AdministratorAccess\nregion = {REGION}\n\n"
        f"[sso-session {session_name}]\nsso_start_url = {tut.portal_url}\nsso_region = {REGION}\nsso_registration_scopes = sso:account:access\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=str(home), AWS_CONFIG_FILE=str(config), AWS_SHARED_CREDENTIALS_FILE=str(home / "credentials"),
               AWS_ENDPOINT_URL_SSO=tut.srv.endpoint, AWS_ENDPOINT_URL_SSO_OIDC=tut.srv.endpoint, AWS_ENDPOINT_URL_STS=tut.srv.endpoint)
    script = "import boto3; print(boto3.Session(profile_name='john').client('sts').get_caller_identity()['Arn'])"
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().startswith(f"arn:aws:sts::{tut.account_id}:assumed-role/AWSReservedSSO_AdministratorAccess_") and out.stdout.strip().endswith("/John")


def test_portcullis_sso_login_writes_the_token_cache(tut, tmp_path):
    """`portcullis sso login --profile john`: the device flow from the command line, then
    boto3 with the profile alone."""
    from conftest import portcullis_bin
    if "AWS accounts" not in tut.browser.get(tut.url(), timeout=30).text:
        tut.sign_in(NEW_PASSWORD)
    home = tmp_path / "home"
    home.mkdir()
    config = home / "config"
    config.write_text(
        f"[profile john]\nsso_session = cli\nsso_account_id = {tut.account_id}\nsso_role_name = AdministratorAccess\nregion = {REGION}\n\n"
        f"[sso-session cli]\nsso_start_url = {tut.portal_url}\nsso_region = {REGION}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=str(home), AWS_CONFIG_FILE=str(config), AWS_SHARED_CREDENTIALS_FILE=str(home / "credentials"),
               AWS_ENDPOINT_URL_SSO=tut.srv.endpoint, AWS_ENDPOINT_URL_SSO_OIDC=tut.srv.endpoint, AWS_ENDPOINT_URL_STS=tut.srv.endpoint)
    proc = subprocess.Popen([str(portcullis_bin()), "sso", "login", "--profile", "john", "--no-browser"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = None
        for _ in range(20):
            line = proc.stdout.readline()
            if "/device?user_code=" in line:
                url = line.strip()
                break
        assert url, "portcullis sso login printed no verification URL"
        approve(tut, url)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Successfully signed in" in out
    cached = list((home / ".aws" / "sso" / "cache").glob("*.json"))
    assert [p.name for p in cached] == [f"{hashlib.sha1(b'cli').hexdigest()}.json"]
    assert oct(cached[0].stat().st_mode & 0o777) == "0o600"
    script = "import boto3; print(boto3.Session(profile_name='john').client('sts').get_caller_identity()['Arn'])"
    who = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert who.returncode == 0, who.stderr
    assert who.stdout.strip().endswith("/John") and f"::{tut.account_id}:assumed-role/AWSReservedSSO_AdministratorAccess_" in who.stdout


def signed_post(srv, path, body):
    req = AWSRequest(method="POST", url=f"{srv.endpoint}{path}", data=json.dumps(body), headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials(srv.admin_key_id, srv.admin_secret), "iam", REGION).add_auth(req)
    p = req.prepare()
    return requests.post(p.url, data=p.body, headers=dict(p.headers.items()), timeout=30)


def test_invitation_by_email(tut, inbox):
    ids = client(tut.srv, "identitystore")
    name = unique_name("mary")
    user = ids.create_user(IdentityStoreId=tut.store, UserName=name, DisplayName="Mary Major", Name={"GivenName": "Mary", "FamilyName": "Major"},
                           Emails=[{"Value": f"{name}@example.com", "Primary": True}])["UserId"]
    r = signed_post(tut.srv, "/_portcullis/identity-center/invitation", {"IdentityStoreId": tut.store, "UserId": user})
    assert r.status_code == 200, r.text
    assert r.json()["SentTo"] == f"{name}@example.com"
    for _ in range(50):
        if any(m["To"] == f"{name}@example.com" for m in inbox.messages):
            break
        time.sleep(0.1)
    message = [m for m in inbox.messages if m["To"] == f"{name}@example.com"][-1]
    assert message["Subject"] == "Invitation to join AWS IAM Identity Center"
    text = message.get_payload(decode=True).decode()
    assert f"Your username: {name}" in text and tut.portal_url in text and "seven days" in text
    link = re.search(r"(http://\S+/invitation\?token=\S+)", text).group(1).replace("http://localhost:", "http://127.0.0.1:")
    browser = requests.Session()
    page = browser.get(link, timeout=30)
    token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
    form = {"token": html.unescape(token), "password": "Mary-Passw0rd!", "confirm": "Mary-Passw0rd!"}
    weak = browser.post(tut.url("/invitation"), data={**form, "password": "weak", "confirm": "weak"}, timeout=30)
    assert "8 and 64 characters" in weak.text
    done = browser.post(tut.url("/invitation"), data=form, timeout=30)
    assert "AWS accounts" in done.text and name in done.text
    # The invitation works once; the password signs in.
    again = browser.post(tut.url("/invitation"), data=form, timeout=30)
    assert "not valid or has expired" in again.text
    signed = requests.post(tut.url("/signin"), data={"user_name": name, "password": "Mary-Passw0rd!"}, timeout=30)
    assert "AWS accounts" in signed.text


def test_mfa_for_portal_users(tut):
    import pyotp
    ids = client(tut.srv, "identitystore")
    name = unique_name("mfa")
    user = ids.create_user(IdentityStoreId=tut.store, UserName=name, DisplayName="Mfa User", Name={"GivenName": "M", "FamilyName": "U"})["UserId"]
    otp = one_time_password(tut.srv, tut.store, user)["Password"]
    browser = requests.Session()
    home = browser.post(tut.url("/signin"), data={"user_name": name, "password": otp, "new_password": "Mfa-Passw0rd!1"}, timeout=30)
    assert 'id="register-mfa"' in home.text
    setup = browser.get(tut.url("/mfa"), timeout=30)
    secret = re.search(r'id="secret">([A-Z2-7]+)<', setup.text).group(1)
    assert "data:image/png;base64," in setup.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', setup.text).group(1)
    totp = pyotp.TOTP(secret)
    wrong = browser.post(tut.url("/mfa"), data={"csrf": csrf, "code": "000000" if totp.now() != "000000" else "111111"}, timeout=30)
    assert "not valid" in wrong.text
    browser.get(tut.url("/mfa"), timeout=30)  # a new secret replaces the unconfirmed one
    setup = browser.get(tut.url("/mfa"), timeout=30)
    secret = re.search(r'id="secret">([A-Z2-7]+)<', setup.text).group(1)
    totp = pyotp.TOTP(secret)
    used = totp.now()
    done = browser.post(tut.url("/mfa"), data={"csrf": csrf, "code": used}, timeout=30)
    assert 'id="mfa-registered"' in done.text, done.text

    form = {"user_name": name, "password": "Mfa-Passw0rd!1"}
    asked = requests.post(tut.url("/signin"), data=form, timeout=30)
    assert 'name="mfa_code"' in asked.text and "AWS accounts" not in asked.text
    replayed = requests.post(tut.url("/signin"), data={**form, "mfa_code": used}, timeout=30)
    assert "not valid" in replayed.text, "a code is accepted once"
    # The next code (in the next 30-second step) signs in.
    code = totp.at(time.time() + 30)
    signed = requests.post(tut.url("/signin"), data={**form, "mfa_code": code}, timeout=30)
    assert "AWS accounts" in signed.text, signed.text


def test_the_portals_management_console_link(tut):
    browser = requests.Session()
    browser.headers["Accept"] = "text/html"
    home = browser.post(tut.url("/signin"), data={"user_name": "John", "password": NEW_PASSWORD}, timeout=30)
    if 'name="mfa_code"' in home.text or "Invalid" in home.text:
        pytest.skip("John's password was not changed by the earlier test of this module")
    csrf = re.search(r'name="csrf" value="([^"]+)"', home.text).group(1)
    console = browser.post(tut.url("/console"), data={"csrf": csrf, "account_id": tut.account_id, "role_name": "AdministratorAccess"}, timeout=30)
    assert console.status_code == 200 and console.url.endswith("/console"), console.url
    page = console.text
    assert tut.account_id in page and "AWSReservedSSO_AdministratorAccess_" in page and "/John" in page, page[:3000]
    # The console acts as the role: its pages list the member account's roles.
    roles = browser.get(f"{tut.srv.endpoint}/console/roles", timeout=30).text
    assert "OrganizationAccountAccessRole" in roles
    bad = browser.post(tut.url("/console"), data={"csrf": "forged", "account_id": tut.account_id, "role_name": "AdministratorAccess"}, timeout=30)
    assert bad.status_code == 403


def test_users_without_mfa_register_one_first_or_are_blocked(tut):
    import pyotp
    settings = lambda value: signed_post(tut.srv, "/_portcullis/identity-center/mfa-settings", {"IdentityStoreId": tut.store, "UsersWithoutMfa": value})
    bad = settings("SOMETIMES")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "ValidationException", bad.text
    ids = client(tut.srv, "identitystore")
    name = unique_name("newbie")
    user = ids.create_user(IdentityStoreId=tut.store, UserName=name, DisplayName="New User", Name={"GivenName": "N", "FamilyName": "U"})["UserId"]
    group = ids.get_group_id(IdentityStoreId=tut.store, AlternateIdentifier={"UniqueAttribute": {"AttributePath": "displayName", "AttributeValue": "Admins"}})["GroupId"]
    ids.create_group_membership(IdentityStoreId=tut.store, GroupId=group, MemberId={"UserId": user})
    otp = one_time_password(tut.srv, tut.store, user)["Password"]
    try:
        assert settings("REQUIRE_REGISTRATION").json() == {"UsersWithoutMfa": "REQUIRE_REGISTRATION"}
        browser = requests.Session()
        first = browser.post(tut.url("/signin"), data={"user_name": name, "password": otp, "new_password": "Newbie-Passw0rd!"}, timeout=30)
        assert first.url.endswith(f"/start/{tut.store}/mfa") and "Register an MFA device" in first.text, first.url
        for path in ("", f"/credentials?account_id={tut.account_id}&role_name=AdministratorAccess", "/device?user_code=ABCD-EFGH"):
            page = browser.get(tut.url(path), timeout=30, allow_redirects=False)
            assert page.status_code in (302, 303) and page.headers["Location"] == f"/start/{tut.store}/mfa", (path, page.status_code)
        # The session's token does not reach the portal API either.
        token = browser.cookies.get("portcullis-portal")
        with expect_error("UnauthorizedException", 401):
            tut.portal().get_role_credentials(accessToken=token, accountId=tut.account_id, roleName="AdministratorAccess")

        setup = browser.get(tut.url("/mfa"), timeout=30)
        secret = re.search(r'id="secret">([A-Z2-7]+)<', setup.text).group(1)
        csrf = re.search(r'name="csrf" value="([^"]+)"', setup.text).group(1)
        done = browser.post(tut.url("/mfa"), data={"csrf": csrf, "code": pyotp.TOTP(secret).now()}, timeout=30)
        assert 'id="mfa-registered"' in done.text
        assert "AWS accounts" in browser.get(tut.url(), timeout=30).text
        creds = tut.portal().get_role_credentials(accessToken=token, accountId=tut.account_id, roleName="AdministratorAccess")["roleCredentials"]
        assert creds["accessKeyId"].startswith("ASIA")

        # Blocking: a user without a device cannot sign in; one with a device can.
        assert settings("BLOCK_SIGN_IN").status_code == 200
        other = unique_name("blocked")
        other_id = ids.create_user(IdentityStoreId=tut.store, UserName=other, DisplayName="Blocked User", Name={"GivenName": "B", "FamilyName": "U"})["UserId"]
        other_otp = one_time_password(tut.srv, tut.store, other_id)["Password"]
        blocked = requests.post(tut.url("/signin"), data={"user_name": other, "password": other_otp, "new_password": "Blocked-Passw0rd!"}, timeout=30)
        assert "requires an MFA device" in blocked.text and "AWS accounts" not in blocked.text
        asked = requests.post(tut.url("/signin"), data={"user_name": name, "password": "Newbie-Passw0rd!"}, timeout=30)
        assert 'name="mfa_code"' in asked.text
    finally:
        assert settings("ALLOW_SIGN_IN").status_code == 200


def test_portal_sign_ins_and_portal_calls_are_in_the_audit_trail(tut):
    """Identity Center users' sign-ins to the access portal and their calls of the portal
    and OIDC APIs are CloudTrail events of the account that owns the identity store, with
    an `IdentityCenterUser` identity and the tokens hidden."""
    if "AWS accounts" not in tut.browser.get(tut.url(), timeout=30).text:
        tut.sign_in(NEW_PASSWORD)
    # A refused password, then a sign-in.
    wrong = requests.Session().post(tut.url("/signin"), data={"user_name": "John", "password": "not-his-password", "next": ""}, timeout=30)
    assert "Invalid username or password." in wrong.text
    fresh = requests.Session()
    assert "AWS accounts" in fresh.post(tut.url("/signin"), data={"user_name": "John", "password": NEW_PASSWORD, "next": ""}, timeout=30).text

    oidc = tut.oidc()
    reg = oidc.register_client(clientName="audit-test", clientType="public")
    start = oidc.start_device_authorization(clientId=reg["clientId"], clientSecret=reg["clientSecret"], startUrl=tut.portal_url)
    approve(tut, start["verificationUriComplete"])
    token = oidc.create_token(clientId=reg["clientId"], clientSecret=reg["clientSecret"], grantType="urn:ietf:params:oauth:grant-type:device_code", deviceCode=start["deviceCode"])
    portal = tut.portal()
    portal.list_accounts(accessToken=token["accessToken"])
    with pytest.raises(portal.exceptions.ResourceNotFoundException):
        portal.get_role_credentials(accessToken=token["accessToken"], accountId=tut.srv.account_id, roleName="AdministratorAccess")
    portal.logout(accessToken=token["accessToken"])

    ct = client(tut.srv, "cloudtrail")

    def events(source):
        found = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventSource", "AttributeValue": source}], MaxResults=50)["Events"]
        return [json.loads(e["CloudTrailEvent"]) for e in found]

    identity_store_arn = f"arn:aws:identitystore::{tut.srv.account_id}:identitystore/{tut.store}"
    sign_ins = events("signin.amazonaws.com")
    ok = next(e for e in sign_ins if e["eventName"] == "UserAuthentication")
    assert ok["eventType"] == "AwsServiceEvent" and ok["serviceEventDetails"] == {"UserAuthentication": "Success"}
    assert ok["userIdentity"] == {"type": "IdentityCenterUser", "accountId": tut.srv.account_id, "onBehalfOf": {"userId": tut.user_id, "identityStoreArn": identity_store_arn}}
    assert ok["recipientAccountId"] == tut.srv.account_id and ok["sourceIPAddress"] == "127.0.0.1"
    failed = next(e for e in sign_ins if e["eventName"] == "CredentialVerification")
    assert failed["serviceEventDetails"] == {"CredentialVerification": "Failure"}
    assert "not-his-password" not in json.dumps(sign_ins)

    calls = {}
    for e in events("sso.amazonaws.com"):  # newest first: this test's calls
        calls.setdefault(e["eventName"], e)
    assert {"ListAccounts", "GetRoleCredentials", "Logout"} <= set(calls), sorted(calls)
    assert calls["ListAccounts"]["userIdentity"]["onBehalfOf"]["userId"] == tut.user_id and calls["ListAccounts"]["readOnly"] is True
    assert calls["ListAccounts"]["requestParameters"]["accessToken"] == "HIDDEN_DUE_TO_SECURITY_REASONS"
    assert calls["GetRoleCredentials"]["errorCode"] == "ResourceNotFoundException"
    assert calls["Logout"]["readOnly"] is False
    grants = [e for e in events("sso-oauth.amazonaws.com") if e["eventName"] == "CreateToken"]
    assert grants and grants[0]["userIdentity"]["onBehalfOf"]["userId"] == tut.user_id
    text = json.dumps(grants + list(calls.values()))
    for secret in (token["accessToken"], token["refreshToken"], reg["clientSecret"], start["deviceCode"]):
        assert secret not in text, "a token is in the trail"
