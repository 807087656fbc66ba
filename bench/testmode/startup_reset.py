#!/usr/bin/env python3
"""Start-up and reset of the test mode, beside moto's server doing the same.

Start-up: from spawning the process to the first answered IAM request that needs the
AWS-managed catalog (GetPolicy AdministratorAccess). Reset: POST the reset hook, and the
reset followed by that same first request (moto loads its managed policies again there).
Prints medians over several runs and the ratios."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import boto3
from botocore.config import Config
import requests

REPO = Path(__file__).resolve().parents[2]
PORTCULLIS = Path(os.environ.get("PORTCULLIS_BIN", REPO / "target" / "release" / "portcullis"))
MOTO = Path(os.environ.get("MOTO_SERVER", REPO / "bench" / "load" / ".venv" / "bin" / "moto_server"))
STARTS = int(os.environ.get("STARTS", "5"))
RESETS = int(os.environ.get("RESETS", "30"))
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def client(url):
    # No client-side retries: their back-off would blur the start-up time.
    return boto3.client("iam", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=2))


FIRST = "Action=GetPolicy&Version=2010-05-08&PolicyArn=" + ADMIN
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


def first_answer(url, deadline):
    """Polls with a plain HTTP request (both servers take unsigned requests in this mode),
    so no client library's start-up or retry back-off is counted."""
    session = requests.Session()
    while time.perf_counter() < deadline:
        try:
            if session.post(url + "/", data=FIRST, headers=FORM, timeout=5).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.001)
    raise RuntimeError(f"no answer from {url}")


def start(kind):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    if kind == "portcullis":
        cmd = [str(PORTCULLIS), "serve", "--ephemeral", "--accept-any-credentials", "--listen", f"127.0.0.1:{port}"]
    else:
        cmd = [str(MOTO), "-p", str(port)]
    # moto loads its AWS-managed policies only when asked to.
    env = dict(os.environ, MOTO_IAM_LOAD_MANAGED_POLICIES="true")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    first_answer(url, t0 + 60)
    return proc, url, time.perf_counter() - t0


def reset_path(kind):
    return "/_portcullis/reset" if kind == "portcullis" else "/moto-api/reset"


def measure(kind):
    starts, resets, resets_then_first = [], [], []
    for _ in range(STARTS):
        proc, url, took = start(kind)
        starts.append(took)
        proc.terminate()
        proc.wait()
    proc, url, _ = start(kind)
    try:
        iam = client(url)
        for i in range(RESETS):
            for n in range(20):
                iam.create_user(UserName=f"u{i}-{n}")
            t0 = time.perf_counter()
            requests.post(url + reset_path(kind), timeout=30).raise_for_status()
            resets.append(time.perf_counter() - t0)
            assert requests.post(url + "/", data=FIRST, headers=FORM, timeout=30).status_code == 200
            resets_then_first.append(time.perf_counter() - t0)
            assert iam.list_users()["Users"] == [], "reset left users behind"
    finally:
        proc.terminate()
        proc.wait()
    ms = lambda xs: statistics.median(xs) * 1000
    return ms(starts), ms(resets), ms(resets_then_first)


def main():
    missing = [p for p in (PORTCULLIS, MOTO) if not p.exists()]
    if missing:
        sys.exit(f"missing {missing}: build with `cargo build --release` and run bench/load/run.sh once (it installs moto)")
    rows = {k: measure(k) for k in ("portcullis", "moto")}
    print(f"{'':26}{'portcullis':>12}{'moto':>12}{'ratio':>9}")
    for i, label in enumerate(["start-up to first answer", "reset", "reset + first request"]):
        p, m = rows["portcullis"][i], rows["moto"][i]
        print(f"{label:26}{p:10.1f}ms{m:10.1f}ms{m / p:8.1f}x")


if __name__ == "__main__":
    main()
