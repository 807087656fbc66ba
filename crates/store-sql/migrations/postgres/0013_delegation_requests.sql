-- Delegation requests (temporary delegation): a partner's request for permissions in a
-- customer's account, its owner and state; the rest of it (description, permissions,
-- notes, the trade-in token's hash) as a JSON document.
CREATE TABLE delegation_requests (
    request_id TEXT PRIMARY KEY,
    requestor_account_id TEXT NOT NULL REFERENCES accounts(account_id),
    workflow_id TEXT NOT NULL,
    owner_account_id TEXT,
    owner_id TEXT,
    state TEXT NOT NULL,
    token_hash TEXT,
    created_at BIGINT NOT NULL,
    body TEXT NOT NULL,
    UNIQUE (requestor_account_id, workflow_id)
);
CREATE INDEX delegation_requests_owner ON delegation_requests(owner_id);
CREATE INDEX delegation_requests_token ON delegation_requests(token_hash);
