-- Single-use proofs that have been redeemed (a SAML assertion for a role), kept until they
-- expire so that a replay is refused by every node sharing the database.
CREATE TABLE redeemed_tokens (
    token_key TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(account_id),
    expires_at INTEGER NOT NULL
);
CREATE INDEX redeemed_tokens_expiry ON redeemed_tokens(expires_at);
