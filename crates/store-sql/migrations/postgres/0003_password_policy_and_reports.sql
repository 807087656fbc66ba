-- The account password policy, earlier password hashes (for reuse prevention only) and
-- the latest credential report per account.
CREATE TABLE password_policies (
    account_id TEXT PRIMARY KEY REFERENCES accounts(account_id),
    minimum_length BIGINT NOT NULL,
    require_symbols BIGINT NOT NULL,
    require_numbers BIGINT NOT NULL,
    require_uppercase BIGINT NOT NULL,
    require_lowercase BIGINT NOT NULL,
    allow_users_to_change BIGINT NOT NULL,
    max_age_days BIGINT,
    reuse_prevention BIGINT,
    hard_expiry BIGINT NOT NULL
);

CREATE TABLE password_history (
    seq BIGSERIAL PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(user_id),
    changed_at BIGINT NOT NULL,
    password_hash TEXT NOT NULL
);
CREATE INDEX password_history_user ON password_history(user_id, changed_at);

CREATE TABLE credential_reports (
    account_id TEXT PRIMARY KEY REFERENCES accounts(account_id),
    generated_at BIGINT NOT NULL,
    content TEXT NOT NULL
);
