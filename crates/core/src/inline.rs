//! Inline policies embedded in a user, group or role.

use portcullis_policy::PolicyKind;
use portcullis_store::PrincipalKind;

use crate::policies::{check_document, principal_id};
use crate::{Authorized, Iam, IamError, IamResult, Page, PageRequest};

/// AWS's per-principal quota on the total size of its inline policies.
fn size_quota(kind: PrincipalKind) -> usize {
    match kind {
        PrincipalKind::User => 2048,
        PrincipalKind::Group => 5120,
        PrincipalKind::Role => 10240,
    }
}

impl Iam {
    pub async fn put_inline_policy(&self, auth: &Authorized<'_>, kind: PrincipalKind, principal: &str, name: &str, document: &str) -> IamResult<()> {
        check_document(document, PolicyKind::Identity)?;
        let mut tx = self.store.begin().await?;
        crate::service_linked_roles::check_principal_modifiable(&mut tx, auth.account(), kind, principal).await?;
        let id = principal_id(&mut tx, auth.account(), kind, principal).await?;
        tx.lock(&format!("{}:{id}", kind.as_str())).await?;
        // The quota covers all of the principal's inline policies together.
        let mut total = portcullis_policy::policy_size(document);
        for other in tx.inline_policy_names(kind, &id).await? {
            if other != name {
                if let Some(doc) = tx.get_inline_policy(kind, &id, &other).await? {
                    total += portcullis_policy::policy_size(&doc);
                }
            }
        }
        let quota = size_quota(kind);
        if total > quota {
            return Err(IamError::LimitExceeded(format!(
                "Maximum policy size of {quota} bytes exceeded for {} {principal}",
                kind.as_str()
            )));
        }
        tx.put_inline_policy(kind, &id, name, document).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn get_inline_policy(&self, auth: &Authorized<'_>, kind: PrincipalKind, principal: &str, name: &str) -> IamResult<String> {
        let mut tx = self.store.begin_read().await?;
        let id = principal_id(&mut tx, auth.account(), kind, principal).await?;
        tx.get_inline_policy(kind, &id, name).await?.ok_or_else(|| no_such_inline(kind, name))
    }

    pub async fn delete_inline_policy(&self, auth: &Authorized<'_>, kind: PrincipalKind, principal: &str, name: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        crate::service_linked_roles::check_principal_modifiable(&mut tx, auth.account(), kind, principal).await?;
        let id = principal_id(&mut tx, auth.account(), kind, principal).await?;
        if !tx.delete_inline_policy(kind, &id, name).await? {
            return Err(no_such_inline(kind, name));
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_inline_policies(&self, auth: &Authorized<'_>, kind: PrincipalKind, principal: &str, page: &PageRequest) -> IamResult<Page<String>> {
        let mut tx = self.store.begin_read().await?;
        let id = principal_id(&mut tx, auth.account(), kind, principal).await?;
        Page::from_all(tx.inline_policy_names(kind, &id).await?, page)
    }
}

fn no_such_inline(kind: PrincipalKind, name: &str) -> IamError {
    IamError::NoSuchEntity(format!("The {} policy with name {name} cannot be found.", kind.as_str()))
}
