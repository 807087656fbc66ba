"""Several `portcullis serve` nodes on one PostgreSQL database answer as one service: a
write acknowledged by one node is honoured by the others within 100 ms, however warm their
caches are (the read cache and the authorization cache follow the changes the nodes
announce through PostgreSQL). Denials matter most: a deactivated or deleted access key, a
deleted user, a new Deny, a detached policy."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

from compat_helpers import unique_name
from conftest import start_node, start_server

# Past this, a node must answer with what another node wrote.
PROPAGATION = 0.1


@pytest.fixture(scope="module")
def nodes(backend, tmp_path_factory):
    if backend != "postgres":
        pytest.skip("several nodes share a PostgreSQL database")
    first = start_server(backend, tmp_path_factory.mktemp("node-a"))
    second = None
    try:
        second = start_node(first, tmp_path_factory.mktemp("node-b"))
        yield first, second
    finally:
        if second is not None:
            second.stop()
        first.teardown()


def warm(call, times=5):
    """Calls a few times, so that both nodes' caches hold the answer."""
    for _ in range(times):
        call()


def denied(call) -> str | None:
    try:
        call()
    except ClientError as e:
        return e.response["Error"]["Code"]
    return None


def user_with_key(a, policy: str | None = None):
    iam = a.client()
    name = unique_name("multi")
    iam.create_user(UserName=name)
    iam.attach_user_policy(UserName=name, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    if policy:
        iam.put_user_policy(UserName=name, PolicyName="extra", PolicyDocument=policy)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return name, key


def test_a_write_on_one_node_is_read_on_the_other(nodes):
    a, b = nodes
    name = unique_name("seen")
    a.client().create_user(UserName=name, Path="/one/")
    assert b.client().get_user(UserName=name)["User"]["Path"] == "/one/"
    warm(lambda: b.client().get_user(UserName=name))
    a.client().update_user(UserName=name, NewPath="/two/")
    time.sleep(PROPAGATION)
    assert b.client().get_user(UserName=name)["User"]["Path"] == "/two/"
    assert any(u["UserName"] == name for u in b.client().list_users(PathPrefix="/two/")["Users"])


def test_a_deactivated_key_is_refused_by_every_node(nodes):
    a, b = nodes
    name, key = user_with_key(a)
    caller = b.client(key["AccessKeyId"], key["SecretAccessKey"])
    warm(lambda: caller.get_user())
    a.client().update_access_key(UserName=name, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    time.sleep(PROPAGATION)
    assert denied(lambda: caller.get_user()) == "InvalidClientTokenId"


def test_a_deleted_key_and_user_are_refused_by_every_node(nodes):
    a, b = nodes
    name, key = user_with_key(a)
    caller = b.client(key["AccessKeyId"], key["SecretAccessKey"])
    warm(lambda: caller.list_users(MaxItems=1))
    iam = a.client()
    iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    time.sleep(PROPAGATION)
    assert denied(lambda: caller.list_users(MaxItems=1)) == "InvalidClientTokenId"

    name, key = user_with_key(a)
    caller = b.client(key["AccessKeyId"], key["SecretAccessKey"])
    warm(lambda: caller.list_users(MaxItems=1))
    iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    iam.detach_user_policy(UserName=name, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    iam.delete_user(UserName=name)
    time.sleep(PROPAGATION)
    assert denied(lambda: caller.list_users(MaxItems=1)) == "InvalidClientTokenId"


def test_a_new_deny_and_a_detached_policy_apply_on_every_node(nodes):
    a, b = nodes
    name, key = user_with_key(a)
    caller = b.client(key["AccessKeyId"], key["SecretAccessKey"])
    warm(lambda: caller.list_users(MaxItems=1))
    deny = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "iam:ListUsers", "Resource": "*"}]})
    a.client().put_user_policy(UserName=name, PolicyName="deny", PolicyDocument=deny)
    time.sleep(PROPAGATION)
    assert denied(lambda: caller.list_users(MaxItems=1)) == "AccessDenied"
    assert caller.list_groups(MaxItems=1)["Groups"] is not None, "what is not denied stays allowed"

    warm(lambda: caller.list_groups(MaxItems=1))
    a.client().detach_user_policy(UserName=name, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    time.sleep(PROPAGATION)
    assert denied(lambda: caller.list_groups(MaxItems=1)) == "AccessDenied"


def test_sessions_issued_by_one_node_work_on_the_other(nodes):
    import boto3
    a, b = nodes
    name, key = user_with_key(a)
    sts = boto3.session.Session().client("sts", endpoint_url=a.endpoint, region_name="us-east-1",
                                         aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    creds = sts.get_session_token()["Credentials"]
    caller = boto3.session.Session().client("iam", endpoint_url=b.endpoint, region_name="us-east-1", aws_access_key_id=creds["AccessKeyId"],
                                            aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
    assert caller.list_users(MaxItems=1)["Users"] is not None


def test_wrong_codes_are_counted_across_nodes(nodes):
    import pyotp
    a, b = nodes
    name = unique_name("mfa")
    a.client().create_user(UserName=name)
    dev = a.client().create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]
    serial, totp = dev["SerialNumber"], pyotp.TOTP(dev["Base32StringSeed"].decode())
    # Wrong codes on alternate nodes: five in all, and both nodes refuse the right ones.
    for i in range(5):
        node = (a, b)[i % 2]
        assert denied(lambda: node.client().enable_mfa_device(UserName=name, SerialNumber=serial, AuthenticationCode1="000000", AuthenticationCode2="000001")) == "InvalidAuthenticationCode"
    step = int(time.time()) // 30
    for node in (a, b):
        with pytest.raises(ClientError) as e:
            node.client().enable_mfa_device(UserName=name, SerialNumber=serial, AuthenticationCode1=totp.at((step - 1) * 30), AuthenticationCode2=totp.at(step * 30))
        assert "too many invalid one-time codes" in e.value.response["Error"]["Message"]


def test_nodes_starting_at_once_on_an_empty_database_make_one_account(backend, tmp_path):
    if backend != "postgres":
        pytest.skip("several nodes share a PostgreSQL database")
    import os
    import threading
    from conftest import PG_URL, PortcullisServer, PostgresDatabase
    database = PostgresDatabase(PG_URL)
    database.create()
    key = os.urandom(32).hex()
    nodes = []
    for i in range(3):
        node = PortcullisServer("sqlite", tmp_path / f"node-{i}")
        node.backend, node.database_url = "postgres", database.url
        (node.data_dir / "master.key").write_text(key)
        nodes.append(node)
    try:
        errors = []
        def start(n):
            try:
                n.start()
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)
        threads = [threading.Thread(target=start, args=(n,)) for n in nodes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        assert sum(n.root_password is not None for n in nodes) == 1, "one node created the account"
        nodes[0].bootstrap_admin()
        accounts = set()
        for n in nodes:
            n.admin_key_id, n.admin_secret = nodes[0].admin_key_id, nodes[0].admin_secret
            accounts.add(n.client().get_user()["User"]["Arn"].split(":")[4])
        assert len(accounts) == 1, accounts
    finally:
        for n in nodes:
            n.stop()
        database.drop()


def test_no_stale_allow_past_100_ms_under_load_on_three_nodes(nodes, tmp_path_factory):
    """Writes on one node and reads on two others, all under load: after each revocation
    (a deactivated key, a new Deny, a detached policy) acknowledged by the writing node, no
    request that starts on another node more than 100 ms later is allowed."""
    import threading
    a, b = nodes
    c = start_node(a, tmp_path_factory.mktemp("node-c"))
    try:
        stop = threading.Event()
        failures: list[str] = []

        def write_load():
            # Unrelated writes on the first node keep it (and the change feed) busy.
            iam = a.client()
            while not stop.is_set():
                name = unique_name("churn")
                try:
                    iam.create_user(UserName=name)
                    iam.tag_user(UserName=name, Tags=[{"Key": "k", "Value": "v"}])
                    iam.untag_user(UserName=name, TagKeys=["k"])
                    iam.delete_user(UserName=name)
                except ClientError as e:  # noqa: PERF203 - reported below
                    failures.append(f"churn: {e}")

        writers = [threading.Thread(target=write_load, daemon=True) for _ in range(2)]
        for t in writers:
            t.start()

        def revocations():
            # Each: (set up, warm call, revoke) — the call must be refused after the revocation.
            deny = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "iam:ListUsers", "Resource": "*"}]})
            yield "deactivated key", lambda n, k: a.client().update_access_key(UserName=n, AccessKeyId=k, Status="Inactive")
            yield "new deny", lambda n, k: a.client().put_user_policy(UserName=n, PolicyName="deny", PolicyDocument=deny)
            yield "detached policy", lambda n, k: a.client().detach_user_policy(UserName=n, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")

        for what, revoke in revocations():
            name, key = user_with_key(a)
            readers_on = [node.client(key["AccessKeyId"], key["SecretAccessKey"], max_pool_connections=8) for node in (b, c)]
            for caller in readers_on:
                warm(lambda: caller.list_users(MaxItems=1))
            results: list[tuple[float, str | None]] = []
            lock = threading.Lock()
            done = threading.Event()

            def read_load(caller):
                while not done.is_set():
                    started = time.monotonic()
                    outcome = denied(lambda: caller.list_users(MaxItems=1))
                    with lock:
                        results.append((started, outcome))

            readers = [threading.Thread(target=read_load, args=(caller,), daemon=True) for caller in readers_on for _ in range(3)]
            for t in readers:
                t.start()
            time.sleep(0.5)
            revoke(name, key["AccessKeyId"])
            revoked = time.monotonic()
            time.sleep(1.0)
            done.set()
            for t in readers:
                t.join(timeout=30)
            allowed_before = sum(1 for at, outcome in results if at < revoked and outcome is None)
            stale = [(round((at - revoked) * 1000), outcome) for at, outcome in results if at > revoked + PROPAGATION and outcome is None]
            refused_after = sum(1 for at, outcome in results if at > revoked + PROPAGATION and outcome is not None)
            assert allowed_before > 0, f"{what}: the readers were allowed before the revocation"
            assert refused_after > 0, f"{what}: no request after the revocation was answered"
            assert not stale, f"{what}: allowed {len(stale)} times more than 100 ms after the revocation (ms after, outcome): {stale[:5]}"
        stop.set()
        for t in writers:
            t.join(timeout=30)
        assert not failures, failures[:3]
    finally:
        c.stop()


def test_a_console_sign_in_and_session_move_between_nodes(nodes):
    """A browser behind a load balancer lands on any node: a sign-in started on one node
    finishes on another (its pending MFA step is shared), the session works on every node,
    and signing out on one ends it on all."""
    import pyotp
    from test_console import browser, hidden, user_sign_in
    a, b = nodes
    iam = a.client()
    name, password = unique_name("browser"), "Console-pass-123!"
    iam.create_user(UserName=name)
    iam.create_login_profile(UserName=name, Password=password)
    iam.attach_user_policy(UserName=name, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    dev = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]
    totp = pyotp.TOTP(dev["Base32StringSeed"].decode())
    step = int(time.time()) // 30
    iam.enable_mfa_device(UserName=name, SerialNumber=dev["SerialNumber"], AuthenticationCode1=totp.at((step - 2) * 30), AuthenticationCode2=totp.at((step - 1) * 30))

    s = browser()
    r = user_sign_in(a, s, a.account_id, name, password)
    assert r.status_code == 200 and "MFA code" in r.text, r.text
    r = s.post(f"{b.endpoint}/signin/step/mfa", data={"csrf": hidden(r.text, "csrf"), "mfa_code": totp.now()}, timeout=30)
    assert r.url == f"{b.endpoint}/console" and f"user/{name}" in r.text, (r.url, r.text[:500])
    page = s.get(f"{a.endpoint}/console", timeout=30)
    assert page.url == f"{a.endpoint}/console" and f"user/{name}" in page.text, "the session works on the other node"
    session = s.cookies.get("portcullis-session")
    assert session
    r = s.post(f"{a.endpoint}/signout", data={"csrf": hidden(page.text, "csrf")}, timeout=30)
    assert r.url.endswith("/signin")
    # The browser's cookie would be cleared; one that kept it is refused by every node.
    for node in (a, b):
        kept = browser()
        kept.cookies.set("portcullis-session", session)
        assert kept.get(f"{node.endpoint}/console", timeout=30).url.endswith("/signin")
