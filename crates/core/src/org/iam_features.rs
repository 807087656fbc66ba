//! IAM's centralized root access for an organization: ListOrganizationsFeatures and
//! Enable/Disable OrganizationsRootCredentialsManagement and OrganizationsRootSessions.
//! They need the organization's trusted access for `iam.amazonaws.com`, all features, and
//! (to change them) the management account.

use portcullis_store::OrgLinkKind;

use super::*;

/// The features IAM's centralized root access has.
pub const ROOT_CREDENTIALS_MANAGEMENT: &str = "RootCredentialsManagement";
pub const ROOT_SESSIONS: &str = "RootSessions";

fn iam_err(code: &'static str, message: &str) -> IamError {
    IamError::service(code, message, &[])
}

impl Iam {
    /// The organization's id and enabled root-access features, after `change` (a feature and
    /// whether to enable it) when one is given.
    pub async fn iam_organization_features(&self, auth: &Authorized<'_>, change: Option<(&'static str, bool)>) -> IamResult<(String, Vec<String>)> {
        let mut tx = self.store.begin().await?;
        let Some((mut org, _)) = membership(&mut tx, auth.account()).await? else {
            return Err(crate::organizations::no_organization());
        };
        if org.body.feature_set != "ALL" {
            return Err(iam_err("OrganizationNotInAllFeaturesModeException", "The request failed because your organization does not have All features enabled."));
        }
        if org.management() != auth.account() {
            return Err(match change {
                Some(_) => iam_err("CallerIsNotManagementAccountException", "The request was rejected because the account making the request is not the management account for the organization."),
                None => iam_err("AccountNotManagementOrDelegatedAdministratorException", "The request was rejected because the account making the request is not the management account or delegated administrator account for centralized root access."),
            });
        }
        let trusted = !tx.org_links(&org.id, OrgLinkKind::ServiceAccess, Some(&org.id), Some("iam.amazonaws.com")).await?.is_empty();
        if !trusted {
            return Err(iam_err(
                "ServiceAccessNotEnabledException",
                "The request was rejected because trusted access is not enabled for IAM in Organizations. For details, see IAM and Organizations in the Organizations User Guide.",
            ));
        }
        if let Some((feature, enable)) = change {
            org.body.iam_features.retain(|f| f != feature);
            if enable {
                org.body.iam_features.push(feature.to_owned());
                org.body.iam_features.sort();
            }
            policies::save_org(&mut tx, &org).await?;
            tx.commit().await?;
        }
        Ok((org.id, org.body.iam_features))
    }
}

impl Iam {
    /// Whether a principal of `caller_account` may open a root session in `target`: the
    /// caller's account manages the organization `target` belongs to (and is not `target`
    /// itself), and the organization has `RootSessions` enabled.
    pub(crate) async fn may_open_root_session(&self, caller_account: &str, target: &str) -> IamResult<bool> {
        let mut tx = self.store.begin_read().await?;
        let Some((org, _)) = membership(&mut tx, caller_account).await? else { return Ok(false) };
        if org.management() != caller_account || target == caller_account || !org.body.iam_features.iter().any(|f| f == ROOT_SESSIONS) {
            return Ok(false);
        }
        Ok(membership(&mut tx, target).await?.is_some_and(|(member_org, _)| member_org.id == org.id))
    }
}
