-- Server certificates: the private key sealed with the master key.
CREATE TABLE server_certificates (
    server_certificate_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(account_id),
    name TEXT NOT NULL,
    name_lower TEXT NOT NULL,
    path TEXT NOT NULL,
    body TEXT NOT NULL,
    chain TEXT,
    private_key_sealed TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    UNIQUE (account_id, name_lower)
);

-- Account-wide settings by name.
CREATE TABLE account_settings (
    account_id TEXT NOT NULL REFERENCES accounts(account_id),
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (account_id, name)
);
