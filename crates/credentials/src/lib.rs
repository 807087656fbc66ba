//! Credential material: password hashing (argon2id), encryption of recoverable secrets at
//! rest (AES-256-GCM), and generation of AWS-shaped identifiers and secrets.

mod generate;
mod password;
mod secret_box;

pub use generate::{
    lower_alnum, new_access_key_id, new_account_id, new_password, new_secret_access_key, new_unique_id,
    random_bytes,
};
pub use password::{hash_password, verify_password};
pub use secret_box::{SecretBox, SecretBoxError};

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("random number generator failed")]
    Rng,
    #[error("password hashing failed")]
    Hash,
}
