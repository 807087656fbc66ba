-- Users' SSH public keys ('ssh'), signing certificates ('signing') and service-specific
-- credentials ('service'); for the last, only a hash of the password is kept.
CREATE TABLE user_credentials (
    credential_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts(account_id),
    user_id TEXT NOT NULL REFERENCES users(user_id),
    status TEXT NOT NULL,
    body TEXT NOT NULL,
    detail TEXT,
    secret_hash TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER
);
CREATE INDEX user_credentials_user ON user_credentials(user_id, kind);
