"""Each operation is authorized on what it really acts on: the new name and path of a
rename, the caller's own user when UserName is left out, the exact principal a simulation
reads; and the extra actions of passing session tags and of web identity tokens."""

from __future__ import annotations

import json

import boto3

from compat_helpers import REGION, delete_user_fully, expect_error


def user_with(iam, uniq, cleanup, statements):
    name = uniq("authz")
    cleanup(delete_user_fully, iam, name)
    iam.create_user(UserName=name, Path="/dev/")
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return name, key


def clients(server, key):
    kw = dict(endpoint_url=server.endpoint, region_name=REGION, aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    return boto3.client("iam", **kw), boto3.client("sts", **kw)


def test_renames_need_permission_on_the_new_name(server, iam, uniq, cleanup, account_id):
    _, key = user_with(iam, uniq, cleanup, [{"Effect": "Allow", "Action": "iam:UpdateUser", "Resource": f"arn:aws:iam::{account_id}:user/dev/*"}])
    target = uniq("moved")
    cleanup(delete_user_fully, iam, target)
    iam.create_user(UserName=target, Path="/dev/")
    theirs, _ = clients(server, key)
    with expect_error("AccessDenied", 403):
        theirs.update_user(UserName=target, NewPath="/admin/")
    assert iam.get_user(UserName=target)["User"]["Path"] == "/dev/"
    theirs.update_user(UserName=target, NewPath="/dev/team/")


def test_a_simulation_reads_exactly_the_principal_authorized(server, iam, uniq, cleanup, account_id):
    target = uniq("sim")
    cleanup(delete_user_fully, iam, target)
    iam.create_user(UserName=target, Path="/ops/")
    with expect_error("NoSuchEntity", 404):
        iam.simulate_principal_policy(PolicySourceArn=f"arn:aws:iam::{account_id}:user/dev/{target}", ActionNames=["s3:GetObject"])
    iam.simulate_principal_policy(PolicySourceArn=f"arn:aws:iam::{account_id}:user/ops/{target}", ActionNames=["s3:GetObject"])


def test_deactivating_ones_own_mfa_is_decided_on_ones_own_user(server, iam, uniq, cleanup, account_id):
    name, key = user_with(iam, uniq, cleanup, [
        {"Effect": "Allow", "Action": "iam:DeactivateMFADevice", "Resource": "*"},
        {"Effect": "Deny", "Action": "iam:DeactivateMFADevice", "Resource": "arn:aws:iam::*:user/dev/${aws:username}"},
    ])
    theirs, _ = clients(server, key)
    with expect_error("AccessDenied", 403):
        theirs.deactivate_mfa_device(SerialNumber=f"arn:aws:iam::{account_id}:mfa/{name}")


def test_federation_session_tags_need_tag_session(server, iam, uniq, cleanup):
    _, key = user_with(iam, uniq, cleanup, [{"Effect": "Allow", "Action": "sts:GetFederationToken", "Resource": "*"}])
    _, sts = clients(server, key)
    with expect_error("AccessDenied", 403) as e:
        sts.get_federation_token(Name="bob", Tags=[{"Key": "team", "Value": "other"}])
    assert "sts:TagSession" in e.message
    sts.get_federation_token(Name="bob")


def test_web_identity_tokens_are_limited_by_audience(server_factory, uniq):
    srv = server_factory()
    iam = srv.client()
    iam.enable_outbound_web_identity_federation()
    iam.create_user(UserName="svc")
    iam.put_user_policy(UserName="svc", PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:GetWebIdentityToken", "Resource": "*",
        "Condition": {"ForAllValues:StringEquals": {"sts:IdentityTokenAudience": ["https://a.example.com"]}}}]}))
    key = iam.create_access_key(UserName="svc")["AccessKey"]
    _, sts = clients(srv, key)
    sts.get_web_identity_token(Audience=["https://a.example.com"], SigningAlgorithm="RS256")
    with expect_error("AccessDenied", 403):
        sts.get_web_identity_token(Audience=["https://b.example.com"], SigningAlgorithm="RS256")
    with expect_error("AccessDenied", 403) as e:
        sts.get_web_identity_token(Audience=["https://a.example.com"], SigningAlgorithm="RS256", Tags=[{"Key": "k", "Value": "v"}])
    assert "sts:TagGetWebIdentityToken" in e.message
