"""A pytest setup as a project moving from moto's server would write it: one Portcullis
process per session in test mode, reset before every test, boto3 with dummy keys."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import boto3
import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("PORTCULLIS_BIN") or REPO / "target" / "debug" / "portcullis")


@pytest.fixture(scope="session")
def endpoint(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("testmode")
    proc = subprocess.Popen([str(BIN), "serve", "--ephemeral", "--accept-any-credentials", "--listen", "127.0.0.1:0"],
                            cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = None
    banner = []
    for line in proc.stdout:
        banner.append(line)
        m = re.match(r"listening on (http://\S+)", line)
        if m:
            url = m.group(1)
            break
    assert url, "".join(banner)
    yield url
    proc.terminate()
    proc.wait(timeout=20)
    # Nothing was written where the server ran.
    assert list(workdir.iterdir()) == []


@pytest.fixture(autouse=True)
def reset(endpoint):
    assert requests.post(f"{endpoint}/moto-api/reset", timeout=10).status_code == 200
    yield


@pytest.fixture
def aws(endpoint):
    """boto3 clients with the dummy credentials moto-based suites use."""
    def client(service, key="testing", secret="testing", token=None):
        return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                            aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token)
    return client
