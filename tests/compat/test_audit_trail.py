"""The audit trail: every API call, console sign-in and STS exchange as a CloudTrail event,
read back with CloudTrail's LookupEvents (boto3 and aws-cli) and `portcullis events`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from compat_helpers import REGION, expect_error, service_client, unique_name
from conftest import aws_cli_path, portcullis_bin

HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"


def trail(srv, key_id=None, secret=None, token=None):
    return service_client(srv, "cloudtrail", key_id, secret, token)


def lookup(client, key, value, **kwargs):
    """Every event with one attribute, newest first, following NextToken."""
    events, token = [], None
    while True:
        args = dict(LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}], **kwargs)
        if token:
            args["NextToken"] = token
        page = client.lookup_events(**args)
        events += page["Events"]
        token = page.get("NextToken")
        if not token:
            return events


def by_name(events, name):
    found = [e for e in events if e["EventName"] == name]
    assert found, f"no {name} event among {[e['EventName'] for e in events]}"
    return found[0], json.loads(found[0]["CloudTrailEvent"])


def test_calls_are_recorded_as_cloudtrail_events(server, iam):
    name = unique_name("audited")
    created = iam.create_user(UserName=name, Tags=[{"Key": "team", "Value": "blue"}])
    key = iam.create_access_key(UserName=name)["AccessKey"]
    iam.attach_user_policy(UserName=name, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    iam.get_user(UserName=name)
    with expect_error("NoSuchEntity", 404):
        iam.delete_login_profile(UserName=name)

    events = lookup(trail(server), "ResourceName", name)
    assert [e["EventName"] for e in events] == ["DeleteLoginProfile", "GetUser", "AttachUserPolicy", "CreateAccessKey", "CreateUser"], "newest first"

    entry, event = by_name(events, "CreateUser")
    assert entry["EventSource"] == "iam.amazonaws.com" and entry["ReadOnly"] == "false"
    assert entry["Username"] == server.admin_user and entry["AccessKeyId"] == server.admin_key_id
    assert {"ResourceType": "AWS::IAM::User", "ResourceName": name} in entry["Resources"]
    assert event["eventVersion"] == "1.08" and event["eventType"] == "AwsApiCall" and event["eventCategory"] == "Management"
    assert event["eventSource"] == "iam.amazonaws.com" and event["eventName"] == "CreateUser" and event["awsRegion"] == "us-east-1"
    assert event["eventID"] == entry["EventId"] and event["requestID"] == created["ResponseMetadata"]["RequestId"]
    assert event["recipientAccountId"] == server.account_id and event["readOnly"] is False
    assert event["sourceIPAddress"] == "127.0.0.1" and "Boto3" in event["userAgent"]
    identity = event["userIdentity"]
    assert identity["type"] == "IAMUser" and identity["userName"] == server.admin_user
    assert identity["arn"] == f"arn:aws:iam::{server.account_id}:user/{server.admin_user}"
    assert identity["accountId"] == server.account_id and identity["accessKeyId"] == server.admin_key_id
    assert identity["principalId"].startswith("AIDA")
    assert event["requestParameters"] == {"userName": name, "tags": [{"key": "team", "value": "blue"}]}
    assert event["responseElements"]["user"]["userName"] == name
    assert event["responseElements"]["user"]["userId"] == created["User"]["UserId"]
    assert "errorCode" not in event

    # Secrets never reach the trail.
    entry, event = by_name(events, "CreateAccessKey")
    assert event["responseElements"]["accessKey"]["accessKeyId"] == key["AccessKeyId"]
    assert event["responseElements"]["accessKey"]["secretAccessKey"] == HIDDEN
    assert key["SecretAccessKey"] not in entry["CloudTrailEvent"]

    entry, event = by_name(events, "AttachUserPolicy")
    assert {"ResourceType": "AWS::IAM::Policy", "ResourceName": "arn:aws:iam::aws:policy/IAMReadOnlyAccess"} in entry["Resources"]
    assert event["responseElements"] is None

    entry, event = by_name(events, "GetUser")
    assert entry["ReadOnly"] == "true" and event["readOnly"] is True and event["responseElements"] is None

    entry, event = by_name(events, "DeleteLoginProfile")
    assert event["errorCode"] == "NoSuchEntity" and name in event["errorMessage"]


def test_lookup_attributes_time_range_paging_and_errors(server, iam):
    name = unique_name("paged")
    iam.create_user(UserName=name)
    for _ in range(3):
        iam.get_user(UserName=name)
    ct = trail(server)
    reads = lookup(ct, "ResourceName", name)
    assert len(reads) == 4
    first = ct.lookup_events(LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": name}], MaxResults=3)
    assert len(first["Events"]) == 3 and first["NextToken"]
    rest = ct.lookup_events(LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": name}], MaxResults=3, NextToken=first["NextToken"])
    assert [e["EventName"] for e in rest["Events"]] == ["CreateUser"] and "NextToken" not in rest
    assert {e["EventId"] for e in first["Events"]}.isdisjoint({e["EventId"] for e in rest["Events"]})

    one = reads[0]["EventId"]
    assert [e["EventId"] for e in lookup(ct, "EventId", one)] == [one]
    assert all(e["EventName"] == "CreateUser" for e in lookup(ct, "EventName", "CreateUser"))
    assert all(e["ReadOnly"] == "true" for e in ct.lookup_events(LookupAttributes=[{"AttributeKey": "ReadOnly", "AttributeValue": "true"}])["Events"])
    assert lookup(ct, "ResourceType", "AWS::IAM::User")
    assert lookup(ct, "EventSource", "iam.amazonaws.com")
    assert lookup(ct, "AccessKeyId", server.admin_key_id)

    created = reads[-1]["EventTime"].timestamp()
    window = lookup(ct, "ResourceName", name, StartTime=created - 1, EndTime=created + 1)
    assert window and window[-1]["EventName"] == "CreateUser"
    assert lookup(ct, "ResourceName", name, EndTime=created - 3600) == []

    with expect_error("InvalidLookupAttributesException"):
        ct.lookup_events(LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": name}, {"AttributeKey": "EventName", "AttributeValue": "GetUser"}])
    with expect_error("InvalidTimeRangeException"):
        ct.lookup_events(StartTime=created + 10, EndTime=created)
    with expect_error("InvalidNextTokenException"):
        ct.lookup_events(NextToken="not-a-token")


def test_lookup_is_authorized_and_scoped_to_the_account(server, iam):
    name = unique_name("reader")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    ct = trail(server, key["AccessKeyId"], key["SecretAccessKey"])
    with expect_error("AccessDeniedException"):
        ct.lookup_events()
    iam.put_user_policy(UserName=name, PolicyName="trail", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "cloudtrail:LookupEvents", "Resource": "*"}]}))
    deadline = time.time() + 10
    while True:
        try:
            events = ct.lookup_events(MaxResults=50)["Events"]
            break
        except ClientError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)
    assert events and all(json.loads(e["CloudTrailEvent"])["recipientAccountId"] == server.account_id for e in events)
    # The refused lookup is itself in the trail, with its error.
    refused = [json.loads(e["CloudTrailEvent"]) for e in lookup(ct, "Username", name) if e["EventName"] == "LookupEvents"]
    assert any(ev.get("errorCode") == "AccessDeniedException" and ev["eventSource"] == "cloudtrail.amazonaws.com" for ev in refused)


def test_sts_sessions_carry_their_session_context(server, iam):
    sts = boto3.session.Session().client("sts", endpoint_url=server.endpoint, region_name=REGION,
                                         aws_access_key_id=server.admin_key_id, aws_secret_access_key=server.admin_secret)
    creds = sts.get_session_token(DurationSeconds=900)["Credentials"]
    session_iam = boto3.session.Session().client("iam", endpoint_url=server.endpoint, region_name=REGION,
                                                 aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                                                 aws_session_token=creds["SessionToken"])
    session_iam.list_users(MaxItems=1)
    ct = trail(server)
    entry, event = by_name(lookup(ct, "AccessKeyId", creds["AccessKeyId"]), "ListUsers")
    attributes = event["userIdentity"]["sessionContext"]["attributes"]
    assert attributes["mfaAuthenticated"] == "false" and attributes["creationDate"].endswith("Z")
    assert event["userIdentity"]["accessKeyId"] == creds["AccessKeyId"]

    entry, event = by_name(lookup(ct, "EventSource", "sts.amazonaws.com"), "GetSessionToken")
    assert event["responseElements"]["credentials"]["accessKeyId"] == creds["AccessKeyId"]
    assert event["responseElements"]["credentials"]["sessionToken"] == HIDDEN
    assert creds["SecretAccessKey"] not in entry["CloudTrailEvent"] and creds["SessionToken"] not in entry["CloudTrailEvent"]


def test_console_sign_ins_are_recorded(server_factory):
    srv = server_factory()
    admin = srv.client()
    name = unique_name("console")
    admin.create_user(UserName=name)
    admin.create_login_profile(UserName=name, Password="Console!Passw0rd-1")
    body = {"account": srv.account_id, "user_name": name}
    assert requests.post(f"{srv.endpoint}/_portcullis/signin", json={**body, "password": "wrong"}, timeout=30).status_code == 401
    ok = requests.post(f"{srv.endpoint}/_portcullis/signin", json={**body, "password": "Console!Passw0rd-1"}, timeout=30)
    assert ok.status_code == 200, ok.text
    events = lookup(trail(srv), "EventName", "ConsoleLogin")
    assert [json.loads(e["CloudTrailEvent"])["responseElements"]["ConsoleLogin"] for e in events] == ["Success", "Failure"]
    event = json.loads(events[0]["CloudTrailEvent"])
    assert event["eventType"] == "AwsConsoleSignIn" and event["eventSource"] == "signin.amazonaws.com"
    assert event["userIdentity"]["type"] == "IAMUser" and event["userIdentity"]["userName"] == name
    assert event["additionalEventData"]["MFAUsed"] == "No" and events[0]["Username"] == name
    assert json.loads(events[1]["CloudTrailEvent"])["errorMessage"] == "Failed authentication"
    assert "Console!Passw0rd-1" not in events[0]["CloudTrailEvent"]


def test_aws_cli_reads_the_event_history(server, iam):
    name = unique_name("cli")
    iam.create_group(GroupName=name)
    env = {**os.environ, "AWS_ACCESS_KEY_ID": server.admin_key_id, "AWS_SECRET_ACCESS_KEY": server.admin_secret,
           "AWS_DEFAULT_REGION": REGION, "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
    r = subprocess.run([aws_cli_path(), "--endpoint-url", server.endpoint, "--output", "json", "cloudtrail", "lookup-events",
                        "--lookup-attributes", f"AttributeKey=ResourceName,AttributeValue={name}"],
                       capture_output=True, text=True, env=env, timeout=120, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    events = json.loads(r.stdout)["Events"]
    assert [e["EventName"] for e in events] == ["CreateGroup"]
    assert {"ResourceType": "AWS::IAM::Group", "ResourceName": name} in events[0]["Resources"]


def test_events_command_prints_and_follows(server, iam):
    name = unique_name("follow")
    iam.create_user(UserName=name)
    trail(server).lookup_events(MaxResults=1)  # written by now
    r = subprocess.run([str(portcullis_bin()), "events", *server._common_args()], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    mine = [e for e in lines if (e.get("requestParameters") or {}).get("userName") == name]
    assert [e["eventName"] for e in mine] == ["CreateUser"]
    times = [e["eventTime"] for e in lines]
    assert times == sorted(times), "oldest first"

    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    follower = subprocess.Popen([str(portcullis_bin()), "events", "--follow", "--since", since, *server._common_args()],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        later = unique_name("followed")
        time.sleep(1)
        iam.create_user(UserName=later)
        deadline = time.time() + 30
        seen = False
        while time.time() < deadline and not seen:
            line = follower.stdout.readline()
            if not line:
                break
            seen = (json.loads(line).get("requestParameters") or {}).get("userName") == later
        assert seen, follower.stderr.read() if follower.poll() is not None else "no event followed"
    finally:
        follower.send_signal(signal.SIGINT)
        try:
            follower.wait(timeout=10)
        except subprocess.TimeoutExpired:
            follower.kill()


def test_retention_drops_old_events_and_level_writes_skips_reads(server_factory):
    srv = server_factory(extra_args=["--event-retention-days", "1", "--audit-events", "writes"])
    admin = srv.client()
    old = unique_name("old")
    admin.create_user(UserName=old)
    admin.get_user(UserName=old)
    ct = trail(srv)
    assert [e["EventName"] for e in lookup(ct, "ResourceName", old)] == ["CreateUser"], "reads are not recorded at level writes"
    r = requests.post(f"{srv.endpoint}/_portcullis/clock", json={"advance_seconds": 2 * 86400}, timeout=10)
    assert r.status_code == 200
    new = unique_name("new")
    admin.create_user(UserName=new)
    assert lookup(ct, "ResourceName", old, StartTime=0) == []
    assert [e["EventName"] for e in lookup(ct, "ResourceName", new)] == ["CreateUser"]


def test_a_change_is_never_stored_without_its_event(server_factory):
    """The event goes in the change's own transaction: a node killed right after answering
    still has both after a restart."""
    srv = server_factory()
    admin = srv.client()
    names = [unique_name("crash") for _ in range(5)]
    for name in names:
        admin.create_user(UserName=name)
    proc, srv.proc = srv.proc, None
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    srv.start()
    admin = srv.client()
    ct = trail(srv)
    for name in names:
        admin.get_user(UserName=name)
        assert "CreateUser" in [e["EventName"] for e in lookup(ct, "ResourceName", name)]


def test_console_operations_are_recorded_like_api_calls(server_factory):
    from test_console import browser, hidden, user_sign_in
    import html as _html

    srv = server_factory()
    admin = srv.client()
    admin.create_user(UserName="Clerk")
    admin.create_login_profile(UserName="Clerk", Password="Clerk-pass-123!")
    admin.attach_user_policy(UserName="Clerk", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    s = browser()
    assert user_sign_in(srv, s, srv.account_id, "Clerk", "Clerk-pass-123!").url.endswith("/console")
    assert "Clerk" in s.get(f"{srv.endpoint}/console/users", timeout=30).text
    page = s.get(f"{srv.endpoint}/console/users/create", timeout=30).text
    r = s.post(f"{srv.endpoint}/console/users/create", timeout=30, data={"csrf": hidden(page, "csrf"), "user_name": "Mallory"})
    assert r.status_code == 400 and "iam:CreateUser" in _html.unescape(r.text)
    # An allowed change made through the console commits with its event.
    admin.attach_user_policy(UserName="Clerk", PolicyArn="arn:aws:iam::aws:policy/IAMFullAccess")
    page = s.get(f"{srv.endpoint}/console/users/create", timeout=30).text
    r = s.post(f"{srv.endpoint}/console/users/create", timeout=30, data={"csrf": hidden(page, "csrf"), "user_name": "Allowed"})
    assert r.status_code in (200, 303), r.text

    events = lookup(trail(srv), "Username", "Clerk")
    names = [(e["EventName"], json.loads(e["CloudTrailEvent"]).get("errorCode")) for e in events]
    assert ("ListUsers", None) in names
    assert ("CreateUser", "AccessDenied") in names
    assert ("ConsoleLogin", None) in names
    created = [json.loads(e["CloudTrailEvent"]) for e in events if e["EventName"] == "CreateUser" and "errorCode" not in json.loads(e["CloudTrailEvent"])]
    assert created and created[0]["requestParameters"] == {"userName": "Allowed"}
    identity = created[0]["userIdentity"]
    assert identity["type"] == "IAMUser" and identity["userName"] == "Clerk" and identity["accessKeyId"].startswith("ASIA")


def test_json_and_rest_services_are_recorded_with_their_event_source(server_factory):
    srv = server_factory()
    orgs = service_client(srv, "organizations")
    with expect_error("AWSOrganizationsNotInUseException"):
        orgs.describe_organization()
    account = service_client(srv, "account")
    account.put_alternate_contact(AlternateContactType="SECURITY", EmailAddress="sec@example.com", Name="Sec", PhoneNumber="+1-555-0100", Title="CISO")
    ct = trail(srv)
    _, event = by_name(lookup(ct, "EventSource", "organizations.amazonaws.com"), "DescribeOrganization")
    assert event["errorCode"] == "AWSOrganizationsNotInUseException" and event["readOnly"] is True
    entry, event = by_name(lookup(ct, "EventSource", "account.amazonaws.com"), "PutAlternateContact")
    assert entry["ReadOnly"] == "false" and event["requestParameters"]["alternateContactType"] == "SECURITY"
    assert event["requestParameters"]["emailAddress"] == "sec@example.com"
