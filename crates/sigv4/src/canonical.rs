//! The canonical request and string to sign, rebuilt from what the server
//! received. Every byte here must match what the client hashed, so each rule
//! follows AWS's SigV4 specification (and botocore / the Rust SDK, which are
//! the clients we must agree with).

use percent_encoding::{percent_decode, percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};

use crate::{HttpRequest, SignedParts, ALGORITHM};

/// Everything except RFC 3986 unreserved characters is escaped (uppercase hex,
/// which `percent_encoding` already emits).
const ENCODE_ALL: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
/// Paths keep their separators.
const ENCODE_PATH: &AsciiSet = &ENCODE_ALL.remove(b'/');

pub(crate) fn uri_encode(bytes: &[u8], keep_slash: bool) -> String {
    let set = if keep_slash { ENCODE_PATH } else { ENCODE_ALL };
    percent_encode(bytes, set).to_string()
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Canonical URI. S3 signs the decoded path encoded once, unnormalized. All
/// other services sign the path as sent (already encoded once) after removing
/// dot segments and empty segments, encoded again: the "double encoding" the
/// spec calls for. Clients of IAM/STS only ever send "/".
pub(crate) fn canonical_uri(raw_path: &str, service: &str) -> String {
    let uri = if service == "s3" {
        let decoded: Vec<u8> = percent_decode(raw_path.as_bytes()).collect();
        uri_encode(&decoded, true)
    } else {
        uri_encode(normalize_path(raw_path).as_bytes(), true)
    };
    if uri.is_empty() {
        "/".to_string()
    } else {
        uri
    }
}

/// RFC 3986 dot-segment removal as the SDKs do it: "." and empty segments
/// vanish, ".." drops its parent, leading and trailing slashes survive.
fn normalize_path(path: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                kept.pop();
            }
            s => kept.push(s),
        }
    }
    let lead = if path.starts_with('/') { "/" } else { "" };
    let trail = if path.ends_with('/') && !kept.is_empty() {
        "/"
    } else {
        ""
    };
    format!("{lead}{}{trail}", kept.join("/"))
}

/// Query parameters decoded to raw bytes. `+` stays a literal plus because
/// SigV4 clients encode spaces as `%20`; treating it as a space would make
/// a client-sent `+` sign differently from what it hashed.
pub(crate) fn query_pairs(raw: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                percent_decode(k.as_bytes()).collect(),
                percent_decode(v.as_bytes()).collect(),
            )
        })
        .collect()
}

/// Canonical query: every parameter re-encoded, sorted by key then value.
/// A presigned request signs everything except its own signature.
pub(crate) fn canonical_query(raw: &str, presigned: bool) -> String {
    if raw.is_empty() {
        return String::new();
    }
    let mut pairs: Vec<(String, String)> = query_pairs(raw)
        .into_iter()
        .filter(|(k, _)| !(presigned && k.as_slice() == b"X-Amz-Signature"))
        .map(|(k, v)| (uri_encode(&k, false), uri_encode(&v, false)))
        .collect();
    pairs.sort();
    let joined: Vec<String> = pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    joined.join("&")
}

/// Appends the value trimmed, with internal whitespace runs collapsed to one space, as
/// the SDKs do.
fn push_normalized(out: &mut String, v: &str) {
    for (i, word) in v.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(word);
    }
}

/// Appends the values normalized and joined with commas; false if there were none.
fn push_values<'v>(out: &mut String, values: impl Iterator<Item = &'v str>) -> bool {
    let mut any = false;
    for v in values {
        if any {
            out.push(',');
        }
        push_normalized(out, v);
        any = true;
    }
    any
}

/// `name:value\n` for exactly the signed headers, in the order the client
/// listed them; repeated headers are joined with commas.
fn canonical_headers(req: &HttpRequest, signed: &[String]) -> String {
    let mut out = String::with_capacity(256);
    for name in signed {
        out.push_str(name);
        out.push(':');
        // Over HTTP/2 the host arrives as the :authority pseudo-header.
        if !push_values(&mut out, req.header_values(name)) && name == "host" {
            push_values(&mut out, req.header_values(":authority"));
        }
        out.push('\n');
    }
    out
}

/// The client's declared payload hash wins (it may be `UNSIGNED-PAYLOAD`);
/// otherwise hash the body we actually received.
fn payload_hash(req: &HttpRequest) -> String {
    match req.header_values("x-amz-content-sha256").next() {
        Some(h) => h.trim().to_string(),
        None => sha256_hex(req.body),
    }
}

/// The canonical request AWS hashes. Public so callers can log it when a
/// signature does not match (AWS never echoes it for IAM/STS).
pub fn canonical_request(req: &HttpRequest, parts: &SignedParts) -> String {
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        canonical_uri(req.path, &parts.service),
        canonical_query(req.query, req.is_presigned()),
        canonical_headers(req, &parts.signed_headers),
        parts.signed_headers.join(";"),
        payload_hash(req),
    )
}

pub(crate) fn string_to_sign(parts: &SignedParts, canonical: &str) -> String {
    format!(
        "{ALGORITHM}\n{}\n{}/{}/{}/aws4_request\n{}",
        crate::parse::amz_date(parts.timestamp),
        parts.date,
        parts.region,
        parts.service,
        sha256_hex(canonical.as_bytes()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_unreserved_only_with_uppercase_hex() {
        assert_eq!(uri_encode(b"AZaz09-_.~", false), "AZaz09-_.~");
        assert_eq!(uri_encode(b"a b/c+d=e*", false), "a%20b%2Fc%2Bd%3De%2A");
        assert_eq!(uri_encode(b"a b/c", true), "a%20b/c");
        assert_eq!(uri_encode("é".as_bytes(), false), "%C3%A9");
    }

    #[test]
    fn encoding_round_trips_every_byte() {
        let all: Vec<u8> = (0..=255u8).collect();
        let enc = uri_encode(&all, false);
        assert!(enc
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~%".contains(&b)));
        assert_eq!(percent_decode(enc.as_bytes()).collect::<Vec<u8>>(), all);
    }

    #[test]
    fn uri_is_normalized_and_double_encoded_except_for_s3() {
        assert_eq!(canonical_uri("/", "iam"), "/");
        assert_eq!(canonical_uri("", "iam"), "/");
        assert_eq!(canonical_uri("/a/./b/../c//d/", "iam"), "/a/c/d/");
        assert_eq!(canonical_uri("/a%20b", "sts"), "/a%2520b");
        assert_eq!(canonical_uri("/a%20b//c", "s3"), "/a%20b//c");
        assert_eq!(canonical_uri("/..", "iam"), "/");
    }

    #[test]
    fn query_is_reencoded_and_sorted() {
        let q = "Version=2010-05-08&Action=ListUsers&b=%7e&a=2&a=1&empty&sp=a%20b+c";
        assert_eq!(
            canonical_query(q, false),
            "Action=ListUsers&Version=2010-05-08&a=1&a=2&b=~&empty=&sp=a%20b%2Bc"
        );
        assert_eq!(canonical_query("", false), "");
        assert_eq!(canonical_query("X-Amz-Signature=ab&x=1", true), "x=1");
        assert_eq!(
            canonical_query("X-Amz-Signature=ab&x=1", false),
            "X-Amz-Signature=ab&x=1"
        );
    }

    #[test]
    fn query_order_does_not_matter() {
        let params = ["a=1", "B=2", "a=%2F", "c", "_=x", "a=0"];
        let base = canonical_query(&params.join("&"), false);
        // Every rotation of the parameter list canonicalizes identically.
        for i in 0..params.len() {
            let mut p = params.to_vec();
            p.rotate_left(i);
            p.swap(0, params.len() - 1);
            assert_eq!(canonical_query(&p.join("&"), false), base);
        }
    }

    #[test]
    fn headers_are_lowercased_trimmed_collapsed_and_joined() {
        let headers = [
            ("Host", " iam.amazonaws.com "),
            ("X-Amz-Meta", "  a   b\t c "),
            ("x-amz-meta", "second"),
            ("User-Agent", "not signed"),
        ];
        let req = HttpRequest {
            method: "GET",
            path: "/",
            query: "",
            headers: &headers,
            body: b"",
        };
        let signed = vec!["host".to_string(), "x-amz-meta".to_string()];
        assert_eq!(
            canonical_headers(&req, &signed),
            "host:iam.amazonaws.com\nx-amz-meta:a b c,second\n"
        );
    }

    #[test]
    fn payload_hash_prefers_declared_header() {
        let h = [("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")];
        let req = HttpRequest {
            method: "PUT",
            path: "/",
            query: "",
            headers: &h,
            body: b"x",
        };
        assert_eq!(payload_hash(&req), "UNSIGNED-PAYLOAD");
        let req = HttpRequest {
            method: "PUT",
            path: "/",
            query: "",
            headers: &[],
            body: b"",
        };
        assert_eq!(
            payload_hash(&req),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
