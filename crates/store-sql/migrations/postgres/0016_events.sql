-- The audit trail: CloudTrail-shaped events, the columns LookupEvents filters by, and the
-- event itself as JSON. A request's change and its event are committed together.
CREATE TABLE events (
    event_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    event_time BIGINT NOT NULL,
    event_name TEXT NOT NULL,
    event_source TEXT NOT NULL,
    read_only BIGINT NOT NULL,
    username TEXT,
    access_key_id TEXT,
    body TEXT NOT NULL
);
CREATE INDEX events_account_time ON events(account_id, event_time, event_id);
CREATE INDEX events_time ON events(event_time, event_id);

-- The resources an event names (ResourceType and ResourceName lookups).
CREATE TABLE event_resources (
    event_id TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_name TEXT NOT NULL,
    PRIMARY KEY (event_id, resource_type, resource_name)
);
CREATE INDEX event_resources_name ON event_resources(resource_name);
CREATE INDEX event_resources_type ON event_resources(resource_type);
