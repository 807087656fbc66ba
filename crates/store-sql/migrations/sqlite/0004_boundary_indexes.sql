-- GetPolicy and ListPolicies count how many users and roles use a policy as their
-- permissions boundary; these indexes keep that independent of the account's size.
CREATE INDEX users_boundary ON users(account_id, permissions_boundary) WHERE permissions_boundary IS NOT NULL;
CREATE INDEX roles_boundary ON roles(account_id, permissions_boundary) WHERE permissions_boundary IS NOT NULL;
