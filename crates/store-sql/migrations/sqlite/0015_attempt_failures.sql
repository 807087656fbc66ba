-- Recent failed attempts (sign-in passwords, MFA codes, security keys, recovery codes) per
-- throttle key, shared by every node of the database: (failures, since when).
CREATE TABLE attempt_failures (
    throttle_key TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    since BIGINT NOT NULL
);
CREATE INDEX attempt_failures_since ON attempt_failures(since);
