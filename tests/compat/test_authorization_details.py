"""GetAccountAuthorizationDetails: users, groups, roles and policies with their documents."""

from __future__ import annotations

import json

from compat_helpers import ADMIN_POLICY_ARN, delete_group_fully, delete_policy_fully, delete_role_fully, delete_user_fully

DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                 "Action": "sts:AssumeRole"}]}


def test_authorization_details(iam, uniq, cleanup, account_id):
    user, group, role = uniq("ad-user"), uniq("ad-group"), uniq("ad-role")
    cleanup(delete_user_fully, iam, user)
    cleanup(delete_group_fully, iam, group)
    cleanup(delete_role_fully, iam, role)
    pol = iam.create_policy(PolicyName=uniq("ad-pol"), PolicyDocument=json.dumps(DOC), Description="d")["Policy"]
    cleanup(delete_policy_fully, iam, pol["Arn"])
    iam.create_user(UserName=user, Tags=[{"Key": "k", "Value": "v"}])
    iam.put_user_policy(UserName=user, PolicyName="inline-u", PolicyDocument=json.dumps(DOC))
    iam.attach_user_policy(UserName=user, PolicyArn=pol["Arn"])
    iam.create_group(GroupName=group)
    iam.put_group_policy(GroupName=group, PolicyName="inline-g", PolicyDocument=json.dumps(DOC))
    iam.attach_group_policy(GroupName=group, PolicyArn=ADMIN_POLICY_ARN)
    iam.add_user_to_group(GroupName=group, UserName=user)
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.put_role_policy(RoleName=role, PolicyName="inline-r", PolicyDocument=json.dumps(DOC))
    iam.attach_role_policy(RoleName=role, PolicyArn=pol["Arn"])

    pages = list(iam.get_paginator("get_account_authorization_details").paginate())
    users = {u["UserName"]: u for p in pages for u in p["UserDetailList"]}
    groups = {g["GroupName"]: g for p in pages for g in p["GroupDetailList"]}
    roles = {r["RoleName"]: r for p in pages for r in p["RoleDetailList"]}
    policies = {x["Arn"]: x for p in pages for x in p["Policies"]}

    u = users[user]
    assert u["Arn"] == f"arn:aws:iam::{account_id}:user/{user}" and u["UserId"].startswith("AIDA")
    assert u["UserPolicyList"] == [{"PolicyName": "inline-u", "PolicyDocument": DOC}]
    assert u["GroupList"] == [group]
    assert u["AttachedManagedPolicies"] == [{"PolicyName": pol["PolicyName"], "PolicyArn": pol["Arn"]}]
    assert u["Tags"] == [{"Key": "k", "Value": "v"}]
    g = groups[group]
    assert g["GroupPolicyList"] == [{"PolicyName": "inline-g", "PolicyDocument": DOC}]
    assert g["AttachedManagedPolicies"] == [{"PolicyName": "AdministratorAccess", "PolicyArn": ADMIN_POLICY_ARN}]
    r = roles[role]
    assert r["AssumeRolePolicyDocument"] == TRUST
    assert r["RolePolicyList"] == [{"PolicyName": "inline-r", "PolicyDocument": DOC}]
    assert r["InstanceProfileList"] == []
    local = policies[pol["Arn"]]
    assert local["AttachmentCount"] == 2 and local["DefaultVersionId"] == "v1"
    assert local["PolicyVersionList"][0]["Document"] == DOC and local["PolicyVersionList"][0]["IsDefaultVersion"] is True
    admin = policies[ADMIN_POLICY_ARN]  # AWS-managed policies in use are listed too
    assert admin["PolicyVersionList"][0]["Document"]["Statement"][0]["Action"] == "*"

    only_users = iam.get_account_authorization_details(Filter=["User"])
    assert only_users["UserDetailList"] and not only_users["GroupDetailList"]
    assert not only_users["RoleDetailList"] and not only_users["Policies"]
