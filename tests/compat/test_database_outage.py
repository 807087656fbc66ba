"""A node whose PostgreSQL connection drops answers `ServiceUnavailable` (HTTP 503, AWS's
shape) within seconds instead of hanging, reports itself not ready, and recovers by itself
when the database is back, without a restart. The database is taken away by a TCP proxy
between the node and PostgreSQL that the test cuts and restores."""

from __future__ import annotations

import socket
import threading
import time
import urllib.parse

import pytest
import requests
from botocore.exceptions import ClientError

from compat_helpers import unique_name
from conftest import start_node, start_server


class Proxy:
    """Forwards TCP connections to PostgreSQL; `cut()` drops every connection and refuses
    new ones (accepted and closed at once) until `restore()`."""

    def __init__(self, host: str, port: int):
        self.upstream = (host, port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.down = False
        self.open: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.down:
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.open += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        self.down = True
        with self.lock:
            for s in self.open:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
            self.open.clear()

    def restore(self):
        self.down = False

    def close(self):
        self.cut()
        self.listener.close()


@pytest.fixture
def proxied(backend, tmp_path_factory):
    if backend != "postgres":
        pytest.skip("the outage is of a PostgreSQL server")
    first = start_server(backend, tmp_path_factory.mktemp("outage-a"))
    url = urllib.parse.urlsplit(first.database_url)
    proxy = Proxy(url.hostname or "127.0.0.1", url.port or 5432)
    through = urllib.parse.urlunsplit(url._replace(netloc=f"{url.username}@127.0.0.1:{proxy.port}" if url.username else f"127.0.0.1:{proxy.port}"))
    node = None
    try:
        node = start_node(first, tmp_path_factory.mktemp("outage-b"), database_url=through)
        yield node, proxy
    finally:
        if node is not None:
            node.stop()
        proxy.close()
        first.teardown()


def test_an_unreachable_database_is_a_503_and_the_node_recovers_by_itself(proxied):
    node, proxy = proxied
    iam = node.client()
    iam.create_user(UserName=unique_name("before"))
    assert requests.get(f"{node.endpoint}/_portcullis/ready", timeout=10).status_code == 200

    proxy.cut()
    started = time.monotonic()
    with pytest.raises(ClientError) as e:
        iam.create_user(UserName=unique_name("during"))
    took = time.monotonic() - started
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert e.value.response["Error"]["Code"] == "ServiceUnavailable"
    assert e.value.response["Error"]["Message"] == "The request has failed due to a temporary failure of the server."
    assert took < 15, f"answered after {took:.1f} s"
    ready = requests.get(f"{node.endpoint}/_portcullis/ready", timeout=30)
    assert ready.status_code == 503 and ready.json() == {"status": "unavailable"}
    assert requests.get(f"{node.endpoint}/_portcullis/health", timeout=10).json() == {"status": "ok"}, "the process itself is alive"

    proxy.restore()
    name = unique_name("after")
    deadline = time.monotonic() + 30
    while True:
        try:
            iam.create_user(UserName=name)
            break
        except ClientError as err:
            assert err.response["Error"]["Code"] == "ServiceUnavailable", err.response
            assert time.monotonic() < deadline, "the node did not recover"
            time.sleep(0.5)
    assert iam.get_user(UserName=name)["User"]["UserName"] == name
    assert requests.get(f"{node.endpoint}/_portcullis/ready", timeout=10).status_code == 200
