"""Fixtures for the Portcullis black-box compatibility suite.

The suite drives the real ``portcullis`` binary (``PORTCULLIS_BIN``, default
``<repo>/target/debug/portcullis``) with boto3 and aws-cli v1.

Backends: every test that uses the ``server`` fixture runs once per backend:
``sqlite`` always, and ``postgres`` too when ``PORTCULLIS_TEST_DATABASE_URL``
is set (each server instance then gets its own freshly created database,
dropped at teardown).

Shared helpers live in ``compat_helpers.py`` (imported by the test modules);
this file holds the fixtures and the server process management.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from compat_helpers import (
    REGION,
    CliResult,
    ServerError,
    parse_ini_credentials,
    unique_name,
)

REPO = Path(__file__).resolve().parents[2]
DEFAULT_BIN = REPO / "target" / "debug" / "portcullis"

LISTEN_TIMEOUT = 60.0  # seconds to wait for "listening on http://..."
STOP_TIMEOUT = 20.0  # seconds to wait after SIGTERM before SIGKILL
CMD_TIMEOUT = 120.0  # seconds for one bootstrap-admin / aws-cli / psql run

ADMIN_USER = "John"
LISTEN_RE = re.compile(r"listening on (http://127\.0\.0\.1:(\d+))\b")
ROOT_PASSWORD_RE = re.compile(r"one-time root password \(shown only now\): (\S+)")

PG_URL = os.environ.get("PORTCULLIS_TEST_DATABASE_URL", "").strip()
BACKENDS = ["sqlite"] + (["postgres"] if PG_URL else [])


# --------------------------------------------------------------------------
# Process-wide AWS environment hygiene: the host's AWS config/credentials,
# profiles and endpoint overrides must never leak into the suite.
# --------------------------------------------------------------------------

def pytest_configure(config):
    for var in list(os.environ):
        if var.startswith("AWS_"):
            del os.environ[var]
    os.environ["AWS_CONFIG_FILE"] = "/dev/null"
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null"
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"


def portcullis_bin() -> Path:
    return Path(os.environ.get("PORTCULLIS_BIN") or DEFAULT_BIN)


def aws_cli_path() -> str:
    """The aws-cli of the running interpreter's venv, else the one on PATH."""
    candidate = Path(sys.executable).parent / "aws"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("aws")
    if not found:
        raise RuntimeError("aws-cli not found; run scripts/setup-python-env.sh")
    return found


# --------------------------------------------------------------------------
# PostgreSQL: one fresh database per server instance.
# --------------------------------------------------------------------------

def _pg_url_with_db(base_url: str, dbname: str) -> str:
    parts = urllib.parse.urlsplit(base_url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + dbname))


def _psql(url: str, sql: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["psql", url, "-v", "ON_ERROR_STOP=1", "-X", "-q", "-c", sql],
        capture_output=True,
        text=True,
        timeout=CMD_TIMEOUT,
    )


class PostgresDatabase:
    def __init__(self, base_url: str):
        self.base_url = base_url
        self.name = "portcullis_t_" + uuid.uuid4().hex[:16]
        self.url = _pg_url_with_db(base_url, self.name)

    def create(self):
        r = _psql(self.base_url, f'CREATE DATABASE "{self.name}"')
        if r.returncode != 0:
            raise RuntimeError(f"CREATE DATABASE {self.name} failed: {r.stderr.strip()}")

    def drop(self):
        r = _psql(self.base_url, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        if r.returncode != 0:  # PostgreSQL < 13 has no WITH (FORCE)
            _psql(self.base_url, f'DROP DATABASE IF EXISTS "{self.name}"')


# --------------------------------------------------------------------------
# The server process.
# --------------------------------------------------------------------------

class PortcullisServer:
    """One ``portcullis serve`` instance (data dir + optional database).

    Attributes available to tests: ``backend``, ``endpoint``
    (``http://127.0.0.1:PORT``, changes on restart), ``data_dir``,
    ``database_url`` (None for sqlite), ``admin_user``, ``admin_key_id``,
    ``admin_secret``, ``account_id``.
    """

    def __init__(self, backend: str, workdir: Path, admin_user: str = ADMIN_USER):
        self.backend = backend
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / "server.log"
        self.admin_user = admin_user
        self.database: PostgresDatabase | None = None
        self.database_url: str | None = None
        if backend == "postgres":
            if not PG_URL:
                raise RuntimeError("postgres backend needs PORTCULLIS_TEST_DATABASE_URL")
            self.database = PostgresDatabase(PG_URL)
            self.database.create()
            self.database_url = self.database.url
        self.proc: subprocess.Popen | None = None
        self.endpoint: str | None = None
        self.port: int | None = None
        self.admin_key_id: str | None = None
        self.admin_secret: str | None = None
        self.account_id: str | None = None
        # Printed once, when the account is created on the first start.
        self.root_password: str | None = None
        self.last_exit_code: int | None = None
        self.last_stop_needed_kill = False
        self._log_lock = threading.Lock()
        self._starts = 0
        # Options of `serve` a test asks for (e.g. --oidc-ca-file).
        self.extra_args: list[str] = []

    # -- command lines ----------------------------------------------------

    def _common_args(self) -> list[str]:
        args = ["--data-dir", str(self.data_dir)]
        if self.database_url:
            args += ["--database-url", self.database_url]
        return args

    def _log(self, text: str):
        with self._log_lock, open(self.log_path, "a", encoding="utf-8", errors="replace") as f:
            f.write(text)

    def log_tail(self, lines: int = 60) -> str:
        try:
            content = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(content.splitlines()[-lines:])

    # -- lifecycle ----------------------------------------------------------

    def start(self):
        binary = portcullis_bin()
        if not binary.exists():
            raise ServerError(
                f"portcullis binary not found at {binary}; build it with `cargo build` "
                "or set PORTCULLIS_BIN"
            )
        assert self.proc is None, "server already running"
        self._starts += 1
        cmd = [str(binary), "serve", "--listen", "127.0.0.1:0", "--test-clock", *self._common_args(), *self.extra_args]
        self._log(f"\n===== start #{self._starts}: {' '.join(cmd)}\n")
        env = dict(os.environ)
        env.setdefault("RUST_BACKTRACE", "1")
        stderr_file = open(self.log_path, "a", encoding="utf-8", errors="replace")
        try:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr_file,
                text=True,
                bufsize=1,
                env=env,
                start_new_session=True,
            )
        finally:
            stderr_file.close()
        self.proc = proc
        found = threading.Event()
        result: dict = {}

        def pump():
            # Reads stdout for the whole life of the process so that the pipe
            # never fills up; every line also goes to the log file.
            assert proc.stdout is not None
            for line in proc.stdout:
                self._log("[stdout] " + line)
                m = ROOT_PASSWORD_RE.search(line)
                if m:
                    self.root_password = m.group(1)
                if not found.is_set():
                    m = LISTEN_RE.search(line)
                    if m:
                        result["endpoint"] = m.group(1)
                        result["port"] = int(m.group(2))
                        found.set()

        threading.Thread(target=pump, name=f"portcullis-stdout-{proc.pid}", daemon=True).start()

        deadline = time.monotonic() + LISTEN_TIMEOUT
        while not found.wait(0.1):
            if proc.poll() is not None:
                found.wait(0.5)  # let the pump finish the last lines
                if found.is_set():
                    break
                self.proc = None
                raise ServerError(
                    f"portcullis serve exited with code {proc.returncode} before printing "
                    f"'listening on http://127.0.0.1:PORT'\n--- log ---\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                self._kill(proc)
                self.proc = None
                raise ServerError(
                    f"portcullis serve did not print 'listening on http://127.0.0.1:PORT' "
                    f"within {LISTEN_TIMEOUT:.0f}s\n--- log ---\n{self.log_tail()}"
                )
        if proc.poll() is not None:
            self.proc = None
            raise ServerError(
                f"portcullis serve exited (code {proc.returncode}) right after "
                f"announcing its port\n--- log ---\n{self.log_tail()}"
            )
        self.endpoint = result["endpoint"]
        self.port = result["port"]

    def _kill(self, proc: subprocess.Popen):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)

    def stop(self):
        """SIGTERM, then SIGKILL if it has not exited within STOP_TIMEOUT."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        self.last_stop_needed_kill = False
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.last_stop_needed_kill = True
                self._kill(proc)
        # Reap anything the server may have spawned in its process group.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.last_exit_code = proc.returncode
        self._log(f"===== stopped: exit code {proc.returncode}"
                  f"{' (needed SIGKILL)' if self.last_stop_needed_kill else ''}\n")
        self.endpoint = None
        self.port = None

    def restart(self):
        """Stop and start again on the same data dir / database.

        The port (and so ``endpoint``) usually changes: make new clients.
        """
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def teardown(self):
        try:
            self.stop()
        finally:
            if self.database is not None:
                self.database.drop()

    # -- offline CLI ----------------------------------------------------------

    def run_bootstrap_admin(self, user_name: str, csv: bool = False,
                            timeout: float = CMD_TIMEOUT) -> subprocess.CompletedProcess:
        cmd = [str(portcullis_bin()), "bootstrap-admin", "--user-name", user_name,
               *self._common_args()]
        if csv:
            cmd.append("--csv")
        self._log(f"===== {' '.join(cmd)}\n")
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        self._log(f"[bootstrap-admin exit {r.returncode}] stderr:\n{r.stderr}\n")
        return r

    def bootstrap_admin(self):
        """Run bootstrap-admin for ``admin_user`` and remember its key."""
        r = self.run_bootstrap_admin(self.admin_user)
        if r.returncode != 0:
            raise ServerError(
                f"bootstrap-admin failed with code {r.returncode}\nstdout:\n{r.stdout}\n"
                f"stderr:\n{r.stderr}"
            )
        self.admin_key_id, self.admin_secret = parse_ini_credentials(r.stdout)

    # -- clients ----------------------------------------------------------------

    def client(self, key_id: str | None = None, secret: str | None = None, **config):
        """A boto3 IAM client for this server (admin credentials by default)."""
        return make_iam_client(
            self.endpoint,
            key_id or self.admin_key_id,
            secret or self.admin_secret,
            **config,
        )

    def fetch_account_id(self):
        arn = self.client().get_user()["User"]["Arn"]
        m = re.fullmatch(r"arn:aws:iam::(\d{12}):user/(?:.*/)?" + re.escape(self.admin_user), arn)
        if not m:
            raise ServerError(f"unexpected admin user ARN from GetUser: {arn!r}")
        self.account_id = m.group(1)


_boto_session_lock = threading.Lock()
_boto_session: boto3.session.Session | None = None


def make_iam_client(endpoint: str, key_id: str, secret: str, **config):
    """boto3 IAM client: us-east-1, explicit keys, no retries, given endpoint."""
    global _boto_session
    with _boto_session_lock:
        if _boto_session is None:
            _boto_session = boto3.session.Session()
        cfg = dict(
            region_name=REGION,
            retries={"mode": "standard", "total_max_attempts": 1},
            connect_timeout=10,
            read_timeout=60,
            max_pool_connections=32,
        )
        cfg.update(config)
        return _boto_session.client(
            "iam",
            endpoint_url=endpoint,
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            config=Config(**cfg),
        )


def start_server(backend: str, workdir: Path, bootstrap: str = "online", extra_args: list[str] | None = None) -> PortcullisServer:
    """Start a fully set-up server: account, admin user + key, account id.

    bootstrap="online": serve, then bootstrap-admin while it runs.
    bootstrap="offline": serve (creates the account), stop, bootstrap-admin
    with no server running, serve again.
    """
    srv = PortcullisServer(backend, workdir)
    srv.extra_args = list(extra_args or [])
    try:
        srv.start()
        if bootstrap == "offline":
            srv.stop()
            srv.bootstrap_admin()
            srv.start()
        else:
            srv.bootstrap_admin()
        srv.fetch_account_id()
    except BaseException:
        srv.teardown()
        raise
    return srv


def start_node(first: PortcullisServer, workdir: Path, extra_args: list[str] | None = None, database_url: str | None = None) -> PortcullisServer:
    """Another node of ``first``'s service: its PostgreSQL database (by ``database_url``
    when given, e.g. through a proxy) and master key, its admin. Its teardown stops it and
    leaves the database to ``first``."""
    assert first.database_url, "several nodes share a PostgreSQL database"
    node = PortcullisServer("sqlite", workdir, first.admin_user)
    node.backend = first.backend
    node.database_url = database_url or first.database_url
    (node.data_dir / "master.key").write_bytes((first.data_dir / "master.key").read_bytes())
    node.extra_args = list(extra_args or [])
    node.start()
    node.admin_key_id, node.admin_secret, node.account_id = first.admin_key_id, first.admin_secret, first.account_id
    return node


# --------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------

@pytest.fixture(scope="session", params=BACKENDS)
def backend(request) -> str:
    """The storage backend: "sqlite", and "postgres" when configured."""
    return request.param


@pytest.fixture(scope="session")
def server(backend, tmp_path_factory):
    """The shared server of one backend (one per session per backend)."""
    srv = start_server(backend, tmp_path_factory.mktemp(f"server-{backend}"))
    yield srv
    srv.teardown()


@pytest.fixture
def server_factory(backend, tmp_path_factory):
    """Start extra, private server instances (torn down after the test)."""
    started: list[PortcullisServer] = []

    def factory(bootstrap: str = "online", extra_args: list[str] | None = None) -> PortcullisServer:
        srv = start_server(backend, tmp_path_factory.mktemp(f"private-{backend}"), bootstrap, extra_args)
        started.append(srv)
        return srv

    yield factory
    for srv in reversed(started):
        srv.teardown()


@pytest.fixture(scope="session")
def iam(server):
    """boto3 IAM client with the bootstrap admin's key."""
    return server.client()


@pytest.fixture
def make_iam(server):
    """Factory: make_iam(key_id, secret, **botocore_config) -> boto3 IAM client."""

    def factory(key_id: str | None = None, secret: str | None = None, **config):
        return server.client(key_id, secret, **config)

    return factory


def run_aws_cli(endpoint: str, key_id: str, secret: str, *args: str,
                timeout: float = CMD_TIMEOUT) -> CliResult:
    """Run ``aws --endpoint-url E --region us-east-1 --output json iam ARGS``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=key_id,
        AWS_SECRET_ACCESS_KEY=secret,
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_PAGER="",
        AWS_RETRY_MODE="standard",
        AWS_MAX_ATTEMPTS="1",
    )
    cmd = [aws_cli_path(), "--endpoint-url", endpoint, "--region", REGION,
           "--output", "json", "iam", *args]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    return CliResult.from_process(r)


@pytest.fixture
def aws(server):
    """aws("get-user", "--user-name", "x", creds=(key, secret)) -> CliResult.

    Runs ``aws ... iam <args>``; returns (code, parsed JSON or stdout, stderr).
    Credentials default to the bootstrap admin's.
    """

    def run(*args: str, creds: tuple[str, str] | None = None, timeout: float = CMD_TIMEOUT):
        key_id, secret = creds or (server.admin_key_id, server.admin_secret)
        return run_aws_cli(server.endpoint, key_id, secret, *args, timeout=timeout)

    return run


@pytest.fixture
def uniq():
    """uniq("prefix") -> "prefix-<12 hex>": names that never collide."""
    return unique_name


@pytest.fixture
def account_id(server) -> str:
    return server.account_id


@pytest.fixture
def cleanup():
    """Register callables to run at teardown (LIFO); their errors are ignored
    so a failing test still cleans up as much as it can."""
    actions: list = []

    def register(fn, *args, **kwargs):
        actions.append((fn, args, kwargs))
        return fn

    yield register
    for fn, args, kwargs in reversed(actions):
        try:
            fn(*args, **kwargs)
        except Exception:  # noqa: BLE001 - best-effort cleanup
            pass


# --------------------------------------------------------------------------
# Attach the server log tail to failing tests' reports.
# --------------------------------------------------------------------------

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        funcargs = getattr(item, "funcargs", {}) or {}
        for value in funcargs.values():
            if isinstance(value, PortcullisServer):
                tail = value.log_tail()
                if tail:
                    report.sections.append((f"portcullis log ({value.backend})", tail))
