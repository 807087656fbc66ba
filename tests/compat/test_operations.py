"""What operators watch: liveness and readiness endpoints, Prometheus metrics at /metrics
(requests by operation and status with latency, authorization decisions, the read cache,
failed attempts, the database pool) and JSON log lines that carry the request id AWS
clients show."""

from __future__ import annotations

import json
import re

import requests
from botocore.exceptions import ClientError

from compat_helpers import unique_name


def metric(text: str, name: str, **labels) -> float:
    """The value of one sample of the Prometheus text format (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0])) if "{" in line else {}
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_health_and_readiness(server):
    health = requests.get(f"{server.endpoint}/_portcullis/health", timeout=10)
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    ready = requests.get(f"{server.endpoint}/_portcullis/ready", timeout=10)
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}


def test_prometheus_metrics(server, iam):
    before = requests.get(f"{server.endpoint}/metrics", timeout=10).text
    iam.get_user()
    iam.get_user()
    name = unique_name("nobody")
    try:
        iam.get_user(UserName=name)
    except ClientError as e:
        assert e.response["Error"]["Code"] == "NoSuchEntity"
    page = requests.get(f"{server.endpoint}/metrics", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/plain")
    after = page.text
    ok = lambda text: metric(text, "portcullis_requests_total", service="iam", operation="GetUser", status="200")
    missing = lambda text: metric(text, "portcullis_requests_total", service="iam", operation="GetUser", status="404")
    assert ok(after) - ok(before) == 2
    assert missing(after) - missing(before) == 1
    assert metric(after, "portcullis_request_duration_seconds_count", service="iam", operation="GetUser") >= 3
    assert 'portcullis_request_duration_seconds_bucket{service="iam",operation="GetUser",le="0.001"}' in after
    assert metric(after, "portcullis_authorization_decisions_total", decision="allow") > metric(before, "portcullis_authorization_decisions_total", decision="allow")
    assert metric(after, "portcullis_read_cache_total", result="hit") + metric(after, "portcullis_read_cache_total", result="miss") > 0
    assert metric(after, "portcullis_db_connections_max") >= 1


def test_json_logs_carry_the_request_id(server_factory, monkeypatch):
    monkeypatch.setenv("PORTCULLIS_LOG", "info,portcullis_api=debug")
    srv = server_factory(extra_args=["--log-format", "json"])
    try:
        srv.client().get_user(UserName=unique_name("nobody"))
    except ClientError as e:
        request_id = e.response["ResponseMetadata"]["RequestId"]
    lines = [line.split("] ", 1)[-1] for line in srv.log_path.read_text().splitlines()]
    events = [json.loads(line) for line in lines if line.startswith("{")]
    assert events, "the log is JSON lines"
    mine = [e for e in events if e.get("span", {}).get("request_id") == request_id]
    assert mine, f"no log line names request {request_id}"
    assert all({"timestamp", "level", "fields"} <= e.keys() for e in mine)


def test_requests_before_the_first_scrape_are_counted(server_factory):
    """The recorder is there from the start (a request before Prometheus's first scrape
    counts), and its samples are folded into the histogram without a scrape (a server
    nobody scrapes does not keep every request's latency: bench/soak)."""
    srv = server_factory()
    iam = srv.client()
    for _ in range(3):
        iam.list_users(MaxItems=1)
    text = requests.get(f"{srv.endpoint}/metrics", timeout=10).text
    assert metric(text, "portcullis_requests_total", service="iam", operation="ListUsers", status="200") >= 3, text[:2000]
    assert metric(text, "portcullis_request_duration_seconds_count", service="iam", operation="ListUsers") >= 3
