"""Access keys: quota, status, deletion, last-used."""

from __future__ import annotations

import datetime as dt

import pytest
from botocore.exceptions import ClientError

from compat_helpers import (
    ACCESS_KEY_ID_RE,
    ADMIN_POLICY_ARN,
    SECRET_KEY_RE,
    assert_tz_aware,
    delete_user_fully,
    expect_error,
)


@pytest.fixture
def admin_user(iam, uniq, cleanup):
    """A fresh user with AdministratorAccess attached (so its keys may call IAM)."""
    name = uniq("keys")
    cleanup(delete_user_fully, iam, name)
    iam.create_user(UserName=name)
    iam.attach_user_policy(UserName=name, PolicyArn=ADMIN_POLICY_ARN)
    return name


def test_create_access_key_fields(iam, admin_user):
    k = iam.create_access_key(UserName=admin_user)["AccessKey"]
    assert k["UserName"] == admin_user
    assert ACCESS_KEY_ID_RE.match(k["AccessKeyId"]), k["AccessKeyId"]
    assert SECRET_KEY_RE.match(k["SecretAccessKey"]), k["SecretAccessKey"]
    assert k["Status"] == "Active"
    assert_tz_aware(k["CreateDate"], "AccessKey.CreateDate")

    meta = iam.list_access_keys(UserName=admin_user)
    assert meta["IsTruncated"] is False
    assert len(meta["AccessKeyMetadata"]) == 1
    m = meta["AccessKeyMetadata"][0]
    assert m["AccessKeyId"] == k["AccessKeyId"]
    assert m["UserName"] == admin_user
    assert m["Status"] == "Active"
    assert "SecretAccessKey" not in m  # the secret is only ever shown once


def test_at_most_two_keys_per_user(iam, make_iam, admin_user):
    k1 = iam.create_access_key(UserName=admin_user)["AccessKey"]
    # CreateAccessKey without UserName creates a key for the calling user.
    as_user = make_iam(k1["AccessKeyId"], k1["SecretAccessKey"])
    k2 = as_user.create_access_key()["AccessKey"]
    assert k2["UserName"] == admin_user
    assert k2["AccessKeyId"] != k1["AccessKeyId"]

    with expect_error("LimitExceeded", 409) as e:
        iam.create_access_key(UserName=admin_user)
    assert e.type == "Sender"
    ids = sorted(m["AccessKeyId"] for m in iam.list_access_keys(UserName=admin_user)["AccessKeyMetadata"])
    assert ids == sorted([k1["AccessKeyId"], k2["AccessKeyId"]])

    # Deleting one frees a slot.
    iam.delete_access_key(UserName=admin_user, AccessKeyId=k1["AccessKeyId"])
    iam.create_access_key(UserName=admin_user)


def test_access_key_for_missing_user(iam, uniq):
    with expect_error("NoSuchEntity", 404):
        iam.create_access_key(UserName=uniq("nobody"))


def test_update_access_key_status(iam, admin_user):
    k = iam.create_access_key(UserName=admin_user)["AccessKey"]
    iam.update_access_key(UserName=admin_user, AccessKeyId=k["AccessKeyId"], Status="Inactive")
    assert iam.list_access_keys(UserName=admin_user)["AccessKeyMetadata"][0]["Status"] == "Inactive"
    iam.update_access_key(UserName=admin_user, AccessKeyId=k["AccessKeyId"], Status="Active")
    assert iam.list_access_keys(UserName=admin_user)["AccessKeyMetadata"][0]["Status"] == "Active"
    with expect_error("NoSuchEntity", 404):
        iam.update_access_key(UserName=admin_user, AccessKeyId="AKIAAAAAAAAAAAAAAAAA", Status="Inactive")


def test_inactive_key_is_refused(iam, make_iam, admin_user):
    k = iam.create_access_key(UserName=admin_user)["AccessKey"]
    client = make_iam(k["AccessKeyId"], k["SecretAccessKey"])
    assert client.get_user()["User"]["UserName"] == admin_user

    iam.update_access_key(UserName=admin_user, AccessKeyId=k["AccessKeyId"], Status="Inactive")
    with expect_error("InvalidClientTokenId", 403):
        client.get_user()

    iam.update_access_key(UserName=admin_user, AccessKeyId=k["AccessKeyId"], Status="Active")
    assert client.get_user()["User"]["UserName"] == admin_user


def test_deleted_key_is_refused(iam, make_iam, admin_user):
    k = iam.create_access_key(UserName=admin_user)["AccessKey"]
    client = make_iam(k["AccessKeyId"], k["SecretAccessKey"])
    assert client.get_user()["User"]["UserName"] == admin_user

    iam.delete_access_key(UserName=admin_user, AccessKeyId=k["AccessKeyId"])
    assert iam.list_access_keys(UserName=admin_user)["AccessKeyMetadata"] == []
    with expect_error("InvalidClientTokenId", 403):
        client.get_user()
    with expect_error("NoSuchEntity", 404):
        iam.delete_access_key(UserName=admin_user, AccessKeyId=k["AccessKeyId"])


def test_deleted_key_is_refused_by_cli(iam, aws, admin_user):
    k = iam.create_access_key(UserName=admin_user)["AccessKey"]
    creds = (k["AccessKeyId"], k["SecretAccessKey"])
    assert aws("get-user", creds=creds).ok()["User"]["UserName"] == admin_user
    r = aws("delete-access-key", "--user-name", admin_user, "--access-key-id", k["AccessKeyId"])
    assert r.code == 0, r.err
    aws("get-user", creds=creds).expect_error("InvalidClientTokenId")


def test_get_access_key_last_used(iam, make_iam, admin_user):
    k = iam.create_access_key(UserName=admin_user)["AccessKey"]
    resp = iam.get_access_key_last_used(AccessKeyId=k["AccessKeyId"])
    assert resp["UserName"] == admin_user
    last = resp["AccessKeyLastUsed"]
    assert "Region" in last and "ServiceName" in last
    assert "LastUsedDate" not in last
    assert last["ServiceName"] == "N/A"
    assert last["Region"] == "N/A"

    make_iam(k["AccessKeyId"], k["SecretAccessKey"]).get_user()
    last = iam.get_access_key_last_used(AccessKeyId=k["AccessKeyId"])["AccessKeyLastUsed"]
    # Tracking may lag; once recorded it must name IAM and a real date.
    if "LastUsedDate" in last:
        assert last["ServiceName"] == "iam"
        assert last["Region"] not in ("", None)
        assert isinstance(last["LastUsedDate"], dt.datetime)
        assert last["LastUsedDate"].tzinfo is not None
    else:
        assert last["ServiceName"] == "N/A" and last["Region"] == "N/A"

    # AWS documents no error for an unknown key id; it must at least be a client error.
    with pytest.raises(ClientError) as excinfo:
        iam.get_access_key_last_used(AccessKeyId="AKIAAAAAAAAAAAAAAAAA")
    assert 400 <= excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] < 500
