use crate::CredentialError;

/// Fills `N` bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], CredentialError> {
    let mut buf = [0u8; N];
    getrandom::getrandom(&mut buf).map_err(|_| CredentialError::Rng)?;
    Ok(buf)
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn base32_chars(n: usize) -> Result<String, CredentialError> {
    let mut out = String::with_capacity(n);
    // 64 random bytes cover up to 64 characters; ids here need at most 17.
    let bytes = random_bytes::<64>()?;
    for b in bytes.iter().take(n) {
        out.push(char::from(BASE32[usize::from(*b & 31)]));
    }
    Ok(out)
}

/// AWS unique ids: a four-letter prefix (`AIDA` user, `AGPA` group, `AROA` role, `ANPA`
/// policy, …) and 17 characters of `[A-Z2-7]`, 21 in all.
pub fn new_unique_id(prefix: &str) -> Result<String, CredentialError> {
    Ok(format!("{prefix}{}", base32_chars(17)?))
}

/// Access key ids: `AKIA` (long-term) or `ASIA` (temporary) and 16 characters, 20 in all.
pub fn new_access_key_id(prefix: &str) -> Result<String, CredentialError> {
    Ok(format!("{prefix}{}", base32_chars(16)?))
}

/// 40 characters of the base64 alphabet, as AWS's secret access keys look.
pub fn new_secret_access_key() -> Result<String, CredentialError> {
    const ALPHABET: &[u8; 64] =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = random_bytes::<40>()?;
    Ok(bytes.iter().map(|b| char::from(ALPHABET[usize::from(*b & 63)])).collect())
}

/// A 12-digit account id that does not start with 0 (some tools strip leading zeros).
pub fn new_account_id() -> Result<String, CredentialError> {
    let bytes = random_bytes::<12>()?;
    let mut out = String::with_capacity(12);
    for (i, b) in bytes.iter().enumerate() {
        let digit = if i == 0 { 1 + b % 9 } else { b % 10 };
        out.push(char::from(b'0' + digit));
    }
    Ok(out)
}

/// A 20-character password with upper, lower, digits and symbols, which satisfies any
/// password policy AWS allows except a minimum length above 20.
pub fn new_password() -> Result<String, CredentialError> {
    const SETS: [&[u8]; 4] = [
        b"ABCDEFGHJKLMNPQRSTUVWXYZ",
        b"abcdefghijkmnopqrstuvwxyz",
        b"23456789",
        b"!@#$%^&*()_+-=[]{}|'",
    ];
    let bytes = random_bytes::<20>()?;
    Ok(bytes
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let set = SETS[i % 4];
            char::from(set[usize::from(*b) % set.len()])
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let id = new_unique_id("AIDA").unwrap();
        assert_eq!(id.len(), 21);
        assert!(id[4..].bytes().all(|b| BASE32.contains(&b)));
        let key = new_access_key_id("AKIA").unwrap();
        assert_eq!(key.len(), 20);
        assert_eq!(new_secret_access_key().unwrap().len(), 40);
        let acct = new_account_id().unwrap();
        assert_eq!(acct.len(), 12);
        assert!(!acct.starts_with('0'));
        let pw = new_password().unwrap();
        assert_eq!(pw.len(), 20);
        assert!(pw.bytes().any(|b| b.is_ascii_uppercase()));
        assert!(pw.bytes().any(|b| b.is_ascii_digit()));
    }
}

/// `n` random lower-case letters and digits (the ids of AWS Organizations: `o-…`, `ou-…`).
pub fn lower_alnum(n: usize) -> Result<String, CredentialError> {
    const CHARS: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(n);
    while out.len() < n {
        // 252 = 7 * 36: rejecting the rest keeps every character equally likely.
        for b in random_bytes::<32>()? {
            if b < 252 && out.len() < n {
                out.push(char::from(CHARS[usize::from(b % 36)]));
            }
        }
    }
    Ok(out)
}
