//! SigV4 authentication of a request: parse what it claims, look the key up, verify.

use axum::http::request::Parts;
use axum::http::HeaderMap;
use portcullis_core::{Caller, Iam, IamError, RequestFacts};
use portcullis_protocol::AwsError;
use portcullis_sigv4::{HttpRequest, SigError};

use crate::iam_error;

fn sig_error(e: SigError) -> AwsError {
    AwsError::new(e.code(), e.http_status(), e.message())
}

/// The service named in the credential scope, if the request carries one (used to tell
/// STS from IAM before parameters are read).
pub fn scope_service<'a>(headers: &'a HeaderMap, query: &'a str) -> Option<&'a str> {
    let from_header = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').nth(3));
    from_header.or_else(|| {
        query.split('&').find_map(|kv| kv.strip_prefix("X-Amz-Credential=")).and_then(|c| {
            // The credential is percent-encoded in presigned URLs: AKID%2Fdate%2Fregion%2Fservice…
            c.split("%2F").nth(3)
        })
    })
}

/// What a request says about itself, for an operation that needs no signature.
pub fn unsigned_facts(parts: &Parts) -> portcullis_core::RequestFacts {
    portcullis_core::RequestFacts {
        source_ip: parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip().to_string()),
        secure_transport: parts.extensions.get::<portcullis_types::SecureTransport>().is_some(),
        region: "us-east-1".to_owned(),
        user_agent: parts.headers.get("user-agent").and_then(|v| v.to_str().ok()).map(str::to_owned),
    }
}

/// Authenticates a request for `service` (the SigV4 signing name: `iam`, `sts`).
pub async fn authenticate(iam: &Iam, parts: &Parts, query: &str, body: &[u8], service: &str) -> Result<Caller, AwsError> {
    // Every header is passed on, also one that is not visible ASCII (read lossily, so it
    // cannot match a signature): dropping it would hide, for example, a second
    // Authorization header from the parser.
    let owned: Vec<(&str, std::borrow::Cow<'_, str>)> =
        parts.headers.iter().map(|(k, v)| (k.as_str(), String::from_utf8_lossy(v.as_bytes()))).collect();
    let headers: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_ref())).collect();
    let req = HttpRequest { method: parts.method.as_str(), path: parts.uri.path(), query, headers: &headers, body };
    let source_ip = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let secure = parts.extensions.get::<portcullis_types::SecureTransport>().is_some();
    let mut caller = authenticate_request(iam, &req, source_ip, Some(service)).await?;
    caller.request.secure_transport = secure;
    Ok(caller)
}

/// Authenticates a SigV4-signed request given as its parts: the server's own requests, and
/// requests other services received and pass to the authorization endpoint. `service`, when
/// given, must be the credential scope's service.
pub async fn authenticate_request(iam: &Iam, req: &HttpRequest<'_>, source_ip: Option<String>, service: Option<&str>) -> Result<Caller, AwsError> {
    let signed = portcullis_sigv4::parse(req).map_err(sig_error)?;
    if let Some(service) = service.filter(|s| signed.service != *s) {
        return Err(AwsError::new(
            "SignatureDoesNotMatch",
            403,
            format!("Credential should be scoped to correct service: '{service}'. "),
        ));
    }
    let user_agent = req
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("user-agent"))
        .map(|(_, v)| (*v).to_owned());
    let facts = RequestFacts { source_ip, secure_transport: false, region: signed.region.clone(), user_agent };
    let temporary = signed.access_key_id.starts_with("ASIA");
    let (caller, secret) = match (&signed.security_token, temporary) {
        (Some(token), true) => iam.resolve_session_token(&signed.access_key_id, token, facts).await,
        (None, false) => iam.resolve_access_key(&signed.access_key_id, facts).await,
        // A temporary key without its token, or a long-term key with one, is nothing we issued.
        _ => Err(IamError::InvalidClientTokenId("The security token included in the request is invalid.".to_owned())),
    }
    .map_err(iam_error)?;
    // Signature freshness is about the wall clock the client signed with, not the server's
    // business time (which `--test-clock` may move), so it uses the real time.
    static SIGNING_KEYS: std::sync::LazyLock<portcullis_sigv4::SigningKeyCache> = std::sync::LazyLock::new(Default::default);
    let key = SIGNING_KEYS.key(&signed.access_key_id, &secret, &signed.date, &signed.region, &signed.service);
    if let Err(e) = portcullis_sigv4::verify_with_key(req, &signed, &key, time::OffsetDateTime::now_utc()) {
        // The canonical request holds no secret; it is what a client compares to find why.
        tracing::debug!(canonical_request = %portcullis_sigv4::canonical_request(req, &signed), "signature refused");
        return Err(sig_error(e));
    }
    if temporary || !iam.key_use_due(&caller.access_key_id, &signed.service, &signed.region) {
        return Ok(caller);
    }
    // Last-used bookkeeping must not delay the answer: it goes with the audit trail's writes.
    iam.note_key_use(&caller.access_key_id, &signed.service, &signed.region);
    Ok(caller)
}
