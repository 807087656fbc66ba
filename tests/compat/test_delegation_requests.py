"""Temporary delegation with boto3: a partner's CreateDelegationRequest, the customer's
Associate/Update/Accept/Reject and SendDelegationToken, the token (from the notification
outbox test mode shows, Portcullis having no SNS) traded in with STS
GetDelegatedAccessToken for credentials of the accepting user narrowed to the request's
permission policy; states, expiry, one trade per token, GetHumanReadableSummary."""

from __future__ import annotations

import json

import boto3
import pytest
import requests

from compat_helpers import expect_error

TEMPLATE = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"},
    {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "arn:aws:iam::*:user/{{UserName}}"},
]}
TOPIC = "arn:aws:sns:us-east-1:111122223333:partner-topic"


@pytest.fixture
def delegation(server_factory):
    srv = server_factory()
    admin = srv.client()
    template = admin.create_policy(PolicyName="partner-template", PolicyDocument=json.dumps(TEMPLATE))["Policy"]["Arn"]
    clients = {}
    for name, policy in (("partner", "arn:aws:iam::aws:policy/IAMFullAccess"), ("alice", "arn:aws:iam::aws:policy/IAMFullAccess")):
        admin.create_user(UserName=name)
        admin.attach_user_policy(UserName=name, PolicyArn=policy)
        key = admin.create_access_key(UserName=name)["AccessKey"]
        clients[name] = (srv.client(key["AccessKeyId"], key["SecretAccessKey"]), key)
    admin.put_user_policy(UserName="partner", PolicyName="trade-in", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:GetDelegatedAccessToken", "Resource": "*"}]}))
    return srv, admin, template, clients


def create(partner, template, workflow="workflow-1", **kw):
    return partner.create_delegation_request(
        Description="Read your users for the audit", RequestorWorkflowId=workflow, NotificationChannel=TOPIC, SessionDuration=3600,
        Permissions={"PolicyTemplateArn": template, "Parameters": [{"Name": "UserName", "Values": ["alice"], "Type": "string"}]}, **kw)


def test_a_request_from_creation_to_delegated_credentials(delegation):
    srv, admin, template, clients = delegation
    partner, partner_key = clients["partner"]
    alice, _ = clients["alice"]
    out = create(partner, template, RequestMessage="Hello")
    rid = out["DelegationRequestId"]
    assert rid.startswith("dr-") and out["ConsoleDeepLink"].endswith(rid)
    r = partner.get_delegation_request(DelegationRequestId=rid)["DelegationRequest"]
    assert r["State"] == "UNASSIGNED" and r["RequestorId"] == srv.account_id and r["RequestorName"] == "partner"
    assert json.loads(r["PermissionPolicy"])["Statement"][1]["Resource"] == "arn:aws:iam::*:user/alice"
    assert r["Permissions"]["Parameters"] == [{"Name": "UserName", "Values": ["alice"], "Type": "string"}]
    assert (r["ExpirationTime"] - r["CreateDate"]).total_seconds() == 86400
    with expect_error("EntityAlreadyExists", 409):
        create(partner, template)
    assert alice.list_delegation_requests()["DelegationRequests"] == []

    alice.associate_delegation_request(DelegationRequestId=rid)
    alice_arn = f"arn:aws:iam::{srv.account_id}:user/alice"
    listed = alice.list_delegation_requests()
    assert [d["DelegationRequestId"] for d in listed["DelegationRequests"]] == [rid] and listed["isTruncated"] is False
    assert listed["DelegationRequests"][0]["OwnerId"] == alice_arn and listed["DelegationRequests"][0]["State"] == "ASSIGNED"
    checked = alice.get_delegation_request(DelegationRequestId=rid, DelegationPermissionCheck=True)
    assert checked["PermissionCheckStatus"] == "COMPLETE" and checked["PermissionCheckResult"] == "ALLOWED"
    with expect_error("InvalidInput", 400):
        alice.send_delegation_token(DelegationRequestId=rid)
    alice.update_delegation_request(DelegationRequestId=rid, Notes="for the auditors")
    assert alice.get_delegation_request(DelegationRequestId=rid)["DelegationRequest"]["State"] == "PENDING_APPROVAL"
    alice.accept_delegation_request(DelegationRequestId=rid)
    alice.send_delegation_token(DelegationRequestId=rid)
    r = alice.get_delegation_request(DelegationRequestId=rid)["DelegationRequest"]
    assert r["State"] == "FINALIZED" and r["ApproverId"] == alice_arn and r["Notes"] == "for the auditors"

    sent = requests.get(f"{srv.endpoint}/_portcullis/notifications", timeout=10).json()["notifications"]
    assert [n["channel"] for n in sent] == [TOPIC]
    token = json.loads(sent[0]["message"])["TradeInToken"]
    sts = boto3.client("sts", endpoint_url=srv.endpoint, region_name="us-east-1",
                       aws_access_key_id=partner_key["AccessKeyId"], aws_secret_access_key=partner_key["SecretAccessKey"])
    got = sts.get_delegated_access_token(TradeInToken=token)
    assert got["AssumedPrincipal"] == alice_arn and got["Credentials"]["AccessKeyId"].startswith("ASIA")
    c = got["Credentials"]
    delegated = boto3.client("iam", endpoint_url=srv.endpoint, region_name="us-east-1", aws_access_key_id=c["AccessKeyId"],
                             aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])
    assert "Users" in delegated.list_users()
    delegated.get_user(UserName="alice")
    # Alice may do more; the delegated session only what the request's policy allows.
    with expect_error("AccessDenied", 403):
        delegated.get_user(UserName="partner")
    with expect_error("AccessDenied", 403):
        delegated.create_user(UserName="not-delegated")
    with expect_error("ExpiredTradeInTokenException", 400):
        sts.get_delegated_access_token(TradeInToken=token)


def test_rejection_expiry_and_the_summary(delegation):
    srv, admin, template, clients = delegation
    partner, _ = clients["partner"]
    alice, _ = clients["alice"]
    rid = create(partner, template, workflow="wf-reject")["DelegationRequestId"]
    alice.associate_delegation_request(DelegationRequestId=rid)
    summary = alice.get_human_readable_summary(EntityArn=f"arn:aws:iam::{srv.account_id}:delegation-request/{rid}")
    assert summary["SummaryState"] == "AVAILABLE" and summary["Locale"] == "en"
    assert "Allows iam:ListUsers on *." in summary["SummaryContent"]
    assert alice.get_human_readable_summary(EntityArn=f"arn:aws:iam::{srv.account_id}:delegation-request/{rid}", Locale="fr")["SummaryState"] == "NOT_SUPPORTED"
    alice.reject_delegation_request(DelegationRequestId=rid, Notes="not now")
    r = alice.get_delegation_request(DelegationRequestId=rid)["DelegationRequest"]
    assert r["State"] == "REJECTED" and r["RejectionReason"] == "not now"
    with expect_error("ConcurrentModification", 409):
        alice.accept_delegation_request(DelegationRequestId=rid)
    with expect_error("NoSuchEntity", 404):
        alice.get_delegation_request(DelegationRequestId="dr-00000000000000000000")

    late = create(partner, template, workflow="wf-late")["DelegationRequestId"]
    requests.post(f"{srv.endpoint}/_portcullis/clock", json={"advance_seconds": 2 * 86400}, timeout=10)
    assert partner.get_delegation_request(DelegationRequestId=late)["DelegationRequest"]["State"] == "EXPIRED"
    with expect_error("InvalidInput", 400):
        alice.associate_delegation_request(DelegationRequestId=late)


def test_delegated_access_cannot_escape_the_requests_policy(delegation):
    srv, admin, template, clients = delegation
    partner, partner_key = clients["partner"]
    alice, alice_key = clients["alice"]
    account = srv.account_id
    # A role that trusts alice by name: her delegated session must not reach it.
    admin.create_role(RoleName="AliceAdmin", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:user/alice"}, "Action": "sts:AssumeRole"}]}))
    admin.attach_role_policy(RoleName="AliceAdmin", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    # Parameter values cannot add statements to the template.
    with expect_error("InvalidInput", 400):
        partner.create_delegation_request(
            Description="x", RequestorWorkflowId="workflow-inject", NotificationChannel=TOPIC, SessionDuration=3600,
            Permissions={"PolicyTemplateArn": template, "Parameters": [
                {"Name": "UserName", "Values": ['x"},{"Effect":"Allow","Action":"*","Resource":"*'], "Type": "string"}]})
    rid = create(partner, template, workflow="workflow-escape")["DelegationRequestId"]
    alice.associate_delegation_request(DelegationRequestId=rid)
    alice.accept_delegation_request(DelegationRequestId=rid)
    alice.send_delegation_token(DelegationRequestId=rid)
    sent = requests.get(f"{srv.endpoint}/_portcullis/notifications", timeout=10).json()["notifications"]
    token = json.loads(sent[-1]["message"])["TradeInToken"]
    sts = boto3.client("sts", endpoint_url=srv.endpoint, region_name="us-east-1",
                       aws_access_key_id=partner_key["AccessKeyId"], aws_secret_access_key=partner_key["SecretAccessKey"])
    c = sts.get_delegated_access_token(TradeInToken=token)["Credentials"]
    delegated = dict(endpoint_url=srv.endpoint, region_name="us-east-1", aws_access_key_id=c["AccessKeyId"],
                     aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])
    with expect_error("AccessDenied", 403):
        boto3.client("sts", **delegated).assume_role(RoleArn=f"arn:aws:iam::{account}:role/AliceAdmin", RoleSessionName="escape")
    # A session narrowed by session policies cannot accept (it would hand on more than it holds).
    rid2 = create(partner, template, workflow="workflow-narrow")["DelegationRequestId"]
    alice.associate_delegation_request(DelegationRequestId=rid2)
    narrow = boto3.client("sts", endpoint_url=srv.endpoint, region_name="us-east-1", aws_access_key_id=alice_key["AccessKeyId"],
                          aws_secret_access_key=alice_key["SecretAccessKey"]).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/AliceAdmin", RoleSessionName="narrow",
        Policy=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:*DelegationRequest*", "Resource": "*"}]}))["Credentials"]
    narrow_iam = boto3.client("iam", endpoint_url=srv.endpoint, region_name="us-east-1", aws_access_key_id=narrow["AccessKeyId"],
                              aws_secret_access_key=narrow["SecretAccessKey"], aws_session_token=narrow["SessionToken"])
    with expect_error("AccessDenied", 403):
        narrow_iam.accept_delegation_request(DelegationRequestId=rid2)
