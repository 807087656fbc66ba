use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::random_bytes;

/// Version byte of the sealed format, so the master key or algorithm can rotate later.
const FORMAT_V1: u8 = 1;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretBoxError {
    #[error("master key must be 32 bytes")]
    KeyLength,
    #[error("sealed secret is malformed")]
    Malformed,
    #[error("sealed secret failed authentication (wrong master key or tampered data)")]
    Authentication,
    #[error("random number generator failed")]
    Rng,
}

/// AES-256-GCM encryption of secrets that must be recovered (secret access keys for SigV4,
/// TOTP seeds). The associated data binds a ciphertext to its row, so a sealed value copied
/// to another row does not open.
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    pub fn new(key: &[u8]) -> Result<Self, SecretBoxError> {
        let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| SecretBoxError::KeyLength)?;
        Ok(Self { cipher })
    }

    pub fn generate_key() -> Result<[u8; 32], SecretBoxError> {
        random_bytes::<32>().map_err(|_| SecretBoxError::Rng)
    }

    /// Returns base64(version ‖ nonce ‖ ciphertext+tag).
    pub fn seal(&self, plaintext: &[u8], aad: &str) -> Result<String, SecretBoxError> {
        let nonce = random_bytes::<12>().map_err(|_| SecretBoxError::Rng)?;
        let ct = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad: aad.as_bytes() })
            .map_err(|_| SecretBoxError::Authentication)?;
        let mut out = Vec::with_capacity(1 + 12 + ct.len());
        out.push(FORMAT_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(STANDARD.encode(out))
    }

    pub fn open(&self, sealed: &str, aad: &str) -> Result<Vec<u8>, SecretBoxError> {
        let raw = STANDARD.decode(sealed).map_err(|_| SecretBoxError::Malformed)?;
        if raw.len() < 1 + 12 + 16 || raw[0] != FORMAT_V1 {
            return Err(SecretBoxError::Malformed);
        }
        let (nonce, ct) = raw[1..].split_at(12);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: aad.as_bytes() })
            .map_err(|_| SecretBoxError::Authentication)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open() {
        let key = SecretBox::generate_key().unwrap();
        let b = SecretBox::new(&key).unwrap();
        let s = b.seal(b"secret", "access_key:AKIA1").unwrap();
        assert_eq!(b.open(&s, "access_key:AKIA1").unwrap(), b"secret");
        assert_eq!(b.open(&s, "access_key:AKIA2"), Err(SecretBoxError::Authentication));
        let other = SecretBox::new(&SecretBox::generate_key().unwrap()).unwrap();
        assert_eq!(other.open(&s, "access_key:AKIA1"), Err(SecretBoxError::Authentication));
        assert_eq!(b.open("!!", "x"), Err(SecretBoxError::Malformed));
    }
}
