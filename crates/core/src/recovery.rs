//! Recovery codes: ten single-use codes an identity with MFA may create, each of which
//! replaces a lost MFA device once at console sign-in. Only a hash of each is stored (a code
//! carries 80 random bits, so a plain SHA-256 under the owner's name is enough); a code's
//! use is recorded, and a person who signs in with one is told to assign a new device.
//! The codes go when the identity's last MFA device goes.

use portcullis_store::{Tx, UserRecord};

use crate::mfa::{mfa_throttle_key, owns};
use crate::{Caller, Iam, IamError, IamResult, Principal};

pub const RECOVERY_CODES: usize = 10;

/// The key recovery codes are stored under.
pub(crate) fn recovery_owner(account: &str, user: Option<&UserRecord>) -> String {
    user.map_or_else(|| format!("root:{account}"), |u| format!("user:{}", u.user_id))
}

/// A code as people may type it: case, spaces and dashes do not matter.
fn normalise(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect()
}

fn code_hash(owner: &str, code: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(format!("portcullis-recovery:{owner}:{}", normalise(code)).as_bytes()))
}

/// How many of an identity's recovery codes are left, and when one was last used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryCodeStatus {
    pub unused: usize,
    pub total: usize,
    pub last_used: Option<i64>,
}

impl Iam {
    /// Creates ten new recovery codes for the caller itself (replacing any earlier ones) and
    /// returns them, the only time they are shown. The caller must have an MFA device, and
    /// an IAM user `iam:EnableMFADevice` on itself (what managing its own MFA takes).
    pub async fn create_recovery_codes(&self, caller: &Caller) -> IamResult<Vec<String>> {
        self.authorize_own_mfa(caller).await?;
        let owner = recovery_owner(&caller.account_id, caller.user());
        let mut tx = self.store.begin().await?;
        tx.lock(&format!("recovery:{owner}")).await?;
        let has_device = tx.mfa_devices(&caller.account_id).await?.iter().any(|d| d.enabled_at.is_some() && owns(d, caller.user()));
        if !has_device {
            return Err(IamError::Validation("Assign an MFA device first: recovery codes stand in for a lost one.".to_owned()));
        }
        let mut codes = Vec::with_capacity(RECOVERY_CODES);
        for _ in 0..RECOVERY_CODES {
            let raw = data_encoding::BASE32_NOPAD.encode(&portcullis_credentials::random_bytes::<10>()?);
            let grouped: Vec<&str> = (0..raw.len()).step_by(4).map(|i| &raw[i..(i + 4).min(raw.len())]).collect();
            codes.push(grouped.join("-"));
        }
        let hashes: Vec<String> = codes.iter().map(|c| code_hash(&owner, c)).collect();
        tx.replace_recovery_codes(&caller.account_id, &owner, &hashes, self.now()).await?;
        tx.commit().await?;
        tracing::info!(owner = %owner, "recovery codes created");
        Ok(codes)
    }

    /// The caller's own recovery codes: how many are left.
    pub async fn recovery_code_status(&self, caller: &Caller) -> IamResult<RecoveryCodeStatus> {
        // Only users and the root user have codes; no other caller stands for the root user.
        if !matches!(caller.principal, Principal::Root | Principal::User(_)) {
            return Ok(RecoveryCodeStatus { unused: 0, total: 0, last_used: None });
        }
        let owner = recovery_owner(&caller.account_id, caller.user());
        let mut tx = self.store.begin_read().await?;
        let codes = tx.recovery_codes(&owner).await?;
        Ok(RecoveryCodeStatus {
            unused: codes.iter().filter(|c| c.used_at.is_none()).count(),
            total: codes.len(),
            last_used: codes.iter().filter_map(|c| c.used_at).max(),
        })
    }

    /// Spends one of the identity's recovery codes (at sign-in, in place of an MFA device);
    /// returns how many are left. Wrong codes count towards the identity's MFA throttle.
    pub(crate) async fn use_recovery_code(&self, caller: &Caller, code: &str) -> IamResult<usize> {
        let failed = || IamError::AccessDenied("MultiFactorAuthentication failed: the recovery code is not valid.".to_owned());
        if !matches!(caller.principal, Principal::Root | Principal::User(_)) {
            return Err(failed());
        }
        let throttle_key = mfa_throttle_key(&caller.account_id, caller.user());
        if self.throttled(&throttle_key).await? {
            return Err(IamError::AccessDenied("MultiFactorAuthentication failed: too many attempts; try again in a few minutes.".to_owned()));
        }
        let owner = recovery_owner(&caller.account_id, caller.user());
        let mut tx = self.store.begin().await?;
        let used = tx.use_recovery_code(&owner, &code_hash(&owner, code), self.now()).await?;
        self.note_attempt(&throttle_key, used).await?;
        if !used {
            return Err(failed());
        }
        let left = tx.recovery_codes(&owner).await?.iter().filter(|c| c.used_at.is_none()).count();
        tx.commit().await?;
        tracing::warn!(owner = %owner, left, "a recovery code was used to sign in");
        Ok(left)
    }
}

/// Removes an identity's recovery codes once it has no MFA device left.
pub(crate) async fn forget_codes_without_devices(tx: &mut Box<dyn Tx>, account: &str, user: Option<&UserRecord>, at: i64) -> IamResult<()> {
    let left = tx.mfa_devices(account).await?.iter().any(|d| d.enabled_at.is_some() && owns(d, user));
    if !left {
        tx.replace_recovery_codes(account, &recovery_owner(account, user), &[], at).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_compared_as_typed_loosely_but_per_owner() {
        assert_eq!(code_hash("root:1", "abcd-efgh"), code_hash("root:1", "ABCD EFGH"));
        assert_ne!(code_hash("root:1", "ABCD-EFGH"), code_hash("root:2", "ABCD-EFGH"));
        assert_ne!(code_hash("root:1", "ABCD-EFGH"), code_hash("root:1", "ABCD-EFGI"));
    }
}
