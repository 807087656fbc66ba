//! Server-side verification of AWS Signature Version 4.
//!
//! `parse` reads what a request claims (Authorization header or presigned
//! query), the caller looks up the secret for `access_key_id`, then `verify`
//! (or `verify_with_key`, with a cached signing key) rebuilds the canonical
//! request and compares signatures in constant time.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod canonical;
mod error;
mod parse;
mod verify;

pub use canonical::canonical_request;
pub use error::{SigError, MISSING_TOKEN_MESSAGE, SIGNATURE_MISMATCH_MESSAGE};
pub use parse::parse;
pub use verify::{signing_key, verify, verify_with_key, SigningKeyCache};

/// The only algorithm SigV4 (non-"4a") defines.
pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// A received HTTP request, as the server saw it.
#[derive(Debug, Clone, Copy)]
pub struct HttpRequest<'a> {
    /// e.g. "POST"
    pub method: &'a str,
    /// Raw path as received, e.g. "/".
    pub path: &'a str,
    /// Raw query string without '?', may be "".
    pub query: &'a str,
    /// Header names in any case; repeated names allowed.
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

impl<'a> HttpRequest<'a> {
    /// Values of every header called `name` (ASCII case-insensitive), in order.
    pub(crate) fn header_values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a str> + 's {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    /// Presigned means signed in the query: no Authorization header, but the
    /// query names a signature or credential.
    pub(crate) fn is_presigned(&self) -> bool {
        self.header_values("authorization").next().is_none()
            && canonical::query_pairs(self.query).iter().any(|(k, _)| {
                k.as_slice() == b"X-Amz-Signature" || k.as_slice() == b"X-Amz-Credential"
            })
    }
}

/// What the request claims (parsed from the Authorization header or the presigned query X-Amz-*).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedParts {
    pub access_key_id: String,
    /// yyyymmdd from the credential scope.
    pub date: String,
    pub region: String,
    pub service: String,
    /// Lowercased, in the order the client listed them.
    pub signed_headers: Vec<String>,
    /// Hex, as sent.
    pub signature: String,
    /// From X-Amz-Date (or the Date header).
    pub timestamp: time::OffsetDateTime,
    /// X-Amz-Security-Token header or query parameter.
    pub security_token: Option<String>,
    /// X-Amz-Expires when presigned.
    pub presigned_expires: Option<u64>,
}
