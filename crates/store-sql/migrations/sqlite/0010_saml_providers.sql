-- SAML providers: the metadata as uploaded, and private keys for encrypted assertions as a
-- JSON list of [key id, added at, sealed PEM].
CREATE TABLE saml_providers (
    arn TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(account_id),
    name TEXT NOT NULL,
    uuid TEXT NOT NULL,
    metadata TEXT NOT NULL,
    valid_until INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    assertion_encryption_mode TEXT,
    private_keys TEXT NOT NULL
);
CREATE INDEX saml_providers_account ON saml_providers(account_id);
