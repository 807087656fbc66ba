-- Instance profiles (names unique per account ignoring case, as for roles) and the role
-- each holds (AWS allows one; the link table keeps the order they were added).
CREATE TABLE instance_profiles (
    instance_profile_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(account_id),
    name TEXT NOT NULL,
    name_lower TEXT NOT NULL,
    path TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (account_id, name_lower)
);

CREATE TABLE instance_profile_roles (
    instance_profile_id TEXT NOT NULL REFERENCES instance_profiles(instance_profile_id),
    role_id TEXT NOT NULL REFERENCES roles(role_id),
    added_at INTEGER NOT NULL,
    PRIMARY KEY (instance_profile_id, role_id)
);
CREATE INDEX instance_profile_roles_role ON instance_profile_roles(role_id);
