//! Reading what a request claims: the Authorization header or the presigned
//! `X-Amz-*` query parameters. Messages copy AWS's wording where it is known,
//! so SDK users see the errors they would see against AWS.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use crate::canonical::query_pairs;
use crate::{HttpRequest, SigError, SignedParts, ALGORITHM};

/// SigV4 keys are valid for at most seven days, so presigned URLs are too.
const MAX_EXPIRES: u64 = 604_800;

/// Query parameters that carry a presigned request's signature.
const PRESIGN_PARAMS: [&str; 7] = [
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-Security-Token",
];

/// Headers whose single value the signature check relies on.
const SINGLE_HEADERS: [&str; 4] = ["authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"];

pub fn parse(req: &HttpRequest) -> Result<SignedParts, SigError> {
    // A request that says two things about its signature is refused rather than read
    // one way: which copy counts would be a guess, and a guess is a way around a check.
    for name in SINGLE_HEADERS {
        if req.header_values(name).nth(1).is_some() {
            return Err(SigError::incomplete(format!(
                "The request has more than one '{name}' header; send it once."
            )));
        }
    }
    if let Some(auth) = req.header_values("authorization").next() {
        let presign = query_pairs(req.query);
        if presign.iter().any(|(k, _)| PRESIGN_PARAMS[..4].iter().any(|p| k.as_slice() == p.as_bytes())) {
            return Err(SigError::mismatch(
                "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header.",
            ));
        }
        return parse_header(req, auth);
    }
    if req.is_presigned() {
        return parse_presigned(req);
    }
    Err(SigError::MissingAuthenticationToken)
}

/// The three parameters of an `AWS4-HMAC-SHA256` Authorization header, in AWS's order of
/// complaint when missing.
const HEADER_PARAMS: [&str; 3] = ["Credential", "Signature", "SignedHeaders"];

fn parse_header<'r>(req: &HttpRequest<'r>, auth: &'r str) -> Result<SignedParts, SigError> {
    let auth = auth.trim();
    let (algorithm, rest) = auth.split_once(char::is_whitespace).unwrap_or((auth, ""));

    // A different AWS4 algorithm gets its own message; any other scheme
    // (Basic, Bearer, SigV2's "AWS") gets AWS's list of what is missing.
    if algorithm != ALGORITHM && algorithm.starts_with("AWS4-") {
        return Err(unsupported_algorithm(algorithm));
    }
    let mut values: [Option<&str>; 3] = [None; 3];
    if algorithm == ALGORITHM {
        values = header_params(rest, auth)?;
    }
    let [credential, signature, signed] = values;
    let timestamp = header_timestamp(req)?;
    let missing: Vec<&str> = [
        (
            credential.is_none(),
            "Authorization header requires 'Credential' parameter.",
        ),
        (
            signature.is_none(),
            "Authorization header requires 'Signature' parameter.",
        ),
        (
            signed.is_none(),
            "Authorization header requires 'SignedHeaders' parameter.",
        ),
        (
            timestamp.is_none(),
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        ),
    ]
    .into_iter()
    .filter_map(|(absent, msg)| absent.then_some(msg))
    .collect();
    let (Some(credential), Some(signed), Some(signature), Some(timestamp), true) =
        (credential, signed, signature, timestamp, missing.is_empty())
    else {
        return Err(SigError::incomplete(format!(
            "{} Authorization={auth}",
            missing.join(" ")
        )));
    };

    let token = req
        .header_values("x-amz-security-token")
        .next()
        .map(|t| t.trim().to_string())
        .or_else(|| query_param(req.query, "X-Amz-Security-Token"));
    build(credential, signed, signature, timestamp, token, None)
}

/// Reads `Credential=…, SignedHeaders=…, Signature=…`: each parameter once, separated by
/// commas (spaces after them are allowed), and nothing else.
fn header_params<'a>(rest: &'a str, auth: &str) -> Result<[Option<&'a str>; 3], SigError> {
    let mut values: [Option<&str>; 3] = [None; 3];
    for part in rest.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut tokens = part.split_whitespace();
        let first = tokens.next().unwrap_or(part);
        let second = tokens.next();
        // AWS's own message for a token without '=' (e.g. "Credential= AKID/…").
        if let Some(token) = [Some(first), second].into_iter().flatten().find(|t| !t.contains('=')) {
            return Err(SigError::incomplete(format!(
                "'{token}' not a valid key=value pair (missing equal-sign) in Authorization header: '{auth}'."
            )));
        }
        if second.is_some() {
            return Err(SigError::incomplete(format!(
                "Authorization header parameters must be separated by commas: '{}'.",
                abbreviate(part)
            )));
        }
        let (key, value) = first.split_once('=').unwrap_or((first, ""));
        let Some(slot) = HEADER_PARAMS.iter().position(|k| *k == key) else {
            return Err(SigError::incomplete(format!(
                "'{}' is not an Authorization header parameter: AWS4-HMAC-SHA256 takes Credential, SignedHeaders and Signature.",
                abbreviate(key)
            )));
        };
        if values[slot].replace(value).is_some() {
            return Err(SigError::incomplete(format!(
                "Authorization header has more than one '{key}' parameter."
            )));
        }
    }
    Ok(values)
}

/// At most the first 64 characters of what a client sent, for an error message.
fn abbreviate(s: &str) -> String {
    match s.char_indices().nth(64) {
        Some((i, _)) => format!("{}...", s.get(..i).unwrap_or_default()),
        None => s.to_owned(),
    }
}

fn parse_presigned(req: &HttpRequest) -> Result<SignedParts, SigError> {
    let pairs = query_pairs(req.query);
    for name in PRESIGN_PARAMS {
        if pairs.iter().filter(|(k, _)| k.as_slice() == name.as_bytes()).nth(1).is_some() {
            return Err(SigError::incomplete(format!(
                "AWS query-string parameters must not repeat '{name}'. Re-examine the query-string parameters."
            )));
        }
    }
    let require = |name: &str| {
        query_param(req.query, name).ok_or_else(|| {
            SigError::incomplete(format!(
                "AWS query-string parameters must include '{name}'. Re-examine the query-string parameters."
            ))
        })
    };
    let algorithm = require("X-Amz-Algorithm")?;
    if algorithm != ALGORITHM {
        return Err(unsupported_algorithm(&algorithm));
    }
    let credential = require("X-Amz-Credential")?;
    let signed = require("X-Amz-SignedHeaders")?;
    let signature = require("X-Amz-Signature")?;
    let date = require("X-Amz-Date")?;
    let timestamp = parse_amz_date(&date).ok_or_else(bad_amz_date)?;

    // Optional: without it the request lives in the ordinary 15-minute window
    // (STS ignores it anyway and always applies 15 minutes).
    let expires = match query_param(req.query, "X-Amz-Expires") {
        None => None,
        Some(raw) => {
            let secs: u64 = raw
                .parse()
                .map_err(|_| SigError::incomplete("X-Amz-Expires should be a number"))?;
            if secs == 0 {
                return Err(SigError::incomplete(
                    "X-Amz-Expires must be at least 1 second",
                ));
            }
            if secs > MAX_EXPIRES {
                return Err(SigError::incomplete(
                    "X-Amz-Expires must be less than a week (in seconds); that is, the given \
                     X-Amz-Expires must be less than 604800 seconds",
                ));
            }
            Some(secs)
        }
    };
    let token = query_param(req.query, "X-Amz-Security-Token");
    build(&credential, &signed, &signature, timestamp, token, expires)
}

/// Checks shared by both forms: credential scope shape, `host` signed, and
/// the scope date agreeing with the request time.
fn build(
    credential: &str,
    signed: &str,
    signature: &str,
    timestamp: OffsetDateTime,
    security_token: Option<String>,
    presigned_expires: Option<u64>,
) -> Result<SignedParts, SigError> {
    let scope: Vec<&str> = credential.split('/').collect();
    let [key_id, date, region, service, terminator] = scope.as_slice() else {
        return Err(SigError::incomplete(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. \
             keyid/date/region/service/term, got '{credential}'"
        )));
    };
    if *terminator != "aws4_request" {
        return Err(SigError::mismatch(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'."
        )));
    }
    let stamp = amz_date(timestamp);
    if !stamp.starts_with(date) || date.len() != 8 {
        return Err(SigError::mismatch(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date \
             from HTTP: '{date}' != '{}', from '{stamp}'.",
            &stamp[..8.min(stamp.len())]
        )));
    }
    let signed_headers: Vec<String> = signed
        .split(';')
        .filter(|h| !h.is_empty())
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    if !signed_headers
        .iter()
        .any(|h| h == "host" || h == ":authority")
    {
        return Err(SigError::incomplete(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    Ok(SignedParts {
        access_key_id: key_id.to_string(),
        date: date.to_string(),
        region: region.to_string(),
        service: service.to_string(),
        signed_headers,
        signature: signature.trim().to_string(),
        timestamp,
        security_token,
        presigned_expires,
    })
}

/// X-Amz-Date, else the HTTP Date header. An X-Amz-Date that is present but
/// unreadable is an error rather than a silent fallback.
fn header_timestamp(req: &HttpRequest) -> Result<Option<OffsetDateTime>, SigError> {
    if let Some(v) = req.header_values("x-amz-date").next() {
        return parse_amz_date(v.trim()).map(Some).ok_or_else(bad_amz_date);
    }
    Ok(req
        .header_values("date")
        .next()
        .and_then(|v| parse_http_date(v.trim())))
}

fn unsupported_algorithm(algorithm: &str) -> SigError {
    SigError::incomplete(format!(
        "Unsupported AWS 'algorithm': '{algorithm}' (only AWS4-HMAC-SHA256 for now). "
    ))
}

fn bad_amz_date() -> SigError {
    SigError::incomplete("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
}

fn query_param(query: &str, name: &str) -> Option<String> {
    query_pairs(query)
        .into_iter()
        .find(|(k, _)| k.as_slice() == name.as_bytes())
        .map(|(_, v)| String::from_utf8_lossy(&v).into_owned())
}

/// `20261123T190000Z`, parsed by hand so no lenient format can accept more.
pub(crate) fn parse_amz_date(s: &str) -> Option<OffsetDateTime> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u16> {
        let digits = b.get(r)?;
        digits
            .iter()
            .all(u8::is_ascii_digit)
            .then(|| digits.iter().fold(0, |n, d| n * 10 + u16::from(d - b'0')))
    };
    let two = |r| num(r).and_then(|n| u8::try_from(n).ok());
    let month = Month::try_from(two(4..6)?).ok()?;
    let date = Date::from_calendar_date(i32::from(num(0..4)?), month, two(6..8)?).ok()?;
    let time = Time::from_hms(two(9..11)?, two(11..13)?, two(13..15)?).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

/// RFC 7231 IMF-fixdate, the only Date form SDKs send: `Mon, 23 Nov 2026 19:00:00 GMT`.
fn parse_http_date(s: &str) -> Option<OffsetDateTime> {
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    PrimitiveDateTime::parse(s, fmt)
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}

/// The ISO-8601 basic form used in the string to sign and in messages.
pub(crate) fn amz_date(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn req<'a>(headers: &'a [(&'a str, &'a str)], query: &'a str) -> HttpRequest<'a> {
        HttpRequest {
            method: "POST",
            path: "/",
            query,
            headers,
            body: b"",
        }
    }

    const AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKID/20261123/us-east-1/iam/aws4_request, \
                        SignedHeaders=content-type;host;x-amz-date, Signature=abc123";

    #[test]
    fn dates_parse_and_format() {
        let t = datetime!(2026-11-23 19:00:00 UTC);
        assert_eq!(parse_amz_date("20261123T190000Z"), Some(t));
        assert_eq!(amz_date(t), "20261123T190000Z");
        assert_eq!(parse_http_date("Mon, 23 Nov 2026 19:00:00 GMT"), Some(t));
        for bad in [
            "20261123T190000",
            "2026-11-23T19:00:00Z",
            "20261323T190000Z",
            "2026112xT190000Z",
        ] {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn header_form_is_parsed_tolerantly() {
        // Comma-only and extra-space separators both work.
        let squeezed = AUTH
            .replace(", ", ",")
            .replace("Signature=", "  Signature=");
        for auth in [AUTH, squeezed.as_str()] {
            let h = [
                ("authorization", auth),
                ("X-Amz-Date", "20261123T190000Z"),
                ("X-Amz-Security-Token", "tok"),
            ];
            let p = parse(&req(&h, "")).expect("parses");
            assert_eq!(p.access_key_id, "AKID");
            assert_eq!(
                (p.date.as_str(), p.region.as_str(), p.service.as_str()),
                ("20261123", "us-east-1", "iam")
            );
            assert_eq!(p.signed_headers, ["content-type", "host", "x-amz-date"]);
            assert_eq!(p.signature, "abc123");
            assert_eq!(p.timestamp, datetime!(2026-11-23 19:00:00 UTC));
            assert_eq!(p.security_token.as_deref(), Some("tok"));
            assert_eq!(p.presigned_expires, None);
        }
    }

    #[test]
    fn date_header_is_the_fallback() {
        let h = [
            ("Authorization", AUTH),
            ("Date", "Mon, 23 Nov 2026 19:00:00 GMT"),
        ];
        assert_eq!(
            parse(&req(&h, "")).map(|p| p.timestamp),
            Ok(datetime!(2026-11-23 19:00:00 UTC))
        );
    }

    #[test]
    fn missing_and_malformed_pieces() {
        assert_eq!(
            parse(&req(&[], "Action=ListUsers")),
            Err(SigError::MissingAuthenticationToken)
        );

        let h = [(
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=AKID/20261123/us-east-1/iam/aws4_request",
        )];
        let Err(SigError::IncompleteSignature(m)) = parse(&req(&h, "")) else {
            panic!("expected incomplete")
        };
        assert_eq!(
            m,
            "Authorization header requires 'Signature' parameter. Authorization header requires \
             'SignedHeaders' parameter. Authorization header requires existence of either a \
             'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256 \
             Credential=AKID/20261123/us-east-1/iam/aws4_request"
        );

        let h = [
            ("Authorization", "Basic dXNlcjpwYXNz"),
            ("X-Amz-Date", "20261123T190000Z"),
        ];
        let Err(SigError::IncompleteSignature(m)) = parse(&req(&h, "")) else {
            panic!("expected incomplete")
        };
        assert!(
            m.starts_with("Authorization header requires 'Credential' parameter."),
            "{m}"
        );
        assert!(
            m.ends_with("parameter. Authorization=Basic dXNlcjpwYXNz"),
            "{m}"
        );

        let spaced = AUTH.replace("Credential=", "Credential= ");
        let h = [
            ("Authorization", spaced.as_str()),
            ("X-Amz-Date", "20261123T190000Z"),
        ];
        let Err(SigError::IncompleteSignature(m)) = parse(&req(&h, "")) else {
            panic!("expected incomplete")
        };
        assert!(
            m.starts_with("'AKID/20261123/us-east-1/iam/aws4_request' not a valid key=value pair"),
            "{m}"
        );

        let h = [
            ("Authorization", "Bearer"),
            ("X-Amz-Date", "20261123T190000Z"),
        ];
        let Err(SigError::IncompleteSignature(m)) = parse(&req(&h, "")) else {
            panic!("expected incomplete")
        };
        assert!(
            m.starts_with("Authorization header requires 'Credential' parameter."),
            "{m}"
        );

        let bad_alg = AUTH.replace("SHA256", "SHA512");
        let h = [
            ("Authorization", bad_alg.as_str()),
            ("X-Amz-Date", "20261123T190000Z"),
        ];
        let Err(SigError::IncompleteSignature(m)) = parse(&req(&h, "")) else {
            panic!("expected incomplete")
        };
        assert!(
            m.starts_with("Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512'"),
            "{m}"
        );

        let h = [("Authorization", AUTH), ("X-Amz-Date", "2026-11-23")];
        assert!(matches!(
            parse(&req(&h, "")),
            Err(SigError::IncompleteSignature(_))
        ));
    }

    #[test]
    fn scope_rules() {
        let check = |auth: String, date: &str| {
            parse(&req(&[("Authorization", &auth), ("X-Amz-Date", date)], ""))
        };

        let Err(SigError::IncompleteSignature(m)) =
            check(AUTH.replace("AKID/", "AKID/x/"), "20261123T190000Z")
        else {
            panic!("expected incomplete")
        };
        assert!(
            m.starts_with("Credential must have exactly 5 slash-delimited elements"),
            "{m}"
        );

        let r = check(
            AUTH.replace("aws4_request", "aws5_request"),
            "20261123T190000Z",
        );
        assert_eq!(
            r,
            Err(SigError::mismatch(
                "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'."
            ))
        );

        let r = check(AUTH.to_string(), "20261124T000000Z");
        assert_eq!(
            r,
            Err(SigError::mismatch(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from \
                 HTTP: '20261123' != '20261124', from '20261124T000000Z'."
            ))
        );

        let r = check(
            AUTH.replace("content-type;host;", "content-type;"),
            "20261123T190000Z",
        );
        assert_eq!(
            r,
            Err(SigError::incomplete(
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
            ))
        );
    }

    #[test]
    fn presigned_form() {
        let base = "Action=GetCallerIdentity&X-Amz-Algorithm=AWS4-HMAC-SHA256\
                    &X-Amz-Credential=AKID%2F20261123%2Fus-east-1%2Fsts%2Faws4_request\
                    &X-Amz-Date=20261123T190000Z&X-Amz-SignedHeaders=host\
                    &X-Amz-Security-Token=a%2Bb&X-Amz-Signature=ff";
        let p = parse(&req(&[], &format!("{base}&X-Amz-Expires=900"))).expect("parses");
        assert_eq!(
            (p.access_key_id.as_str(), p.service.as_str()),
            ("AKID", "sts")
        );
        assert_eq!(p.presigned_expires, Some(900));
        assert_eq!(p.security_token.as_deref(), Some("a+b"));
        assert_eq!(
            parse(&req(&[], base)).map(|p| p.presigned_expires),
            Ok(None)
        );

        for (expires, msg) in [
            ("604801", "X-Amz-Expires must be less than a week"),
            ("0", "X-Amz-Expires must be at least"),
            ("-5", "X-Amz-Expires should be a number"),
        ] {
            let Err(SigError::IncompleteSignature(m)) =
                parse(&req(&[], &format!("{base}&X-Amz-Expires={expires}")))
            else {
                panic!("expected incomplete for {expires}")
            };
            assert!(m.starts_with(msg), "{m}");
        }
        let without_date = base.replace("&X-Amz-Date=20261123T190000Z", "");
        assert_eq!(
            parse(&req(&[], &without_date)),
            Err(SigError::incomplete(
                "AWS query-string parameters must include 'X-Amz-Date'. Re-examine the query-string parameters."
            ))
        );
    }
}
