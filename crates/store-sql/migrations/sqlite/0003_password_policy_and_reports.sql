-- The account password policy, earlier password hashes (for reuse prevention only) and
-- the latest credential report per account.
CREATE TABLE password_policies (
    account_id TEXT PRIMARY KEY REFERENCES accounts(account_id),
    minimum_length INTEGER NOT NULL,
    require_symbols INTEGER NOT NULL,
    require_numbers INTEGER NOT NULL,
    require_uppercase INTEGER NOT NULL,
    require_lowercase INTEGER NOT NULL,
    allow_users_to_change INTEGER NOT NULL,
    max_age_days INTEGER,
    reuse_prevention INTEGER,
    hard_expiry INTEGER NOT NULL
);

CREATE TABLE password_history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL REFERENCES users(user_id),
    changed_at INTEGER NOT NULL,
    password_hash TEXT NOT NULL
);
CREATE INDEX password_history_user ON password_history(user_id, changed_at);

CREATE TABLE credential_reports (
    account_id TEXT PRIMARY KEY REFERENCES accounts(account_id),
    generated_at INTEGER NOT NULL,
    content TEXT NOT NULL
);
