//! Who is calling, and the capability that proves a call was authorized.

use portcullis_store::{RoleRecord, UserRecord};

use crate::{iam_arn, Iam, IamError, IamResult};

#[derive(Debug, Clone)]
pub enum Principal {
    /// The account's root user.
    Root,
    User(UserRecord),
    /// A role session from AssumeRole.
    AssumedRole { role: RoleRecord, session_name: String },
    /// A federated user's session from GetFederationToken: the IAM user's permissions,
    /// narrowed by the session policies it was given.
    FederatedUser { user: UserRecord, name: String },
    /// The bearer of an identity provider's token (OpenID Connect) or assertion (SAML),
    /// from a provider the account trusts, asking AssumeRoleWithWebIdentity or
    /// AssumeRoleWithSAML for a role: a caller of that one decision only, with no policies
    /// of its own and never holding credentials.
    ProviderUser { protocol: Federation, provider_arn: String, subject: String },
}

/// How an identity provider's user proves who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Federation {
    /// An OpenID Connect token (AssumeRoleWithWebIdentity).
    WebIdentity,
    /// A SAML 2.0 assertion (AssumeRoleWithSAML).
    Saml,
}

/// Facts about the request itself that policies may test (`aws:SourceIp`, …).
#[derive(Debug, Clone, Default)]
pub struct RequestFacts {
    pub source_ip: Option<String>,
    pub secure_transport: bool,
    /// The region of the SigV4 credential scope (`aws:RequestedRegion`).
    pub region: String,
    pub user_agent: Option<String>,
}

/// A temporary-credential session (GetSessionToken or AssumeRole).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Session {
    pub issued_at: i64,
    pub expires_at: i64,
    /// When the MFA code was checked, for `aws:MultiFactorAuthPresent`/`Age`.
    pub mfa_authenticated_at: Option<i64>,
    /// Session policies (inline and the documents of PolicyArns), as JSON text.
    pub policies: Vec<String>,
    pub source_identity: Option<String>,
    pub tags: Vec<(String, String)>,
    /// Keys of `tags` that pass on to the sessions this one assumes.
    pub transitive_tag_keys: Vec<String>,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account_id: String,
    pub principal: Principal,
    pub access_key_id: String,
    pub session: Option<Session>,
    pub request: RequestFacts,
}

impl Caller {
    pub fn arn(&self) -> String {
        match &self.principal {
            Principal::Root => crate::root_arn(&self.account_id),
            Principal::User(u) => iam_arn(&self.account_id, "user", &u.path, &u.name),
            Principal::AssumedRole { role, session_name } => {
                format!("arn:aws:sts::{}:assumed-role/{}/{session_name}", self.account_id, role.name)
            }
            Principal::ProviderUser { provider_arn, .. } => provider_arn.clone(),
            Principal::FederatedUser { name, .. } => format!("arn:aws:sts::{}:federated-user/{name}", self.account_id),
        }
    }

    /// The `UserId` AWS reports for the caller: the account id for root, `AROA…:session`
    /// for a role session.
    pub fn user_id(&self) -> String {
        match &self.principal {
            Principal::Root => self.account_id.clone(),
            Principal::User(u) => u.user_id.clone(),
            Principal::AssumedRole { role, session_name } => format!("{}:{session_name}", role.role_id),
            Principal::ProviderUser { provider_arn, subject, .. } => format!("{provider_arn}:{subject}"),
            Principal::FederatedUser { name, .. } => format!("{}:{name}", self.account_id),
        }
    }

    /// The caller as an owner of its own things (access keys, MFA devices): None for root.
    pub fn user(&self) -> Option<&portcullis_store::UserRecord> {
        match &self.principal {
            Principal::User(u) => Some(u),
            _ => None,
        }
    }
}

/// Proof that the authorizer allowed a request. Only `Iam::authorize` builds one, and
/// every domain operation takes one, so no operation can run unauthorized.
#[derive(Debug)]
pub struct Authorized<'a> {
    caller: &'a Caller,
}

impl<'a> Authorized<'a> {
    pub fn caller(&self) -> &'a Caller {
        self.caller
    }

    pub fn account(&self) -> &'a str {
        &self.caller.account_id
    }

    pub(crate) fn new(caller: &'a Caller) -> Self {
        Self { caller }
    }
}

pub(crate) const INVALID_TOKEN: &str = "The security token included in the request is invalid.";

impl Iam {
    /// Resolves a long-term access key id to its caller and its secret (for SigV4
    /// verification). Unknown and inactive keys, and keys of deleted users, are refused alike.
    pub async fn resolve_access_key(&self, access_key_id: &str, request: RequestFacts) -> IamResult<(Caller, String)> {
        let (caller, secret) = self.resolve_access_key_of_any_account(access_key_id, request).await?;
        self.refuse_closed_account(&caller.account_id).await?;
        Ok((caller, secret))
    }

    /// A closed (suspended) member account's credentials are known no more.
    pub(crate) async fn refuse_closed_account(&self, account_id: &str) -> IamResult<()> {
        if self.account_closed(account_id).await? {
            return Err(IamError::InvalidClientTokenId(INVALID_TOKEN.to_owned()));
        }
        Ok(())
    }

    async fn resolve_access_key_of_any_account(&self, access_key_id: &str, request: RequestFacts) -> IamResult<(Caller, String)> {
        // Resolved keys are cached like policies: any IAM write through this server (such
        // as deactivating or deleting a key) makes them stale at once.
        if let Some((account_id, principal, secret)) = self.cache.key(access_key_id) {
            let caller = Caller { account_id, principal, access_key_id: access_key_id.to_owned(), session: None, request };
            return Ok((caller, secret));
        }
        let generation = self.cache.generation();
        let mut tx = self.store.begin_read().await?;
        let key = tx
            .get_access_key(access_key_id)
            .await?
            .filter(|k| k.status.is_active())
            .ok_or_else(|| IamError::InvalidClientTokenId(INVALID_TOKEN.to_owned()))?;
        let principal = match &key.user_id {
            None => Principal::Root,
            Some(uid) => Principal::User(
                tx.get_user_by_id(uid)
                    .await?
                    .ok_or_else(|| IamError::InvalidClientTokenId(INVALID_TOKEN.to_owned()))?,
            ),
        };
        let secret = self.secrets.open(&key.secret_sealed, &secret_aad(&key.access_key_id))?;
        let secret = String::from_utf8(secret).map_err(|e| IamError::ServiceFailure(e.to_string()))?;
        self.cache.put_key(&key.access_key_id, generation, &key.account_id, &principal, &secret);
        let caller = Caller { account_id: key.account_id, principal, access_key_id: key.access_key_id, session: None, request };
        Ok((caller, secret))
    }

    /// Whether a key's use for this service and region should be written now, noting that
    /// it is: a key used again for the same service and region within a minute is not
    /// written again, so busy keys cost one write a minute, not one per request. Cheap and
    /// synchronous, so the request path only starts a write when one is due.
    pub fn key_use_due(&self, access_key_id: &str, service: &str, region: &str) -> bool {
        let now = self.now();
        let Ok(mut seen) = self.last_used.lock() else { return false };
        // Places are kept per key, service and region: a key alternating between services
        // must not turn every request into a write. Looking up needs no allocation.
        if let Some(places) = seen.get_mut(access_key_id) {
            // A bounded list per key: past it, start again (at worst one more write each).
            if places.len() >= 512 {
                places.clear();
            }
            match places.iter_mut().find(|(s, r, _)| s == service && r == region) {
                Some((_, _, at)) if now - *at < 60 => return false,
                Some((_, _, at)) => *at = now,
                None => places.push((service.to_owned(), region.to_owned(), now)),
            }
            return true;
        }
        if seen.len() > 100_000 {
            seen.clear();
        }
        seen.insert(access_key_id.to_owned(), vec![(service.to_owned(), region.to_owned(), now)]);
        true
    }

    /// Notes when, where and for which service a key was last used (after `key_use_due`),
    /// through the audit trail's writer.
    pub fn note_key_use(&self, access_key_id: &str, service: &str, region: &str) {
        self.queue_key_use(access_key_id, service, region);
    }
}

/// Associated data that binds a sealed secret access key to its key id.
pub(crate) fn secret_aad(access_key_id: &str) -> String {
    format!("access-key:{access_key_id}")
}
