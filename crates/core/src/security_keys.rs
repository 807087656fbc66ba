//! Passkeys and security keys (WebAuthn, by `webauthn-rs`) as MFA devices, AWS's "FIDO
//! security keys": registered in the console, asked for at console sign-in. A key's
//! credential (public key, credential id, signature counter) is sealed with the master key
//! like a TOTP seed, so the database alone can neither read nor swap it.
//!
//! The relying party is this server as people reach it: `rp_id` is its host name and the
//! browser's origin must match (`--public-url`). Registration and sign-in challenges are
//! held by the caller (the console's server-side session), never by the browser.

use std::sync::Arc;

use portcullis_store::{MfaDeviceRecord, MfaKind, UserRecord};
use webauthn_rs::prelude::{
    Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential, Url, Uuid, Webauthn,
    WebauthnBuilder,
};

use crate::mfa::{mfa_throttle_key, owns, DEVICES_PER_USER};
use crate::{iam_arn, AuthzRequest, Caller, Iam, IamError, IamResult, Principal};

/// Where WebAuthn ceremonies are valid.
#[derive(Debug, Clone)]
pub struct WebAuthnSettings {
    /// The relying party id: the host name people reach the console by (not an IP address).
    pub rp_id: String,
    /// The origin the browser reports (`https://iam.example.com`).
    pub origin: String,
    /// Accept the origin on any port (the default `http://localhost`, where tests and
    /// local runs pick their own ports).
    pub any_port: bool,
}

impl WebAuthnSettings {
    /// From the URL people open the console at.
    pub fn from_public_url(url: &str) -> IamResult<Self> {
        let parsed = Url::parse(url).map_err(|e| IamError::Validation(format!("public URL {url}: {e}")))?;
        let host = parsed.domain().ok_or_else(|| {
            IamError::Validation(format!("public URL {url}: passkeys and security keys need a host name, not an IP address"))
        })?;
        Ok(Self { rp_id: host.to_owned(), origin: parsed.origin().ascii_serialization(), any_port: false })
    }

    /// `http(s)://localhost` on any port.
    pub fn localhost(tls: bool) -> Self {
        let scheme = if tls { "https" } else { "http" };
        Self { rp_id: "localhost".to_owned(), origin: format!("{scheme}://localhost"), any_port: true }
    }
}

/// A registration under way: what the browser was asked to create, for whom.
/// Serialisable, so that the console can keep it (sealed) in the store between requests.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct SecurityKeyRegistration {
    account_id: String,
    user_id: Option<String>,
    name: String,
    state: PasskeyRegistration,
}

/// A sign-in challenge under way, for one identity's keys.
/// Serialisable, so that the console can keep it (sealed) in the store between requests.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct SecurityKeyChallenge {
    account_id: String,
    user_id: Option<String>,
    state: PasskeyAuthentication,
}

impl std::fmt::Debug for SecurityKeyChallenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecurityKeyChallenge").field("account_id", &self.account_id).field("user_id", &self.user_id).finish_non_exhaustive()
    }
}

fn credential_aad(serial: &str) -> String {
    format!("mfa-webauthn:{serial}")
}

/// A stable WebAuthn user handle for an identity that reveals nothing about it.
fn user_handle(account: &str, user: Option<&UserRecord>) -> Uuid {
    use sha2::{Digest, Sha256};
    let owner = user.map_or_else(|| format!("root:{account}"), |u| format!("user:{}", u.user_id));
    let digest = Sha256::digest(format!("portcullis-webauthn-user:{owner}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::from_bytes(bytes)
}

fn not_verified() -> IamError {
    IamError::InvalidAuthenticationCode("The passkey or security key could not be verified. Please try again.".to_owned())
}

impl Iam {
    /// Whether the caller may add MFA of its own (a device, recovery codes): the root user
    /// always, an IAM user with `iam:EnableMFADevice` on itself, nobody else.
    pub(crate) async fn authorize_own_mfa(&self, caller: &Caller) -> IamResult<()> {
        match &caller.principal {
            Principal::Root => Ok(()),
            Principal::User(u) => {
                let arn = iam_arn(&caller.account_id, "user", &u.path, &u.name);
                self.authorize(caller, &AuthzRequest::new("iam:EnableMFADevice", arn)).await.map(|_| ())
            }
            Principal::AssumedRole { .. } | Principal::ProviderUser { .. } | Principal::FederatedUser { .. } => {
                Err(IamError::AccessDenied("A role session has no MFA devices of its own.".to_owned()))
            }
        }
    }

    /// Turns passkeys and security keys on for these settings.
    pub fn with_webauthn(mut self, settings: &WebAuthnSettings) -> IamResult<Self> {
        let origin = Url::parse(&settings.origin).map_err(|e| IamError::Validation(format!("WebAuthn origin {}: {e}", settings.origin)))?;
        let webauthn = WebauthnBuilder::new(&settings.rp_id, &origin)
            .and_then(|b| b.rp_name("Portcullis").allow_any_port(settings.any_port).build())
            .map_err(|e| IamError::Validation(format!("WebAuthn relying party {} at {}: {e}", settings.rp_id, settings.origin)))?;
        self.webauthn = Some(Arc::new(webauthn));
        Ok(self)
    }

    fn webauthn(&self) -> IamResult<&Webauthn> {
        self.webauthn
            .as_deref()
            .ok_or_else(|| IamError::Validation("Passkeys and security keys are not available on this server.".to_owned()))
    }

    /// The caller's own devices, after checking that it may add one (the root user always;
    /// an IAM user with `iam:EnableMFADevice` on itself, as for an authenticator app).
    async fn own_devices_for_enrolment(&self, caller: &Caller) -> IamResult<Vec<MfaDeviceRecord>> {
        self.authorize_own_mfa(caller).await?;
        let mut tx = self.store.begin().await?;
        let devices = tx.mfa_devices(&caller.account_id).await?;
        Ok(devices.into_iter().filter(|d| owns(d, caller.user())).collect())
    }

    /// Starts registering a passkey or security key named `name` for the caller itself:
    /// returns the options for `navigator.credentials.create` (JSON) and the state to
    /// finish with.
    pub async fn start_security_key_registration(&self, caller: &Caller, name: &str) -> IamResult<(String, SecurityKeyRegistration)> {
        let webauthn = self.webauthn()?;
        let own = self.own_devices_for_enrolment(caller).await?;
        if own.len() >= DEVICES_PER_USER {
            return Err(IamError::LimitExceeded(format!("Cannot exceed quota for MFADevicesPerUser: {DEVICES_PER_USER}")));
        }
        let mut exclude = Vec::new();
        for d in own.iter().filter(|d| d.kind == MfaKind::SecurityKey) {
            exclude.push(self.open_passkey(d)?.cred_id().clone());
        }
        let (user_name, display) = match caller.user() {
            Some(u) => (u.name.clone(), format!("{} ({})", u.name, caller.account_id)),
            None => ("root".to_owned(), format!("root user ({})", caller.account_id)),
        };
        let (options, state) = webauthn
            .start_passkey_registration(user_handle(&caller.account_id, caller.user()), &user_name, &display, Some(exclude))
            .map_err(|e| IamError::ServiceFailure(format!("webauthn registration: {e}")))?;
        let options = serde_json::to_string(&options).map_err(|e| IamError::ServiceFailure(format!("webauthn options: {e}")))?;
        let reg = SecurityKeyRegistration {
            account_id: caller.account_id.clone(),
            user_id: caller.user().map(|u| u.user_id.clone()),
            name: name.to_owned(),
            state,
        };
        Ok((options, reg))
    }

    /// Finishes a registration with the browser's answer (the credential as JSON); the key
    /// is then an enabled MFA device of the caller. Returns its serial number.
    pub async fn finish_security_key_registration(&self, caller: &Caller, reg: &SecurityKeyRegistration, response: &str) -> IamResult<String> {
        let webauthn = self.webauthn()?;
        if reg.account_id != caller.account_id || reg.user_id.as_deref() != caller.user().map(|u| u.user_id.as_str()) {
            return Err(IamError::AccessDenied("This registration was started by another identity.".to_owned()));
        }
        let credential: RegisterPublicKeyCredential = serde_json::from_str(response).map_err(|_| not_verified())?;
        let passkey = webauthn.finish_passkey_registration(&credential, &reg.state).map_err(|e| {
            tracing::info!(error = %e, "security key registration refused");
            not_verified()
        })?;
        // Permission and quota again: both may have changed while the person used the key.
        let own = self.own_devices_for_enrolment(caller).await?;
        let mut tx = self.store.begin().await?;
        let owner_key = caller.user().map_or_else(|| format!("root:{}", caller.account_id), |u| format!("user:{}", u.user_id));
        tx.lock(&owner_key).await?;
        if own.len() >= DEVICES_PER_USER {
            return Err(IamError::LimitExceeded(format!("Cannot exceed quota for MFADevicesPerUser: {DEVICES_PER_USER}")));
        }
        // One credential is one device, in the whole account.
        for d in tx.mfa_devices(&caller.account_id).await?.iter().filter(|d| d.kind == MfaKind::SecurityKey) {
            if self.open_passkey(d)?.cred_id() == passkey.cred_id() {
                return Err(IamError::EntityAlreadyExists("This passkey or security key is already registered.".to_owned()));
            }
        }
        let suffix = data_encoding::BASE32_NOPAD.encode(&portcullis_credentials::random_bytes::<10>()?);
        let serial = match caller.user() {
            Some(u) => format!("arn:aws:iam::{}:u2f/user/{}/{}-{suffix}", caller.account_id, u.name, reg.name),
            None => format!("arn:aws:iam::{}:u2f/root/{}-{suffix}", caller.account_id, reg.name),
        };
        let sealed = serde_json::to_vec(&passkey).map_err(|e| IamError::ServiceFailure(format!("webauthn credential: {e}")))?;
        let now = self.now();
        let rec = MfaDeviceRecord {
            serial_number: serial.clone(),
            kind: MfaKind::SecurityKey,
            account_id: caller.account_id.clone(),
            name: reg.name.clone(),
            path: "/".to_owned(),
            user_id: caller.user().map(|u| u.user_id.clone()),
            assigned_root: caller.user().is_none(),
            seed_sealed: self.secrets.seal(&sealed, &credential_aad(&serial))?,
            created_at: now,
            enabled_at: Some(now),
            last_step: None,
        };
        tx.insert_mfa_device(&rec).await?;
        tx.commit().await?;
        Ok(serial)
    }

    fn open_passkey(&self, d: &MfaDeviceRecord) -> IamResult<Passkey> {
        let plain = self.secrets.open(&d.seed_sealed, &credential_aad(&d.serial_number))?;
        serde_json::from_slice(&plain).map_err(|e| IamError::ServiceFailure(format!("stored webauthn credential of {}: {e}", d.serial_number)))
    }

    /// A sign-in challenge for these devices' security keys (none when there are none, or
    /// WebAuthn is off): the options for `navigator.credentials.get` (JSON) and its state.
    pub(crate) fn security_key_challenge(&self, account_id: &str, user: Option<&UserRecord>, devices: &[MfaDeviceRecord]) -> IamResult<Option<(String, SecurityKeyChallenge)>> {
        let Some(webauthn) = self.webauthn.as_deref() else { return Ok(None) };
        let keys: Vec<Passkey> = devices.iter().filter(|d| d.kind == MfaKind::SecurityKey).map(|d| self.open_passkey(d)).collect::<IamResult<_>>()?;
        if keys.is_empty() {
            return Ok(None);
        }
        let (options, state) = webauthn.start_passkey_authentication(&keys).map_err(|e| IamError::ServiceFailure(format!("webauthn challenge: {e}")))?;
        let options = serde_json::to_string(&options).map_err(|e| IamError::ServiceFailure(format!("webauthn options: {e}")))?;
        Ok(Some((options, SecurityKeyChallenge { account_id: account_id.to_owned(), user_id: user.map(|u| u.user_id.clone()), state })))
    }

    /// Checks the browser's answer to a sign-in challenge against the identity's enabled
    /// keys, and records the key's new signature counter. Failures count towards the
    /// identity's MFA throttle, as wrong codes do.
    pub(crate) async fn check_security_key(&self, caller: &Caller, challenge: &SecurityKeyChallenge, response: &str) -> IamResult<()> {
        let webauthn = self.webauthn()?;
        let owner = caller.user();
        if challenge.account_id != caller.account_id || challenge.user_id.as_deref() != owner.map(|u| u.user_id.as_str()) {
            return Err(not_verified());
        }
        let throttle_key = mfa_throttle_key(&caller.account_id, owner);
        if self.throttled(&throttle_key).await? {
            return Err(IamError::AccessDenied("MultiFactorAuthentication failed: too many attempts; try again in a few minutes.".to_owned()));
        }
        let verified = match serde_json::from_str::<PublicKeyCredential>(response) {
            Ok(credential) => webauthn.finish_passkey_authentication(&credential, &challenge.state).map_err(|e| {
                tracing::info!(error = %e, "security key sign-in refused");
            }),
            Err(_) => Err(()),
        };
        let Ok(result) = verified else {
            self.note_attempt(&throttle_key, false).await?;
            return Err(not_verified());
        };
        let mut tx = self.store.begin().await?;
        let devices = tx.mfa_devices(&caller.account_id).await?;
        let mut found = None;
        for d in devices.into_iter().filter(|d| d.kind == MfaKind::SecurityKey && d.enabled_at.is_some() && owns(d, owner)) {
            let key = self.open_passkey(&d)?;
            if key.cred_id() == result.cred_id() {
                found = Some((d, key));
                break;
            }
        }
        // The key may have been removed since the challenge was made.
        let Some((mut device, mut key)) = found else {
            self.note_attempt(&throttle_key, false).await?;
            return Err(not_verified());
        };
        tx.lock(&format!("mfa:{}", device.serial_number)).await?;
        self.note_attempt(&throttle_key, true).await?;
        if key.update_credential(&result) == Some(true) {
            let plain = serde_json::to_vec(&key).map_err(|e| IamError::ServiceFailure(format!("webauthn credential: {e}")))?;
            device.seed_sealed = self.secrets.seal(&plain, &credential_aad(&device.serial_number))?;
        }
        device.last_step = Some(self.now());
        tx.update_mfa_device(&device).await?;
        tx.commit().await?;
        Ok(())
    }
}
