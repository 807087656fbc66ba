//! IAM Identity Center: an instance (for an organization, in its management account, or
//! for one account), its identity store of users, groups and memberships
//! ([`identity_store`]), and permission sets assigned to users and groups in the
//! organization's accounts, which provisioning turns into a SAML provider and a role in
//! each account ([`sso_admin`]).
//!
//! Objects are [`OrgObjectRecord`]s whose bodies are JSON objects in the API's own member
//! names, so what is stored is what Describe* answers.

mod identity_store;
mod portal;
mod sso_admin;

use portcullis_store::{OrgObjectKind, OrgObjectRecord, Tx};
use serde_json::{Map, Value};

use crate::{Authorized, IamError, IamResult};

pub use portal::{unauthorized as portal_unauthorized, PortalKeyChallenge, PortalKeyRegistration, PortalMfaSetup, PortalMfaState, PortalSecondFactor, PortalSignIn, PortalUser, UsersWithoutMfa};
pub use sso_admin::{AccountAssignmentInput, PermissionSetInput};
pub use identity_store::DirectoryEntity;

/// `ResourceNotFoundException` naming the resource's type and id.
fn not_found(resource_type: &str, resource_id: &str, message: &str) -> IamError {
    IamError::service("ResourceNotFoundException", message, &[("ResourceType", resource_type), ("ResourceId", resource_id)])
}

fn conflict(reason: &str, message: &str) -> IamError {
    IamError::service("ConflictException", message, &[("Reason", reason)])
}

fn validation(message: impl Into<String>) -> IamError {
    IamError::service("ValidationException", message, &[])
}

fn access_denied(message: &str) -> IamError {
    IamError::service("AccessDeniedException", message, &[])
}

/// A resource id as current identity stores make them: a UUID.
fn new_resource_id() -> IamResult<String> {
    Ok(uuid::Uuid::new_v4().to_string())
}

/// `n` random hex digits.
fn hex(n: usize) -> IamResult<String> {
    let bytes = portcullis_credentials::random_bytes::<16>()?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()[..n.min(32)].to_owned())
}

fn object_body(rec: &OrgObjectRecord) -> IamResult<Map<String, Value>> {
    match serde_json::from_str(&rec.body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(IamError::ServiceFailure(format!("identity center object {} does not decode", rec.object_id))),
    }
}

fn text(m: &Map<String, Value>, k: &str) -> String {
    m.get(k).and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// A page of a listing, `NextToken` being the position of the next item.
pub struct SsoPage {
    pub items: Vec<Value>,
    pub next_token: Option<String>,
}

fn paginate(all: Vec<Value>, next_token: Option<&str>, max_results: Option<i64>, default: usize) -> IamResult<SsoPage> {
    let (items, next_token) = crate::page::positional(all, next_token, max_results, default).map_err(|()| validation("The given token is invalid."))?;
    Ok(SsoPage { items, next_token })
}

/// The identity store a request names, when the caller's account owns it.
#[derive(Debug, Clone)]
struct Directory {
    id: String,
}

async fn directory(tx: &mut Box<dyn Tx>, auth: &Authorized<'_>, store_id: &str) -> IamResult<Directory> {
    let rec = tx.get_org_object(store_id).await?.filter(|r| r.kind == OrgObjectKind::IdentityStore);
    match rec {
        Some(r) if text(&object_body(&r)?, "OwnerAccountId") == auth.account() => Ok(Directory { id: r.object_id }),
        Some(_) => Err(access_denied("User is not authorized to perform this action on the identity store.")),
        None => Err(not_found("IDENTITY_STORE", store_id, &format!("IdentityStore not present for IdentityStoreId: {store_id}"))),
    }
}
