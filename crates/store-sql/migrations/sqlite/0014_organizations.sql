-- Organizations: every object of an organization (the organization, its root, units,
-- accounts' memberships, policies, CreateAccount requests, handshakes) with the columns it
-- is found and kept unique by, and the rest as a JSON document; and the links between
-- objects (policy attachments, delegated administrators, trusted service access).
CREATE TABLE org_objects (
    object_id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    parent_id TEXT,
    unique_key TEXT,
    created_at INTEGER NOT NULL,
    body TEXT NOT NULL,
    UNIQUE (org_id, kind, unique_key)
);
CREATE INDEX org_objects_org_kind ON org_objects(org_id, kind, parent_id);

CREATE TABLE org_links (
    org_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    from_id TEXT NOT NULL,
    to_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (kind, from_id, to_id)
);
CREATE INDEX org_links_to ON org_links(kind, to_id);
CREATE INDEX org_links_org ON org_links(org_id, kind);
