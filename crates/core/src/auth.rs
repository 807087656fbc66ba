//! Who is calling, and the capability that proves a call was authorized.

use portcullis_store::UserRecord;

use crate::{iam_arn, Iam, IamError, IamResult};

#[derive(Debug, Clone)]
pub enum Principal {
    /// The account's root user.
    Root,
    User(UserRecord),
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account_id: String,
    pub principal: Principal,
    pub access_key_id: String,
}

impl Caller {
    pub fn arn(&self) -> String {
        match &self.principal {
            Principal::Root => format!("arn:aws:iam::{}:root", self.account_id),
            Principal::User(u) => iam_arn(&self.account_id, "user", &u.path, &u.name),
        }
    }

    /// The `UserId` AWS reports for the caller (the account id for root).
    pub fn user_id(&self) -> &str {
        match &self.principal {
            Principal::Root => &self.account_id,
            Principal::User(u) => &u.user_id,
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
}

const INVALID_TOKEN: &str = "The security token included in the request is invalid.";

impl Iam {
    /// Resolves an access key id to its caller and its secret (for SigV4 verification).
    /// Unknown and inactive keys, and keys of deleted users, are refused alike.
    pub async fn resolve_access_key(&self, access_key_id: &str) -> IamResult<(Caller, String)> {
        let mut tx = self.store.begin().await?;
        let key = tx
            .get_access_key(access_key_id)
            .await?
            .filter(|k| k.status == "Active")
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
        Ok((Caller { account_id: key.account_id, principal, access_key_id: key.access_key_id }, secret))
    }

    /// Notes when, where and for which service a key was last used.
    pub async fn record_key_use(&self, access_key_id: &str, service: &str, region: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        tx.record_access_key_use(access_key_id, self.now(), service, region).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The authorization seam. Every authenticated principal is allowed for now; the policy
    /// evaluator takes this place (action and resource ARNs are already passed in).
    pub fn authorize<'a>(&self, caller: &'a Caller, _action: &str, _resources: &[String]) -> IamResult<Authorized<'a>> {
        Ok(Authorized { caller })
    }
}

/// Associated data that binds a sealed secret access key to its key id.
pub(crate) fn secret_aad(access_key_id: &str) -> String {
    format!("access-key:{access_key_id}")
}
