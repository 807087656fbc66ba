"""A full disk under SQLite: writes fail with AWS-shaped errors (an XML error with a code
and a request id, HTTP 5xx), quickly; reads keep working; the process stays up; every
write acknowledged is committed to the file, as another connection reads it. Once space is
freed, writes succeed again without a restart, every acknowledged write is there, the
database file passes `PRAGMA integrity_check`, and a restart finds everything again.

The data directory is on a small tmpfs the test mounts (so it needs root, and is skipped,
saying why, where `mount` fails); the server's log stays off it. The disk is filled by a
file that leaves 256 KiB free, and freed by deleting that file.

This found a real defect: a transaction SQLite had rolled back by itself on SQLITE_FULL
left sqlx counting one open, so every later transaction nested in one that never
committed; writes were acknowledged, read back by the same server, and lost on restart."""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
import subprocess
import time
import uuid

import pytest
import requests
from botocore.exceptions import BotoCoreError, ClientError

from compat_helpers import unique_name
from conftest import PortcullisServer

DISK_SIZE = "16m"
LEAVE = 256 * 1024  # bytes the filler leaves free: some writes fit, then they fail
MAX_WRITES_WHILE_FULL = 1500  # writes tried before giving up on the disk filling up
FULL_LIMIT = 45.0  # seconds for the same
FAILURES_TO_SEE = 12  # failed writes looked at once the disk is full
ANSWER_WITHIN = 15.0  # seconds: a slower answer is a hang
ACCEPTED_ERRORS = {  # AWS's shapes for a server-side failure
    ("ServiceUnavailable", 503): "The request has failed due to a temporary failure of the server.",
    ("ServiceFailure", 500): "The request processing has failed because of an unknown error, exception or failure.",
    ("InternalFailure", 500): None,
}
CLIENT_CONFIG = dict(connect_timeout=5, read_timeout=ANSWER_WITHIN + 10, retries={"mode": "standard", "total_max_attempts": 1})


@pytest.fixture
def small_disk(tmp_path):
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_SIZE},mode=0700", "tmpfs", str(mount_point)],
                       capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a {DISK_SIZE} tmpfs: {r.stderr.strip() or r.returncode}")
    try:
        yield mount_point
    finally:
        if subprocess.run(["umount", str(mount_point)], capture_output=True, timeout=30).returncode != 0:
            subprocess.run(["umount", "-l", str(mount_point)], capture_output=True, timeout=30)


@pytest.fixture
def srv(small_disk, tmp_path):
    """A SQLite server whose data directory is on the small disk; its log is not."""
    s = PortcullisServer("sqlite", tmp_path / "server")
    s.data_dir = small_disk / "data"
    s.data_dir.mkdir()
    try:
        s.start()
        s.bootstrap_admin()
        s.fetch_account_id()
        yield s
    finally:
        s.stop()


def document(tag: str, size: int) -> dict:
    """An identity policy of about `size` characters, not compressible."""
    resources = []
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": resources}]}
    while len(json.dumps(doc, separators=(",", ":"))) < size - 40:
        resources.append(f"arn:aws:s3:::{tag[:20]}-{uuid.uuid4().hex[:10]}/*")
    return doc


def free_bytes(path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill(path, leave: int) -> int:
    """Writes `path` until the file system has at most `leave` bytes free; returns its size."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    written = 0
    try:
        for chunk in (1 << 20, 1 << 12):
            buf = os.urandom(chunk)
            while free_bytes(path.parent) - chunk >= leave:
                try:
                    written += os.write(fd, buf)
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)
    return written


class Writes:
    """Writes of three kinds, each kept once acknowledged; failures kept with their answer."""

    def __init__(self, client):
        self.client = client
        self.acked: list[tuple] = []
        self.failed: list[tuple] = []
        self.users: list[str] = []  # acknowledged users without an inline policy yet

    def one(self, i: int):
        """Makes write number `i`; returns None when acknowledged, else the failure."""
        c = self.client
        kind = ("user", "user_policy", "policy")[i % 3] if self.users else "user"
        started = time.monotonic()
        try:
            if kind == "user":
                name = unique_name("full")
                c.create_user(UserName=name)
                record = ("user", name)
                self.users.append(name)
            elif kind == "user_policy":
                # Near the 2,048-character quota of a user's inline policies: one per user.
                user, pname = self.users[-1], unique_name("inline")
                doc = document(pname, 1900)
                c.put_user_policy(UserName=user, PolicyName=pname, PolicyDocument=json.dumps(doc))
                record = ("user_policy", user, pname, doc)
                self.users.pop()
            else:
                pname = unique_name("fullp")
                doc = document(pname, 6000)
                arn = c.create_policy(PolicyName=pname, PolicyDocument=json.dumps(doc))["Policy"]["Arn"]
                record = ("policy", arn, pname, doc)
        except ClientError as e:
            meta, err = e.response.get("ResponseMetadata", {}), e.response.get("Error", {})
            failure = (kind, meta.get("HTTPStatusCode"), err.get("Code"), err.get("Message"), meta.get("RequestId"), time.monotonic() - started)
            self.failed.append(failure)
            return failure
        except BotoCoreError as e:  # no answer at all: a dropped connection, a hang, a crash
            failure = (kind, None, f"no answer: {type(e).__name__}", str(e), None, time.monotonic() - started)
            self.failed.append(failure)
            return failure
        took = time.monotonic() - started
        assert took < ANSWER_WITHIN, f"{kind} acknowledged only after {took:.1f} s"
        self.acked.append(record)
        return None


def committed_users(db) -> set[str]:
    """The user names committed to the database file, read by a connection of its own
    (which sees no transaction the server has not committed)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return {row[0] for row in conn.execute("SELECT name FROM users")}
    finally:
        conn.close()


def check_committed(srv, acked: list[tuple], where: str):
    """Acknowledged means committed: every acknowledged user is in the file."""
    committed = committed_users(srv.data_dir / "portcullis.db")
    missing = [w[1] for w in acked if w[0] == "user" and w[1] not in committed]
    assert not missing, (f"{where}: {len(missing)} acknowledged users are not committed to the database file "
                         f"(the server answers from a transaction that never commits?): {missing[:10]}\n{srv.log_tail(30)}")


def verify(client, acked: list[tuple], where: str):
    """Every acknowledged write is there, as it was written."""
    lost = []
    for write in acked:
        try:
            if write[0] == "user":
                client.get_user(UserName=write[1])
            elif write[0] == "user_policy":
                got = client.get_user_policy(UserName=write[1], PolicyName=write[2])["PolicyDocument"]
                if got != write[3]:
                    lost.append((write[:3], "document differs"))
            else:
                policy = client.get_policy(PolicyArn=write[1])["Policy"]
                version = client.get_policy_version(PolicyArn=write[1], VersionId=policy["DefaultVersionId"])["PolicyVersion"]
                if version["Document"] != write[3]:
                    lost.append((write[:3], "document differs"))
        except ClientError as e:
            lost.append((write[:3], e.response["Error"]["Code"]))
    assert not lost, f"{where}: {len(lost)} of {len(acked)} acknowledged writes lost: {lost[:20]}"
    users = set()
    for page in client.get_paginator("list_users").paginate():
        users |= {u["UserName"] for u in page["Users"]}
    missing = [w[1] for w in acked if w[0] == "user" and w[1] not in users]
    assert not missing, f"{where}: acknowledged users not listed: {missing[:20]}"


def test_a_full_disk_fails_writes_cleanly_and_they_succeed_once_space_is_freed(srv, small_disk, tmp_path):
    started = time.monotonic()
    iam = srv.client(**CLIENT_CONFIG)
    pid = srv.proc.pid
    writes = Writes(iam)
    for i in range(9):  # some of each kind before the disk fills
        assert writes.one(i) is None, writes.failed[-1]

    filler = small_disk / "filler"
    filled = fill(filler, LEAVE)
    assert free_bytes(small_disk) < LEAVE + 8192, "the disk is not nearly full"

    # Write until the disk is full and writes fail, then a few more: every failure must be
    # an AWS-shaped server error, answered quickly, and the node must stay up.
    i, first_failure_at = 9, None
    deadline = time.monotonic() + FULL_LIMIT
    while len(writes.failed) < FAILURES_TO_SEE:
        assert i < MAX_WRITES_WHILE_FULL and time.monotonic() < deadline, \
            f"{i - 9} writes on a full disk, {len(writes.failed)} failed: the disk never filled up\n{srv.log_tail()}"
        failure = writes.one(i)
        if failure is None:
            # Acknowledged: committed for good, not just answered (a failure of the server's
            # own background writes counts as much as one of a request).
            check_committed(srv, writes.acked, f"write #{i} on the nearly full disk (first failed write: #{first_failure_at})")
        elif first_failure_at is None:
            first_failure_at = i
        i += 1
    acked_while_full = len(writes.acked) - 9
    bad = []
    for kind, status, code, message, request_id, took in writes.failed:
        expected = ACCEPTED_ERRORS.get((code, status), "")
        if expected == "" or (expected is not None and message != expected) or not message or not request_id or took > ANSWER_WITHIN:
            bad.append((kind, status, code, message, request_id, round(took, 2)))
    assert not bad, (f"failed writes on a full disk that are not AWS-shaped server errors: {bad}\n"
                     f"--- log ---\n{srv.log_tail(60)}")
    assert srv.proc.poll() is None, f"the server exited on a full disk\n{srv.log_tail()}"
    answers = sorted({(status, code) for _, status, code, *_ in writes.failed})

    # Reads still work while the disk is full, and what was acknowledged is committed.
    assert iam.get_user()["User"]["UserName"] == srv.admin_user
    verify(iam, writes.acked, "while the disk is full")
    check_committed(srv, writes.acked, "while the disk is full")
    assert requests.get(f"{srv.endpoint}/_portcullis/health", timeout=10).status_code == 200

    # Space freed: writes succeed again, on the same process.
    filler.unlink()
    freed_at = time.monotonic()
    while (failure := writes.one(i)) is not None:
        kind, status, code, message, request_id, took = failure
        assert (code, status) in ACCEPTED_ERRORS and request_id, f"after freeing space: {failure}"
        assert time.monotonic() - freed_at < 10, f"writes still fail 10 s after the space was freed: {writes.failed[-5:]}\n{srv.log_tail()}"
        time.sleep(0.25)
        i += 1
    recovered_after = time.monotonic() - freed_at
    for i in range(i + 1, i + 7):  # then every kind succeeds, twice
        assert writes.one(i) is None, f"a write failed after the space was freed: {writes.failed[-1]}\n{srv.log_tail()}"
    assert srv.proc.pid == pid and srv.proc.poll() is None, "the server was restarted"
    verify(iam, writes.acked, "after freeing space")
    check_committed(srv, writes.acked, "after freeing space")
    assert "panicked" not in srv.log_path.read_text(errors="replace"), srv.log_tail(80)

    # Stopped cleanly, the file is sound; started again, everything is there.
    srv.stop()
    assert srv.last_exit_code == 0 and not srv.last_stop_needed_kill, f"exit code {srv.last_exit_code}\n{srv.log_tail()}"
    copy = tmp_path / "check"
    copy.mkdir()
    for suffix in ("", "-wal", "-shm"):
        if (srv.data_dir / f"portcullis.db{suffix}").exists():
            shutil.copy2(srv.data_dir / f"portcullis.db{suffix}", copy / f"portcullis.db{suffix}")
    conn = sqlite3.connect(copy / "portcullis.db")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()
    srv.start()
    verify(srv.client(**CLIENT_CONFIG), writes.acked, "after a restart")

    print(f"\ndisk full: filler {filled >> 10} KiB; {acked_while_full} writes acknowledged on the nearly full disk "
          f"(the first failure was write #{first_failure_at}); {len(writes.failed)} failed, answered {answers}, "
          f"slowest {max(f[5] for f in writes.failed):.2f} s; writes succeeded again {recovered_after:.1f} s after freeing space; "
          f"{len(writes.acked)} acknowledged writes verified after a restart; {time.monotonic() - started:.1f} s")
