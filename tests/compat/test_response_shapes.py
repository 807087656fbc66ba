"""Members AWS sends, or leaves out, in each answer (as recorded against real AWS): listings
are lean, CreatePolicy has no Description, GetPolicy always has Tags."""

from __future__ import annotations

import json

from compat_helpers import SIMPLE_POLICY

TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
BOUNDARY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def test_listings_leave_out_boundaries_tags_and_last_use(iam, uniq, cleanup):
    path = f"/{uniq('shape')}/"
    user = uniq("u")
    iam.create_user(UserName=user, Path=path, PermissionsBoundary=BOUNDARY, Tags=[{"Key": "k", "Value": "v"}])
    cleanup(lambda: iam.delete_user(UserName=user))
    role = uniq("r")
    iam.create_role(RoleName=role, Path=path, AssumeRolePolicyDocument=TRUST, PermissionsBoundary=BOUNDARY, Tags=[{"Key": "k", "Value": "v"}])
    cleanup(lambda: iam.delete_role(RoleName=role))

    got_user = iam.get_user(UserName=user)["User"]
    assert got_user["PermissionsBoundary"]["PermissionsBoundaryArn"] == BOUNDARY and got_user["Tags"]
    listed_user = iam.list_users(PathPrefix=path)["Users"][0]
    assert "PermissionsBoundary" not in listed_user and "Tags" not in listed_user

    got_role = iam.get_role(RoleName=role)["Role"]
    assert got_role["PermissionsBoundary"]["PermissionsBoundaryArn"] == BOUNDARY and "RoleLastUsed" in got_role
    listed_role = iam.list_roles(PathPrefix=path)["Roles"][0]
    assert not {"PermissionsBoundary", "Tags", "RoleLastUsed"} & set(listed_role), listed_role


def test_policy_answers(iam, uniq, cleanup):
    path = f"/{uniq('shape')}/"
    name = uniq("p")
    created = iam.create_policy(PolicyName=name, Path=path, PolicyDocument=json.dumps(SIMPLE_POLICY), Description="what it is for")["Policy"]
    cleanup(lambda: iam.delete_policy(PolicyArn=created["Arn"]))
    assert "Description" not in created and "Tags" not in created
    got = iam.get_policy(PolicyArn=created["Arn"])["Policy"]
    assert got["Description"] == "what it is for" and got["Tags"] == []
    iam.tag_policy(PolicyArn=created["Arn"], Tags=[{"Key": "k", "Value": "v"}])
    listed = iam.list_policies(Scope="Local", PathPrefix=path)["Policies"][0]
    assert "Tags" not in listed and "Description" not in listed
