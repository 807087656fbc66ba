//! AWS Organizations: many accounts in one server. An organization has one management
//! account, one root, organizational units below it, member accounts in the root or a
//! unit, and policies (service control policies above all) attached to the root, units and
//! accounts. The objects live in the store as [`OrgObjectRecord`]s whose bodies are the
//! serde types of this module; attachments are links.
//!
//! Service control policies are enforced in [`Iam::decide_with`]: a member account's
//! requests need an Allow at every level from the root down to the account ([`Iam::scp_levels`]).

mod handshakes;
mod iam_features;
mod policies;
mod structure;

use std::sync::Arc;

use portcullis_policy::{Policy, PolicyKind};
use portcullis_store::{OrgLinkKind, OrgObjectKind, OrgObjectRecord, Tag, Tx};
use serde::{Deserialize, Serialize};

use crate::{Authorized, Iam, IamError, IamResult};

pub use iam_features::{ROOT_CREDENTIALS_MANAGEMENT, ROOT_SESSIONS};
pub use policies::{PolicyTargetView, PolicyView};
pub use structure::{AccountView, ChildView, CreateAccountInput, CreateAccountStatusView, OrganizationView, RootView, UnitView, EnabledServiceView};

/// The AWS-managed service control policy every root, unit and account starts with.
pub const FULL_AWS_ACCESS_ID: &str = "p-FullAWSAccess";
const FULL_AWS_ACCESS_ARN: &str = "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess";
const FULL_AWS_ACCESS_CONTENT: &str =
    "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Effect\": \"Allow\",\n      \"Action\": \"*\",\n      \"Resource\": \"*\"\n    }\n  ]\n}";
const SCP: &str = "SERVICE_CONTROL_POLICY";

/// An error of the Organizations API.
fn err(code: &'static str, message: impl Into<String>) -> IamError {
    IamError::service(code, message, &[])
}

fn err_with(code: &'static str, reason: &'static str, message: impl Into<String>) -> IamError {
    IamError::service(code, message, &[("Reason", reason)])
}

fn constraint(reason: &'static str, message: impl Into<String>) -> IamError {
    err_with("ConstraintViolationException", reason, message)
}

fn invalid_input(reason: &'static str, message: impl Into<String>) -> IamError {
    err_with("InvalidInputException", reason, message)
}

fn not_in_use() -> IamError {
    err("AWSOrganizationsNotInUseException", "Your account is not a member of an organization.")
}

fn access_denied() -> IamError {
    err("AccessDeniedException", "You don't have permissions to access this resource.")
}

/// The organization as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct OrgBody {
    feature_set: String,
    management_account_id: String,
    management_email: String,
    root_id: String,
    /// Policy types enabled at the root.
    policy_types: Vec<String>,
    /// IAM's centralized root access features enabled for the organization
    /// (`RootCredentialsManagement`, `RootSessions`).
    #[serde(default)]
    iam_features: Vec<String>,
}

/// A root, unit, account or policy's own fields: its name and tags, and what else its kind has.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct ObjectBody {
    name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tags: Vec<(String, String)>,
    // Accounts
    #[serde(default, skip_serializing_if = "String::is_empty")]
    email: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    status: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    joined_method: String,
    // Policies
    #[serde(default, skip_serializing_if = "String::is_empty")]
    description: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    policy_type: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    content: String,
    // CreateAccount requests
    #[serde(default, skip_serializing_if = "String::is_empty")]
    state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    completed_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failure_reason: Option<String>,
}

fn body_of<T: for<'de> Deserialize<'de>>(rec: &OrgObjectRecord) -> IamResult<T> {
    serde_json::from_str(&rec.body).map_err(|e| IamError::ServiceFailure(format!("organization object {} does not decode: {e}", rec.object_id)))
}

fn to_body<T: Serialize>(body: &T) -> IamResult<String> {
    serde_json::to_string(body).map_err(|e| IamError::ServiceFailure(e.to_string()))
}

/// The caller's organization, loaded for one operation.
#[derive(Debug, Clone)]
struct Org {
    id: String,
    body: OrgBody,
    created_at: i64,
}

impl Org {
    fn management(&self) -> &str {
        &self.body.management_account_id
    }

    fn arn(&self) -> String {
        format!("arn:aws:organizations::{}:organization/{}", self.management(), self.id)
    }

    /// The ARN of its root, a unit or an account.
    fn object_arn(&self, kind: OrgObjectKind, id: &str) -> String {
        let m = self.management();
        match kind {
            OrgObjectKind::Root => format!("arn:aws:organizations::{m}:root/{}/{id}", self.id),
            OrgObjectKind::Unit => format!("arn:aws:organizations::{m}:ou/{}/{id}", self.id),
            OrgObjectKind::Account => format!("arn:aws:organizations::{m}:account/{}/{id}", self.id),
            // Policies have `policy_arn`; nothing else of an organization is shown by ARN.
            _ => self.arn(),
        }
    }

    fn policy_arn(&self, policy_type: &str, id: &str) -> String {
        if id == FULL_AWS_ACCESS_ID {
            return FULL_AWS_ACCESS_ARN.to_owned();
        }
        format!("arn:aws:organizations::{}:policy/{}/{}/{id}", self.management(), self.id, policy_type.to_ascii_lowercase())
    }

    fn scps_enabled(&self) -> bool {
        self.body.policy_types.iter().any(|t| t == SCP)
    }
}

/// The organization an account belongs to, with its membership record.
async fn membership(tx: &mut Box<dyn Tx>, account_id: &str) -> IamResult<Option<(Org, OrgObjectRecord)>> {
    let Some(member) = tx.get_org_object(account_id).await?.filter(|r| r.kind == OrgObjectKind::Account) else {
        return Ok(None);
    };
    let Some(rec) = tx.get_org_object(&member.org_id).await?.filter(|r| r.kind == OrgObjectKind::Organization) else {
        return Ok(None);
    };
    Ok(Some((Org { id: rec.object_id.clone(), body: body_of(&rec)?, created_at: rec.created_at }, member)))
}

/// The caller's organization, or AWS's answer for an account outside one.
async fn caller_org(tx: &mut Box<dyn Tx>, auth: &Authorized<'_>) -> IamResult<Org> {
    membership(tx, auth.account()).await?.map(|(org, _)| org).ok_or_else(not_in_use)
}

/// The caller's organization when the caller is its management account.
async fn managed_org(tx: &mut Box<dyn Tx>, auth: &Authorized<'_>) -> IamResult<Org> {
    let org = caller_org(tx, auth).await?;
    if org.management() != auth.account() {
        return Err(access_denied());
    }
    Ok(org)
}

/// The organization an account manages, if it is an organization's management account.
pub(crate) async fn management_org_of(tx: &mut Box<dyn Tx>, account_id: &str) -> IamResult<Option<String>> {
    Ok(membership(tx, account_id).await?.filter(|(org, _)| org.management() == account_id).map(|(org, _)| org.id))
}

/// Random ids in AWS's formats.
fn new_id(prefix: &str, n: usize) -> IamResult<String> {
    Ok(format!("{prefix}{}", portcullis_credentials::lower_alnum(n)?))
}

/// A page of a listing: `NextToken` is the position of the next item.
pub struct OrgPage<T> {
    pub items: Vec<T>,
    pub next_token: Option<String>,
}

fn paginate<T>(all: Vec<T>, next_token: Option<&str>, max_results: Option<i64>) -> IamResult<OrgPage<T>> {
    let (items, next_token) = crate::page::positional(all, next_token, max_results, 20).map_err(|()| invalid_input("INVALID_NEXT_TOKEN", "The NextToken value is invalid."))?;
    Ok(OrgPage { items, next_token })
}

/// Tags as the API shows them.
fn tag_list(tags: &[(String, String)]) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag { key: k.clone(), value: v.clone() }).collect()
}

/// Tags given with a request: no `aws:` keys, no key twice, at most 50.
fn checked_tags(existing: &[(String, String)], new: &[Tag]) -> IamResult<Vec<(String, String)>> {
    let mut out = existing.to_vec();
    for (i, t) in new.iter().enumerate() {
        if t.key.to_ascii_lowercase().starts_with("aws:") {
            return Err(invalid_input("INVALID_SYSTEM_TAGS_PARAMETER", "You provided a value that does not match the required pattern."));
        }
        if new[..i].iter().any(|o| o.key == t.key) {
            return Err(invalid_input("DUPLICATE_TAG_KEY", "Duplicate tag key."));
        }
        match out.iter_mut().find(|(k, _)| *k == t.key) {
            Some(slot) => slot.1 = t.value.clone(),
            None => out.push((t.key.clone(), t.value.clone())),
        }
    }
    if out.len() > 50 {
        return Err(constraint("MAX_TAG_LIMIT_EXCEEDED", "You have exceeded the maximum number of tags allowed on this resource."));
    }
    Ok(out)
}

/// The SCPs attached to one level (the root, a unit on the way down, the account).
#[derive(Debug)]
pub(crate) struct ScpLevel {
    /// The root's, unit's or account's id.
    pub target: String,
    pub policies: Vec<(String, Arc<Policy>)>,
}

/// The SCPs that apply to an account, by level from the root down (each level must allow).
pub(crate) type ScpLevels = Vec<ScpLevel>;

impl Iam {
    /// The service control policies a request of `account_id` must pass: none (`None`) for an
    /// account outside an organization, its management account, or an organization without
    /// SCPs enabled.
    pub(crate) async fn scp_levels(&self, account_id: &str) -> IamResult<Option<Arc<ScpLevels>>> {
        if let Some(hit) = self.cache.scps(account_id) {
            return Ok(hit);
        }
        let generation = self.cache.generation();
        let levels = self.load_scp_levels(account_id).await?.map(Arc::new);
        self.cache.put_scps(account_id, generation, levels.clone());
        Ok(levels)
    }

    /// The Organizations ARN of an object of `account`'s organization named by its id (a
    /// policy, account, unit, root or handshake), for the authorizer; `None` when there is
    /// none.
    pub(crate) async fn org_object_arn(&self, account: &str, id: &str) -> IamResult<Option<String>> {
        if id.is_empty() {
            return Ok(None);
        }
        let mut tx = self.store.begin_read().await?;
        let Some((org, _)) = membership(&mut tx, account).await? else { return Ok(None) };
        if id == FULL_AWS_ACCESS_ID {
            return Ok(Some(FULL_AWS_ACCESS_ARN.to_owned()));
        }
        let Some(rec) = tx.get_org_object(id).await?.filter(|r| r.org_id == org.id) else { return Ok(None) };
        Ok(Some(match rec.kind {
            OrgObjectKind::Policy => org.policy_arn(&body_of::<ObjectBody>(&rec)?.policy_type, id),
            OrgObjectKind::Handshake => format!("arn:aws:organizations::{}:handshake/{}/invite/{id}", org.management(), org.id),
            kind => org.object_arn(kind, id),
        }))
    }

    /// Whether an account is a closed (suspended) member of an organization.
    pub(crate) async fn account_closed(&self, account_id: &str) -> IamResult<bool> {
        if account_id.is_empty() {
            return Ok(false);
        }
        if let Some(hit) = self.cache.closed(account_id) {
            return Ok(hit);
        }
        let generation = self.cache.generation();
        let mut tx = self.store.begin_read().await?;
        let closed = match membership(&mut tx, account_id).await? {
            Some((_, member)) => body_of::<ObjectBody>(&member)?.status == "SUSPENDED",
            None => false,
        };
        self.cache.put_closed(account_id, generation, closed);
        Ok(closed)
    }

    async fn load_scp_levels(&self, account_id: &str) -> IamResult<Option<ScpLevels>> {
        let mut tx = self.store.begin_read().await?;
        let Some((org, member)) = membership(&mut tx, account_id).await? else { return Ok(None) };
        if org.management() == account_id || !org.scps_enabled() {
            return Ok(None);
        }
        // The path from the account up to the root, then walked down.
        let mut path = vec![member.object_id.clone()];
        let mut parent = member.parent_id.clone();
        while let Some(id) = parent {
            path.push(id.clone());
            parent = match tx.get_org_object(&id).await? {
                Some(rec) if rec.kind == OrgObjectKind::Unit => rec.parent_id,
                _ => None,
            };
            if path.len() > 8 {
                break;
            }
        }
        path.reverse();
        let mut levels = Vec::with_capacity(path.len());
        for target in &path {
            let mut level = Vec::new();
            for link in tx.org_links(&org.id, OrgLinkKind::PolicyTarget, None, Some(target)).await? {
                let (name, text) = if link.from_id == FULL_AWS_ACCESS_ID {
                    ("FullAWSAccess".to_owned(), FULL_AWS_ACCESS_CONTENT.to_owned())
                } else {
                    let Some(rec) = tx.get_org_object(&link.from_id).await? else { continue };
                    let body: ObjectBody = body_of(&rec)?;
                    if body.policy_type != SCP {
                        continue;
                    }
                    (format!("{} ({})", body.name, rec.object_id), body.content)
                };
                match portcullis_policy::parse(&text, PolicyKind::Scp) {
                    Ok(p) => level.push((name, Arc::new(p))),
                    // A stored SCP that does not parse allows nothing at its level.
                    Err(e) => tracing::error!(policy = %name, error = %e.message, "stored service control policy does not parse"),
                }
            }
            levels.push(ScpLevel { target: target.clone(), policies: level });
        }
        Ok(Some(levels))
    }
}
