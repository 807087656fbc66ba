-- Virtual MFA devices. The TOTP seed is sealed with the master key; last_step is the last
-- accepted TOTP time step, so no code is accepted twice.
CREATE TABLE mfa_devices (
    serial_number TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(account_id),
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    user_id TEXT REFERENCES users(user_id),
    assigned_root BIGINT NOT NULL DEFAULT 0,
    seed_sealed TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    enabled_at BIGINT,
    last_step BIGINT
);
CREATE INDEX mfa_devices_user ON mfa_devices(account_id, user_id);
