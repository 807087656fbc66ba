//! Browser-facing safety: the headers every console page carries, cookies, and the CSRF
//! checks of forms.

use axum::extract::Request;
use axum::http::header::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// The session cookie and the cookie that carries a sign-in form's CSRF token before there
/// is a session, and the one that names a pending sign-in.
pub const SESSION_COOKIE: &str = "portcullis-session";
pub const SIGNIN_COOKIE: &str = "portcullis-signin";
pub const PENDING_COOKIE: &str = "portcullis-pending";

/// The prefix a cookie's name gets over TLS: `__Host-` cookies are only accepted with
/// `Secure`, `Path=/` and no `Domain`, so a page served without TLS (or from another host of
/// the domain) cannot plant or replace them.
const HOST_PREFIX: &str = "__Host-";

/// Middleware: no framing, no sniffing, no referrer beyond the origin, nothing cached
/// (pages show account data and, on some, secrets), scripts and styles only from here.
/// Over TLS the console's cookies are `__Host-` cookies with `Secure`; the handlers see
/// them under their plain names, and plain-named ones (which anyone could have set over
/// plain HTTP) are dropped.
pub async fn headers(mut req: Request, next: Next) -> Response {
    let secure = req.extensions().get::<portcullis_types::SecureTransport>().is_some();
    if secure {
        let cookies: Vec<String> = cookie_pairs(req.headers())
            .filter_map(|(k, v)| k.strip_prefix(HOST_PREFIX).filter(|k| k.starts_with("portcullis-")).map(|k| format!("{k}={v}")))
            .collect();
        req.headers_mut().remove("cookie");
        if let Ok(v) = HeaderValue::from_str(&cookies.join("; ")) {
            if !cookies.is_empty() {
                req.headers_mut().insert("cookie", v);
            }
        }
    }
    let mut resp = next.run(req).await;
    // axum answers a form or query string it cannot read (a repeated field, a broken
    // escape) in plain text; a browser gets a page like every other of the console's.
    let plain_text = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|t| t.starts_with("text/plain"));
    if resp.status().is_client_error() && plain_text {
        resp = crate::web::message(
            resp.status(),
            "Request not understood",
            "The form or the address could not be read. Go back, reload the page and try again.",
        );
    }
    if secure {
        let set: Vec<String> = resp.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).map(|c| format!("{HOST_PREFIX}{c}; Secure")).collect();
        resp.headers_mut().remove("set-cookie");
        for c in set {
            if let Ok(v) = HeaderValue::from_str(&c) {
                resp.headers_mut().append("set-cookie", v);
            }
        }
    }
    let h = resp.headers_mut();
    for (name, value) in [
        ("content-security-policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
        ("x-frame-options", "DENY"),
        ("cache-control", "no-store"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    resp
}

/// The request's cookies as (name, value).
fn cookie_pairs(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
}

/// A cookie's value from the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    cookie_pairs(headers).find(|(k, _)| *k == name).map(|(_, v)| v)
}

/// `Set-Cookie` for a value only this site's pages send back and no script can read.
pub fn set_cookie(name: &str, value: &str) -> String {
    format!("{name}={value}; HttpOnly; SameSite=Strict; Path=/")
}

/// `Set-Cookie` that removes a cookie.
pub fn clear_cookie(name: &str) -> String {
    format!("{name}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
}
