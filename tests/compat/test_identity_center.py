"""IAM Identity Center with boto3: the instance in an organization's management account, the
identity store (users, groups, memberships, lookups) and permission sets assigned to a
group in a member account, which provisioning turns into a protected AWSReservedSSO_ role
and a SAML provider there; the role goes with the last assignment. In a private server of
this module (the tutorial's organization)."""

from __future__ import annotations

import json

import pytest

from compat_helpers import expect_error, unique_name
from conftest import start_server
from test_organizations import Org, client


@pytest.fixture(scope="module")
def sso(backend, tmp_path_factory):
    srv = start_server(backend, tmp_path_factory.mktemp(f"sso-{backend}"))
    try:
        org = Org(srv)
        admin = client(srv, "sso-admin")
        instance = admin.create_instance(Name="tutorial")["InstanceArn"]
        yield org, admin, instance
    finally:
        srv.teardown()


def store_of(admin, instance):
    return admin.describe_instance(InstanceArn=instance)["IdentityStoreId"]


def test_the_instance_and_its_identity_store(sso):
    org, admin, instance = sso
    assert instance.startswith("arn:aws:sso:::instance/ssoins-") and len(instance.rsplit("/", 1)[1]) == len("ssoins-") + 16
    described = admin.describe_instance(InstanceArn=instance)
    assert described["InstanceArn"] == instance and described["Status"] == "ACTIVE" and described["Name"] == "tutorial"
    assert described["OwnerAccountId"] == org.srv.account_id
    assert described["IdentityStoreId"].startswith("d-") and len(described["IdentityStoreId"]) == 12
    assert [i["InstanceArn"] for i in admin.list_instances()["Instances"]] == [instance]
    with expect_error("ConflictException", 400):
        admin.create_instance(Name="again")
    # Enabling Identity Center trusts it in the organization.
    principals = [p["ServicePrincipal"] for p in org.orgs.list_aws_service_access_for_organization()["EnabledServicePrincipals"]]
    assert "sso.amazonaws.com" in principals


def test_users_groups_and_memberships(sso):
    org, admin, instance = sso
    ids = client(org.srv, "identitystore")
    store = store_of(admin, instance)
    name = unique_name("john")
    user = ids.create_user(IdentityStoreId=store, UserName=name, DisplayName="John Doe", Name={"GivenName": "John", "FamilyName": "Doe"},
                           Emails=[{"Value": f"{name}@example.com", "Type": "work", "Primary": True}])
    assert user["IdentityStoreId"] == store and len(user["UserId"]) == 36
    with expect_error("ConflictException", 400) as e:
        ids.create_user(IdentityStoreId=store, UserName=name.upper(), DisplayName="Other", Name={"GivenName": "O", "FamilyName": "X"})
    assert e.response.get("Reason") == "UNIQUENESS_CONSTRAINT_VIOLATION"
    described = ids.describe_user(IdentityStoreId=store, UserId=user["UserId"])
    assert described["UserName"] == name and described["Name"] == {"GivenName": "John", "FamilyName": "Doe"}
    assert described["Emails"][0]["Value"] == f"{name}@example.com" and described["UserStatus"] == "ENABLED"
    assert ids.get_user_id(IdentityStoreId=store, AlternateIdentifier={"UniqueAttribute": {"AttributePath": "userName", "AttributeValue": name}})["UserId"] == user["UserId"]
    assert ids.get_user_id(IdentityStoreId=store, AlternateIdentifier={"UniqueAttribute": {"AttributePath": "userName", "AttributeValue": name.upper()}})["UserId"] == user["UserId"]
    assert ids.get_user_id(IdentityStoreId=store, AlternateIdentifier={"UniqueAttribute": {"AttributePath": "emails.value", "AttributeValue": f"{name}@example.com"}})["UserId"] == user["UserId"]
    ids.update_user(IdentityStoreId=store, UserId=user["UserId"], Operations=[{"AttributePath": "name.givenName", "AttributeValue": "Johnny"}, {"AttributePath": "title", "AttributeValue": "Admin"}])
    described = ids.describe_user(IdentityStoreId=store, UserId=user["UserId"])
    assert described["Name"]["GivenName"] == "Johnny" and described["Title"] == "Admin"
    assert [u["UserName"] for u in ids.list_users(IdentityStoreId=store, Filters=[{"AttributePath": "UserName", "AttributeValue": name}])["Users"]] == [name]

    group_name = unique_name("Admins")
    group = ids.create_group(IdentityStoreId=store, DisplayName=group_name, Description="administrators")
    with expect_error("ConflictException", 400):
        ids.create_group(IdentityStoreId=store, DisplayName=group_name)
    assert ids.get_group_id(IdentityStoreId=store, AlternateIdentifier={"UniqueAttribute": {"AttributePath": "displayName", "AttributeValue": group_name}})["GroupId"] == group["GroupId"]
    membership = ids.create_group_membership(IdentityStoreId=store, GroupId=group["GroupId"], MemberId={"UserId": user["UserId"]})
    with expect_error("ConflictException", 400):
        ids.create_group_membership(IdentityStoreId=store, GroupId=group["GroupId"], MemberId={"UserId": user["UserId"]})
    assert ids.get_group_membership_id(IdentityStoreId=store, GroupId=group["GroupId"], MemberId={"UserId": user["UserId"]})["MembershipId"] == membership["MembershipId"]
    d = ids.describe_group_membership(IdentityStoreId=store, MembershipId=membership["MembershipId"])
    assert d["GroupId"] == group["GroupId"] and d["MemberId"] == {"UserId": user["UserId"]}
    results = ids.is_member_in_groups(IdentityStoreId=store, MemberId={"UserId": user["UserId"]}, GroupIds=[group["GroupId"]])["Results"]
    assert results == [{"GroupId": group["GroupId"], "MemberId": {"UserId": user["UserId"]}, "MembershipExists": True}]
    other = ids.create_group(IdentityStoreId=store, DisplayName=unique_name("Others"))
    assert ids.get_group_id(IdentityStoreId=store, AlternateIdentifier={"UniqueAttribute": {"AttributePath": "displayName", "AttributeValue": group_name.lower()}})["GroupId"] == group["GroupId"]
    results = ids.is_member_in_groups(IdentityStoreId=store, MemberId={"UserId": user["UserId"]}, GroupIds=[other["GroupId"], group["GroupId"]])["Results"]
    assert [r["MembershipExists"] for r in results] == [False, True]
    with expect_error("ResourceNotFoundException", 400) as e:
        ids.get_group_membership_id(IdentityStoreId=store, GroupId=other["GroupId"], MemberId={"UserId": user["UserId"]})
    assert e.response.get("ResourceType") == "GROUP_MEMBERSHIP"
    assert len(ids.list_group_memberships_for_member(IdentityStoreId=store, MemberId={"UserId": user["UserId"]})["GroupMemberships"]) == 1
    assert len(ids.list_group_memberships(IdentityStoreId=store, GroupId=group["GroupId"])["GroupMemberships"]) == 1

    ids.delete_user(IdentityStoreId=store, UserId=user["UserId"])
    assert ids.list_group_memberships(IdentityStoreId=store, GroupId=group["GroupId"])["GroupMemberships"] == []
    with expect_error("ResourceNotFoundException", 400) as e:
        ids.get_user_id(IdentityStoreId=store, AlternateIdentifier={"UniqueAttribute": {"AttributePath": "userName", "AttributeValue": name}})
    assert e.response.get("ResourceType") == "USER"
    with expect_error("ResourceNotFoundException", 400) as e:
        ids.describe_user(IdentityStoreId=store, UserId=user["UserId"])
    assert e.response.get("ResourceType") == "USER"
    with expect_error("ResourceNotFoundException", 400) as e:
        ids.list_users(IdentityStoreId="d-0000000000")
    assert e.message == "IdentityStore not present for IdentityStoreId: d-0000000000" and e.response.get("ResourceType") == "IDENTITY_STORE"
    with expect_error("ValidationException", 400) as e:
        ids.list_users(IdentityStoreId="not-a-store")
    assert e.message.startswith("1 validation error detected: Value 'not-a-store' at 'identityStoreId' failed to satisfy constraint")


def test_permission_sets_assignments_and_provisioning(sso):
    org, admin, instance = sso
    ids = client(org.srv, "identitystore")
    store = store_of(admin, instance)
    account_id = org.create_account(unique_name("sandbox"))
    user = ids.create_user(IdentityStoreId=store, UserName=unique_name("jane"), DisplayName="Jane", Name={"GivenName": "Jane", "FamilyName": "Roe"})["UserId"]
    group = ids.create_group(IdentityStoreId=store, DisplayName=unique_name("Admins"))["GroupId"]
    ids.create_group_membership(IdentityStoreId=store, GroupId=group, MemberId={"UserId": user})

    ps_name = "AdministratorAccess"
    ps = admin.create_permission_set(InstanceArn=instance, Name=ps_name, Description="admins", SessionDuration="PT1H")["PermissionSet"]
    arn = ps["PermissionSetArn"]
    assert arn.startswith(instance.replace(":instance/", ":permissionSet/") + "/ps-")
    assert ps["Name"] == ps_name and ps["SessionDuration"] == "PT1H" and ps["Description"] == "admins"
    with expect_error("ConflictException", 400) as e:
        admin.create_permission_set(InstanceArn=instance, Name=ps_name)
    assert e.message == f"PermissionSet with name {ps_name} already exists."
    with expect_error("ValidationException", 400):
        admin.create_permission_set(InstanceArn=instance, Name="TooLong", SessionDuration="PT13H")
    admin.attach_managed_policy_to_permission_set(InstanceArn=instance, PermissionSetArn=arn, ManagedPolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    with expect_error("ConflictException", 400):
        admin.attach_managed_policy_to_permission_set(InstanceArn=instance, PermissionSetArn=arn, ManagedPolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    assert admin.list_managed_policies_in_permission_set(InstanceArn=instance, PermissionSetArn=arn)["AttachedManagedPolicies"] == [
        {"Name": "AdministratorAccess", "Arn": "arn:aws:iam::aws:policy/AdministratorAccess"}]
    inline = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "iam:CreateUser", "Resource": "*"}]})
    admin.put_inline_policy_to_permission_set(InstanceArn=instance, PermissionSetArn=arn, InlinePolicy=inline)
    assert admin.get_inline_policy_for_permission_set(InstanceArn=instance, PermissionSetArn=arn)["InlinePolicy"] == inline
    assert admin.list_permission_sets_provisioned_to_account(InstanceArn=instance, AccountId=account_id).get("PermissionSets") is None

    first = admin.create_account_assignment(InstanceArn=instance, TargetId=account_id, TargetType="AWS_ACCOUNT", PermissionSetArn=arn, PrincipalType="GROUP", PrincipalId=group)["AccountAssignmentCreationStatus"]
    assert first["Status"] == "IN_PROGRESS" and len(first["RequestId"]) == 36
    done = admin.describe_account_assignment_creation_status(InstanceArn=instance, AccountAssignmentCreationRequestId=first["RequestId"])["AccountAssignmentCreationStatus"]
    assert done["Status"] == "SUCCEEDED" and done["TargetId"] == account_id and done["PrincipalId"] == group
    assert admin.list_account_assignments(InstanceArn=instance, AccountId=account_id, PermissionSetArn=arn)["AccountAssignments"] == [
        {"AccountId": account_id, "PermissionSetArn": arn, "PrincipalType": "GROUP", "PrincipalId": group}]
    assert admin.list_permission_sets_provisioned_to_account(InstanceArn=instance, AccountId=account_id)["PermissionSets"] == [arn]
    assert admin.list_accounts_for_provisioned_permission_set(InstanceArn=instance, PermissionSetArn=arn)["AccountIds"] == [account_id]

    # What provisioning made in the member account.
    member_iam = org.member_session(account_id)
    roles = [r for r in member_iam.list_roles(PathPrefix="/aws-reserved/sso.amazonaws.com/")["Roles"]]
    assert len(roles) == 1
    role = roles[0]
    assert role["RoleName"].startswith(f"AWSReservedSSO_{ps_name}_") and len(role["RoleName"]) == len(f"AWSReservedSSO_{ps_name}_") + 16
    assert role["Path"] == "/aws-reserved/sso.amazonaws.com/" and role["MaxSessionDuration"] == 43200
    providers = [p["Arn"] for p in member_iam.list_saml_providers()["SAMLProviderList"]]
    assert len(providers) == 1 and providers[0].split("/")[-1].startswith("AWSSSO_") and providers[0].endswith("_DO_NOT_DELETE")
    trust = role["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Federated": providers[0]}
    assert trust["Statement"][0]["Action"] == ["sts:AssumeRoleWithSAML", "sts:TagSession"]
    attached = member_iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == ["arn:aws:iam::aws:policy/AdministratorAccess"]
    assert member_iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"] == ["AwsSSOInlinePolicy"]
    for call in (lambda: member_iam.delete_role(RoleName=role["RoleName"]),
                 lambda: member_iam.detach_role_policy(RoleName=role["RoleName"], PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess"),
                 lambda: member_iam.put_role_policy(RoleName=role["RoleName"], PolicyName="x", PolicyDocument=inline),
                 lambda: member_iam.tag_role(RoleName=role["RoleName"], Tags=[{"Key": "k", "Value": "v"}]),
                 lambda: member_iam.update_role_description(RoleName=role["RoleName"], Description="mine now")):
        with expect_error("UnmodifiableEntity", 400) as e:
            call()
        assert e.message == f"Cannot perform the operation on the protected role '{role['RoleName']}' - this role is only modifiable by AWS"

    # Re-provisioning brings the role up to date.
    admin.delete_inline_policy_from_permission_set(InstanceArn=instance, PermissionSetArn=arn)
    prov = admin.provision_permission_set(InstanceArn=instance, PermissionSetArn=arn, TargetType="ALL_PROVISIONED_ACCOUNTS")["PermissionSetProvisioningStatus"]
    assert prov["Status"] == "IN_PROGRESS"
    assert admin.describe_permission_set_provisioning_status(InstanceArn=instance, ProvisionPermissionSetRequestId=prov["RequestId"])["PermissionSetProvisioningStatus"]["Status"] == "SUCCEEDED"
    assert member_iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"] == []

    with expect_error("ConflictException", 400):
        admin.delete_permission_set(InstanceArn=instance, PermissionSetArn=arn)
    gone = admin.delete_account_assignment(InstanceArn=instance, TargetId=account_id, TargetType="AWS_ACCOUNT", PermissionSetArn=arn, PrincipalType="GROUP", PrincipalId=group)["AccountAssignmentDeletionStatus"]
    assert admin.describe_account_assignment_deletion_status(InstanceArn=instance, AccountAssignmentDeletionRequestId=gone["RequestId"])["AccountAssignmentDeletionStatus"]["Status"] == "SUCCEEDED"
    assert member_iam.list_roles(PathPrefix="/aws-reserved/")["Roles"] == [], "the role goes with the last assignment"
    admin.delete_permission_set(InstanceArn=instance, PermissionSetArn=arn)
    with expect_error("ResourceNotFoundException", 400):
        admin.describe_permission_set(InstanceArn=instance, PermissionSetArn=arn)


def test_member_accounts_do_not_see_the_instance(sso):
    org, admin, instance = sso
    account_id = org.create_account(unique_name("other"))
    member_admin = org.member_session(account_id, "sso-admin")
    with expect_error("AccessDeniedException", 400):
        member_admin.describe_instance(InstanceArn=instance)
    assert member_admin.list_instances()["Instances"] == []


def test_an_account_that_leaves_keeps_nothing_of_identity_center(sso):
    org, admin, instance = sso
    ids = client(org.srv, "identitystore")
    store = store_of(admin, instance)
    account_id = org.create_account(unique_name("leaver"))
    group = ids.create_group(IdentityStoreId=store, DisplayName=unique_name("Leavers"))["GroupId"]
    ps = admin.create_permission_set(InstanceArn=instance, Name=unique_name("Ps")[:32])["PermissionSet"]["PermissionSetArn"]
    admin.attach_managed_policy_to_permission_set(InstanceArn=instance, PermissionSetArn=ps, ManagedPolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    admin.create_account_assignment(InstanceArn=instance, TargetId=account_id, TargetType="AWS_ACCOUNT", PermissionSetArn=ps, PrincipalType="GROUP", PrincipalId=group)
    member_iam = org.member_session(account_id)
    assert len(member_iam.list_roles(PathPrefix="/aws-reserved/")["Roles"]) == 1
    org.orgs.remove_account_from_organization(AccountId=account_id)
    assert member_iam.list_roles(PathPrefix="/aws-reserved/")["Roles"] == []
    assert member_iam.list_saml_providers()["SAMLProviderList"] == []
    assert admin.list_account_assignments(InstanceArn=instance, AccountId=account_id, PermissionSetArn=ps)["AccountAssignments"] == []
    admin.provision_permission_set(InstanceArn=instance, PermissionSetArn=ps, TargetType="ALL_PROVISIONED_ACCOUNTS")
    assert member_iam.list_roles(PathPrefix="/aws-reserved/")["Roles"] == []
    with expect_error("ValidationException", 400):
        admin.create_account_assignment(InstanceArn=instance, TargetId=account_id, TargetType="AWS_ACCOUNT", PermissionSetArn=ps, PrincipalType="GROUP", PrincipalId=group)


def test_tags_of_the_instance_and_permission_sets(sso):
    org, admin, instance = sso
    ps = admin.create_permission_set(InstanceArn=instance, Name=unique_name("Tagged")[:32], Tags=[{"Key": "team", "Value": "blue"}])["PermissionSet"]["PermissionSetArn"]
    assert admin.list_tags_for_resource(InstanceArn=instance, ResourceArn=ps)["Tags"] == [{"Key": "team", "Value": "blue"}]
    admin.tag_resource(ResourceArn=ps, Tags=[{"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "red"}])
    admin.untag_resource(InstanceArn=instance, ResourceArn=ps, TagKeys=["env"])
    assert admin.list_tags_for_resource(InstanceArn=instance, ResourceArn=ps)["Tags"] == [{"Key": "team", "Value": "red"}]
    admin.tag_resource(InstanceArn=instance, ResourceArn=instance, Tags=[{"Key": "owner", "Value": "platform"}])
    assert {"Key": "owner", "Value": "platform"} in admin.list_tags_for_resource(InstanceArn=instance, ResourceArn=instance)["Tags"]


def test_permission_set_policies_boundaries_updates_and_request_lists(sso):
    org, admin, instance = sso
    ids = client(org.srv, "identitystore")
    store = store_of(admin, instance)
    account_id = org.create_account(unique_name("policies"))
    user = ids.create_user(IdentityStoreId=store, UserName=unique_name("ops"), DisplayName="Ops", Name={"GivenName": "O", "FamilyName": "P"})["UserId"]
    arn = admin.create_permission_set(InstanceArn=instance, Name=unique_name("Ops"))["PermissionSet"]["PermissionSetArn"]

    # UpdatePermissionSet: description, session duration, relay state.
    admin.update_permission_set(InstanceArn=instance, PermissionSetArn=arn, Description="operators", SessionDuration="PT4H", RelayState="https://console.aws.amazon.com/ec2/")
    described = admin.describe_permission_set(InstanceArn=instance, PermissionSetArn=arn)["PermissionSet"]
    assert described["Description"] == "operators" and described["SessionDuration"] == "PT4H" and described["RelayState"] == "https://console.aws.amazon.com/ec2/"
    with expect_error("ValidationException", 400):
        admin.update_permission_set(InstanceArn=instance, PermissionSetArn=arn, SessionDuration="PT20M")

    # AWS-managed policies: detach.
    admin.attach_managed_policy_to_permission_set(InstanceArn=instance, PermissionSetArn=arn, ManagedPolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    admin.detach_managed_policy_from_permission_set(InstanceArn=instance, PermissionSetArn=arn, ManagedPolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    assert admin.list_managed_policies_in_permission_set(InstanceArn=instance, PermissionSetArn=arn)["AttachedManagedPolicies"] == []
    with expect_error("ResourceNotFoundException", 400):
        admin.detach_managed_policy_from_permission_set(InstanceArn=instance, PermissionSetArn=arn, ManagedPolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")

    # Customer-managed policy references.
    ref = {"Name": "OpsPolicy", "Path": "/ops/"}
    admin.attach_customer_managed_policy_reference_to_permission_set(InstanceArn=instance, PermissionSetArn=arn, CustomerManagedPolicyReference=ref)
    with expect_error("ConflictException", 400):
        admin.attach_customer_managed_policy_reference_to_permission_set(InstanceArn=instance, PermissionSetArn=arn, CustomerManagedPolicyReference=ref)
    assert admin.list_customer_managed_policy_references_in_permission_set(InstanceArn=instance, PermissionSetArn=arn)["CustomerManagedPolicyReferences"] == [ref]
    admin.detach_customer_managed_policy_reference_from_permission_set(InstanceArn=instance, PermissionSetArn=arn, CustomerManagedPolicyReference=ref)
    assert admin.list_customer_managed_policy_references_in_permission_set(InstanceArn=instance, PermissionSetArn=arn)["CustomerManagedPolicyReferences"] == []

    # A permissions boundary.
    with expect_error("ResourceNotFoundException", 400):
        admin.get_permissions_boundary_for_permission_set(InstanceArn=instance, PermissionSetArn=arn)
    boundary = {"ManagedPolicyArn": "arn:aws:iam::aws:policy/PowerUserAccess"}
    admin.put_permissions_boundary_to_permission_set(InstanceArn=instance, PermissionSetArn=arn, PermissionsBoundary=boundary)
    assert admin.get_permissions_boundary_for_permission_set(InstanceArn=instance, PermissionSetArn=arn)["PermissionsBoundary"] == boundary
    admin.attach_managed_policy_to_permission_set(InstanceArn=instance, PermissionSetArn=arn, ManagedPolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")

    # Assigned to a user: the role in the account has the boundary.
    created = admin.create_account_assignment(InstanceArn=instance, TargetId=account_id, TargetType="AWS_ACCOUNT", PermissionSetArn=arn, PrincipalType="USER", PrincipalId=user)["AccountAssignmentCreationStatus"]
    role = org.member_session(account_id).list_roles(PathPrefix="/aws-reserved/sso.amazonaws.com/")["Roles"][0]["RoleName"]
    member_role = org.member_session(account_id).get_role(RoleName=role)["Role"]
    assert member_role["PermissionsBoundary"]["PermissionsBoundaryArn"] == "arn:aws:iam::aws:policy/PowerUserAccess"
    assert member_role["MaxSessionDuration"] == 43200
    mine = admin.list_account_assignments_for_principal(InstanceArn=instance, PrincipalId=user, PrincipalType="USER")["AccountAssignments"]
    assert mine == [{"AccountId": account_id, "PermissionSetArn": arn, "PrincipalId": user, "PrincipalType": "USER"}]
    creations = admin.list_account_assignment_creation_status(InstanceArn=instance)["AccountAssignmentsCreationStatus"]
    assert any(c["RequestId"] == created["RequestId"] and c["Status"] == "SUCCEEDED" for c in creations)
    assert all(c["Status"] == "SUCCEEDED" for c in admin.list_account_assignment_creation_status(InstanceArn=instance, Filter={"Status": "SUCCEEDED"})["AccountAssignmentsCreationStatus"])

    admin.delete_permissions_boundary_from_permission_set(InstanceArn=instance, PermissionSetArn=arn)
    prov = admin.provision_permission_set(InstanceArn=instance, PermissionSetArn=arn, TargetType="AWS_ACCOUNT", TargetId=account_id)["PermissionSetProvisioningStatus"]
    provisioned = admin.list_permission_set_provisioning_status(InstanceArn=instance)["PermissionSetsProvisioningStatus"]
    assert any(p["RequestId"] == prov["RequestId"] and p["Status"] == "SUCCEEDED" for p in provisioned)
    assert "PermissionsBoundary" not in org.member_session(account_id).get_role(RoleName=role)["Role"]

    deleted = admin.delete_account_assignment(InstanceArn=instance, TargetId=account_id, TargetType="AWS_ACCOUNT", PermissionSetArn=arn, PrincipalType="USER", PrincipalId=user)["AccountAssignmentDeletionStatus"]
    deletions = admin.list_account_assignment_deletion_status(InstanceArn=instance)["AccountAssignmentsDeletionStatus"]
    assert any(d["RequestId"] == deleted["RequestId"] for d in deletions)
    assert admin.list_account_assignments_for_principal(InstanceArn=instance, PrincipalId=user, PrincipalType="USER")["AccountAssignments"] == []

    # DeleteGroupMembership.
    group = ids.create_group(IdentityStoreId=store, DisplayName=unique_name("Ops"))["GroupId"]
    membership = ids.create_group_membership(IdentityStoreId=store, GroupId=group, MemberId={"UserId": user})["MembershipId"]
    ids.delete_group_membership(IdentityStoreId=store, MembershipId=membership)
    with expect_error("ResourceNotFoundException", 400) as e:
        ids.delete_group_membership(IdentityStoreId=store, MembershipId=membership)
    assert e.response.get("ResourceType") == "GROUP_MEMBERSHIP"
