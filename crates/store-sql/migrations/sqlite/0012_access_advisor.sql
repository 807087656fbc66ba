-- Access advisor: when each user or role (entity_arn) was last allowed each action, and in
-- which Region, as the authorizer records it (at most once a minute per entity and action).
CREATE TABLE action_last_accessed (
    account_id TEXT NOT NULL REFERENCES accounts(account_id),
    entity_arn TEXT NOT NULL,
    action TEXT NOT NULL,
    region TEXT NOT NULL,
    accessed_at INTEGER NOT NULL,
    PRIMARY KEY (entity_arn, action)
);
CREATE INDEX action_last_accessed_account ON action_last_accessed(account_id);

-- Access advisor report jobs (GenerateServiceLastAccessedDetails): what was asked and when;
-- the report is read from action_last_accessed as of the job's creation.
CREATE TABLE access_reports (
    job_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(account_id),
    arn TEXT NOT NULL,
    granularity TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
