//! Row → record mapping. Column lists are kept beside the mappers so they cannot drift.

use portcullis_store::*;
use sqlx::any::AnyRow;
use sqlx::Row;

/// A credential's status column (`Active`, `Inactive`); anything else is a decode error.
fn status(r: &AnyRow, index: usize) -> Result<KeyStatus, sqlx::Error> {
    let text: String = r.try_get(index)?;
    KeyStatus::parse(&text).ok_or_else(|| sqlx::Error::ColumnDecode { index: index.to_string(), source: format!("unknown status {text:?}").into() })
}

pub const USER_COLS: &str = "account_id, user_id, name, path, created_at, permissions_boundary, password_last_used";
pub const SERVER_CERT_COLS: &str = "account_id, server_certificate_id, name, path, body, chain, private_key_sealed, created_at, expires_at";

pub fn server_certificate(r: &AnyRow) -> Result<ServerCertificateRecord, sqlx::Error> {
    Ok(ServerCertificateRecord {
        account_id: r.try_get(0)?,
        server_certificate_id: r.try_get(1)?,
        name: r.try_get(2)?,
        path: r.try_get(3)?,
        body: r.try_get(4)?,
        chain: r.try_get(5)?,
        private_key_sealed: r.try_get(6)?,
        created_at: r.try_get(7)?,
        expires_at: r.try_get(8)?,
    })
}

pub const CREDENTIAL_COLS: &str = "credential_id, kind, account_id, user_id, status, body, detail, secret_hash, created_at, expires_at";

pub fn user_credential(r: &AnyRow) -> Result<UserCredentialRecord, sqlx::Error> {
    let kind: String = r.try_get(1)?;
    let kind = match kind.as_str() {
        "ssh" => CredentialKind::SshPublicKey,
        "signing" => CredentialKind::SigningCertificate,
        "service" => CredentialKind::ServiceSpecific,
        other => return Err(sqlx::Error::Decode(format!("unknown credential kind {other}").into())),
    };
    Ok(UserCredentialRecord {
        credential_id: r.try_get(0)?,
        kind,
        account_id: r.try_get(2)?,
        user_id: r.try_get(3)?,
        status: status(r, 4)?,
        body: r.try_get(5)?,
        detail: r.try_get(6)?,
        secret_hash: r.try_get(7)?,
        created_at: r.try_get(8)?,
        expires_at: r.try_get(9)?,
    })
}

pub const SAML_COLS: &str = "arn, account_id, name, uuid, metadata, valid_until, created_at, assertion_encryption_mode, private_keys";

pub fn saml_provider(r: &AnyRow) -> Result<SamlProviderRecord, sqlx::Error> {
    let keys: String = r.try_get(8)?;
    Ok(SamlProviderRecord {
        arn: r.try_get(0)?,
        account_id: r.try_get(1)?,
        name: r.try_get(2)?,
        uuid: r.try_get(3)?,
        metadata: r.try_get(4)?,
        valid_until: r.try_get(5)?,
        created_at: r.try_get(6)?,
        assertion_encryption_mode: r.try_get(7)?,
        private_keys: serde_json::from_str(&keys).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
    })
}

pub const OIDC_COLS: &str = "arn, account_id, url, client_ids, thumbprints, created_at";

/// A JSON array of strings as stored; anything else reads as a corrupt row.
fn string_list(text: &str) -> Result<Vec<String>, sqlx::Error> {
    serde_json::from_str(text).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

pub fn oidc_provider(r: &AnyRow) -> Result<OidcProviderRecord, sqlx::Error> {
    Ok(OidcProviderRecord {
        arn: r.try_get(0)?,
        account_id: r.try_get(1)?,
        url: r.try_get(2)?,
        client_ids: string_list(&r.try_get::<String, _>(3)?)?,
        thumbprints: string_list(&r.try_get::<String, _>(4)?)?,
        created_at: r.try_get(5)?,
    })
}

pub const INSTANCE_PROFILE_COLS: &str = "account_id, instance_profile_id, name, path, created_at";
pub const GROUP_COLS: &str = "account_id, group_id, name, path, created_at";
pub const ROLE_COLS: &str = "account_id, role_id, name, path, created_at, assume_role_policy, description, max_session_duration, permissions_boundary, last_used_at, last_used_region";
pub const POLICY_COLS: &str = "account_id, policy_id, name, path, arn, description, default_version, next_version, created_at, updated_at";
pub const VERSION_COLS: &str = "policy_id, version_id, document, created_at";
pub const KEY_COLS: &str = "access_key_id, account_id, user_id, secret_sealed, status, created_at, last_used_at, last_used_service, last_used_region";
pub const MFA_COLS: &str = "serial_number, account_id, name, path, user_id, assigned_root, seed_sealed, created_at, enabled_at, last_step, kind";
pub const ACCOUNT_COLS: &str = "account_id, created_at, root_email, root_password_hash, alias";

pub fn account(r: &AnyRow) -> Result<AccountRecord, sqlx::Error> {
    Ok(AccountRecord {
        account_id: r.try_get(0)?,
        created_at: r.try_get(1)?,
        root_email: r.try_get(2)?,
        root_password_hash: r.try_get(3)?,
        alias: r.try_get(4)?,
    })
}

pub fn user(r: &AnyRow) -> Result<UserRecord, sqlx::Error> {
    Ok(UserRecord {
        account_id: r.try_get(0)?,
        user_id: r.try_get(1)?,
        name: r.try_get(2)?,
        path: r.try_get(3)?,
        created_at: r.try_get(4)?,
        permissions_boundary: r.try_get(5)?,
        password_last_used: r.try_get(6)?,
    })
}

pub fn instance_profile(r: &AnyRow) -> Result<InstanceProfileRecord, sqlx::Error> {
    Ok(InstanceProfileRecord {
        account_id: r.try_get(0)?,
        instance_profile_id: r.try_get(1)?,
        name: r.try_get(2)?,
        path: r.try_get(3)?,
        created_at: r.try_get(4)?,
    })
}

pub fn group(r: &AnyRow) -> Result<GroupRecord, sqlx::Error> {
    Ok(GroupRecord {
        account_id: r.try_get(0)?,
        group_id: r.try_get(1)?,
        name: r.try_get(2)?,
        path: r.try_get(3)?,
        created_at: r.try_get(4)?,
    })
}

pub fn role(r: &AnyRow) -> Result<RoleRecord, sqlx::Error> {
    Ok(RoleRecord {
        account_id: r.try_get(0)?,
        role_id: r.try_get(1)?,
        name: r.try_get(2)?,
        path: r.try_get(3)?,
        created_at: r.try_get(4)?,
        assume_role_policy: r.try_get(5)?,
        description: r.try_get(6)?,
        max_session_duration: r.try_get(7)?,
        permissions_boundary: r.try_get(8)?,
        last_used_at: r.try_get(9)?,
        last_used_region: r.try_get(10)?,
    })
}

pub fn policy(r: &AnyRow) -> Result<PolicyRecord, sqlx::Error> {
    Ok(PolicyRecord {
        account_id: r.try_get(0)?,
        policy_id: r.try_get(1)?,
        name: r.try_get(2)?,
        path: r.try_get(3)?,
        arn: r.try_get(4)?,
        description: r.try_get(5)?,
        default_version: r.try_get(6)?,
        next_version: r.try_get(7)?,
        created_at: r.try_get(8)?,
        updated_at: r.try_get(9)?,
    })
}

pub fn version(r: &AnyRow) -> Result<PolicyVersionRecord, sqlx::Error> {
    Ok(PolicyVersionRecord {
        policy_id: r.try_get(0)?,
        version_id: r.try_get(1)?,
        document: r.try_get(2)?,
        created_at: r.try_get(3)?,
    })
}

pub fn access_key(r: &AnyRow) -> Result<AccessKeyRecord, sqlx::Error> {
    Ok(AccessKeyRecord {
        access_key_id: r.try_get(0)?,
        account_id: r.try_get(1)?,
        user_id: r.try_get(2)?,
        secret_sealed: r.try_get(3)?,
        status: status(r, 4)?,
        created_at: r.try_get(5)?,
        last_used_at: r.try_get(6)?,
        last_used_service: r.try_get(7)?,
        last_used_region: r.try_get(8)?,
    })
}

pub fn login_profile(r: &AnyRow) -> Result<LoginProfileRecord, sqlx::Error> {
    let reset: i64 = r.try_get(2)?;
    Ok(LoginProfileRecord {
        user_id: r.try_get(0)?,
        password_hash: r.try_get(1)?,
        reset_required: reset != 0,
        created_at: r.try_get(3)?,
        password_changed_at: r.try_get(4)?,
    })
}

pub fn mfa_device(r: &AnyRow) -> Result<MfaDeviceRecord, sqlx::Error> {
    let root: i64 = r.try_get(5)?;
    Ok(MfaDeviceRecord {
        serial_number: r.try_get(0)?,
        account_id: r.try_get(1)?,
        name: r.try_get(2)?,
        path: r.try_get(3)?,
        user_id: r.try_get(4)?,
        assigned_root: root != 0,
        seed_sealed: r.try_get(6)?,
        created_at: r.try_get(7)?,
        enabled_at: r.try_get(8)?,
        last_step: r.try_get(9)?,
        kind: MfaKind::parse(&r.try_get::<String, _>(10)?),
    })
}

pub const ORG_OBJECT_COLS: &str = "object_id, org_id, kind, parent_id, unique_key, created_at, body";

pub fn org_object(r: &AnyRow) -> Result<OrgObjectRecord, sqlx::Error> {
    let kind: String = r.try_get(2)?;
    Ok(OrgObjectRecord {
        object_id: r.try_get(0)?,
        org_id: r.try_get(1)?,
        kind: OrgObjectKind::parse(&kind).ok_or_else(|| sqlx::Error::Decode(format!("unknown organization object kind {kind}").into()))?,
        parent_id: r.try_get(3)?,
        unique_key: r.try_get(4)?,
        created_at: r.try_get(5)?,
        body: r.try_get(6)?,
    })
}

pub fn org_link(r: &AnyRow) -> Result<OrgLinkRecord, sqlx::Error> {
    Ok(OrgLinkRecord { from_id: r.try_get(0)?, to_id: r.try_get(1)?, created_at: r.try_get(2)? })
}

pub fn event(r: &AnyRow) -> Result<EventRecord, sqlx::Error> {
    let read_only: i64 = r.try_get(5)?;
    Ok(EventRecord {
        event_id: r.try_get(0)?,
        account_id: r.try_get(1)?,
        event_time: r.try_get(2)?,
        event_name: r.try_get(3)?,
        event_source: r.try_get(4)?,
        read_only: read_only != 0,
        username: r.try_get(6)?,
        access_key_id: r.try_get(7)?,
        resources: Vec::new(),
        body: r.try_get(8)?,
    })
}
