//! SigV4 on hostile requests: `parse` (Authorization header or presigned
//! query), then for what parses `canonical_request` and `verify` against a
//! fixed secret and a few fixed clocks (the server's clock is trusted, so it
//! is not fuzzed). None of it may panic, and errors must render.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[path = "shared/text.rs"]
mod text;
use text::S;
use portcullis_sigv4::{canonical_request, parse, verify, HttpRequest};
use time::OffsetDateTime;

const HEADER_NAMES: &[&str] = &[
    "Authorization",
    "authorization",
    "X-Amz-Date",
    "x-amz-date",
    "Date",
    "Host",
    "X-Amz-Security-Token",
    "X-Amz-Content-Sha256",
    "Content-Type",
    "Content-Length",
    "User-Agent",
    "",
];

const HEADER_VALUES: &[&str] = &[
    "20150830T123600Z",
    "20261123T010203Z",
    "Sun, 30 Aug 2015 12:36:00 GMT",
    "99991231T235959Z",
    "00000101T000000Z",
    "20150230T250000Z",
    "iam.amazonaws.com",
    "127.0.0.1:8080",
    "application/x-www-form-urlencoded; charset=utf-8",
    "UNSIGNED-PAYLOAD",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "  padded   value  ",
    "",
];

const CREDENTIAL_PARTS: &[&str] = &[
    "AKIDEXAMPLE",
    "20150830",
    "20261123",
    "us-east-1",
    "iam",
    "sts",
    "aws4_request",
    "",
    "%2F",
];

const SIGNED_HEADERS: &[&str] = &["host", "x-amz-date", "content-type", "x-amz-security-token", "Host", "date", ""];

const QUERY_FRAGMENTS: &[&str] = &[
    "Action=ListUsers",
    "Version=2010-05-08",
    "X-Amz-Algorithm=AWS4-HMAC-SHA256",
    "X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fiam%2Faws4_request",
    "X-Amz-Date=20150830T123600Z",
    "X-Amz-Expires=60",
    "X-Amz-Expires=604801",
    "X-Amz-Expires=0",
    "X-Amz-Expires=18446744073709551616",
    "X-Amz-SignedHeaders=host",
    "X-Amz-Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
    "X-Amz-Security-Token=tok%2Ben",
    "a=%",
    "%zz=1",
    "=",
    "&",
    "a+b=c%20d",
];

const SIGNATURE: &str = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";


#[derive(Arbitrary, Debug)]
enum Authorization {
    Raw(String),
    Built {
        /// 0: AWS4-HMAC-SHA256, 1: AWS4-ECDSA-P256-SHA256, 2: AWS, otherwise none.
        algorithm: u8,
        credential: Option<Vec<S>>,
        signed_headers: Option<Vec<S>>,
        signature: Option<S>,
        /// 0: ", ", 1: ",", 2: " ", otherwise ",\t".
        separator: u8,
        extra: Option<String>,
    },
}

#[derive(Arbitrary, Debug)]
enum Query {
    Raw(String),
    Built(Vec<S>),
}

#[derive(Arbitrary, Debug)]
struct Input {
    method: S,
    path: String,
    query: Query,
    authorization: Option<Authorization>,
    headers: Vec<(S, S)>,
    body: Vec<u8>,
}

fn authorization(a: &Authorization) -> String {
    match a {
        Authorization::Raw(s) => s.clone(),
        Authorization::Built { algorithm, credential, signed_headers, signature, separator, extra } => {
            let mut parts = Vec::new();
            if let Some(c) = credential {
                let c: Vec<_> = c.iter().take(7).map(|p| p.get(CREDENTIAL_PARTS)).collect();
                parts.push(format!("Credential={}", c.join("/")));
            }
            if let Some(h) = signed_headers {
                let h: Vec<_> = h.iter().take(6).map(|p| p.get(SIGNED_HEADERS)).collect();
                parts.push(format!("SignedHeaders={}", h.join(";")));
            }
            if let Some(s) = signature {
                parts.push(format!("Signature={}", s.get(&[SIGNATURE, "", "zz"])));
            }
            if let Some(e) = extra {
                parts.push(e.clone());
            }
            let sep = match separator {
                0 => ", ",
                1 => ",",
                2 => " ",
                _ => ",\t",
            };
            let alg = match algorithm {
                0 => "AWS4-HMAC-SHA256 ",
                1 => "AWS4-ECDSA-P256-SHA256 ",
                2 => "AWS ",
                _ => "",
            };
            format!("{alg}{}", parts.join(sep))
        }
    }
}

fn check(req: &HttpRequest) {
    let parts = match parse(req) {
        Ok(parts) => parts,
        Err(e) => {
            let _ = (e.code(), e.message(), e.http_status());
            return;
        }
    };
    let _ = canonical_request(req, &parts);
    // A fixed clock near the fragments' dates and one far from them.
    for now in [1_440_938_160, 1_795_395_723, 0] {
        let now = OffsetDateTime::from_unix_timestamp(now).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        if let Err(e) = verify(req, &parts, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", now) {
            let _ = (e.code(), e.message(), e.http_status());
        }
    }
}

fuzz_target!(|input: Input| {
    let auth = input.authorization.as_ref().map(authorization);
    let owned: Vec<_> = input.headers.iter().take(8).map(|(n, v)| (n.get(HEADER_NAMES), v.get(HEADER_VALUES))).collect();
    let mut headers: Vec<(&str, &str)> = owned.iter().map(|(n, v)| (n.as_ref(), v.as_ref())).collect();
    if let Some(a) = &auth {
        headers.push(("Authorization", a));
    }
    let query = match &input.query {
        Query::Raw(s) => s.clone(),
        Query::Built(frags) => frags.iter().take(10).map(|f| f.get(QUERY_FRAGMENTS)).collect::<Vec<_>>().join("&"),
    };
    let method = input.method.get(&["POST", "GET", "", "get"]);
    let req = HttpRequest {
        method: &method,
        path: &input.path,
        query: &query,
        headers: &headers,
        body: &input.body,
    };
    check(&req);
});
