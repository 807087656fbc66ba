"""State survives a restart (same data dir / database), on a private server."""

from __future__ import annotations

import json

from compat_helpers import (
    EC2_TRUST_POLICY,
    SIMPLE_POLICY,
    STRONG_PASSWORD,
    policy_json,
    tags_dict,
)

V2_DOC = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"}],
}


def test_state_survives_restart(server_factory, uniq):
    # This server was bootstrapped offline: serve, stop, bootstrap-admin, serve.
    srv = server_factory(bootstrap="offline")
    iam = srv.client()
    account = srv.account_id

    user, group, role = uniq("keep-user"), uniq("keep-group"), uniq("keep-role")
    pol, alias = uniq("keep-pol"), uniq("keep-alias")

    u = iam.create_user(UserName=user, Path="/kept/", Tags=[{"Key": "k", "Value": "v"}])["User"]
    iam.create_login_profile(UserName=user, Password=STRONG_PASSWORD, PasswordResetRequired=True)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    g = iam.create_group(GroupName=group)["Group"]
    iam.add_user_to_group(GroupName=group, UserName=user)
    p = iam.create_policy(PolicyName=pol, PolicyDocument=policy_json(), Description="kept")["Policy"]
    iam.create_policy_version(PolicyArn=p["Arn"], PolicyDocument=policy_json(V2_DOC), SetAsDefault=True)
    iam.attach_group_policy(GroupName=group, PolicyArn=p["Arn"])
    iam.attach_group_policy(GroupName=group, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    iam.put_user_policy(UserName=user, PolicyName="inline", PolicyDocument=policy_json())
    r = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(EC2_TRUST_POLICY),
                        MaxSessionDuration=7200)["Role"]
    for a in iam.list_account_aliases()["AccountAliases"]:
        iam.delete_account_alias(AccountAlias=a)
    iam.create_account_alias(AccountAlias=alias)
    old_endpoint = srv.endpoint

    srv.restart()
    assert not srv.last_stop_needed_kill, "server ignored SIGTERM and had to be killed"
    iam = srv.client()  # the port may have changed
    print(f"restarted: {old_endpoint} -> {srv.endpoint}")

    # The admin key still works and the account is the same.
    me = iam.get_user()["User"]
    assert me["UserName"] == srv.admin_user
    assert me["Arn"].split(":")[4] == account

    got = iam.get_user(UserName=user)["User"]
    assert got["UserId"] == u["UserId"]
    assert got["Arn"] == u["Arn"] == f"arn:aws:iam::{account}:user/kept/{user}"
    assert abs((got["CreateDate"] - u["CreateDate"]).total_seconds()) < 1
    assert tags_dict(got["Tags"]) == {"k": "v"}
    assert iam.get_login_profile(UserName=user)["LoginProfile"]["PasswordResetRequired"] is True
    keys = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    assert [(k["AccessKeyId"], k["Status"]) for k in keys] == [(key["AccessKeyId"], "Active")]
    assert iam.get_user_policy(UserName=user, PolicyName="inline")["PolicyDocument"] == SIMPLE_POLICY

    # The user's own key still authenticates (via the group's AdministratorAccess).
    mine = srv.client(key["AccessKeyId"], key["SecretAccessKey"])
    assert mine.get_user()["User"]["UserName"] == user

    gg = iam.get_group(GroupName=group)
    assert gg["Group"]["GroupId"] == g["GroupId"]
    assert [x["UserName"] for x in gg["Users"]] == [user]
    attached = {x["PolicyArn"] for x in iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"]}
    assert attached == {p["Arn"], "arn:aws:iam::aws:policy/AdministratorAccess"}

    gp = iam.get_policy(PolicyArn=p["Arn"])["Policy"]
    assert gp["PolicyId"] == p["PolicyId"]
    assert gp["DefaultVersionId"] == "v2"
    assert gp["AttachmentCount"] == 1
    assert gp["Description"] == "kept"
    assert iam.get_policy_version(PolicyArn=p["Arn"], VersionId="v2")["PolicyVersion"]["Document"] == V2_DOC
    assert [v["VersionId"] for v in iam.list_policy_versions(PolicyArn=p["Arn"])["Versions"]] == ["v2", "v1"]
    # Version numbering continues after a restart.
    v3 = iam.create_policy_version(PolicyArn=p["Arn"], PolicyDocument=policy_json())["PolicyVersion"]
    assert v3["VersionId"] == "v3"

    rr = iam.get_role(RoleName=role)["Role"]
    assert rr["RoleId"] == r["RoleId"]
    assert rr["MaxSessionDuration"] == 7200
    assert rr["AssumeRolePolicyDocument"] == EC2_TRUST_POLICY

    assert iam.list_account_aliases()["AccountAliases"] == [alias]

    # bootstrap's group is still there with the admin in it.
    admins = iam.get_group(GroupName="Admins")
    assert srv.admin_user in [x["UserName"] for x in admins["Users"]]

    # A second restart changes nothing either (no re-seeding, no duplicates).
    before = iam.get_account_summary()["SummaryMap"]
    srv.restart()
    iam = srv.client()
    after = iam.get_account_summary()["SummaryMap"]
    for k in ("Users", "Groups", "Roles", "Policies"):
        assert after[k] == before[k], k
    assert iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")["Policy"][
        "DefaultVersionId"
    ] == "v1"
