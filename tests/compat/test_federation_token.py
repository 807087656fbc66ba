"""GetFederationToken: a federated user's session has the IAM user's permissions narrowed by
the policies passed (none: nothing), cannot call IAM (nor STS but GetCallerIdentity), and
is named arn:aws:sts::ACCOUNT:federated-user/NAME."""

from __future__ import annotations

import json

import boto3

from compat_helpers import REGION, delete_user_fully, expect_error
from test_authorization_endpoint import ask, ec2_request


def session_clients(server, creds):
    kw = dict(endpoint_url=server.endpoint, region_name=REGION, aws_access_key_id=creds["AccessKeyId"],
              aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
    return boto3.client("sts", **kw), boto3.client("iam", **kw)


def test_a_federated_session_is_the_users_permissions_narrowed(server, iam, uniq, cleanup, account_id):
    user = uniq("fed")
    cleanup(delete_user_fully, iam, user)
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["sts:GetFederationToken", "ec2:Describe*", "iam:ListUsers"], "Resource": "*"}]}))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    sts = boto3.client("sts", endpoint_url=server.endpoint, region_name=REGION, aws_access_key_id=key["AccessKeyId"],
                       aws_secret_access_key=key["SecretAccessKey"])

    narrowed = sts.get_federation_token(Name="bob", DurationSeconds=900, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["ec2:DescribeInstances", "s3:GetObject"], "Resource": "*"}]}))
    assert narrowed["FederatedUser"] == {"FederatedUserId": f"{account_id}:bob", "Arn": f"arn:aws:sts::{account_id}:federated-user/bob"}
    assert narrowed["PackedPolicySize"] > 0
    creds = narrowed["Credentials"]
    fed_sts, fed_iam = session_clients(server, creds)
    me = fed_sts.get_caller_identity()
    assert me["Arn"] == f"arn:aws:sts::{account_id}:federated-user/bob" and me["UserId"] == f"{account_id}:bob"
    # Both the user's policy and the session policy allow DescribeInstances; s3 is not the user's.
    out = ask(server, ec2_request(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])).json()
    assert out["allowed"] is True, out
    out = ask(server, ec2_request(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]), action="s3:GetObject").json()
    assert out["allowed"] is False, out
    # No IAM, and no STS but GetCallerIdentity, from a federated session.
    with expect_error("AccessDenied", 403):
        fed_iam.list_users()
    with expect_error("AccessDenied", 403):
        fed_sts.get_session_token()

    # Without a policy, the session has no permissions at all.
    bare = sts.get_federation_token(Name="nobody")["Credentials"]
    out = ask(server, ec2_request(bare["AccessKeyId"], bare["SecretAccessKey"], bare["SessionToken"])).json()
    assert out["allowed"] is False and "no session policy allows" in out["message"], out

    # The user's policies must allow sts:GetFederationToken itself.
    iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}]}))
    with expect_error("AccessDenied", 403):
        sts.get_federation_token(Name="bob")
    # A session cannot federate.
    with expect_error("AccessDenied", 403):
        fed_sts.get_federation_token(Name="again")
