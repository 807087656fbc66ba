-- What the web console keeps between a browser's requests, shared by every node: signed-in
-- sessions, sign-ins waiting for their next step, key registrations under way. The id is
-- the SHA-256 of the random token the browser holds; the body is sealed with the master key.
CREATE TABLE console_states (
    state_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    owner TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX console_states_expiry ON console_states(expires_at);
CREATE INDEX console_states_owner ON console_states(kind, owner, last_seen);
