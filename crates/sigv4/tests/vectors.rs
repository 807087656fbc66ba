//! Known-answer tests against requests signed by botocore (tests/vectors.json,
//! regenerated with tests/gen_vectors.py), plus one-byte tampering of each.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use portcullis_sigv4::{
    canonical_request, parse, signing_key, verify, verify_with_key, HttpRequest, SigError,
    SIGNATURE_MISMATCH_MESSAGE,
};
use serde_json::Value;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

struct Vector {
    name: String,
    secret: String,
    signed_at: OffsetDateTime,
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    canonical_request: String,
    expect: Value,
}

impl Vector {
    fn with<T>(&self, f: impl FnOnce(&HttpRequest) -> T) -> T {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let req = HttpRequest {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers: &headers,
            body: &self.body,
        };
        f(&req)
    }

    /// Parse and verify `secs` seconds after signing.
    fn check(&self, secret: &str, secs: i64) -> Result<(), SigError> {
        let now = self.signed_at + Duration::seconds(secs);
        self.with(|req| verify(req, &parse(req)?, secret, now))
    }
}

fn vectors() -> Vec<Vector> {
    let fmt = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let all: Vec<Value> =
        serde_json::from_str(include_str!("vectors.json")).expect("valid fixture");
    assert!(all.len() >= 8, "fixture lost vectors");
    all.into_iter()
        .map(|v| {
            let s = |k: &str| v[k].as_str().expect(k).to_string();
            Vector {
                name: s("name"),
                secret: s("secret"),
                signed_at: PrimitiveDateTime::parse(&s("signed_at"), fmt)
                    .expect("signed_at")
                    .assume_utc(),
                method: s("method"),
                path: s("path"),
                query: s("query"),
                headers: v["headers"]
                    .as_array()
                    .expect("headers")
                    .iter()
                    .map(|h| {
                        (
                            h[0].as_str().expect("name").into(),
                            h[1].as_str().expect("value").into(),
                        )
                    })
                    .collect(),
                body: s("body").into_bytes(),
                canonical_request: s("canonical_request"),
                expect: v["expect"].clone(),
            }
        })
        .collect()
}

/// Change one character: the last digit (so dates stay parseable), else the
/// last lowercase, else uppercase, letter.
fn tamper(value: &str) -> String {
    let mut b = value.as_bytes().to_vec();
    if let Some(i) = b.iter().rposition(u8::is_ascii_digit) {
        b[i] = b'0' + (b[i] - b'0' + 1) % 10;
    } else if let Some(i) = b.iter().rposition(u8::is_ascii_lowercase) {
        b[i] = if b[i] == b'z' { b'a' } else { b[i] + 1 };
    } else if let Some(i) = b.iter().rposition(u8::is_ascii_uppercase) {
        b[i] = if b[i] == b'Z' { b'A' } else { b[i] + 1 };
    } else {
        panic!("nothing to tamper in {value:?}");
    }
    String::from_utf8(b).unwrap()
}

fn mismatch() -> Result<(), SigError> {
    Err(SigError::SignatureDoesNotMatch(
        SIGNATURE_MISMATCH_MESSAGE.to_string(),
    ))
}

#[test]
fn botocore_vectors_parse_canonicalize_and_verify() {
    for v in vectors() {
        let parts = v
            .with(parse)
            .unwrap_or_else(|e| panic!("{}: {e:?}", v.name));
        let e = &v.expect;
        assert_eq!(
            parts.access_key_id,
            e["access_key_id"].as_str().unwrap(),
            "{}",
            v.name
        );
        assert_eq!(parts.date, e["date"].as_str().unwrap(), "{}", v.name);
        assert_eq!(parts.region, e["region"].as_str().unwrap(), "{}", v.name);
        assert_eq!(parts.service, e["service"].as_str().unwrap(), "{}", v.name);
        let signed: Vec<&str> = e["signed_headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap())
            .collect();
        assert_eq!(parts.signed_headers, signed, "{}", v.name);
        assert_eq!(
            parts.signature,
            e["signature"].as_str().unwrap(),
            "{}",
            v.name
        );
        assert_eq!(parts.timestamp, v.signed_at, "{}", v.name);
        assert_eq!(
            parts.security_token.as_deref(),
            e["security_token"].as_str(),
            "{}",
            v.name
        );
        assert_eq!(
            parts.presigned_expires,
            e["presigned_expires"].as_u64(),
            "{}",
            v.name
        );

        assert_eq!(
            v.with(|r| canonical_request(r, &parts)),
            v.canonical_request,
            "{}",
            v.name
        );
        assert_eq!(v.check(&v.secret, 60), Ok(()), "{}", v.name);
        let key = signing_key(&v.secret, &parts.date, &parts.region, &parts.service);
        assert_eq!(
            v.with(|r| verify_with_key(r, &parts, &key, v.signed_at)),
            Ok(()),
            "{}",
            v.name
        );
    }
}

#[test]
fn one_byte_tampering_is_detected() {
    for v in vectors() {
        let signed: Vec<String> = v.expect["signed_headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap().to_string())
            .collect();

        // Each signed header in turn.
        for name in &signed {
            let mut t = vectors().into_iter().find(|x| x.name == v.name).unwrap();
            let h = t
                .headers
                .iter_mut()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .unwrap();
            h.1 = tamper(&h.1);
            assert_eq!(
                t.check(&t.secret, 60),
                mismatch(),
                "{}: header {name}",
                v.name
            );
        }

        // The body, unless the client declared its payload hash instead.
        let declared = v
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("x-amz-content-sha256"));
        let mut t = vectors().into_iter().find(|x| x.name == v.name).unwrap();
        match t.body.last_mut() {
            Some(b) => *b ^= 1,
            None => t.body.push(b'x'),
        }
        let expected = if declared { Ok(()) } else { mismatch() };
        assert_eq!(t.check(&t.secret, 60), expected, "{}: body", v.name);

        // The query string (first digit, which is never in X-Amz-Signature
        // because Version=... precedes it).
        if !v.query.is_empty() {
            let mut t = vectors().into_iter().find(|x| x.name == v.name).unwrap();
            let i = t.query.bytes().position(|b| b.is_ascii_digit()).unwrap();
            t.query
                .replace_range(i..=i, if &t.query[i..=i] == "9" { "0" } else { "9" });
            assert_eq!(t.check(&t.secret, 60), mismatch(), "{}: query", v.name);
        }

        // The signature itself, in the header or the query.
        let sig = v.expect["signature"].as_str().unwrap();
        let mut forged = sig.to_string();
        forged.replace_range(0..1, if sig.starts_with('0') { "1" } else { "0" });
        let mut t = vectors().into_iter().find(|x| x.name == v.name).unwrap();
        t.query = t.query.replace(sig, &forged);
        for h in &mut t.headers {
            h.1 = h.1.replace(sig, &forged);
        }
        assert_eq!(t.check(&t.secret, 60), mismatch(), "{}: signature", v.name);

        // The wrong secret.
        assert_eq!(
            v.check("wrong-secret", 60),
            mismatch(),
            "{}: secret",
            v.name
        );

        // Unsigned headers may change freely.
        let mut t = vectors().into_iter().find(|x| x.name == v.name).unwrap();
        for h in &mut t.headers {
            if h.0 == "User-Agent" {
                h.1.push_str(" proxy/1.0");
            }
        }
        assert_eq!(
            t.check(&t.secret, 60),
            Ok(()),
            "{}: unsigned header",
            v.name
        );
    }
}

#[test]
fn stale_requests_expire() {
    for v in vectors() {
        let expires = v.expect["presigned_expires"].as_i64();
        let limit = expires.unwrap_or(15 * 60);
        assert_eq!(v.check(&v.secret, limit), Ok(()), "{}", v.name);
        let err = v.check(&v.secret, limit + 1).unwrap_err();
        assert_eq!(err.code(), "RequestExpired", "{}: {err}", v.name);
        assert_eq!(err.http_status(), 400);
        // A request from more than 15 minutes in the future is refused too.
        assert_eq!(
            v.check(&v.secret, -(15 * 60) - 1).map_err(|e| e.code()),
            Err("RequestExpired"),
            "{}",
            v.name
        );
    }
}

/// The first vector's Authorization header with `edit` applied, then parsed; AWS-strict
/// parsing refuses what is ambiguous or not AWS4-HMAC-SHA256's grammar.
fn parse_edited(edit: impl Fn(&mut Vec<(String, String)>, &mut String)) -> Result<(), SigError> {
    let mut v = vectors().into_iter().find(|v| v.name == "aws_doc_iam_get").unwrap();
    edit(&mut v.headers, &mut v.query);
    v.with(|req| parse(req).map(|_| ()))
}

fn auth_of(headers: &mut [(String, String)]) -> &mut String {
    &mut headers.iter_mut().find(|(n, _)| n == "Authorization").unwrap().1
}

fn refused(r: Result<(), SigError>, code: &str, status: u16, message_part: &str) {
    let e = r.expect_err("must be refused");
    assert_eq!((e.code(), e.http_status()), (code, status), "{}", e.message());
    assert!(e.message().contains(message_part), "{:?} lacks {message_part:?}", e.message());
}

#[test]
fn malformed_authorization_headers_are_refused() {
    // The unedited header parses.
    parse_edited(|_, _| {}).unwrap();
    // Spaces after the commas are optional.
    parse_edited(|h, _| *auth_of(h) = auth_of(h).replace(", ", ",")).unwrap();

    let dup_credential = |h: &mut Vec<(String, String)>, _: &mut String| {
        let a = auth_of(h);
        *a = format!("{a}, Credential=AKIDOTHER/20150830/us-east-1/iam/aws4_request");
    };
    refused(parse_edited(dup_credential), "IncompleteSignature", 400, "more than one 'Credential' parameter");
    let dup_signature = |h: &mut Vec<(String, String)>, _: &mut String| {
        let a = auth_of(h);
        *a = format!("{a}, Signature={}", "0".repeat(64));
    };
    refused(parse_edited(dup_signature), "IncompleteSignature", 400, "more than one 'Signature' parameter");
    let no_commas = |h: &mut Vec<(String, String)>, _: &mut String| *auth_of(h) = auth_of(h).replace(", ", " ");
    refused(parse_edited(no_commas), "IncompleteSignature", 400, "must be separated by commas");
    let one_comma_missing = |h: &mut Vec<(String, String)>, _: &mut String| {
        *auth_of(h) = auth_of(h).replacen(", ", " ", 1);
    };
    refused(parse_edited(one_comma_missing), "IncompleteSignature", 400, "must be separated by commas");
    let unknown = |h: &mut Vec<(String, String)>, _: &mut String| {
        let a = auth_of(h);
        *a = format!("{a}, Padding={}", "x".repeat(65_536));
    };
    refused(parse_edited(unknown), "IncompleteSignature", 400, "'Padding' is not an Authorization header parameter");
    let two_headers = |h: &mut Vec<(String, String)>, _: &mut String| h.push(("Authorization".into(), "garbage".into()));
    refused(parse_edited(two_headers), "IncompleteSignature", 400, "more than one 'authorization' header");
    let two_dates = |h: &mut Vec<(String, String)>, _: &mut String| h.push(("x-amz-date".into(), "20150830T123601Z".into()));
    refused(parse_edited(two_dates), "IncompleteSignature", 400, "more than one 'x-amz-date' header");
    let two_tokens = |h: &mut Vec<(String, String)>, _: &mut String| {
        h.push(("X-Amz-Security-Token".into(), "a".into()));
        h.push(("x-amz-security-token".into(), "b".into()));
    };
    refused(parse_edited(two_tokens), "IncompleteSignature", 400, "more than one 'x-amz-security-token' header");
    let also_presigned = |_: &mut Vec<(String, String)>, q: &mut String| q.push_str("&X-Amz-Signature=00");
    refused(parse_edited(also_presigned), "SignatureDoesNotMatch", 403, "Found both 'X-Amz-Algorithm'");
    // AWS's own message for a parameter without '='.
    let no_equals = |h: &mut Vec<(String, String)>, _: &mut String| *auth_of(h) = auth_of(h).replace("Credential=", "Credential= ");
    refused(parse_edited(no_equals), "IncompleteSignature", 400, "'AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request' not a valid key=value pair (missing equal-sign)");
}

#[test]
fn repeated_presigned_parameters_are_refused() {
    let query = "Action=ListUsers&Version=2010-05-08&X-Amz-Algorithm=AWS4-HMAC-SHA256\
        &X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fiam%2Faws4_request\
        &X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Signature=abc";
    let headers = [("Host", "iam.amazonaws.com")];
    let run = |q: &str| {
        let req = HttpRequest { method: "GET", path: "/", query: q, headers: &headers, body: b"" };
        parse(&req).map(|_| ())
    };
    run(query).unwrap();
    for extra in ["&X-Amz-Credential=AKIDOTHER%2F20150830%2Fus-east-1%2Fiam%2Faws4_request", "&X-Amz-Signature=def", "&X-Amz-Date=20150830T123601Z"] {
        let name = extra[1..].split('=').next().unwrap();
        refused(run(&format!("{query}{extra}")), "IncompleteSignature", 400, &format!("must not repeat '{name}'"));
    }
}
