-- OpenID Connect providers: the issuer URL without https://, and the client ids and
-- thumbprints as JSON arrays in the order they were given.
CREATE TABLE oidc_providers (
    arn TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(account_id),
    url TEXT NOT NULL,
    client_ids TEXT NOT NULL,
    thumbprints TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX oidc_providers_account ON oidc_providers(account_id);
