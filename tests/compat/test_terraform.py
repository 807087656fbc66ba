"""Terraform with the hashicorp/aws provider against Portcullis: each configuration under
tests/compat/terraform/ applies, plans again with no changes, and destroys, leaving nothing
behind. The provider comes from a local filesystem mirror (PORTCULLIS_TF_PLUGINS, default
/opt/tf-plugins, holding registry.terraform.io/hashicorp/aws/5.100.0); without terraform or
the mirror the tests are skipped with the reason."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
CONFIGS = HERE / "terraform"
PLUGINS = Path(os.environ.get("PORTCULLIS_TF_PLUGINS", "/opt/tf-plugins"))
SEEDS = HERE.parents[1] / "crates" / "policy" / "tests" / "seed"


def terraform_or_skip() -> str:
    tf = shutil.which("terraform")
    if not tf:
        pytest.skip("terraform is not installed")
    if not (PLUGINS / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
        pytest.skip(f"no hashicorp/aws provider in the mirror {PLUGINS} (set PORTCULLIS_TF_PLUGINS)")
    return tf


def run(tf: str, workdir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_"))}
    env.update(TF_CLI_CONFIG_FILE=str(workdir / "cli.tfrc"), TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1")
    return subprocess.run([tf, *args, "-no-color"], cwd=workdir, env=env, capture_output=True, text=True, timeout=600)


def prepare(srv, config: str, tmp_path: Path) -> Path:
    work = tmp_path / config
    shutil.copytree(CONFIGS / config, work)
    shutil.copy(CONFIGS / "provider.tf.txt", work / "provider.tf")
    (work / "cli.tfrc").write_text(
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path    = "{PLUGINS}"\n    include = ["registry.terraform.io/hashicorp/aws"]\n  }}\n'
        '  direct { exclude = ["registry.terraform.io/hashicorp/aws"] }\n}\n')
    (work / "terraform.tfvars").write_text(
        f'endpoint = "{srv.endpoint}"\naccess_key = "{srv.admin_key_id}"\nsecret_key = "{srv.admin_secret}"\nseed_dir = "{SEEDS}"\n')
    return work


def apply_replan_destroy(tf: str, work: Path):
    for args in (["init", "-input=false"], ["apply", "-auto-approve", "-input=false"]):
        r = run(tf, work, *args)
        assert r.returncode == 0, f"terraform {args[0]} failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
    r = run(tf, work, "plan", "-detailed-exitcode", "-input=false")
    assert r.returncode == 0, f"a second plan wants changes (exit {r.returncode}):\n{r.stdout[-6000:]}\n{r.stderr[-3000:]}"
    r = run(tf, work, "destroy", "-auto-approve", "-input=false")
    assert r.returncode == 0, f"terraform destroy failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"


def test_iam_core_applies_replans_clean_and_destroys(server_factory, tmp_path):
    tf = terraform_or_skip()
    srv = server_factory()
    iam = srv.client()
    before = iam.get_account_summary()["SummaryMap"]
    apply_replan_destroy(tf, prepare(srv, "iam_core", tmp_path))

    # Nothing is left but what was there before (the bootstrap administrator).
    after = iam.get_account_summary()["SummaryMap"]
    for key in ("Users", "Groups", "Roles", "Policies", "InstanceProfiles"):
        assert after[key] == before[key], (key, before[key], after[key])
    assert iam.list_account_aliases()["AccountAliases"] == []
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_account_password_policy()


def write_key_material(work: Path):
    """An SSH key, a signing certificate and a server certificate with its key, for iam_more."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from compat_helpers import self_signed

    def cert_and_key():
        cert, key = self_signed("tf.example.com")
        return cert.public_bytes(serialization.Encoding.PEM), key

    ssh = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (work / "id_rsa.pub").write_bytes(ssh.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH))
    (work / "signing.pem").write_bytes(cert_and_key()[0])
    server, key = cert_and_key()
    (work / "server.pem").write_bytes(server)
    (work / "server.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
    from test_saml_providers import metadata
    (work / "saml.xml").write_text(metadata())


def test_iam_more_applies_replans_clean_and_destroys(server_factory, tmp_path):
    tf = terraform_or_skip()
    srv = server_factory()
    iam = srv.client()
    before = iam.get_account_summary()["SummaryMap"]
    work = prepare(srv, "iam_more", tmp_path)
    write_key_material(work)
    apply_replan_destroy(tf, work)
    after = iam.get_account_summary()["SummaryMap"]
    for key in ("Users", "Groups", "Roles", "Policies", "ServerCertificates", "Providers"):
        assert after[key] == before[key], (key, before[key], after[key])
    assert iam.list_open_id_connect_providers()["OpenIDConnectProviderList"] == []
    assert iam.list_saml_providers()["SAMLProviderList"] == []
    assert iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []


def test_organizations_applies_replans_clean_and_destroys(server_factory, tmp_path):
    tf = terraform_or_skip()
    srv = server_factory()
    apply_replan_destroy(tf, prepare(srv, "organizations", tmp_path))
    # The organization is gone with everything in it.
    import boto3
    orgs = boto3.session.Session().client("organizations", endpoint_url=srv.endpoint, region_name="us-east-1",
                                          aws_access_key_id=srv.admin_key_id, aws_secret_access_key=srv.admin_secret)
    with pytest.raises(orgs.exceptions.AWSOrganizationsNotInUseException):
        orgs.describe_organization()


def test_identity_center_applies_replans_clean_and_destroys(server_factory, tmp_path):
    """The tutorial's Identity Center set-up as Terraform: the organization and the instance
    first (the console's Enable), then users, groups, a permission set and an assignment."""
    tf = terraform_or_skip()
    srv = server_factory()
    import boto3
    session = boto3.session.Session()
    kw = dict(endpoint_url=srv.endpoint, region_name="us-east-1", aws_access_key_id=srv.admin_key_id, aws_secret_access_key=srv.admin_secret)
    session.client("organizations", **kw).create_organization(FeatureSet="ALL")
    admin = session.client("sso-admin", **kw)
    instance = admin.create_instance(Name="tutorial")["InstanceArn"]
    apply_replan_destroy(tf, prepare(srv, "identity_center", tmp_path))
    store = admin.describe_instance(InstanceArn=instance)["IdentityStoreId"]
    assert session.client("identitystore", **kw).list_users(IdentityStoreId=store)["Users"] == []
    assert admin.list_permission_sets(InstanceArn=instance)["PermissionSets"] == []
