"""`portcullis bootstrap-admin` run against a live server's data dir / database."""

from __future__ import annotations

import csv

from compat_helpers import (
    ACCESS_KEY_ID_RE,
    ADMIN_POLICY_ARN,
    SECRET_KEY_RE,
    delete_user_fully,
    parse_ini_credentials,
)

CSV_HEADER = "User name,Password,Access key ID,Secret access key,Console login link"


def _admins_invariants(iam, *members):
    groups = [g for page in iam.get_paginator("list_groups").paginate() for g in page["Groups"]]
    assert [g["GroupName"] for g in groups].count("Admins") == 1, "group Admins duplicated"
    users = [u["UserName"] for u in iam.get_group(GroupName="Admins")["Users"]]
    for m in members:
        assert m in users
    attached = iam.list_attached_group_policies(GroupName="Admins")["AttachedPolicies"]
    assert attached == [{"PolicyName": "AdministratorAccess", "PolicyArn": ADMIN_POLICY_ARN}]


def test_bootstrap_admin_csv(server, iam, make_iam, uniq, cleanup):
    name = uniq("csv-admin")
    cleanup(delete_user_fully, iam, name)
    r = server.run_bootstrap_admin(name, csv=True)
    assert r.returncode == 0, f"exit {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"

    lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
    assert lines[0] == CSV_HEADER, f"CSV header {lines[0]!r}"
    rows = list(csv.reader(lines[1:]))
    assert len(rows) == 1, f"expected exactly one data row, got {rows}"
    row = rows[0]
    assert len(row) == 5, row
    user_name, password, key_id, secret, _console_link = row
    assert user_name == name
    assert password == ""
    assert ACCESS_KEY_ID_RE.match(key_id), key_id
    assert SECRET_KEY_RE.match(secret), "secret is not 40 characters of [A-Za-z0-9/+]"

    # The running server sees the new key at once.
    client = make_iam(key_id, secret)
    me = client.get_user()["User"]
    assert me["UserName"] == name
    assert me["Arn"] == f"arn:aws:iam::{server.account_id}:user/{name}"
    assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]] == [key_id]
    # ... and it is an administrator: it may create and delete things.
    probe = uniq("probe")
    client.create_group(GroupName=probe)
    client.delete_group(GroupName=probe)

    _admins_invariants(iam, server.admin_user, name)


def test_bootstrap_admin_ini_format_and_group_idempotent(server, iam, make_iam, uniq, cleanup):
    name = uniq("ini-admin")
    cleanup(delete_user_fully, iam, name)
    r = server.run_bootstrap_admin(name)
    assert r.returncode == 0, f"exit {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    key_id, secret = parse_ini_credentials(r.stdout)  # exact three-line block
    assert make_iam(key_id, secret).get_user()["User"]["UserName"] == name
    _admins_invariants(iam, server.admin_user, name)
