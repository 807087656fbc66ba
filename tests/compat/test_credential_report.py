"""The credential report: AWS's exact CSV, compared column by column with the account."""

from __future__ import annotations

import csv
import datetime as dt
import io

import requests

import totp
from compat_helpers import expect_error

HEADER = ("user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
          "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
          "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
          "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
          "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
          "cert_1_last_rotated,cert_2_active,cert_2_last_rotated")


def advance(srv, seconds):
    r = requests.post(f"{srv.endpoint}/_portcullis/clock", json={"advance_seconds": seconds}, timeout=10)
    assert r.status_code == 200, r.text


def report(iam):
    out = iam.get_credential_report()
    assert out["ReportFormat"] == "text/csv"
    text = out["Content"].decode()
    assert text.splitlines()[0] == HEADER
    return {row["user"]: row for row in csv.DictReader(io.StringIO(text))}, out


def iso_ok(value):
    assert value.endswith("+00:00"), value
    return dt.datetime.fromisoformat(value)


def test_credential_report(server_factory):
    srv = server_factory()
    iam = srv.client()
    with expect_error("ReportNotPresent", 410):
        iam.get_credential_report()

    iam.update_account_password_policy(MaxPasswordAge=30)
    iam.create_user(UserName="carol")
    iam.create_login_profile(UserName="carol", Password="Carol!Passw0rd")
    iam.create_access_key(UserName="carol")
    k2 = iam.create_access_key(UserName="carol")["AccessKey"]
    iam.update_access_key(UserName="carol", AccessKeyId=k2["AccessKeyId"], Status="Inactive")
    dev = iam.create_virtual_mfa_device(VirtualMFADeviceName="carol")["VirtualMFADevice"]
    seed, step = dev["Base32StringSeed"], totp.current_step()
    iam.enable_mfa_device(UserName="carol", SerialNumber=dev["SerialNumber"],
                          AuthenticationCode1=totp.code(seed, step - 1), AuthenticationCode2=totp.code(seed, step))
    iam.create_user(UserName="dave")

    assert iam.generate_credential_report()["State"] == "STARTED"
    assert iam.generate_credential_report()["State"] == "COMPLETE"
    rows, out = report(iam)
    assert list(rows)[0] == "<root_account>"
    assert sorted(list(rows)[1:]) == ["John", "carol", "dave"]

    root = rows["<root_account>"]
    assert root["arn"] == f"arn:aws:iam::{srv.account_id}:root"
    iso_ok(root["user_creation_time"])
    assert (root["password_enabled"], root["password_last_changed"], root["password_next_rotation"]) == \
        ("not_supported", "not_supported", "not_supported")
    assert root["mfa_active"] == "false" and root["access_key_1_active"] == "false"

    john = rows["John"]
    assert john["password_enabled"] == "false" and john["password_last_used"] == "N/A"
    assert john["access_key_1_active"] == "true"
    iso_ok(john["access_key_1_last_rotated"])
    iso_ok(john["access_key_1_last_used_date"])  # the admin key signed these very calls
    assert john["access_key_1_last_used_service"] == "iam"
    assert john["access_key_1_last_used_region"] == "us-east-1"
    assert john["access_key_2_active"] == "false" and john["access_key_2_last_rotated"] == "N/A"

    carol = rows["carol"]
    assert carol["arn"] == f"arn:aws:iam::{srv.account_id}:user/carol"
    assert carol["password_enabled"] == "true" and carol["password_last_used"] == "no_information"
    changed = iso_ok(carol["password_last_changed"])
    assert iso_ok(carol["password_next_rotation"]) - changed == dt.timedelta(days=30)
    assert carol["mfa_active"] == "true"
    # Both keys were made in the same second, so either may be listed first.
    assert {carol["access_key_1_active"], carol["access_key_2_active"]} == {"true", "false"}
    assert carol["access_key_1_last_used_date"] == carol["access_key_2_last_used_date"] == "N/A"
    assert carol["access_key_1_last_used_service"] == "N/A"
    assert (carol["cert_1_active"], carol["cert_1_last_rotated"], carol["cert_2_active"],
            carol["cert_2_last_rotated"]) == ("false", "N/A", "false", "N/A")

    dave = rows["dave"]
    assert (dave["password_enabled"], dave["password_last_changed"], dave["password_next_rotation"],
            dave["mfa_active"]) == ("false", "N/A", "N/A", "false")

    # Four hours later the report has expired, and a new one is made on request.
    iam.delete_access_key(UserName="carol", AccessKeyId=k2["AccessKeyId"])
    advance(srv, 4 * 3600 + 1)
    with expect_error("ReportExpired", 410):
        iam.get_credential_report()
    assert iam.generate_credential_report()["State"] == "STARTED"
    rows, later = report(iam)
    assert later["GeneratedTime"] > out["GeneratedTime"]
    assert rows["carol"]["access_key_1_active"] == "true" and rows["carol"]["access_key_1_last_rotated"] != "N/A"
    assert rows["carol"]["access_key_2_active"] == "false" and rows["carol"]["access_key_2_last_rotated"] == "N/A"
