//! Key derivation, the time window, and the constant-time comparison.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime};

use crate::canonical::{canonical_request, string_to_sign};
use crate::error::SIGNATURE_MISMATCH_MESSAGE;
use crate::parse::amz_date;
use crate::{HttpRequest, SigError, SignedParts};

/// AWS accepts request times up to 15 minutes either side of its clock.
const MAX_SKEW: Duration = Duration::minutes(15);

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        // HMAC takes keys of any length (long ones are hashed), so the
        // constructor's error case cannot occur.
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let k_date = hmac_sha256(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, service.as_bytes());
    hmac_sha256(&k_service, b"aws4_request")
}

/// Derived signing keys, by access key id: a client's requests of one day, region and
/// service then cost one HMAC (the signature) instead of five. An entry is used only for
/// the same secret, date, region and service it was derived from.
#[derive(Default)]
pub struct SigningKeyCache {
    entries: std::sync::Mutex<std::collections::HashMap<String, CachedKey>>,
}

struct CachedKey {
    secret: String,
    date: String,
    region: String,
    service: String,
    key: [u8; 32],
}

impl SigningKeyCache {
    const MAX_ENTRIES: usize = 100_000;

    pub fn key(&self, access_key_id: &str, secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
        if let Ok(entries) = self.entries.lock() {
            if let Some(e) = entries.get(access_key_id) {
                let same_secret = bool::from(e.secret.as_bytes().ct_eq(secret.as_bytes()));
                if same_secret && e.date == date && e.region == region && e.service == service {
                    return e.key;
                }
            }
        }
        let key = signing_key(secret, date, region, service);
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= Self::MAX_ENTRIES {
                entries.clear();
            }
            let entry = CachedKey { secret: secret.to_owned(), date: date.to_owned(), region: region.to_owned(), service: service.to_owned(), key };
            entries.insert(access_key_id.to_owned(), entry);
        }
        key
    }
}

pub fn verify(
    req: &HttpRequest,
    parts: &SignedParts,
    secret: &str,
    now: OffsetDateTime,
) -> Result<(), SigError> {
    let key = signing_key(secret, &parts.date, &parts.region, &parts.service);
    verify_with_key(req, parts, &key, now)
}

/// Time is checked before the signature, as AWS does, so a stale but
/// otherwise correct request reports expiry rather than a mismatch.
pub fn verify_with_key(
    req: &HttpRequest,
    parts: &SignedParts,
    key: &[u8; 32],
    now: OffsetDateTime,
) -> Result<(), SigError> {
    check_time(parts, now)?;
    let canonical = canonical_request(req, parts);
    let expected = hex::encode(hmac_sha256(
        key,
        string_to_sign(parts, &canonical).as_bytes(),
    ));
    if bool::from(expected.as_bytes().ct_eq(parts.signature.as_bytes())) {
        Ok(())
    } else {
        Err(SigError::mismatch(SIGNATURE_MISMATCH_MESSAGE))
    }
}

fn check_time(parts: &SignedParts, now: OffsetDateTime) -> Result<(), SigError> {
    let ts = parts.timestamp;
    // Requests from the future are refused in both forms.
    if ts > now + MAX_SKEW {
        return Err(SigError::RequestExpired(format!(
            "Signature not yet current: {} is still later than {} ({} + 15 min.)",
            amz_date(ts),
            amz_date(now + MAX_SKEW),
            amz_date(now)
        )));
    }
    match parts.presigned_expires {
        Some(secs) => {
            let secs = i64::try_from(secs).unwrap_or(i64::MAX);
            if now > ts.saturating_add(Duration::seconds(secs)) {
                return Err(SigError::RequestExpired("Request has expired".to_string()));
            }
        }
        None => {
            if ts < now - MAX_SKEW {
                return Err(SigError::RequestExpired(format!(
                    "Signature expired: {} is now earlier than {} ({} - 15 min.)",
                    amz_date(ts),
                    amz_date(now - MAX_SKEW),
                    amz_date(now)
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn cached_signing_keys_match_and_follow_the_secret_and_scope() {
        let cache = SigningKeyCache::default();
        let direct = signing_key("secret-a", "20261202", "us-east-1", "iam");
        assert_eq!(cache.key("AKIA1", "secret-a", "20261202", "us-east-1", "iam"), direct);
        assert_eq!(cache.key("AKIA1", "secret-a", "20261202", "us-east-1", "iam"), direct);
        assert_eq!(cache.key("AKIA1", "secret-b", "20261202", "us-east-1", "iam"), signing_key("secret-b", "20261202", "us-east-1", "iam"));
        assert_eq!(cache.key("AKIA1", "secret-b", "20261203", "us-east-1", "sts"), signing_key("secret-b", "20261203", "us-east-1", "sts"));
    }

    #[test]
    fn aws_documented_signing_key() {
        let key = signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20150830",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            hex::encode(key),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
    }

    fn parts_at(ts: OffsetDateTime, expires: Option<u64>) -> SignedParts {
        SignedParts {
            access_key_id: "AKID".into(),
            date: "20261123".into(),
            region: "us-east-1".into(),
            service: "iam".into(),
            signed_headers: vec!["host".into()],
            signature: String::new(),
            timestamp: ts,
            security_token: None,
            presigned_expires: expires,
        }
    }

    #[test]
    fn skew_window_is_fifteen_minutes_each_way() {
        let now = datetime!(2026-11-23 19:30:00 UTC);
        for ok in [
            datetime!(2026-11-23 19:15:00 UTC),
            datetime!(2026-11-23 19:45:00 UTC),
        ] {
            assert_eq!(check_time(&parts_at(ok, None), now), Ok(()));
        }
        assert_eq!(
            check_time(&parts_at(datetime!(2026-11-23 19:00:00 UTC), None), now),
            Err(SigError::RequestExpired(
                "Signature expired: 20261123T190000Z is now earlier than 20261123T191500Z (20261123T193000Z - 15 min.)"
                    .into()
            ))
        );
        assert_eq!(
            check_time(&parts_at(datetime!(2026-11-23 19:45:01 UTC), None), now),
            Err(SigError::RequestExpired(
                "Signature not yet current: 20261123T194501Z is still later than 20261123T194500Z (20261123T193000Z + 15 min.)"
                    .into()
            ))
        );
    }

    #[test]
    fn presigned_lives_exactly_its_expiry() {
        let ts = datetime!(2026-11-23 19:00:00 UTC);
        let p = parts_at(ts, Some(3600));
        assert_eq!(check_time(&p, datetime!(2026-11-23 20:00:00 UTC)), Ok(()));
        assert_eq!(
            check_time(&p, datetime!(2026-11-23 20:00:01 UTC)),
            Err(SigError::RequestExpired("Request has expired".into()))
        );
        assert!(check_time(&p, datetime!(2026-11-23 18:40:00 UTC)).is_err());
    }
}
