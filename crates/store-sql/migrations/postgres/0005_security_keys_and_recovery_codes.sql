-- MFA devices are authenticator apps ('virtual', a sealed TOTP seed) or passkeys and
-- security keys ('u2f', a sealed WebAuthn credential in the same column).
ALTER TABLE mfa_devices ADD COLUMN kind TEXT NOT NULL DEFAULT 'virtual';

-- Single-use recovery codes of an identity ('root:ACCOUNT' or 'user:USER-ID'): only a hash
-- of each is kept; used_at records when one replaced a lost factor.
CREATE TABLE recovery_codes (
    owner TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts(account_id),
    code_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (owner, code_hash)
);
