"""Instance profiles with boto3: the shapes and messages AWS recorded (LocalStack's
snapshots of real AWS), the one-role quota, delete conflicts both ways, tags, pagination,
the account summary and authorization details, and iam:PassRole on AddRoleToInstanceProfile."""

from __future__ import annotations

import json

import pytest

from compat_helpers import expect_error

TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


@pytest.fixture
def role(iam, uniq, cleanup):
    name = uniq("ip-role")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST, Description="for EC2", Tags=[{"Key": "k", "Value": "v"}])
    cleanup(lambda: iam.delete_role(RoleName=name))
    return name


def test_create_get_list_and_delete(iam, uniq, account_id, cleanup):
    name = uniq("profile")
    created = iam.create_instance_profile(InstanceProfileName=name, Path="/app/")["InstanceProfile"]
    assert created["InstanceProfileName"] == name and created["Path"] == "/app/"
    assert created["Arn"] == f"arn:aws:iam::{account_id}:instance-profile/app/{name}"
    assert created["InstanceProfileId"].startswith("AIPA") and len(created["InstanceProfileId"]) == 21
    assert created["Roles"] == [] and "Tags" not in created
    with expect_error("EntityAlreadyExists", 409) as e:
        iam.create_instance_profile(InstanceProfileName=name.upper())
    assert e.message == f"Instance Profile {name.upper()} already exists."

    got = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    assert got["InstanceProfileId"] == created["InstanceProfileId"] and got["Tags"] == []
    listed = iam.list_instance_profiles(PathPrefix="/app/")["InstanceProfiles"]
    assert [p["InstanceProfileName"] for p in listed] == [name] and "Tags" not in listed[0]
    assert iam.list_instance_profiles(PathPrefix="/nothing/")["InstanceProfiles"] == []

    iam.delete_instance_profile(InstanceProfileName=name)
    for call in (lambda: iam.get_instance_profile(InstanceProfileName=name),
                 lambda: iam.delete_instance_profile(InstanceProfileName=name),
                 lambda: iam.list_instance_profile_tags(InstanceProfileName=name)):
        with expect_error("NoSuchEntity", 404) as e:
            call()
        assert e.message == f"Instance Profile {name} cannot be found."


def test_one_role_per_profile_and_delete_conflicts(iam, uniq, role, account_id, cleanup):
    name = uniq("profile")
    iam.create_instance_profile(InstanceProfileName=name)
    cleanup(lambda: iam.delete_instance_profile(InstanceProfileName=name))
    with expect_error("NoSuchEntity", 404) as e:
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName="no-such-role")
    assert e.message == "The role with name no-such-role cannot be found."

    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=role)
    cleanup(lambda: iam.remove_role_from_instance_profile(InstanceProfileName=name, RoleName=role))
    roles = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Roles"]
    assert [r["RoleName"] for r in roles] == [role]
    # The role inside a profile carries only the head of Role.
    assert set(roles[0]) == {"Path", "RoleName", "RoleId", "Arn", "CreateDate", "AssumeRolePolicyDocument"}
    for again in (role,):
        with expect_error("LimitExceeded", 409) as e:
            iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=again)
        assert e.message == "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1"

    for_role = iam.list_instance_profiles_for_role(RoleName=role)["InstanceProfiles"]
    assert [p["InstanceProfileName"] for p in for_role] == [name]
    with expect_error("DeleteConflict", 409) as e:
        iam.delete_role(RoleName=role)
    assert e.message == "Cannot delete entity, must remove roles from instance profile first."
    with expect_error("DeleteConflict", 409) as e:
        iam.delete_instance_profile(InstanceProfileName=name)
    assert e.message == "Cannot delete entity, must remove roles from instance profile first."

    details = iam.get_account_authorization_details(Filter=["Role"])["RoleDetailList"]
    mine = next(r for r in details if r["RoleName"] == role)
    assert [p["InstanceProfileName"] for p in mine["InstanceProfileList"]] == [name]

    iam.remove_role_from_instance_profile(InstanceProfileName=name, RoleName=role)
    with expect_error("NoSuchEntity", 404) as e:
        iam.remove_role_from_instance_profile(InstanceProfileName=name, RoleName=role)
    assert e.message == f"Role {role} in Instance Profile {name} cannot be found."
    assert iam.list_instance_profiles_for_role(RoleName=role)["InstanceProfiles"] == []
    with expect_error("NoSuchEntity", 404) as e:
        iam.list_instance_profiles_for_role(RoleName="no-such-role")
    assert e.message == "The role with name no-such-role cannot be found."


def test_tags_pagination_and_the_account_summary(iam, uniq, cleanup):
    before = iam.get_account_summary()["SummaryMap"]
    assert before["InstanceProfilesQuota"] == 1000
    prefix = f"/{uniq('page')}/"
    names = sorted(uniq(f"p{i}") for i in range(3))
    for n in names:
        iam.create_instance_profile(InstanceProfileName=n, Path=prefix, Tags=[{"Key": "team", "Value": "a"}])
        cleanup(lambda n=n: iam.delete_instance_profile(InstanceProfileName=n))
    assert iam.get_account_summary()["SummaryMap"]["InstanceProfiles"] == before["InstanceProfiles"] + 3

    first = iam.list_instance_profiles(PathPrefix=prefix, MaxItems=2)
    assert first["IsTruncated"] and len(first["InstanceProfiles"]) == 2
    rest = iam.list_instance_profiles(PathPrefix=prefix, Marker=first["Marker"])
    assert [p["InstanceProfileName"] for p in first["InstanceProfiles"] + rest["InstanceProfiles"]] == names

    n = names[0]
    created_with_tags = iam.get_instance_profile(InstanceProfileName=n)["InstanceProfile"]
    assert created_with_tags["Tags"] == [{"Key": "team", "Value": "a"}]
    iam.tag_instance_profile(InstanceProfileName=n, Tags=[{"Key": "TEAM", "Value": "b"}, {"Key": "env", "Value": "dev"}])
    # Keys compare ignoring case; the new spelling replaces the old (as AWS does for roles).
    assert iam.list_instance_profile_tags(InstanceProfileName=n)["Tags"] == [
        {"Key": "TEAM", "Value": "b"}, {"Key": "env", "Value": "dev"}]
    iam.untag_instance_profile(InstanceProfileName=n, TagKeys=["team", "absent"])
    assert iam.list_instance_profile_tags(InstanceProfileName=n)["Tags"] == [{"Key": "env", "Value": "dev"}]
    with expect_error("InvalidInput", 400):
        iam.tag_instance_profile(InstanceProfileName=n, Tags=[{"Key": "aws:reserved", "Value": "x"}])


def test_adding_a_role_needs_pass_role_on_it(server, iam, make_iam, uniq, role, cleanup):
    user = uniq("ip-user")
    iam.create_user(UserName=user)
    cleanup(lambda: iam.delete_user(UserName=user))
    allow = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile"], "Resource": "*"}]}
    iam.put_user_policy(UserName=user, PolicyName="ip", PolicyDocument=json.dumps(allow))
    cleanup(lambda: iam.delete_user_policy(UserName=user, PolicyName="ip"))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    cleanup(lambda: iam.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"]))
    theirs = make_iam(key["AccessKeyId"], key["SecretAccessKey"])
    name = uniq("profile")
    iam.create_instance_profile(InstanceProfileName=name)
    cleanup(lambda: iam.delete_instance_profile(InstanceProfileName=name))

    with expect_error("AccessDenied", 403) as e:
        theirs.add_role_to_instance_profile(InstanceProfileName=name, RoleName=role)
    assert "iam:PassRole" in e.message
    assert iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Roles"] == []

    allow["Statement"].append({"Effect": "Allow", "Action": "iam:PassRole", "Resource": f"arn:aws:iam::{server.account_id}:role/{role}"})
    iam.put_user_policy(UserName=user, PolicyName="ip", PolicyDocument=json.dumps(allow))
    theirs.add_role_to_instance_profile(InstanceProfileName=name, RoleName=role)
    theirs.remove_role_from_instance_profile(InstanceProfileName=name, RoleName=role)
