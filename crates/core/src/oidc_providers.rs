//! OpenID Connect identity providers: the issuers whose tokens `AssumeRoleWithWebIdentity`
//! accepts, with the audiences (client ids) and certificate thumbprints the account trusts.
//! A provider is named by its ARN, `arn:aws:iam::ACCOUNT:oidc-provider/HOST/PATH` (the issuer
//! URL without `https://`).

use portcullis_store::{OidcProviderRecord, Tag, TagTarget, Tx};

use crate::{tags, Authorized, Iam, IamError, IamResult};

/// AWS's quotas: providers per account, client ids and thumbprints per provider.
const PROVIDERS_PER_ACCOUNT: usize = 100;
const CLIENT_IDS_PER_PROVIDER: usize = 100;
const THUMBPRINTS_PER_PROVIDER: usize = 5;

/// A provider as GetOpenIDConnectProvider shows it.
#[derive(Debug, Clone)]
pub struct OidcProviderView {
    pub provider: crate::views::OidcProvider,
    pub tags: Vec<Tag>,
}

fn no_such_provider(arn: &str) -> IamError {
    IamError::NoSuchEntity(format!("OpenIDConnect Provider not found for arn {arn}"))
}

/// The issuer URL as stored: without `https://`, its path (and a trailing slash) kept, as
/// AWS names the provider; anything but an `https://` URL without query or user is AWS's
/// ValidationError. Unlike AWS, a port is allowed, so that issuers run locally (on
/// `localhost:8443`, say) can be trusted.
pub(crate) fn provider_url(url: &str) -> IamResult<String> {
    let invalid = || IamError::Validation("Invalid Open ID Connect Provider URL".to_owned());
    let rest = url.strip_prefix("https://").filter(|r| !r.is_empty() && !r.starts_with('/')).ok_or_else(invalid)?;
    let authority = rest.split('/').next().unwrap_or_default();
    let (host, port) = match authority.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.chars().all(|c| c.is_ascii_digit()));
    let host_ok = port_ok && host.split('.').all(|label| !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    if !host_ok || rest.contains(['?', '#', ' ']) {
        return Err(invalid());
    }
    Ok(rest.to_owned())
}

fn check_thumbprints(thumbprints: &[String]) -> IamResult<()> {
    if thumbprints.len() > THUMBPRINTS_PER_PROVIDER {
        // AWS's words, although five are allowed.
        return Err(IamError::InvalidInput(format!("Thumbprint list must contain fewer than {THUMBPRINTS_PER_PROVIDER} entries.")));
    }
    Ok(())
}

/// Client ids without repeats, in the order first given.
fn distinct(ids: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(ids.len());
    for id in ids {
        if !out.contains(id) {
            out.push(id.clone());
        }
    }
    out
}

pub(crate) async fn load_provider(tx: &mut Box<dyn Tx>, account: &str, arn: &str) -> IamResult<OidcProviderRecord> {
    tx.get_oidc_provider(arn).await?.filter(|p| p.account_id == account).ok_or_else(|| no_such_provider(arn))
}

impl Iam {
    pub async fn create_oidc_provider(&self, auth: &Authorized<'_>, url: &str, client_ids: &[String], thumbprints: &[String], new_tags: &[Tag]) -> IamResult<crate::views::OidcProvider> {
        let given = url;
        let url = provider_url(url)?;
        check_thumbprints(thumbprints)?;
        let client_ids = distinct(client_ids);
        if client_ids.len() > CLIENT_IDS_PER_PROVIDER {
            return Err(IamError::LimitExceeded(format!("Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: {CLIENT_IDS_PER_PROVIDER}")));
        }
        let tags = tags::merge(Vec::new(), new_tags, true)?;
        let account = auth.account();
        let arn = crate::iam_resource_arn(account, &format!("oidc-provider/{url}"));
        let mut tx = self.store.begin().await?;
        tx.lock(&format!("oidc-providers:{account}")).await?;
        let existing = tx.list_oidc_providers(account).await?;
        if existing.iter().any(|p| p.arn == arn) {
            return Err(IamError::EntityAlreadyExists(format!("Provider with url {given} already exists.")));
        }
        if existing.len() >= PROVIDERS_PER_ACCOUNT {
            return Err(IamError::LimitExceeded(format!("Cannot exceed quota for OpenIdConnectProvidersPerAccount: {PROVIDERS_PER_ACCOUNT}")));
        }
        let rec = OidcProviderRecord {
            arn: arn.clone(),
            account_id: account.to_owned(),
            url,
            client_ids,
            thumbprints: thumbprints.to_vec(),
            created_at: self.now(),
        };
        tx.insert_oidc_provider(&rec).await?;
        tx.set_tags(TagTarget::OidcProvider, &arn, &tags).await?;
        tx.commit().await?;
        Ok(rec.into())
    }

    pub async fn get_oidc_provider(&self, auth: &Authorized<'_>, arn: &str) -> IamResult<OidcProviderView> {
        let mut tx = self.store.begin_read().await?;
        let provider = load_provider(&mut tx, auth.account(), arn).await?;
        let tags = tx.tags(TagTarget::OidcProvider, arn).await?;
        Ok(OidcProviderView { provider: provider.into(), tags })
    }

    pub async fn list_oidc_providers(&self, auth: &Authorized<'_>) -> IamResult<Vec<crate::views::OidcProvider>> {
        let mut tx = self.store.begin_read().await?;
        Ok(tx.list_oidc_providers(auth.account()).await?.into_iter().map(Into::into).collect())
    }

    pub async fn delete_oidc_provider(&self, auth: &Authorized<'_>, arn: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        // AWS words this one differently from GetOpenIDConnectProvider's.
        tx.get_oidc_provider(arn)
            .await?
            .filter(|p| p.account_id == auth.account())
            .ok_or_else(|| IamError::NoSuchEntity(format!("OpenId connect Provider {arn} cannot be found.")))?;
        tx.delete_oidc_provider(arn).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds a client id (one already there is kept once), removes one (an absent one is
    /// no error), or replaces the thumbprints.
    async fn change_oidc_provider(&self, auth: &Authorized<'_>, arn: &str, change: impl FnOnce(&mut OidcProviderRecord) -> IamResult<()>) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        tx.lock(&format!("oidc-provider:{arn}")).await?;
        let mut provider = load_provider(&mut tx, auth.account(), arn).await?;
        change(&mut provider)?;
        tx.update_oidc_provider(&provider).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn add_oidc_client_id(&self, auth: &Authorized<'_>, arn: &str, client_id: &str) -> IamResult<()> {
        self.change_oidc_provider(auth, arn, |p| {
            if !p.client_ids.iter().any(|c| c == client_id) {
                if p.client_ids.len() >= CLIENT_IDS_PER_PROVIDER {
                    return Err(IamError::LimitExceeded(format!("Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: {CLIENT_IDS_PER_PROVIDER}")));
                }
                p.client_ids.push(client_id.to_owned());
            }
            Ok(())
        })
        .await
    }

    pub async fn remove_oidc_client_id(&self, auth: &Authorized<'_>, arn: &str, client_id: &str) -> IamResult<()> {
        self.change_oidc_provider(auth, arn, |p| {
            p.client_ids.retain(|c| c != client_id);
            Ok(())
        })
        .await
    }

    pub async fn update_oidc_thumbprints(&self, auth: &Authorized<'_>, arn: &str, thumbprints: &[String]) -> IamResult<()> {
        check_thumbprints(thumbprints)?;
        self.change_oidc_provider(auth, arn, |p| {
            p.thumbprints = thumbprints.to_vec();
            Ok(())
        })
        .await
    }
}
