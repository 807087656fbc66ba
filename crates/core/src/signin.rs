//! Console sign-in: the root user with its e-mail address, an IAM user with the account
//! (id or alias), its name and its login-profile password; then MFA when the identity has
//! an enabled device, and a new password when the old one must be reset or has expired
//! (the account password policy's `MaxPasswordAge` and `HardExpiry`). A successful
//! sign-in yields temporary credentials for the console session, as the AWS console holds.

use std::sync::OnceLock;

use portcullis_credentials::{hash_password, verify_password};
use portcullis_store::{LoginProfileRecord, MfaDeviceRecord, Tx, UserRecord};

use crate::password_policy::HISTORY_KEPT;
use crate::{iam_arn, Caller, Iam, IamError, Principal, RequestFacts, TemporaryCredentials};

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
    pub mfa_code: Option<&'a str>,
    /// Which device, when the identity has several.
    pub mfa_serial: Option<&'a str>,
    /// Needed when the password must be reset or has expired.
    pub new_password: Option<&'a str>,
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
    SignedIn { account_id: String, arn: String, credentials: TemporaryCredentials, mfa_authenticated: bool },
    /// The password was right; now a code from one of these devices is needed.
    MfaRequired { devices: Vec<String> },
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
    /// A new password that breaks the password policy, too many wrong codes, or a failure.
    #[error(transparent)]
    Iam(#[from] IamError),
}

impl SignInError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Incorrect => "InvalidCredentials",
            Self::InvalidMfaCode => "InvalidMfaCode",
            Self::PasswordExpired => "PasswordExpired",
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

fn password_matches(password: &str, hash: Option<&str>) -> bool {
    match hash {
        Some(h) => verify_password(password, h),
        None => {
            let _ = verify_password(password, decoy_hash());
            false
        }
    }
}

/// The identity, once its password checked out.
struct Verified {
    account_id: String,
    user: Option<(UserRecord, LoginProfileRecord)>,
}

impl Iam {
    pub async fn console_sign_in(&self, input: &SignInInput<'_>, facts: RequestFacts) -> Result<SignInOutcome, SignInError> {
        let verified = self.check_password(input).await?;
        let now = self.now();

        // A password that must change is reported before MFA is asked, so that no code is
        // spent on an attempt that cannot succeed yet.
        let change = match &verified.user {
            Some((_, profile)) => self.password_change_reason(&verified.account_id, profile, now).await?,
            None => None,
        };
        if let (Some(reason), None) = (change, input.new_password) {
            return Ok(SignInOutcome::PasswordChangeRequired { reason });
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
        let devices = self.enabled_devices(&verified).await?;
        let mfa_authenticated = if devices.is_empty() {
            false
        } else {
            let required = || SignInOutcome::MfaRequired { devices: devices.iter().map(|d| d.serial_number.clone()).collect() };
            let Some(code) = input.mfa_code else {
                return Ok(required());
            };
            let serial = match input.mfa_serial {
                Some(s) => devices.iter().find(|d| d.serial_number == s).ok_or(SignInError::InvalidMfaCode)?.serial_number.clone(),
                None if devices.len() == 1 => devices[0].serial_number.clone(),
                // Several devices: the person must say which one the code is from.
                None => return Ok(required()),
            };
            match self.check_mfa_code(&caller, &serial, code).await {
                Ok(()) => true,
                Err(IamError::AccessDenied(_)) => return Err(SignInError::InvalidMfaCode),
                Err(e) => return Err(e.into()),
            }
        };

        let mut tx = self.store.begin().await?;
        if let Some((user, _)) = &verified.user {
            tx.lock(&format!("user:{}", user.user_id)).await?;
            if let (Some(_), Some(new)) = (change, input.new_password) {
                self.set_password_at_sign_in(&mut tx, &verified.account_id, user, new, now).await?;
            }
            if let Some(mut fresh) = tx.get_user_by_id(&user.user_id).await? {
                fresh.password_last_used = Some(now);
                tx.update_user(&fresh).await?;
            }
        }
        tx.commit().await?;

        let (kind, id, arn, duration) = match &verified.user {
            Some((u, _)) => ("user", u.user_id.clone(), iam_arn(&verified.account_id, "user", &u.path, &u.name), USER_SESSION_SECONDS),
            None => ("root", verified.account_id.clone(), format!("arn:aws:iam::{}:root", verified.account_id), ROOT_SESSION_SECONDS),
        };
        let credentials = self.issue_console_session(&verified.account_id, kind, id, duration, mfa_authenticated.then_some(now))?;
        Ok(SignInOutcome::SignedIn { account_id: verified.account_id, arn, credentials, mfa_authenticated })
    }

    async fn check_password(&self, input: &SignInInput<'_>) -> Result<Verified, SignInError> {
        let mut tx = self.store.begin_read().await?;
        let account = tx.first_account().await?;
        match input.identity {
            SignInIdentity::Root { email } => {
                let account = account.filter(|a| a.root_email.eq_ignore_ascii_case(email.trim()));
                let hash = account.as_ref().and_then(|a| a.root_password_hash.clone());
                drop(tx);
                if !password_matches(input.password, hash.as_deref()) {
                    return Err(SignInError::Incorrect);
                }
                let account = account.ok_or(SignInError::Incorrect)?;
                Ok(Verified { account_id: account.account_id, user: None })
            }
            SignInIdentity::User { account: wanted, user_name } => {
                let account = account.filter(|a| a.account_id == wanted || a.alias.as_deref() == Some(wanted));
                let mut found = None;
                if let Some(a) = &account {
                    if let Some(u) = tx.get_user(&a.account_id, user_name).await? {
                        if let Some(p) = tx.get_login_profile(&u.user_id).await? {
                            found = Some((u, p));
                        }
                    }
                }
                drop(tx);
                if !password_matches(input.password, found.as_ref().map(|(_, p)| p.password_hash.as_str())) {
                    return Err(SignInError::Incorrect);
                }
                let (account, user) = account.zip(found).ok_or(SignInError::Incorrect)?;
                Ok(Verified { account_id: account.account_id, user: Some(user) })
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

    async fn set_password_at_sign_in(&self, tx: &mut Box<dyn Tx>, account: &str, user: &UserRecord, new: &str, now: i64) -> Result<(), SignInError> {
        let mut rec = tx.get_login_profile(&user.user_id).await?.ok_or(SignInError::Incorrect)?;
        if verify_password(new, &rec.password_hash) {
            return Err(IamError::PasswordPolicyViolation("The new password must be different from the current one.".to_owned()).into());
        }
        self.check_new_password(tx, account, &user.user_id, new).await?;
        rec.password_hash = hash_password(new).map_err(IamError::from)?;
        rec.password_changed_at = now;
        rec.reset_required = false;
        tx.push_password_history(&user.user_id, &rec.password_hash, now, HISTORY_KEPT).await?;
        tx.upsert_login_profile(&rec).await?;
        Ok(())
    }
}
