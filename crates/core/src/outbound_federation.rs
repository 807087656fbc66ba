//! Outbound web identity federation: Portcullis as an OpenID Connect issuer for the
//! account, so that its identities can prove who they are to other systems
//! (GetWebIdentityToken). Turned on per account (EnableOutboundWebIdentityFederation), which
//! makes the account's issuer URL and an RSA signing key (sealed with the master key); the
//! discovery document and JWKS are served unauthenticated under the issuer URL, for anyone
//! to verify the tokens.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};

use crate::{Authorized, Iam, IamError, IamResult};

const ENABLED: &str = "outbound-federation-enabled";
const ISSUER_ID: &str = "outbound-federation-issuer-id";
const SIGNING_KEY: &str = "outbound-federation-signing-key";
const KEY_AAD: &str = "outbound-federation-key";
/// Token lifetime: default five minutes, at most an hour, as AWS's.
const DEFAULT_SECONDS: i64 = 300;

/// The account's issuer: its URL and whether tokens are issued.
#[derive(Debug, Clone)]
pub struct OutboundFederation {
    pub issuer: String,
    pub enabled: bool,
}

fn disabled() -> IamError {
    IamError::FeatureDisabled("Outbound web identity federation is disabled for this account.".to_owned())
}

fn base64url(bytes: &[u8]) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    URL_SAFE_NO_PAD.encode(bytes)
}

impl Iam {
    /// The address people reach this server at, where issuer URLs live.
    pub fn with_public_base_url(mut self, url: &str) -> Self {
        self.public_base_url = std::sync::Arc::new(url.trim_end_matches('/').to_owned());
        self
    }

    fn issuer_url(&self, id: &str) -> String {
        format!("{}/_portcullis/oidc/{id}", self.public_base_url)
    }

    pub async fn enable_outbound_federation(&self, auth: &Authorized<'_>) -> IamResult<String> {
        let account = auth.account();
        let mut tx = self.store.begin().await?;
        tx.lock(&format!("outbound-federation:{account}")).await?;
        if tx.get_account_setting(account, ENABLED).await?.as_deref() == Some("true") {
            return Err(IamError::FeatureEnabled("Outbound web identity federation is already enabled for this account.".to_owned()));
        }
        let id = match tx.get_account_setting(account, ISSUER_ID).await? {
            Some(id) => id,
            None => {
                let id = data_encoding::BASE32_NOPAD.encode(&portcullis_credentials::random_bytes::<15>()?).to_ascii_lowercase();
                let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).map_err(|e| IamError::ServiceFailure(format!("rsa key: {e}")))?;
                let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| IamError::ServiceFailure(format!("rsa key: {e}")))?;
                let sealed = self.secrets.seal(pem.as_bytes(), KEY_AAD)?;
                tx.put_account_setting(account, SIGNING_KEY, &sealed).await?;
                tx.put_account_setting(account, ISSUER_ID, &id).await?;
                id
            }
        };
        tx.put_account_setting(account, ENABLED, "true").await?;
        tx.commit().await?;
        Ok(self.issuer_url(&id))
    }

    pub async fn disable_outbound_federation(&self, auth: &Authorized<'_>) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        if tx.get_account_setting(auth.account(), ENABLED).await?.as_deref() != Some("true") {
            return Err(disabled());
        }
        tx.put_account_setting(auth.account(), ENABLED, "false").await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn outbound_federation_info(&self, auth: &Authorized<'_>) -> IamResult<OutboundFederation> {
        let mut tx = self.store.begin_read().await?;
        let id = tx.get_account_setting(auth.account(), ISSUER_ID).await?.ok_or_else(disabled)?;
        let enabled = tx.get_account_setting(auth.account(), ENABLED).await?.as_deref() == Some("true");
        Ok(OutboundFederation { issuer: self.issuer_url(&id), enabled })
    }

    /// The account's signing key and issuer id, for an issuer id from a URL.
    async fn issuer_key(&self, account: &str) -> IamResult<(String, rsa::RsaPrivateKey)> {
        let mut tx = self.store.begin_read().await?;
        let id = tx.get_account_setting(account, ISSUER_ID).await?.ok_or_else(disabled)?;
        let sealed = tx.get_account_setting(account, SIGNING_KEY).await?.ok_or_else(disabled)?;
        let pem = String::from_utf8(self.secrets.open(&sealed, KEY_AAD)?).map_err(|e| IamError::ServiceFailure(format!("signing key: {e}")))?;
        let key = rsa::RsaPrivateKey::from_pkcs8_pem(&pem).map_err(|e| IamError::ServiceFailure(format!("signing key: {e}")))?;
        Ok((id, key))
    }

    fn key_id(id: &str) -> String {
        format!("{id}-rs256")
    }

    /// GetWebIdentityToken: a JWT naming the caller, for these audiences.
    pub async fn get_web_identity_token(&self, auth: &Authorized<'_>, audiences: &[String], duration: Option<i64>, algorithm: &str, tags: &[(String, String)]) -> IamResult<(String, i64)> {
        let caller = auth.caller();
        let account = &caller.account_id;
        {
            let mut tx = self.store.begin_read().await?;
            if tx.get_account_setting(account, ENABLED).await?.as_deref() != Some("true") {
                return Err(IamError::OutboundFederationDisabled("Outbound web identity federation is disabled for this account.".to_owned()));
            }
        }
        if algorithm != "RS256" {
            return Err(IamError::Validation(format!("Portcullis signs web identity tokens with RS256; {algorithm} is not available.")));
        }
        // Tags become claims other systems may trust: passing them is an action of its own.
        if !tags.is_empty() {
            self.authorize(caller, &crate::AuthzRequest::new("sts:TagGetWebIdentityToken", "*").with_request_tags(tags)).await?;
        }
        let seconds = duration.unwrap_or(DEFAULT_SECONDS);
        let (id, key) = self.issuer_key(account).await?;
        let now = self.now();
        let jti = data_encoding::HEXLOWER.encode(&portcullis_credentials::random_bytes::<16>()?);
        let aud: Value = if audiences.len() == 1 { json!(audiences[0]) } else { json!(audiences) };
        let tags: serde_json::Map<String, Value> = tags.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        let claims = json!({
            "iss": self.issuer_url(&id),
            "sub": caller.arn(),
            "aud": aud,
            "iat": now,
            "nbf": now,
            "exp": now + seconds,
            "jti": jti,
            "https://sts.amazonaws.com/": {
                "aws_account": account,
                "source_region": caller.request.region,
                "principal_id": caller.arn(),
                "request_tags": tags,
            },
        });
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(Self::key_id(&id));
        let der = key.to_pkcs1_der().map_err(|e| IamError::ServiceFailure(format!("signing key: {e}")))?;
        let token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_rsa_der(der.as_bytes()))
            .map_err(|e| IamError::ServiceFailure(format!("signing: {e}")))?;
        Ok((token, now + seconds))
    }

    /// The discovery document and JWKS of an issuer id (served without authentication);
    /// `None` for an id no account has.
    pub async fn outbound_issuer_documents(&self, issuer_id: &str) -> IamResult<Option<(Value, Value)>> {
        let account = {
            let mut tx = self.store.begin_read().await?;
            match tx.account_with_setting(ISSUER_ID, issuer_id).await? {
                Some(account) => account,
                None => return Ok(None),
            }
        };
        let (id, key) = self.issuer_key(&account).await?;
        let public = key.to_public_key();
        let issuer = self.issuer_url(&id);
        let discovery = json!({
            "issuer": issuer,
            "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        });
        let jwks = json!({"keys": [{
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": Self::key_id(&id),
            "n": base64url(&public.n().to_bytes_be()),
            "e": base64url(&public.e().to_bytes_be()),
        }]});
        Ok(Some((discovery, jwks)))
    }
}
