"""The policy simulator (SimulatePrincipalPolicy, SimulateCustomPolicy, context keys),
driven with the tutorial's policies: AmazonEC2FullAccess and the Force_MFA example."""

from __future__ import annotations

import json
import pathlib

import pytest

from compat_helpers import delete_group_fully, delete_policy_fully, delete_user_fully, expect_error

SEED = pathlib.Path(__file__).resolve().parents[2] / "crates" / "policy" / "tests" / "seed"
FORCE_MFA = (SEED / "Force_MFA.json").read_text()
EC2_FULL = "arn:aws:iam::aws:policy/AmazonEC2FullAccess"


def mfa(present: bool) -> list[dict]:
    return [{"ContextKeyName": "aws:MultiFactorAuthPresent",
             "ContextKeyValues": ["true" if present else "false"], "ContextKeyType": "boolean"}]


@pytest.fixture
def mfa_user(iam, uniq, cleanup, account_id):
    """The tutorial's MFAUser in group EC2MFA with AmazonEC2FullAccess and Force_MFA."""
    user, group = uniq("MFAUser"), uniq("EC2MFA")
    cleanup(delete_user_fully, iam, user)
    cleanup(delete_group_fully, iam, group)
    policy = iam.create_policy(PolicyName=uniq("Force_MFA"), PolicyDocument=FORCE_MFA)["Policy"]
    cleanup(delete_policy_fully, iam, policy["Arn"])
    iam.create_user(UserName=user)
    iam.create_group(GroupName=group)
    iam.attach_group_policy(GroupName=group, PolicyArn=EC2_FULL)
    iam.attach_group_policy(GroupName=group, PolicyArn=policy["Arn"])
    iam.add_user_to_group(GroupName=group, UserName=user)
    return {"name": user, "arn": f"arn:aws:iam::{account_id}:user/{user}", "policy": policy}


def simulate(iam, user, actions, resources=None, context=None):
    kwargs = {"PolicySourceArn": user["arn"], "ActionNames": actions,
              "ContextEntries": [{"ContextKeyName": "aws:username", "ContextKeyValues": [user["name"]],
                                  "ContextKeyType": "string"}] + (context or [])}
    if resources:
        kwargs["ResourceArns"] = resources
    return {r["EvalActionName"]: r for r in iam.simulate_principal_policy(**kwargs)["EvaluationResults"]}


def test_force_mfa_denies_ec2_without_mfa_and_allows_with_it(iam, mfa_user):
    without = simulate(iam, mfa_user, ["ec2:DescribeInstances"], context=mfa(False))["ec2:DescribeInstances"]
    assert without["EvalDecision"] == "explicitDeny"
    assert without["EvalResourceName"] == "*"
    [stmt] = without["MatchedStatements"]
    assert stmt["SourcePolicyId"] == mfa_user["policy"]["PolicyName"]
    assert stmt["SourcePolicyType"] == "user-managed"
    assert stmt["StartPosition"]["Line"] > 1 and stmt["EndPosition"]["Line"] >= stmt["StartPosition"]["Line"]

    with_mfa = simulate(iam, mfa_user, ["ec2:DescribeInstances"], context=mfa(True))["ec2:DescribeInstances"]
    assert with_mfa["EvalDecision"] == "allowed"
    assert {s["SourcePolicyType"] for s in with_mfa["MatchedStatements"]} == {"aws-managed"}
    assert with_mfa["MatchedStatements"][0]["SourcePolicyId"] == "AmazonEC2FullAccess"


def test_force_mfa_lets_the_user_enrol_its_own_device(iam, mfa_user, account_id):
    name = mfa_user["name"]
    res = simulate(iam, mfa_user, ["iam:CreateVirtualMFADevice"],
                   resources=[f"arn:aws:iam::{account_id}:mfa/{name}"], context=mfa(False))
    assert res["iam:CreateVirtualMFADevice"]["EvalDecision"] == "allowed"
    res = simulate(iam, mfa_user, ["iam:EnableMFADevice"],
                   resources=[mfa_user["arn"]], context=mfa(False))
    r = res["iam:EnableMFADevice"]
    assert r["EvalDecision"] == "allowed"
    assert r["EvalResourceName"] == mfa_user["arn"]
    assert [x["EvalResourceDecision"] for x in r["ResourceSpecificResults"]] == ["allowed"]


def test_list_users_is_denied_either_way(iam, mfa_user):
    assert simulate(iam, mfa_user, ["iam:ListUsers"], context=mfa(False))["iam:ListUsers"]["EvalDecision"] == "explicitDeny"
    assert simulate(iam, mfa_user, ["iam:ListUsers"], context=mfa(True))["iam:ListUsers"]["EvalDecision"] == "implicitDeny"


def test_one_result_per_action_with_the_most_restrictive_decision(iam, mfa_user, account_id):
    """Force_MFA lets a user enable MFA on its own user only."""
    other = f"arn:aws:iam::{account_id}:user/someone-else"
    res = simulate(iam, mfa_user, ["iam:EnableMFADevice"], context=mfa(False),
                   resources=[mfa_user["arn"], other])
    r = res["iam:EnableMFADevice"]
    per = {x["EvalResourceName"]: x["EvalResourceDecision"] for x in r["ResourceSpecificResults"]}
    assert per == {mfa_user["arn"]: "allowed", other: "implicitDeny"}
    assert r["EvalDecision"] == "implicitDeny"
    assert r["EvalResourceName"] == "*"


def test_simulate_custom_policy_with_boundary_and_resource_policy(iam):
    allow_s3 = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
    boundary = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
    out = iam.simulate_custom_policy(PolicyInputList=[allow_s3], PermissionsBoundaryPolicyInputList=[boundary],
                                     ActionNames=["s3:GetObject", "s3:PutObject"])["EvaluationResults"]
    got = {r["EvalActionName"]: r for r in out}
    assert got["s3:GetObject"]["EvalDecision"] == "allowed"
    assert got["s3:GetObject"]["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": True}
    assert got["s3:PutObject"]["EvalDecision"] == "implicitDeny"
    assert got["s3:PutObject"]["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}
    assert got["s3:GetObject"]["MatchedStatements"][0]["SourcePolicyId"] == "PolicyInputList.1"
    assert got["s3:GetObject"]["MatchedStatements"][0]["SourcePolicyType"] == "none"


def test_simulate_custom_policy_paginates(iam):
    allow = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    actions = [f"s3:Action{i}" for i in range(5)]
    first = iam.simulate_custom_policy(PolicyInputList=[allow], ActionNames=actions, MaxItems=2)
    assert first["IsTruncated"] is True and len(first["EvaluationResults"]) == 2
    pages = iam.get_paginator("simulate_custom_policy").paginate(
        PolicyInputList=[allow], ActionNames=actions, PaginationConfig={"PageSize": 2})
    names = [r["EvalActionName"] for p in pages for r in p["EvaluationResults"]]
    assert names == actions


def test_malformed_input_policy_is_invalid_input(iam):
    with expect_error("InvalidInput", 400):
        iam.simulate_custom_policy(PolicyInputList=["{not json"], ActionNames=["s3:GetObject"])


def test_unknown_principal_is_no_such_entity(iam, account_id):
    with expect_error("NoSuchEntity", 404):
        iam.simulate_principal_policy(PolicySourceArn=f"arn:aws:iam::{account_id}:user/nobody-here",
                                      ActionNames=["s3:GetObject"])


def test_context_keys(iam, mfa_user):
    keys = iam.get_context_keys_for_custom_policy(PolicyInputList=[FORCE_MFA])["ContextKeyNames"]
    assert [k.lower() for k in keys] == ["aws:multifactorauthpresent"]
    keys = iam.get_context_keys_for_principal_policy(PolicySourceArn=mfa_user["arn"])["ContextKeyNames"]
    assert "aws:multifactorauthpresent" in [k.lower() for k in keys]
