-- Portcullis schema, PostgreSQL dialect. Times are Unix seconds; booleans are 0/1.
CREATE TABLE accounts (
    account_id TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    root_email TEXT NOT NULL,
    root_password_hash TEXT,
    alias TEXT UNIQUE
);

CREATE TABLE users (
    user_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(account_id),
    name TEXT NOT NULL,
    name_lower TEXT NOT NULL,
    path TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    permissions_boundary TEXT,
    password_last_used BIGINT,
    UNIQUE (account_id, name_lower)
);

CREATE TABLE iam_groups (
    group_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(account_id),
    name TEXT NOT NULL,
    name_lower TEXT NOT NULL,
    path TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (account_id, name_lower)
);

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES iam_groups(group_id),
    user_id TEXT NOT NULL REFERENCES users(user_id),
    added_at BIGINT NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members(user_id);

CREATE TABLE roles (
    role_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(account_id),
    name TEXT NOT NULL,
    name_lower TEXT NOT NULL,
    path TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    assume_role_policy TEXT NOT NULL,
    description TEXT,
    max_session_duration BIGINT NOT NULL,
    permissions_boundary TEXT,
    last_used_at BIGINT,
    last_used_region TEXT,
    UNIQUE (account_id, name_lower)
);

CREATE TABLE policies (
    policy_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(account_id),
    name TEXT NOT NULL,
    name_lower TEXT NOT NULL,
    path TEXT NOT NULL,
    arn TEXT NOT NULL UNIQUE,
    description TEXT,
    default_version TEXT NOT NULL,
    next_version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (account_id, name_lower)
);

CREATE TABLE policy_versions (
    policy_id TEXT NOT NULL REFERENCES policies(policy_id),
    version_id TEXT NOT NULL,
    version_num BIGINT NOT NULL,
    document TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (policy_id, version_id)
);

CREATE TABLE policy_attachments (
    account_id TEXT NOT NULL REFERENCES accounts(account_id),
    principal_kind TEXT NOT NULL,
    principal_id TEXT NOT NULL,
    policy_arn TEXT NOT NULL,
    attached_at BIGINT NOT NULL,
    PRIMARY KEY (principal_kind, principal_id, policy_arn)
);
CREATE INDEX policy_attachments_account ON policy_attachments(account_id, policy_arn);

CREATE TABLE inline_policies (
    principal_kind TEXT NOT NULL,
    principal_id TEXT NOT NULL,
    policy_name TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (principal_kind, principal_id, policy_name)
);

CREATE TABLE tags (
    target_kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    tag_key TEXT NOT NULL,
    tag_value TEXT NOT NULL,
    PRIMARY KEY (target_kind, target_id, tag_key)
);

CREATE TABLE access_keys (
    access_key_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(account_id),
    user_id TEXT REFERENCES users(user_id),
    secret_sealed TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    last_used_service TEXT,
    last_used_region TEXT
);
CREATE INDEX access_keys_user ON access_keys(account_id, user_id);

CREATE TABLE login_profiles (
    user_id TEXT PRIMARY KEY REFERENCES users(user_id),
    password_hash TEXT NOT NULL,
    reset_required BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    password_changed_at BIGINT NOT NULL
);
