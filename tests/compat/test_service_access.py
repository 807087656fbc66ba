"""ListPoliciesGrantingServiceAccess: an identity's managed and inline policies (a user's
with its groups') that allow some action of each service asked about."""

from __future__ import annotations

import json

from compat_helpers import delete_group_fully, delete_user_fully, expect_error


def test_policies_granting_service_access(iam, uniq, account_id, cleanup):
    user, group = uniq("sa-user"), uniq("sa-group")
    cleanup(delete_user_fully, iam, user)
    cleanup(delete_group_fully, iam, group)
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.add_user_to_group(GroupName=group, UserName=user)
    iam.attach_user_policy(UserName=user, PolicyArn="arn:aws:iam::aws:policy/AmazonEC2FullAccess")
    iam.put_group_policy(GroupName=group, PolicyName="read-s3", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]}))
    out = iam.list_policies_granting_service_access(Arn=f"arn:aws:iam::{account_id}:user/{user}", ServiceNamespaces=["ec2", "s3", "sqs"])
    by_ns = {e["ServiceNamespace"]: e["Policies"] for e in out["PoliciesGrantingServiceAccess"]}
    assert by_ns["ec2"] == [{"PolicyName": "AmazonEC2FullAccess", "PolicyType": "MANAGED",
                             "PolicyArn": "arn:aws:iam::aws:policy/AmazonEC2FullAccess"}]
    assert {"PolicyName": "read-s3", "PolicyType": "INLINE", "EntityType": "GROUP", "EntityName": group} in by_ns["s3"]
    assert by_ns["sqs"] == []
    assert out["IsTruncated"] is False
    # A group's list has only its own policies.
    out = iam.list_policies_granting_service_access(Arn=f"arn:aws:iam::{account_id}:group/{group}", ServiceNamespaces=["ec2"])
    assert out["PoliciesGrantingServiceAccess"][0]["Policies"] == []
    with expect_error("NoSuchEntity", 404):
        iam.list_policies_granting_service_access(Arn=f"arn:aws:iam::{account_id}:user/nobody-here", ServiceNamespaces=["ec2"])
