"""`portcullis import` (an account's authorization details into another account) and
`portcullis backup` / `portcullis restore` (the SQLite database), run as an operator would:
the binary against a data dir or database, the servers checked with boto3."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import sqlite3
import subprocess
import urllib.parse

import pytest

from compat_helpers import ADMIN_POLICY_ARN, EC2_TRUST_POLICY
from conftest import CMD_TIMEOUT, PortcullisServer, portcullis_bin, run_aws_cli

READ_ONLY_ARN = "arn:aws:iam::aws:policy/ReadOnlyAccess"
FILTERS = ["User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"]


def doc(action: str, resource: str = "*") -> dict:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]}


def run_portcullis(*args: str, timeout: float = CMD_TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run([str(portcullis_bin()), *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def store_args(srv: PortcullisServer) -> list[str]:
    args = ["--data-dir", str(srv.data_dir)]
    if srv.database_url:
        args += ["--database-url", srv.database_url]
    return args


def import_file(srv: PortcullisServer, path, *extra: str) -> subprocess.CompletedProcess:
    r = run_portcullis("import", str(path), *extra, *store_args(srv))
    srv._log(f"===== import {path} {' '.join(extra)} (exit {r.returncode})\n{r.stdout}\n{r.stderr}\n")
    return r


def details(iam) -> dict:
    """GetAccountAuthorizationDetails with every filter, every page merged, as aws-cli
    prints it (dates as ISO 8601 text)."""
    out = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": []}
    for page in iam.get_paginator("get_account_authorization_details").paginate(Filter=FILTERS, PaginationConfig={"PageSize": 2}):
        for key in out:
            out[key] += page.get(key, [])
    return json.loads(json.dumps(out, default=lambda v: v.isoformat() if isinstance(v, dt.datetime) else str(v)))


def normalised(d: dict, *accounts: str) -> dict:
    """Without ids, dates and last use, account ids replaced, lists in a stable order."""
    drop = {"UserId", "GroupId", "RoleId", "PolicyId", "InstanceProfileId", "CreateDate", "UpdateDate", "RoleLastUsed"}

    def walk(v):
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items() if k not in drop}
        if isinstance(v, list):
            items = [walk(x) for x in v]
            return sorted(items, key=lambda x: json.dumps(x, sort_keys=True))
        if isinstance(v, str):
            for a in accounts:
                v = v.replace(a, "ACCOUNT")
        return v

    return walk(d)


def fresh_server(backend: str, workdir) -> PortcullisServer:
    """A server object on a new data dir (and database) that is not started yet."""
    workdir.mkdir(parents=True, exist_ok=True)
    return PortcullisServer(backend, workdir)


def start_and_bootstrap(srv: PortcullisServer):
    srv.start()
    srv.bootstrap_admin()
    srv.fetch_account_id()


def build_entities(iam, account: str) -> None:
    """Users, groups, roles and policies using every feature the import carries."""
    p = iam.create_policy(PolicyName="imp-managed", Path="/imp/", Description="three versions",
                          PolicyDocument=json.dumps(doc("s3:GetObject")))["Policy"]["Arn"]
    iam.create_policy_version(PolicyArn=p, PolicyDocument=json.dumps(doc("s3:PutObject")), SetAsDefault=True)
    iam.create_policy_version(PolicyArn=p, PolicyDocument=json.dumps(doc("s3:DeleteObject")), SetAsDefault=False)
    # Versions v2 (default) and v4: v1 and v3 were deleted, the numbering has gaps.
    gaps = iam.create_policy(PolicyName="imp-gaps", PolicyDocument=json.dumps(doc("sqs:SendMessage")))["Policy"]["Arn"]
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:PurgeQueue"):
        iam.create_policy_version(PolicyArn=gaps, PolicyDocument=json.dumps(doc(action)), SetAsDefault=False)
    iam.set_default_policy_version(PolicyArn=gaps, VersionId="v2")
    iam.delete_policy_version(PolicyArn=gaps, VersionId="v1")
    iam.delete_policy_version(PolicyArn=gaps, VersionId="v3")
    boundary = iam.create_policy(PolicyName="imp-boundary", PolicyDocument=json.dumps(doc("s3:*")))["Policy"]["Arn"]

    iam.create_group(GroupName="imp-devs")
    iam.put_group_policy(GroupName="imp-devs", PolicyName="logs", PolicyDocument=json.dumps(doc("logs:*")))
    iam.attach_group_policy(GroupName="imp-devs", PolicyArn=p)
    iam.create_group(GroupName="imp-readers", Path="/readers/")
    iam.attach_group_policy(GroupName="imp-readers", PolicyArn=READ_ONLY_ARN)

    iam.create_user(UserName="imp-alice", Path="/team/", PermissionsBoundary=boundary,
                    Tags=[{"Key": "team", "Value": "blue"}, {"Key": "cost-center", "Value": "42"}])
    iam.put_user_policy(UserName="imp-alice", PolicyName="own", PolicyDocument=json.dumps(doc("iam:GetUser")))
    iam.attach_user_policy(UserName="imp-alice", PolicyArn=p)
    iam.attach_user_policy(UserName="imp-alice", PolicyArn=READ_ONLY_ARN)
    iam.add_user_to_group(GroupName="imp-devs", UserName="imp-alice")
    iam.add_user_to_group(GroupName="imp-readers", UserName="imp-alice")
    iam.create_user(UserName="imp-bob", PermissionsBoundary=READ_ONLY_ARN)
    iam.add_user_to_group(GroupName="imp-readers", UserName="imp-bob")

    iam.create_role(RoleName="imp-app", Path="/apps/", AssumeRolePolicyDocument=json.dumps(EC2_TRUST_POLICY),
                    Description="the app's role", MaxSessionDuration=7200, PermissionsBoundary=boundary,
                    Tags=[{"Key": "app", "Value": "web"}])
    iam.put_role_policy(RoleName="imp-app", PolicyName="queue", PolicyDocument=json.dumps(doc("sqs:*")))
    iam.attach_role_policy(RoleName="imp-app", PolicyArn=gaps)
    iam.create_instance_profile(InstanceProfileName="imp-app-profile", Path="/apps/")
    iam.add_role_to_instance_profile(InstanceProfileName="imp-app-profile", RoleName="imp-app")
    cross = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"AWS": f"arn:aws:iam::{account}:root"}}]}
    iam.create_role(RoleName="imp-ops", AssumeRolePolicyDocument=json.dumps(cross))
    iam.attach_role_policy(RoleName="imp-ops", PolicyArn=ADMIN_POLICY_ARN)


def test_round_trip_into_a_fresh_server(server_factory, backend, tmp_path, cleanup):
    a = server_factory()
    iam_a = a.client()
    build_entities(iam_a, a.account_id)
    before = details(iam_a)
    dump = tmp_path / "details.json"
    dump.write_text(json.dumps(before, indent=2))

    b = fresh_server(backend, tmp_path / "b")
    cleanup(b.teardown)
    r = import_file(b, dump)
    assert r.returncode == 0, r.stderr
    assert "one-time root password" in r.stderr  # the import created the account
    assert "create policy arn:aws:iam::" in r.stdout and ":policy/imp/imp-managed (three versions) with version v1" in r.stdout
    assert "add user imp-alice to group imp-devs" in r.stdout
    assert "skip AWS managed policy ReadOnlyAccess: built into the server" in r.stdout
    summary = r.stdout.strip().splitlines()[-1]
    assert summary.startswith("imported: policies 3 (versions 6), groups 3, users 3, roles 2, instance profiles 1,"), summary
    assert "group memberships 4" in summary and "tags 3" in summary

    start_and_bootstrap(b)  # bootstrap-admin finds the imported John and Admins
    assert b.account_id != a.account_id
    iam_b = b.client()
    after = details(iam_b)
    assert normalised(after, a.account_id, b.account_id) == normalised(before, a.account_id, b.account_id)
    # The customer managed ARNs are the new account's; the versions keep their numbers.
    gaps = f"arn:aws:iam::{b.account_id}:policy/imp-gaps"
    versions = iam_b.list_policy_versions(PolicyArn=gaps)["Versions"]
    assert sorted((v["VersionId"], v["IsDefaultVersion"]) for v in versions) == [("v2", True), ("v4", False)]
    v5 = iam_b.create_policy_version(PolicyArn=gaps, PolicyDocument=json.dumps(doc("sqs:*")))["PolicyVersion"]
    assert v5["VersionId"] == "v5"
    iam_b.delete_policy_version(PolicyArn=gaps, VersionId="v5")
    # No secrets travel: no passwords, no access keys but the one bootstrap-admin made.
    assert iam_b.list_access_keys(UserName="imp-alice")["AccessKeyMetadata"] == []

    # Importing again changes nothing and says so (SQLite: the server is stopped meanwhile).
    if backend == "sqlite":
        b.stop()
    again = import_file(b, dump)
    assert again.returncode == 0, again.stderr
    assert "skip user imp-alice: already exists; left as it is" in again.stdout
    assert again.stdout.strip().splitlines()[-1].startswith("imported: policies 0 (versions 0), groups 0, users 0, roles 0")
    if backend == "sqlite":
        b.start()
        iam_b = b.client()
    assert normalised(details(iam_b), a.account_id, b.account_id) == normalised(after, a.account_id, b.account_id)


def test_aws_cli_output_imports_and_dry_run_changes_nothing(server_factory, backend, tmp_path):
    a = server_factory()
    build_entities(a.client(), a.account_id)
    dump = tmp_path / "aws-cli.json"
    dump.write_text(json.dumps(run_aws_cli(a.endpoint, a.admin_key_id, a.admin_secret,
                                           "get-account-authorization-details").ok()))

    b = server_factory()
    iam_b = b.client()
    before = details(iam_b)
    r = import_file(b, dump, "--dry-run")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert "dry run: nothing is changed; the import would:" in lines
    assert "skip user John: already exists; left as it is" in lines
    assert "skip group Admins: already exists; left as it is" in lines
    assert "create user imp-alice (path /team/) with permissions boundary " \
           f"arn:aws:iam::{b.account_id}:policy/imp-boundary tagged team=blue, cost-center=42" in lines
    assert f"attach arn:aws:iam::{b.account_id}:policy/imp/imp-managed to user imp-alice" in lines
    assert f"create and delete policy version v3 of arn:aws:iam::{b.account_id}:policy/imp-gaps " \
           "(deleted at the source; keeps the version numbers)" in lines
    assert "create instance profile imp-app-profile (path /apps/)" in lines
    assert "add role imp-app to instance profile imp-app-profile" in lines
    assert lines[-1].startswith("would import: policies 3 (versions 6), groups 2, users 2, roles 2, instance profiles 1,")
    assert lines[-1].endswith("skipped: existing 2, AWS managed policies 2, service-linked roles 0")
    assert details(iam_b) == before

    if backend == "sqlite":
        b.stop()
    r = import_file(b, dump)
    assert r.returncode == 0, r.stderr
    if backend == "sqlite":
        b.start()
        iam_b = b.client()
    # AWS's RoleDetail (so the dump) has no Description or MaxSessionDuration: defaults.
    role = iam_b.get_role(RoleName="imp-app")["Role"]
    assert role["MaxSessionDuration"] == 3600 and "Description" not in role
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == f"arn:aws:iam::{b.account_id}:policy/imp-boundary"
    assert iam_b.get_role_policy(RoleName="imp-app", PolicyName="queue")["PolicyDocument"] == doc("sqs:*")
    assert [g["GroupName"] for g in iam_b.list_groups_for_user(UserName="imp-alice")["Groups"]] == ["imp-devs", "imp-readers"]


SOURCE = "111122223333"


def quoted(d: dict) -> str:
    """A document as the raw API answers it: URL-encoded JSON text."""
    return urllib.parse.quote(json.dumps(d, indent=4))


def hand_written() -> dict:
    """An AWS-style file with the raw API's URL-encoded documents."""
    return {
        "UserDetailList": [{
            "Path": "/", "UserName": "hw-carol", "UserId": "AIDAEXAMPLE", "Arn": f"arn:aws:iam::{SOURCE}:user/hw-carol",
            "CreateDate": "2020-01-02T03:04:05Z",
            "UserPolicyList": [{"PolicyName": "inline", "PolicyDocument": quoted(doc("ec2:Describe*"))}],
            "GroupList": ["hw-ops"],
            "AttachedManagedPolicies": [{"PolicyName": "hw-deploy", "PolicyArn": f"arn:aws:iam::{SOURCE}:policy/ci/hw-deploy"}],
            "PermissionsBoundary": {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": READ_ONLY_ARN},
            "Tags": [{"Key": "from", "Value": "aws"}],
        }],
        "GroupDetailList": [{
            "Path": "/", "GroupName": "hw-ops", "GroupId": "AGPAEXAMPLE", "Arn": f"arn:aws:iam::{SOURCE}:group/hw-ops",
            "GroupPolicyList": [{"PolicyName": "g", "PolicyDocument": quoted(doc("cloudwatch:*"))}],
            "AttachedManagedPolicies": [{"PolicyName": "ReadOnlyAccess", "PolicyArn": READ_ONLY_ARN}],
        }],
        "RoleDetailList": [{
            "Path": "/", "RoleName": "hw-lambda", "RoleId": "AROAEXAMPLE", "Arn": f"arn:aws:iam::{SOURCE}:role/hw-lambda",
            "AssumeRolePolicyDocument": quoted({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
            "Description": "runs the functions", "MaxSessionDuration": 7200,  # beyond RoleDetail: from get-role
            "InstanceProfileList": [], "RolePolicyList": [],
            "AttachedManagedPolicies": [{"PolicyName": "hw-deploy", "PolicyArn": f"arn:aws:iam::{SOURCE}:policy/ci/hw-deploy"}],
            "Tags": [], "RoleLastUsed": {},
        }, {
            "Path": "/aws-service-role/autoscaling.amazonaws.com/", "RoleName": "AWSServiceRoleForAutoScaling",
            "AssumeRolePolicyDocument": quoted({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "autoscaling.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
            "RolePolicyList": [], "AttachedManagedPolicies": [],
        }],
        "Policies": [{
            "PolicyName": "hw-deploy", "PolicyId": "ANPAEXAMPLE", "Arn": f"arn:aws:iam::{SOURCE}:policy/ci/hw-deploy",
            "Path": "/ci/", "DefaultVersionId": "v1", "AttachmentCount": 2, "IsAttachable": True,
            "PolicyVersionList": [
                {"Document": quoted(doc("codedeploy:*")), "VersionId": "v1", "IsDefaultVersion": True,
                 "CreateDate": "2020-01-02T03:04:05Z"},
                {"Document": quoted(doc("codedeploy:Get*")), "VersionId": "v2", "IsDefaultVersion": False,
                 "CreateDate": "2020-02-02T03:04:05Z"},
            ],
        }, {
            "PolicyName": "ReadOnlyAccess", "Arn": READ_ONLY_ARN, "Path": "/", "DefaultVersionId": "v1",
            "PolicyVersionList": [{"Document": quoted(doc("*")), "VersionId": "v1", "IsDefaultVersion": True}],
        }],
        "IsTruncated": False,
    }


def test_hand_written_aws_file_with_url_encoded_documents(server_factory, backend, tmp_path):
    srv = server_factory()
    f = tmp_path / "aws.json"
    f.write_text(json.dumps(hand_written()))
    listing = tmp_path / "list-policies.json"  # `list-policies --scope Local` with the documents added
    listing.write_text(json.dumps({"Policies": [{
        "PolicyName": "hw-listed", "Arn": f"arn:aws:iam::{SOURCE}:policy/hw-listed", "Path": "/",
        "DefaultVersionId": "v1", "Description": "from a listing", "Document": doc("sns:Publish")}]}))
    if backend == "sqlite":
        srv.stop()
    r = import_file(srv, f)
    assert r.returncode == 0, r.stderr
    assert "skip role AWSServiceRoleForAutoScaling: a service-linked role; its service creates it" in r.stdout
    r2 = import_file(srv, listing)
    assert r2.returncode == 0, r2.stderr
    if backend == "sqlite":
        srv.start()
    iam = srv.client()
    account = srv.account_id

    deploy = f"arn:aws:iam::{account}:policy/ci/hw-deploy"
    assert iam.get_policy(PolicyArn=deploy)["Policy"]["DefaultVersionId"] == "v1"
    assert iam.get_policy_version(PolicyArn=deploy, VersionId="v2")["PolicyVersion"]["Document"] == doc("codedeploy:Get*")
    user = iam.get_user(UserName="hw-carol")["User"]
    assert user["PermissionsBoundary"]["PermissionsBoundaryArn"] == READ_ONLY_ARN
    assert user["Tags"] == [{"Key": "from", "Value": "aws"}]
    assert iam.get_user_policy(UserName="hw-carol", PolicyName="inline")["PolicyDocument"] == doc("ec2:Describe*")
    assert iam.list_attached_user_policies(UserName="hw-carol")["AttachedPolicies"] == [
        {"PolicyName": "hw-deploy", "PolicyArn": deploy}]
    assert [u["UserName"] for u in iam.get_group(GroupName="hw-ops")["Users"]] == ["hw-carol"]
    assert iam.get_group_policy(GroupName="hw-ops", PolicyName="g")["PolicyDocument"] == doc("cloudwatch:*")
    role = iam.get_role(RoleName="hw-lambda")["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert role["Description"] == "runs the functions" and role["MaxSessionDuration"] == 7200
    assert [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName="hw-lambda")["AttachedPolicies"]] == [deploy]
    roles = [r["RoleName"] for p in iam.get_paginator("list_roles").paginate() for r in p["Roles"]]
    assert "AWSServiceRoleForAutoScaling" not in roles
    listed = iam.get_policy(PolicyArn=f"arn:aws:iam::{account}:policy/hw-listed")["Policy"]
    assert listed["Description"] == "from a listing" and listed["DefaultVersionId"] == "v1"


def test_bad_files_are_refused_and_nothing_is_written(server_factory, backend, tmp_path):
    srv = server_factory()
    iam = srv.client()
    before = details(iam)

    def refused(content: str | None, *needles: str):
        f = tmp_path / "bad.json"
        if content is None:
            f.unlink(missing_ok=True)
        else:
            f.write_text(content)
        r = import_file(srv, f)
        assert r.returncode != 0, r.stdout
        assert r.stderr.startswith("error: "), r.stderr
        for n in needles:
            assert n in r.stderr, r.stderr
        return r

    refused(None, "cannot read")
    refused("{not json", "is not an authorization details file", "line 1")
    refused("[1, 2]", "is not an authorization details file")
    refused('{"Something": []}', "expected a JSON object with at least one of UserDetailList")
    refused('{"UserDetailList": [{"Path": "/"}]}', "missing field `UserName`")
    refused(json.dumps({"UserDetailList": [{"UserName": "bad-u", "UserPolicyList": [
        {"PolicyName": "p", "PolicyDocument": "%7Bnot%20json"}]}]}), "user bad-u: inline policy p")

    # Well-formed, but the second user cannot be created: the first is not either.
    f = hand_written()
    f["UserDetailList"].append({"UserName": "bad name!", "GroupList": ["no-such-group"],
                                "UserPolicyList": [{"PolicyName": "p", "PolicyDocument": {"Version": "2012-10-17",
                                                    "Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}}],
                                "AttachedManagedPolicies": [{"PolicyArn": "arn:aws:iam::aws:policy/NoSuchPolicy"}]})
    r = refused(json.dumps(f), "cannot be imported; nothing was changed",
                "user bad name!: CreateUser: The specified value for userName is invalid",
                "group no-such-group is neither in the file nor in the target account",
                "MalformedPolicyDocument",
                "arn:aws:iam::aws:policy/NoSuchPolicy is not an AWS managed policy this server knows")
    assert r.stdout == ""
    assert details(iam) == before


def test_backup_and_restore(server_factory, backend, tmp_path):
    srv = server_factory()
    if backend != "sqlite":
        r = run_portcullis("backup", "--out", str(tmp_path / "x.db"), *store_args(srv))
        assert r.returncode != 0 and "pg_dump" in r.stderr, r.stderr
        r = run_portcullis("restore", str(tmp_path / "x.db"), *store_args(srv))
        assert r.returncode != 0 and "pg_restore" in r.stderr, r.stderr
        return
    iam = srv.client()
    build_entities(iam, srv.account_id)
    saved = details(iam)
    backup = tmp_path / "backup.db"
    r = run_portcullis("backup", "--out", str(backup), *store_args(srv))  # while the server runs
    assert r.returncode == 0, r.stderr
    assert re.search(r"backed up .*portcullis\.db to .*backup\.db \(schema migration \d+, 1 account\)", r.stdout), r.stdout
    assert "master key" in r.stderr
    iam.create_user(UserName="after-the-backup")

    # Refused: not a database, a database that is not Portcullis's, a missing file.
    srv.stop()
    text = tmp_path / "notes.txt"
    text.write_text("hello\n" * 100)
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as c:
        c.execute("CREATE TABLE t (x)")
    live = tmp_path / "live.db"  # a copy of a database with part of it still in its log
    shutil.copy(backup, live)
    (tmp_path / "live.db-wal").write_bytes(b"\0" * 32)
    for bad, needle in ((text, "is not a Portcullis database"), (other, "no migration history"),
                        (tmp_path / "missing.db", "is not a file"), (live, "has a write-ahead log beside it")):
        r = run_portcullis("restore", str(bad), *store_args(srv))
        assert r.returncode != 0 and needle in r.stderr, r.stderr
    srv.start()
    iam = srv.client()
    assert iam.get_user(UserName="after-the-backup")  # the refused restores changed nothing

    # Stop, lose the data dir (the master key is kept apart), restore, start.
    srv.stop()
    key = (srv.data_dir / "master.key").read_bytes()
    shutil.rmtree(srv.data_dir)
    srv.data_dir.mkdir()
    (srv.data_dir / "master.key").write_bytes(key)
    r = run_portcullis("restore", str(backup), *store_args(srv))
    assert r.returncode == 0, r.stderr
    assert "restored" in r.stdout
    assert sorted(p.name for p in srv.data_dir.iterdir()) == ["master.key", "portcullis.db"]
    srv.start()
    iam = srv.client()  # the admin's key came back with the database
    assert details(iam) == saved
    users = [u["UserName"] for p in iam.get_paginator("list_users").paginate() for u in p["Users"]]
    assert "after-the-backup" not in users


def test_restore_replaces_a_database_with_a_stale_log(server_factory, backend, tmp_path):
    if backend != "sqlite":
        pytest.skip("SQLite only")
    srv = server_factory()
    backup = tmp_path / "b.db"
    assert run_portcullis("backup", "--out", str(backup), *store_args(srv)).returncode == 0
    srv.client().create_user(UserName="later")
    srv.stop()
    # A write-ahead log left behind by a server that was killed belongs to the old database.
    (srv.data_dir / "portcullis.db-wal").write_bytes(b"stale")
    (srv.data_dir / "portcullis.db-shm").write_bytes(b"stale")
    r = run_portcullis("restore", str(backup), *store_args(srv))
    assert r.returncode == 0, r.stderr
    assert not (srv.data_dir / "portcullis.db-wal").exists()
    srv.start()
    iam = srv.client()
    users = [u["UserName"] for p in iam.get_paginator("list_users").paginate() for u in p["Users"]]
    assert "later" not in users and srv.admin_user in users
