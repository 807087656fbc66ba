#!/usr/bin/env python3
"""Helper of bench/soak/run.sh: signs the soak's requests, replays them with wrk for a long
time while sampling the server's memory, and judges whether memory stayed flat.

  soak.py run --endpoint URL --access-key AK --secret-key SK --pid PID --duration 600 ...

The requests are bench/load's "mixed" workload (2 GetUser : 2 GetCallerIdentity :
1 ListUsers, built by loadbench.py's mixed_calls) with a write every --write-every requests
(TagUser and UntagUser of one tag on the seeded users, alternating: both are idempotent, so
replaying them in any order across connections always answers 200). They are signed with
botocore exactly as bench/load signs them and replayed by bench/load/replay.lua.

SigV4 signatures are accepted for 15 minutes, so the run is cut into wrk segments of at most
--segment seconds (600 by default), each signed right before it starts; a 10-minute soak is
one segment. Every --sample-interval seconds a thread reads VmRSS, RssAnon and the thread
count from /proc/PID/status into a CSV. With --scrape-metrics S the same thread also GETs
/metrics every S seconds, as a Prometheus server would (by default nothing scrapes it).

The verdict: RSS at the end of the load (the last sample taken while it ran) against the
sample at --first-minute seconds into the load; PASS when the ratio is within --tolerance
(10 % by default) either way. Exit status: 0 PASS without errors, 1 FAIL or any non-2xx
answer or socket error, 2 a setup problem (a request not answered 200 before the load).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
LOAD = os.path.join(HERE, "..", "load")
sys.path.insert(0, LOAD)

import loadbench as lb  # noqa: E402  (bench/load/loadbench.py: seeding, signing, the mixed workload)
from botocore.credentials import Credentials  # noqa: E402

REPLAY_LUA = os.path.join(LOAD, "replay.lua")
TAG_KEY = "soak"


def log(msg: str) -> None:
    print(f"[soak] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- requests


def write_calls(users: int, n: int) -> list:
    """n writes: TagUser / UntagUser of the tag 'soak' on the seeded users, alternating."""
    out = []
    targets = [lb.USER_FMT.format(i) for i in range(max(users, 1))] if users else ["bench"]
    for i in range(n):
        u = targets[(i // 2) % len(targets)]
        if i % 2 == 0:
            out.append(lb.iam_call("TagUser", UserName=u, **{"Tags.member.1.Key": TAG_KEY, "Tags.member.1.Value": f"v{i}"}))
        else:
            out.append(lb.iam_call("UntagUser", UserName=u, **{"TagKeys.member.1": TAG_KEY}))
    return out


def soak_calls(users: int, write_every: int) -> list:
    """The mixed workload's reads, with one write after every write_every - 1 reads."""
    reads = lb.mixed_calls(users)  # 320 requests: 128 GetUser, 128 GetCallerIdentity, 64 ListUsers
    if write_every <= 0:
        return reads
    per_write = write_every - 1
    n_writes = 64
    out, wi = [], 0
    writes = write_calls(users, n_writes)
    for k in range(per_write * n_writes):
        out.append(reads[k % len(reads)])
        if (k + 1) % per_write == 0:
            out.append(writes[wi])
            wi += 1
    return out


def sign_all(endpoint: str, creds: Credentials, calls: list) -> list[dict]:
    return [lb.signed(endpoint, creds, svc, params) for svc, params in calls]


def check_all(endpoint: str, reqs: list[dict]) -> str | None:
    """Every distinct request, in order, must answer 200 (None) or the first failure's text."""
    seen = set()
    for r in reqs:
        key = r["body"]
        if key in seen:
            continue
        seen.add(key)
        status, body = lb.send(endpoint, r)
        if status != 200:
            return f"HTTP {status} for {r['body'][:200]!r}: {body.decode(errors='replace')[:400]}"
    return None


def mix_summary(calls: list) -> str:
    counts: dict[str, int] = {}
    for svc, params in calls:
        name = f"{svc}:{dict(params)['Action']}"
        counts[name] = counts.get(name, 0) + 1
    total = len(calls)
    return ", ".join(f"{k} {100.0 * v / total:.1f}%" for k, v in sorted(counts.items(), key=lambda x: -x[1]))


# --------------------------------------------------------------------------- sampling


def proc_status(pid: int) -> dict[str, int] | None:
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "RssAnon", "RssFile", "VmHWM", "Threads"):
                    out[k] = int(v.split()[0])
    except OSError:
        return None
    return out


class Sampler(threading.Thread):
    """Samples the server every `interval` seconds into a CSV, from t0 (the load's start)."""

    def __init__(self, pid: int, csv_path: str, interval: float, t0: float, endpoint: str = "", scrape_every: float = 0.0):
        super().__init__(daemon=True)
        self.pid, self.interval, self.t0 = pid, interval, t0
        # Optionally GET /metrics every scrape_every seconds, as a Prometheus server would.
        self.endpoint, self.scrape_every, self.last_scrape, self.scrapes = endpoint, scrape_every, t0, 0
        self.rows: list[dict] = []
        self.stop_event = threading.Event()
        self.load_running = True
        self.f = open(csv_path, "w", encoding="utf-8")
        self.f.write("t_s,vmrss_kb,rssanon_kb,rssfile_kb,vmhwm_kb,threads,server_cpu_s,load_running\n")

    def sample(self) -> None:
        st = proc_status(self.pid)
        if st is None:
            return
        row = {"t": time.monotonic() - self.t0, "rss": st.get("VmRSS", 0), "anon": st.get("RssAnon", 0),
               "file": st.get("RssFile", 0), "hwm": st.get("VmHWM", 0), "threads": st.get("Threads", 0),
               "cpu": lb.cpu_seconds(self.pid) or 0.0, "load": self.load_running}
        self.rows.append(row)
        self.f.write(f"{row['t']:.1f},{row['rss']},{row['anon']},{row['file']},{row['hwm']},{row['threads']},"
                     f"{row['cpu']:.2f},{int(row['load'])}\n")
        self.f.flush()

    def run(self) -> None:
        k = 0
        while not self.stop_event.is_set():
            self.sample()
            if self.scrape_every > 0 and self.load_running and time.monotonic() - self.last_scrape >= self.scrape_every:
                # On the schedule t0 + n * scrape_every, not drifting by the sampling grid.
                self.last_scrape = max(self.last_scrape + self.scrape_every, time.monotonic() - self.scrape_every)
                try:
                    urllib.request.urlopen(self.endpoint.rstrip("/") + "/metrics", timeout=10).read()
                    self.scrapes += 1
                except Exception:  # noqa: BLE001 - the soak goes on
                    pass
            k += 1
            # Sample on a fixed grid (t0 + k * interval), whatever a sample cost.
            delay = self.t0 + k * self.interval - time.monotonic()
            if delay > 0:
                self.stop_event.wait(delay)


# --------------------------------------------------------------------------- the run


def run_wrk(endpoint: str, lua_file: str, threads: int, conns: int, seconds: int, timeout: str) -> dict:
    cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--latency", f"--timeout={timeout}",
           "-s", REPLAY_LUA, endpoint, "--", lua_file]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"wrk failed ({p.returncode}): {p.stderr.strip()}\n{p.stdout}")
    m = re.search(r"^LOADBENCH_JSON (.*)$", p.stdout, re.M)
    if not m:
        raise RuntimeError(f"no figures in wrk's output:\n{p.stdout}\n{p.stderr}")
    fig = json.loads(m.group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", p.stdout)
    fig["non2xx"] = int(non2xx.group(1)) if non2xx else 0
    fig["text"] = p.stdout
    return fig


def metrics(endpoint: str) -> dict[str, float]:
    """The server's Prometheus counters of interest (empty if /metrics does not answer)."""
    try:
        text = urllib.request.urlopen(endpoint.rstrip("/") + "/metrics", timeout=10).read().decode()
    except Exception:  # noqa: BLE001 - best effort
        return {}
    out = {}
    for line in text.splitlines():
        m = re.match(r"^(portcullis_audit_events_\w+)(?:\{[^}]*\})?\s+([0-9.eE+-]+)$", line)
        if m:
            out[m.group(1)] = out.get(m.group(1), 0.0) + float(m.group(2))
    return out


def nearest(rows: list[dict], t: float) -> dict:
    return min(rows, key=lambda r: abs(r["t"] - t))


def mb(kb: int) -> str:
    return f"{kb / 1024:.1f} MiB"


def cmd_run(a) -> int:
    creds = Credentials(a.access_key, a.secret_key)
    calls = soak_calls(a.users, a.write_every)
    log(f"request mix ({len(calls)} requests cycled): {mix_summary(calls)}")
    reqs = sign_all(a.endpoint, creds, calls)
    bad = check_all(a.endpoint, reqs)
    if bad:
        log(f"FAIL before the load: {bad}")
        return 2

    os.makedirs(a.out_dir, exist_ok=True)
    csv_path = os.path.join(a.out_dir, f"{a.stamp}-rss.csv")
    lua_file = os.path.join(a.work_dir, "soak-requests.lua")
    segments = []
    left = a.duration
    while left > 0:
        segments.append(min(left, a.segment))
        left -= segments[-1]

    before = proc_status(a.pid) or {}
    cpu0 = lb.cpu_seconds(a.pid) or 0.0
    m0 = metrics(a.endpoint)
    t0 = time.monotonic()
    sampler = Sampler(a.pid, csv_path, a.sample_interval, t0, a.endpoint, a.scrape_metrics)
    sampler.start()
    figs = []
    try:
        for i, seg in enumerate(segments):
            reqs = sign_all(a.endpoint, creds, calls)  # fresh signatures: valid 15 minutes
            lb.write_lua(reqs, lua_file)
            log(f"segment {i + 1}/{len(segments)}: wrk -t{a.threads} -c{a.connections} -d{seg}s")
            fig = run_wrk(a.endpoint, lua_file, a.threads, a.connections, seg, a.timeout)
            e = fig["errors"]
            log(f"segment {i + 1}: {fig['requests']:,} requests, {fig['rps']:,.0f} req/s, p50 {fig['p50_us'] / 1000:.2f} ms, "
                f"p99 {fig['p99_us'] / 1000:.2f} ms, non-2xx {fig['non2xx']}, socket errors {e}")
            figs.append(fig)
    finally:
        sampler.sample()  # the end of the load
        sampler.load_running = False
        t_load = time.monotonic() - t0
        cpu1 = lb.cpu_seconds(a.pid) or 0.0
        time.sleep(min(a.sample_interval, 5.0))
        sampler.sample()  # a few seconds after the load
        sampler.stop_event.set()
        sampler.join()
    after = sampler.rows[-1] if sampler.rows else {}
    # Scraping /metrics drains the latency histogram's samples held since the last scrape
    # (metrics-exporter-prometheus without its upkeep task); the RSS after it shows how
    # much of the memory that was.
    m1 = metrics(a.endpoint)
    time.sleep(2.0)
    sampler.sample()
    sampler.f.close()
    after_scrape = sampler.rows[-1] if sampler.rows else {}

    rows = [r for r in sampler.rows if r["load"]]
    if not rows:
        log("FAIL: no RSS sample (did the server exit?)")
        return 1
    requests = sum(f["requests"] for f in figs)
    wrk_secs = sum(f["duration_s"] for f in figs)
    non2xx = sum(f["non2xx"] for f in figs)
    sock = {k: sum(f["errors"][k] for f in figs) for k in ("connect", "read", "write", "status", "timeout")}
    errors = non2xx + sock["connect"] + sock["read"] + sock["write"] + sock["timeout"]
    first = nearest(rows, a.first_minute)
    end = rows[-1]
    peak = max(rows, key=lambda r: r["rss"])
    ratio = end["rss"] / first["rss"] if first["rss"] else float("inf")
    flat = abs(ratio - 1.0) <= a.tolerance / 100.0
    # The growth over the rest of the run, as a straight line through the samples after the
    # first minute (least squares): how much a longer run would add per hour.
    tail = [r for r in rows if r["t"] >= first["t"]]
    slope_kb_per_h = 0.0
    if len(tail) >= 2:
        mt = sum(r["t"] for r in tail) / len(tail)
        mr = sum(r["rss"] for r in tail) / len(tail)
        den = sum((r["t"] - mt) ** 2 for r in tail)
        slope_kb_per_h = 3600.0 * sum((r["t"] - mt) * (r["rss"] - mr) for r in tail) / den if den else 0.0
    p99s = [f["p99_us"] for f in figs]
    verdict = "PASS" if flat else "FAIL"

    lines = [
        f"Soak: {a.duration} s of mixed traffic, wrk -t{a.threads} -c{a.connections} ({len(segments)} segment(s)), "
        f"audit events: {a.audit_label}, "
        + (f"/metrics scraped every {a.scrape_metrics:g} s ({sampler.scrapes} times)" if a.scrape_metrics > 0 else "/metrics not scraped during the load"),
        f"request mix: {mix_summary(calls)}",
        f"requests: {requests:,} in {wrk_secs:.0f} s = {requests / wrk_secs if wrk_secs else 0:,.0f} req/s "
        f"(p50 {max(f['p50_us'] for f in figs) / 1000:.2f} ms, p99 {max(p99s) / 1000:.2f} ms, worst segment)",
        f"errors: {errors} (non-2xx {non2xx}, socket errors {sock})",
        f"server CPU over the load: {100.0 * (cpu1 - cpu0) / t_load:.0f}% (200% = 2 cores)",
        f"RSS before the load (after seeding): {mb(before.get('VmRSS', 0))}",
        f"RSS after the first minute (t={first['t']:.0f} s): {mb(first['rss'])} (anonymous {mb(first['anon'])})",
        f"RSS at the end (t={end['t']:.0f} s): {mb(end['rss'])} (anonymous {mb(end['anon'])})",
        f"max RSS (t={peak['t']:.0f} s): {mb(peak['rss'])}; VmHWM {mb(after['hwm'])}",
        f"RSS {after['t'] - end['t']:.0f} s after the load: {mb(after['rss'])}; after a GET /metrics then: {mb(after_scrape['rss'])}",
        f"trend after the first minute (least squares): {slope_kb_per_h / 1024:+.1f} MiB/hour",
        f"threads: {first['threads']} after the first minute, {end['threads']} at the end",
    ]
    if m1:
        d = {k: m1[k] - m0.get(k, 0.0) for k in sorted(m1)}
        lines.append("audit counters over the load: " + ", ".join(f"{k} {v:,.0f}" for k, v in d.items()))
    lines.append(f"ratio end / first minute: {ratio:.3f} -> {verdict} (tolerance ±{a.tolerance:g} %)")
    if errors:
        lines.append(f"ERRORS: {errors} requests were not answered 2xx or failed on the socket")
    print("\n".join(lines))
    with open(os.path.join(a.out_dir, f"{a.stamp}-summary.json"), "w", encoding="utf-8") as f:
        json.dump({"duration_s": a.duration, "connections": a.connections, "threads": a.threads,
                   "audit_events": a.audit_label, "scrape_metrics_s": a.scrape_metrics, "scrapes": sampler.scrapes, "requests": requests, "rps": requests / wrk_secs if wrk_secs else 0,
                   "non2xx": non2xx, "socket_errors": sock, "rss_before_kb": before.get("VmRSS", 0),
                   "rss_first_minute_kb": first["rss"], "rss_end_kb": end["rss"], "rss_max_kb": peak["rss"],
                   "rss_after_kb": after["rss"], "rss_after_scrape_kb": after_scrape["rss"], "ratio": ratio, "verdict": verdict,
                   "trend_kb_per_hour": slope_kb_per_h, "segments": [{k: v for k, v in f.items() if k != "text"} for f in figs],
                   "metrics_delta": {k: m1[k] - m0.get(k, 0.0) for k in m1}}, f, indent=1)
    return 0 if flat and not errors else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--endpoint", required=True)
    r.add_argument("--access-key", required=True)
    r.add_argument("--secret-key", required=True)
    r.add_argument("--pid", type=int, required=True, help="the server process")
    r.add_argument("--users", type=int, default=10, help="how many users were seeded")
    r.add_argument("--duration", type=int, default=600, help="seconds of load")
    r.add_argument("--segment", type=int, default=600, help="longest wrk run on one set of signatures (< 900)")
    r.add_argument("--connections", type=int, default=64)
    r.add_argument("--threads", type=int, default=2)
    r.add_argument("--timeout", default="10s", help="wrk's per-request timeout")
    r.add_argument("--write-every", type=int, default=50, help="one write per this many requests (0: no writes)")
    r.add_argument("--sample-interval", type=float, default=5.0)
    r.add_argument("--scrape-metrics", type=float, default=0.0,
                   help="GET /metrics every this many seconds during the load, as Prometheus would (0: never)")
    r.add_argument("--first-minute", type=float, default=60.0, help="the reference sample's time into the load")
    r.add_argument("--tolerance", type=float, default=10.0, help="percent")
    r.add_argument("--audit-label", default="all (the default)")
    r.add_argument("--out-dir", required=True)
    r.add_argument("--work-dir", required=True)
    r.add_argument("--stamp", required=True)
    a = ap.parse_args()
    if a.segment >= 900:
        ap.error("--segment must stay below 900 s: SigV4 signatures are accepted for 15 minutes")
    if a.write_every == 1:
        ap.error("--write-every 1 would leave no reads")
    return cmd_run(a)


if __name__ == "__main__":
    sys.exit(main())
