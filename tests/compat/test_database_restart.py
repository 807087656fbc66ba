"""PostgreSQL restarted under load: while it is away every request is answered within
seconds, either correctly or with `ServiceUnavailable` (HTTP 503, AWS's shape), never with a
wrong answer (a missing user that exists, a refused write, an internal failure, a dropped
connection, a hang); once it is back the node recovers by itself, without a restart, and
every write it acknowledged is there.

The shared PostgreSQL of the suite is left alone: the test makes a private cluster (initdb
as the `postgres` OS user, in a temporary directory, on a free loopback port), so it needs
root and PostgreSQL's server binaries, and is skipped, saying why, without them. It restarts
that cluster three times while eight threads create, read and list users: `pg_ctl restart
-m fast` (away for a moment), then stop `-m fast` and stop `-m immediate` (crash-like, the
cluster recovers from its WAL on start), each followed by a few seconds down."""

from __future__ import annotations

import glob
import os
import pwd
import random
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
from botocore.exceptions import BotoCoreError, ClientError

from compat_helpers import unique_name
from conftest import PortcullisServer

THREADS = 8
CALLS_PER_THREAD = 1500  # a bound; the time bound below ends the load first
LOAD_LIMIT = 75.0  # seconds; the load never runs longer
PAUSE = 0.01  # seconds between one thread's calls
ANSWER_WITHIN = 15.0  # seconds: a slower answer is a hang
RECOVER_WITHIN = 30.0  # seconds after PostgreSQL is back
DOWN_FOR = 3.0  # seconds PostgreSQL stays stopped in the stop/start rounds
SEEDS = 20
UNAVAILABLE_MESSAGE = "The request has failed due to a temporary failure of the server."
# One attempt per call (a write is never retried: its first answer is what counts) and a
# read timeout above ANSWER_WITHIN, so a hang is measured rather than cut short.
CLIENT_CONFIG = dict(connect_timeout=5, read_timeout=ANSWER_WITHIN + 10, retries={"mode": "standard", "total_max_attempts": 1})


# --------------------------------------------------------------------------
# A private PostgreSQL cluster.
# --------------------------------------------------------------------------

def _pg_bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateCluster:
    """A PostgreSQL cluster of its own, run by the `postgres` OS user: trust authentication,
    loopback only, its unix socket in its own directory."""

    def __init__(self, bin_dir: Path):
        self.bin = bin_dir
        # Directly under /tmp: pytest's own temporary directories are private to root.
        self.root = Path(tempfile.mkdtemp(prefix="portcullis-pg-"))
        os.chmod(self.root, 0o755)
        pw = pwd.getpwnam("postgres")
        os.chown(self.root, pw.pw_uid, pw.pw_gid)
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = _free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/portcullis"

    def _run(self, *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
        r = subprocess.run(["runuser", "-u", "postgres", "--", *args], cwd=self.root, capture_output=True,
                           text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}\n--- postgres log ---\n{self.log_tail()}")
        return r

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def init(self):
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        with open(self.data / "postgresql.conf", "a") as f:
            f.write(f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.root}'\n"
                    "max_connections = 40\nshared_buffers = 32MB\n")
        self.start()
        self._run(str(self.bin / "createdb"), "-h", str(self.root), "-p", str(self.port), "-U", "postgres", "portcullis")

    def pg_ctl(self, *args: str):
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", *args)

    def start(self):
        self.pg_ctl("start")

    def stop(self, mode: str):
        self.pg_ctl("stop", "-m", mode)

    def restart(self, mode: str):
        self.pg_ctl("restart", "-m", mode)

    def user_names(self) -> set[str]:
        r = self._run(str(self.bin / "psql"), "-h", str(self.root), "-p", str(self.port), "-U", "postgres", "-d", "portcullis",
                      "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", "SELECT name FROM users")
        return {line for line in r.stdout.splitlines() if line}

    def destroy(self):
        if (self.data / "postmaster.pid").exists():
            subprocess.run(["runuser", "-u", "postgres", "--", str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-t", "30",
                            "stop", "-m", "immediate"], capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def cluster():
    bin_dir = _pg_bin_dir()
    if bin_dir is None or not all((bin_dir / b).exists() for b in ("initdb", "pg_ctl", "createdb", "psql")):
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin")
    if os.geteuid() != 0:
        pytest.skip("making a private PostgreSQL cluster needs root (to run initdb as the postgres user)")
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("no `postgres` OS user to run a private PostgreSQL cluster as")
    if shutil.which("runuser") is None:
        pytest.skip("runuser not found")
    c = PrivateCluster(bin_dir)
    try:
        c.init()
        yield c
    finally:
        c.destroy()


@pytest.fixture
def node(cluster, tmp_path):
    """One Portcullis node on the private cluster, with an admin."""
    srv = PortcullisServer("sqlite", tmp_path / "node")
    srv.backend, srv.database_url = "postgres", cluster.url
    try:
        srv.start()
        srv.bootstrap_admin()
        srv.fetch_account_id()
        yield srv
    finally:
        srv.stop()


# --------------------------------------------------------------------------
# The load.
# --------------------------------------------------------------------------

class Answer:
    __slots__ = ("at", "op", "name", "outcome", "detail", "took")

    def __init__(self, at, op, name, outcome, detail, took):
        self.at, self.op, self.name, self.outcome, self.detail, self.took = at, op, name, outcome, detail, took

    def __repr__(self):
        return f"{self.op}({self.name}) at {self.at:.2f}s after {self.took:.2f}s: {self.outcome} {self.detail}"


class Load:
    """Shared state of the load: users known to exist, every answer, the acknowledged and
    the unavailable creates."""

    def __init__(self, seeds: list[str]):
        self.t0 = time.monotonic()
        self.lock = threading.Lock()
        self.known = list(seeds)
        self.seeds = set(seeds)
        self.answers: list[Answer] = []
        self.acked: set[str] = set()
        self.unavailable_creates: set[str] = set()

    def call(self, op: str, name: str | None, fn, check) -> str:
        """Makes one call; records and returns its outcome: "ok", "unavailable" or "wrong"."""
        started = time.monotonic()
        try:
            resp = fn()
            problem = check(resp)
            outcome, detail = ("wrong", problem) if problem else ("ok", "")
        except ClientError as e:
            meta, err = e.response.get("ResponseMetadata", {}), e.response.get("Error", {})
            status, code, message = meta.get("HTTPStatusCode"), err.get("Code"), err.get("Message")
            if status == 503 and code == "ServiceUnavailable" and message == UNAVAILABLE_MESSAGE and meta.get("RequestId"):
                outcome, detail = "unavailable", ""
            else:
                outcome, detail = "wrong", f"HTTP {status} {code}: {message!r} (request id {meta.get('RequestId')!r})"
        except BotoCoreError as e:  # no answer: connection refused/reset/closed, read timeout
            outcome, detail = "wrong", f"no answer: {type(e).__name__}: {e}"
        took = time.monotonic() - started
        if outcome != "wrong" and took > ANSWER_WITHIN:
            outcome, detail = "wrong", f"answered only after {took:.1f} s"
        with self.lock:
            self.answers.append(Answer(started - self.t0, op, name, outcome, detail, took))
            if op == "create_user" and outcome == "ok":
                self.acked.add(name)
                self.known.append(name)
            elif op == "create_user" and outcome == "unavailable":
                self.unavailable_creates.add(name)
        return outcome

    def create_user(self, client) -> str:
        name = unique_name("restart")
        return self.call("create_user", name, lambda: client.create_user(UserName=name, Path="/load/"),
                         lambda r: None if r["User"]["UserName"] == name and r["User"]["Path"] == "/load/" else f"answered {r['User']!r}")

    def get_user(self, client, rnd: random.Random) -> str:
        with self.lock:
            name = rnd.choice(self.known)
        return self.call("get_user", name, lambda: client.get_user(UserName=name),
                         lambda r: None if r["User"]["UserName"] == name else f"answered {r['User']['UserName']!r}")

    def list_seeds(self, client) -> str:
        def check(r):
            got = {u["UserName"] for u in r["Users"]}
            return None if got == self.seeds and not r.get("IsTruncated") else f"listed {len(got)} users: missing {sorted(self.seeds - got)[:5]}, extra {sorted(got - self.seeds)[:5]}"
        return self.call("list_users", "/seed/", lambda: client.list_users(PathPrefix="/seed/"), check)


class Worker(threading.Thread):
    def __init__(self, load: Load, client, index: int, stop: threading.Event):
        super().__init__(name=f"restart-load-{index}", daemon=True)
        self.load, self.client, self.stop = load, client, stop
        self.rnd = random.Random(index)
        self.failure: str | None = None

    def run(self):
        try:
            deadline = time.monotonic() + LOAD_LIMIT
            for _ in range(CALLS_PER_THREAD):
                if self.stop.is_set() or time.monotonic() > deadline:
                    return
                choice = self.rnd.random()
                if choice < 0.4:
                    self.load.create_user(self.client)
                elif choice < 0.8:
                    self.load.get_user(self.client, self.rnd)
                else:
                    self.load.list_seeds(self.client)
                time.sleep(PAUSE)
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.failure = f"{type(e).__name__}: {e}"


def wait_until_recovered(node, load: Load, client) -> float:
    """Creates users until one is acknowledged (503s meanwhile are fine, anything else is
    recorded as wrong), then waits for /_portcullis/ready to say 200; returns the seconds
    this took."""
    started = time.monotonic()
    deadline = started + RECOVER_WITHIN
    while load.create_user(client) != "ok":
        assert time.monotonic() < deadline, f"no write acknowledged {RECOVER_WITHIN:.0f} s after PostgreSQL came back\n--- log ---\n{node.log_tail()}"
        time.sleep(0.25)
    while True:
        status = requests.get(f"{node.endpoint}/_portcullis/ready", timeout=ANSWER_WITHIN).status_code
        if status == 200:
            break
        assert time.monotonic() < deadline, f"/_portcullis/ready still {status} {RECOVER_WITHIN:.0f} s after PostgreSQL came back"
        time.sleep(0.25)
    return time.monotonic() - started


def test_postgres_restarted_under_load_gives_503s_then_recovers_without_a_restart(cluster, node):
    started = time.monotonic()
    admin = node.client(**CLIENT_CONFIG)
    seeds = [unique_name("seed") for _ in range(SEEDS)]
    for name in seeds:
        admin.create_user(UserName=name, Path="/seed/")
    pid = node.proc.pid
    assert requests.get(f"{node.endpoint}/_portcullis/ready", timeout=10).status_code == 200

    load = Load(seeds)
    clients = [node.client(**CLIENT_CONFIG) for _ in range(THREADS)]  # made here: client creation is not thread-safe
    stop = threading.Event()
    workers = [Worker(load, clients[i], i, stop) for i in range(THREADS)]
    for w in workers:
        w.start()
    rounds = []
    try:
        time.sleep(2)
        for kind, mode in (("restart", "fast"), ("stop", "fast"), ("stop", "immediate")):
            down_at = time.monotonic() - load.t0
            if kind == "restart":
                cluster.restart(mode)
            else:
                cluster.stop(mode)
                time.sleep(DOWN_FOR)
                assert node.proc.poll() is None, f"the node exited while PostgreSQL was down\n--- log ---\n{node.log_tail()}"
                status = requests.get(f"{node.endpoint}/_portcullis/ready", timeout=ANSWER_WITHIN).status_code
                assert status == 503, f"/_portcullis/ready answered {status} while PostgreSQL was stopped"
                cluster.start()
            up_at = time.monotonic() - load.t0
            recovery = wait_until_recovered(node, load, admin)
            rounds.append((f"{kind} -m {mode}", down_at, up_at, recovery))
            time.sleep(2)  # load on the recovered database
    finally:
        stop.set()
        for w in workers:
            w.join(timeout=ANSWER_WITHIN + 15)
    stuck = [w.name for w in workers if w.is_alive()]
    assert not stuck, f"load threads still waiting for an answer: {stuck}"
    crashed = [f"{w.name}: {w.failure}" for w in workers if w.failure]
    assert not crashed, crashed

    answers = load.answers
    wrong = [a for a in answers if a.outcome == "wrong"]
    assert not wrong, (f"{len(wrong)} of {len(answers)} answers were neither right nor ServiceUnavailable:\n"
                       + "\n".join(map(repr, wrong[:25])) + f"\nrounds {rounds}\n--- log ---\n{node.log_tail(80)}")
    by_round = []  # the answers to requests made from the stop until the node had recovered
    for label, down_at, up_at, recovery in rounds:
        window = [a for a in answers if down_at <= a.at <= up_at + recovery]
        by_round.append((label, Counter(a.outcome for a in window)))
    # The stop/start rounds kept PostgreSQL away for seconds: the node must have said so.
    for label, counts in by_round[1:]:
        assert counts["unavailable"] > 0, f"{label}: no ServiceUnavailable while PostgreSQL was stopped: {counts}"
    after = [a for a in answers if a.at > rounds[-1][2] + rounds[-1][3]]
    assert any(a.outcome == "ok" and a.op == "create_user" for a in after), "no write acknowledged after the last recovery"

    # Every acknowledged write is there, on the same process, which has not been restarted.
    assert node.proc.pid == pid and node.proc.poll() is None, "the node was restarted or exited"
    lost = []
    for name in sorted(load.acked):
        try:
            admin.get_user(UserName=name)
        except ClientError as e:
            lost.append((name, e.response["Error"]["Code"]))
    assert not lost, f"{len(lost)} of {len(load.acked)} acknowledged users missing: {lost[:20]}"
    listed = set()
    for page in admin.get_paginator("list_users").paginate(PathPrefix="/load/"):
        listed |= {u["UserName"] for u in page["Users"]}
    assert load.acked <= listed, f"acknowledged users not listed: {sorted(load.acked - listed)[:20]}"
    # A create answered 503 may have committed (the connection was lost after COMMIT), but
    # nothing else appears, and the node says exactly what the database holds.
    assert listed - load.acked <= load.unavailable_creates, f"users nobody created: {sorted(listed - load.acked - load.unavailable_creates)[:20]}"
    in_database = {n for n in cluster.user_names() if n.startswith("restart-")}
    assert listed == in_database, f"node lists {len(listed)} users, the database holds {len(in_database)}: only listed {sorted(listed - in_database)[:10]}, only stored {sorted(in_database - listed)[:10]}"
    assert requests.get(f"{node.endpoint}/_portcullis/ready", timeout=10).status_code == 200
    assert "panicked" not in node.log_path.read_text(errors="replace"), node.log_tail(80)

    counts = Counter(a.outcome for a in answers)
    slowest = max(a.took for a in answers)
    print(f"\ndatabase restart: {len(answers)} answers ({dict(counts)}), slowest {slowest:.1f} s; "
          f"{len(load.acked)} users acknowledged, all present; {len(load.unavailable_creates)} creates answered 503, "
          f"{len(listed & load.unavailable_creates)} of them committed anyway; rounds "
          + "; ".join(f"{label}: {dict(c)} while away, writes again {r[3]:.1f} s after it was back" for (label, c), r in zip(by_round, rounds))
          + f"; {time.monotonic() - started:.1f} s")
