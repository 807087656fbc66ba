"""The Account Management API with boto3 (REST-JSON): alternate contacts, contact
information, the account's name, and Regions: opt-in Regions enabled and disabled through
ENABLING and DISABLING, default Regions that cannot change, and STS refusing keys in an
opt-in Region the account has not enabled. From the management account of an organization,
the same for member accounts by AccountId once trusted access is on. In a private server."""

from __future__ import annotations

import boto3
import pytest
import requests

from compat_helpers import expect_error, unique_name
from conftest import start_server
from test_organizations import Org, client

CONTACT = {"Name": "Ops Team", "Title": "On call", "EmailAddress": "ops@example.com", "PhoneNumber": "+1 555 0100"}


@pytest.fixture(scope="module")
def org(backend, tmp_path_factory):
    srv = start_server(backend, tmp_path_factory.mktemp(f"account-{backend}"))
    try:
        yield Org(srv)
    finally:
        srv.teardown()


def advance(srv, seconds):
    r = requests.post(f"{srv.endpoint}/_portcullis/clock", json={"advance_seconds": seconds}, timeout=10)
    assert r.status_code == 200, r.text


def test_alternate_contacts(org):
    account = client(org.srv, "account")
    with expect_error("ResourceNotFoundException", 404) as e:
        account.get_alternate_contact(AlternateContactType="SECURITY")
    assert e.message == "No contact of the inputted alternate contact type found."
    for kind in ("BILLING", "OPERATIONS", "SECURITY"):
        account.put_alternate_contact(AlternateContactType=kind, **CONTACT)
    got = account.get_alternate_contact(AlternateContactType="SECURITY")["AlternateContact"]
    assert got == {"AlternateContactType": "SECURITY", **CONTACT}
    account.put_alternate_contact(AlternateContactType="SECURITY", **{**CONTACT, "Name": "Security"})
    assert account.get_alternate_contact(AlternateContactType="SECURITY")["AlternateContact"]["Name"] == "Security"
    account.delete_alternate_contact(AlternateContactType="BILLING")
    with expect_error("ResourceNotFoundException", 404):
        account.get_alternate_contact(AlternateContactType="BILLING")
    with expect_error("ResourceNotFoundException", 404):
        account.delete_alternate_contact(AlternateContactType="BILLING")
    with expect_error("AccessDeniedException", 403) as e:
        account.get_alternate_contact(AlternateContactType="LEGAL")
    assert e.message.endswith("is not authorized to perform: account:GetAlternateContact (You specified an invalid Alternate Contact type.)")
    with expect_error("ValidationException", 400) as e:
        account.put_alternate_contact(AlternateContactType="SECURITY", **{**CONTACT, "EmailAddress": "not an address"})
    assert "emailAddress" in e.message


def test_contact_information_and_account_name(org):
    account = client(org.srv, "account")
    info = {"FullName": "Jane Roe", "AddressLine1": "1 Main St", "City": "Springfield", "PostalCode": "12345", "CountryCode": "US", "StateOrRegion": "IL", "PhoneNumber": "+15550100"}
    with expect_error("ValidationException", 400):
        account.put_contact_information(ContactInformation={k: v for k, v in info.items() if k != "StateOrRegion"})
    account.put_contact_information(ContactInformation=info)
    assert account.get_contact_information()["ContactInformation"] == info
    me = account.get_account_information()
    assert me["AccountId"] == org.srv.account_id and me["AccountCreatedDate"].year >= 2026
    account.put_account_name(AccountName="Tutorial management")
    assert account.get_account_information()["AccountName"] == "Tutorial management"


def test_regions_opt_in_and_sts_there(org):
    account = client(org.srv, "account")
    regions = {r["RegionName"]: r["RegionOptStatus"] for p in account.get_paginator("list_regions").paginate() for r in p["Regions"]}
    assert len(regions) == 34 and regions["us-east-1"] == "ENABLED_BY_DEFAULT" and regions["af-south-1"] == "DISABLED"
    assert [r["RegionName"] for r in account.list_regions(RegionOptStatusContains=["ENABLED_BY_DEFAULT"])["Regions"]][:2] == ["ap-northeast-1", "ap-northeast-2"]
    with expect_error("ValidationException", 400) as e:
        account.enable_region(RegionName="us-east-1")
    assert e.response.get("reason") == "invalidRegionOptTarget"

    # STS in an opt-in Region the account has not enabled does not know its keys.
    cape_town = boto3.session.Session().client(
        "sts", endpoint_url=org.srv.endpoint, region_name="af-south-1", aws_access_key_id=org.srv.admin_key_id, aws_secret_access_key=org.srv.admin_secret)
    with expect_error("InvalidClientTokenId", 403) as e:
        cape_town.get_caller_identity()
    assert e.message == "The security token included in the request is invalid."

    account.enable_region(RegionName="af-south-1")
    assert account.get_region_opt_status(RegionName="af-south-1")["RegionOptStatus"] == "ENABLING"
    with expect_error("ConflictException", 409):
        account.disable_region(RegionName="af-south-1")
    advance(org.srv, 11)
    assert account.get_region_opt_status(RegionName="af-south-1")["RegionOptStatus"] == "ENABLED"
    assert cape_town.get_caller_identity()["Account"] == org.srv.account_id
    account.disable_region(RegionName="af-south-1")
    assert account.get_region_opt_status(RegionName="af-south-1")["RegionOptStatus"] == "DISABLING"
    advance(org.srv, 11)
    assert account.get_region_opt_status(RegionName="af-south-1")["RegionOptStatus"] == "DISABLED"


def test_member_accounts_by_account_id(org):
    account = client(org.srv, "account")
    member_id = org.create_account(unique_name("acct-api"))
    with expect_error("AccessDeniedException", 403) as e:
        account.get_alternate_contact(AccountId=member_id, AlternateContactType="SECURITY")
    assert e.message.endswith("is not authorized to perform: account:GetAlternateContact")
    org.orgs.enable_aws_service_access(ServicePrincipal="account.amazonaws.com")
    account.put_alternate_contact(AccountId=member_id, AlternateContactType="SECURITY", **CONTACT)
    member = org.member_session(member_id, "account")
    assert member.get_alternate_contact(AlternateContactType="SECURITY")["AlternateContact"]["EmailAddress"] == CONTACT["EmailAddress"]
    assert account.get_primary_email(AccountId=member_id)["PrimaryEmail"].endswith("@example.com")
    with expect_error("AccessDeniedException", 403) as e:
        account.get_alternate_contact(AccountId=org.srv.account_id, AlternateContactType="SECURITY")
    assert e.message.endswith("(The management account can only be managed using the standalone context from the management account.)")
    with expect_error("AccessDeniedException", 403):
        member.get_alternate_contact(AccountId=org.srv.account_id, AlternateContactType="SECURITY")
    # The member's Regions are its own.
    account.enable_region(AccountId=member_id, RegionName="eu-south-1")
    assert member.get_region_opt_status(RegionName="eu-south-1")["RegionOptStatus"] == "ENABLING"
    assert account.get_region_opt_status(RegionName="eu-south-1")["RegionOptStatus"] == "DISABLED"
