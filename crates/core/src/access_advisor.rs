//! Access advisor: when a user or role was last allowed each service, from what the
//! authorizer records (every allowed request notes its principal, action and Region, at most
//! once a minute per principal and action, off the request path).
//!
//! `GenerateServiceLastAccessedDetails` records a job (the entity and when it was asked);
//! `GetServiceLastAccessedDetails` answers, as of that moment, for every service the
//! entity's permissions policies allow: when it was last used, by whom and where, and for
//! `ACTION_LEVEL` jobs the tracked actions of IAM, EC2, Lambda and S3.
//! `GetServiceLastAccessedDetailsWithEntities` lists who (users, roles) had access to one
//! service through the entity and when each last used it.

use portcullis_types::Arn;
use std::collections::BTreeMap;

use portcullis_policy::{Policy, PolicyKind};
use portcullis_store::{AccessReportRecord, ActionAccessRecord, PageQuery, PrincipalKind, Tx};

use crate::{iam_arn, Caller, Iam, IamError, IamResult, Principal};

/// Every member of a group (a group holds at most the account's users).
const ALL: PageQuery<'static> = PageQuery { path_prefix: None, after: None, limit: 1_000_000 };

/// Services whose actions are reported one by one in `ACTION_LEVEL` jobs.
const TRACKED_ACTION_SERVICES: [&str; 4] = ["ec2", "iam", "lambda", "s3"];

fn service_names() -> &'static BTreeMap<String, String> {
    static NAMES: std::sync::OnceLock<BTreeMap<String, String>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| serde_json::from_str(include_str!("../../../catalog/service-names.json")).unwrap_or_default())
}

/// A user or role a report is about (or one that had access through a group or policy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportEntity {
    pub arn: String,
    pub name: String,
    /// `USER` or `ROLE`.
    pub entity_type: &'static str,
    pub id: String,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedAction {
    pub action_name: String,
    pub entity: String,
    pub at: i64,
    pub region: String,
}

/// One service of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceLastAccessed {
    pub name: String,
    pub namespace: String,
    /// When, by whom and where the service was last used (none: never, in the tracking period).
    pub last: Option<(i64, String, String)>,
    pub total_entities: i64,
    /// For `ACTION_LEVEL` jobs and tracked services.
    pub tracked_actions: Option<Vec<TrackedAction>>,
}

/// A finished report (Portcullis answers at once: jobs are `COMPLETED` when first read).
#[derive(Debug, Clone)]
pub struct AccessReport {
    pub job: crate::views::AccessReportJob,
    pub services: Vec<ServiceLastAccessed>,
}

/// Who had access to one service through the job's entity, and when each last used it.
#[derive(Debug, Clone)]
pub struct EntityAccessReport {
    pub job: crate::views::AccessReportJob,
    pub entities: Vec<(ReportEntity, Option<i64>)>,
}

/// Whether a noted use is of an action of the service `namespace`.
fn of_service(u: &ActionAccessRecord, namespace: &str) -> bool {
    u.action.split(':').next().is_some_and(|s| s.eq_ignore_ascii_case(namespace))
}

fn no_such_job(job_id: &str) -> IamError {
    IamError::NoSuchEntity(format!("Job {job_id} does not exist."))
}

/// What a report covers: the permissions policies, and the users and roles whose use counts.
struct Scope {
    /// The entity's ARN as stored (its real path).
    arn: String,
    policies: Vec<Policy>,
    entities: Vec<ReportEntity>,
}

impl Scope {
    /// Whether the policies allow some action of the service and none denies all of it
    /// (permissions boundaries are not considered, as AWS's reports do not).
    fn grants(&self, namespace: &str) -> bool {
        let statements = || self.policies.iter().flat_map(|p| p.statements().iter());
        statements().any(|s| s.allows_some_of_service(namespace)) && !statements().any(|s| s.denies_all_of_service(namespace))
    }
}

impl Iam {
    /// Notes that the caller was allowed an action, for access advisor. Users and role
    /// sessions are tracked (by the user's or role's ARN); the write is due at most once a
    /// minute per principal and action and does not delay the request.
    pub fn note_access(&self, caller: &Caller, action: &str) {
        let entity = match &caller.principal {
            Principal::User(u) => iam_arn(&caller.account_id, "user", &u.path, &u.name),
            Principal::AssumedRole { role, .. } => iam_arn(&caller.account_id, "role", &role.path, &role.name),
            _ => return,
        };
        // Only actions of known services and Region-shaped Regions are noted: a caller must
        // not be able to grow the notes with made-up names.
        let known = action.split_once(':').is_some_and(|(service, name)| {
            service_names().contains_key(&service.to_ascii_lowercase()) && (1..=128).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric())
        });
        let region = if caller.request.region.is_empty() { "us-east-1" } else { caller.request.region.as_str() };
        let region_shaped = (9..=25).contains(&region.len()) && region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !known || !region_shaped {
            return;
        }
        let region = region.to_owned();
        if !self.key_use_due(&format!("access:{entity}"), action, &region) {
            return;
        }
        let rec = ActionAccessRecord { entity_arn: entity, action: action.to_owned(), region, accessed_at: self.now() };
        self.queue_action_access(&caller.account_id, rec);
    }

    /// The policies and entities a report on `arn` covers (NoSuchEntity when it does not
    /// exist). As AWS, the entity is found by its name; the path in the ARN is not checked.
    async fn report_scope(&self, tx: &mut Box<dyn Tx>, caller: &Caller, arn: &str) -> IamResult<Scope> {
        let account = caller.account_id.as_str();
        let parsed = Arn::parse(arn).map_err(|_| IamError::Validation("Invalid ARN".to_owned()))?;
        if parsed.partition != "aws" {
            return Err(IamError::Validation("Invalid ARN partition".to_owned()));
        }
        if parsed.service != "iam" {
            return Err(IamError::Validation("Invalid service in ARN".to_owned()));
        }
        if parsed.account != account && !(parsed.account == "aws" && parsed.kind() == "policy") {
            return Err(IamError::AccessDenied(format!("User: {} is not authorized to perform the operation on {arn}", caller.arn())));
        }
        let resource = parsed.resource.as_str();
        let name = parsed.name();
        let missing = || IamError::NoSuchEntity(format!("ARN {arn} does not exist."));
        let mut scope = Scope { arn: arn.to_owned(), policies: Vec::new(), entities: Vec::new() };
        let user_entity = |u: &portcullis_store::UserRecord| ReportEntity {
            arn: iam_arn(account, "user", &u.path, &u.name),
            name: u.name.clone(),
            entity_type: "USER",
            id: u.user_id.clone(),
            path: u.path.clone(),
        };
        let role_entity = |r: portcullis_store::RoleRecord| ReportEntity {
            arn: iam_arn(account, "role", &r.path, &r.name),
            name: r.name,
            entity_type: "ROLE",
            id: r.role_id,
            path: r.path,
        };
        match Some(parsed.kind()) {
            Some("user") => {
                let user = tx.get_user(account, name).await?.ok_or_else(missing)?;
                scope.arn = iam_arn(account, "user", &user.path, &user.name);
                self.collect_policies(tx, account, PrincipalKind::User, &user.user_id, &mut scope.policies).await?;
                for g in tx.groups_for_user(&user.user_id).await? {
                    self.collect_policies(tx, account, PrincipalKind::Group, &g.group_id, &mut scope.policies).await?;
                }
                scope.entities.push(user_entity(&user));
            }
            Some("role") => {
                let role = tx.get_role(account, name).await?.ok_or_else(missing)?;
                scope.arn = iam_arn(account, "role", &role.path, &role.name);
                self.collect_policies(tx, account, PrincipalKind::Role, &role.role_id, &mut scope.policies).await?;
                scope.entities.push(role_entity(role));
            }
            Some("group") => {
                let group = tx.get_group(account, name).await?.ok_or_else(missing)?;
                scope.arn = iam_arn(account, "group", &group.path, &group.name);
                self.collect_policies(tx, account, PrincipalKind::Group, &group.group_id, &mut scope.policies).await?;
                scope.entities.extend(tx.group_members(&group.group_id, &ALL).await?.iter().map(user_entity));
            }
            Some("policy") => {
                let doc = self.managed_document(tx, account, arn).await?.ok_or_else(missing)?;
                scope.policies.extend(portcullis_policy::parse(&doc, PolicyKind::Identity).ok());
                for (_, kind, id) in tx.policy_attachments(account, arn).await? {
                    match kind {
                        PrincipalKind::User => scope.entities.extend(tx.get_user_by_id(&id).await?.as_ref().map(user_entity)),
                        PrincipalKind::Role => scope.entities.extend(tx.get_role_by_id(&id).await?.map(role_entity)),
                        PrincipalKind::Group => scope.entities.extend(tx.group_members(&id, &ALL).await?.iter().map(user_entity)),
                    }
                }
                scope.entities.sort_by(|a, b| a.arn.cmp(&b.arn));
                scope.entities.dedup();
            }
            _ if resource == "root" => return Err(IamError::InvalidInput(format!("Invalid Entity Arn: {arn} is not supported."))),
            _ => return Err(missing()),
        }
        Ok(scope)
    }

    async fn collect_policies(&self, tx: &mut Box<dyn Tx>, account: &str, kind: PrincipalKind, id: &str, into: &mut Vec<Policy>) -> IamResult<()> {
        for name in tx.inline_policy_names(kind, id).await? {
            if let Some(doc) = tx.get_inline_policy(kind, id, &name).await? {
                into.extend(portcullis_policy::parse(&doc, PolicyKind::Identity).ok());
            }
        }
        for arn in tx.attached_policies(kind, id).await? {
            if let Some(doc) = self.managed_document(tx, account, &arn).await? {
                into.extend(portcullis_policy::parse(&doc, PolicyKind::Identity).ok());
            }
        }
        Ok(())
    }

    /// GenerateServiceLastAccessedDetails: a job id for a report on a user, group, role or
    /// managed policy.
    pub async fn generate_service_last_accessed(&self, auth: &crate::Authorized<'_>, arn: &str, granularity: Option<&str>) -> IamResult<String> {
        let (account, caller) = (auth.account(), auth.caller());
        let granularity = granularity.unwrap_or("SERVICE_LEVEL").to_owned();
        let mut tx = self.store.begin().await?;
        let scope = self.report_scope(&mut tx, caller, arn).await?;
        // The entity is found by name whatever the path asked (as AWS): the caller must be
        // allowed on the entity's real ARN too.
        if scope.arn != arn {
            self.authorize(caller, &crate::AuthzRequest::new("iam:GenerateServiceLastAccessedDetails", scope.arn.clone())).await?;
        }
        let job_id = uuid::Uuid::new_v4().to_string();
        let rec = AccessReportRecord {
            job_id: job_id.clone(),
            account_id: account.to_owned(),
            arn: arn.to_owned(),
            granularity,
            requested_by: caller.arn(),
            created_at: self.now(),
        };
        tx.insert_access_report(&rec).await?;
        tx.commit().await?;
        Ok(job_id)
    }

    /// A job, for the caller who asked for it only (another user, or another session of the
    /// same role, is told it does not exist).
    async fn load_job(&self, tx: &mut Box<dyn Tx>, caller: &Caller, job_id: &str) -> IamResult<AccessReportRecord> {
        tx.get_access_report(job_id)
            .await?
            .filter(|j| j.account_id == caller.account_id && j.requested_by == caller.arn())
            .ok_or_else(|| no_such_job(job_id))
    }

    /// A job of the caller's, what it covers, and the uses of its entities up to its creation.
    async fn job_with_uses(&self, caller: &Caller, job_id: &str) -> IamResult<(AccessReportRecord, Scope, Vec<ActionAccessRecord>)> {
        let mut tx = self.store.begin_read().await?;
        let job = self.load_job(&mut tx, caller, job_id).await?;
        let scope = self.report_scope(&mut tx, caller, &job.arn).await?;
        let arns: Vec<String> = scope.entities.iter().map(|e| e.arn.clone()).collect();
        let uses = tx.action_accesses(&caller.account_id, &arns, job.created_at).await?;
        Ok((job, scope, uses))
    }

    /// GetServiceLastAccessedDetails.
    pub async fn service_last_accessed(&self, auth: &crate::Authorized<'_>, job_id: &str) -> IamResult<AccessReport> {
        let (job, scope, uses) = self.job_with_uses(auth.caller(), job_id).await?;
        let action_level = job.granularity == "ACTION_LEVEL";
        let mut services = Vec::new();
        for (namespace, name) in service_names() {
            if !scope.grants(namespace) {
                continue;
            }
            let of_service: Vec<&ActionAccessRecord> = uses.iter().filter(|u| of_service(u, namespace)).collect();
            let last = of_service.iter().max_by_key(|u| u.accessed_at).map(|u| (u.accessed_at, u.entity_arn.clone(), u.region.clone()));
            let mut who: Vec<&str> = of_service.iter().map(|u| u.entity_arn.as_str()).collect();
            who.sort_unstable();
            who.dedup();
            let tracked_actions = (action_level && TRACKED_ACTION_SERVICES.contains(&namespace.as_str())).then(|| {
                let mut latest: BTreeMap<String, &ActionAccessRecord> = BTreeMap::new();
                for u in &of_service {
                    let action = u.action.split(':').nth(1).unwrap_or_default().to_owned();
                    if latest.get(&action).is_none_or(|old| old.accessed_at < u.accessed_at) {
                        latest.insert(action, u);
                    }
                }
                latest.into_iter().map(|(action_name, u)| TrackedAction { action_name, entity: u.entity_arn.clone(), at: u.accessed_at, region: u.region.clone() }).collect()
            });
            services.push(ServiceLastAccessed { name: name.clone(), namespace: namespace.clone(), last, total_entities: who.len() as i64, tracked_actions });
        }
        Ok(AccessReport { job: job.into(), services })
    }

    /// GetServiceLastAccessedDetailsWithEntities: the users and roles that had access to one
    /// service through the job's entity, and when each last used it.
    pub async fn service_last_accessed_entities(&self, auth: &crate::Authorized<'_>, job_id: &str, namespace: &str) -> IamResult<EntityAccessReport> {
        if !service_names().contains_key(namespace) {
            return Err(IamError::InvalidInput(format!("Service namepace {namespace} is either invalid or unsupported.")));
        }
        let (job, scope, uses) = self.job_with_uses(auth.caller(), job_id).await?;
        let granted = scope.grants(namespace);
        let entities = scope
            .entities
            .into_iter()
            .filter(|_| granted)
            .map(|e| {
                let last = uses
                    .iter()
                    .filter(|u| u.entity_arn == e.arn && of_service(u, namespace))
                    .map(|u| u.accessed_at)
                    .max();
                (e, last)
            })
            .collect();
        Ok(EntityAccessReport { job: job.into(), entities })
    }
}
