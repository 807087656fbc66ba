#!/usr/bin/env python3
"""Helper of bench/load/run.sh: seeds an account, pre-signs requests, runs wrk, reports.

Subcommands (run.sh calls them in this order):

  seed     create users, groups, customer policies and attachments through boto3
  measure  pre-sign one workload with botocore (SigV4Auth + AWSRequest, exactly as boto3
           signs), check that the server answers it with 200, replay it with wrk and
           append the figures to a results file (JSON lines)
  openloop offer one workload's request at fixed rates with oha (open loop, latency
           corrected for coordinated omission) and append the figures (label "openloop")
  report   print the tables (Markdown) from a results file

wrk (closed loop) and oha (open loop) do the load: Python would saturate long before the
server. The signed requests are written to a Lua data file that replay.lua loads (oha gets
one request on its command line); SigV4 signatures stay valid for 15 minutes, so every
measurement signs its requests right before it runs.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import subprocess
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

HERE = os.path.dirname(os.path.abspath(__file__))
REGION = "us-east-1"
IAM_VERSION = "2010-05-08"
STS_VERSION = "2011-06-15"
FORM = "application/x-www-form-urlencoded; charset=utf-8"

USER_FMT = "user-{:05d}"
POLICY_FMT = "bench-policy-{:04d}"
# Page size of the listing workloads: the main account's 10 users (and the bench user) and 10
# policies fill a page as the 100,000-user account does, so the scaling check compares
# pages of the same size.
LIST_PAGE = 10
GROUPS = ["bench-group-0", "bench-group-1", "bench-group-2", "bench-group-3", "bench-group-4"]
# AWS-managed policies attached to the groups (one each), besides customer policies.
GROUP_MANAGED = [
    "arn:aws:iam::aws:policy/IAMReadOnlyAccess",
    "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
    "arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess",
    "arn:aws:iam::aws:policy/AmazonSQSFullAccess",
    "arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess",
]
# The bench user (the caller) belongs to these groups, besides "Admins".
BENCH_GROUPS = GROUPS[:3]


def log(msg: str) -> None:
    print(f"[loadbench] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- seeding


def clients(endpoint: str, ak: str, sk: str, token: str | None = None):
    cfg = Config(retries={"max_attempts": 10, "mode": "standard"}, max_pool_connections=16)
    kw = dict(endpoint_url=endpoint, region_name=REGION, aws_access_key_id=ak, aws_secret_access_key=sk,
              aws_session_token=token, config=cfg)
    return boto3.client("iam", **kw), boto3.client("sts", **kw)


def ignore_exists(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except ClientError as e:
        if e.response["Error"]["Code"] in ("EntityAlreadyExists",):
            return None
        raise


def policy_doc(i: int) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Read", "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
             "Resource": [f"arn:aws:s3:::bench-bucket-{i}", f"arn:aws:s3:::bench-bucket-{i}/*"]},
            {"Sid": "DenyDelete", "Effect": "Deny", "Action": "s3:DeleteBucket",
             "Resource": f"arn:aws:s3:::bench-bucket-{i}",
             "Condition": {"StringNotEquals": {"aws:PrincipalTag/team": "ops"}}},
        ],
    })


def cmd_seed(a) -> None:
    iam, sts = clients(a.endpoint, a.access_key, a.secret_key)
    account = sts.get_caller_identity()["Account"]
    t0 = time.time()

    if a.moto:
        # moto has no bootstrap-admin: make the bench user look like Portcullis's.
        ignore_exists(iam.create_user, UserName="bench")
        ignore_exists(iam.create_group, GroupName="Admins")
        iam.attach_group_policy(GroupName="Admins", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
        iam.add_user_to_group(GroupName="Admins", UserName="bench")

    def make_policy(i: int) -> None:
        ignore_exists(iam.create_policy, PolicyName=POLICY_FMT.format(i), PolicyDocument=policy_doc(i),
                      Description=f"load benchmark policy {i}")

    def make_user(i: int) -> None:
        name = USER_FMT.format(i)
        extra = {}
        if i % 100 == 0:  # one user in a hundred has a permissions boundary (GetPolicy counts them)
            extra["PermissionsBoundary"] = f"arn:aws:iam::{account}:policy/{POLICY_FMT.format(0)}"
        ignore_exists(iam.create_user, UserName=name, Path="/bench/",
                      Tags=[{"Key": "team", "Value": f"team-{i % 7}"}], **extra)
        if i % 10 == 0:  # one user in ten belongs to a group
            iam.add_user_to_group(GroupName=GROUPS[(i // 10) % len(GROUPS)], UserName=name)

    with ThreadPoolExecutor(a.threads) as pool:
        list(pool.map(make_policy, range(a.policies)))
        log(f"{a.policies} customer policies in {time.time() - t0:.1f}s")
        for gi, g in enumerate(GROUPS):
            ignore_exists(iam.create_group, GroupName=g)
            iam.attach_group_policy(GroupName=g, PolicyArn=f"arn:aws:iam::{account}:policy/{POLICY_FMT.format(gi % max(a.policies, 1))}")
            iam.attach_group_policy(GroupName=g, PolicyArn=GROUP_MANAGED[gi])
            iam.put_group_policy(GroupName=g, PolicyName="inline", PolicyDocument=policy_doc(100 + gi))
        for g in BENCH_GROUPS:
            iam.add_user_to_group(GroupName=g, UserName="bench")
        iam.attach_user_policy(UserName="bench", PolicyArn=f"arn:aws:iam::{account}:policy/{POLICY_FMT.format(a.policies - 1)}")
        iam.put_user_policy(UserName="bench", PolicyName="inline", PolicyDocument=policy_doc(999))
        t1 = time.time()
        list(pool.map(make_user, range(a.users)))
        log(f"{a.users} users in {time.time() - t1:.1f}s")
    log(f"seeded {a.endpoint} (account {account}) in {time.time() - t0:.1f}s")


# --------------------------------------------------------------------------- signing


def signed(endpoint: str, creds: Credentials, service: str, params: list[tuple[str, str]]) -> dict:
    """One request signed exactly as boto3 signs a query-protocol call."""
    body = urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
    req = AWSRequest(method="POST", url=endpoint.rstrip("/") + "/", data=body.encode(),
                     headers={"Content-Type": FORM})
    SigV4Auth(creds, service, REGION).add_auth(req)
    host = urllib.parse.urlsplit(endpoint).netloc
    headers = {"Host": host, "User-Agent": "portcullis-loadbench/1 (botocore SigV4Auth)"}
    headers.update({k: v for k, v in req.headers.items()})
    return {"method": "POST", "path": "/", "headers": headers, "body": body, "service": service}


def iam_call(action: str, **params) -> tuple[str, list[tuple[str, str]]]:
    return "iam", [("Action", action), ("Version", IAM_VERSION)] + list(params.items())


def sts_call(action: str, **params) -> tuple[str, list[tuple[str, str]]]:
    return "sts", [("Action", action), ("Version", STS_VERSION)] + list(params.items())


def get_user_calls(users: int, n: int = 256) -> list:
    rng = random.Random(7)
    names = [USER_FMT.format(i) for i in rng.sample(range(users), min(n, users))] if users else ["bench"]
    return [iam_call("GetUser", UserName=u) for u in names]


def list_users_calls() -> list:
    return [iam_call("ListUsers", MaxItems=str(LIST_PAGE))]


def caller_identity_calls() -> list:
    return [sts_call("GetCallerIdentity")]


def get_policy_calls(user_arn: str) -> list:
    account = user_arn.split(":")[4]
    return [iam_call("GetPolicy", PolicyArn=f"arn:aws:iam::{account}:policy/{POLICY_FMT.format(0)}")]


def simulate_calls(user_arn: str) -> list:
    return [iam_call("SimulatePrincipalPolicy", PolicySourceArn=user_arn,
                     **{"ActionNames.member.1": "iam:GetUser", "ActionNames.member.2": "s3:GetObject"})]


AUTHORIZE_PATH = "/_portcullis/authorize"
# What the asking service received (host, service, action, resource); signed by the bench user.
# One service (as a sidecar in front of one service would ask): the key's last-used
# bookkeeping in Portcullis is throttled per key, so alternating services would add a
# database write per call (the "mixed" workload shows that effect).
AUTHORIZE_CASES = [
    ("ec2.us-east-1.amazonaws.com", "ec2", "Action=DescribeInstances&Version=2016-11-15", "ec2:DescribeInstances", "*"),
    ("ec2.us-east-1.amazonaws.com", "ec2", "Action=TerminateInstances&Version=2016-11-15&InstanceId.1=i-0123456789abcdef0",
     "ec2:TerminateInstances", "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0"),
]


def authorize_requests(endpoint: str, creds: Credentials) -> list[dict]:
    """Calls of the authorization endpoint (POST /_portcullis/authorize, docs/enforcement.md):
    another service hands over a SigV4-signed request it received plus the action and resource.
    The outer call is unsigned JSON; the inner request is signed by the bench user. Denials are
    answered 200 too, so every call must be a 200.

    TODO(authorization endpoint): this is the hook for the endpoint's workload. It was written
    when the endpoint landed (commit 0199c45); if the endpoint's request format changes, change
    this function only. moto has no equivalent: its column reads n/a."""
    import base64
    host = urllib.parse.urlsplit(endpoint).netloc
    out = []
    for svc_host, svc, body, action, resource in AUTHORIZE_CASES:
        inner = AWSRequest(method="POST", url=f"https://{svc_host}/", data=body.encode(), headers={"Content-Type": FORM})
        SigV4Auth(creds, svc, REGION).add_auth(inner)
        headers = [[k.lower(), v] for k, v in inner.headers.items()] + [["host", svc_host]]
        doc = {"request": {"method": "POST", "path": "/", "query": "", "headers": headers,
                           "body": base64.b64encode(body.encode()).decode(), "source_ip": "203.0.113.7"},
               "action": action, "resource": resource, "context": {}}
        out.append({"method": "POST", "path": AUTHORIZE_PATH, "body": json.dumps(doc, separators=(",", ":")),
                    "headers": {"Host": host, "User-Agent": "portcullis-loadbench/1", "Content-Type": "application/json"}})
    return out


def last_page_marker(endpoint: str, creds: Credentials) -> str:
    """The Marker of ListUsers' last full page of LIST_PAGE (obtained by paging, as a client would)."""
    iam, _ = clients(endpoint, creds.access_key, creds.secret_key, creds.token)
    total = 0
    marker = None
    while True:  # count the users first
        kw = {"MaxItems": 1000, **({"Marker": marker} if marker else {})}
        r = iam.list_users(**kw)
        total += len(r["Users"])
        marker = r.get("Marker")
        if not r.get("IsTruncated"):
            break
    skip, marker = max(total - LIST_PAGE, 1), None
    while skip > 0:
        kw = {"MaxItems": min(skip, 1000), **({"Marker": marker} if marker else {})}
        r = iam.list_users(**kw)
        skip -= len(r["Users"])
        if "Marker" not in r:
            raise NoMarker(f"ListUsers MaxItems={kw['MaxItems']} returned {len(r['Users'])} users and no Marker")
        marker = r["Marker"]
    return marker


class NoMarker(Exception):
    """The server does not paginate ListUsers (moto returns every user)."""


def mixed_calls(users: int) -> list:
    # 2 GetUser : 2 GetCallerIdentity : 1 ListUsers, interleaved. SimulatePrincipalPolicy is left
    # out so that both servers replay the very same requests (moto does not implement it).
    g = get_user_calls(users, 64)
    out = []
    for i in range(64):
        out += [g[i % len(g)], caller_identity_calls()[0], g[(i + 32) % len(g)], caller_identity_calls()[0], list_users_calls()[0]]
    return out


WORKLOADS = {
    "GetUser": {"enabled": True, "desc": "iam GetUser UserName=<one of 256 seeded users, round-robin>"},
    "ListUsers": {"enabled": True, "desc": "iam ListUsers MaxItems=10 (first page)"},
    "ListUsersLastPage": {"enabled": True, "desc": "iam ListUsers MaxItems=10 Marker=<the last page's>"},
    "GetCallerIdentity": {"enabled": True, "desc": "sts GetCallerIdentity"},
    "ListPolicies": {"enabled": True, "desc": "iam ListPolicies Scope=Local MaxItems=10 (first page)"},
    "GetPolicy": {"enabled": True, "desc": "iam GetPolicy on a customer policy (with its attachment and boundary counts)"},
    "SimulatePrincipalPolicy": {"enabled": True, "desc": "iam SimulatePrincipalPolicy on the bench user, 2 actions"},
    "mixed": {"enabled": True, "desc": "2 GetUser : 2 GetCallerIdentity : 1 ListUsers"},
    # Portcullis only (moto: n/a). See authorize_requests() for the hook.
    "authorize": {"enabled": True, "desc": "POST /_portcullis/authorize: 2 signed ec2 requests, allowed"},
}


def build_calls(workload: str, users: int, user_arn: str) -> list:
    if workload == "GetUser":
        return get_user_calls(users)
    if workload == "ListUsers":
        return list_users_calls()
    if workload == "GetCallerIdentity":
        return caller_identity_calls()
    if workload == "ListPolicies":
        return [iam_call("ListPolicies", Scope="Local", MaxItems=str(LIST_PAGE))]
    if workload == "GetPolicy":
        return get_policy_calls(user_arn)
    if workload == "SimulatePrincipalPolicy":
        return simulate_calls(user_arn)
    if workload == "mixed":
        return mixed_calls(users)
    raise SystemExit(f"unknown workload {workload}")


def lua_str(s: str) -> str:
    out = []
    for ch in s:
        o = ord(ch)
        if ch in '\\"':
            out.append("\\" + ch)
        elif 32 <= o < 127:
            out.append(ch)
        else:
            out.extend(f"\\{b}" for b in ch.encode())
    return '"' + "".join(out) + '"'


def write_lua(reqs: list[dict], path: str) -> None:
    with open(path, "w", encoding="ascii") as f:
        f.write("-- generated by loadbench.py: pre-signed requests, valid for 15 minutes\nreturn {\n")
        for r in reqs:
            hs = ", ".join(f"[{lua_str(k)}] = {lua_str(v)}" for k, v in r["headers"].items())
            f.write(f"  {{method = {lua_str(r['method'])}, path = {lua_str(r['path'])}, headers = {{{hs}}}, body = {lua_str(r['body'])}}},\n")
        f.write("}\n")


def send(endpoint: str, r: dict) -> tuple[int, bytes]:
    u = urllib.parse.urlsplit(endpoint)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        c.request(r["method"], r["path"], body=r["body"].encode(), headers=r["headers"])
        resp = c.getresponse()
        return resp.status, resp.read()
    finally:
        c.close()


# --------------------------------------------------------------------------- measuring


def cpu_seconds(pid: int | None) -> float | None:
    """User+system CPU time of a process and its threads (and reaped children)."""
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return sum(int(x) for x in fields[11:15]) / ticks
    except OSError:
        return None


def settled_cpu(pid: int | None, settle: float) -> float | None:
    """The server's CPU seconds once the work a load left behind (batched audit writes,
    last-used updates) is done: read after `settle` seconds without load, or None when
    settle is 0. An idle server spends next to nothing in that time."""
    if not pid or settle <= 0:
        return None
    time.sleep(settle)
    return cpu_seconds(pid)


def thread_ticks(pid: int | None) -> dict[str, int]:
    """CPU ticks per thread of a process, keyed 'tid name'."""
    out: dict[str, int] = {}
    if not pid:
        return out
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                raw = f.read()
        except OSError:
            continue
        name = raw[raw.index("(") + 1:raw.rindex(")")]
        fields = raw.rsplit(")", 1)[1].split()
        out[f"{tid} {name}"] = int(fields[11]) + int(fields[12])
    return out


def busiest_threads(before: dict[str, int], after: dict[str, int], seconds: float, top: int = 3) -> list[tuple[str, float]]:
    ticks = os.sysconf("SC_CLK_TCK")
    by_name: dict[str, float] = {}
    for k, v in after.items():
        d = (v - before.get(k, 0)) / ticks / seconds * 100.0
        name = k.split(" ", 1)[1]
        # tokio's workers share one name; sqlx names each SQLite connection's thread.
        by_name[k if "sqlite" in name else name] = by_name.get(k if "sqlite" in name else name, 0.0) + d
    return sorted(((n.split(" ", 1)[1] if " " in n else n, pct) for n, pct in by_name.items()), key=lambda x: -x[1])[:top]


def run_wrk(endpoint: str, lua_file: str, threads: int, conns: int, duration: str, timeout: str) -> tuple[dict, str]:
    cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration}", "--latency", f"--timeout={timeout}",
           "-s", os.path.join(HERE, "replay.lua"), endpoint, "--", lua_file]
    p, cpu, busy = run_measured(cmd)
    if p.returncode != 0:
        raise RuntimeError(f"wrk failed ({p.returncode}): {p.stderr.strip()}\n{p.stdout}")
    m = re.search(r"^LOADBENCH_JSON (.*)$", p.stdout, re.M)
    if not m:
        raise RuntimeError(f"no figures in wrk's output:\n{p.stdout}\n{p.stderr}")
    fig = json.loads(m.group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", p.stdout)
    fig["non2xx_text"] = int(non2xx.group(1)) if non2xx else 0
    fig["wrk_cpu_pct"] = cpu
    if busy is not None:
        fig["machine_busy_pct"] = busy
    return fig, p.stdout


def run_measured(cmd: list[str], timeout: float | None = None) -> tuple[subprocess.CompletedProcess, float, float | None]:
    """Runs a load generator; returns it, its own CPU % (user+system over wall time) and the
    machine's busy % (all CPUs, /proc/stat) over the run."""
    import resource
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    st0 = machine_ticks()
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    wall = time.monotonic() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    st1 = machine_ticks()
    cpu = 100.0 * ((ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)) / wall
    busy = 100.0 * (st1[0] - st0[0]) / max(st1[1] - st0[1], 1) if st0 and st1 else None
    return p, cpu, busy


def machine_ticks() -> tuple[int, int] | None:
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            vals = [int(x) for x in f.readline().split()[1:]]
    except OSError:
        return None
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
    return sum(vals) - idle, sum(vals)


def wait_quiet(endpoint: str, creds: Credentials, limit: float = 300.0) -> float:
    """Seconds until the server answers a database-reading request (GetUser) within 20 ms
    again after a run. Work a run left queued behind the single SQLite connection (such as
    last-used writes spawned per request) would otherwise slow the next measurement; how
    long it takes to drain is itself a figure worth reporting."""
    t0 = time.monotonic()
    fast = 0
    while time.monotonic() - t0 < limit:
        r = signed(endpoint, creds, "iam", iam_call("GetUser", UserName="bench")[1])
        t = time.monotonic()
        status, _ = send(endpoint, r)
        if status == 200 and time.monotonic() - t < 0.020:
            fast += 1
            if fast >= 3:
                break
        else:
            fast = 0
        time.sleep(0.05)
    return time.monotonic() - t0


def cmd_measure(a) -> int:
    creds = Credentials(a.access_key, a.secret_key, a.session_token)
    entry = {"label": a.label, "server": a.server, "workload": a.workload, "connections": a.connections,
             "threads": a.threads, "duration": a.duration, "users": a.users, "policies": a.policies,
             "note": a.note or "", "loadavg_before": os.getloadavg()[0]}
    if not WORKLOADS[a.workload]["enabled"]:
        log(f"{a.server} {a.workload}: skipped ({WORKLOADS[a.workload]['desc']})")
        entry["status"] = "skipped"
        append(a.results, entry)
        return 0
    if a.workload == "authorize":
        if a.server != "portcullis":
            log(f"{a.server} {a.workload}: not applicable (no authorization endpoint)")
            entry["status"] = "n/a"
            append(a.results, entry)
            return 0
        reqs = authorize_requests(a.endpoint, creds)
    else:
        if a.workload == "ListUsersLastPage":
            try:
                calls = [iam_call("ListUsers", MaxItems=str(LIST_PAGE), Marker=last_page_marker(a.endpoint, creds))]
            except NoMarker as e:
                log(f"{a.server} {a.workload}: not measured: {e}")
                entry["status"] = "error"
                entry["error"] = f"no pagination: {e}"
                append(a.results, entry)
                return 1 if a.must_succeed else 0
        else:
            calls = build_calls(a.workload, a.users, a.user_arn)
        sts_creds = Credentials(a.sts_access_key, a.sts_secret_key) if a.sts_access_key else creds
        reqs = [signed(a.endpoint, sts_creds if svc == "sts" else creds, svc, params) for svc, params in calls]

    # A benchmark of errors is worthless: every distinct request must answer 200 first.
    bad = None
    for r in {json.dumps(r, sort_keys=True): r for r in reqs}.values():
        status, body = send(a.endpoint, r)
        if status != 200:
            bad = (status, body.decode(errors="replace")[:400], r["body"])
            break
    if bad:
        entry["status"] = "error"
        entry["error"] = f"HTTP {bad[0]}: {bad[1]}"
        append(a.results, entry)
        if a.must_succeed:
            log(f"FAIL {a.server} {a.workload}: request {bad[2]!r} answered HTTP {bad[0]}:\n{bad[1]}")
            return 1
        log(f"{a.server} {a.workload}: not measured, the server answers HTTP {bad[0]}: {bad[1][:160]!r}")
        return 0

    os.makedirs(os.path.dirname(a.lua_file) or ".", exist_ok=True)
    write_lua(reqs, a.lua_file)
    if a.warmup and a.warmup != "0":
        run_wrk(a.endpoint, a.lua_file, a.threads, a.connections, a.warmup, a.timeout)
    entry["loadavg_before"] = os.getloadavg()[0]
    cpu0, th0, t0 = cpu_seconds(a.pid), thread_ticks(a.pid), time.monotonic()
    fig, text = run_wrk(a.endpoint, a.lua_file, a.threads, a.connections, a.duration, a.timeout)
    cpu1, th1, t1 = cpu_seconds(a.pid), thread_ticks(a.pid), time.monotonic()
    cpu_done = settled_cpu(a.pid, a.cpu_settle)
    entry["threads_cpu_pct"] = busiest_threads(th0, th1, t1 - t0)
    entry.update(fig)
    entry["status"] = "ok"
    if cpu0 is not None and cpu1 is not None:
        entry["server_cpu_pct"] = 100.0 * (cpu1 - cpu0) / (t1 - t0)
        entry["server_cpu_us_per_req"] = 1e6 * (cpu1 - cpu0) / max(fig["requests"], 1)
    if cpu0 is not None and cpu_done is not None:
        entry["server_cpu_us_per_req_settled"] = 1e6 * (cpu_done - cpu0) / max(fig["requests"], 1)
    if a.server == "portcullis":
        entry["drain_s"] = wait_quiet(a.endpoint, creds)
    errs = fig["errors"]
    failed = fig["non2xx_text"] or errs["status"] or errs["connect"] or errs["read"] or errs["write"] or errs["timeout"]
    log(f"{a.server:10} {a.workload:24} c={a.connections:<3} {fig['rps']:>10.0f} req/s  p50 {fig['p50_us'] / 1000:7.2f} ms"
        f"  p99 {fig['p99_us'] / 1000:8.2f} ms  non-2xx {fig['non2xx_text']}  socket errors {errs}"
        + (f"  server CPU {entry['server_cpu_pct']:.0f}%" if "server_cpu_pct" in entry else "")
        + f"  wrk CPU {fig['wrk_cpu_pct']:.0f}%  machine busy {fig.get('machine_busy_pct', 0):.0f}%"
        + (f"  drained in {entry['drain_s']:.1f}s" if "drain_s" in entry else "")
        + ("  busiest threads: " + ", ".join(f"{n} {p:.0f}%" for n, p in entry["threads_cpu_pct"]) if entry["threads_cpu_pct"] else ""))
    if a.verbose:
        print(text, file=sys.stderr)
    append(a.results, entry)
    if failed and a.must_succeed:
        log(f"FAIL {a.server} {a.workload}: Non-2xx responses: {fig['non2xx_text']}, socket errors: {errs}\n{text}")
        return 1
    return 0


def append(path: str, entry: dict) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")


# --------------------------------------------------------------------------- open loop

# wrk's closed loop (64 connections, each sending as soon as its previous answer arrives)
# runs the server at saturation, where latency is simply connections / throughput (Little's
# law). The open-loop phase offers requests at a fixed rate instead, whatever the server's
# answers do, and measures each request's latency from the moment it was due (oha's
# --latency-correction), so a stall shows in the figures instead of slowing the load down
# (coordinated omission).

OHA_DEADLINE = "aborted due to deadline"  # oha -z: requests still in flight when the time is up
OPENLOOP_WORKLOADS = ("GetUser", "GetCallerIdentity", "GetPolicy", "authorize")


def seconds_of(d: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", d.strip())
    if not m:
        raise SystemExit(f"cannot read the duration {d!r}")
    return float(m.group(1)) * {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600}[m.group(2)]


def openloop_request(a, creds: Credentials) -> dict:
    """The workload's first request, signed now: oha sends one request template."""
    if a.workload == "authorize":
        return authorize_requests(a.endpoint, creds)[0]
    svc, params = build_calls(a.workload, a.users, a.user_arn)[0]
    return signed(a.endpoint, creds, svc, params)


def oha_command(oha: str, endpoint: str, r: dict, rate: int, conns: int, duration: str) -> list[str]:
    # Host comes from the URL (the same 127.0.0.1:PORT that was signed). -H replaces oha's own
    # User-Agent; the Accept header oha adds is not signed (SignedHeaders=content-type;host;
    # x-amz-date), and --disable-compression drops its Accept-Encoding so the request is
    # wrk's. hyper adds Content-Length.
    cmd = [oha, "--no-tui", "-z", duration, "-c", str(conns), "-q", str(rate), "--latency-correction",
           "--disable-compression", "--output-format", "json", "-m", r["method"]]
    for k, v in r["headers"].items():
        if k.lower() != "host":
            cmd += ["-H", f"{k}: {v}"]
    return cmd + ["-d", r["body"], endpoint.rstrip("/") + r["path"]]


def run_oha(cmd: list[str], duration: str) -> tuple[dict, float, float | None]:
    """oha's JSON report, its own CPU % and the machine's busy % (see run_measured)."""
    p, cpu, busy = run_measured(cmd, timeout=seconds_of(duration) + 120)
    if p.returncode != 0:
        raise RuntimeError(f"oha failed ({p.returncode}): {p.stderr.strip()}\n{p.stdout[:2000]}")
    return json.loads(p.stdout), cpu, busy


def openloop_rates(a) -> list[tuple[int, str]]:
    """(rate, where it comes from): the ladder, plus 100 × moto's req/s for the workload when
    moto was measured in this run (the issue's throughput target), unless that is too high."""
    rates = {int(x): "ladder" for x in a.rates.split(",") if x.strip()}
    if a.moto_multiple and os.path.exists(a.results):
        moto = None
        for line in open(a.results, encoding="utf-8"):
            r = json.loads(line) if line.strip() else {}
            if (r.get("label"), r.get("server"), r.get("workload"), r.get("status")) == ("main", "moto", a.workload, "ok"):
                moto = r
        if moto:
            target = int(round(a.moto_multiple * moto["rps"]))
            if target > a.max_rate:
                log(f"open loop {a.workload}: {a.moto_multiple:g} × moto's {moto['rps']:.0f} req/s = {target} req/s "
                    f"is above {a.max_rate}: not offered")
            elif target > 0:
                rates.setdefault(target, f"{a.moto_multiple:g}× moto")
    return sorted(rates.items())


def cmd_openloop(a) -> int:
    creds = Credentials(a.access_key, a.secret_key, a.session_token)
    failed = False
    for rate, source in openloop_rates(a):
        entry = {"label": "openloop", "server": a.server, "workload": a.workload, "connections": a.connections,
                 "duration": a.duration, "warmup": a.warmup, "users": a.users, "policies": a.policies,
                 "offered_rps": rate, "rate_source": source, "note": a.note or "",
                 "loadavg_before": os.getloadavg()[0]}
        # Signed right before the run (valid 15 minutes; SigV4 has no nonce, so replaying
        # it is what a client retrying the same request would do).
        r = openloop_request(a, creds)
        status, body = send(a.endpoint, r)
        if status != 200:
            entry.update(status="error", error=f"HTTP {status}: {body.decode(errors='replace')[:400]}")
            append(a.results, entry)
            log(f"FAIL open loop {a.server} {a.workload}: request {r['body'][:200]!r} answered {entry['error']}")
            failed = True
            continue
        if a.warmup and seconds_of(a.warmup) > 0:
            run_oha(oha_command(a.oha, a.endpoint, r, rate, a.connections, a.warmup), a.warmup)
        entry["loadavg_before"] = os.getloadavg()[0]
        cpu0, t0 = cpu_seconds(a.pid), time.monotonic()
        fig, oha_cpu, busy = run_oha(oha_command(a.oha, a.endpoint, r, rate, a.connections, a.duration), a.duration)
        cpu1, t1 = cpu_seconds(a.pid), time.monotonic()
        cpu_done = settled_cpu(a.pid, a.cpu_settle)

        s = fig["summary"]
        statuses = {int(k): v for k, v in fig.get("statusCodeDistribution", {}).items()}
        errors = dict(fig.get("errorDistribution", {}))
        aborted = errors.pop(OHA_DEADLINE, 0)
        ok = statuses.get(200, 0)
        pct = fig.get("latencyPercentiles", {})
        us = lambda k: None if pct.get(k) is None or pct[k] != pct[k] else pct[k] * 1e6  # NaN: no answers
        entry.update({
            "status": "ok", "duration_s": s["total"], "ok_200": ok,
            "non200": sum(v for k, v in statuses.items() if k != 200), "statuses": statuses,
            "errors": errors, "aborted_at_end": aborted,
            "achieved_rps": ok / s["total"] if s["total"] else 0.0,
            "oha_requests_per_sec": s["requestsPerSec"], "success_rate": s["successRate"],
            "p50_us": us("p50"), "p90_us": us("p90"), "p99_us": us("p99"), "p999_us": us("p99.9"),
            "p9999_us": us("p99.99"), "max_us": (s["slowest"] or 0) * 1e6, "mean_us": (s["average"] or 0) * 1e6,
            "oha_cpu_pct": oha_cpu, "machine_busy_pct": busy,
        })
        if cpu0 is not None and cpu1 is not None:
            entry["server_cpu_pct"] = 100.0 * (cpu1 - cpu0) / (t1 - t0)
            entry["server_cpu_us_per_req"] = 1e6 * (cpu1 - cpu0) / max(ok, 1)
        if cpu0 is not None and cpu_done is not None:
            entry["server_cpu_us_per_req_settled"] = 1e6 * (cpu_done - cpu0) / max(ok, 1)
        if a.server == "portcullis":
            entry["drain_s"] = wait_quiet(a.endpoint, creds)
        bad = entry["non200"] or sum(errors.values())
        f = lambda x: "   n/a" if x is None else f"{x / 1000:6.2f}"
        log(f"open loop {a.server} {a.workload:18} offered {rate:>6} req/s ({source}): achieved {entry['achieved_rps']:>8.0f}"
            f"  p50 {f(entry['p50_us'])} ms  p99 {f(entry['p99_us'])} ms  p99.9 {f(entry['p999_us'])} ms"
            f"  200s {ok}  non-200 {entry['non200']}  errors {errors or 0}  aborted at the end {aborted}"
            + (f"  server CPU {entry['server_cpu_pct']:.0f}%" if "server_cpu_pct" in entry else "")
            + f"  oha CPU {oha_cpu:.0f}%" + (f"  machine busy {busy:.0f}%" if busy is not None else "")
            + (f"  drained in {entry['drain_s']:.1f}s" if "drain_s" in entry else ""))
        append(a.results, entry)
        if bad:
            log(f"FAIL open loop {a.server} {a.workload} at {rate} req/s: statuses {statuses}, errors {errors}")
            failed = True
    return 1 if failed and a.must_succeed else 0


# --------------------------------------------------------------------------- reporting


def fmt_ms(us) -> str:
    return "" if us is None else f"{us / 1000:.2f} ms"


def fmt_rps(x) -> str:
    return "" if x is None else f"{x:,.0f}"


def report_openloop(rows: list[dict]) -> None:
    if not rows:
        return
    r0 = next((r for r in rows if r["status"] == "ok"), rows[0])
    warm = f"after a {r0['warmup']} warm-up" if r0["warmup"] and seconds_of(r0["warmup"]) > 0 else "no warm-up"
    print(f"\n### Open loop: Portcullis at fixed rates ({r0['connections']} connections, oha -z{r0['duration']} {warm}, "
          "latency from when each request was due)\n")
    print("Each workload replays one request (GetUser: always the same user). Achieved is 200 responses per "
          "second; a rate marked 100× moto is the issue's target for that workload. Server CPU and oha CPU: "
          "200% = both cores (oha shares them with the server); machine busy: all CPUs, 100% = both cores.\n")
    print("| workload | offered req/s | achieved req/s | p50 | p99 | p99.9 | 200s | non-200 | server CPU | oha CPU | machine busy | load avg |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    short = []
    for r in rows:
        offered = f"{r['offered_rps']:,}" + (f" ({r['rate_source']})" if r["rate_source"] != "ladder" else "")
        if r["status"] != "ok":
            err = r.get("error", "")
            code = re.search(r"<Code>([^<]*)</Code>", err)
            err = err.split(":")[0] + (f" {code.group(1)}" if code else "")
            print(f"| {r['workload']} | {offered} | {r['status']}: {err.replace('|', '/')} |  |  |  |  |  |  |  |  |  |")
            continue
        bad = str(r["non200"]) + (f" (+{sum(r['errors'].values())} errors)" if r["errors"] else "")
        mark = ""
        if r["achieved_rps"] < 0.97 * r["offered_rps"]:
            mark = " †"
            short.append(r)
        cpu = f"{r['server_cpu_pct']:.0f}%" if "server_cpu_pct" in r else ""
        busy = f"{r['machine_busy_pct']:.0f}%" if r.get("machine_busy_pct") is not None else ""
        print(f"| {r['workload']} | {offered} | {fmt_rps(r['achieved_rps'])}{mark} | {fmt_ms(r['p50_us'])} | {fmt_ms(r['p99_us'])} "
              f"| {fmt_ms(r['p999_us'])} | {r['ok_200']:,} | {bad} | {cpu} | {r['oha_cpu_pct']:.0f}% | {busy} | {r['loadavg_before']:.1f} |")
    if short:
        print("\n† Achieved below 97% of the offered rate: the machine (server and oha together) did not keep up. "
              "The requests oha had scheduled but not sent when the time was up are in no percentile, so the "
              "latency there understates the backlog.")


def cmd_report(a) -> None:
    rows = [json.loads(l) for l in open(a.results, encoding="utf-8") if l.strip()]
    by = {(r["label"], r["server"], r["workload"]): r for r in rows}

    def cell(r, key):
        if r is None:
            return "n/a"
        if r["status"] == "skipped":
            return "TODO"
        if r["status"] == "n/a":
            return "n/a"
        if r["status"] == "error":
            return "n/a"
        return fmt_rps(r["rps"]) if key == "rps" else fmt_ms(r[key])

    main = [w for w in WORKLOADS]
    print("### Portcullis vs moto (64 connections, 2 wrk threads)\n")
    print("| workload | Portcullis req/s | p50 | p99 | moto req/s | p50 | p99 | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for w in main:
        p, m = by.get(("main", "portcullis", w)), by.get(("main", "moto", w))
        ratio = ""
        if p and m and p["status"] == "ok" and m["status"] == "ok" and m["rps"] > 0:
            ratio = f"{p['rps'] / m['rps']:.1f}×"
        elif m and m["status"] == "error":
            ratio = "moto: " + m["error"].split(":")[0]
        print(f"| {w} | {cell(p, 'rps')} | {cell(p, 'p50_us')} | {cell(p, 'p99_us')} | {cell(m, 'rps')} | {cell(m, 'p50_us')} | {cell(m, 'p99_us')} | {ratio} |")

    errs = [r for r in rows if r["label"] != "openloop" and r.get("status") == "ok"
            and (r["non2xx_text"] or any(r["errors"].values()))]
    if errs:
        print("\nErrors seen by wrk:")
        for r in errs:
            print(f"- {r['label']} {r['server']} {r['workload']}: Non-2xx responses {r['non2xx_text']}, socket errors {r['errors']}")

    report_openloop([r for r in rows if r["label"] == "openloop"])

    scal = [r for r in rows if r["label"] == "scale" and r["server"] == "portcullis"]
    if scal:
        small_label = "main"
        print("\n### Scaling: Portcullis, same requests, small vs large account (64 connections)\n")
        big = scal[0]
        small = by.get((small_label, "portcullis", "GetUser")) or {}
        print(f"| workload | {small.get('users', '?')} users, {small.get('policies', '?')} policies: req/s | p99 "
              f"| {big['users']:,} users, {big['policies']:,} policies: req/s | p99 | large/small | load avg (small, large) |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for r in scal:
            s = by.get((small_label, "portcullis", r["workload"]))
            if not s or s["status"] != "ok" or r["status"] != "ok":
                continue
            print(f"| {r['workload']} | {fmt_rps(s['rps'])} | {fmt_ms(s['p99_us'])} | {fmt_rps(r['rps'])} | {fmt_ms(r['p99_us'])} "
                  f"| {r['rps'] / s['rps']:.2f} | {s['loadavg_before']:.1f}, {r['loadavg_before']:.1f} |")

    diag = [r for r in rows if r["label"] == "diag" and r["status"] == "ok"]
    if diag:
        print("\n### Diagnostics: Portcullis only (what a request costs, where the time goes)\n")
        print("Server CPU is the server process's CPU time over the run (200% = both cores); the busiest threads "
              "are the tokio workers (summed) and sqlx's SQLite connection thread; machine busy is all CPUs from /proc/stat.\n")
        print("| variant | workload | conns | req/s | p50 | p99 | server CPU | CPU µs/req | busiest server threads | wrk CPU | machine busy | load avg |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|")
        base = [r for r in rows if r["label"] == "main" and r["server"] == "portcullis" and r["status"] == "ok"]
        for r in base + diag:
            note = r["note"] or "baseline (disk, long-term key)"
            cpu = f"{r['server_cpu_pct']:.0f}%" if "server_cpu_pct" in r else ""
            cpr = f"{r['server_cpu_us_per_req']:.0f}" if "server_cpu_us_per_req" in r else ""
            busy = ", ".join(f"{n} {p:.0f}%" for n, p in r.get("threads_cpu_pct", [])[:2])
            print(f"| {note} | {r['workload']} | {r['connections']} | {fmt_rps(r['rps'])} | {fmt_ms(r['p50_us'])} | {fmt_ms(r['p99_us'])} | {cpu} | {cpr} | {busy} | {r['wrk_cpu_pct']:.0f}% | {r.get('machine_busy_pct', 0):.0f}% | {r['loadavg_before']:.1f} |")

    drains = [r["drain_s"] for r in rows if "drain_s" in r]
    if drains:
        verdict = ("no work was left queued to spill into the next measurement" if max(drains) < 1
                   else "work left queued behind the database took that long to drain")
        print(f"\n(After each Portcullis run, a database-reading request was fast again within {max(drains):.1f} s: {verdict}.)")
    loads = [r["loadavg_before"] for r in rows if "loadavg_before" in r]
    if loads:
        print(f"\n(1-minute load average before the measurements: min {min(loads):.2f}, max {max(loads):.2f}; "
              "anything above ~0.5 means other work shared the 2 cores.)")


# --------------------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("seed")
    s.add_argument("--endpoint", required=True)
    s.add_argument("--access-key", required=True)
    s.add_argument("--secret-key", required=True)
    s.add_argument("--users", type=int, default=100)
    s.add_argument("--policies", type=int, default=10)
    s.add_argument("--threads", type=int, default=8)
    s.add_argument("--moto", action="store_true", help="also create the bench user and Admins group")

    m = sub.add_parser("measure")
    m.add_argument("--label", required=True, help="main, scale or diag")
    m.add_argument("--server", required=True)
    m.add_argument("--endpoint", required=True)
    m.add_argument("--access-key", required=True)
    m.add_argument("--secret-key", required=True)
    m.add_argument("--session-token")
    m.add_argument("--sts-access-key", help="sign the STS calls with this (long-term) key instead")
    m.add_argument("--sts-secret-key")
    m.add_argument("--workload", required=True, choices=list(WORKLOADS))
    m.add_argument("--user-arn", required=True)
    m.add_argument("--users", type=int, required=True, help="how many users were seeded (GetUser picks among them)")
    m.add_argument("--policies", type=int, required=True)
    m.add_argument("--threads", type=int, default=2)
    m.add_argument("--connections", type=int, default=64)
    m.add_argument("--duration", default="10s")
    m.add_argument("--warmup", default="2s")
    m.add_argument("--timeout", default="10s")
    m.add_argument("--pid", type=int, help="server process, for its CPU time")
    m.add_argument("--cpu-settle", type=float, default=0.0,
                   help="also count the server's CPU for this many seconds after the load (work it left behind)")
    m.add_argument("--lua-file", required=True)
    m.add_argument("--results", required=True)
    m.add_argument("--note")
    m.add_argument("--must-succeed", action="store_true", help="exit 1 on any non-2xx or socket error")
    m.add_argument("--verbose", action="store_true")

    o = sub.add_parser("openloop", help="fixed-rate latency with oha (a ladder of rates, one workload)")
    o.add_argument("--server", required=True)
    o.add_argument("--endpoint", required=True)
    o.add_argument("--access-key", required=True)
    o.add_argument("--secret-key", required=True)
    o.add_argument("--session-token")
    o.add_argument("--workload", required=True, choices=list(OPENLOOP_WORKLOADS))
    o.add_argument("--user-arn", required=True)
    o.add_argument("--users", type=int, required=True)
    o.add_argument("--policies", type=int, required=True)
    o.add_argument("--oha", required=True, help="the oha binary")
    o.add_argument("--rates", default="5000,10000,20000", help="offered rates, req/s, comma-separated")
    o.add_argument("--moto-multiple", type=float, default=100.0,
                   help="also offer this multiple of moto's req/s for the workload, read from --results (0: no)")
    o.add_argument("--max-rate", type=int, default=60000, help="do not offer a moto-derived rate above this")
    o.add_argument("--connections", type=int, default=64)
    o.add_argument("--duration", default="10s")
    o.add_argument("--warmup", default="2s", help="oha at the same rate first, not recorded")
    o.add_argument("--pid", type=int, help="server process, for its CPU time")
    o.add_argument("--cpu-settle", type=float, default=0.0,
                   help="also count the server's CPU for this many seconds after the load (work it left behind)")
    o.add_argument("--results", required=True)
    o.add_argument("--note")
    o.add_argument("--must-succeed", action="store_true", help="exit 1 on any non-200 or connection error")

    r = sub.add_parser("report")
    r.add_argument("results")

    u = sub.add_parser("user-arn", help="print the ARN of the bench user")
    u.add_argument("--endpoint", required=True)
    u.add_argument("--access-key", required=True)
    u.add_argument("--secret-key", required=True)

    k = sub.add_parser("create-key", help="a second access key for the bench user; prints 'AKID SECRET'")
    k.add_argument("--endpoint", required=True)
    k.add_argument("--access-key", required=True)
    k.add_argument("--secret-key", required=True)

    t = sub.add_parser("session-token", help="GetSessionToken; prints 'AKID SECRET TOKEN'")
    t.add_argument("--endpoint", required=True)
    t.add_argument("--access-key", required=True)
    t.add_argument("--secret-key", required=True)

    a = ap.parse_args()
    if a.cmd == "seed":
        cmd_seed(a)
    elif a.cmd == "measure":
        return cmd_measure(a)
    elif a.cmd == "openloop":
        return cmd_openloop(a)
    elif a.cmd == "report":
        cmd_report(a)
    elif a.cmd == "user-arn":
        iam, _ = clients(a.endpoint, a.access_key, a.secret_key)
        print(iam.get_user(UserName="bench")["User"]["Arn"])
    elif a.cmd == "create-key":
        iam, _ = clients(a.endpoint, a.access_key, a.secret_key)
        k = iam.create_access_key(UserName="bench")["AccessKey"]
        print(k["AccessKeyId"], k["SecretAccessKey"])
    elif a.cmd == "session-token":
        _, sts = clients(a.endpoint, a.access_key, a.secret_key)
        c = sts.get_session_token(DurationSeconds=3600)["Credentials"]
        print(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
