"""The IAM "first admin / first user" tutorial, once with aws-cli, once with boto3."""

from __future__ import annotations

import re

from compat_helpers import (
    ACCESS_KEY_ID_RE,
    ADMIN_POLICY_ARN,
    SECRET_KEY_RE,
    STRONG_PASSWORD,
    assert_tz_aware,
    delete_group_fully,
    delete_user_fully,
    expect_error,
    remove_account_aliases,
    tags_dict,
)

ADMIN_ATTACHMENT = {"PolicyName": "AdministratorAccess", "PolicyArn": ADMIN_POLICY_ARN}

SUMMARY_QUOTAS = {
    "AccessKeysPerUserQuota": 2,
    "GroupsPerUserQuota": 10,
    "VersionsPerPolicyQuota": 5,
    "AttachedPoliciesPerUserQuota": 10,
    "AttachedPoliciesPerGroupQuota": 10,
    "AttachedPoliciesPerRoleQuota": 10,
    "SigningCertificatesPerUserQuota": 2,
}


def _check_summary(before: dict, after: dict, users: int, groups: int):
    for key in ("Users", "Groups", "Roles", "Policies", "UsersQuota", "GroupsQuota",
                "RolesQuota", "PoliciesQuota", "AccountMFAEnabled", "MFADevices",
                "AccountAccessKeysPresent", *SUMMARY_QUOTAS):
        assert key in after, f"SummaryMap lacks {key}: {sorted(after)}"
        assert isinstance(after[key], int)
    for key, value in SUMMARY_QUOTAS.items():
        assert after[key] == value, f"{key} = {after[key]}, AWS default is {value}"
    assert after["Policies"] >= 0
    assert after["Users"] == before["Users"] + users
    assert after["Groups"] == before["Groups"] + groups
    # Attaching an AWS-managed policy creates no customer-managed policy.
    assert after["Policies"] == before["Policies"]


def test_tutorial_aws_cli(server, aws, iam, uniq, cleanup, account_id):
    remove_account_aliases(iam)
    before = aws("get-account-summary").ok()["SummaryMap"]

    # bootstrap-admin already made group Admins with the admin user in it.
    admins = aws("get-group", "--group-name", "Admins").ok()
    assert admins["Group"]["GroupName"] == "Admins"
    assert admins["Group"]["Arn"] == f"arn:aws:iam::{account_id}:group/Admins"
    assert server.admin_user in [u["UserName"] for u in admins["Users"]]
    attached = aws("list-attached-group-policies", "--group-name", "Admins").ok()
    assert attached["AttachedPolicies"] == [ADMIN_ATTACHMENT]

    group, user, alias = uniq("Operators"), uniq("Alice"), uniq("portcullis-cli")
    cleanup(delete_group_fully, iam, group)
    cleanup(delete_user_fully, iam, user)
    cleanup(remove_account_aliases, iam)

    created = aws("create-group", "--group-name", group).ok()["Group"]
    assert created["GroupName"] == group
    assert created["Path"] == "/"
    assert created["Arn"] == f"arn:aws:iam::{account_id}:group/{group}"
    assert re.fullmatch(r"AGPA[A-Z2-7]{17}", created["GroupId"])

    r = aws("attach-group-policy", "--group-name", group, "--policy-arn", ADMIN_POLICY_ARN)
    assert r.code == 0, r.err
    assert r.out == "", f"AttachGroupPolicy has no output fields, got {r.out!r}"
    listed = aws("list-attached-group-policies", "--group-name", group).ok()
    assert listed["AttachedPolicies"] == [ADMIN_ATTACHMENT]

    u = aws("create-user", "--user-name", user,
            "--tags", "Key=team,Value=platform", "Key=env,Value=dev").ok()["User"]
    assert u["UserName"] == user
    assert u["Arn"] == f"arn:aws:iam::{account_id}:user/{user}"
    assert tags_dict(u["Tags"]) == {"team": "platform", "env": "dev"}
    got = aws("get-user", "--user-name", user).ok()["User"]
    assert tags_dict(got["Tags"]) == {"team": "platform", "env": "dev"}

    lp = aws("create-login-profile", "--user-name", user, "--password", STRONG_PASSWORD,
             "--password-reset-required").ok()["LoginProfile"]
    assert lp["UserName"] == user
    assert lp["PasswordResetRequired"] is True
    lp = aws("get-login-profile", "--user-name", user).ok()["LoginProfile"]
    assert lp["UserName"] == user
    assert lp["PasswordResetRequired"] is True
    assert "CreateDate" in lp

    key = aws("create-access-key", "--user-name", user).ok()["AccessKey"]
    assert key["UserName"] == user
    assert key["Status"] == "Active"
    assert ACCESS_KEY_ID_RE.match(key["AccessKeyId"]), key["AccessKeyId"]
    assert SECRET_KEY_RE.match(key["SecretAccessKey"]), key["SecretAccessKey"]

    r = aws("add-user-to-group", "--user-name", user, "--group-name", group)
    assert r.code == 0, r.err

    # The new key authenticates, and GetUser without a name returns the caller.
    me = aws("get-user", creds=(key["AccessKeyId"], key["SecretAccessKey"])).ok()["User"]
    assert me["UserName"] == user
    assert me["UserId"] == u["UserId"]

    groups = aws("list-groups-for-user", "--user-name", user).ok()
    assert [g["GroupName"] for g in groups["Groups"]] == [group]

    r = aws("create-account-alias", "--account-alias", alias)
    assert r.code == 0, r.err
    assert aws("list-account-aliases").ok()["AccountAliases"] == [alias]

    after = aws("get-account-summary").ok()["SummaryMap"]
    _check_summary(before, after, users=1, groups=1)

    r = aws("delete-account-alias", "--account-alias", alias)
    assert r.code == 0, r.err
    assert aws("list-account-aliases").ok()["AccountAliases"] == []


def test_tutorial_boto3(server, iam, make_iam, uniq, cleanup, account_id):
    remove_account_aliases(iam)
    before = iam.get_account_summary()["SummaryMap"]

    admins = iam.get_group(GroupName="Admins")
    assert server.admin_user in [u["UserName"] for u in admins["Users"]]
    assert iam.list_attached_group_policies(GroupName="Admins")["AttachedPolicies"] == [
        ADMIN_ATTACHMENT
    ]

    group, user, alias = uniq("Developers"), uniq("Bob"), uniq("portcullis-boto")
    cleanup(delete_group_fully, iam, group)
    cleanup(delete_user_fully, iam, user)
    cleanup(remove_account_aliases, iam)

    g = iam.create_group(GroupName=group)["Group"]
    assert g["GroupName"] == group
    assert_tz_aware(g["CreateDate"], "Group.CreateDate")
    iam.attach_group_policy(GroupName=group, PolicyArn=ADMIN_POLICY_ARN)
    assert iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"] == [
        ADMIN_ATTACHMENT
    ]

    u = iam.create_user(UserName=user, Tags=[{"Key": "team", "Value": "platform"}])["User"]
    assert u["UserName"] == user
    assert u["Tags"] == [{"Key": "team", "Value": "platform"}]
    assert iam.list_user_tags(UserName=user)["Tags"] == [{"Key": "team", "Value": "platform"}]

    lp = iam.create_login_profile(UserName=user, Password=STRONG_PASSWORD,
                                  PasswordResetRequired=True)["LoginProfile"]
    assert lp["UserName"] == user and lp["PasswordResetRequired"] is True
    assert_tz_aware(lp["CreateDate"], "LoginProfile.CreateDate")
    assert iam.get_login_profile(UserName=user)["LoginProfile"]["PasswordResetRequired"] is True

    key = iam.create_access_key(UserName=user)["AccessKey"]
    assert len(key["AccessKeyId"]) == 20 and key["AccessKeyId"].startswith("AKIA")
    assert len(key["SecretAccessKey"]) == 40
    assert key["Status"] == "Active"
    assert_tz_aware(key["CreateDate"], "AccessKey.CreateDate")

    iam.add_user_to_group(GroupName=group, UserName=user)
    mine = make_iam(key["AccessKeyId"], key["SecretAccessKey"])
    me = mine.get_user()["User"]
    assert me["UserName"] == user
    assert me["Arn"] == f"arn:aws:iam::{account_id}:user/{user}"

    assert [x["GroupName"] for x in iam.list_groups_for_user(UserName=user)["Groups"]] == [group]
    assert user in [x["UserName"] for x in iam.get_group(GroupName=group)["Users"]]

    iam.create_account_alias(AccountAlias=alias)
    assert iam.list_account_aliases()["AccountAliases"] == [alias]

    _check_summary(before, iam.get_account_summary()["SummaryMap"], users=1, groups=1)

    iam.delete_account_alias(AccountAlias=alias)
    assert iam.list_account_aliases()["AccountAliases"] == []


def test_account_alias_must_be_lowercase(iam, uniq, cleanup):
    cleanup(remove_account_aliases, iam)
    bad = uniq("Upper-Case")
    with expect_error("ValidationError", 400):
        iam.create_account_alias(AccountAlias=bad)
    assert bad not in iam.list_account_aliases()["AccountAliases"]


def test_an_account_alias_cannot_look_like_an_account_id(iam, cleanup):
    cleanup(remove_account_aliases, iam)
    with expect_error("ValidationError", 400) as e:
        iam.create_account_alias(AccountAlias="123456789012")
    assert "12-digit" in e.message
    assert iam.list_account_aliases()["AccountAliases"] == []
