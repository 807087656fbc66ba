"""AWS Organizations with boto3: an organization of several accounts in one server, its
units and policies, CreateAccount's asynchronous status and the role it makes, cross-account
AssumeRole into a member account, isolation between accounts, and service control policies
enforced on member accounts (not on the management account).

The organization is made in a private server of this module (the shared server's account
stays outside any organization, as other tests expect)."""

from __future__ import annotations

import json
import time

import boto3
import pytest
from botocore.config import Config

from compat_helpers import REGION, expect_error, service_client, unique_name
from conftest import start_server

ADMIN_ALL = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


def client(srv, service, key_id=None, secret=None, token=None):
    return service_client(srv, service, key_id, secret, token)


class Org:
    """The module's organization: its server, the management account's clients, one member."""

    def __init__(self, srv):
        self.srv = srv
        self.orgs = client(srv, "organizations")
        self.iam = client(srv, "iam")
        self.sts = client(srv, "sts")
        self.organization = self.orgs.create_organization(FeatureSet="ALL")["Organization"]
        self.initial_root = self.orgs.list_roots()["Roots"][0]
        self.root_id = self.initial_root["Id"]
        # Service control policies are turned on as in AWS's console, after creation.
        self.enabled_root = self.orgs.enable_policy_type(RootId=self.root_id, PolicyType="SERVICE_CONTROL_POLICY")["Root"]

    def create_account(self, name):
        status = self.orgs.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]
        for _ in range(50):
            status = self.orgs.describe_create_account_status(CreateAccountRequestId=status["Id"])["CreateAccountStatus"]
            if status["State"] != "IN_PROGRESS":
                break
            time.sleep(0.1)
        assert status["State"] == "SUCCEEDED", status
        return status["AccountId"]

    def member_session(self, account_id, service="iam", session_name="admin"):
        """A client in a member account, as its OrganizationAccountAccessRole."""
        creds = self.sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole", RoleSessionName=session_name)["Credentials"]
        return client(self.srv, service, creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])


@pytest.fixture(scope="module")
def org(backend, tmp_path_factory):
    srv = start_server(backend, tmp_path_factory.mktemp(f"org-{backend}"))
    try:
        yield Org(srv)
    finally:
        srv.teardown()


def test_outside_an_organization(server):
    orgs = client(server, "organizations")
    for call in (orgs.describe_organization, orgs.list_roots, orgs.list_accounts):
        with expect_error("AWSOrganizationsNotInUseException", 400) as e:
            call()
        assert e.message == "Your account is not a member of an organization."


def test_the_organization_its_root_and_the_management_account(org):
    o = org.organization
    mgmt = org.srv.account_id
    assert o["Id"].startswith("o-") and len(o["Id"]) == 12
    assert o["Arn"] == f"arn:aws:organizations::{mgmt}:organization/{o['Id']}"
    assert o["FeatureSet"] == "ALL"
    assert o["MasterAccountId"] == mgmt
    assert o["MasterAccountArn"] == f"arn:aws:organizations::{mgmt}:account/{o['Id']}/{mgmt}"
    assert o["AvailablePolicyTypes"] == [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}]
    assert org.orgs.describe_organization()["Organization"] == o
    with expect_error("AlreadyInOrganizationException", 400) as e:
        org.orgs.create_organization()
    assert e.message == "The AWS account is already a member of an organization."

    root = org.initial_root
    assert root["Id"].startswith("r-") and root["Name"] == "Root"
    assert root["Arn"] == f"arn:aws:organizations::{mgmt}:root/{o['Id']}/{root['Id']}"
    assert root["PolicyTypes"] == [], "policy types start disabled, as on AWS"
    scps = [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}]
    assert org.enabled_root == {**root, "PolicyTypes": scps}
    assert org.orgs.list_roots()["Roots"] == [org.enabled_root]
    with expect_error("PolicyTypeAlreadyEnabledException", 400):
        org.orgs.enable_policy_type(RootId=root["Id"], PolicyType="SERVICE_CONTROL_POLICY")
    with expect_error("PolicyTypeNotEnabledException", 400):
        org.orgs.disable_policy_type(RootId=root["Id"], PolicyType="TAG_POLICY")
    me = org.orgs.describe_account(AccountId=mgmt)["Account"]
    assert me["Status"] == "ACTIVE" and me["State"] == "ACTIVE" and me["JoinedMethod"] == "CREATED"
    # FullAWSAccess starts on the root and on every account.
    for target in (root["Id"], mgmt):
        policies = org.orgs.list_policies_for_target(TargetId=target, Filter="SERVICE_CONTROL_POLICY")["Policies"]
        assert policies == [{
            "Id": "p-FullAWSAccess",
            "Arn": "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess",
            "Name": "FullAWSAccess",
            "Description": "Allows access to every operation",
            "Type": "SERVICE_CONTROL_POLICY",
            "AwsManaged": True,
        }]


def test_create_account_is_asynchronous_and_makes_an_access_role(org):
    name = unique_name("acct")
    first = org.orgs.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]
    assert first["State"] == "IN_PROGRESS" and first["Id"].startswith("car-")
    assert first["AccountName"] == name and "AccountId" not in first
    done = org.orgs.describe_create_account_status(CreateAccountRequestId=first["Id"])["CreateAccountStatus"]
    assert done["State"] == "SUCCEEDED" and len(done["AccountId"]) == 12 and "CompletedTimestamp" in done
    account_id = done["AccountId"]
    assert account_id != org.srv.account_id

    acct = org.orgs.describe_account(AccountId=account_id)["Account"]
    assert acct["Email"] == f"{name}@example.com" and acct["Name"] == name and acct["JoinedMethod"] == "CREATED"
    assert account_id in [a["Id"] for a in org.orgs.list_accounts()["Accounts"]]
    assert {"Id": account_id, "Type": "ACCOUNT"} in org.orgs.list_children(ParentId=org.root_id, ChildType="ACCOUNT")["Children"]

    # The same e-mail again fails asynchronously, as on AWS.
    again = org.orgs.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]
    failed = org.orgs.describe_create_account_status(CreateAccountRequestId=again["Id"])["CreateAccountStatus"]
    assert failed["State"] == "FAILED" and failed["FailureReason"] == "EMAIL_ALREADY_EXISTS"
    states = org.orgs.list_create_account_status(States=["FAILED"])["CreateAccountStatuses"]
    assert again["Id"] in [s["Id"] for s in states]
    with expect_error("CreateAccountStatusNotFoundException", 400):
        org.orgs.describe_create_account_status(CreateAccountRequestId="car-" + "0" * 32)

    # The management account's administrator assumes the role in the new account.
    member_sts = org.member_session(account_id, "sts")
    who = member_sts.get_caller_identity()
    assert who["Account"] == account_id
    assert who["Arn"] == f"arn:aws:sts::{account_id}:assumed-role/OrganizationAccountAccessRole/admin"


def test_accounts_are_isolated(org):
    account_id = org.create_account(unique_name("iso"))
    member_iam = org.member_session(account_id)
    name = unique_name("same")
    org.iam.create_user(UserName=name)
    member_iam.create_user(UserName=name)  # the same name in another account
    mine = org.iam.get_user(UserName=name)["User"]
    theirs = member_iam.get_user(UserName=name)["User"]
    assert mine["Arn"] == f"arn:aws:iam::{org.srv.account_id}:user/{name}"
    assert theirs["Arn"] == f"arn:aws:iam::{account_id}:user/{name}"
    assert mine["UserId"] != theirs["UserId"]
    member_users = [u["UserName"] for u in member_iam.list_users()["Users"]]
    assert member_users == [name], "a member account sees only its own users"
    assert [r["RoleName"] for r in member_iam.list_roles()["Roles"]] == ["OrganizationAccountAccessRole"]
    key = member_iam.create_access_key(UserName=name)["AccessKey"]
    # A member account's key cannot reach the management account's entities.
    member_user_iam = client(org.srv, "iam", key["AccessKeyId"], key["SecretAccessKey"])
    member_iam.attach_user_policy(UserName=name, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    for _ in range(30):
        try:
            assert member_user_iam.get_user()["User"]["Arn"] == theirs["Arn"]
            break
        except Exception:
            time.sleep(0.1)
    assert [u["UserName"] for u in member_user_iam.list_users()["Users"]] == [name]
    # The role trusts the management account only: the member's own user cannot take a
    # management-account role, nor the member account's role across accounts unasked.
    member_sts = client(org.srv, "sts", key["AccessKeyId"], key["SecretAccessKey"])
    role = unique_name("mgmt-only")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{org.srv.account_id}:root"}, "Action": "sts:AssumeRole"}]})
    org.iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)
    with expect_error("AccessDenied", 403):
        member_sts.assume_role(RoleArn=f"arn:aws:iam::{org.srv.account_id}:role/{role}", RoleSessionName="xx")


def test_cross_account_assume_role_needs_both_sides(org):
    account_id = org.create_account(unique_name("xa"))
    member_iam = org.member_session(account_id)
    # A role in the member account that trusts one management-account user by ARN.
    user = unique_name("caller")
    org.iam.create_user(UserName=user)
    key = org.iam.create_access_key(UserName=user)["AccessKey"]
    caller_sts = client(org.srv, "sts", key["AccessKeyId"], key["SecretAccessKey"])
    role = unique_name("trusting")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{org.srv.account_id}:user/{user}"}, "Action": "sts:AssumeRole"}]})
    member_iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)
    arn = f"arn:aws:iam::{account_id}:role/{role}"
    # The trust policy names the user, but across accounts its own policies must allow too.
    with expect_error("AccessDenied", 403):
        caller_sts.assume_role(RoleArn=arn, RoleSessionName="ss")
    org.iam.put_user_policy(UserName=user, PolicyName="assume", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": arn}]}))
    creds = caller_sts.assume_role(RoleArn=arn, RoleSessionName="ss")["Credentials"]
    who = client(org.srv, "sts", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]).get_caller_identity()
    assert who["Arn"] == f"arn:aws:sts::{account_id}:assumed-role/{role}/ss"


def test_organizational_units_and_moving_accounts(org):
    account_id = org.create_account(unique_name("mv"))
    name = unique_name("ou")
    ou = org.orgs.create_organizational_unit(ParentId=org.root_id, Name=name)["OrganizationalUnit"]
    root_part = org.root_id[2:]
    assert ou["Id"].startswith(f"ou-{root_part}-") and ou["Name"] == name
    assert ou["Arn"] == f"arn:aws:organizations::{org.srv.account_id}:ou/{org.organization['Id']}/{ou['Id']}"
    with expect_error("DuplicateOrganizationalUnitException", 400) as e:
        org.orgs.create_organizational_unit(ParentId=org.root_id, Name=name)
    assert e.message == "An OU with the same name already exists."
    child = org.orgs.create_organizational_unit(ParentId=ou["Id"], Name="child")["OrganizationalUnit"]
    assert org.orgs.list_parents(ChildId=child["Id"])["Parents"] == [{"Id": ou["Id"], "Type": "ORGANIZATIONAL_UNIT"}]
    assert org.orgs.list_organizational_units_for_parent(ParentId=ou["Id"])["OrganizationalUnits"] == [child]
    renamed = org.orgs.update_organizational_unit(OrganizationalUnitId=child["Id"], Name="renamed")["OrganizationalUnit"]
    assert renamed["Name"] == "renamed" and org.orgs.describe_organizational_unit(OrganizationalUnitId=child["Id"])["OrganizationalUnit"] == renamed

    org.orgs.move_account(AccountId=account_id, SourceParentId=org.root_id, DestinationParentId=ou["Id"])
    assert org.orgs.list_parents(ChildId=account_id)["Parents"] == [{"Id": ou["Id"], "Type": "ORGANIZATIONAL_UNIT"}]
    assert [a["Id"] for a in org.orgs.list_accounts_for_parent(ParentId=ou["Id"])["Accounts"]] == [account_id]
    with expect_error("AccountNotFoundException", 400):
        org.orgs.move_account(AccountId=account_id, SourceParentId=org.root_id, DestinationParentId=ou["Id"])
    with expect_error("DuplicateAccountException", 400):
        org.orgs.move_account(AccountId=account_id, SourceParentId=ou["Id"], DestinationParentId=ou["Id"])
    with expect_error("OrganizationalUnitNotEmptyException", 400):
        org.orgs.delete_organizational_unit(OrganizationalUnitId=ou["Id"])
    org.orgs.move_account(AccountId=account_id, SourceParentId=ou["Id"], DestinationParentId=org.root_id)
    org.orgs.delete_organizational_unit(OrganizationalUnitId=child["Id"])
    org.orgs.delete_organizational_unit(OrganizationalUnitId=ou["Id"])
    with expect_error("OrganizationalUnitNotFoundException", 400):
        org.orgs.describe_organizational_unit(OrganizationalUnitId=ou["Id"])
    with expect_error("ParentNotFoundException", 400):
        org.orgs.list_children(ParentId=ou["Id"], ChildType="ACCOUNT")
    # Five levels deep at most.
    parent = org.root_id
    made = []
    for i in range(5):
        parent = org.orgs.create_organizational_unit(ParentId=parent, Name=f"level{i}-{name}")["OrganizationalUnit"]["Id"]
        made.append(parent)
    with expect_error("ConstraintViolationException", 400) as e:
        org.orgs.create_organizational_unit(ParentId=parent, Name="too-deep")
    assert e.response["Error"].get("Code") == "ConstraintViolationException"
    assert e.response.get("Reason") == "OU_DEPTH_LIMIT_EXCEEDED"
    for unit in reversed(made):
        org.orgs.delete_organizational_unit(OrganizationalUnitId=unit)


def test_service_control_policies_and_their_limits(org):
    name = unique_name("scp")
    deny = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "iam:CreateUser", "Resource": "*"}]})
    p = org.orgs.create_policy(Name=name, Description="no users", Type="SERVICE_CONTROL_POLICY", Content=deny)["Policy"]
    summary = p["PolicySummary"]
    assert summary["Id"].startswith("p-") and len(summary["Id"]) == 12 and summary["AwsManaged"] is False
    assert summary["Arn"] == f"arn:aws:organizations::{org.srv.account_id}:policy/{org.organization['Id']}/service_control_policy/{summary['Id']}"
    assert p["Content"] == deny
    with expect_error("DuplicatePolicyException", 400):
        org.orgs.create_policy(Name=name, Description="", Type="SERVICE_CONTROL_POLICY", Content=deny)
    with expect_error("MalformedPolicyDocumentException", 400) as e:
        org.orgs.create_policy(Name=unique_name("bad"), Description="", Type="SERVICE_CONTROL_POLICY", Content='{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}')
    assert e.message == "The provided policy document does not meet the requirements of the specified policy type."
    big = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": [f"iam:Get{'x' * 20}{i}" for i in range(250)], "Resource": "*"}]})
    with expect_error("ConstraintViolationException", 400) as e:
        org.orgs.create_policy(Name=unique_name("big"), Description="", Type="SERVICE_CONTROL_POLICY", Content=big)
    assert e.response.get("Reason") == "POLICY_CONTENT_LIMIT_EXCEEDED"
    assert name in [x["Name"] for x in org.orgs.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"]]
    assert org.orgs.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"][0]["Id"] == "p-FullAWSAccess"

    account_id = org.create_account(unique_name("pol"))
    org.orgs.attach_policy(PolicyId=summary["Id"], TargetId=account_id)
    with expect_error("DuplicatePolicyAttachmentException", 400):
        org.orgs.attach_policy(PolicyId=summary["Id"], TargetId=account_id)
    targets = org.orgs.list_targets_for_policy(PolicyId=summary["Id"])["Targets"]
    assert [(t["TargetId"], t["Type"]) for t in targets] == [(account_id, "ACCOUNT")]
    with expect_error("PolicyInUseException", 400):
        org.orgs.delete_policy(PolicyId=summary["Id"])
    # Four more fit (five per target), a sixth does not.
    extra = []
    for i in range(3):
        extra.append(org.orgs.create_policy(Name=f"{name}-{i}", Description="", Type="SERVICE_CONTROL_POLICY", Content=ADMIN_ALL)["Policy"]["PolicySummary"]["Id"])
        org.orgs.attach_policy(PolicyId=extra[-1], TargetId=account_id)
    sixth = org.orgs.create_policy(Name=f"{name}-6", Description="", Type="SERVICE_CONTROL_POLICY", Content=ADMIN_ALL)["Policy"]["PolicySummary"]["Id"]
    with expect_error("ConstraintViolationException", 400) as e:
        org.orgs.attach_policy(PolicyId=sixth, TargetId=account_id)
    assert e.response.get("Reason") == "MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED"
    for pid in extra + [summary["Id"]]:
        org.orgs.detach_policy(PolicyId=pid, TargetId=account_id)
    with expect_error("PolicyNotAttachedException", 400):
        org.orgs.detach_policy(PolicyId=summary["Id"], TargetId=account_id)
    with expect_error("ConstraintViolationException", 400) as e:
        org.orgs.detach_policy(PolicyId="p-FullAWSAccess", TargetId=account_id)
    assert e.response.get("Reason") == "MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED"
    with expect_error("InvalidInputException", 400):
        org.orgs.delete_policy(PolicyId="p-FullAWSAccess")
    updated = org.orgs.update_policy(PolicyId=sixth, Description="changed")["Policy"]
    assert updated["PolicySummary"]["Description"] == "changed" and updated["Content"] == ADMIN_ALL
    for pid in extra + [sixth, summary["Id"]]:
        org.orgs.delete_policy(PolicyId=pid)
    with expect_error("PolicyNotFoundException", 400):
        org.orgs.describe_policy(PolicyId=summary["Id"])


def test_scps_are_enforced_on_member_accounts_only(org):
    account_id = org.create_account(unique_name("enf"))
    ou = org.orgs.create_organizational_unit(ParentId=org.root_id, Name=unique_name("sandbox"))["OrganizationalUnit"]["Id"]
    org.orgs.move_account(AccountId=account_id, SourceParentId=org.root_id, DestinationParentId=ou)
    member_iam = org.member_session(account_id)
    member_iam.create_user(UserName=unique_name("before"))
    console_user = unique_name("console")
    member_iam.create_user(UserName=console_user)
    member_iam.create_login_profile(UserName=console_user, Password="Console-Passw0rd!")
    member_iam.attach_user_policy(UserName=console_user, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")

    deny = org.orgs.create_policy(Name=unique_name("deny-users"), Description="", Type="SERVICE_CONTROL_POLICY", Content=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "iam:CreateUser", "Resource": "*"}]}))["Policy"]["PolicySummary"]["Id"]
    org.orgs.attach_policy(PolicyId=deny, TargetId=ou)
    member_iam = org.member_session(account_id, session_name="after")
    with expect_error("AccessDenied", 403) as e:
        member_iam.create_user(UserName=unique_name("blocked"))
    assert e.message == (
        f"User: arn:aws:sts::{account_id}:assumed-role/OrganizationAccountAccessRole/after is not authorized to perform: "
        f"iam:CreateUser on resource: arn:aws:iam::{account_id}:user/{e.message.split(':user/')[1].split(' ')[0]} "
        "with an explicit deny in a service control policy"
    )
    member_iam.list_users()  # other actions still allowed
    org.iam.create_user(UserName=unique_name("mgmt"))  # the management account is not affected

    # Allow only IAM reads at the account level, without FullAWSAccess: everything else is
    # implicitly denied there.
    reads = org.orgs.create_policy(Name=unique_name("reads"), Description="", Type="SERVICE_CONTROL_POLICY", Content=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["iam:List*", "iam:Get*", "iam:Simulate*"], "Resource": "*"}]}))["Policy"]["PolicySummary"]["Id"]
    org.orgs.attach_policy(PolicyId=reads, TargetId=account_id)
    org.orgs.detach_policy(PolicyId="p-FullAWSAccess", TargetId=account_id)
    org.orgs.detach_policy(PolicyId=deny, TargetId=ou)
    member_iam.list_users()
    with expect_error("AccessDenied", 403) as e:
        member_iam.create_group(GroupName=unique_name("g"))
    assert e.message.endswith("because no service control policy allows the iam:CreateGroup action"), e.message
    # The console's simulator says which layer decided.
    from test_console import browser, hidden, user_sign_in
    s = browser()
    assert user_sign_in(org.srv, s, account_id, console_user, "Console-Passw0rd!").url.endswith("/console")
    page = s.get(f"{org.srv.endpoint}/console/simulator", timeout=30)
    result = s.post(f"{org.srv.endpoint}/console/simulator", timeout=30, data={
        "csrf": hidden(page.text, "csrf"), "principal": f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole",
        "actions": "iam:CreateGroup\niam:ListUsers", "resources": "", "context_key": "", "context_value": ""})
    assert f"Denied by a service control policy (at {account_id})" in result.text, result.text[-3000:]
    # The simulator shows the same.
    sim = member_iam.simulate_principal_policy(
        PolicySourceArn=f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole", ActionNames=["iam:CreateGroup", "iam:ListUsers"])
    decisions = {r["EvalActionName"]: (r["EvalDecision"], r["OrganizationsDecisionDetail"]["AllowedByOrganizations"]) for r in sim["EvaluationResults"]}
    assert decisions == {"iam:CreateGroup": ("implicitDeny", False), "iam:ListUsers": ("allowed", True)}

    org.orgs.attach_policy(PolicyId="p-FullAWSAccess", TargetId=account_id)
    org.orgs.detach_policy(PolicyId=reads, TargetId=account_id)
    member_iam.create_group(GroupName=unique_name("g"))
    org.orgs.move_account(AccountId=account_id, SourceParentId=ou, DestinationParentId=org.root_id)
    org.orgs.delete_organizational_unit(OrganizationalUnitId=ou)


def test_member_accounts_cannot_manage_the_organization(org):
    account_id = org.create_account(unique_name("mem"))
    member_orgs = org.member_session(account_id, "organizations")
    assert member_orgs.describe_organization()["Organization"]["Id"] == org.organization["Id"]
    for call in (member_orgs.list_accounts, member_orgs.list_roots, lambda: member_orgs.create_organizational_unit(ParentId=org.root_id, Name="x")):
        with expect_error("AccessDeniedException", 400) as e:
            call()
        assert e.message == "You don't have permissions to access this resource."
    with expect_error("AlreadyInOrganizationException", 400):
        member_orgs.create_organization()


def test_input_is_checked_against_the_model(org):
    with expect_error("InvalidInputException", 400) as e:
        org.orgs.list_children(ParentId="o-notaparent", ChildType="ACCOUNT")
    assert e.response.get("Reason") == "INVALID_PATTERN"
    assert e.message == "You provided a value that does not match the required pattern."
    with expect_error("InvalidInputException", 400) as e:
        org.orgs.list_accounts(MaxResults=50)
    assert e.response.get("Reason") == "MAX_VALUE_EXCEEDED"
    with expect_error("InvalidInputException", 400) as e:
        org.orgs.list_accounts(NextToken="not-a-token")
    assert e.response.get("Reason") == "INVALID_NEXT_TOKEN"


def test_pagination_tags_and_trusted_access(org):
    for _ in range(2):
        org.create_account(unique_name("pg"))
    pages = list(org.orgs.get_paginator("list_accounts").paginate(PaginationConfig={"PageSize": 2}))
    ids = [a["Id"] for p in pages for a in p["Accounts"]]
    assert len(pages) >= 2 and len(ids) == len(set(ids)) >= 3
    first = ids[-1]
    org.orgs.tag_resource(ResourceId=first, Tags=[{"Key": "team", "Value": "blue"}, {"Key": "env", "Value": "dev"}])
    org.orgs.untag_resource(ResourceId=first, TagKeys=["env"])
    assert org.orgs.list_tags_for_resource(ResourceId=first)["Tags"] == [{"Key": "team", "Value": "blue"}]
    with expect_error("TargetNotFoundException", 400):
        org.orgs.list_tags_for_resource(ResourceId="999999999999")

    # IAM's centralized root access needs trusted access for IAM first.
    with expect_error("ServiceAccessNotEnabledException", 400):
        org.iam.list_organizations_features()
    org.orgs.enable_aws_service_access(ServicePrincipal="iam.amazonaws.com")
    enabled = org.orgs.list_aws_service_access_for_organization()["EnabledServicePrincipals"]
    assert [e["ServicePrincipal"] for e in enabled] == ["iam.amazonaws.com"]
    assert org.iam.list_organizations_features()["EnabledFeatures"] == []
    out = org.iam.enable_organizations_root_credentials_management()
    assert out["OrganizationId"] == org.organization["Id"] and out["EnabledFeatures"] == ["RootCredentialsManagement"]
    org.iam.enable_organizations_root_sessions()
    assert org.iam.list_organizations_features()["EnabledFeatures"] == ["RootCredentialsManagement", "RootSessions"]
    org.iam.disable_organizations_root_sessions()
    org.iam.disable_organizations_root_credentials_management()
    assert org.iam.list_organizations_features()["EnabledFeatures"] == []
    org.orgs.disable_aws_service_access(ServicePrincipal="iam.amazonaws.com")
    assert org.orgs.list_aws_service_access_for_organization()["EnabledServicePrincipals"] == []
    with expect_error("ServiceAccessNotEnabledException", 400):
        org.iam.list_organizations_features()


def test_assume_root_opens_a_task_session_in_a_member_account(org):
    account_id = org.create_account(unique_name("rootsess"))
    audit = {"arn": "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"}
    caller = org.sts.get_caller_identity()["Arn"]
    org.orgs.enable_aws_service_access(ServicePrincipal="iam.amazonaws.com")
    with expect_error("AccessDenied", 403) as e:
        org.sts.assume_root(TargetPrincipal=account_id, TaskPolicyArn=audit)
    assert e.message == f"User: {caller} is not authorized to perform: sts:AssumeRoot on resource: arn:aws:iam::{account_id}:root"
    org.iam.enable_organizations_root_sessions()
    try:
        creds = org.sts.assume_root(TargetPrincipal=f"arn:aws:iam::{account_id}:root", TaskPolicyArn=audit, DurationSeconds=900)["Credentials"]
        assert (creds["Expiration"] - creds["Expiration"].now(creds["Expiration"].tzinfo)).total_seconds() <= 900
        keys = (creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
        assert client(org.srv, "sts", *keys).get_caller_identity()["Arn"] == f"arn:aws:iam::{account_id}:root"
        root_iam = client(org.srv, "iam", *keys)
        assert "Users" in root_iam.get_account_summary()["SummaryMap"]  # within the audit task
        root_iam.list_mfa_devices()
        with expect_error("AccessDenied", 403) as e:
            root_iam.create_user(UserName=unique_name("nope"))
        assert e.message.endswith("with an explicit deny in a session policy"), e.message
        # Not the management account itself, and not for a principal without sts:AssumeRoot.
        with expect_error("AccessDenied", 403):
            org.sts.assume_root(TargetPrincipal=org.srv.account_id, TaskPolicyArn=audit)
        name = unique_name("no-root")
        org.iam.create_user(UserName=name)
        key = org.iam.create_access_key(UserName=name)["AccessKey"]
        with expect_error("AccessDenied", 403) as e:
            client(org.srv, "sts", key["AccessKeyId"], key["SecretAccessKey"]).assume_root(TargetPrincipal=account_id, TaskPolicyArn=audit)
        assert e.message.endswith("because no identity-based policy allows the sts:AssumeRoot action"), e.message
    finally:
        org.iam.disable_organizations_root_sessions()


def test_member_account_users_sign_in_with_their_account(org):
    import requests
    account_id = org.create_account(unique_name("console"))
    member_iam = org.member_session(account_id)
    name = unique_name("alice")
    member_iam.create_user(UserName=name)
    member_iam.create_login_profile(UserName=name, Password="Correct-Horse-9")
    member_iam.create_account_alias(AccountAlias=f"member-{account_id}")

    def sign_in(account):
        return requests.post(f"{org.srv.endpoint}/_portcullis/signin", json={"account": account, "user_name": name, "password": "Correct-Horse-9"}, timeout=30)

    for account in (account_id, f"member-{account_id}"):
        out = sign_in(account)
        assert out.status_code == 200 and out.json()["status"] == "SignedIn", out.text
        creds = out.json()["credentials"]
        who = client(org.srv, "sts", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]).get_caller_identity()
        assert who["Arn"] == f"arn:aws:iam::{account_id}:user/{name}"
    # The management account has no such user.
    refused = sign_in(org.srv.account_id)
    assert refused.status_code != 200 and refused.json().get("status") != "SignedIn", refused.text


def test_invitations_delegated_administrators_and_leaving(org):
    account_id = org.create_account(unique_name("inv"))
    org.orgs.remove_account_from_organization(AccountId=account_id)
    # The removed account stands alone; its access role still trusts the management account.
    outside = org.member_session(account_id, "organizations")
    with expect_error("AWSOrganizationsNotInUseException", 400):
        outside.describe_organization()

    first = org.orgs.invite_account_to_organization(Target={"Id": account_id, "Type": "ACCOUNT"}, Notes="join us")["Handshake"]
    assert first["Id"].startswith("h-") and first["State"] == "OPEN" and first["Action"] == "INVITE"
    assert {"Id": account_id, "Type": "ACCOUNT"} in first["Parties"]
    assert first["Arn"] == f"arn:aws:organizations::{org.srv.account_id}:handshake/{org.organization['Id']}/invite/{first['Id']}"
    with expect_error("DuplicateHandshakeException", 400):
        org.orgs.invite_account_to_organization(Target={"Id": account_id, "Type": "ACCOUNT"})
    assert [h["Id"] for h in outside.list_handshakes_for_account()["Handshakes"]] == [first["Id"]]
    assert outside.decline_handshake(HandshakeId=first["Id"])["Handshake"]["State"] == "DECLINED"
    with expect_error("InvalidHandshakeTransitionException", 400):
        outside.accept_handshake(HandshakeId=first["Id"])

    # The organization may cancel an open invitation; it cannot be accepted then.
    cancelled = org.orgs.invite_account_to_organization(Target={"Id": account_id, "Type": "ACCOUNT"})["Handshake"]
    with expect_error("AccessDeniedException", 400):
        outside.cancel_handshake(HandshakeId=cancelled["Id"])  # only the organization cancels
    assert org.orgs.cancel_handshake(HandshakeId=cancelled["Id"])["Handshake"]["State"] == "CANCELED"
    with expect_error("InvalidHandshakeTransitionException", 400):
        outside.accept_handshake(HandshakeId=cancelled["Id"])
    with expect_error("HandshakeNotFoundException", 400):
        org.orgs.cancel_handshake(HandshakeId="h-" + "0" * 32)

    second = org.orgs.invite_account_to_organization(Target={"Id": account_id, "Type": "ACCOUNT"})["Handshake"]
    with expect_error("AccessDeniedException", 400):
        org.orgs.accept_handshake(HandshakeId=second["Id"])  # only the invited account accepts
    assert outside.accept_handshake(HandshakeId=second["Id"])["Handshake"]["State"] == "ACCEPTED"
    assert org.orgs.describe_account(AccountId=account_id)["Account"]["JoinedMethod"] == "INVITED"
    assert org.orgs.describe_handshake(HandshakeId=second["Id"])["Handshake"]["State"] == "ACCEPTED"
    with expect_error("HandshakeConstraintViolationException", 400) as e:
        org.orgs.invite_account_to_organization(Target={"Id": account_id, "Type": "ACCOUNT"})
    assert e.response.get("Reason") == "ALREADY_IN_AN_ORGANIZATION"
    third_party = org.orgs.list_handshakes_for_organization()["Handshakes"]
    assert {first["Id"], second["Id"]} <= {h["Id"] for h in third_party}

    # A delegated administrator may read the organization.
    member = org.member_session(account_id, "organizations")
    with expect_error("AccessDeniedException", 400):
        member.list_accounts()
    org.orgs.register_delegated_administrator(AccountId=account_id, ServicePrincipal="sso.amazonaws.com")
    with expect_error("AccountAlreadyRegisteredException", 400):
        org.orgs.register_delegated_administrator(AccountId=account_id, ServicePrincipal="sso.amazonaws.com")
    with expect_error("ConstraintViolationException", 400):
        org.orgs.register_delegated_administrator(AccountId=org.srv.account_id, ServicePrincipal="sso.amazonaws.com")
    admins = org.orgs.list_delegated_administrators()["DelegatedAdministrators"]
    assert [a["Id"] for a in admins] == [account_id] and "DelegationEnabledDate" in admins[0]
    assert [s["ServicePrincipal"] for s in org.orgs.list_delegated_services_for_account(AccountId=account_id)["DelegatedServices"]] == ["sso.amazonaws.com"]
    assert account_id in [a["Id"] for a in member.list_accounts()["Accounts"]]
    with expect_error("AccessDeniedException", 400):
        member.create_organizational_unit(ParentId=org.root_id, Name="nope")  # still not a manager
    with expect_error("ConstraintViolationException", 400):
        member.leave_organization()
    org.orgs.deregister_delegated_administrator(AccountId=account_id, ServicePrincipal="sso.amazonaws.com")
    with expect_error("AccountNotRegisteredException", 400):
        org.orgs.deregister_delegated_administrator(AccountId=account_id, ServicePrincipal="sso.amazonaws.com")

    member.leave_organization()
    with expect_error("AWSOrganizationsNotInUseException", 400):
        member.describe_organization()
    with expect_error("MasterCannotLeaveOrganizationException", 400):
        org.orgs.leave_organization()


def test_the_authorization_endpoint_across_accounts(org):
    """A resource of another account needs its own policy too: the caller's alone is not enough."""
    import requests
    from test_authorization_endpoint import ec2_request
    account_id = org.create_account(unique_name("authz"))
    member_iam = org.member_session(account_id)
    name = unique_name("dev")
    member_iam.create_user(UserName=name)
    member_iam.put_user_policy(UserName=name, PolicyName="sqs", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}))
    key = member_iam.create_access_key(UserName=name)["AccessKey"]
    request = ec2_request(key["AccessKeyId"], key["SecretAccessKey"])

    def ask(resource, policy=None):
        body = {"request": request, "action": "sqs:DeleteQueue", "resource": resource}
        if policy:
            body["resourcePolicy"] = json.dumps(policy)
        return requests.post(f"{org.srv.endpoint}/_portcullis/authorize", json=body, timeout=30).json()

    assert ask(f"arn:aws:sqs:us-east-1:{account_id}:own-queue")["allowed"] is True
    other = ask(f"arn:aws:sqs:us-east-1:{org.srv.account_id}:prod-queue")
    assert other["allowed"] is False and other["decision"] == "implicitDeny"
    assert "because no resource-based policy allows the sqs:DeleteQueue action" in other["message"], other
    grant = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account_id}:user/{name}"}, "Action": "sqs:DeleteQueue", "Resource": "*"}]}
    assert ask(f"arn:aws:sqs:us-east-1:{org.srv.account_id}:prod-queue", grant)["allowed"] is True


def test_a_closed_account_is_shut(org):
    account_id = org.create_account(unique_name("closing"))
    member_iam = org.member_session(account_id)
    name = unique_name("u")
    member_iam.create_user(UserName=name)
    member_iam.attach_user_policy(UserName=name, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    key = member_iam.create_access_key(UserName=name)["AccessKey"]
    user_iam = client(org.srv, "iam", key["AccessKeyId"], key["SecretAccessKey"])
    user_iam.list_users()
    org.orgs.close_account(AccountId=account_id)
    account = org.orgs.describe_account(AccountId=account_id)["Account"]
    assert account["Status"] == "SUSPENDED" and account["State"] == "SUSPENDED"
    with expect_error("AccountAlreadyClosedException", 400):
        org.orgs.close_account(AccountId=account_id)
    # Its keys, its sessions and its roles are no more.
    with expect_error("InvalidClientTokenId", 403):
        user_iam.create_user(UserName=unique_name("after"))
    with expect_error("InvalidClientTokenId", 403):
        member_iam.list_users()
    with expect_error("AccessDenied", 403):
        org.member_session(account_id)
    with expect_error("ConstraintViolationException", 400) as e:
        org.orgs.close_account(AccountId=org.srv.account_id)
    assert e.response.get("Reason") == "CANNOT_CLOSE_MANAGEMENT_ACCOUNT"


def test_the_operation_header_must_be_signed(org):
    """X-Amz-Target names the operation: a signature that does not cover it is refused."""
    import requests
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    req = AWSRequest(method="POST", url=f"{org.srv.endpoint}/", data="{}", headers={"Content-Type": "application/x-amz-json-1.1"})
    SigV4Auth(Credentials(org.srv.admin_key_id, org.srv.admin_secret), "organizations", REGION).add_auth(req)
    p = req.prepare()
    headers = dict(p.headers.items())
    headers["X-Amz-Target"] = "AWSOrganizationsV20161128.DeleteOrganization"
    r = requests.post(p.url, data=p.body, headers=headers, timeout=30)
    assert r.status_code == 400 and r.json()["__type"] == "IncompleteSignatureException", r.text
    assert org.orgs.describe_organization()["Organization"]["Id"] == org.organization["Id"]


def test_denies_scoped_to_an_organization_object(org):
    """Organizations authorizes on the object's ARN and its condition keys, as AWS does: a
    Deny on one policy leaves the others alone."""
    content = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "ec2:*", "Resource": "*"}]})
    guard = org.orgs.create_policy(Name=unique_name("guard"), Description="", Type="SERVICE_CONTROL_POLICY", Content=content)["Policy"]["PolicySummary"]
    other = org.orgs.create_policy(Name=unique_name("other"), Description="", Type="SERVICE_CONTROL_POLICY", Content=content)["Policy"]["PolicySummary"]
    name = unique_name("ops")
    org.iam.create_user(UserName=name)
    org.iam.attach_user_policy(UserName=name, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    org.iam.put_user_policy(UserName=name, PolicyName="guardrail", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": ["organizations:UpdatePolicy", "organizations:DeletePolicy"], "Resource": guard["Arn"]},
        {"Effect": "Deny", "Action": "organizations:CreatePolicy", "Resource": "*", "Condition": {"StringEquals": {"organizations:PolicyType": "TAG_POLICY"}}}]}))
    key = org.iam.create_access_key(UserName=name)["AccessKey"]
    ops = client(org.srv, "organizations", key["AccessKeyId"], key["SecretAccessKey"])
    for _ in range(30):
        try:
            ops.describe_policy(PolicyId=other["Id"])
            break
        except Exception:
            time.sleep(0.1)
    ops.update_policy(PolicyId=other["Id"], Description="changed")
    with expect_error("AccessDeniedException", 400) as e:
        ops.update_policy(PolicyId=guard["Id"], Description="weakened")
    assert f"on resource: {guard['Arn']}" in e.message and "explicit deny" in e.message
    with expect_error("AccessDeniedException", 400):
        ops.delete_policy(PolicyId=guard["Id"])
    with expect_error("AccessDeniedException", 400):
        ops.create_policy(Name=unique_name("tags"), Description="", Type="TAG_POLICY", Content="{}")
    for p in (guard, other):
        org.orgs.delete_policy(PolicyId=p["Id"])


def test_credential_reports_are_per_account(org):
    """A member account's credential report lists its own users only."""
    import csv
    import io
    account_id = org.create_account(unique_name("report"))
    member_iam = org.member_session(account_id)
    mine = unique_name("member-user")
    member_iam.create_user(UserName=mine)
    theirs = unique_name("mgmt-user")
    org.iam.create_user(UserName=theirs)
    for iam in (member_iam, org.iam):
        for _ in range(50):
            if iam.generate_credential_report()["State"] == "COMPLETE":
                break
            time.sleep(0.1)
    member_rows = list(csv.DictReader(io.StringIO(member_iam.get_credential_report()["Content"].decode())))
    users = [r["user"] for r in member_rows]
    assert mine in users and theirs not in users
    assert all(r["arn"].startswith(f"arn:aws:iam::{account_id}:") for r in member_rows)
    mgmt_users = [r["user"] for r in csv.DictReader(io.StringIO(org.iam.get_credential_report()["Content"].decode()))]
    assert theirs in mgmt_users and mine not in mgmt_users


def test_resource_control_policies_are_written_with_a_principal(org):
    rcp = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
                      "Condition": {"BoolIfExists": {"aws:SecureTransport": "false"}}}]})
    p = org.orgs.create_policy(Name=unique_name("rcp"), Description="TLS only", Type="RESOURCE_CONTROL_POLICY", Content=rcp)["Policy"]["PolicySummary"]
    assert p["Type"] == "RESOURCE_CONTROL_POLICY" and "/resource_control_policy/" in p["Arn"]
    assert [x["Id"] for x in org.orgs.list_policies(Filter="RESOURCE_CONTROL_POLICY")["Policies"]] == [p["Id"]]
    with expect_error("PolicyTypeNotEnabledException", 400):
        org.orgs.attach_policy(PolicyId=p["Id"], TargetId=org.root_id)
    org.orgs.delete_policy(PolicyId=p["Id"])
