//! Tag rules shared by every taggable resource (users, roles, policies, MFA devices,
//! instance profiles), and the tag/untag steps of their Tag* and Untag* operations.

use portcullis_store::{Tag, TagTarget, Tx};

use crate::{Authorized, Iam, IamError, IamResult, Page, PageRequest};

/// A taggable resource, as a Tag*/Untag*/List*Tags request names it.
#[derive(Debug, Clone, Copy)]
pub enum Tagged<'a> {
    User(&'a str),
    Role(&'a str),
    /// A customer managed policy's ARN.
    Policy(&'a str),
    /// An MFA device's serial number.
    MfaDevice(&'a str),
    InstanceProfile(&'a str),
    /// An OpenID Connect provider's ARN.
    OidcProvider(&'a str),
    ServerCertificate(&'a str),
    /// A SAML provider's ARN.
    SamlProvider(&'a str),
}

impl Iam {
    /// Where a resource's tags are kept, or the resource's own not-found answer.
    async fn tags_of(&self, tx: &mut Box<dyn Tx>, account: &str, r: Tagged<'_>) -> IamResult<(TagTarget, String)> {
        Ok(match r {
            Tagged::User(name) => (TagTarget::User, crate::users::load_user(tx, account, name).await?.user_id),
            Tagged::Role(name) => (TagTarget::Role, crate::roles::load_role(tx, account, name).await?.role_id),
            Tagged::Policy(arn) => (TagTarget::Policy, self.load_local_policy(tx, account, arn).await?.policy_id),
            Tagged::MfaDevice(serial) => {
                tx.get_mfa_device(serial).await?.filter(|d| d.account_id == account).ok_or_else(|| crate::mfa::no_device(serial))?;
                (TagTarget::MfaDevice, serial.to_owned())
            }
            Tagged::InstanceProfile(name) => {
                (TagTarget::InstanceProfile, crate::instance_profiles::load_profile(tx, account, name).await?.instance_profile_id)
            }
            Tagged::OidcProvider(arn) => {
                crate::oidc_providers::load_provider(tx, account, arn).await?;
                (TagTarget::OidcProvider, arn.to_owned())
            }
            Tagged::SamlProvider(arn) => {
                crate::saml_providers::load_saml_provider(tx, account, arn).await?;
                (TagTarget::SamlProvider, arn.to_owned())
            }
            Tagged::ServerCertificate(name) => {
                (TagTarget::ServerCertificate, crate::server_certificates::load_server_certificate(tx, account, name).await?.server_certificate_id)
            }
        })
    }

    /// TagUser, TagRole, TagPolicy, TagMFADevice, TagInstanceProfile, TagOpenIDConnectProvider,
    /// TagServerCertificate.
    pub async fn tag_resource(&self, auth: &Authorized<'_>, r: Tagged<'_>, new_tags: &[Tag]) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        protected_role(&mut tx, auth.account(), &r).await?;
        let (target, id) = self.tags_of(&mut tx, auth.account(), r).await?;
        add(&mut tx, target, &id, new_tags).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The Untag* operations; keys not present are ignored.
    pub async fn untag_resource(&self, auth: &Authorized<'_>, r: Tagged<'_>, keys: &[String]) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        protected_role(&mut tx, auth.account(), &r).await?;
        let (target, id) = self.tags_of(&mut tx, auth.account(), r).await?;
        remove_keys(&mut tx, target, &id, keys).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The List*Tags operations, in the order the tags were added; a managed policy's
    /// shortest key first, then by key, as AWS answered ListPolicyTags when recorded
    /// (`abc`, `b`, `z`, `a` listed as `a`, `b`, `z`, `abc`).
    pub async fn list_resource_tags(&self, auth: &Authorized<'_>, r: Tagged<'_>, page: &PageRequest) -> IamResult<Page<Tag>> {
        let mut tx = self.store.begin_read().await?;
        let (target, id) = self.tags_of(&mut tx, auth.account(), r).await?;
        let mut tags = tx.tags(target, &id).await?;
        if target == TagTarget::Policy {
            tags.sort_by(|a, b| (a.key.len(), &a.key).cmp(&(b.key.len(), &b.key)));
        }
        Page::from_all(tags, page)
    }
}

/// Tag keys compare ignoring case, except on managed policies.
fn case_insensitive(target: TagTarget) -> bool {
    target != TagTarget::Policy
}

/// Adds tags to a resource (TagUser, TagRole, ...), inside the operation's transaction.
pub(crate) async fn add(tx: &mut Box<dyn Tx>, target: TagTarget, id: &str, new: &[Tag]) -> IamResult<()> {
    let merged = merge(tx.tags(target, id).await?, new, case_insensitive(target))?;
    tx.set_tags(target, id, &merged).await?;
    Ok(())
}

/// Removes tags by key (UntagUser, UntagRole, ...); keys not present are ignored.
pub(crate) async fn remove_keys(tx: &mut Box<dyn Tx>, target: TagTarget, id: &str, keys: &[String]) -> IamResult<()> {
    let kept = remove(tx.tags(target, id).await?, keys, case_insensitive(target));
    tx.set_tags(target, id, &kept).await?;
    Ok(())
}

pub const MAX_TAGS: usize = 50;

/// Merges `new` into `existing`: a key already present takes the new value and the new
/// spelling (recorded from AWS: tagging `Somekey` over `somekey` leaves `Somekey`). Keys
/// compare ignoring case for users and roles, exactly for policies.
pub fn merge(existing: Vec<Tag>, new: &[Tag], case_insensitive: bool) -> Result<Vec<Tag>, IamError> {
    let same = |a: &str, b: &str| if case_insensitive { a.eq_ignore_ascii_case(b) } else { a == b };
    for (i, t) in new.iter().enumerate() {
        if t.key.to_ascii_lowercase().starts_with("aws:") {
            return Err(IamError::InvalidInput(
                "User-defined tag keys can't start with \"aws:\". This prefix is reserved for AWS use.".to_owned(),
            ));
        }
        if new[..i].iter().any(|o| same(&o.key, &t.key)) {
            return Err(IamError::InvalidInput(if case_insensitive {
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.".to_owned()
            } else {
                "Duplicate tag keys found.".to_owned()
            }));
        }
    }
    let mut out = existing;
    for t in new {
        match out.iter_mut().find(|o| same(&o.key, &t.key)) {
            Some(o) => *o = t.clone(),
            None => out.push(t.clone()),
        }
    }
    if out.len() > MAX_TAGS {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for TagsPerResource: {MAX_TAGS}"
        )));
    }
    Ok(out)
}

pub fn remove(existing: Vec<Tag>, keys: &[String], case_insensitive: bool) -> Vec<Tag> {
    existing
        .into_iter()
        .filter(|t| {
            !keys.iter().any(|k| if case_insensitive { k.eq_ignore_ascii_case(&t.key) } else { *k == t.key })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(k: &str, v: &str) -> Tag {
        Tag { key: k.into(), value: v.into() }
    }

    #[test]
    fn merge_rules() {
        let merged = merge(vec![tag("Env", "dev")], &[tag("env", "prod"), tag("team", "a")], true).unwrap();
        assert_eq!(merged, vec![tag("env", "prod"), tag("team", "a")]);
        assert!(merge(vec![], &[tag("a", "1"), tag("A", "2")], true).is_err());
        assert!(merge(vec![], &[tag("a", "1"), tag("A", "2")], false).is_ok());
        assert!(merge(vec![], &[tag("aws:x", "1")], true).is_err());
        let many: Vec<Tag> = (0..51).map(|i| tag(&format!("k{i}"), "")).collect();
        assert!(matches!(merge(vec![], &many, true), Err(IamError::LimitExceeded(_))));
        assert_eq!(remove(vec![tag("Env", "1"), tag("b", "2")], &["env".into()], true), vec![tag("b", "2")]);
    }
}

/// A service's own role (service-linked or reserved) keeps its tags as the service set them.
async fn protected_role(tx: &mut Box<dyn portcullis_store::Tx>, account: &str, r: &Tagged<'_>) -> IamResult<()> {
    if let Tagged::Role(name) = r {
        crate::service_linked_roles::check_modifiable(&crate::roles::load_role(tx, account, name).await?)?;
    }
    Ok(())
}
