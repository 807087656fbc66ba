"""OpenID Connect providers with boto3, against AWS's recorded answers (LocalStack's
snapshots of real AWS): URL rules, the ARN without scheme, client ids (idempotent add and
remove, quota), thumbprints (length, count, replace), tags, the two not-found wordings."""

from __future__ import annotations

from compat_helpers import expect_error

TP = "a" * 40


def test_create_get_list_update_and_delete(iam, uniq, account_id, cleanup):
    host = f"{uniq('oidc')}.example.com"
    arn = iam.create_open_id_connect_provider(Url=f"https://{host}/ci", ClientIDList=["sts.amazonaws.com"], ThumbprintList=[TP])[
        "OpenIDConnectProviderArn"]
    cleanup(lambda: iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn))
    assert arn == f"arn:aws:iam::{account_id}:oidc-provider/{host}/ci"
    with expect_error("EntityAlreadyExists", 409) as e:
        iam.create_open_id_connect_provider(Url=f"https://{host}/ci", ThumbprintList=[TP])
    assert e.message == f"Provider with url https://{host}/ci already exists."

    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert got["Url"] == f"{host}/ci" and got["ClientIDList"] == ["sts.amazonaws.com"]
    assert got["ThumbprintList"] == [TP] and got["Tags"] == []
    assert {"Arn": arn} in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]

    # Adding a client id twice or removing an absent one changes nothing and succeeds.
    for _ in range(2):
        iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="my-app")
    iam.remove_client_id_from_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="absent")
    assert iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)["ClientIDList"] == ["sts.amazonaws.com", "my-app"]
    iam.remove_client_id_from_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="sts.amazonaws.com")
    iam.update_open_id_connect_provider_thumbprint(OpenIDConnectProviderArn=arn, ThumbprintList=["c" * 40, "d" * 40])
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert got["ClientIDList"] == ["my-app"] and got["ThumbprintList"] == ["c" * 40, "d" * 40]

    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    with expect_error("NoSuchEntity", 404) as e:
        iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert e.message == f"OpenIDConnect Provider not found for arn {arn}"
    with expect_error("NoSuchEntity", 404) as e:
        iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert e.message == f"OpenId connect Provider {arn} cannot be found."


def test_urls_thumbprints_and_client_ids_are_checked(iam, uniq, cleanup):
    for url in ("example.org", "http://example.org", "https://", "https://bad host.example", "https://x.example?q=1"):
        with expect_error("ValidationError", 400) as e:
            iam.create_open_id_connect_provider(Url=url, ThumbprintList=[TP])
        assert e.message == "Invalid Open ID Connect Provider URL", url
    host = f"{uniq('oidc')}.example.com"
    with expect_error("InvalidInput", 400) as e:
        iam.create_open_id_connect_provider(Url=f"https://{host}", ThumbprintList=[TP] * 6)
    assert e.message == "Thumbprint list must contain fewer than 5 entries."
    with expect_error("ValidationError", 400) as e:
        iam.create_open_id_connect_provider(Url=f"https://{host}", ThumbprintList=["a" * 41], ClientIDList=["x" * 256])
    assert e.message == (
        "2 validation errors detected: Value at 'clientIDList' failed to satisfy constraint: Member must satisfy constraint: "
        "[Member must have length less than or equal to 255, Member must have length greater than or equal to 1]; "
        "Value at 'thumbprintList' failed to satisfy constraint: Member must satisfy constraint: "
        "[Member must have length less than or equal to 40, Member must have length greater than or equal to 40]")
    with expect_error("LimitExceeded", 409) as e:
        iam.create_open_id_connect_provider(Url=f"https://{host}", ClientIDList=[f"c{i}" for i in range(101)])
    assert e.message == "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100"


def test_tags(iam, uniq, cleanup):
    host = f"{uniq('oidc')}.example.com"
    arn = iam.create_open_id_connect_provider(Url=f"https://{host}", Tags=[{"Key": "k1", "Value": "v1"}])["OpenIDConnectProviderArn"]
    cleanup(lambda: iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn))
    iam.tag_open_id_connect_provider(OpenIDConnectProviderArn=arn, Tags=[{"Key": "k2", "Value": "v2"}])
    assert iam.list_open_id_connect_provider_tags(OpenIDConnectProviderArn=arn)["Tags"] == [
        {"Key": "k1", "Value": "v1"}, {"Key": "k2", "Value": "v2"}]
    iam.untag_open_id_connect_provider(OpenIDConnectProviderArn=arn, TagKeys=["k2"])
    assert iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)["Tags"] == [{"Key": "k1", "Value": "v1"}]
