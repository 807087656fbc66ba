//! Console sign-in: the root user with its e-mail address, an IAM user with the account
//! (id or alias), its name and its login-profile password; then MFA when the identity has
//! an enabled device, and a new password when the old one must be reset or has expired
//! (the account password policy's `MaxPasswordAge` and `HardExpiry`). A successful
//! sign-in yields temporary credentials for the console session, as the AWS console holds.

use std::sync::OnceLock;

use portcullis_credentials::{hash_password, verify_password};
use portcullis_store::{LoginProfileRecord, MfaDeviceRecord, MfaKind, UserRecord};

use crate::mfa::mfa_throttle_key;
use crate::security_keys::SecurityKeyChallenge;
use crate::password_policy::HISTORY_KEPT;
use crate::{iam_arn, AuthzRequest, Caller, Iam, IamError, Principal, RequestFacts, TemporaryCredentials};

/// Console sessions of IAM users last 12 hours, the root user's one hour.
const USER_SESSION_SECONDS: i64 = 43_200;
const ROOT_SESSION_SECONDS: i64 = 3_600;

/// Who signs in.
#[derive(Debug, Clone, Copy)]
pub enum SignInIdentity<'a> {
    Root { email: &'a str },
    /// `account` is the 12-digit account id or the account alias.
    User { account: &'a str, user_name: &'a str },
}

#[derive(Debug, Clone, Copy)]
pub struct SignInInput<'a> {
    pub identity: SignInIdentity<'a>,
    pub password: &'a str,
    /// Needed when the identity has an enabled MFA device.
    pub second_factor: Option<SecondFactor<'a>>,
    /// Needed when the password must be reset or has expired.
    pub new_password: Option<&'a str>,
}

/// What proves the second factor.
#[derive(Debug, Clone, Copy)]
pub enum SecondFactor<'a> {
    /// A one-time code from an authenticator app; `serial` says which device when the
    /// identity has several.
    Code { code: &'a str, serial: Option<&'a str> },
    /// The browser's answer (JSON) to the challenge an earlier `MfaRequired` carried.
    SecurityKey { challenge: &'a SecurityKeyChallenge, response: &'a str },
    /// One of the identity's recovery codes, in place of a lost device.
    RecoveryCode(&'a str),
}

/// Why a new password is needed before signing in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordChangeReason {
    /// `PasswordResetRequired` was set by an administrator.
    ResetRequired,
    /// Older than the password policy's `MaxPasswordAge`.
    Expired,
}

impl PasswordChangeReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ResetRequired => "reset_required",
            Self::Expired => "expired",
        }
    }
}

#[derive(Debug)]
pub enum SignInOutcome {
    SignedIn {
        account_id: String,
        arn: String,
        credentials: TemporaryCredentials,
        mfa_authenticated: bool,
        /// Signed in with a recovery code: how many are left.
        recovery_codes_left: Option<usize>,
    },
    /// The password was right; now the second factor is needed: a code from one of
    /// `devices` (authenticator apps), the identity's passkey or security key (answering
    /// `security_key`'s challenge, when it has one and the server has WebAuthn on), or a
    /// recovery code (when it has some left).
    MfaRequired { devices: Vec<String>, security_key: Option<(String, SecurityKeyChallenge)>, recovery_codes: bool },
    /// The password was right; sign in again with `new_password`.
    PasswordChangeRequired { reason: PasswordChangeReason },
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Unknown identity or wrong password (not told apart, as in AWS).
    #[error("Your authentication information is incorrect. Please try again.")]
    Incorrect,
    #[error("The MFA code you entered is not valid. Please try again.")]
    InvalidMfaCode,
    /// `HardExpiry`: only an administrator can set a new password.
    #[error("Your password has expired. Contact your administrator to reset it.")]
    PasswordExpired,
    /// Too many wrong passwords for this identity, or wrong codes for this device, lately.
    #[error("Too many failed sign-in attempts. Wait a few minutes and try again.")]
    Throttled,
    /// A new password that breaks the password policy, a change the user may not make, or
    /// a failure.
    #[error(transparent)]
    Iam(#[from] IamError),
}

impl SignInError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Incorrect => "InvalidCredentials",
            Self::InvalidMfaCode => "InvalidMfaCode",
            Self::PasswordExpired => "PasswordExpired",
            Self::Throttled => "Throttling",
            Self::Iam(e) => e.code(),
        }
    }
}

impl From<portcullis_store::StoreError> for SignInError {
    fn from(e: portcullis_store::StoreError) -> Self {
        Self::Iam(e.into())
    }
}

/// A hash to verify against when the identity does not exist, so that an unknown name
/// costs as much time as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password("portcullis-decoy-password").unwrap_or_default())
}

/// Checks a password against its argon2id hash (or the decoy when there is none) on the
/// blocking pool, at most two at a time: sign-in is unauthenticated, and a flood of
/// attempts must not occupy the threads that serve every other request.
async fn password_matches(password: &str, hash: Option<&str>) -> bool {
    static SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);
    let Ok(_slot) = SLOTS.acquire().await else { return false };
    let (password, hash) = (password.to_owned(), hash.map(str::to_owned));
    tokio::task::spawn_blocking(move || match hash {
        Some(h) => verify_password(&password, &h),
        None => {
            let _ = verify_password(&password, decoy_hash());
            false
        }
    })
    .await
    .unwrap_or(false)
}

/// The identity, once its password checked out (with the hash it matched, so that the
/// final transaction can tell whether the password changed meanwhile).
struct Verified {
    account_id: String,
    user: Option<(UserRecord, LoginProfileRecord)>,
}

/// Who a sign-in names, looked up before its password is checked.
struct Claimed {
    /// Failed attempts are counted under the resolved identity (the user's id, the root
    /// user's account), so that the account alias, the account id and any spelling of the
    /// name share one count; a name that resolves to nobody is counted as typed.
    throttle_key: String,
    /// The hash to check the password against (`None`: nobody, the decoy is used).
    hash: Option<String>,
    /// What a right password signs in as.
    identity: Option<Verified>,
}

impl Iam {
    /// A console sign-in step; a completed sign-in, a wrong password or a wrong second factor
    /// of a known identity is recorded in the audit trail (`ConsoleLogin`).
    pub async fn console_sign_in(&self, input: &SignInInput<'_>, facts: RequestFacts) -> Result<SignInOutcome, SignInError> {
        let result = self.console_sign_in_step(input, facts.clone()).await;
        let (success, mfa_used) = match &result {
            Ok(SignInOutcome::SignedIn { mfa_authenticated, .. }) => (true, *mfa_authenticated),
            Err(SignInError::Incorrect) => (false, false),
            Err(SignInError::InvalidMfaCode) => (false, true),
            _ => return result,
        };
        if let Ok(Claimed { identity: Some(who), .. }) = self.claimed_identity(&input.identity).await {
            let (identity_type, principal_id, arn, user_name) = match &who.user {
                Some((u, _)) => ("IAMUser", u.user_id.clone(), crate::iam_arn(&who.account_id, "user", &u.path, &u.name), Some(u.name.clone())),
                None => ("Root", who.account_id.clone(), crate::root_arn(&who.account_id), None),
            };
            let login_to = format!("{}/console/", self.public_base_url.trim_end_matches('/'));
            self.record_console_sign_in(crate::audit::ConsoleSignIn {
                account_id: &who.account_id,
                identity_type,
                principal_id: &principal_id,
                arn: &arn,
                user_name: user_name.as_deref(),
                success,
                mfa_used,
                source_ip: facts.source_ip.as_deref(),
                user_agent: facts.user_agent.as_deref(),
                login_to: &login_to,
            });
        }
        result
    }

    async fn console_sign_in_step(&self, input: &SignInInput<'_>, facts: RequestFacts) -> Result<SignInOutcome, SignInError> {
        let claimed = self.claimed_identity(&input.identity).await?;
        if self.throttled(&claimed.throttle_key).await? {
            return Err(SignInError::Throttled);
        }
        let matches = password_matches(input.password, claimed.hash.as_deref()).await;
        let Some(verified) = claimed.identity.filter(|_| matches) else {
            self.note_attempt(&claimed.throttle_key, false).await?;
            return Err(SignInError::Incorrect);
        };
        self.note_attempt(&claimed.throttle_key, true).await?;
        let now = self.now();

        // A password that must change is reported before MFA is asked, so that no code is
        // spent on an attempt that cannot succeed yet.
        let change = match &verified.user {
            Some((_, profile)) => self.password_change_reason(&verified.account_id, profile, now).await?,
            None => None,
        };
        match (change, input.new_password) {
            (Some(reason), None) => return Ok(SignInOutcome::PasswordChangeRequired { reason }),
            (None, Some(_)) => {
                return Err(IamError::Validation(
                    "The password does not need to be changed: sign in without new_password, or use ChangePassword.".to_owned(),
                )
                .into())
            }
            _ => {}
        }

        let principal = match &verified.user {
            Some((u, _)) => Principal::User(u.clone()),
            None => Principal::Root,
        };
        let caller = Caller {
            account_id: verified.account_id.clone(),
            principal,
            access_key_id: String::new(),
            session: None,
            request: facts,
        };
        // The new password is checked (permission, rules, history) before an MFA code is
        // spent, so a rejected password does not use up the code.
        if let (Some(_), Some(new), Some((user, profile))) = (change, input.new_password, &verified.user) {
            self.check_password_change(&caller, user, profile, new).await?;
        }

        let devices = self.enabled_devices(&verified).await?;
        let mut recovery_codes_left = None;
        let mfa_authenticated = if devices.is_empty() {
            false
        } else {
            let Some(factor) = input.second_factor else {
                return self.mfa_required(&caller, &devices).await;
            };
            if self.throttled(&mfa_throttle_key(&caller.account_id, caller.user())).await? {
                return Err(SignInError::Throttled);
            }
            let checked = match factor {
                SecondFactor::Code { code, serial } => {
                    let apps: Vec<&MfaDeviceRecord> = devices.iter().filter(|d| d.kind == MfaKind::Virtual).collect();
                    let serial = match serial {
                        Some(s) => apps.iter().find(|d| d.serial_number == s).ok_or(SignInError::InvalidMfaCode)?.serial_number.clone(),
                        None if apps.len() == 1 => apps[0].serial_number.clone(),
                        // Several devices: the person must say which one the code is from.
                        None if apps.len() > 1 => return self.mfa_required(&caller, &devices).await,
                        None => return Err(SignInError::InvalidMfaCode),
                    };
                    self.check_mfa_code(&caller, &serial, code).await
                }
                SecondFactor::SecurityKey { challenge, response } => self.check_security_key(&caller, challenge, response).await,
                SecondFactor::RecoveryCode(code) => self.use_recovery_code(&caller, code).await.map(|left| {
                    recovery_codes_left = Some(left);
                }),
            };
            match checked {
                Ok(()) => true,
                Err(IamError::AccessDenied(_) | IamError::InvalidAuthenticationCode(_)) => return Err(SignInError::InvalidMfaCode),
                Err(e) => return Err(e.into()),
            }
        };

        if let Some((user, checked)) = &verified.user {
            let mut tx = self.store.begin().await?;
            tx.lock(&format!("user:{}", user.user_id)).await?;
            // The password may have changed, or the profile gone, since it was checked.
            let mut profile = match tx.get_login_profile(&user.user_id).await? {
                Some(p) if p.password_hash == checked.password_hash => p,
                _ => return Err(SignInError::Incorrect),
            };
            if let (Some(_), Some(new)) = (change, input.new_password) {
                profile.password_hash = hash_password(new).map_err(IamError::from)?;
                profile.password_changed_at = now;
                profile.reset_required = false;
                tx.push_password_history(&user.user_id, &profile.password_hash, now, HISTORY_KEPT).await?;
                tx.upsert_login_profile(&profile).await?;
            }
            tx.set_password_last_used(&user.user_id, now).await?;
            tx.commit().await?;
        }

        let (kind, id, arn, duration) = match &verified.user {
            Some((u, _)) => ("user", u.user_id.clone(), iam_arn(&verified.account_id, "user", &u.path, &u.name), USER_SESSION_SECONDS),
            None => ("root", verified.account_id.clone(), crate::root_arn(&verified.account_id), ROOT_SESSION_SECONDS),
        };
        let credentials = self.issue_own_session(&verified.account_id, kind, id, duration, mfa_authenticated.then_some(now))?;
        Ok(SignInOutcome::SignedIn { account_id: verified.account_id, arn, credentials, mfa_authenticated, recovery_codes_left })
    }

    /// What the second step asks for: the app devices' serials, a challenge for the
    /// identity's security keys, and whether a recovery code would do.
    async fn mfa_required(&self, caller: &Caller, devices: &[MfaDeviceRecord]) -> Result<SignInOutcome, SignInError> {
        let security_key = self.security_key_challenge(&caller.account_id, caller.user(), devices)?;
        let recovery_codes = self.recovery_code_status(caller).await?.unused > 0;
        let devices = devices.iter().filter(|d| d.kind == MfaKind::Virtual).map(|d| d.serial_number.clone()).collect();
        Ok(SignInOutcome::MfaRequired { devices, security_key, recovery_codes })
    }

    /// Resolves who a sign-in names, without looking at its password.
    async fn claimed_identity(&self, identity: &SignInIdentity<'_>) -> Result<Claimed, SignInError> {
        // Read without the cache, so an existing name and an unknown one take the same path.
        let mut tx = self.store.begin().await?;
        match *identity {
            SignInIdentity::Root { email } => {
                let Some(account) = tx.account_by_root_email(email.trim()).await? else {
                    return Ok(Claimed { throttle_key: format!("signin:unknown-root:{}", email.trim().to_lowercase()), hash: None, identity: None });
                };
                Ok(Claimed {
                    throttle_key: format!("signin:root:{}", account.account_id),
                    hash: account.root_password_hash.clone(),
                    identity: Some(Verified { account_id: account.account_id, user: None }),
                })
            }
            SignInIdentity::User { account: wanted, user_name } => {
                let account = tx.find_account(wanted.trim()).await?;
                let user = match &account {
                    Some(a) => tx.get_user(&a.account_id, user_name).await?,
                    None => None,
                };
                let Some((account, user)) = account.as_ref().zip(user) else {
                    // Nobody by that name: counted under the resolved account when there is
                    // one, exactly like a user who exists, so the count tells nothing.
                    let account = account.map_or_else(|| wanted.trim().to_lowercase(), |a| a.account_id);
                    let throttle_key = format!("signin:unknown-user:{account}:{}", user_name.to_lowercase());
                    return Ok(Claimed { throttle_key, hash: None, identity: None });
                };
                let throttle_key = format!("signin:user:{}", user.user_id);
                let Some(profile) = tx.get_login_profile(&user.user_id).await? else {
                    return Ok(Claimed { throttle_key, hash: None, identity: None });
                };
                Ok(Claimed {
                    throttle_key,
                    hash: Some(profile.password_hash.clone()),
                    identity: Some(Verified { account_id: account.account_id.clone(), user: Some((user, profile)) }),
                })
            }
        }
    }

    async fn password_change_reason(&self, account: &str, profile: &LoginProfileRecord, now: i64) -> Result<Option<PasswordChangeReason>, SignInError> {
        let mut tx = self.store.begin_read().await?;
        let policy = tx.get_password_policy(account).await?;
        let expired = policy
            .as_ref()
            .and_then(|p| p.max_age_days)
            .is_some_and(|days| now >= profile.password_changed_at + days * 86_400);
        if expired {
            if policy.as_ref().is_some_and(|p| p.hard_expiry) {
                return Err(SignInError::PasswordExpired);
            }
            return Ok(Some(PasswordChangeReason::Expired));
        }
        Ok(profile.reset_required.then_some(PasswordChangeReason::ResetRequired))
    }

    async fn enabled_devices(&self, who: &Verified) -> Result<Vec<MfaDeviceRecord>, SignInError> {
        let mut tx = self.store.begin_read().await?;
        let devices = tx.mfa_devices(&who.account_id).await?;
        Ok(devices
            .into_iter()
            .filter(|d| d.enabled_at.is_some())
            .filter(|d| match &who.user {
                Some((u, _)) => d.user_id.as_deref() == Some(u.user_id.as_str()),
                None => d.assigned_root,
            })
            .collect())
    }

    /// Whether the user may set this new password now: the same permission as
    /// ChangePassword (the password policy's AllowUsersToChangePassword, or
    /// `iam:ChangePassword` on itself), the password policy, and a different password.
    async fn check_password_change(&self, caller: &Caller, user: &UserRecord, profile: &LoginProfileRecord, new: &str) -> Result<(), SignInError> {
        let arn = iam_arn(&caller.account_id, "user", &user.path, &user.name);
        self.authorize_change_password(caller, &AuthzRequest::new("iam:ChangePassword", arn)).await.map_err(|e| match e {
            IamError::AccessDenied(_) => SignInError::Iam(IamError::AccessDenied(
                "You are not allowed to change your own password. Contact your administrator.".to_owned(),
            )),
            other => other.into(),
        })?;
        if verify_password(new, &profile.password_hash) {
            return Err(IamError::PasswordPolicyViolation("The new password must be different from the current one.".to_owned()).into());
        }
        let mut tx = self.store.begin().await?;
        self.check_new_password(&mut tx, &caller.account_id, &user.user_id, new).await?;
        Ok(())
    }
}
