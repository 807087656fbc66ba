"""Concurrent writers: uniqueness and quotas hold under races, no lost writes."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from botocore.exceptions import ClientError

from compat_helpers import ADMIN_POLICY_ARN, delete_group_fully, delete_user_fully, unique_path

THREADS = 10


def race(server, n, fn):
    """Run fn(client, i) in n threads released together; return the results,
    each either ("ok", value) or (error code, HTTP status)."""
    clients = [server.client() for _ in range(n)]  # made up front: not thread-safe to create
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait(timeout=30)
        try:
            return ("ok", fn(clients[i], i))
        except ClientError as e:
            return (e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"])

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def test_concurrent_create_same_user(server, iam, uniq, cleanup):
    name = uniq("race")
    cleanup(delete_user_fully, iam, name)
    results = race(server, THREADS, lambda c, i: c.create_user(UserName=name)["User"]["UserId"])
    ok = [r for r in results if r[0] == "ok"]
    errors = [r for r in results if r[0] != "ok"]
    assert len(ok) == 1, results
    assert errors == [("EntityAlreadyExists", 409)] * (THREADS - 1), results
    assert iam.get_user(UserName=name)["User"]["UserId"] == ok[0][1]


def test_concurrent_create_same_user_different_case(server, iam, uniq, cleanup):
    base = uniq("racecase")
    variants = [base.upper() if i % 2 else base for i in range(THREADS)]
    for v in set(variants):
        cleanup(delete_user_fully, iam, v)
    results = race(server, THREADS, lambda c, i: c.create_user(UserName=variants[i])["User"]["UserName"])
    ok = [r for r in results if r[0] == "ok"]
    assert len(ok) == 1, results
    assert sorted(r for r in results if r[0] != "ok") == [("EntityAlreadyExists", 409)] * (THREADS - 1)


def test_concurrent_distinct_creates_are_all_kept(server, iam, uniq):
    path = unique_path("conc")
    names = [uniq(f"many{i}") for i in range(20)]
    try:
        results = race(server, len(names),
                       lambda c, i: c.create_user(UserName=names[i], Path=path)["User"]["UserName"])
        assert all(r[0] == "ok" for r in results), results
        listed = sorted(u["UserName"] for u in iam.list_users(PathPrefix=path)["Users"])
        assert listed == sorted(names)
        ids = {iam.get_user(UserName=n)["User"]["UserId"] for n in names}
        assert len(ids) == len(names), "two users got the same UserId"
    finally:
        for n in names:
            delete_user_fully(iam, n)


def test_concurrent_access_keys_respect_quota(server, iam, uniq, cleanup):
    name = uniq("racekeys")
    cleanup(delete_user_fully, iam, name)
    iam.create_user(UserName=name)
    iam.attach_user_policy(UserName=name, PolicyArn=ADMIN_POLICY_ARN)
    results = race(server, 6, lambda c, i: c.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"])
    ok = [r for r in results if r[0] == "ok"]
    assert len(ok) == 2, results
    assert sorted(r for r in results if r[0] != "ok") == [("LimitExceeded", 409)] * 4
    listed = sorted(k["AccessKeyId"] for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"])
    assert listed == sorted(r[1] for r in ok)


def test_concurrent_group_membership(server, iam, uniq, cleanup):
    group = uniq("racegroup")
    users = [uniq(f"member{i}") for i in range(THREADS)]
    cleanup(delete_group_fully, iam, group)
    for u in users:
        cleanup(delete_user_fully, iam, u)
        iam.create_user(UserName=u)
    iam.create_group(GroupName=group)
    results = race(server, THREADS, lambda c, i: c.add_user_to_group(GroupName=group, UserName=users[i]))
    assert all(r[0] == "ok" for r in results), results
    members = sorted(x["UserName"] for x in iam.get_group(GroupName=group)["Users"])
    assert members == sorted(users)
