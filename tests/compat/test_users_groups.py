"""Users and groups: fields, errors, renames, tags, membership, delete conflicts."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from compat_helpers import (
    ADMIN_POLICY_ARN,
    GROUP_ID_RE,
    STRONG_PASSWORD,
    USER_ID_RE,
    assert_tz_aware,
    delete_group_fully,
    delete_user_fully,
    expect_error,
    policy_json,
    tags_dict,
    unique_path,
)


@pytest.fixture
def new_user(iam, uniq, cleanup):
    """Factory: new_user(**create_user_kwargs) -> User dict (deleted at teardown)."""

    def make(name=None, **kwargs):
        name = name or uniq("user")
        cleanup(delete_user_fully, iam, name)
        return iam.create_user(UserName=name, **kwargs)["User"]

    return make


@pytest.fixture
def new_group(iam, uniq, cleanup):
    def make(name=None, **kwargs):
        name = name or uniq("group")
        cleanup(delete_group_fully, iam, name)
        return iam.create_group(GroupName=name, **kwargs)["Group"]

    return make


# ------------------------------------------------------------------ users


def test_create_user_fields(iam, new_user, uniq, account_id):
    name = uniq("fields")
    u = new_user(name)
    assert u["UserName"] == name
    assert u["Path"] == "/"
    assert USER_ID_RE.match(u["UserId"]), u["UserId"]
    assert u["Arn"] == f"arn:aws:iam::{account_id}:user/{name}"
    assert_tz_aware(u["CreateDate"], "User.CreateDate")

    got = iam.get_user(UserName=name)["User"]
    for field in ("UserName", "Path", "UserId", "Arn", "CreateDate"):
        assert got[field] == u[field], field
    assert "PasswordLastUsed" not in got  # never logged in


def test_create_user_with_path(iam, new_user, uniq, account_id):
    name, path = uniq("pathed"), unique_path("division") + "team/"
    u = new_user(name, Path=path)
    assert u["Path"] == path
    assert u["Arn"] == f"arn:aws:iam::{account_id}:user{path}{name}"
    listed = iam.list_users(PathPrefix=path)["Users"]
    assert [x["UserName"] for x in listed] == [name]
    assert iam.list_users(PathPrefix=path.rsplit("team/", 1)[0])["Users"][0]["UserName"] == name


def test_get_user_no_such_entity(iam, uniq):
    name = uniq("ghost")
    with expect_error("NoSuchEntity", 404) as e:
        iam.get_user(UserName=name)
    assert e.type == "Sender"
    assert name in (e.message or "")


def test_user_names_are_case_insensitive_unique_but_keep_case(iam, new_user, uniq):
    name = uniq("alice")
    new_user(name)
    with expect_error("EntityAlreadyExists", 409) as e:
        iam.create_user(UserName=name.upper())
    assert e.type == "Sender"
    with expect_error("EntityAlreadyExists", 409):
        iam.create_user(UserName=name)

    mixed = uniq("MixedCase")
    u = new_user(mixed)
    assert u["UserName"] == mixed
    assert iam.get_user(UserName=mixed)["User"]["UserName"] == mixed
    assert any(
        x["UserName"] == mixed
        for page in iam.get_paginator("list_users").paginate()
        for x in page["Users"]
    )


@pytest.mark.parametrize("bad", ["bad name!", "x" * 65, "slash/name"], ids=["space-bang", "65-chars", "slash"])
def test_invalid_user_names(iam, bad):
    with expect_error("ValidationError", 400) as e:
        iam.create_user(UserName=bad)
    assert e.type == "Sender"


def test_longest_user_name_is_64(iam, new_user, uniq):
    name = uniq("long")
    name = name + "x" * (64 - len(name))
    assert new_user(name)["UserName"] == name


def test_invalid_user_name_not_created(iam):
    with expect_error("ValidationError", 400):
        iam.create_user(UserName="bad name!")
    with expect_error("ValidationError", 400):
        iam.get_user(UserName="bad name!")


@pytest.mark.parametrize("max_items", [0, 1001])
def test_list_users_max_items_out_of_range(server, max_items):
    # botocore would refuse 0 client-side; turn its validation off to reach the server.
    client = server.client(parameter_validation=False)
    with expect_error("ValidationError", 400):
        client.list_users(MaxItems=max_items)


def test_list_users_bogus_marker_is_a_client_error(iam):
    with pytest.raises(ClientError) as excinfo:
        iam.list_users(Marker="not-a-real-marker")
    assert 400 <= excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] < 500


def test_update_user_rename_and_path(iam, new_user, uniq, account_id, cleanup):
    old, new, path = uniq("before"), uniq("after"), unique_path("moved")
    u = new_user(old)
    cleanup(delete_user_fully, iam, new)
    iam.update_user(UserName=old, NewUserName=new, NewPath=path)

    got = iam.get_user(UserName=new)["User"]
    assert got["UserName"] == new
    assert got["Path"] == path
    assert got["UserId"] == u["UserId"]
    assert got["Arn"] == f"arn:aws:iam::{account_id}:user{path}{new}"
    with expect_error("NoSuchEntity", 404):
        iam.get_user(UserName=old)


def test_update_user_to_existing_name_conflicts(iam, new_user, uniq):
    a, b = new_user()["UserName"], new_user()["UserName"]
    with expect_error("EntityAlreadyExists", 409):
        iam.update_user(UserName=a, NewUserName=b)


def _setup_dependent(iam, kind, user, group_name, uniq_name):
    """Give ``user`` one dependent of ``kind``; return a function removing it."""
    if kind == "access_key":
        key_id = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
        return lambda: iam.delete_access_key(UserName=user, AccessKeyId=key_id)
    if kind == "login_profile":
        iam.create_login_profile(UserName=user, Password=STRONG_PASSWORD)
        return lambda: iam.delete_login_profile(UserName=user)
    if kind == "group_membership":
        iam.add_user_to_group(GroupName=group_name, UserName=user)
        return lambda: iam.remove_user_from_group(GroupName=group_name, UserName=user)
    if kind == "attached_policy":
        iam.attach_user_policy(UserName=user, PolicyArn=ADMIN_POLICY_ARN)
        return lambda: iam.detach_user_policy(UserName=user, PolicyArn=ADMIN_POLICY_ARN)
    if kind == "inline_policy":
        iam.put_user_policy(UserName=user, PolicyName=uniq_name, PolicyDocument=policy_json())
        return lambda: iam.delete_user_policy(UserName=user, PolicyName=uniq_name)
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind", ["access_key", "login_profile", "group_membership", "attached_policy", "inline_policy"]
)
def test_delete_user_conflicts_until_cleaned(iam, new_user, new_group, uniq, kind):
    user = new_user()["UserName"]
    group = new_group()["GroupName"]
    remove = _setup_dependent(iam, kind, user, group, uniq("inline"))

    with expect_error("DeleteConflict", 409) as e:
        iam.delete_user(UserName=user)
    assert e.type == "Sender"
    assert iam.get_user(UserName=user)["User"]["UserName"] == user

    remove()
    iam.delete_user(UserName=user)
    with expect_error("NoSuchEntity", 404):
        iam.get_user(UserName=user)


def test_delete_missing_user(iam, uniq):
    with expect_error("NoSuchEntity", 404):
        iam.delete_user(UserName=uniq("nobody"))


def test_user_tags(iam, new_user):
    user = new_user(Tags=[{"Key": "a", "Value": "1"}])["UserName"]
    iam.tag_user(UserName=user, Tags=[{"Key": "b", "Value": "2"}, {"Key": "c", "Value": ""}])
    resp = iam.list_user_tags(UserName=user)
    assert tags_dict(resp["Tags"]) == {"a": "1", "b": "2", "c": ""}
    assert resp["IsTruncated"] is False

    # Tagging an existing key overwrites its value.
    iam.tag_user(UserName=user, Tags=[{"Key": "a", "Value": "changed"}])
    assert tags_dict(iam.list_user_tags(UserName=user)["Tags"]) == {"a": "changed", "b": "2", "c": ""}

    iam.untag_user(UserName=user, TagKeys=["b", "c", "not-there"])
    assert iam.list_user_tags(UserName=user)["Tags"] == [{"Key": "a", "Value": "changed"}]
    assert tags_dict(iam.get_user(UserName=user)["User"]["Tags"]) == {"a": "changed"}

    with expect_error("NoSuchEntity", 404):
        iam.list_user_tags(UserName=user + "-missing")


def test_too_many_user_tags(iam, new_user):
    user = new_user()["UserName"]
    iam.tag_user(UserName=user, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    with expect_error("LimitExceeded", 409):
        iam.tag_user(UserName=user, Tags=[{"Key": "one-too-many", "Value": "v"}])
    tags = tags_dict(iam.list_user_tags(UserName=user)["Tags"])
    assert len(tags) == 50 and "one-too-many" not in tags


# ------------------------------------------------------------------ groups


def test_group_crud(iam, new_group, new_user, uniq, account_id, cleanup):
    name, path = uniq("crew"), unique_path("grp")
    g = new_group(name, Path=path)
    assert g["GroupName"] == name
    assert g["Path"] == path
    assert GROUP_ID_RE.match(g["GroupId"]), g["GroupId"]
    assert g["Arn"] == f"arn:aws:iam::{account_id}:group{path}{name}"
    assert_tz_aware(g["CreateDate"], "Group.CreateDate")

    with expect_error("EntityAlreadyExists", 409):
        iam.create_group(GroupName=name.upper())

    got = iam.get_group(GroupName=name)
    assert got["Group"]["GroupId"] == g["GroupId"]
    assert got["Users"] == []
    assert got["IsTruncated"] is False

    assert [x["GroupName"] for x in iam.list_groups(PathPrefix=path)["Groups"]] == [name]

    renamed, new_path = uniq("crew2"), unique_path("grp2")
    cleanup(delete_group_fully, iam, renamed)
    iam.update_group(GroupName=name, NewGroupName=renamed, NewPath=new_path)
    got = iam.get_group(GroupName=renamed)["Group"]
    assert got["GroupId"] == g["GroupId"]
    assert got["Path"] == new_path
    assert got["Arn"] == f"arn:aws:iam::{account_id}:group{new_path}{renamed}"
    with expect_error("NoSuchEntity", 404):
        iam.get_group(GroupName=name)

    iam.delete_group(GroupName=renamed)
    with expect_error("NoSuchEntity", 404):
        iam.get_group(GroupName=renamed)


def test_group_membership(iam, new_group, new_user):
    group = new_group()["GroupName"]
    u1, u2 = new_user(), new_user()

    iam.add_user_to_group(GroupName=group, UserName=u1["UserName"])
    iam.add_user_to_group(GroupName=group, UserName=u2["UserName"])
    # Adding twice is a no-op in AWS.
    iam.add_user_to_group(GroupName=group, UserName=u1["UserName"])

    members = iam.get_group(GroupName=group)["Users"]
    assert sorted(m["UserName"] for m in members) == sorted([u1["UserName"], u2["UserName"]])
    by_name = {m["UserName"]: m for m in members}
    assert by_name[u1["UserName"]]["UserId"] == u1["UserId"]
    assert by_name[u1["UserName"]]["Arn"] == u1["Arn"]

    groups = iam.list_groups_for_user(UserName=u1["UserName"])
    assert [g["GroupName"] for g in groups["Groups"]] == [group]
    assert groups["IsTruncated"] is False

    iam.remove_user_from_group(GroupName=group, UserName=u1["UserName"])
    assert [m["UserName"] for m in iam.get_group(GroupName=group)["Users"]] == [u2["UserName"]]
    assert iam.list_groups_for_user(UserName=u1["UserName"])["Groups"] == []

    # Removing a user who is not a member succeeds, as on AWS.
    iam.remove_user_from_group(GroupName=group, UserName=u1["UserName"])


def test_add_missing_user_or_group(iam, new_group, new_user, uniq):
    group = new_group()["GroupName"]
    user = new_user()["UserName"]
    with expect_error("NoSuchEntity", 404):
        iam.add_user_to_group(GroupName=group, UserName=uniq("nouser"))
    with expect_error("NoSuchEntity", 404):
        iam.add_user_to_group(GroupName=uniq("nogroup"), UserName=user)
    # Neither exists: the user is reported.
    for call in (iam.add_user_to_group, iam.remove_user_from_group):
        missing = uniq("nouser")
        with expect_error("NoSuchEntity", 404) as e:
            call(GroupName=uniq("nogroup"), UserName=missing)
        assert e.message == f"The user with name {missing} cannot be found."


@pytest.mark.parametrize("kind", ["member", "attached_policy", "inline_policy"])
def test_delete_group_conflicts(iam, new_group, new_user, uniq, kind):
    group = new_group()["GroupName"]
    if kind == "member":
        user = new_user()["UserName"]
        iam.add_user_to_group(GroupName=group, UserName=user)
        remove = lambda: iam.remove_user_from_group(GroupName=group, UserName=user)  # noqa: E731
    elif kind == "attached_policy":
        iam.attach_group_policy(GroupName=group, PolicyArn=ADMIN_POLICY_ARN)
        remove = lambda: iam.detach_group_policy(GroupName=group, PolicyArn=ADMIN_POLICY_ARN)  # noqa: E731
    else:
        pname = uniq("inline")
        iam.put_group_policy(GroupName=group, PolicyName=pname, PolicyDocument=policy_json())
        remove = lambda: iam.delete_group_policy(GroupName=group, PolicyName=pname)  # noqa: E731

    with expect_error("DeleteConflict", 409):
        iam.delete_group(GroupName=group)
    assert iam.get_group(GroupName=group)["Group"]["GroupName"] == group

    remove()
    iam.delete_group(GroupName=group)
    with expect_error("NoSuchEntity", 404):
        iam.get_group(GroupName=group)
