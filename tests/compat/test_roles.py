"""Roles: trust policies, updates, tags, delete conflicts."""

from __future__ import annotations

import json

import pytest

from compat_helpers import (
    ADMIN_POLICY_ARN,
    EC2_TRUST_POLICY,
    ROLE_ID_RE,
    assert_tz_aware,
    delete_role_fully,
    expect_error,
    policy_json,
    tags_dict,
    unique_path,
)

LAMBDA_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": ["lambda.amazonaws.com", "edgelambda.amazonaws.com"]},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
        }
    ],
}


@pytest.fixture
def new_role(iam, uniq, cleanup):
    def make(name=None, trust=None, **kwargs):
        name = name or uniq("role")
        cleanup(delete_role_fully, iam, name)
        return iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(trust if trust is not None else EC2_TRUST_POLICY),
            **kwargs,
        )["Role"]

    return make


def test_create_and_get_role(iam, new_role, uniq, account_id):
    name, path = uniq("svc"), unique_path("service-role")
    r = new_role(name, Path=path, Description="compat role",
                 Tags=[{"Key": "owner", "Value": "compat"}])
    assert r["RoleName"] == name
    assert r["Path"] == path
    assert ROLE_ID_RE.match(r["RoleId"]), r["RoleId"]
    assert r["Arn"] == f"arn:aws:iam::{account_id}:role{path}{name}"
    assert_tz_aware(r["CreateDate"], "Role.CreateDate")
    assert r["AssumeRolePolicyDocument"] == EC2_TRUST_POLICY

    got = iam.get_role(RoleName=name)["Role"]
    assert got["RoleId"] == r["RoleId"]
    assert got["Arn"] == r["Arn"]
    assert got["AssumeRolePolicyDocument"] == EC2_TRUST_POLICY
    assert got["Description"] == "compat role"
    assert got["MaxSessionDuration"] == 3600
    assert tags_dict(got["Tags"]) == {"owner": "compat"}
    assert "RoleLastUsed" in got


def test_create_role_errors(iam, new_role, uniq):
    name = new_role()["RoleName"]
    with expect_error("EntityAlreadyExists", 409):
        new_role(name.upper())
    with expect_error("MalformedPolicyDocument", 400):
        iam.create_role(RoleName=uniq("badtrust"), AssumeRolePolicyDocument="{not json")
    with expect_error("ValidationError", 400):
        iam.create_role(RoleName="bad role!", AssumeRolePolicyDocument=json.dumps(EC2_TRUST_POLICY))
    with expect_error("NoSuchEntity", 404):
        iam.get_role(RoleName=uniq("missing"))


def test_list_roles(iam, new_role, uniq):
    path = unique_path("listed")
    names = sorted([new_role(uniq("a"), Path=path)["RoleName"], new_role(uniq("b"), Path=path)["RoleName"]])
    resp = iam.list_roles(PathPrefix=path)
    assert resp["IsTruncated"] is False
    assert sorted(r["RoleName"] for r in resp["Roles"]) == names
    for r in resp["Roles"]:
        assert r["AssumeRolePolicyDocument"] == EC2_TRUST_POLICY
        assert r["Path"] == path

    page = iam.list_roles(PathPrefix=path, MaxItems=1)
    assert len(page["Roles"]) == 1 and page["IsTruncated"] is True and page["Marker"]
    rest = iam.list_roles(PathPrefix=path, Marker=page["Marker"])
    assert sorted([page["Roles"][0]["RoleName"], *(r["RoleName"] for r in rest["Roles"])]) == names


def test_update_role(iam, new_role):
    name = new_role(Description="before")["RoleName"]
    iam.update_role(RoleName=name, Description="after", MaxSessionDuration=7200)
    got = iam.get_role(RoleName=name)["Role"]
    assert got["Description"] == "after"
    assert got["MaxSessionDuration"] == 7200

    # 12 hours is the maximum; botocore checks only the minimum client-side.
    with expect_error("ValidationError", 400):
        iam.update_role(RoleName=name, MaxSessionDuration=43201)
    assert iam.get_role(RoleName=name)["Role"]["MaxSessionDuration"] == 7200


def test_update_assume_role_policy(iam, new_role):
    name = new_role()["RoleName"]
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(LAMBDA_TRUST_POLICY))
    assert iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"] == LAMBDA_TRUST_POLICY
    with expect_error("MalformedPolicyDocument", 400):
        iam.update_assume_role_policy(RoleName=name, PolicyDocument="[")
    assert iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"] == LAMBDA_TRUST_POLICY


def test_update_assume_role_policy_via_cli(aws, iam, new_role):
    name = new_role()["RoleName"]
    r = aws("update-assume-role-policy", "--role-name", name,
            "--policy-document", json.dumps(LAMBDA_TRUST_POLICY))
    assert r.code == 0, r.err
    got = aws("get-role", "--role-name", name).ok()["Role"]
    assert got["AssumeRolePolicyDocument"] == LAMBDA_TRUST_POLICY


def test_role_tags(iam, new_role):
    name = new_role()["RoleName"]
    iam.tag_role(RoleName=name, Tags=[{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "x"}])
    resp = iam.list_role_tags(RoleName=name)
    assert tags_dict(resp["Tags"]) == {"env": "prod", "team": "x"}
    assert resp["IsTruncated"] is False
    iam.untag_role(RoleName=name, TagKeys=["env"])
    assert iam.list_role_tags(RoleName=name)["Tags"] == [{"Key": "team", "Value": "x"}]
    assert tags_dict(iam.get_role(RoleName=name)["Role"]["Tags"]) == {"team": "x"}


@pytest.mark.parametrize("kind", ["managed", "inline"])
def test_delete_role_conflicts(iam, new_role, uniq, kind):
    name = new_role()["RoleName"]
    if kind == "managed":
        iam.attach_role_policy(RoleName=name, PolicyArn=ADMIN_POLICY_ARN)
        remove = lambda: iam.detach_role_policy(RoleName=name, PolicyArn=ADMIN_POLICY_ARN)  # noqa: E731
    else:
        pname = uniq("inline")
        iam.put_role_policy(RoleName=name, PolicyName=pname, PolicyDocument=policy_json())
        remove = lambda: iam.delete_role_policy(RoleName=name, PolicyName=pname)  # noqa: E731

    with expect_error("DeleteConflict", 409):
        iam.delete_role(RoleName=name)
    assert iam.get_role(RoleName=name)["Role"]["RoleName"] == name

    remove()
    iam.delete_role(RoleName=name)
    with expect_error("NoSuchEntity", 404):
        iam.get_role(RoleName=name)
