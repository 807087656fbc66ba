//! Virtual MFA devices: TOTP (RFC 6238: SHA-1, 6 digits, 30-second steps). Seeds are
//! sealed with the master key and shown only once, at creation. A code is accepted once:
//! the last accepted time step is remembered per device.

use portcullis_credentials::random_bytes;
use portcullis_store::{MfaDeviceRecord, MfaKind, Tag, TagTarget, Tx, UserRecord};
use totp_rs::{Algorithm, TOTP};

use crate::users::{load_user, named_or_caller};
use crate::{tags, Authorized, Caller, Iam, IamError, IamResult, Page, PageRequest, Principal};

pub(crate) const STEP: i64 = 30;
pub(crate) const DEVICES_PER_USER: usize = 8;
const ISSUER: &str = "Portcullis";
/// Failures tolerated per key (an MFA device's serial, a sign-in identity) within
/// `THROTTLE_WINDOW` seconds before further attempts are refused for the rest of the window
/// (guessing six digits, or a password, must not pay off).
const THROTTLE_FAILURES: u32 = 5;
const THROTTLE_WINDOW: i64 = 300;

/// What CreateVirtualMFADevice returns, the only time the seed leaves the server.
pub struct NewVirtualMfaDevice {
    pub serial_number: String,
    /// The seed as base32 text (what `Base32StringSeed` carries).
    pub base32_seed: String,
    /// A PNG of the `otpauth://` URI, base64-encoded.
    pub qr_png_base64: String,
    pub tags: Vec<Tag>,
}

impl std::fmt::Debug for NewVirtualMfaDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewVirtualMfaDevice").field("serial_number", &self.serial_number).finish_non_exhaustive()
    }
}

/// An MFA device as the listings show it.
#[derive(Debug, Clone)]
pub struct MfaDeviceView {
    pub serial_number: String,
    pub user: Option<(crate::views::User, String)>,
    pub root_arn: Option<String>,
    pub enabled_at: Option<i64>,
    pub tags: Vec<Tag>,
}

fn seed_aad(serial: &str) -> String {
    format!("mfa-seed:{serial}")
}

pub(crate) fn totp(seed: Vec<u8>, label: &str) -> IamResult<TOTP> {
    TOTP::new(Algorithm::SHA1, 6, 1, 30, seed, Some(ISSUER.to_owned()), label.to_owned())
        .map_err(|e| IamError::ServiceFailure(format!("totp: {e:?}")))
}

fn invalid_codes() -> IamError {
    IamError::InvalidAuthenticationCode("Authentication code for device is not valid.".to_owned())
}

fn too_many_codes() -> IamError {
    IamError::AccessDenied("MultiFactorAuthentication failed: too many invalid one-time codes; try again in a few minutes.".to_owned())
}

/// The key under which wrong one-time codes are counted when an identity proves itself with
/// MFA (GetSessionToken, AssumeRole, console sign-in): the identity itself, the user's id or
/// the root user's account, so that neither its several devices nor another way of naming
/// it give more guesses.
pub(crate) fn mfa_throttle_key(account: &str, owner: Option<&UserRecord>) -> String {
    match owner {
        Some(u) => format!("mfa:user:{}", u.user_id),
        None => format!("mfa:root:{account}"),
    }
}

pub(crate) fn no_device(serial: &str) -> IamError {
    IamError::NoSuchEntity(format!("MFA Device with serial number {serial} does not exist."))
}

impl Iam {
    /// Refuses while a key (an identity signing in or proving MFA, a device being enabled)
    /// has had too many failures recently. When several nodes may share the database
    /// (PostgreSQL), the counts are kept there so that every node counts the same attempts;
    /// a backend only one process uses (SQLite, whose one connection the caller's
    /// transaction may be holding) keeps them in memory.
    pub(crate) async fn throttled(&self, key: &str) -> IamResult<bool> {
        let now = self.now();
        let (n, since) = if self.shared_store() {
            let mut tx = self.store.begin_read().await?;
            tx.attempt_failures(key).await?.unwrap_or((0, now))
        } else {
            // A lock poisoned by a panic elsewhere must not switch throttling off.
            let failures = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            failures.get(key).map_or((0, now), |(n, since)| (i64::from(*n), *since))
        };
        Ok(n >= i64::from(THROTTLE_FAILURES) && now - since < THROTTLE_WINDOW)
    }

    /// Counts a failure, or forgets earlier ones after a success (in the database, in a
    /// transaction of its own: a refused request rolls its own back, but its failure counts).
    pub(crate) async fn note_attempt(&self, key: &str, ok: bool) -> IamResult<()> {
        let now = self.now();
        if !ok {
            // The key's first word says what failed (signin, mfa, portal-mfa, a device serial's "arn").
            let kind = match key.split(':').next() {
                Some("signin") => "signin",
                Some("mfa") => "mfa",
                Some("portal-mfa") => "portal-mfa",
                _ => "mfa-device",
            };
            metrics::counter!("portcullis_failed_attempts_total", "kind" => kind).increment(1);
        }
        if self.shared_store() {
            let mut tx = self.store.begin().await?;
            if ok {
                if tx.attempt_failures(key).await?.is_none() {
                    return Ok(());
                }
                tx.clear_attempt_failures(key).await?;
            } else {
                tx.record_attempt_failure(key, now, THROTTLE_WINDOW).await?;
            }
            return tx.commit().await.map_err(Into::into);
        }
        let mut m = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if ok {
            m.remove(key);
            return Ok(());
        }
        let e = m.entry(key.to_owned()).or_insert((0, now));
        if now - e.1 >= THROTTLE_WINDOW {
            *e = (0, now);
        }
        e.0 += 1;
        Ok(())
    }

    /// Whether other processes may use the same database.
    fn shared_store(&self) -> bool {
        self.store.backend_name() == "postgres"
    }

    fn device_totp(&self, d: &MfaDeviceRecord) -> IamResult<TOTP> {
        let seed = self.secrets.open(&d.seed_sealed, &seed_aad(&d.serial_number))?;
        totp(seed, &d.name)
    }

    pub(crate) fn code_at(t: &TOTP, step: i64) -> String {
        t.generate(u64::try_from(step * STEP).unwrap_or(0))
    }

    pub async fn create_virtual_mfa_device(&self, auth: &Authorized<'_>, name: &str, path: Option<&str>, new_tags: &[Tag]) -> IamResult<NewVirtualMfaDevice> {
        let account = auth.account();
        let path = path.unwrap_or("/");
        let serial = crate::iam_arn(account, "mfa", path, name);
        let tags = tags::merge(Vec::new(), new_tags, true)?;
        let seed = random_bytes::<40>()?.to_vec();
        let mut tx = self.store.begin().await?;
        if tx.get_mfa_device(&serial).await?.is_some() {
            return Err(IamError::EntityAlreadyExists("MFA device already exists.".to_owned()));
        }
        let alias = tx.get_account(account).await?.and_then(|a| a.alias).unwrap_or_else(|| account.to_owned());
        let t = totp(seed.clone(), &format!("{name}@{alias}"))?;
        let rec = MfaDeviceRecord {
            serial_number: serial.clone(),
            kind: MfaKind::Virtual,
            account_id: account.to_owned(),
            name: name.to_owned(),
            path: path.to_owned(),
            user_id: None,
            assigned_root: false,
            seed_sealed: self.secrets.seal(&seed, &seed_aad(&serial))?,
            created_at: self.now(),
            enabled_at: None,
            last_step: None,
        };
        tx.insert_mfa_device(&rec).await?;
        tx.set_tags(TagTarget::MfaDevice, &serial, &tags).await?;
        tx.commit().await?;
        Ok(NewVirtualMfaDevice {
            serial_number: serial,
            base32_seed: t.get_secret_base32(),
            qr_png_base64: t.get_qr_base64().map_err(IamError::ServiceFailure)?,
            tags,
        })
    }

    /// Finds the device and checks two consecutive codes; returns the later step.
    fn consecutive_codes(&self, t: &TOTP, code1: &str, code2: &str, window: i64, last: Option<i64>) -> Option<i64> {
        let now = self.now() / STEP;
        ((now - window)..=now).rev().find_map(|s| {
            let fresh = last.is_none_or(|l| s > l);
            (fresh && Self::code_at(t, s) == code1 && Self::code_at(t, s + 1) == code2).then_some(s + 1)
        })
    }

    pub async fn enable_mfa_device(&self, auth: &Authorized<'_>, user_name: &str, serial: &str, code1: &str, code2: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        let user = load_user(&mut tx, auth.account(), user_name).await?;
        self.enable_device(tx, auth.account(), Some(user), serial, code1, code2).await
    }

    /// Enables a virtual MFA device for the root user. AWS offers this only in its console
    /// (EnableMFADevice needs a user name); Portcullis serves it to a root session on its
    /// own endpoint (`POST /_portcullis/root/mfa-device`).
    pub async fn enable_root_mfa_device(&self, caller: &Caller, serial: &str, code1: &str, code2: &str) -> IamResult<()> {
        if !matches!(caller.principal, Principal::Root) {
            return Err(IamError::AccessDenied("Only the root user can enable an MFA device for the root user.".to_owned()));
        }
        // Decided like any action, so that a root session's task policy (AssumeRoot) and the
        // organization's SCPs limit it too.
        let request = crate::AuthzRequest::new("iam:EnableMFADevice", crate::root_arn(&caller.account_id));
        if let Some(message) = self.decide(caller, &request).await?.denial {
            return Err(IamError::AccessDenied(message));
        }
        let tx = self.store.begin().await?;
        self.enable_device(tx, &caller.account_id, None, serial, code1, code2).await
    }

    /// Assigns a device to a user (or, with `None`, the root user) after two consecutive codes.
    async fn enable_device(&self, mut tx: Box<dyn Tx>, account: &str, owner: Option<UserRecord>, serial: &str, code1: &str, code2: &str) -> IamResult<()> {
        let owner_key = owner.as_ref().map_or_else(|| format!("root:{account}"), |u| format!("user:{}", u.user_id));
        tx.lock(&owner_key).await?;
        tx.lock(&format!("mfa:{serial}")).await?;
        let mut device = tx
            .get_mfa_device(serial)
            .await?
            .filter(|d| d.account_id == account && d.kind == MfaKind::Virtual)
            .ok_or_else(|| no_device(serial))?;
        if device.user_id.is_some() || device.assigned_root {
            return Err(IamError::EntityAlreadyExists("MFA Device is already in use.".to_owned()));
        }
        let devices = tx.mfa_devices(account).await?;
        if devices.iter().filter(|d| owns(d, owner.as_ref())).count() >= DEVICES_PER_USER {
            return Err(IamError::LimitExceeded(format!("Cannot exceed quota for MFADevicesPerUser: {DEVICES_PER_USER}")));
        }
        if self.throttled(serial).await? {
            return Err(too_many_codes());
        }
        let t = self.device_totp(&device)?;
        // Two consecutive codes, the later one no older than one step.
        let step = self.consecutive_codes(&t, code1, code2, 2, device.last_step);
        self.note_attempt(serial, step.is_some()).await?;
        let step = step.ok_or_else(invalid_codes)?;
        device.assigned_root = owner.is_none();
        device.user_id = owner.map(|u| u.user_id);
        device.enabled_at = Some(self.now());
        device.last_step = Some(step);
        tx.update_mfa_device(&device).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn resync_mfa_device(&self, auth: &Authorized<'_>, user_name: &str, serial: &str, code1: &str, code2: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        let user = load_user(&mut tx, auth.account(), user_name).await?;
        tx.lock(&format!("mfa:{serial}")).await?;
        let mut device = tx
            .get_mfa_device(serial)
            .await?
            .filter(|d| d.user_id.as_deref() == Some(&user.user_id) && d.kind == MfaKind::Virtual)
            .ok_or_else(|| no_device(serial))?;
        let t = self.device_totp(&device)?;
        // A device whose clock drifted: look further back and ahead (ten minutes each way).
        let now = self.now() / STEP;
        let step = ((now - 20)..=(now + 20))
            .find(|s| device.last_step.is_none_or(|l| *s > l) && Self::code_at(&t, *s) == code1 && Self::code_at(&t, s + 1) == code2)
            .map(|s| s + 1)
            .ok_or_else(invalid_codes)?;
        device.last_step = Some(step);
        tx.update_mfa_device(&device).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn deactivate_mfa_device(&self, auth: &Authorized<'_>, user_name: Option<&str>, serial: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        let owner = named_or_caller(&mut tx, auth, user_name).await?;
        // Serialised with code checks, which write the device back.
        tx.lock(&format!("mfa:{serial}")).await?;
        let mut device = tx
            .get_mfa_device(serial)
            .await?
            .filter(|d| d.account_id == auth.account() && owns(d, owner.as_ref()))
            .ok_or_else(|| no_device(serial))?;
        if device.kind == MfaKind::SecurityKey {
            // A security key belongs to its owner's registration: deactivating removes it.
            tx.delete_mfa_device(serial).await?;
        } else {
            device.user_id = None;
            device.assigned_root = false;
            device.enabled_at = None;
            tx.update_mfa_device(&device).await?;
        }
        crate::recovery::forget_codes_without_devices(&mut tx, auth.account(), owner.as_ref(), self.now()).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn delete_virtual_mfa_device(&self, auth: &Authorized<'_>, serial: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        tx.lock(&format!("mfa:{serial}")).await?;
        let device = tx
            .get_mfa_device(serial)
            .await?
            .filter(|d| d.account_id == auth.account() && d.kind == MfaKind::Virtual)
            .ok_or_else(|| no_device(serial))?;
        if device.user_id.is_some() || device.assigned_root {
            return Err(IamError::DeleteConflict("MFA device is still in use.".to_owned()));
        }
        tx.delete_mfa_device(serial).await?;
        tx.commit().await?;
        Ok(())
    }

    /// ListMFADevices: (user name, serial, enable date) of a user's (or root's) devices.
    pub async fn list_mfa_devices(&self, auth: &Authorized<'_>, user_name: Option<&str>, page: &PageRequest) -> IamResult<Page<(String, String, i64)>> {
        let mut tx = self.store.begin_read().await?;
        let owner = named_or_caller(&mut tx, auth, user_name).await?;
        let name = owner.as_ref().map(|u| u.name.clone()).unwrap_or_default();
        let items = tx
            .mfa_devices(auth.account())
            .await?
            .into_iter()
            .filter(|d| owns(d, owner.as_ref()))
            .map(|d| (name.clone(), d.serial_number, d.enabled_at.unwrap_or(d.created_at)))
            .collect();
        Page::from_all(items, page)
    }

    /// ListVirtualMFADevices with AssignmentStatus `Assigned`, `Unassigned` or `Any`.
    pub async fn list_virtual_mfa_devices(&self, auth: &Authorized<'_>, status: Option<&str>, page: &PageRequest) -> IamResult<Page<MfaDeviceView>> {
        let mut tx = self.store.begin_read().await?;
        let mut out = Vec::new();
        for d in tx.mfa_devices(auth.account()).await?.into_iter().filter(|d| d.kind == MfaKind::Virtual) {
            let assigned = d.user_id.is_some() || d.assigned_root;
            let keep = match status {
                Some("Assigned") => assigned,
                Some("Unassigned") => !assigned,
                _ => true,
            };
            if keep {
                out.push(self.device_view(&mut tx, d).await?);
            }
        }
        Page::from_all(out, page)
    }

    async fn device_view(&self, tx: &mut Box<dyn Tx>, d: MfaDeviceRecord) -> IamResult<MfaDeviceView> {
        let user = match &d.user_id {
            Some(uid) => tx.get_user_by_id(uid).await?.map(|u| {
                let arn = crate::iam_arn(&u.account_id, "user", &u.path, &u.name);
                (u, arn)
            }),
            None => None,
        };
        let root_arn = d.assigned_root.then(|| crate::root_arn(&d.account_id));
        let tags = tx.tags(TagTarget::MfaDevice, &d.serial_number).await?;
        Ok(MfaDeviceView { serial_number: d.serial_number, user, root_arn, enabled_at: d.enabled_at, tags })
    }

    /// GetMFADevice.
    pub async fn get_mfa_device(&self, auth: &Authorized<'_>, serial: &str) -> IamResult<MfaDeviceView> {
        let mut tx = self.store.begin_read().await?;
        let d = tx.get_mfa_device(serial).await?.filter(|d| d.account_id == auth.account()).ok_or_else(|| no_device(serial))?;
        self.device_view(&mut tx, d).await
    }

    /// Checks a one-time code from the caller's enabled device (STS with MFA). One step of
    /// drift either way is tolerated; a code is accepted only once.
    pub(crate) async fn check_mfa_code(&self, caller: &Caller, serial: &str, code: &str) -> IamResult<()> {
        let failed = || IamError::AccessDenied("MultiFactorAuthentication failed with invalid MFA one time pass code. ".to_owned());
        // Only users and the root user own MFA devices; no other caller (a role session, a
        // federated or web identity) may be taken for the root user, whose devices
        // `owner == None` stands for below.
        if !matches!(caller.principal, Principal::Root | Principal::User(_)) {
            return Err(failed());
        }
        let mut tx = self.store.begin().await?;
        let owner = caller.user().cloned();
        tx.lock(&format!("mfa:{serial}")).await?;
        let mut device = tx
            .get_mfa_device(serial)
            .await?
            .filter(|d| d.account_id == caller.account_id && d.kind == MfaKind::Virtual && d.enabled_at.is_some() && owns(d, owner.as_ref()))
            .ok_or_else(failed)?;
        let throttle_key = mfa_throttle_key(&caller.account_id, owner.as_ref());
        if self.throttled(&throttle_key).await? {
            return Err(too_many_codes());
        }
        let t = self.device_totp(&device)?;
        let now = self.now() / STEP;
        let step = ((now - 1)..=(now + 1)).find(|s| device.last_step.is_none_or(|l| *s > l) && Self::code_at(&t, *s) == code);
        self.note_attempt(&throttle_key, step.is_some()).await?;
        let step = step.ok_or_else(failed)?;
        device.last_step = Some(step);
        tx.update_mfa_device(&device).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Whether the device is enabled for this owner (None = the root user).
pub(crate) fn owns(d: &MfaDeviceRecord, owner: Option<&UserRecord>) -> bool {
    match owner {
        Some(u) => d.user_id.as_deref() == Some(u.user_id.as_str()),
        None => d.assigned_root,
    }
}
