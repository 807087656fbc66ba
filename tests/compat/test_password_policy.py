"""The account password policy: every field, enforcement with the rule that failed, reuse
prevention, AllowUsersToChangePassword. Each test uses a private server, since the policy
is account-wide."""

from __future__ import annotations

import pytest

from compat_helpers import expect_error


@pytest.fixture
def private(server_factory):
    srv = server_factory()
    return srv, srv.client()


def test_no_policy_is_no_such_entity(private):
    srv, iam = private
    with expect_error("NoSuchEntity", 404) as err:
        iam.get_account_password_policy()
    assert err.message == f"The Password Policy with domain name {srv.account_id} cannot be found."
    with expect_error("NoSuchEntity", 404):
        iam.delete_account_password_policy()


def test_every_field_round_trips_and_defaults_apply(private):
    _, iam = private
    iam.update_account_password_policy(
        MinimumPasswordLength=14, RequireSymbols=True, RequireNumbers=True, RequireUppercaseCharacters=True,
        RequireLowercaseCharacters=True, AllowUsersToChangePassword=True, MaxPasswordAge=90,
        PasswordReusePrevention=24, HardExpiry=True)
    assert iam.get_account_password_policy()["PasswordPolicy"] == {
        "MinimumPasswordLength": 14, "RequireSymbols": True, "RequireNumbers": True,
        "RequireUppercaseCharacters": True, "RequireLowercaseCharacters": True,
        "AllowUsersToChangePassword": True, "ExpirePasswords": True, "MaxPasswordAge": 90,
        "PasswordReusePrevention": 24, "HardExpiry": True}
    # AWS's defaults: a minimum length of 6, and no HardExpiry or MaxPasswordAge unless set.
    iam.update_account_password_policy()
    assert iam.get_account_password_policy()["PasswordPolicy"] == {
        "MinimumPasswordLength": 6, "RequireSymbols": False, "RequireNumbers": False,
        "RequireUppercaseCharacters": False, "RequireLowercaseCharacters": False,
        "AllowUsersToChangePassword": False, "ExpirePasswords": False}
    iam.delete_account_password_policy()
    with expect_error("NoSuchEntity", 404):
        iam.get_account_password_policy()
    with expect_error("NoSuchEntity", 404) as err:
        iam.delete_account_password_policy()
    assert err.message == "The account policy with name PasswordPolicy cannot be found."


@pytest.mark.parametrize("field,value", [
    ("MinimumPasswordLength", 129), ("PasswordReusePrevention", 25),
    ("MaxPasswordAge", 1096)])
def test_out_of_range_values(private, field, value):
    _, iam = private
    with expect_error("ValidationError", 400):
        iam.update_account_password_policy(**{field: value})


def test_each_rule_is_enforced_and_named(private):
    _, iam = private
    iam.update_account_password_policy(MinimumPasswordLength=12, RequireSymbols=True, RequireNumbers=True,
                                       RequireUppercaseCharacters=True, RequireLowercaseCharacters=True)
    iam.create_user(UserName="pw")
    cases = {
        "Aa1!": "Password should have a minimum length of 12",
        "aaaaaaaaaa1!": "Password should have at least one uppercase letter",
        "AAAAAAAAAA1!": "Password should have at least one lowercase letter",
        "AAAAAaaaaa!!": "Password should have at least one number",
        "AAAAAaaaaa11": "Password should have at least one symbol",
    }
    for password, message in cases.items():
        with expect_error("PasswordPolicyViolation", 400) as err:
            iam.create_login_profile(UserName="pw", Password=password)
        assert err.message == message
    iam.create_login_profile(UserName="pw", Password="AAAAAaaaa11!")
    with expect_error("PasswordPolicyViolation", 400):
        iam.update_login_profile(UserName="pw", Password="weak")


def test_reuse_prevention_and_users_changing_their_own_password(private):
    srv, iam = private
    iam.update_account_password_policy(PasswordReusePrevention=2, AllowUsersToChangePassword=True)
    iam.create_user(UserName="alice")
    iam.create_login_profile(UserName="alice", Password="First!Passw0rd")
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    alice = srv.client(key["AccessKeyId"], key["SecretAccessKey"])
    # No policy grants alice iam:ChangePassword: AllowUsersToChangePassword does.
    alice.change_password(OldPassword="First!Passw0rd", NewPassword="Second!Passw0rd")
    with expect_error("PasswordPolicyViolation", 400) as err:
        alice.change_password(OldPassword="Second!Passw0rd", NewPassword="First!Passw0rd")
    assert err.message == "Password should not be one of your last 2 passwords"
    alice.change_password(OldPassword="Second!Passw0rd", NewPassword="Third!Passw0rd")
    # Two changes later the first password may come back.
    alice.change_password(OldPassword="Third!Passw0rd", NewPassword="First!Passw0rd")
    iam.update_account_password_policy(AllowUsersToChangePassword=False)
    with expect_error("AccessDenied", 403):
        alice.change_password(OldPassword="First!Passw0rd", NewPassword="Fourth!Passw0rd")
