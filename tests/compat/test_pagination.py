"""Marker pagination over 1,050 users (aws-cli auto-pagination and boto3).

Slow-ish (~1 minute): skipped when PORTCULLIS_QUICK=1, runs by default.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from compat_helpers import delete_user_fully, unique_path

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("PORTCULLIS_QUICK") == "1",
                       reason="PORTCULLIS_QUICK=1 skips the pagination tests"),
]

COUNT = 1050
WORKERS = 8


@pytest.fixture(scope="module")
def many_users(server):
    """COUNT users under one unique path; yields (path, sorted names)."""
    iam = server.client(max_pool_connections=WORKERS * 2)
    path = unique_path("pag")
    tag = path.strip("/")
    names = [f"{tag}-{i:04d}" for i in range(COUNT)]

    def create(name):
        iam.create_user(UserName=name, Path=path)

    try:
        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(create, names))
        yield path, sorted(names)
    finally:
        def delete(name):
            try:
                iam.delete_user(UserName=name)
            except Exception:  # noqa: BLE001 - not created, or has dependents
                try:
                    delete_user_fully(iam, name)
                except Exception:  # noqa: BLE001
                    pass

        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(delete, names))
        leftover = iam.list_users(PathPrefix=path)["Users"]
        assert leftover == [], f"{len(leftover)} pagination users could not be deleted"


def test_aws_cli_auto_paginates_all_users(many_users, aws):
    path, names = many_users
    out = aws("list-users", "--path-prefix", path, timeout=300).ok()
    got = [u["UserName"] for u in out["Users"]]
    assert len(got) == COUNT, f"aws-cli returned {len(got)} users, expected {COUNT}"
    assert len(set(got)) == COUNT, "a user was returned more than once"
    assert sorted(got) == names
    assert all(u["Path"] == path for u in out["Users"])


def test_boto3_marker_pagination(many_users, iam):
    path, names = many_users
    first = iam.list_users(PathPrefix=path, MaxItems=100)
    assert len(first["Users"]) == 100
    assert first["IsTruncated"] is True
    assert first["Marker"]

    seen = [u["UserName"] for u in first["Users"]]
    marker, pages = first["Marker"], 1
    while marker:
        page = iam.list_users(PathPrefix=path, MaxItems=100, Marker=marker)
        pages += 1
        assert pages <= COUNT // 100 + 2, "pagination does not terminate"
        assert len(page["Users"]) <= 100
        seen += [u["UserName"] for u in page["Users"]]
        if page["IsTruncated"]:
            assert page.get("Marker"), "IsTruncated true without a Marker"
            marker = page["Marker"]
        else:
            assert "Marker" not in page or not page["Marker"]
            marker = None
    assert len(seen) == COUNT and len(set(seen)) == COUNT
    assert sorted(seen) == names


def test_boto3_paginator_and_default_page_size(many_users, iam):
    path, names = many_users
    default_page = iam.list_users(PathPrefix=path)
    assert len(default_page["Users"]) == 100  # AWS's default MaxItems
    assert default_page["IsTruncated"] is True

    seen = []
    for page in iam.get_paginator("list_users").paginate(PathPrefix=path,
                                                         PaginationConfig={"PageSize": 1000}):
        seen += [u["UserName"] for u in page["Users"]]
    assert sorted(seen) == names
