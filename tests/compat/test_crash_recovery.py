"""Crash recovery: a node killed with SIGKILL while writers are busy restarts cleanly and has
lost none of the writes it acknowledged, nor the CloudTrail events that went into the same
transactions; on SQLite the database file left behind passes `PRAGMA integrity_check`."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import threading
import time
from collections import Counter

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from compat_helpers import unique_name
from test_audit_trail import lookup, trail

ROUNDS = 20
WRITERS = 4
KILL_AFTER = (0.2, 1.0)  # seconds from the start of the load to the SIGKILL
# Short timeouts, no retries: once the node is gone every call fails at once. The read
# timeout is well above the kill window, so an error before the kill is a real error.
CLIENT_CONFIG = dict(connect_timeout=2, read_timeout=10, retries={"mode": "standard", "total_max_attempts": 1})


def policy_doc(tag: str) -> dict:
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::crash-{tag}/*"}]}


def kill9(srv):
    """SIGKILL the node, no shutdown of any kind; the fixture's state is left ready for start()."""
    proc, srv.proc = srv.proc, None
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    srv._log(f"===== killed with SIGKILL (exit code {proc.returncode})\n")
    srv.endpoint = srv.port = None


class Writer(threading.Thread):
    """Writes until its calls fail with a connection error (the node was killed) or `stop`
    is set. `acked` holds every write whose successful response came back, in order."""

    def __init__(self, client, index: int, rnd: random.Random, killing: threading.Event, stop: threading.Event):
        super().__init__(name=f"crash-writer-{index}", daemon=True)
        self.client, self.index, self.rnd = client, index, rnd
        self.killing, self.stop = killing, stop
        self.acked: list[tuple] = []
        self.users: list[str] = []
        self.refused: list[str] = []  # ClientError codes (answered, not acknowledged)
        self.early_failure: str | None = None  # a connection error before the kill
        self.ended_by: str | None = None

    def _call(self, record, fn, **kwargs):
        fn(**kwargs)
        self.acked.append(record)

    def step(self):
        c, r = self.client, self.rnd
        choice = r.random()
        if not self.users or choice < 0.35:
            name = unique_name(f"crash{self.index}")
            self._call(("user", name), c.create_user, UserName=name)
            self.users.append(name)
        elif choice < 0.6:
            user, pname = r.choice(self.users), unique_name("inline")
            doc = policy_doc(pname)
            self._call(("user_policy", user, pname, doc), c.put_user_policy,
                       UserName=user, PolicyName=pname, PolicyDocument=json.dumps(doc))
        elif choice < 0.8:
            group = unique_name(f"crashg{self.index}")
            self._call(("group", group), c.create_group, GroupName=group)
            user = r.choice(self.users)
            self._call(("member", group, user), c.add_user_to_group, GroupName=group, UserName=user)
        else:
            pname = unique_name("crashp")
            doc = policy_doc(pname)
            arn = c.create_policy(PolicyName=pname, PolicyDocument=json.dumps(doc))["Policy"]["Arn"]
            self.acked.append(("policy", arn, pname, doc))

    def run(self):
        while not self.stop.is_set():
            try:
                self.step()
            except ClientError as e:
                self.refused.append(e.response["Error"]["Code"])
            except BotoCoreError as e:  # connection refused / reset / closed mid-response
                if not self.killing.is_set():
                    self.early_failure = f"{type(e).__name__}: {e}"
                self.ended_by = type(e).__name__
                return
            except Exception as e:  # noqa: BLE001 - reported by the test
                self.early_failure = f"unexpected {type(e).__name__}: {e}"
                return
        self.ended_by = "stop"


def run_load_and_kill(srv, rnd: random.Random, delay: float) -> tuple[list[tuple], list[Writer]]:
    """Writers against the running node, SIGKILL after `delay` seconds of load."""
    clients = [srv.client(**CLIENT_CONFIG) for _ in range(WRITERS)]  # made here: creation is not thread-safe
    killing, stop = threading.Event(), threading.Event()
    writers = [Writer(clients[i], i, random.Random(rnd.random()), killing, stop) for i in range(WRITERS)]
    for w in writers:
        w.start()
    time.sleep(delay)
    killing.set()
    kill9(srv)
    for w in writers:
        w.join(timeout=15)
    stop.set()
    for w in writers:
        w.join(timeout=15)
        assert not w.is_alive(), f"{w.name} still running 30 s after the kill"
    return [a for w in writers for a in w.acked], writers


def verify(srv, acked: list[tuple], where: str) -> int:
    """Every acknowledged write is there, and every acknowledged CreateUser has its event."""
    iam, ct = srv.client(), trail(srv)
    lost = []
    for write in acked:
        kind = write[0]
        try:
            if kind == "user":
                iam.get_user(UserName=write[1])
                names = [e["EventName"] for e in lookup(ct, "ResourceName", write[1])]
                if "CreateUser" not in names:
                    lost.append((write, f"no CreateUser event, events: {names}"))
            elif kind == "user_policy":
                got = iam.get_user_policy(UserName=write[1], PolicyName=write[2])["PolicyDocument"]
                if got != write[3]:
                    lost.append((write, f"document is {got!r}"))
            elif kind == "group":
                iam.get_group(GroupName=write[1])
            elif kind == "member":
                members = [u["UserName"] for u in iam.get_group(GroupName=write[1])["Users"]]
                if write[2] not in members:
                    lost.append((write, f"members are {members}"))
            elif kind == "policy":
                got = iam.get_policy(PolicyArn=write[1])["Policy"]
                version = iam.get_policy_version(PolicyArn=write[1], VersionId=got["DefaultVersionId"])
                if got["PolicyName"] != write[2] or version["PolicyVersion"]["Document"] != write[3]:
                    lost.append((write, f"policy {got!r} / {version['PolicyVersion']['Document']!r}"))
            else:
                raise AssertionError(kind)
        except ClientError as e:
            lost.append((write, e.response["Error"]["Code"]))
    assert not lost, (f"{where}: {len(lost)} of {len(acked)} acknowledged writes lost after SIGKILL + restart:\n"
                      + "\n".join(f"  {w!r}: {why}" for w, why in lost[:20])
                      + f"\n--- log ---\n{srv.log_tail(80)}")
    return len(acked)


def listed(paginator_client, op: str, key: str, field: str, **kwargs) -> set[str]:
    out = set()
    for page in paginator_client.get_paginator(op).paginate(**kwargs):
        out |= {item[field] for item in page[key]}
    return out


def test_kill_9_under_write_load_loses_no_acknowledged_write(server_factory, backend):
    seed = int(os.environ.get("PORTCULLIS_CRASH_SEED") or random.randrange(1 << 30))
    rnd = random.Random(seed)
    srv = server_factory()
    started = time.monotonic()
    all_acked: list[tuple] = []
    per_round, refused, cut_off = [], [], Counter()
    for round_no in range(1, ROUNDS + 1):
        where = f"backend {backend}, round {round_no} (seed {seed})"
        acked, writers = run_load_and_kill(srv, rnd, rnd.uniform(*KILL_AFTER))
        early = [f"{w.name}: {w.early_failure}" for w in writers if w.early_failure]
        assert not early, f"{where}: writer failed before the kill:\n" + "\n".join(early) + f"\n--- log ---\n{srv.log_tail()}"
        cut_off.update(w.ended_by for w in writers)
        refused += [code for w in writers for code in w.refused]

        srv.start()  # raises, with the log, unless the node comes back up
        assert srv.client().get_user()["User"]["UserName"] == srv.admin_user, where
        verify(srv, acked, where)
        per_round.append(len(acked))
        all_acked += acked

    # Writes of earlier rounds survived the later kills too.
    iam = srv.client()
    users = listed(iam, "list_users", "Users", "UserName")
    groups = listed(iam, "list_groups", "Groups", "GroupName")
    policies = listed(iam, "list_policies", "Policies", "Arn", Scope="Local")
    missing = ([w for w in all_acked if w[0] == "user" and w[1] not in users]
               + [w for w in all_acked if w[0] == "group" and w[1] not in groups]
               + [w for w in all_acked if w[0] == "policy" and w[1] not in policies])
    assert not missing, f"backend {backend} (seed {seed}): acknowledged writes missing at the end: {missing[:20]}"
    assert "panicked" not in srv.log_path.read_text(errors="replace"), srv.log_tail(80)

    elapsed = time.monotonic() - started
    print(f"\ncrash recovery [{backend}]: {ROUNDS} rounds of SIGKILL under {WRITERS} writers, "
          f"{len(all_acked)} acknowledged writes (per round {min(per_round)}..{max(per_round)}), "
          f"{len(all_acked)} verified after restart, 0 lost; writers cut off by {dict(cut_off)}, "
          f"{len(refused)} refused ({', '.join(sorted(set(refused))) or 'none'}); seed {seed}; {elapsed:.1f} s")
    assert sum(per_round) / ROUNDS > 0 and sum(1 for n in per_round if n > 0) >= ROUNDS // 2, \
        f"the load hardly ran: acknowledged writes per round {per_round}"


def test_sqlite_database_is_intact_after_kill_9(server_factory, backend, tmp_path):
    if backend != "sqlite":
        pytest.skip("PRAGMA integrity_check is about the SQLite file; PostgreSQL recovers by itself")
    srv = server_factory()
    rnd = random.Random()
    acked, _ = run_load_and_kill(srv, rnd, rnd.uniform(0.5, 1.0))
    assert acked, "the load did not run"

    # Check the files exactly as the kill left them (database, WAL, shared memory), on a copy:
    # opening the originals would recover and checkpoint the WAL before the server restarts.
    db = srv.data_dir / "portcullis.db"
    assert db.exists(), sorted(p.name for p in srv.data_dir.iterdir())
    for suffix in ("", "-wal", "-shm"):
        if (srv.data_dir / f"portcullis.db{suffix}").exists():
            shutil.copy2(srv.data_dir / f"portcullis.db{suffix}", tmp_path / f"portcullis.db{suffix}")
    conn = sqlite3.connect(tmp_path / "portcullis.db")
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()

    srv.start()
    verify(srv, acked, "sqlite integrity round")
