//! AssumeRoleWithWebIdentity: a token from an OpenID Connect provider the account trusts
//! (GitHub Actions, a Kubernetes cluster, a company's identity provider) is exchanged for a
//! role session. No token is trusted without its signature: the provider's keys come from
//! its discovery document and JWKS over HTTPS (public CAs, plus `--oidc-ca-file` for private
//! ones), cached per issuer and fetched again when a token names an unknown key. The
//! issuer, audience, expiry and not-before are checked at the server's clock, and the role's
//! trust policy decides, through the one decision function, with the provider's condition
//! keys (`HOST/PATH:sub`, `:aud`, `:amr`, …).

use portcullis_types::Arn;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use portcullis_policy::EvalDecision;
use serde_json::Value;

use crate::sts::{packed_policy_size, AssumedRole, RoleSession};
use crate::{AuthzRequest, Caller, Federation, Iam, IamError, IamResult, Principal, RequestFacts};

/// How long fetched keys are used before asking the provider again, and how soon a token
/// naming an unknown key may make us ask again (so tokens cannot make us hammer it).
const KEYS_FRESH: Duration = Duration::from_secs(600);
const REFETCH_AFTER: Duration = Duration::from_secs(30);
/// Clock skew tolerated on `exp` and `nbf`, as AWS documents (five minutes).
const LEEWAY: i64 = 300;
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// A provider's documents are small; anything larger is refused unread.
const MAX_DOCUMENT: usize = 512 * 1024;
/// After a failed fetch, the issuer is not asked again for this long (a flood of tokens
/// naming a failing issuer must not turn into a flood of requests to it).
const FAILURE_BACKOFF: Duration = Duration::from_secs(30);
/// The signature algorithms a provider may use (never `none` or shared-secret HMAC).
const ALGORITHMS: [Algorithm; 8] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
];
/// Claims GitHub Actions tokens carry that AWS makes condition keys of.
const GITHUB_CLAIMS: [&str; 10] =
    ["actor", "actor_id", "job_workflow_ref", "repository", "repository_id", "repository_owner_id", "workflow", "ref", "environment", "enterprise_id"];

/// What AssumeRoleWithWebIdentity was asked.
#[derive(Debug, Clone, Default)]
pub struct WebIdentityInput {
    pub role_arn: String,
    pub session_name: String,
    pub token: String,
    pub session: crate::SessionAsk,
}

/// The role session, and what AWS reports of the token.
pub struct WebIdentitySession {
    pub assumed: AssumedRole,
    /// The token's `sub`.
    pub subject: String,
    /// The provider's ARN.
    pub provider: String,
    /// The token audience that matched one of the provider's client ids.
    pub audience: String,
}

/// Fetched signing keys, by issuer.
#[derive(Default)]
pub(crate) struct KeyCache {
    keys: Mutex<HashMap<String, (Instant, JwkSet)>>,
    failed: Mutex<HashMap<String, Instant>>,
    /// One fetch per issuer at a time: concurrent tokens wait for its answer.
    fetching: tokio::sync::Mutex<()>,
    client: std::sync::OnceLock<reqwest::Client>,
}

fn invalid(message: &str) -> IamError {
    IamError::InvalidIdentityToken(message.to_owned())
}

fn no_keys() -> IamError {
    invalid("Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements")
}

fn not_authorized() -> IamError {
    IamError::AccessDenied("Not authorized to perform sts:AssumeRoleWithWebIdentity".to_owned())
}

/// The token's claims, read before its signature is checked (only to find its issuer).
fn unverified_claims(token: &str) -> IamResult<serde_json::Map<String, Value>> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let not_jwt = || invalid("The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)");
    jsonwebtoken::decode_header(token).map_err(|_| not_jwt())?;
    let payload = token.split('.').nth(1).ok_or_else(not_jwt)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).map_err(|_| not_jwt())?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(not_jwt()),
    }
}

/// A claim that may be one string or a list of strings.
fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    }
}

fn number(v: Option<&Value>) -> Option<i64> {
    v.and_then(|x| x.as_i64().or_else(|| x.as_f64().map(|f| f as i64)))
}

impl Iam {
    /// Trusts these CA certificates (PEM) besides the public ones when fetching providers'
    /// keys (`--oidc-ca-file`, for providers behind a private CA).
    pub fn with_oidc_ca(mut self, pem: &[u8]) -> IamResult<Self> {
        let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| IamError::Validation(format!("OIDC CA file: {e}")))?;
        if certs.is_empty() {
            return Err(IamError::Validation("OIDC CA file: no PEM certificate in it".to_owned()));
        }
        self.oidc_roots = std::sync::Arc::new(certs);
        Ok(self)
    }

    fn http(&self) -> IamResult<reqwest::Client> {
        if let Some(c) = self.oidc_keys.client.get() {
            return Ok(c.clone());
        }
        let mut builder = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .https_only(true)
            .redirect(reqwest::redirect::Policy::limited(3))
            .user_agent(concat!("Portcullis/", env!("CARGO_PKG_VERSION")));
        for cert in self.oidc_roots.iter() {
            builder = builder.add_root_certificate(cert.clone());
        }
        let client = builder.build().map_err(|e| IamError::ServiceFailure(format!("http client: {e}")))?;
        Ok(self.oidc_keys.client.get_or_init(|| client).clone())
    }

    /// A JSON document from a provider, read up to [`MAX_DOCUMENT`] bytes.
    async fn fetch_json<T: serde::de::DeserializeOwned>(client: &reqwest::Client, url: &str) -> Result<T, String> {
        let mut resp = client.get(url).send().await.and_then(reqwest::Response::error_for_status).map_err(|e| e.to_string())?;
        if resp.content_length().is_some_and(|n| n > MAX_DOCUMENT as u64) {
            return Err("document too large".to_owned());
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_DOCUMENT {
                return Err("document too large".to_owned());
            }
        }
        serde_json::from_slice(&body).map_err(|e| e.to_string())
    }

    /// The provider's signing keys: its discovery document names the JWKS.
    async fn fetch_keys(&self, issuer: &str) -> IamResult<JwkSet> {
        let client = self.http()?;
        let discovery = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
        let fetch_failed = |what: &str, e: &dyn std::fmt::Display| {
            tracing::info!(issuer, what, error = %e, "fetching an OpenID Connect provider's keys failed");
            no_keys()
        };
        let doc: Value = Self::fetch_json(&client, &discovery).await.map_err(|e| fetch_failed("discovery document", &e))?;
        // The document must be the issuer's own, and its keys on the issuer's host.
        if doc.get("issuer").and_then(Value::as_str) != Some(issuer) {
            return Err(fetch_failed("discovery document", &"its issuer is not the token's"));
        }
        let jwks_uri = doc.get("jwks_uri").and_then(Value::as_str).ok_or_else(|| fetch_failed("discovery document", &"no jwks_uri"))?;
        let host = |u: &str| reqwest::Url::parse(u).ok().and_then(|u| u.host_str().map(str::to_owned));
        if host(jwks_uri).is_none() || host(jwks_uri) != host(issuer) {
            return Err(fetch_failed("discovery document", &"jwks_uri is not on the issuer's host"));
        }
        Self::fetch_json::<JwkSet>(&client, jwks_uri).await.map_err(|e| fetch_failed("JWKS", &e))
    }

    /// The key a token names (`kid`), from the cache or the provider.
    async fn signing_key(&self, issuer: &str, kid: Option<&str>) -> IamResult<jsonwebtoken::jwk::Jwk> {
        let pick = |set: &JwkSet| match kid {
            Some(k) => set.find(k).cloned(),
            None if set.keys.len() == 1 => set.keys.first().cloned(),
            None => None,
        };
        let cached = {
            let keys = self.oidc_keys.keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            keys.get(issuer).cloned()
        };
        if let Some((at, set)) = &cached {
            if let Some(k) = pick(set) {
                if at.elapsed() < KEYS_FRESH {
                    return Ok(k);
                }
            } else if at.elapsed() < REFETCH_AFTER {
                return Err(no_keys());
            }
        }
        let failed_lately = |cache: &KeyCache| {
            let failed = cache.failed.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            failed.get(issuer).is_some_and(|at| at.elapsed() < FAILURE_BACKOFF)
        };
        if failed_lately(&self.oidc_keys) {
            return Err(no_keys());
        }
        let _one_at_a_time = self.oidc_keys.fetching.lock().await;
        // Another request may have fetched (or failed) while this one waited.
        if failed_lately(&self.oidc_keys) {
            return Err(no_keys());
        }
        if let Some((at, set)) = self.oidc_keys.keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(issuer) {
            if at.elapsed() < REFETCH_AFTER {
                return pick(set).ok_or_else(no_keys);
            }
        }
        let set = match self.fetch_keys(issuer).await {
            Ok(set) => set,
            Err(e) => {
                self.oidc_keys.failed.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(issuer.to_owned(), Instant::now());
                return Err(e);
            }
        };
        let found = pick(&set);
        self.oidc_keys.keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(issuer.to_owned(), (Instant::now(), set));
        found.ok_or_else(no_keys)
    }

    pub async fn assume_role_with_web_identity(&self, input: &WebIdentityInput, facts: RequestFacts) -> IamResult<WebIdentitySession> {
        let claims = unverified_claims(&input.token)?;
        let issuer = claims.get("iss").and_then(Value::as_str).unwrap_or_default().to_owned();
        let Some(provider_url) = issuer.strip_prefix("https://").filter(|u| !u.is_empty()) else {
            return Err(invalid("The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)"));
        };
        // The role names the account whose providers and trust policy count.
        let role_arn = Arn::parse_iam(&input.role_arn, "role").ok_or_else(|| IamError::Validation("Request ARN is invalid".to_owned()))?;
        let account = role_arn.account.clone();
        let provider_arn = crate::iam_resource_arn(&account, &format!("oidc-provider/{provider_url}"));
        let provider = {
            let mut tx = self.store.begin_read().await?;
            tx.get_oidc_provider(&provider_arn).await?.filter(|p| p.account_id == account)
        }
        .ok_or_else(|| invalid(&format!("No OpenIDConnect provider found in your account for {issuer}")))?;

        // The signature, with the provider's key; then the claims, at this server's clock.
        let header = jsonwebtoken::decode_header(&input.token).map_err(|_| invalid("The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)"))?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(invalid("The ID Token provided is not signed with a supported algorithm."));
        }
        let jwk = self.signing_key(&issuer, header.kid.as_deref()).await?;
        // A key published for one algorithm is not used with another.
        if let Some(alg) = jwk.common.key_algorithm {
            if format!("{alg:?}") != format!("{:?}", header.alg) {
                return Err(invalid("The ID Token provided could not be verified with the identity provider's keys."));
            }
        }
        let key = DecodingKey::from_jwk(&jwk).map_err(|_| no_keys())?;
        let mut validation = Validation::new(header.alg);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        validation.set_issuer(&[issuer.as_str()]);
        jsonwebtoken::decode::<serde_json::Map<String, Value>>(&input.token, &key, &validation).map_err(|e| {
            tracing::info!(issuer = %issuer, error = %e, "web identity token refused");
            invalid("The ID Token provided could not be verified with the identity provider's keys.")
        })?;

        let now = self.now();
        let exp = number(claims.get("exp")).ok_or_else(|| invalid("Missing a required claim: exp"))?;
        if now > exp + LEEWAY {
            return Err(IamError::ExpiredTokenException(format!(
                "Token expired: current date/time {now} must be before the expiration date/time {exp}"
            )));
        }
        if number(claims.get("nbf")).is_some_and(|nbf| nbf > now + LEEWAY) {
            return Err(invalid("The ID Token is not valid yet: its nbf claim is in the future."));
        }
        let audiences = strings(claims.get("aud"));
        if audiences.is_empty() {
            return Err(invalid("Missing a required claim: aud"));
        }
        let audience = audiences.iter().find(|a| provider.client_ids.contains(a)).cloned().ok_or_else(|| invalid("Incorrect token audience"))?;
        let subject = claims.get("sub").and_then(Value::as_str).unwrap_or_default().to_owned();

        // The role and its trust policy, which must name the provider.
        let (role, trust) = self.role_with_trust(&role_arn, "sts:AssumeRoleWithWebIdentity", not_authorized).await?;
        let mut req = AuthzRequest::new("sts:AssumeRoleWithWebIdentity", input.role_arn.clone())
            .with("sts:RoleSessionName", vec![input.session_name.clone()])
            .with("aws:FederatedProvider", vec![provider_arn.clone()]);
        let key = |claim: &str| format!("{provider_url}:{claim}");
        // `:aud` is the authorized party when there is one, else the audience.
        let aud_key = claims.get("azp").and_then(Value::as_str).map_or_else(|| audiences.clone(), |azp| vec![azp.to_owned()]);
        req = req.with(&key("aud"), aud_key).with(&key("oaud"), audiences.clone());
        for claim in ["sub", "amr", "email"] {
            let values = strings(claims.get(claim));
            if !values.is_empty() {
                req = req.with(&key(claim), values);
            }
        }
        if provider_url == "token.actions.githubusercontent.com" {
            for claim in GITHUB_CLAIMS {
                let values = strings(claims.get(claim)).into_iter().chain(number(claims.get(claim)).map(|n| n.to_string())).collect::<Vec<_>>();
                if !values.is_empty() {
                    req = req.with(&key(claim), values);
                }
            }
        }
        let bearer = Caller {
            account_id: account.clone(),
            principal: Principal::ProviderUser { protocol: Federation::WebIdentity, provider_arn: provider_arn.clone(), subject: subject.clone() },
            access_key_id: String::new(),
            session: None,
            request: facts,
        };
        let decision = self.decide_with(&bearer, &req, &[("trust-policy", &trust)]).await?;
        if decision.effect != EvalDecision::Allowed {
            return Err(not_authorized());
        }

        let duration = input.session.duration.unwrap_or(3_600);
        if duration > role.max_session_duration {
            return Err(IamError::Validation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.".to_owned()));
        }
        let policies = self.session_policies(&account, &input.session).await?;
        let packed = packed_policy_size(input.session.passes_policies(), &policies, &[]);
        let session = RoleSession {
            role: &role,
            session_name: &input.session_name,
            duration,
            mfa_at: None,
            policies,
            source_identity: None,
            tags: Vec::new(),
            transitive_tag_keys: Vec::new(),
        };
        let assumed = self.issue_role_session(session, packed)?;
        Ok(WebIdentitySession { assumed, subject, provider: provider_arn, audience })
    }
}
