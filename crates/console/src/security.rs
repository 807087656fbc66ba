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

/// Middleware: no framing, no sniffing, no referrer beyond the origin, nothing cached
/// (pages show account data and, on some, secrets), scripts and styles only from here.
pub async fn headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
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

/// A cookie's value from the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// `Set-Cookie` for a value only this site's pages send back and no script can read.
pub fn set_cookie(name: &str, value: &str) -> String {
    format!("{name}={value}; HttpOnly; SameSite=Strict; Path=/")
}

/// `Set-Cookie` that removes a cookie.
pub fn clear_cookie(name: &str) -> String {
    format!("{name}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
}
