"""Helpers shared by the compatibility tests (imported as ``compat_helpers``;
pytest puts this directory on sys.path because it has no __init__.py)."""

from __future__ import annotations

from pathlib import Path

import datetime as _dt
import json
import re
import subprocess
import uuid
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

import pytest
from botocore.exceptions import ClientError

REGION = "us-east-1"
ADMIN_POLICY_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"

# AWS unique-id formats: 4-letter prefix + 17 base32 characters.
USER_ID_RE = re.compile(r"^AIDA[A-Z2-7]{17}$")
GROUP_ID_RE = re.compile(r"^AGPA[A-Z2-7]{17}$")
ROLE_ID_RE = re.compile(r"^AROA[A-Z2-7]{17}$")
POLICY_ID_RE = re.compile(r"^ANPA[A-Z2-7]{17}$")
ACCESS_KEY_ID_RE = re.compile(r"^AKIA[A-Z0-9]{16}$")
SECRET_KEY_RE = re.compile(r"^[A-Za-z0-9/+]{40}$")

STRONG_PASSWORD = "Str0ng!Passw0rd#2026"

SIMPLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::example-bucket/*"}
    ],
}

EC2_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


class ServerError(RuntimeError):
    """The server binary could not be started / bootstrapped."""


def unique_name(prefix: str = "t") -> str:
    """A name unique across the session (IAM names allow [\\w+=,.@-])."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def unique_path(prefix: str = "p") -> str:
    return f"/{prefix}{uuid.uuid4().hex[:12]}/"


def policy_json(doc: dict | None = None) -> str:
    return json.dumps(doc if doc is not None else SIMPLE_POLICY)


# --------------------------------------------------------------------------
# bootstrap-admin output
# --------------------------------------------------------------------------

INI_RE = re.compile(
    r"\A\[default\]\n"
    r"aws_access_key_id = (AKIA[A-Z0-9]{16})\n"
    r"aws_secret_access_key = (\S{40})\n?\Z"
)


def parse_ini_credentials(stdout: str) -> tuple[str, str]:
    """Parse bootstrap-admin's default (INI) output; it must be exactly the
    three-line credentials-file block."""
    m = INI_RE.match(stdout)
    if not m:
        raise AssertionError(
            "bootstrap-admin output is not exactly\n[default]\naws_access_key_id = AKIA...\n"
            f"aws_secret_access_key = <40 chars>\n--- got ---\n{stdout!r}"
        )
    return m.group(1), m.group(2)


# --------------------------------------------------------------------------
# aws-cli results
# --------------------------------------------------------------------------

class CliResult(NamedTuple):
    code: int
    out: Any  # parsed JSON when stdout is JSON, else the raw stdout string
    err: str

    @classmethod
    def from_process(cls, p: subprocess.CompletedProcess) -> "CliResult":
        out: Any = p.stdout
        if p.stdout.strip():
            try:
                out = json.loads(p.stdout)
            except ValueError:
                pass
        return cls(p.returncode, out, p.stderr)

    def ok(self) -> Any:
        """Assert exit code 0 and return the parsed output."""
        assert self.code == 0, f"aws-cli failed (exit {self.code}):\n{self.err}\n{self.out}"
        return self.out

    def error_code(self) -> str | None:
        m = re.search(r"An error occurred \(([A-Za-z0-9.]+)\)", self.err)
        return m.group(1) if m else None

    def expect_error(self, code: str):
        assert self.code != 0, f"aws-cli unexpectedly succeeded: {self.out}"
        assert self.error_code() == code, f"expected ({code}), got stderr:\n{self.err}"


# --------------------------------------------------------------------------
# boto3 errors
# --------------------------------------------------------------------------

@dataclass
class CapturedError:
    code: str | None = None
    status: int | None = None
    message: str | None = None
    type: str | None = None
    request_id: str | None = None
    response: dict | None = None


@contextmanager
def expect_error(code: str, status: int | None = None):
    """``with expect_error("NoSuchEntity", 404) as e: iam.get_user(...)``"""
    captured = CapturedError()
    with pytest.raises(ClientError) as excinfo:
        yield captured
    resp = excinfo.value.response
    captured.response = resp
    captured.code = resp.get("Error", {}).get("Code")
    captured.message = resp.get("Error", {}).get("Message")
    captured.type = resp.get("Error", {}).get("Type")
    captured.status = resp.get("ResponseMetadata", {}).get("HTTPStatusCode")
    captured.request_id = resp.get("ResponseMetadata", {}).get("RequestId")
    assert captured.code == code, f"expected error {code}, got {captured.code}: {resp.get('Error')}"
    if status is not None:
        assert captured.status == status, (
            f"{code}: expected HTTP {status}, got {captured.status}"
        )


def assert_tz_aware(value, what: str = "date", recent: bool = True):
    """The server sent an explicit offset (AWS sends ISO 8601 UTC with 'Z');
    botocore leaves a timestamp without one naive."""
    assert isinstance(value, _dt.datetime), f"{what} is not a datetime: {value!r}"
    assert value.tzinfo is not None and value.utcoffset() is not None, (
        f"{what} was sent without a UTC offset (AWS sends e.g. 2026-01-02T03:04:05Z): {value!r}"
    )
    if recent:
        # Sanity: the server's clock is "now"-ish (within a day).
        now = _dt.datetime.now(_dt.timezone.utc)
        assert abs((now - value).total_seconds()) < 86400, f"{what} far from now: {value!r}"


def statements(doc: dict) -> list[dict]:
    st = doc["Statement"]
    return st if isinstance(st, list) else [st]


def as_list(v):
    return v if isinstance(v, list) else [v]


def tags_dict(tags: list[dict]) -> dict:
    return {t["Key"]: t["Value"] for t in tags}


# --------------------------------------------------------------------------
# Best-effort cleanup (order matters in IAM: dependents first)
# --------------------------------------------------------------------------

def _ignore_missing(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") != "NoSuchEntity":
            raise
        return None


def delete_user_fully(iam, user_name: str):
    try:
        iam.get_user(UserName=user_name)
    except ClientError as e:
        if e.response["Error"]["Code"] == "NoSuchEntity":
            return
        raise
    for k in iam.list_access_keys(UserName=user_name)["AccessKeyMetadata"]:
        _ignore_missing(iam.delete_access_key, UserName=user_name, AccessKeyId=k["AccessKeyId"])
    _ignore_missing(iam.delete_login_profile, UserName=user_name)
    for g in iam.list_groups_for_user(UserName=user_name)["Groups"]:
        _ignore_missing(iam.remove_user_from_group, UserName=user_name, GroupName=g["GroupName"])
    for p in iam.list_attached_user_policies(UserName=user_name)["AttachedPolicies"]:
        _ignore_missing(iam.detach_user_policy, UserName=user_name, PolicyArn=p["PolicyArn"])
    for name in iam.list_user_policies(UserName=user_name)["PolicyNames"]:
        _ignore_missing(iam.delete_user_policy, UserName=user_name, PolicyName=name)
    _ignore_missing(iam.delete_user, UserName=user_name)


def delete_group_fully(iam, group_name: str):
    try:
        users = iam.get_group(GroupName=group_name)["Users"]
    except ClientError as e:
        if e.response["Error"]["Code"] == "NoSuchEntity":
            return
        raise
    for u in users:
        _ignore_missing(iam.remove_user_from_group, UserName=u["UserName"], GroupName=group_name)
    for p in iam.list_attached_group_policies(GroupName=group_name)["AttachedPolicies"]:
        _ignore_missing(iam.detach_group_policy, GroupName=group_name, PolicyArn=p["PolicyArn"])
    for name in iam.list_group_policies(GroupName=group_name)["PolicyNames"]:
        _ignore_missing(iam.delete_group_policy, GroupName=group_name, PolicyName=name)
    _ignore_missing(iam.delete_group, GroupName=group_name)


def delete_role_fully(iam, role_name: str):
    try:
        iam.get_role(RoleName=role_name)
    except ClientError as e:
        if e.response["Error"]["Code"] == "NoSuchEntity":
            return
        raise
    for p in iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]:
        _ignore_missing(iam.detach_role_policy, RoleName=role_name, PolicyArn=p["PolicyArn"])
    for name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
        _ignore_missing(iam.delete_role_policy, RoleName=role_name, PolicyName=name)
    _ignore_missing(iam.delete_role, RoleName=role_name)


def delete_policy_fully(iam, policy_arn: str):
    try:
        iam.get_policy(PolicyArn=policy_arn)
    except ClientError as e:
        if e.response["Error"]["Code"] == "NoSuchEntity":
            return
        raise
    ents = iam.list_entities_for_policy(PolicyArn=policy_arn)
    for u in ents.get("PolicyUsers", []):
        _ignore_missing(iam.detach_user_policy, UserName=u["UserName"], PolicyArn=policy_arn)
    for g in ents.get("PolicyGroups", []):
        _ignore_missing(iam.detach_group_policy, GroupName=g["GroupName"], PolicyArn=policy_arn)
    for r in ents.get("PolicyRoles", []):
        _ignore_missing(iam.detach_role_policy, RoleName=r["RoleName"], PolicyArn=policy_arn)
    for v in iam.list_policy_versions(PolicyArn=policy_arn)["Versions"]:
        if not v["IsDefaultVersion"]:
            _ignore_missing(iam.delete_policy_version, PolicyArn=policy_arn, VersionId=v["VersionId"])
    _ignore_missing(iam.delete_policy, PolicyArn=policy_arn)


def remove_account_aliases(iam):
    for alias in iam.list_account_aliases()["AccountAliases"]:
        _ignore_missing(iam.delete_account_alias, AccountAlias=alias)


# --------------------------------------------------------------------------
# Raw HTTP / XML
# --------------------------------------------------------------------------

def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def xml_find_text(root: ET.Element, name: str) -> str | None:
    """Text of the first descendant whose local name is ``name`` (namespace-blind)."""
    for el in root.iter():
        if _local(el.tag) == name:
            return (el.text or "").strip()
    return None


def parse_error_xml(body: bytes) -> dict:
    """Parse an AWS query-protocol error document into a dict with
    root/Type/Code/Message/RequestId; raises AssertionError if it is not one."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError as e:
        raise AssertionError(f"response body is not XML ({e}): {body[:500]!r}") from None
    assert _local(root.tag) == "ErrorResponse", f"root element is {root.tag}, not ErrorResponse"
    return {
        "root": _local(root.tag),
        "Type": xml_find_text(root, "Type"),
        "Code": xml_find_text(root, "Code"),
        "Message": xml_find_text(root, "Message"),
        "RequestId": xml_find_text(root, "RequestId"),
    }


SEED_POLICIES = Path(__file__).resolve().parents[2] / "crates" / "policy" / "tests" / "seed"


def ec2_mfa_group(iam, uniq, cleanup) -> str:
    """The tutorial's EC2MFA group: AmazonEC2FullAccess and a customer-managed Force_MFA
    (removed at teardown). Returns the group name."""
    force_mfa = iam.create_policy(PolicyName=uniq("Force_MFA"),
                                  PolicyDocument=(SEED_POLICIES / "Force_MFA.json").read_text())["Policy"]["Arn"]
    cleanup(delete_policy_fully, iam, force_mfa)
    group = uniq("EC2MFA")
    cleanup(delete_group_fully, iam, group)
    iam.create_group(GroupName=group)
    iam.attach_group_policy(GroupName=group, PolicyArn="arn:aws:iam::aws:policy/AmazonEC2FullAccess")
    iam.attach_group_policy(GroupName=group, PolicyArn=force_mfa)
    return group


def self_signed(common_name: str = "test.example.com", days: int = 30, key=None):
    """A self-signed X.509 certificate (valid from a day ago for `days` days; negative: already
    expired) and its key (a new RSA-2048 key unless one is given), for the tests that upload
    certificates, keys and metadata."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=2))
            .not_valid_after(now + datetime.timedelta(days=days)).sign(key, hashes.SHA256()))
    return cert, key


def service_client(srv, service, key_id=None, secret=None, token=None):
    """A boto3 client of any service on a Portcullis server, as its admin by default
    (retries off, so errors reach the test)."""
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        service,
        endpoint_url=srv.endpoint,
        region_name=REGION,
        aws_access_key_id=key_id or srv.admin_key_id,
        aws_secret_access_key=secret or srv.admin_secret,
        aws_session_token=token,
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )
