//! ListPoliciesGrantingServiceAccess: which of an identity's permissions policies allow some
//! action of each service named (identity policies only, as AWS documents: no boundaries,
//! resource policies or SCPs). A user's include its groups'; a group's and a role's only
//! their own.

use portcullis_types::Arn;
use portcullis_policy::PolicyKind;
use portcullis_store::{PrincipalKind, Tx};

use crate::policies::principal_id;
use crate::{Authorized, Iam, IamError, IamResult};

/// A policy that grants access to a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantingPolicy {
    pub name: String,
    /// `INLINE` or `MANAGED`.
    pub policy_type: &'static str,
    /// For managed policies.
    pub arn: Option<String>,
    /// For inline policies: `USER`, `GROUP` or `ROLE`, and the entity's name.
    pub entity: Option<(&'static str, String)>,
}

/// One requested service and the policies that grant access to it.
#[derive(Debug, Clone)]
pub struct ServiceAccess {
    pub namespace: String,
    pub policies: Vec<GrantingPolicy>,
}

impl Iam {
    pub async fn policies_granting_service_access(&self, auth: &Authorized<'_>, arn: &str, namespaces: &[String]) -> IamResult<Vec<ServiceAccess>> {
        let account = auth.account();
        let parsed = Arn::parse(arn).ok();
        let name = parsed.as_ref().map_or("", Arn::name);
        let (kind, entity_type) = match parsed.as_ref().map(Arn::kind) {
            Some("user") => (PrincipalKind::User, "USER"),
            Some("group") => (PrincipalKind::Group, "GROUP"),
            Some("role") => (PrincipalKind::Role, "ROLE"),
            _ => return Err(IamError::InvalidInput(format!("ARN {arn} is not valid: it must name an IAM user, group or role."))),
        };
        let mut tx = self.store.begin_read().await?;
        let id = principal_id(&mut tx, account, kind, name).await?;
        let mut owners = vec![(kind, id.clone(), entity_type, name.to_owned())];
        if kind == PrincipalKind::User {
            for g in tx.groups_for_user(&id).await? {
                owners.push((PrincipalKind::Group, g.group_id, "GROUP", g.name));
            }
        }
        let mut found: Vec<(GrantingPolicy, portcullis_policy::Policy)> = Vec::new();
        for (kind, id, entity_type, entity_name) in &owners {
            for policy_name in tx.inline_policy_names(*kind, id).await? {
                if let Some(doc) = tx.get_inline_policy(*kind, id, &policy_name).await? {
                    if let Ok(p) = portcullis_policy::parse(&doc, PolicyKind::Identity) {
                        let g = GrantingPolicy { name: policy_name, policy_type: "INLINE", arn: None, entity: Some((entity_type, entity_name.clone())) };
                        found.push((g, p));
                    }
                }
            }
            for policy_arn in tx.attached_policies(*kind, id).await? {
                if found.iter().any(|(g, _)| g.arn.as_deref() == Some(policy_arn.as_str())) {
                    continue;
                }
                if let Some(doc) = self.managed_document(&mut tx, account, &policy_arn).await? {
                    if let Ok(p) = portcullis_policy::parse(&doc, PolicyKind::Identity) {
                        let name = policy_arn.rsplit('/').next().unwrap_or_default().to_owned();
                        found.push((GrantingPolicy { name, policy_type: "MANAGED", arn: Some(policy_arn), entity: None }, p));
                    }
                }
            }
        }
        Ok(namespaces
            .iter()
            .map(|ns| ServiceAccess {
                namespace: ns.clone(),
                policies: found.iter().filter(|(_, p)| p.statements().iter().any(|s| s.allows_some_of_service(ns))).map(|(g, _)| g.clone()).collect(),
            })
            .collect())
    }

    /// A managed policy's default document: AWS's from the catalog, the account's from the store.
    pub(crate) async fn managed_document(&self, tx: &mut Box<dyn Tx>, account: &str, arn: &str) -> IamResult<Option<String>> {
        if let Some(p) = self.catalog().get(arn) {
            return Ok(Some(p.document.clone()));
        }
        let Some(rec) = tx.get_policy(arn).await?.filter(|p| p.account_id == account) else { return Ok(None) };
        Ok(tx.get_policy_version(&rec.policy_id, &rec.default_version).await?.map(|v| v.document))
    }
}
