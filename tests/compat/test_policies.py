"""Managed policies (AWS catalog and customer), versions, attachments, inline policies."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from compat_helpers import (
    ADMIN_POLICY_ARN,
    EC2_TRUST_POLICY,
    POLICY_ID_RE,
    SIMPLE_POLICY,
    as_list,
    assert_tz_aware,
    delete_group_fully,
    delete_policy_fully,
    delete_role_fully,
    delete_user_fully,
    expect_error,
    policy_json,
    statements,
    unique_path,
)


def doc_v(n: int) -> dict:
    """A distinct, valid policy document per version number."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": f"V{n}", "Effect": "Allow", "Action": "s3:GetObject",
             "Resource": f"arn:aws:s3:::bucket-{n}/*"}
        ],
    }


@pytest.fixture
def new_policy(iam, uniq, cleanup):
    """Factory: new_policy(name=None, doc=None, **kw) -> Policy dict (deleted at teardown)."""

    def make(name=None, doc=None, **kwargs):
        name = name or uniq("pol")
        p = iam.create_policy(PolicyName=name, PolicyDocument=policy_json(doc), **kwargs)["Policy"]
        cleanup(delete_policy_fully, iam, p["Arn"])
        return p

    return make


@pytest.fixture
def principals(iam, uniq, cleanup):
    """One fresh user, group and role: {"user": name, "group": name, "role": name}."""
    user, group, role = uniq("puser"), uniq("pgroup"), uniq("prole")
    cleanup(delete_user_fully, iam, user)
    cleanup(delete_group_fully, iam, group)
    cleanup(delete_role_fully, iam, role)
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(EC2_TRUST_POLICY))
    return {"user": user, "group": group, "role": role}


def all_policies(iam, **kwargs) -> list[dict]:
    out = []
    for page in iam.get_paginator("list_policies").paginate(**kwargs):
        out.extend(page["Policies"])
    return out


# ------------------------------------------------------------ AWS catalog


def test_get_aws_managed_administrator_access(iam):
    p = iam.get_policy(PolicyArn=ADMIN_POLICY_ARN)["Policy"]
    assert p["PolicyName"] == "AdministratorAccess"
    assert p["Arn"] == ADMIN_POLICY_ARN
    assert p["Path"] == "/"
    assert p["DefaultVersionId"] == "v1"
    assert p["IsAttachable"] is True
    assert POLICY_ID_RE.match(p["PolicyId"]), p["PolicyId"]
    assert isinstance(p["AttachmentCount"], int) and p["AttachmentCount"] >= 1  # group Admins
    assert_tz_aware(p["CreateDate"], "Policy.CreateDate", recent=False)

    v = iam.get_policy_version(PolicyArn=ADMIN_POLICY_ARN, VersionId="v1")["PolicyVersion"]
    assert v["VersionId"] == "v1"
    assert v["IsDefaultVersion"] is True
    doc = v["Document"]
    assert isinstance(doc, dict), f"Document should be URL-encoded JSON, boto3 gave {type(doc)}"
    assert doc["Version"] == "2012-10-17"
    assert any(
        s["Effect"] == "Allow" and as_list(s["Action"]) == ["*"] and as_list(s["Resource"]) == ["*"]
        for s in statements(doc)
    ), doc


def test_get_missing_aws_managed_policy(iam):
    with expect_error("NoSuchEntity", 404):
        iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/NoSuchPolicyPortcullis")


def test_list_policies_scope_aws(iam):
    policies = all_policies(iam, Scope="AWS")
    by_name = {p["PolicyName"]: p for p in policies}
    for name in ("AdministratorAccess", "ReadOnlyAccess", "PowerUserAccess",
                 "IAMUserChangePassword", "AmazonEC2FullAccess", "SecurityAudit",
                 "ViewOnlyAccess", "AmazonS3ReadOnlyAccess"):
        assert name in by_name, f"{name} missing from ListPolicies Scope=AWS"
    assert by_name["ViewOnlyAccess"]["Path"] == "/job-function/"
    assert by_name["ViewOnlyAccess"]["Arn"] == "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"
    assert by_name["AmazonS3ReadOnlyAccess"]["Arn"] == "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    assert all(p["Arn"].startswith("arn:aws:iam::aws:policy/") for p in policies)
    arns = [p["Arn"] for p in policies]
    assert len(arns) == len(set(arns)), "pagination returned a policy twice"


def test_list_policies_path_prefix(iam):
    job = all_policies(iam, Scope="AWS", PathPrefix="/job-function/")
    names = {p["PolicyName"] for p in job}
    assert "ViewOnlyAccess" in names
    assert "AdministratorAccess" not in names
    assert all(p["Path"].startswith("/job-function/") for p in job)


def test_list_policies_scope_local(iam, new_policy, account_id):
    mine = new_policy()
    local = all_policies(iam, Scope="Local")
    assert mine["Arn"] in [p["Arn"] for p in local]
    assert all(p["Arn"].startswith(f"arn:aws:iam::{account_id}:policy/") for p in local)
    everything = {p["Arn"] for p in all_policies(iam)}  # Scope=All default
    assert mine["Arn"] in everything and ADMIN_POLICY_ARN in everything


def test_list_policies_pages_merge_local_and_aws(iam, new_policy, cleanup, account_id):
    """Scope=All pages through the account's policies, then AWS-managed ones (AWS lists a
    policy just created on the first page, recorded), each in name order and each policy
    once, also a customer policy that has an AWS-managed policy's name."""
    twin_arn = f"arn:aws:iam::{account_id}:policy/IAMUserChangePassword"
    try:
        iam.create_policy(PolicyName="IAMUserChangePassword", PolicyDocument=policy_json())
    except ClientError as e:
        assert e.response["Error"]["Code"] == "EntityAlreadyExists"
    cleanup(iam.delete_policy, PolicyArn=twin_arn)
    mine = [new_policy() for _ in range(3)]
    for size in (100, 7):
        listed = all_policies(iam, PaginationConfig={"PageSize": size})
        arns = [p["Arn"] for p in listed]
        assert len(arns) == len(set(arns)), "a policy was listed twice"
        local = [p["PolicyName"].lower() for p in listed if ":aws:policy/" not in p["Arn"]]
        aws = [p["PolicyName"].lower() for p in listed if ":aws:policy/" in p["Arn"]]
        assert [p["PolicyName"].lower() for p in listed] == local + aws, "the account's policies come first"
        assert local == sorted(local) and aws == sorted(aws), "not in name order"
        assert {twin_arn, "arn:aws:iam::aws:policy/IAMUserChangePassword"} <= set(arns)
        assert {m["Arn"] for m in mine} <= set(arns)
        assert len(arns) == len(all_policies(iam, Scope="AWS")) + len(all_policies(iam, Scope="Local"))
    with expect_error("InvalidInput", 400):
        iam.list_policies(Marker="not-a-marker")


def test_list_policies_only_attached(iam, new_policy):
    unattached = new_policy()
    attached = all_policies(iam, OnlyAttached=True)
    arns = {p["Arn"] for p in attached}
    assert ADMIN_POLICY_ARN in arns  # attached to group Admins by bootstrap-admin
    assert unattached["Arn"] not in arns
    assert all(p["AttachmentCount"] > 0 for p in attached)


def test_attachment_count_tracks_attachments(iam, principals):
    arn = "arn:aws:iam::aws:policy/SecurityAudit"
    before = iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"]
    iam.attach_group_policy(GroupName=principals["group"], PolicyArn=arn)
    iam.attach_user_policy(UserName=principals["user"], PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == before + 2
    iam.detach_group_policy(GroupName=principals["group"], PolicyArn=arn)
    iam.detach_user_policy(UserName=principals["user"], PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == before


def test_permissions_boundary_usage(iam, new_policy, uniq, cleanup):
    """A policy set as a user's permissions boundary is counted and filtered as one."""
    boundary = new_policy()
    plain = new_policy()
    user = uniq("bnd")
    cleanup(delete_user_fully, iam, user)
    created = iam.create_user(UserName=user, PermissionsBoundary=boundary["Arn"])["User"]
    # AWS's wire value is "Policy" (its model's enum names it PermissionsBoundaryPolicy).
    assert created["PermissionsBoundary"] == {
        "PermissionsBoundaryType": "Policy",
        "PermissionsBoundaryArn": boundary["Arn"],
    }
    got = iam.get_policy(PolicyArn=boundary["Arn"])["Policy"]
    assert got["PermissionsBoundaryUsageCount"] == 1
    assert got["AttachmentCount"] == 0
    used = {p["Arn"] for p in all_policies(iam, Scope="Local", OnlyAttached=True,
                                             PolicyUsageFilter="PermissionsBoundary")}
    assert boundary["Arn"] in used and plain["Arn"] not in used
    as_permissions = {p["Arn"] for p in all_policies(iam, Scope="Local", OnlyAttached=True,
                                                       PolicyUsageFilter="PermissionsPolicy")}
    assert boundary["Arn"] not in as_permissions


def test_boundary_must_exist(iam, uniq, account_id):
    with expect_error("NoSuchEntity", 404):
        iam.create_user(UserName=uniq("bnd"),
                        PermissionsBoundary=f"arn:aws:iam::{account_id}:policy/does-not-exist")


# ------------------------------------------------------- customer managed


def test_create_policy_fields(iam, new_policy, uniq, account_id):
    name = uniq("cust")
    p = new_policy(name, Description="compat test policy")
    assert p["PolicyName"] == name
    assert p["Arn"] == f"arn:aws:iam::{account_id}:policy/{name}"
    assert p["Path"] == "/"
    assert p["DefaultVersionId"] == "v1"
    assert p["AttachmentCount"] == 0
    assert p["IsAttachable"] is True
    assert POLICY_ID_RE.match(p["PolicyId"]), p["PolicyId"]
    assert_tz_aware(p["CreateDate"], "Policy.CreateDate")

    got = iam.get_policy(PolicyArn=p["Arn"])["Policy"]
    assert got["PolicyId"] == p["PolicyId"]
    assert got["Description"] == "compat test policy"

    v1 = iam.get_policy_version(PolicyArn=p["Arn"], VersionId="v1")["PolicyVersion"]
    assert v1["Document"] == SIMPLE_POLICY
    assert v1["IsDefaultVersion"] is True

    with expect_error("EntityAlreadyExists", 409):
        iam.create_policy(PolicyName=name, PolicyDocument=policy_json())
    # Unique per account whatever the case and the path, and the refusal leaves no trace.
    with expect_error("EntityAlreadyExists", 409):
        iam.create_policy(PolicyName=name.upper(), Path="/elsewhere/", PolicyDocument=policy_json())
    assert iam.get_policy(PolicyArn=p["Arn"])["Policy"]["PolicyId"] == p["PolicyId"]
    assert not [x for x in all_policies(iam, Scope="Local", PathPrefix="/elsewhere/") if x["PolicyName"] == name.upper()]


def test_create_policy_with_path(new_policy, uniq, account_id):
    name, path = uniq("pathpol"), unique_path("team")
    p = new_policy(name, Path=path)
    assert p["Path"] == path
    assert p["Arn"] == f"arn:aws:iam::{account_id}:policy{path}{name}"


@pytest.mark.parametrize(
    "document",
    ['{"Version": "2012-10-17", "Statement": [', "not json at all", '{"Statement": 42}'],
    ids=["truncated", "not-json", "bad-statement"],
)
def test_create_policy_malformed_document(iam, uniq, account_id, document):
    name = uniq("bad")
    with expect_error("MalformedPolicyDocument", 400) as e:
        iam.create_policy(PolicyName=name, PolicyDocument=document)
    assert e.type == "Sender"
    with expect_error("NoSuchEntity", 404):
        iam.get_policy(PolicyArn=f"arn:aws:iam::{account_id}:policy/{name}")


def test_policy_versions_lifecycle(iam, new_policy):
    arn = new_policy(doc=doc_v(1))["Arn"]

    v2 = iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(doc_v(2)),
                                   SetAsDefault=True)["PolicyVersion"]
    assert v2["VersionId"] == "v2"
    assert v2["IsDefaultVersion"] is True
    assert_tz_aware(v2["CreateDate"], "PolicyVersion.CreateDate")
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v2"
    assert iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]["IsDefaultVersion"] is False
    assert iam.get_policy_version(PolicyArn=arn, VersionId="v2")["PolicyVersion"]["Document"] == doc_v(2)

    v3 = iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(doc_v(3)))["PolicyVersion"]
    assert v3["VersionId"] == "v3"
    assert v3["IsDefaultVersion"] is False  # SetAsDefault defaults to false
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(doc_v(4)))
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(doc_v(5)))

    versions = iam.list_policy_versions(PolicyArn=arn)
    assert versions["IsTruncated"] is False
    # AWS lists the newest version first.
    assert [v["VersionId"] for v in versions["Versions"]] == ["v5", "v4", "v3", "v2", "v1"]
    assert [v["IsDefaultVersion"] for v in versions["Versions"]] == [False, False, False, True, False]

    with expect_error("LimitExceeded", 409):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(doc_v(6)))

    iam.set_default_policy_version(PolicyArn=arn, VersionId="v3")
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v3"
    assert iam.get_policy_version(PolicyArn=arn, VersionId="v3")["PolicyVersion"]["IsDefaultVersion"] is True

    with expect_error("DeleteConflict", 409):
        iam.delete_policy_version(PolicyArn=arn, VersionId="v3")

    iam.delete_policy_version(PolicyArn=arn, VersionId="v1")
    with expect_error("NoSuchEntity", 404):
        iam.get_policy_version(PolicyArn=arn, VersionId="v1")
    # Version ids are never reused: the next one is v6.
    v6 = iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(doc_v(6)))["PolicyVersion"]
    assert v6["VersionId"] == "v6"

    with expect_error("NoSuchEntity", 404):
        iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    with expect_error("MalformedPolicyDocument", 400):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument="{nope")


def test_delete_policy_conflicts(iam, new_policy, principals):
    p = new_policy()
    arn = p["Arn"]
    iam.attach_user_policy(UserName=principals["user"], PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    with expect_error("DeleteConflict", 409):
        iam.delete_policy(PolicyArn=arn)
    iam.detach_user_policy(UserName=principals["user"], PolicyArn=arn)

    # AWS also refuses while non-default versions exist.
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(doc_v(2)))
    with expect_error("DeleteConflict", 409):
        iam.delete_policy(PolicyArn=arn)
    iam.delete_policy_version(PolicyArn=arn, VersionId="v2")

    iam.delete_policy(PolicyArn=arn)
    with expect_error("NoSuchEntity", 404):
        iam.get_policy(PolicyArn=arn)


def test_aws_managed_policies_are_read_only(iam):
    for call in (
        lambda: iam.delete_policy(PolicyArn=ADMIN_POLICY_ARN),
        lambda: iam.create_policy_version(PolicyArn=ADMIN_POLICY_ARN, PolicyDocument=policy_json()),
    ):
        with pytest.raises(ClientError) as excinfo:
            call()
        status = excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]
        assert 400 <= status < 500, excinfo.value.response
    p = iam.get_policy(PolicyArn=ADMIN_POLICY_ARN)["Policy"]
    assert p["DefaultVersionId"] == "v1"
    versions = iam.list_policy_versions(PolicyArn=ADMIN_POLICY_ARN)["Versions"]
    assert [v["VersionId"] for v in versions] == ["v1"]


def test_list_entities_for_policy(iam, new_policy, principals):
    arn = new_policy()["Arn"]
    iam.attach_user_policy(UserName=principals["user"], PolicyArn=arn)
    iam.attach_group_policy(GroupName=principals["group"], PolicyArn=arn)
    iam.attach_role_policy(RoleName=principals["role"], PolicyArn=arn)

    ents = iam.list_entities_for_policy(PolicyArn=arn)
    assert ents["IsTruncated"] is False
    assert [u["UserName"] for u in ents["PolicyUsers"]] == [principals["user"]]
    assert [g["GroupName"] for g in ents["PolicyGroups"]] == [principals["group"]]
    assert [r["RoleName"] for r in ents["PolicyRoles"]] == [principals["role"]]
    user_id = iam.get_user(UserName=principals["user"])["User"]["UserId"]
    assert ents["PolicyUsers"][0]["UserId"] == user_id
    assert ents["PolicyGroups"][0]["GroupId"] == iam.get_group(GroupName=principals["group"])["Group"]["GroupId"]
    assert ents["PolicyRoles"][0]["RoleId"] == iam.get_role(RoleName=principals["role"])["Role"]["RoleId"]

    only_users = iam.list_entities_for_policy(PolicyArn=arn, EntityFilter="User")
    assert [u["UserName"] for u in only_users["PolicyUsers"]] == [principals["user"]]
    assert only_users.get("PolicyGroups", []) == [] and only_users.get("PolicyRoles", []) == []
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 3


# ------------------------------------------------ attach / detach per kind

KINDS = ["user", "group", "role"]


def _attach_ops(iam, kind):
    cap = kind.capitalize()
    attach = getattr(iam, f"attach_{kind}_policy")
    detach = getattr(iam, f"detach_{kind}_policy")
    listing = getattr(iam, f"list_attached_{kind}_policies")
    key = f"{cap}Name"
    return key, attach, detach, listing


@pytest.mark.parametrize("kind", KINDS)
def test_attach_detach_managed(iam, new_policy, principals, kind):
    key, attach, detach, listing = _attach_ops(iam, kind)
    name = principals[kind]
    mine = new_policy()

    assert listing(**{key: name})["AttachedPolicies"] == []
    attach(**{key: name, "PolicyArn": ADMIN_POLICY_ARN})
    attach(**{key: name, "PolicyArn": mine["Arn"]})
    attach(**{key: name, "PolicyArn": mine["Arn"]})  # idempotent in AWS

    got = listing(**{key: name})
    assert got["IsTruncated"] is False
    assert sorted(got["AttachedPolicies"], key=lambda p: p["PolicyArn"]) == sorted(
        [
            {"PolicyName": "AdministratorAccess", "PolicyArn": ADMIN_POLICY_ARN},
            {"PolicyName": mine["PolicyName"], "PolicyArn": mine["Arn"]},
        ],
        key=lambda p: p["PolicyArn"],
    )

    detach(**{key: name, "PolicyArn": ADMIN_POLICY_ARN})
    assert listing(**{key: name})["AttachedPolicies"] == [
        {"PolicyName": mine["PolicyName"], "PolicyArn": mine["Arn"]}
    ]
    with expect_error("NoSuchEntity", 404):
        detach(**{key: name, "PolicyArn": ADMIN_POLICY_ARN})
    with expect_error("NoSuchEntity", 404):
        attach(**{key: name, "PolicyArn": mine["Arn"] + "-missing"})
    with expect_error("NoSuchEntity", 404):
        attach(**{key: name + "-missing", "PolicyArn": ADMIN_POLICY_ARN})


# ------------------------------------------------------------- inline

INLINE_DOC = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "ReadLogs", "Effect": "Allow",
         "Action": ["logs:GetLogEvents", "logs:DescribeLogStreams"],
         "Resource": "arn:aws:logs:us-east-1:*:log-group:/app/*",
         "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}},
        {"Effect": "Deny", "NotAction": "iam:*", "Resource": "*"},
    ],
}


def _inline_ops(iam, kind):
    return (
        f"{kind.capitalize()}Name",
        getattr(iam, f"put_{kind}_policy"),
        getattr(iam, f"get_{kind}_policy"),
        getattr(iam, f"list_{kind}_policies"),
        getattr(iam, f"delete_{kind}_policy"),
    )


@pytest.mark.parametrize("kind", KINDS)
def test_inline_policies(iam, principals, uniq, kind):
    key, put, get, listing, delete = _inline_ops(iam, kind)
    name = principals[kind]
    p1, p2 = "a-" + uniq("inline"), "b-" + uniq("inline")

    assert listing(**{key: name})["PolicyNames"] == []
    put(**{key: name, "PolicyName": p1, "PolicyDocument": json.dumps(INLINE_DOC)})
    put(**{key: name, "PolicyName": p2, "PolicyDocument": policy_json()})

    got = get(**{key: name, "PolicyName": p1})
    assert got[key] == name
    assert got["PolicyName"] == p1
    assert got["PolicyDocument"] == INLINE_DOC  # URL-encoded JSON, decoded by boto3

    names = listing(**{key: name})
    assert names["PolicyNames"] == [p1, p2]
    assert names["IsTruncated"] is False

    # Put with the same name replaces the document.
    put(**{key: name, "PolicyName": p1, "PolicyDocument": policy_json()})
    assert get(**{key: name, "PolicyName": p1})["PolicyDocument"] == SIMPLE_POLICY
    assert listing(**{key: name})["PolicyNames"] == [p1, p2]

    with expect_error("MalformedPolicyDocument", 400):
        put(**{key: name, "PolicyName": p1, "PolicyDocument": "{]"})
    assert get(**{key: name, "PolicyName": p1})["PolicyDocument"] == SIMPLE_POLICY

    delete(**{key: name, "PolicyName": p1})
    assert listing(**{key: name})["PolicyNames"] == [p2]
    with expect_error("NoSuchEntity", 404):
        get(**{key: name, "PolicyName": p1})
    with expect_error("NoSuchEntity", 404):
        delete(**{key: name, "PolicyName": p1})


def test_inline_policy_via_cli_round_trips(aws, iam, principals, uniq):
    user = principals["user"]
    pname = uniq("cli-inline")
    r = aws("put-user-policy", "--user-name", user, "--policy-name", pname,
            "--policy-document", json.dumps(INLINE_DOC))
    assert r.code == 0, r.err
    got = aws("get-user-policy", "--user-name", user, "--policy-name", pname).ok()
    assert got["PolicyDocument"] == INLINE_DOC
    assert got["UserName"] == user and got["PolicyName"] == pname
