"""Serving over TLS (`--tls-cert`, `--tls-key`): the API with real clients verifying the
certificate, `aws:SecureTransport`, and the console's `__Host-` cookies with `Secure`."""

from __future__ import annotations

import json
import re
import subprocess
import threading

import boto3
import pytest
import requests
from botocore.config import Config

from compat_helpers import REGION, expect_error, parse_ini_credentials
from conftest import portcullis_bin


@pytest.fixture
def tls_server(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert), "-days", "1"],
                   check=True, capture_output=True, timeout=60)
    data = tmp_path / "data"
    proc = subprocess.Popen([str(portcullis_bin()), "serve", "--listen", "127.0.0.1:0", "--data-dir", str(data),
                             "--tls-cert", str(cert), "--tls-key", str(key)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)
    lines, port, password = [], None, None
    for line in proc.stdout:
        lines.append(line)
        if m := re.search(r"shown only now\): (\S+)", line):
            password = m.group(1)
        if m := re.search(r"listening on https://127\.0\.0\.1:(\d+)", line):
            port = int(m.group(1))
            break
    assert port, "".join(lines)
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    admin = subprocess.run([str(portcullis_bin()), "bootstrap-admin", "--user-name", "Admin", "--data-dir", str(data)],
                           capture_output=True, text=True, timeout=60, check=True)
    key_id, secret = parse_ini_credentials(admin.stdout)
    yield {"base": f"https://localhost:{port}", "cert": str(cert), "key": (key_id, secret), "root_password": password,
           "banner": "".join(lines)}
    proc.terminate()
    proc.wait(timeout=20)


def iam_client(srv, key_id, secret):
    return boto3.client("iam", endpoint_url=srv["base"], region_name=REGION, aws_access_key_id=key_id,
                        aws_secret_access_key=secret, verify=srv["cert"],
                        config=Config(retries={"mode": "standard", "total_max_attempts": 1}))


def test_the_api_over_tls_with_secure_transport(tls_server):
    srv = tls_server
    assert "API endpoint: https://" in srv["banner"] and "web console: https://" in srv["banner"]
    iam = iam_client(srv, *srv["key"])
    assert iam.get_user()["User"]["UserName"] == "Admin"
    # A user allowed to list users only over TLS (aws:SecureTransport) is allowed here.
    iam.create_user(UserName="tls-only")
    iam.put_user_policy(UserName="tls-only", PolicyName="tls", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*",
                                                 "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]}))
    key = iam.create_access_key(UserName="tls-only")["AccessKey"]
    user = iam_client(srv, key["AccessKeyId"], key["SecretAccessKey"])
    assert "Users" in user.list_users()
    with expect_error("AccessDenied", 403):
        user.list_groups()
    # A client that does not trust the certificate refuses the server.
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(srv["base"] + "/signin", timeout=10)


def test_console_cookies_over_tls_are_host_prefixed_and_secure(tls_server):
    srv = tls_server
    s = requests.Session()
    s.trust_env = False  # a REQUESTS_CA_BUNDLE in the environment would override verify
    s.verify = srv["cert"]
    page = s.get(srv["base"] + "/signin?kind=root", timeout=30)
    set_cookie = page.headers["set-cookie"]
    assert set_cookie.startswith("__Host-portcullis-signin=") and "Secure" in set_cookie and "HttpOnly" in set_cookie, set_cookie
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)
    page = s.post(srv["base"] + "/signin/step/root", data={"csrf": csrf, "email": "root@example.com"}, timeout=30)
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)
    r = s.post(srv["base"] + "/signin", data={"csrf": csrf, "email": "root@example.com", "password": srv["root_password"]}, timeout=30)
    assert r.url.endswith("/console"), r.text
    session_cookie = [c for c in r.history[0].raw.headers.getlist("Set-Cookie") if c.startswith("__Host-portcullis-session=")]
    assert session_cookie and "Secure" in session_cookie[0] and "HttpOnly" in session_cookie[0], r.history[0].headers
    cleared = [c for c in r.history[0].raw.headers.getlist("Set-Cookie") if "Max-Age=0" in c]
    assert cleared and all(c.startswith("__Host-") and "Secure" in c for c in cleared), cleared
    assert f"https://localhost:" in r.text and "/signin/" in r.text
    # A plain-named cookie (as anyone could set over plain HTTP) is not a session here.
    plain = requests.Session()
    plain.trust_env = False
    plain.verify = srv["cert"]
    plain.cookies.set("portcullis-session", s.cookies["__Host-portcullis-session"])
    assert plain.get(srv["base"] + "/console", timeout=30).url.endswith("/signin")
