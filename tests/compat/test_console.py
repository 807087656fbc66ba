"""The web console over HTTP, as a browser sends it (forms, cookies, redirects): sign-in as
the root user and as an IAM user through the account's sign-in URL, MFA and forced password
change steps, the dashboard, sign-out, and the browser-facing protections (CSRF tokens,
cookie flags, security headers). The same flows run in headless Chromium in tests/browser.
"""

from __future__ import annotations

import html
import re

import pyotp
import requests

INCORRECT = "Your authentication information is incorrect. Please try again."


def hidden(page: str, name: str) -> str:
    m = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', page)
    assert m, f"no hidden {name} in page:\n{page[:2000]}"
    return html.unescape(m.group(1))


def browser() -> requests.Session:
    s = requests.Session()
    s.headers["Accept"] = "text/html"
    return s


def root_sign_in(srv, s: requests.Session, password: str) -> requests.Response:
    page = s.get(f"{srv.endpoint}/signin?kind=root", timeout=30)
    assert page.status_code == 200 and "Root user email address" in page.text, page.text
    page = s.post(f"{srv.endpoint}/signin/step/root", data={"csrf": hidden(page.text, "csrf"), "email": "root@example.com"}, timeout=30)
    assert page.status_code == 200 and 'name="password"' in page.text, page.text
    return s.post(f"{srv.endpoint}/signin", timeout=30, data={
        "csrf": hidden(page.text, "csrf"), "email": hidden(page.text, "email"), "password": password})


def user_sign_in(srv, s: requests.Session, account: str, user: str, password: str) -> requests.Response:
    page = s.get(f"{srv.endpoint}/signin/{account}", timeout=30)
    assert page.status_code == 200 and "IAM user name" in page.text, page.text
    assert f'value="{account}"' in page.text
    return s.post(f"{srv.endpoint}/signin", timeout=30, data={
        "csrf": hidden(page.text, "csrf"), "account": account, "user_name": user, "password": password})


def test_a_browser_is_sent_to_sign_in_and_the_root_user_reaches_the_dashboard(server_factory):
    srv = server_factory()
    # The first-start banner names the console and the IAM users' sign-in URL.
    assert f"web console: {srv.endpoint}/console  (IAM users sign in at {srv.endpoint}/signin/{srv.account_id})" in srv.log_tail(200)
    s = browser()
    r = s.get(f"{srv.endpoint}/", timeout=30)
    assert r.url.endswith("/signin") and "Root user" in r.text and "IAM user" in r.text, r.url
    # An API request to / is still the API.
    assert "MissingAuthenticationToken" in requests.get(f"{srv.endpoint}/?Action=ListUsers&Version=2010-05-08", timeout=30).text

    wrong = root_sign_in(srv, s, "not-the-password")
    assert wrong.status_code == 401 and INCORRECT in wrong.text
    r = root_sign_in(srv, s, srv.root_password)
    assert r.status_code == 200 and r.url.endswith("/console"), (r.status_code, r.url)
    page = r.text
    assert srv.account_id in page and f"arn:aws:iam::{srv.account_id}:root" in page
    assert f"/signin/{srv.account_id}" in page
    assert "Add MFA for root user" in page and "Apply an IAM password policy" in page
    # The session cookie: HttpOnly, SameSite=Strict, Path=/; a new one at sign-in.
    set_cookie = [h for h in r.history[0].raw.headers.getlist("Set-Cookie") if h.startswith("portcullis-session=")]
    assert set_cookie and "HttpOnly" in set_cookie[0] and "SameSite=Strict" in set_cookie[0] and "Path=/" in set_cookie[0], set_cookie
    first_id = s.cookies["portcullis-session"]
    assert len(first_id) >= 32
    # Every page carries the browser protections.
    for h, v in {"content-security-policy": "frame-ancestors 'none'", "x-content-type-options": "nosniff",
                 "referrer-policy": "same-origin", "cache-control": "no-store"}.items():
        assert v in r.headers.get(h, ""), (h, r.headers.get(h))

    # Sign-out needs the form's CSRF token; without it nothing changes.
    r = s.post(f"{srv.endpoint}/signout", data={"csrf": "forged"}, timeout=30)
    assert r.status_code == 403
    assert s.get(f"{srv.endpoint}/console", timeout=30).url.endswith("/console")
    csrf = hidden(page, "csrf")
    r = s.post(f"{srv.endpoint}/signout", data={"csrf": csrf}, timeout=30)
    assert r.url.endswith("/signin")
    # The old cookie, replayed, is signed out for good.
    replay = browser()
    replay.cookies.set("portcullis-session", first_id)
    assert replay.get(f"{srv.endpoint}/console", timeout=30).url.endswith("/signin")

    # Signing in again gives a new session id.
    r = root_sign_in(srv, s, srv.root_password)
    assert r.url.endswith("/console") and s.cookies["portcullis-session"] != first_id


def test_sign_in_forms_need_their_csrf_token(server_factory):
    srv = server_factory()
    s = browser()
    s.get(f"{srv.endpoint}/signin?kind=iam", timeout=30)
    r = s.post(f"{srv.endpoint}/signin", timeout=30, data={
        "csrf": "forged", "account": srv.account_id, "user_name": "x", "password": "y"})
    assert r.status_code == 403
    # A form posted from elsewhere has no cookie at all.
    r = requests.post(f"{srv.endpoint}/signin/step/root", data={"csrf": "x", "email": "root@example.com"}, timeout=30)
    assert r.status_code == 403


def test_an_iam_user_signs_in_through_the_alias_changes_the_password_and_uses_mfa(server_factory):
    srv = server_factory()
    admin = srv.client()
    admin.create_account_alias(AccountAlias="console-corp")
    admin.create_user(UserName="Jane")
    admin.create_login_profile(UserName="Jane", Password="Jane-initial-1!", PasswordResetRequired=True)
    admin.attach_user_policy(UserName="Jane", PolicyArn="arn:aws:iam::aws:policy/IAMUserChangePassword")
    s = browser()

    # An unknown alias is a 404 page.
    assert s.get(f"{srv.endpoint}/signin/no-such-alias", timeout=30).status_code == 404
    # Unknown user and wrong password read the same.
    for user, password in [("Nobody", "Jane-initial-1!"), ("Jane", "wrong-password")]:
        r = user_sign_in(srv, s, "console-corp", user, password)
        assert r.status_code == 401 and INCORRECT in r.text, r.text

    r = user_sign_in(srv, s, "console-corp", "Jane", "Jane-initial-1!")
    assert r.status_code == 200 and "New password" in r.text and "Confirm new password" in r.text, r.text
    # Mismatched confirmation, then a password the policy refuses, then a good one.
    r = s.post(f"{srv.endpoint}/signin/step/password", timeout=30, data={
        "csrf": hidden(r.text, "csrf"), "new_password": "Jane-second-22!", "confirm_password": "different"})
    assert "do not match" in r.text
    r = s.post(f"{srv.endpoint}/signin/step/password", timeout=30, data={
        "csrf": hidden(r.text, "csrf"), "new_password": "Jane-initial-1!", "confirm_password": "Jane-initial-1!"})
    assert r.status_code == 401 and "must be different" in r.text, r.text
    r = s.post(f"{srv.endpoint}/signin/step/password", timeout=30, data={
        "csrf": hidden(r.text, "csrf"), "new_password": "Jane-second-22!", "confirm_password": "Jane-second-22!"})
    assert r.url.endswith("/console"), r.text
    # The dashboard acts as Jane: she may not list the alias or read the security status,
    # so the page shows the account id's sign-in URL and says what she lacks.
    assert "user/Jane" in r.text and f"/signin/{srv.account_id}" in r.text, r.text
    assert "iam:GetAccountSummary" in r.text
    admin.attach_user_policy(UserName="Jane", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    r = s.get(f"{srv.endpoint}/console", timeout=30)
    assert "/signin/console-corp" in r.text and "Add MFA for root user" in r.text, r.text

    # With an MFA device, a code is asked for; a wrong one reads like a wrong password.
    dev = admin.create_virtual_mfa_device(VirtualMFADeviceName="jane-phone")["VirtualMFADevice"]
    totp = pyotp.TOTP(dev["Base32StringSeed"].decode())
    now = requests.post(f"{srv.endpoint}/_portcullis/clock", json={"advance_seconds": 0}, timeout=10).json()["now"]
    admin.enable_mfa_device(UserName="Jane", SerialNumber=dev["SerialNumber"],
                            AuthenticationCode1=totp.at(now - 30), AuthenticationCode2=totp.at(now))
    requests.post(f"{srv.endpoint}/_portcullis/clock", json={"advance_seconds": 60}, timeout=10)
    now += 60
    s = browser()
    r = user_sign_in(srv, s, srv.account_id, "jane", "Jane-second-22!")
    assert r.status_code == 200 and "MFA code" in r.text, r.text
    wrong = f"{(int(totp.at(now)) + 1) % 1_000_000:06d}"
    r = s.post(f"{srv.endpoint}/signin/step/mfa", data={"csrf": hidden(r.text, "csrf"), "mfa_code": wrong}, timeout=30)
    assert r.status_code == 401 and INCORRECT in r.text and "MFA code" in r.text
    step_csrf, pending = hidden(r.text, "csrf"), s.cookies["portcullis-pending"]
    r = s.post(f"{srv.endpoint}/signin/step/mfa", data={"csrf": step_csrf, "mfa_code": totp.at(now)}, timeout=30)
    assert r.url.endswith("/console") and "user/Jane" in r.text, r.text
    # A step's form is used once: replaying the same pending sign-in and token fails.
    replay = browser()
    replay.cookies.set("portcullis-pending", pending)
    r = replay.post(f"{srv.endpoint}/signin/step/mfa", data={"csrf": step_csrf, "mfa_code": totp.at(now)}, timeout=30)
    assert r.status_code == 401 and INCORRECT in r.text and "portcullis-session" not in replay.cookies


def test_users_and_groups_pages_act_as_the_signed_in_identity(server_factory):
    srv = server_factory()
    admin = srv.client()
    admin.create_user(UserName="Reader")
    admin.create_login_profile(UserName="Reader", Password="Reader-pass-123!")
    admin.attach_user_policy(UserName="Reader", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    s = browser()
    r = user_sign_in(srv, s, srv.account_id, "Reader", "Reader-pass-123!")
    assert r.url.endswith("/console"), r.text
    # Reading is allowed: the users list shows the account's users, with search.
    r = s.get(f"{srv.endpoint}/console/users?q=read", timeout=30)
    assert "Reader" in r.text and "John" not in r.text, r.text
    assert "John" in s.get(f"{srv.endpoint}/console/users", timeout=30).text
    # Creating is not: the error is AWS's AccessDenied text, and nothing is created.
    page = s.get(f"{srv.endpoint}/console/users/create", timeout=30).text
    r = s.post(f"{srv.endpoint}/console/users/create", timeout=30, data={"csrf": hidden(page, "csrf"), "user_name": "Mallory"})
    assert r.status_code == 400 and "is not authorized to perform: iam:CreateUser" in html.unescape(r.text), r.text
    assert "Mallory" not in [u["UserName"] for u in admin.list_users()["Users"]]
    # A forged form changes nothing either.
    r = s.post(f"{srv.endpoint}/console/users/create", timeout=30, data={"csrf": "forged", "user_name": "Mallory"})
    assert r.status_code == 403


def test_a_new_users_credentials_are_downloaded_once(server_factory):
    srv = server_factory()
    s = browser()
    r = root_sign_in(srv, s, srv.root_password)
    assert r.url.endswith("/console")
    page = s.get(f"{srv.endpoint}/console/users/create", timeout=30).text
    r = s.post(f"{srv.endpoint}/console/users/create", timeout=30, data=[
        ("csrf", hidden(page, "csrf")), ("user_name", "Kim"), ("console", "on"), ("password_kind", "auto"),
        ("reset_required", "on"), ("access_key", "on")])
    assert r.status_code == 200 and "User Kim created" in r.text, r.text
    # The download is a POST with the session's CSRF token (a GET or a forged post gets nothing).
    csrf = hidden(r.text, "csrf")
    assert s.get(f"{srv.endpoint}/console/users/credentials.csv", timeout=30).status_code == 405
    assert s.post(f"{srv.endpoint}/console/users/credentials.csv", data={"csrf": "forged"}, timeout=30).status_code == 403
    csv_text = s.post(f"{srv.endpoint}/console/users/credentials.csv", data={"csrf": csrf}, timeout=30)
    assert csv_text.status_code == 200 and csv_text.headers["content-type"].startswith("text/csv")
    assert "no-store" in csv_text.headers["cache-control"]
    header, row = csv_text.text.strip().splitlines()
    assert header == "User name,Password,Access key ID,Secret access key,Console login link"
    user, password, key_id, secret, link = row.split(",")
    assert user == "Kim" and len(password) == 20 and key_id.startswith("AKIA") and len(secret) == 40
    assert link.endswith(f"/signin/{srv.account_id}")
    # The password works (and must be changed at first sign-in); the key works too.
    r = user_sign_in(srv, browser(), srv.account_id, "Kim", password)
    assert "New password" in r.text
    assert s.post(f"{srv.endpoint}/console/users/credentials.csv", data={"csrf": csrf}, timeout=30).status_code == 410


def test_console_inputs_are_checked_against_the_iam_model(server_factory):
    """The console validates as the API does (botocore's model): lengths, patterns, ranges."""
    srv = server_factory()
    s = browser()
    assert root_sign_in(srv, s, srv.root_password).url.endswith("/console")
    page = s.get(f"{srv.endpoint}/console/account-settings?edit=1", timeout=30).text
    r = s.post(f"{srv.endpoint}/console/account-settings/password-policy", timeout=30,
               data={"csrf": hidden(page, "csrf"), "minimum_length": "3"})
    assert r.status_code == 400 and "minimumPasswordLength" in html.unescape(r.text), r.text
    admin = srv.client()
    try:
        admin.get_account_password_policy()
        raise AssertionError("no policy should have been saved")
    except admin.exceptions.NoSuchEntityException:
        pass
    r = s.post(f"{srv.endpoint}/console/users/create", timeout=30, data={"csrf": hidden(page, "csrf"), "user_name": "bad name"})
    assert r.status_code == 400 and "userName" in html.unescape(r.text), r.text
    page = s.get(f"{srv.endpoint}/console/groups/create", timeout=30).text
    r = s.post(f"{srv.endpoint}/console/groups/create", timeout=30, data={"csrf": hidden(page, "csrf"), "group_name": "x" * 129, "op": "create"})
    assert r.status_code == 400 and "groupName" in html.unescape(r.text), r.text


PAGES = ["/console", "/console/users", "/console/users/create", "/console/groups", "/console/groups/create",
         "/console/policies", "/console/policies/create", "/console/simulator", "/console/account-settings",
         "/console/security-credentials", "/console/mfa/assign"]


def test_every_page_carries_the_browser_protections(server_factory):
    srv = server_factory()
    s = browser()
    assert root_sign_in(srv, s, srv.root_password).url.endswith("/console")
    for path in ["/signin", "/signin?kind=iam", *PAGES]:
        r = s.get(f"{srv.endpoint}{path}", timeout=30, allow_redirects=False)
        assert r.status_code == 200, (path, r.status_code)
        csp = r.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp, (path, csp)
        assert r.headers.get("x-content-type-options") == "nosniff", path
        assert r.headers.get("referrer-policy") == "same-origin", path
        assert r.headers.get("cache-control") == "no-store", path
        assert r.headers.get("x-amzn-RequestId"), path
        # Every signed-in page offers Sign out, with the session's CSRF token.
        if path.startswith("/console"):
            assert 'action="/signout"' in r.text and 'name="csrf"' in r.text, path
    # Without a session every console page sends the browser to sign in.
    for path in PAGES:
        r = browser().get(f"{srv.endpoint}{path}", timeout=30, allow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/signin", (path, r.status_code)


def test_sessions_end_after_an_idle_hour_and_after_twelve_hours(server_factory):
    srv = server_factory()

    def advance(seconds):
        requests.post(f"{srv.endpoint}/_portcullis/clock", json={"advance_seconds": seconds}, timeout=10)

    # An IAM user's console credentials last 12 hours, so what ends these sessions is the
    # console's own idle and absolute limits (also unit-tested in session.rs).
    srv.client().create_user(UserName="Busy")
    srv.client().create_login_profile(UserName="Busy", Password="Busy-pass-123!")
    s = browser()
    assert user_sign_in(srv, s, srv.account_id, "Busy", "Busy-pass-123!").url.endswith("/console")
    advance(3500)
    assert s.get(f"{srv.endpoint}/console", timeout=30).url.endswith("/console")
    advance(3500)
    assert s.get(f"{srv.endpoint}/console", timeout=30).url.endswith("/console")
    advance(3601)
    assert s.get(f"{srv.endpoint}/console", timeout=30).url.endswith("/signin")

    # Kept busy, a session still ends 12 hours after sign-in.
    s = browser()
    assert user_sign_in(srv, s, srv.account_id, "Busy", "Busy-pass-123!").url.endswith("/console")
    for _ in range(23):
        advance(1800)
        assert s.get(f"{srv.endpoint}/console", timeout=30).url.endswith("/console")
    advance(1800)
    assert s.get(f"{srv.endpoint}/console", timeout=30).url.endswith("/signin")


def test_repeated_failures_are_throttled_with_the_same_text(server_factory):
    srv = server_factory()
    srv.client().create_user(UserName="Target")
    srv.client().create_login_profile(UserName="Target", Password="Target-pass-123!")
    s = browser()
    answers = [user_sign_in(srv, s, srv.account_id, "Target", "wrong-guess") for _ in range(5)]
    answers.append(user_sign_in(srv, s, srv.account_id, "Target", "Target-pass-123!"))
    assert all(r.status_code == 401 and INCORRECT in r.text for r in answers), [r.status_code for r in answers]
    # The locked identity's page is the same page as a wrong password's.
    strip = lambda t: re.sub(r'value="[0-9a-f]{64}"', "", t)
    assert strip(answers[-1].text) == strip(answers[0].text)


def test_a_users_page_and_its_access_keys(server_factory):
    srv = server_factory()
    admin = srv.client()
    admin.create_user(UserName="Kay")
    admin.attach_user_policy(UserName="Kay", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    s = browser()
    assert root_sign_in(srv, s, srv.root_password).url.endswith("/console")
    page = s.get(f"{srv.endpoint}/console/user/Kay", timeout=30)
    assert page.status_code == 200 and "ReadOnlyAccess" in page.text and "No access keys." in page.text, page.text
    csrf = hidden(page.text, "csrf")
    r = s.post(f"{srv.endpoint}/console/user/Kay/keys", data={"csrf": csrf, "op": "create"}, timeout=30)
    assert "Access key created for Kay" in r.text
    key_id = re.search(r"<code>(AKIA[A-Z0-9]{16})</code>", r.text).group(1)
    assert [k["AccessKeyId"] for k in admin.list_access_keys(UserName="Kay")["AccessKeyMetadata"]] == [key_id]
    r = s.post(f"{srv.endpoint}/console/user/Kay/keys", data={"csrf": csrf, "op": "deactivate", "key": key_id}, timeout=30)
    assert "Access key deactivated." in r.text and "Inactive" in r.text
    assert admin.list_access_keys(UserName="Kay")["AccessKeyMetadata"][0]["Status"] == "Inactive"
    # Deleting asks first; only the confirmed form deletes.
    r = s.post(f"{srv.endpoint}/console/user/Kay/keys", data={"csrf": csrf, "op": "delete", "key": key_id}, timeout=30)
    assert "cannot be undone" in r.text and admin.list_access_keys(UserName="Kay")["AccessKeyMetadata"]
    r = s.post(f"{srv.endpoint}/console/user/Kay/keys", data={"csrf": csrf, "op": "delete", "key": key_id, "confirmed": "yes"}, timeout=30)
    assert "Access key deleted." in r.text
    assert admin.list_access_keys(UserName="Kay")["AccessKeyMetadata"] == []
    assert s.get(f"{srv.endpoint}/console/user/Nobody", timeout=30).status_code == 404


def test_roles_are_listed_and_shown(server_factory):
    srv = server_factory()
    admin = srv.client()
    trust = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
    admin.create_role(RoleName="web-server", AssumeRolePolicyDocument=trust, Description="EC2 web tier", MaxSessionDuration=7200)
    admin.attach_role_policy(RoleName="web-server", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    s = browser()
    assert root_sign_in(srv, s, srv.root_password).url.endswith("/console")
    r = s.get(f"{srv.endpoint}/console/roles", timeout=30)
    assert "web-server" in r.text and "EC2 web tier" in r.text
    r = s.get(f"{srv.endpoint}/console/role/web-server", timeout=30)
    assert "2 hour(s)" in r.text and "ReadOnlyAccess" in r.text and "ec2.amazonaws.com" in r.text, r.text
    assert s.get(f"{srv.endpoint}/console/role/nope", timeout=30).status_code == 404


def test_self_service_password_change_and_mfa_removal(server_factory):
    srv = server_factory()
    admin = srv.client()
    admin.create_user(UserName="Sam")
    admin.create_login_profile(UserName="Sam", Password="Sam-initial-123!")
    s = browser()
    assert user_sign_in(srv, s, srv.account_id, "Sam", "Sam-initial-123!").url.endswith("/console")
    page = s.get(f"{srv.endpoint}/console/security-credentials", timeout=30).text
    assert "Current password" in page and "Manage your access keys" in page
    form = {"csrf": hidden(page, "csrf"), "current_password": "Sam-initial-123!", "new_password": "Sam-second-456!", "confirm_password": "Sam-second-456!"}
    # Without AllowUsersToChangePassword or iam:ChangePassword: AWS's AccessDenied.
    r = s.post(f"{srv.endpoint}/console/security-credentials/password", data=form, timeout=30)
    assert r.status_code == 400 and "not authorized to perform: iam:ChangePassword" in html.unescape(r.text), r.text
    admin.update_account_password_policy(MinimumPasswordLength=8, AllowUsersToChangePassword=True)
    r = s.post(f"{srv.endpoint}/console/security-credentials/password", data={**form, "current_password": "wrong"}, timeout=30)
    assert r.status_code == 400 and "old password you provided is incorrect" in r.text
    r = s.post(f"{srv.endpoint}/console/security-credentials/password", data=form, timeout=30)
    assert "Your password was changed." in r.text
    assert user_sign_in(srv, browser(), srv.account_id, "Sam", "Sam-second-456!").url.endswith("/console")

    # The root user removes its own MFA device.
    root = browser()
    assert root_sign_in(srv, root, srv.root_password).url.endswith("/console")
    page = root.get(f"{srv.endpoint}/console/mfa/assign", timeout=30).text
    r = root.post(f"{srv.endpoint}/console/mfa/assign", data={"csrf": hidden(page, "csrf"), "device_name": "root-key"}, timeout=30)
    seed = re.search(r'<code class="secret">([A-Z2-7]+)</code>', r.text).group(1)
    totp = pyotp.TOTP(seed)
    now = requests.post(f"{srv.endpoint}/_portcullis/clock", json={"advance_seconds": 0}, timeout=10).json()["now"]
    r = root.post(f"{srv.endpoint}/console/mfa/enable", timeout=30, data={
        "csrf": hidden(page, "csrf"), "serial": hidden(r.text, "serial"), "code1": totp.at(now - 30), "code2": totp.at(now)})
    assert "MFA device assigned" in r.text
    remove = {"csrf": hidden(page, "csrf"), "serial": f"arn:aws:iam::{srv.account_id}:mfa/root-key"}
    # Removing asks first; only the confirmed form removes.
    r = root.post(f"{srv.endpoint}/console/mfa/remove", data=remove, timeout=30)
    assert "Remove MFA device" in r.text and admin.get_account_summary()["SummaryMap"]["AccountMFAEnabled"] == 1
    r = root.post(f"{srv.endpoint}/console/mfa/remove", data={**remove, "confirmed": "yes"}, timeout=30)
    assert "MFA device removed." in r.text and "No MFA device is assigned" in r.text
    assert admin.get_account_summary()["SummaryMap"]["AccountMFAEnabled"] == 0


def test_resync_and_resource_counts(server_factory):
    srv = server_factory()
    admin = srv.client()
    admin.create_user(UserName="Ria")
    admin.create_login_profile(UserName="Ria", Password="Ria-pass-1234!")
    admin.attach_user_policy(UserName="Ria", PolicyArn="arn:aws:iam::aws:policy/IAMFullAccess")
    dev = admin.create_virtual_mfa_device(VirtualMFADeviceName="ria-phone")["VirtualMFADevice"]
    totp = pyotp.TOTP(dev["Base32StringSeed"].decode())
    clock = f"{srv.endpoint}/_portcullis/clock"
    now = requests.post(clock, json={"advance_seconds": 0}, timeout=10).json()["now"]
    admin.enable_mfa_device(UserName="Ria", SerialNumber=dev["SerialNumber"],
                            AuthenticationCode1=totp.at(now - 30), AuthenticationCode2=totp.at(now))
    now = requests.post(clock, json={"advance_seconds": 90}, timeout=10).json()["now"]
    s = browser()
    r = user_sign_in(srv, s, srv.account_id, "Ria", "Ria-pass-1234!")
    r = s.post(f"{srv.endpoint}/signin/step/mfa", data={"csrf": hidden(r.text, "csrf"), "mfa_code": totp.at(now)}, timeout=30)
    assert r.url.endswith("/console"), r.text
    # The dashboard counts the account's resources (John and Ria; John's Admins group).
    assert "IAM resources" in r.text
    assert re.search(r'href="/console/users">Users</a> <strong>2</strong>', r.text), r.text
    assert re.search(r'href="/console/groups">User groups</a> <strong>1</strong>', r.text), r.text
    page = s.get(f"{srv.endpoint}/console/mfa/resync?serial={dev['SerialNumber']}", timeout=30).text
    now = requests.post(clock, json={"advance_seconds": 60}, timeout=10).json()["now"]
    r = s.post(f"{srv.endpoint}/console/mfa/resync", timeout=30, data={
        "csrf": hidden(page, "csrf"), "serial": dev["SerialNumber"], "code1": totp.at(now - 30), "code2": totp.at(now)})
    assert "MFA device resynchronized." in r.text, r.text
    r = s.post(f"{srv.endpoint}/console/mfa/resync", timeout=30, data={
        "csrf": hidden(page, "csrf"), "serial": dev["SerialNumber"], "code1": "000000", "code2": "111111"})
    assert r.status_code == 400 and 'role="alert"' in r.text


def test_forms_the_console_cannot_read_get_a_page_not_plain_text(server_factory):
    """Found by the api_requests fuzz target: a repeated field made axum answer in plain text."""
    srv = server_factory()
    for path, body in [("/signin", "csrf=a&csrf=b"), ("/signin/step/mfa", "mfa_code=1&mfa_code=2"), ("/signout", "csrf=%zz")]:
        r = requests.post(f"{srv.endpoint}{path}", data=body, timeout=30,
                          headers={"content-type": "application/x-www-form-urlencoded", "accept": "text/html"})
        assert r.status_code < 500 and r.headers["content-type"].startswith("text/html"), (path, r.status_code, r.headers, r.text)
        assert "frame-ancestors 'none'" in r.headers.get("content-security-policy", "") and r.headers.get("x-amzn-RequestId")


def test_editing_a_policy_and_removing_a_group_member(server_factory):
    srv = server_factory()
    admin = srv.client()
    arn = admin.create_policy(PolicyName="Editable", PolicyDocument='{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}')["Policy"]["Arn"]
    admin.create_group(GroupName="Team")
    admin.create_user(UserName="Member")
    admin.add_user_to_group(GroupName="Team", UserName="Member")
    s = browser()
    assert root_sign_in(srv, s, srv.root_password).url.endswith("/console")
    page = s.get(f"{srv.endpoint}/console/policy", params={"arn": arn}, timeout=30).text
    assert "Policy editor" in page and "s3:GetObject" in page
    csrf = hidden(page, "csrf")
    broken = '{"Version": "2012-10-17", "Statement": ['
    r = s.post(f"{srv.endpoint}/console/policy", data={"csrf": csrf, "arn": arn, "document": broken}, timeout=30)
    assert r.status_code == 400 and "Syntax errors in policy." in r.text and broken in html.unescape(r.text)
    good = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}}'
    r = s.post(f"{srv.endpoint}/console/policy", data={"csrf": csrf, "arn": arn, "document": good}, timeout=30)
    assert "Saved as a new default version." in r.text, r.text
    assert admin.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v2"

    page = s.get(f"{srv.endpoint}/console/group/Team", timeout=30).text
    assert "Member" in page
    r = s.post(f"{srv.endpoint}/console/group/Team/users", data={"csrf": csrf, "remove": "Member"}, timeout=30)
    assert "User removed from Team." in r.text
    assert admin.get_group(GroupName="Team")["Users"] == []


def test_sessions_and_pending_sign_ins_outlive_a_restart_and_are_sealed_at_rest(server_factory, backend):
    """Console sessions and sign-ins waiting for their MFA step are kept in the database (so
    every node shares them): a restarted server signs nobody out, and what the store holds
    is sealed — the typed password and the session's token are not in the database."""
    srv = server_factory()
    admin = srv.client()
    admin.create_user(UserName="Sealed")
    admin.create_login_profile(UserName="Sealed", Password="Sealed-pass-123!")
    dev = admin.create_virtual_mfa_device(VirtualMFADeviceName="sealed")["VirtualMFADevice"]
    totp = pyotp.TOTP(dev["Base32StringSeed"].decode())
    now = requests.post(f"{srv.endpoint}/_portcullis/clock", json={"advance_seconds": 0}, timeout=10).json()["now"]
    admin.enable_mfa_device(UserName="Sealed", SerialNumber=dev["SerialNumber"], AuthenticationCode1=totp.at(now - 60), AuthenticationCode2=totp.at(now - 30))

    root = browser()
    assert root_sign_in(srv, root, srv.root_password).url.endswith("/console")
    pending = browser()
    r = user_sign_in(srv, pending, srv.account_id, "Sealed", "Sealed-pass-123!")
    assert r.status_code == 200 and "MFA code" in r.text, r.text
    step_csrf = hidden(r.text, "csrf")

    if backend == "sqlite":
        stored = b"".join(p.read_bytes() for p in srv.data_dir.glob("portcullis.db*"))
        assert b"Sealed-pass-123!" not in stored, "a pending sign-in's password is stored in the clear"
        assert root.cookies["portcullis-session"].encode() not in stored, "a session's id is stored as it is"

    srv.restart()
    now = requests.post(f"{srv.endpoint}/_portcullis/clock", json={"advance_seconds": 0}, timeout=10).json()["now"]
    assert root.get(f"{srv.endpoint}/console", timeout=30).url == f"{srv.endpoint}/console", "the session outlived the restart"
    r = pending.post(f"{srv.endpoint}/signin/step/mfa", data={"csrf": step_csrf, "mfa_code": totp.at(now)}, timeout=30)
    assert r.url == f"{srv.endpoint}/console" and "user/Sealed" in r.text, r.text
