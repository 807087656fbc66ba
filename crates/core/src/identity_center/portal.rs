//! The access portal and the sign-in that aws-cli and boto3 use: directory users' passwords
//! (a one-time password from an administrator, changed at first sign-in under Identity
//! Center's rules), portal sessions, the OpenID Connect device authorization flow
//! (`sso-oidc`: RegisterClient, StartDeviceAuthorization, CreateToken) and the portal API
//! (`sso`: ListAccounts, ListAccountRoles, GetRoleCredentials, Logout).
//!
//! Secrets are kept only as hashes: passwords with argon2id, tokens, device codes and client
//! secrets with SHA-256 (they are long random values).

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use portcullis_store::{OrgObjectKind, OrgObjectRecord, Tx};
use serde_json::{json, Map, Value};
use sha2::Digest;

use super::*;
use crate::{Iam, TemporaryCredentials};

/// How long a portal session (and an access token) lasts.
const SESSION_SECONDS: i64 = 8 * 3600;
/// How long a refresh token lasts.
const REFRESH_SECONDS: i64 = 90 * 86_400;
/// How long a device code waits for approval.
const DEVICE_SECONDS: i64 = 600;
/// How long a registered client's secret is valid.
const CLIENT_SECONDS: i64 = 90 * 86_400;
/// How long an e-mail invitation stays valid.
const INVITATION_SECONDS: i64 = 7 * 86_400;

/// A signed-in portal user.
#[derive(Debug, Clone)]
pub struct PortalUser {
    pub store_id: String,
    pub user_id: String,
    pub user_name: String,
}

/// What a portal sign-in step answers.
#[derive(Debug)]
pub enum PortalSignIn {
    /// Signed in: the session's token (the portal's cookie, the API's bearer token).
    SignedIn { token: String, user: PortalUser },
    /// The password is a one-time password: a new one must be chosen.
    NewPasswordRequired,
    /// The user has an MFA device: a code from its authenticator app (`app`), or its
    /// security key's answer to the challenge (`key`: the options for the browser, JSON, and
    /// the state to check the answer with).
    MfaRequired { app: bool, key: Option<(String, PortalKeyChallenge)> },
    /// The password was right, but the user has no MFA device and the administrator blocks
    /// such users' sign-in.
    Blocked,
}

/// What the access portal does with a user who has no MFA device (Identity Center's
/// "Users without MFA" setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsersWithoutMfa {
    /// The default: the user registers a device right after signing in, before anything else.
    RequireRegistration,
    /// The user signs in with the password alone (and may register a device).
    AllowSignIn,
    /// The user cannot sign in.
    BlockSignIn,
}

impl UsersWithoutMfa {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RequireRegistration => "REQUIRE_REGISTRATION",
            Self::AllowSignIn => "ALLOW_SIGN_IN",
            Self::BlockSignIn => "BLOCK_SIGN_IN",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::RequireRegistration, Self::AllowSignIn, Self::BlockSignIn].into_iter().find(|v| v.as_str() == s)
    }
}

/// A portal user's MFA: whether a device is registered, and whether one must be before the
/// portal does anything else.
#[derive(Debug, Clone, Copy)]
pub struct PortalMfaState {
    pub registered: bool,
    pub must_register: bool,
}

/// A new authenticator app for a portal user, to be confirmed with a code.
#[derive(Clone)]
pub struct PortalMfaSetup {
    pub secret_base32: String,
    pub uri: String,
    pub qr_png_base64: String,
}

fn sha(value: &str) -> String {
    sha2::Sha256::digest(value.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn token() -> IamResult<String> {
    Ok(B64.encode(portcullis_credentials::random_bytes::<32>()?))
}

/// Identity Center's password rules: 8 to 64 characters, each of lower case, upper case,
/// digits and other characters.
fn check_password(password: &str) -> IamResult<()> {
    let n = password.chars().count();
    let classes = [
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    if !(8..=64).contains(&n) || classes.contains(&false) {
        return Err(validation(
            "Passwords must be between 8 and 64 characters in length and contain at least one lowercase letter, one uppercase letter, one number and one non-alphanumeric character.",
        ));
    }
    Ok(())
}

fn oidc_error(code: &'static str, error: &str, description: &str) -> IamError {
    IamError::service(code, description, &[("error", error), ("error_description", description)])
}

/// The access portal's answer to a token that is no session's.
pub fn unauthorized() -> IamError {
    IamError::service("UnauthorizedException", "Session token not found or invalid", &[])
}

/// Whether a user's credential holds an MFA device (an authenticator app or a key).
fn has_mfa_device(cred: &Map<String, Value>) -> bool {
    cred.contains_key("Mfa") || cred.get("Keys").and_then(Value::as_array).is_some_and(|k| !k.is_empty())
}

fn mfa_aad(user_id: &str) -> String {
    format!("directory-mfa:{user_id}")
}

fn credential_id(user_id: &str) -> String {
    format!("cred-{user_id}")
}

impl Iam {
    /// An administrator's one-time password for a directory user (the console's "Generate a
    /// one-time password"): shown once, changed by the user at the next sign-in.
    pub async fn directory_one_time_password(&self, auth: &Authorized<'_>, store_id: &str, user_id: &str) -> IamResult<String> {
        let mut tx = self.store.begin().await?;
        let dir = directory(&mut tx, auth, store_id).await?;
        tx.get_org_object(user_id).await?.filter(|r| r.kind == OrgObjectKind::DirectoryUser && r.org_id == dir.id).ok_or_else(|| not_found("USER", user_id, "USER not found."))?;
        let password = portcullis_credentials::new_password()?;
        let mut cred = self.credential(&mut tx, &dir.id, user_id).await?;
        cred.insert("PasswordHash".into(), json!(portcullis_credentials::hash_password(&password)?));
        cred.insert("MustChange".into(), json!(true));
        self.save_credential(&mut tx, &dir.id, user_id, cred).await?;
        tx.commit().await?;
        Ok(password)
    }

    async fn credential(&self, tx: &mut Box<dyn Tx>, store_id: &str, user_id: &str) -> IamResult<Map<String, Value>> {
        match tx.get_org_object(&credential_id(user_id)).await?.filter(|r| r.kind == OrgObjectKind::DirectoryCredential && r.org_id == store_id) {
            Some(rec) => object_body(&rec),
            None => Ok(Map::new()),
        }
    }

    async fn save_credential(&self, tx: &mut Box<dyn Tx>, store_id: &str, user_id: &str, body: Map<String, Value>) -> IamResult<()> {
        let id = credential_id(user_id);
        let rec = OrgObjectRecord {
            object_id: id.clone(),
            org_id: store_id.to_owned(),
            kind: OrgObjectKind::DirectoryCredential,
            parent_id: Some(user_id.to_owned()),
            unique_key: None,
            created_at: self.now(),
            body: Value::Object(body).to_string(),
        };
        if tx.get_org_object(&id).await?.is_some() {
            tx.update_org_object(&rec).await?;
        } else {
            tx.insert_org_object(&rec).await?;
        }
        Ok(())
    }

    /// The access portal's sign-in: user name and password (and, for a one-time password,
    /// the new one).
    pub async fn portal_sign_in(&self, store_id: &str, user_name: &str, password: &str, new_password: Option<&str>, factor: PortalSecondFactor<'_>) -> IamResult<PortalSignIn> {
        let denied = || IamError::AccessDenied("Invalid username or password.".to_owned());
        let mut tx = self.store.begin().await?;
        let user = tx.org_object_by_key(store_id, OrgObjectKind::DirectoryUser, &user_name.to_lowercase()).await?;
        let Some(user) = user else {
            // The same work as for a user who exists, so timing tells nothing.
            let _ = portcullis_credentials::verify_password(password, "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$ZmFrZWhhc2hmYWtlaGFzaA");
            return Err(denied());
        };
        // One sign-in of a user at a time, on every node: a code is accepted once.
        tx.lock(&format!("directory-user:{}", user.object_id)).await?;
        let mut cred = self.credential(&mut tx, store_id, &user.object_id).await?;
        let hash = cred.get("PasswordHash").and_then(Value::as_str).unwrap_or_default().to_owned();
        if hash.is_empty() || !portcullis_credentials::verify_password(password, &hash) {
            return Err(denied());
        }
        // An MFA device (authenticator app or security key), once registered, is asked for
        // at every sign-in.
        let app = cred.get("Mfa").and_then(Value::as_str).map(str::to_owned);
        let has_keys = cred.get("Keys").and_then(Value::as_array).is_some_and(|k| !k.is_empty());
        match factor {
            PortalSecondFactor::None if app.is_some() || has_keys => {
                let key = if has_keys { self.portal_key_challenge(&cred, store_id, &user.object_id)? } else { None };
                return Ok(PortalSignIn::MfaRequired { app: app.is_some(), key });
            }
            PortalSecondFactor::None => {}
            PortalSecondFactor::Code(code) => {
                let sealed = app.as_deref().ok_or_else(|| IamError::AccessDenied("The authentication code is not valid.".to_owned()))?;
                self.check_portal_code(&mut tx, store_id, &user.object_id, &mut cred, sealed, code).await?;
            }
            PortalSecondFactor::Key(challenge, response) => {
                self.check_portal_key(&mut tx, store_id, &user.object_id, &mut cred, challenge, response).await?;
            }
        }
        if app.is_none() && !has_keys && self.users_without_mfa(&mut tx, store_id).await? == UsersWithoutMfa::BlockSignIn {
            return Ok(PortalSignIn::Blocked);
        }
        if cred.get("MustChange").and_then(Value::as_bool) == Some(true) {
            let Some(new) = new_password else { return Ok(PortalSignIn::NewPasswordRequired) };
            check_password(new)?;
            let history: Vec<String> = cred.get("History").and_then(Value::as_array).map(|a| a.iter().filter_map(|h| h.as_str().map(str::to_owned)).collect()).unwrap_or_default();
            if new == password || history.iter().any(|h| portcullis_credentials::verify_password(new, h)) {
                return Err(validation("The new password cannot be one of the last 3 passwords."));
            }
            let new_hash = portcullis_credentials::hash_password(new)?;
            let mut history = history;
            history.insert(0, new_hash.clone());
            history.truncate(3);
            cred.insert("PasswordHash".into(), json!(new_hash));
            cred.insert("History".into(), json!(history));
            cred.insert("MustChange".into(), json!(false));
            self.save_credential(&mut tx, store_id, &user.object_id, cred).await?;
        }
        let user_name = text(&object_body(&user)?, "UserName");
        let portal_user = PortalUser { store_id: store_id.to_owned(), user_id: user.object_id.clone(), user_name };
        let token = self.open_portal_session(&mut tx, &portal_user).await?.0;
        tx.commit().await?;
        Ok(PortalSignIn::SignedIn { token, user: portal_user })
    }

    /// A new portal session for a user: (access token, refresh token).
    async fn open_portal_session(&self, tx: &mut Box<dyn Tx>, user: &PortalUser) -> IamResult<(String, String)> {
        let (access, refresh) = (token()?, token()?);
        let now = self.now();
        for (secret, refreshing, ttl) in [(&access, false, SESSION_SECONDS), (&refresh, true, REFRESH_SECONDS)] {
            tx.insert_org_object(&OrgObjectRecord {
                object_id: sha(secret),
                org_id: user.store_id.clone(),
                kind: OrgObjectKind::PortalSession,
                parent_id: Some(user.user_id.clone()),
                unique_key: None,
                created_at: now,
                body: json!({"UserName": user.user_name, "Expires": now + ttl, "Refresh": refreshing}).to_string(),
            })
            .await?;
        }
        Ok((access, refresh))
    }

    /// The user behind a portal session token (a refresh token is not one).
    pub async fn portal_user(&self, token: &str) -> IamResult<PortalUser> {
        let mut tx = self.store.begin_read().await?;
        self.session_user(&mut tx, token, false).await?.ok_or_else(unauthorized)
    }

    async fn session_user(&self, tx: &mut Box<dyn Tx>, token: &str, refresh: bool) -> IamResult<Option<PortalUser>> {
        let Some(rec) = tx.get_org_object(&sha(token)).await?.filter(|r| r.kind == OrgObjectKind::PortalSession) else { return Ok(None) };
        let body = object_body(&rec)?;
        if body.get("Refresh").and_then(Value::as_bool) != Some(refresh) || body.get("Expires").and_then(Value::as_i64).is_none_or(|e| e <= self.now()) {
            return Ok(None);
        }
        let user_id = rec.parent_id.clone().unwrap_or_default();
        // A deleted user's sessions end with it.
        let Some(user) = tx.get_org_object(&user_id).await?.filter(|u| u.kind == OrgObjectKind::DirectoryUser && u.org_id == rec.org_id) else { return Ok(None) };
        Ok(Some(PortalUser { store_id: rec.org_id, user_id, user_name: text(&object_body(&user)?, "UserName") }))
    }

    /// The account that owns an identity store (where its users' events are recorded).
    pub(crate) async fn identity_store_owner(&self, store_id: &str) -> Option<String> {
        let mut tx = self.store.begin_read().await.ok()?;
        let rec = tx.get_org_object(store_id).await.ok()??;
        (rec.kind == OrgObjectKind::IdentityStore).then(|| object_body(&rec).ok().map(|b| text(&b, "OwnerAccountId")))?.filter(|a| !a.is_empty())
    }

    pub async fn portal_logout(&self, token: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        if tx.get_org_object(&sha(token)).await?.is_none_or(|r| r.kind != OrgObjectKind::PortalSession) {
            return Err(unauthorized());
        }
        tx.delete_org_object(&sha(token)).await?;
        tx.commit().await.map_err(Into::into)
    }

    /// The (account, permission set) pairs a user is assigned, directly or through groups.
    async fn user_assignments(&self, tx: &mut Box<dyn Tx>, user: &PortalUser) -> IamResult<Vec<(String, OrgObjectRecord)>> {
        self.check_mfa_registered(tx, user).await?;
        let store = tx.get_org_object(&user.store_id).await?.ok_or_else(unauthorized)?;
        let instance_id = text(&object_body(&store)?, "InstanceArn").rsplit('/').next().unwrap_or_default().to_owned();
        let mut groups = Vec::new();
        for m in tx.org_objects(&user.store_id, OrgObjectKind::GroupMembership, None).await? {
            let body = object_body(&m)?;
            if body.get("MemberId").and_then(|x| x.get("UserId")).and_then(Value::as_str) == Some(user.user_id.as_str()) {
                groups.push(text(&body, "GroupId"));
            }
        }
        let mut out: Vec<(String, OrgObjectRecord)> = Vec::new();
        for a in tx.org_objects(&instance_id, OrgObjectKind::AccountAssignment, None).await? {
            let body = object_body(&a)?;
            let principal = text(&body, "PrincipalId");
            let mine = match text(&body, "PrincipalType").as_str() {
                "USER" => principal == user.user_id,
                _ => groups.contains(&principal),
            };
            if !mine {
                continue;
            }
            let account = text(&body, "AccountId");
            let ps_id = text(&body, "PermissionSetArn").rsplit('/').next().unwrap_or_default().to_owned();
            if out.iter().any(|(acc, ps)| *acc == account && ps.object_id == ps_id) {
                continue;
            }
            if let Some(ps) = tx.get_org_object(&ps_id).await?.filter(|p| p.kind == OrgObjectKind::PermissionSet && p.org_id == instance_id) {
                out.push((account, ps));
            }
        }
        Ok(out)
    }

    /// ListAccounts of the portal: the accounts the user has a permission set in.
    pub async fn portal_accounts(&self, user: &PortalUser) -> IamResult<Vec<Value>> {
        let mut tx = self.store.begin_read().await?;
        let mut out: Vec<Value> = Vec::new();
        for (account, _) in self.user_assignments(&mut tx, user).await? {
            if out.iter().any(|a| a["accountId"] == json!(account)) {
                continue;
            }
            let rec = tx.get_account(&account).await?;
            let name = match tx.get_org_object(&account).await? {
                Some(m) if m.kind == OrgObjectKind::Account => serde_json::from_str::<Value>(&m.body).ok().and_then(|b| b["name"].as_str().map(str::to_owned)),
                _ => None,
            };
            out.push(json!({"accountId": account, "accountName": name.unwrap_or_default(), "emailAddress": rec.map(|r| r.root_email).unwrap_or_default()}));
        }
        Ok(out)
    }

    /// ListAccountRoles: the permission sets the user holds in an account, by name.
    pub async fn portal_roles(&self, user: &PortalUser, account: &str) -> IamResult<Vec<Value>> {
        let mut tx = self.store.begin_read().await?;
        let mut out = Vec::new();
        for (acc, ps) in self.user_assignments(&mut tx, user).await? {
            if acc == account {
                out.push(json!({"roleName": text(&object_body(&ps)?, "Name"), "accountId": acc}));
            }
        }
        Ok(out)
    }

    /// GetRoleCredentials: a session of the permission set's provisioned role in the account,
    /// named after the user, as long as the permission set's session duration.
    pub async fn portal_role_credentials(&self, user: &PortalUser, account: &str, role_name: &str) -> IamResult<TemporaryCredentials> {
        Ok(self.portal_role_session(user, account, role_name).await?.credentials)
    }

    /// The role session behind GetRoleCredentials, with its ARN (the portal's "Management
    /// console" signs in as it).
    pub async fn portal_role_session(&self, user: &PortalUser, account: &str, role_name: &str) -> IamResult<crate::AssumedRole> {
        let mut tx = self.store.begin_read().await?;
        let not_found = || IamError::service("ResourceNotFoundException", "No access", &[]);
        let ps = self.user_assignments(&mut tx, user).await?.into_iter().find(|(acc, ps)| acc == account && object_body(ps).is_ok_and(|b| text(&b, "Name") == role_name)).map(|(_, ps)| ps).ok_or_else(not_found)?;
        let body = object_body(&ps)?;
        let role = tx.get_role(account, &format!("AWSReservedSSO_{role_name}_{}", sso_admin::role_suffix(&ps.object_id, account))).await?.ok_or_else(not_found)?;
        drop(tx);
        let duration = sso_admin::session_seconds(&text(&body, "SessionDuration")).unwrap_or(3600);
        let session = crate::sts::RoleSession {
            role: &role,
            session_name: &user.user_name,
            duration,
            mfa_at: None,
            policies: Vec::new(),
            source_identity: None,
            tags: Vec::new(),
            transitive_tag_keys: Vec::new(),
        };
        self.issue_role_session(session, None)
    }

    /// RegisterClient: a public client's id and secret.
    pub async fn register_oidc_client(&self, name: &str, client_type: &str) -> IamResult<Value> {
        if client_type != "public" {
            return Err(oidc_error("InvalidClientMetadataException", "invalid_client_metadata", "Invalid client type"));
        }
        let now = self.now();
        let id = B64.encode([portcullis_credentials::random_bytes::<16>()?.as_slice(), b"us-east-1"].concat());
        let secret = token()?;
        let mut tx = self.store.begin().await?;
        tx.insert_org_object(&OrgObjectRecord {
            object_id: id.clone(),
            org_id: "oidc".to_owned(),
            kind: OrgObjectKind::OidcClient,
            parent_id: None,
            unique_key: None,
            created_at: now,
            body: json!({"Name": name, "SecretHash": sha(&secret), "Expires": now + CLIENT_SECONDS}).to_string(),
        })
        .await?;
        tx.commit().await?;
        Ok(json!({"clientId": id, "clientSecret": secret, "clientIdIssuedAt": now, "clientSecretExpiresAt": now + CLIENT_SECONDS}))
    }

    async fn check_client(&self, tx: &mut Box<dyn Tx>, client_id: &str, secret: &str) -> IamResult<()> {
        let invalid = || oidc_error("InvalidClientException", "invalid_client", "Invalid client provided");
        let rec = tx.get_org_object(client_id).await?.filter(|r| r.kind == OrgObjectKind::OidcClient).ok_or_else(invalid)?;
        let body = object_body(&rec)?;
        if text(&body, "SecretHash") != sha(secret) || body.get("Expires").and_then(Value::as_i64).is_none_or(|e| e <= self.now()) {
            return Err(invalid());
        }
        Ok(())
    }

    /// StartDeviceAuthorization: a device code for the client to poll with, and a user code
    /// for the user to approve at the verification page.
    pub async fn start_device_authorization(&self, client_id: &str, secret: &str, start_url: &str) -> IamResult<Value> {
        let mut tx = self.store.begin().await?;
        self.check_client(&mut tx, client_id, secret).await?;
        let store_id = self.store_of_start_url(&mut tx, start_url).await?;
        let rec_store = store_id.clone();
        let device_code = token()?;
        let letters: String = portcullis_credentials::random_bytes::<8>()?.iter().map(|b| char::from(b'A' + b % 26)).collect();
        let user_code = format!("{}-{}", &letters[..4], &letters[4..]);
        let now = self.now();
        tx.insert_org_object(&OrgObjectRecord {
            object_id: sha(&device_code),
            org_id: store_id,
            kind: OrgObjectKind::DeviceAuthorization,
            parent_id: None,
            unique_key: Some(user_code.clone()),
            created_at: now,
            body: json!({"ClientId": client_id, "Expires": now + DEVICE_SECONDS, "Status": "PENDING"}).to_string(),
        })
        .await?;
        tx.commit().await?;
        let uri = format!("{}/start/{}/device", self.public_base_url, rec_store);
        Ok(json!({
            "deviceCode": device_code,
            "userCode": user_code,
            "verificationUri": uri,
            "verificationUriComplete": format!("{uri}?user_code={user_code}"),
            "expiresIn": DEVICE_SECONDS,
            "interval": 1,
        }))
    }

    /// The identity store an access portal URL names (`…/start/d-…`; `…/start` when the server
    /// has one instance).
    async fn store_of_start_url(&self, tx: &mut Box<dyn Tx>, start_url: &str) -> IamResult<String> {
        let invalid = || oidc_error("InvalidRequestException", "invalid_request", "Invalid start url");
        let named = start_url.split(['/', '#', '?']).find(|p| p.len() == 12 && p.starts_with("d-") && p[2..].bytes().all(|b| b.is_ascii_hexdigit()));
        match named {
            Some(id) => tx.get_org_object(id).await?.filter(|r| r.kind == OrgObjectKind::IdentityStore).map(|r| r.object_id).ok_or_else(invalid),
            None => Err(invalid()),
        }
    }

    /// The verification page: a signed-in portal user approves a user code of its store.
    pub async fn approve_device(&self, user: &PortalUser, user_code: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        self.check_mfa_registered(&mut tx, user).await?;
        let code = user_code.trim().to_uppercase();
        let rec = tx.org_object_by_key(&user.store_id, OrgObjectKind::DeviceAuthorization, &code).await?;
        let invalid = || validation("The code is not valid or has expired.");
        let mut rec = rec.ok_or_else(invalid)?;
        let mut body = object_body(&rec)?;
        if text(&body, "Status") != "PENDING" || body.get("Expires").and_then(Value::as_i64).is_none_or(|e| e <= self.now()) {
            return Err(invalid());
        }
        body.insert("Status".into(), json!("APPROVED"));
        body.insert("UserId".into(), json!(user.user_id));
        rec.body = Value::Object(body).to_string();
        tx.update_org_object(&rec).await?;
        tx.commit().await.map_err(Into::into)
    }

    /// CreateToken: the device-code grant (pending until approved) and the refresh-token grant.
    /// OIDC's CreateToken: the new session's tokens, and the user they are for.
    pub async fn create_oidc_token(&self, client_id: &str, secret: &str, grant_type: &str, device_code: Option<&str>, refresh_token: Option<&str>) -> IamResult<(Value, PortalUser)> {
        let mut tx = self.store.begin().await?;
        self.check_client(&mut tx, client_id, secret).await?;
        let grant = || oidc_error("InvalidGrantException", "invalid_grant", "Invalid grant provided");
        let user = match grant_type {
            "urn:ietf:params:oauth:grant-type:device_code" => {
                let code = device_code.ok_or_else(grant)?;
                let rec = tx.get_org_object(&sha(code)).await?.filter(|r| r.kind == OrgObjectKind::DeviceAuthorization).ok_or_else(grant)?;
                let body = object_body(&rec)?;
                if text(&body, "ClientId") != client_id {
                    return Err(grant());
                }
                if body.get("Expires").and_then(Value::as_i64).is_none_or(|e| e <= self.now()) {
                    return Err(oidc_error("ExpiredTokenException", "expired_token", "Device code has expired"));
                }
                if text(&body, "Status") != "APPROVED" {
                    return Err(oidc_error("AuthorizationPendingException", "authorization_pending", "Authorization is still pending"));
                }
                // A device code is redeemed once.
                tx.delete_org_object(&rec.object_id).await?;
                let user_id = text(&body, "UserId");
                let user = tx.get_org_object(&user_id).await?.filter(|u| u.kind == OrgObjectKind::DirectoryUser).ok_or_else(grant)?;
                PortalUser { store_id: rec.org_id.clone(), user_id, user_name: text(&object_body(&user)?, "UserName") }
            }
            "refresh_token" => {
                let t = refresh_token.ok_or_else(grant)?;
                let user = self.session_user(&mut tx, t, true).await?.ok_or_else(grant)?;
                tx.delete_org_object(&sha(t)).await?;
                user
            }
            _ => return Err(oidc_error("UnsupportedGrantTypeException", "unsupported_grant_type", "Unsupported grant type")),
        };
        let (access, refresh) = self.open_portal_session(&mut tx, &user).await?;
        tx.commit().await?;
        Ok((json!({"accessToken": access, "tokenType": "Bearer", "expiresIn": SESSION_SECONDS, "refreshToken": refresh}), user))
    }

    /// Invites a directory user by e-mail (its primary address, else its first): a link to
    /// choose a password, valid for seven days, with the portal URL and the user name. A new
    /// invitation replaces an unused one.
    pub async fn invite_directory_user(&self, auth: &Authorized<'_>, store_id: &str, user_id: &str) -> IamResult<String> {
        let Some(mailer) = self.mailer.clone() else {
            return Err(validation("This server sends no e-mail: start it with --smtp-url to send invitations, or give the user a one-time password."));
        };
        let mut tx = self.store.begin().await?;
        let dir = directory(&mut tx, auth, store_id).await?;
        let user = tx.get_org_object(user_id).await?.filter(|r| r.kind == OrgObjectKind::DirectoryUser && r.org_id == dir.id).ok_or_else(|| not_found("USER", user_id, "USER not found."))?;
        let body = object_body(&user)?;
        let emails = body.get("Emails").and_then(Value::as_array).cloned().unwrap_or_default();
        let email = emails
            .iter()
            .find(|e| e.get("Primary").and_then(Value::as_bool) == Some(true))
            .or_else(|| emails.first())
            .and_then(|e| e.get("Value").and_then(Value::as_str))
            .map(str::to_owned)
            .ok_or_else(|| validation("The user has no e-mail address to send an invitation to."))?;
        let invitation = token()?;
        let mut cred = self.credential(&mut tx, &dir.id, user_id).await?;
        cred.insert("InvitationHash".into(), json!(sha(&invitation)));
        cred.insert("InvitationExpires".into(), json!(self.now() + INVITATION_SECONDS));
        self.save_credential(&mut tx, &dir.id, user_id, cred).await?;
        tx.commit().await?;
        let user_name = text(&body, "UserName");
        let portal = self.portal_url(&dir.id);
        let message = format!(
            "Hello {display},\n\nYou have been invited to join AWS IAM Identity Center.\n\n\
             Your username: {user_name}\nYour AWS access portal URL: {portal}\n\n\
             Accept the invitation and choose your password:\n{portal}/invitation?token={invitation}\n\n\
             The invitation will expire in seven days.\n",
            display = text(&body, "DisplayName"),
        );
        mailer.send(&email, "Invitation to join AWS IAM Identity Center", &message).await.map_err(|e| IamError::ServiceFailure(format!("the invitation could not be sent: {e}")))?;
        Ok(email)
    }

    /// Accepting an invitation: the user chooses a password (Identity Center's rules) and is
    /// signed in. The invitation works once.
    pub async fn accept_invitation(&self, store_id: &str, invitation: &str, password: &str) -> IamResult<PortalSignIn> {
        let mut tx = self.store.begin().await?;
        let hash = sha(invitation);
        let now = self.now();
        let mut found = None;
        for rec in tx.org_objects(store_id, OrgObjectKind::DirectoryCredential, None).await? {
            let body = object_body(&rec)?;
            if body.get("InvitationHash").and_then(Value::as_str).is_some_and(|h| h.len() == hash.len() && h == hash) {
                found = Some((rec, body));
                break;
            }
        }
        let invalid = || validation("The invitation is not valid or has expired. Ask your administrator for a new one.");
        let (rec, mut cred) = found.ok_or_else(invalid)?;
        if cred.get("InvitationExpires").and_then(Value::as_i64).is_none_or(|e| e <= now) {
            return Err(invalid());
        }
        check_password(password)?;
        let user_id = rec.parent_id.clone().unwrap_or_default();
        let user = tx.get_org_object(&user_id).await?.filter(|u| u.kind == OrgObjectKind::DirectoryUser && u.org_id == store_id).ok_or_else(invalid)?;
        let hash = portcullis_credentials::hash_password(password)?;
        cred.remove("InvitationHash");
        cred.remove("InvitationExpires");
        cred.insert("PasswordHash".into(), json!(hash));
        cred.insert("History".into(), json!([hash]));
        cred.insert("MustChange".into(), json!(false));
        let blocked = !has_mfa_device(&cred) && self.users_without_mfa(&mut tx, store_id).await? == UsersWithoutMfa::BlockSignIn;
        self.save_credential(&mut tx, store_id, &user_id, cred).await?;
        if blocked {
            tx.commit().await?;
            return Ok(PortalSignIn::Blocked);
        }
        let portal_user = PortalUser { store_id: store_id.to_owned(), user_id, user_name: text(&object_body(&user)?, "UserName") };
        let token = self.open_portal_session(&mut tx, &portal_user).await?.0;
        tx.commit().await?;
        Ok(PortalSignIn::SignedIn { token, user: portal_user })
    }

    /// Starts registering an authenticator app for a portal user: a new secret, kept
    /// (sealed) until a code from the app confirms it.
    pub async fn start_portal_mfa(&self, user: &PortalUser) -> IamResult<PortalMfaSetup> {
        let seed = portcullis_credentials::random_bytes::<20>()?.to_vec();
        let t = crate::mfa::totp(seed.clone(), &user.user_name)?;
        let mut tx = self.store.begin().await?;
        let mut cred = self.credential(&mut tx, &user.store_id, &user.user_id).await?;
        cred.insert("PendingMfa".into(), json!(self.secrets.seal(&seed, &mfa_aad(&user.user_id))?));
        self.save_credential(&mut tx, &user.store_id, &user.user_id, cred).await?;
        tx.commit().await?;
        Ok(PortalMfaSetup { secret_base32: t.get_secret_base32(), uri: t.get_url(), qr_png_base64: t.get_qr_base64().map_err(IamError::ServiceFailure)? })
    }

    /// Confirms the authenticator app being registered with one code from it; from then on
    /// sign-in asks for a code.
    pub async fn confirm_portal_mfa(&self, user: &PortalUser, code: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        let mut cred = self.credential(&mut tx, &user.store_id, &user.user_id).await?;
        let sealed = cred.get("PendingMfa").and_then(Value::as_str).map(str::to_owned).ok_or_else(|| validation("Start registering an authenticator app first."))?;
        let t = crate::mfa::totp(self.secrets.open(&sealed, &mfa_aad(&user.user_id))?, &user.user_name)?;
        let now = self.now() / crate::mfa::STEP;
        let step = ((now - 1)..=(now + 1)).find(|s| Self::code_at(&t, *s) == code.trim()).ok_or_else(|| validation("The authentication code is not valid."))?;
        cred.remove("PendingMfa");
        cred.insert("Mfa".into(), json!(sealed));
        cred.insert("MfaLastStep".into(), json!(step));
        self.save_credential(&mut tx, &user.store_id, &user.user_id, cred).await?;
        tx.commit().await.map_err(Into::into)
    }

    /// Whether a portal user has an MFA device (an authenticator app or a security key), and
    /// whether it must register one first.
    pub async fn portal_mfa_state(&self, user: &PortalUser) -> IamResult<PortalMfaState> {
        let mut tx = self.store.begin_read().await?;
        let cred = self.credential(&mut tx, &user.store_id, &user.user_id).await?;
        let registered = has_mfa_device(&cred);
        let must_register = !registered && self.users_without_mfa(&mut tx, &user.store_id).await? != UsersWithoutMfa::AllowSignIn;
        Ok(PortalMfaState { registered, must_register })
    }

    /// Refuses a user who must register an MFA device before using the portal.
    async fn check_mfa_registered(&self, tx: &mut Box<dyn Tx>, user: &PortalUser) -> IamResult<()> {
        let cred = self.credential(tx, &user.store_id, &user.user_id).await?;
        if !has_mfa_device(&cred) && self.users_without_mfa(tx, &user.store_id).await? != UsersWithoutMfa::AllowSignIn {
            return Err(IamError::service("UnauthorizedException", "Register an MFA device in the AWS access portal first.", &[]));
        }
        Ok(())
    }

    async fn users_without_mfa(&self, tx: &mut Box<dyn Tx>, store_id: &str) -> IamResult<UsersWithoutMfa> {
        let Some(rec) = tx.get_org_object(store_id).await?.filter(|r| r.kind == OrgObjectKind::IdentityStore) else { return Ok(UsersWithoutMfa::RequireRegistration) };
        Ok(object_body(&rec)?.get("UsersWithoutMfa").and_then(Value::as_str).and_then(UsersWithoutMfa::parse).unwrap_or(UsersWithoutMfa::RequireRegistration))
    }

    /// The identity store's "Users without MFA" setting.
    pub async fn portal_mfa_setting(&self, auth: &Authorized<'_>, store_id: &str) -> IamResult<UsersWithoutMfa> {
        let mut tx = self.store.begin_read().await?;
        let dir = directory(&mut tx, auth, store_id).await?;
        self.users_without_mfa(&mut tx, &dir.id).await
    }

    /// Changes the identity store's "Users without MFA" setting.
    pub async fn set_portal_mfa_setting(&self, auth: &Authorized<'_>, store_id: &str, setting: UsersWithoutMfa) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        let dir = directory(&mut tx, auth, store_id).await?;
        let mut rec = tx.get_org_object(&dir.id).await?.ok_or_else(|| IamError::ServiceFailure("the identity store vanished".to_owned()))?;
        let mut body = object_body(&rec)?;
        body.insert("UsersWithoutMfa".into(), json!(setting.as_str()));
        rec.body = Value::Object(body).to_string();
        tx.update_org_object(&rec).await?;
        tx.commit().await.map_err(Into::into)
    }

    /// The token a portal form carries (derived from the session's token), against
    /// cross-site requests.
    pub fn portal_form_token(session_token: &str) -> String {
        sha(&format!("portal-form:{session_token}"))[..32].to_owned()
    }

    /// The access portal URL of an instance's identity store.
    pub fn portal_url(&self, store_id: &str) -> String {
        format!("{}/start/{store_id}", self.public_base_url)
    }
}

/// A passkey or security key being registered by a portal user (held by the portal's
/// server side between the two steps).
/// Serialisable, so that the console can keep it (sealed) in the store between requests.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct PortalKeyRegistration {
    store_id: String,
    user_id: String,
    state: webauthn_rs::prelude::PasskeyRegistration,
}

/// A sign-in challenge for a portal user's passkeys and security keys.
/// Serialisable, so that the console can keep it (sealed) in the store between requests.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct PortalKeyChallenge {
    store_id: String,
    user_id: String,
    state: webauthn_rs::prelude::PasskeyAuthentication,
}

impl std::fmt::Debug for PortalKeyChallenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortalKeyChallenge").field("user_id", &self.user_id).finish_non_exhaustive()
    }
}

impl PortalKeyChallenge {
    /// The identity store of the user it challenges.
    pub fn store_id(&self) -> &str {
        &self.store_id
    }
}

/// The second factor a portal sign-in step brings.
pub enum PortalSecondFactor<'a> {
    None,
    /// A code from an authenticator app.
    Code(&'a str),
    /// The browser's answer (JSON) to a security-key challenge.
    Key(&'a PortalKeyChallenge, &'a str),
}

fn key_aad(user_id: &str) -> String {
    format!("directory-webauthn:{user_id}")
}

/// A stable WebAuthn user handle for a directory user.
fn portal_user_handle(user_id: &str) -> webauthn_rs::prelude::Uuid {
    let digest = sha2::Sha256::digest(format!("portcullis-portal-user:{user_id}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    webauthn_rs::prelude::Uuid::from_bytes(bytes)
}

fn key_not_verified() -> IamError {
    IamError::AccessDenied("The passkey or security key could not be verified. Please try again.".to_owned())
}

impl Iam {
    fn portal_passkeys(&self, cred: &Map<String, Value>, user_id: &str) -> IamResult<Vec<webauthn_rs::prelude::Passkey>> {
        let mut out = Vec::new();
        for sealed in cred.get("Keys").and_then(Value::as_array).cloned().unwrap_or_default() {
            let plain = self.secrets.open(sealed.as_str().unwrap_or_default(), &key_aad(user_id))?;
            out.push(serde_json::from_slice(&plain).map_err(|e| IamError::ServiceFailure(format!("stored passkey: {e}")))?);
        }
        Ok(out)
    }

    /// Starts registering a passkey or security key for a portal user: the options for
    /// `navigator.credentials.create` (JSON) and the state to finish with.
    pub async fn start_portal_key_registration(&self, user: &PortalUser) -> IamResult<(String, PortalKeyRegistration)> {
        let webauthn = self.webauthn.clone().ok_or_else(|| validation("Passkeys and security keys need the server's public URL (--public-url)."))?;
        let mut tx = self.store.begin_read().await?;
        let cred = self.credential(&mut tx, &user.store_id, &user.user_id).await?;
        let exclude = self.portal_passkeys(&cred, &user.user_id)?.iter().map(|k| k.cred_id().clone()).collect();
        let (options, state) = webauthn
            .start_passkey_registration(portal_user_handle(&user.user_id), &user.user_name, &user.user_name, Some(exclude))
            .map_err(|e| IamError::ServiceFailure(format!("webauthn registration: {e}")))?;
        let options = serde_json::to_string(&options).map_err(|e| IamError::ServiceFailure(format!("webauthn options: {e}")))?;
        Ok((options, PortalKeyRegistration { store_id: user.store_id.clone(), user_id: user.user_id.clone(), state }))
    }

    /// Finishes the registration with the browser's answer; the key is then asked for at
    /// sign-in (like an authenticator app).
    pub async fn finish_portal_key_registration(&self, user: &PortalUser, reg: &PortalKeyRegistration, response: &str) -> IamResult<()> {
        let webauthn = self.webauthn.clone().ok_or_else(|| validation("Passkeys and security keys need the server's public URL (--public-url)."))?;
        if reg.store_id != user.store_id || reg.user_id != user.user_id {
            return Err(key_not_verified());
        }
        let credential: webauthn_rs::prelude::RegisterPublicKeyCredential = serde_json::from_str(response).map_err(|_| key_not_verified())?;
        let passkey = webauthn.finish_passkey_registration(&credential, &reg.state).map_err(|_| key_not_verified())?;
        let mut tx = self.store.begin().await?;
        let mut cred = self.credential(&mut tx, &user.store_id, &user.user_id).await?;
        let mut keys = cred.get("Keys").and_then(Value::as_array).cloned().unwrap_or_default();
        if keys.len() >= 8 {
            return Err(validation("A user has at most eight passkeys and security keys."));
        }
        let plain = serde_json::to_vec(&passkey).map_err(|e| IamError::ServiceFailure(e.to_string()))?;
        keys.push(json!(self.secrets.seal(&plain, &key_aad(&user.user_id))?));
        cred.insert("Keys".into(), Value::Array(keys));
        self.save_credential(&mut tx, &user.store_id, &user.user_id, cred).await?;
        tx.commit().await.map_err(Into::into)
    }

    /// Checks a code from the user's authenticator app (each code once).
    async fn check_portal_code(&self, tx: &mut Box<dyn Tx>, store_id: &str, user_id: &str, cred: &mut Map<String, Value>, sealed: &str, code: &str) -> IamResult<()> {
        let throttle = format!("portal-mfa:{user_id}");
        if self.throttled(&throttle).await? {
            return Err(IamError::AccessDenied("Too many invalid codes; try again in a few minutes.".to_owned()));
        }
        let t = crate::mfa::totp(self.secrets.open(sealed, &mfa_aad(user_id))?, "portal")?;
        let now = self.now() / crate::mfa::STEP;
        let last = cred.get("MfaLastStep").and_then(Value::as_i64);
        let step = ((now - 1)..=(now + 1)).find(|s| last.is_none_or(|l| *s > l) && Self::code_at(&t, *s) == code.trim());
        self.note_attempt(&throttle, step.is_some()).await?;
        let Some(step) = step else { return Err(IamError::AccessDenied("The authentication code is not valid.".to_owned())) };
        cred.insert("MfaLastStep".into(), json!(step));
        self.save_credential(tx, store_id, user_id, cred.clone()).await
    }

    /// A challenge for the user's keys, when it has any (and the server does WebAuthn).
    fn portal_key_challenge(&self, cred: &Map<String, Value>, store_id: &str, user_id: &str) -> IamResult<Option<(String, PortalKeyChallenge)>> {
        let Some(webauthn) = self.webauthn.clone() else { return Ok(None) };
        let keys = self.portal_passkeys(cred, user_id)?;
        if keys.is_empty() {
            return Ok(None);
        }
        let (options, state) = webauthn.start_passkey_authentication(&keys).map_err(|e| IamError::ServiceFailure(format!("webauthn challenge: {e}")))?;
        let options = serde_json::to_string(&options).map_err(|e| IamError::ServiceFailure(format!("webauthn options: {e}")))?;
        Ok(Some((options, PortalKeyChallenge { store_id: store_id.to_owned(), user_id: user_id.to_owned(), state })))
    }

    /// Checks the browser's answer to a key challenge, recording the key's new counter.
    async fn check_portal_key(&self, tx: &mut Box<dyn Tx>, store_id: &str, user_id: &str, cred: &mut Map<String, Value>, challenge: &PortalKeyChallenge, response: &str) -> IamResult<()> {
        let webauthn = self.webauthn.clone().ok_or_else(key_not_verified)?;
        if challenge.store_id != store_id || challenge.user_id != user_id {
            return Err(key_not_verified());
        }
        let throttle = format!("portal-mfa:{user_id}");
        if self.throttled(&throttle).await? {
            return Err(IamError::AccessDenied("Too many invalid attempts; try again in a few minutes.".to_owned()));
        }
        let result = serde_json::from_str::<webauthn_rs::prelude::PublicKeyCredential>(response)
            .ok()
            .and_then(|c| webauthn.finish_passkey_authentication(&c, &challenge.state).ok());
        self.note_attempt(&throttle, result.is_some()).await?;
        let result = result.ok_or_else(key_not_verified)?;
        let mut keys = self.portal_passkeys(cred, user_id)?;
        let Some(key) = keys.iter_mut().find(|k| k.cred_id() == result.cred_id()) else { return Err(key_not_verified()) };
        key.update_credential(&result);
        let mut sealed = Vec::new();
        for k in &keys {
            let plain = serde_json::to_vec(k).map_err(|e| IamError::ServiceFailure(e.to_string()))?;
            sealed.push(json!(self.secrets.seal(&plain, &key_aad(user_id))?));
        }
        cred.insert("Keys".into(), Value::Array(sealed));
        self.save_credential(tx, store_id, user_id, cred.clone()).await
    }
}
