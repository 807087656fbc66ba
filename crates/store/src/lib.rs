//! Storage interface of Portcullis: plain records and a transactional repository trait.
//! Backends (`portcullis-store-sql` for SQLite and PostgreSQL) implement it; the domain
//! (`portcullis-core`) depends only on this crate, never on a backend.

pub mod audit;
mod cache;
#[cfg(feature = "conformance")]
pub mod conformance;
mod records;

use async_trait::async_trait;
pub use audit::{EventAttribute, EventQuery, EventRecord};
pub use cache::CachingStore;
pub use records::*;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness constraint refused the write (a name or alias already taken).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The backend failed (I/O, corruption); the transaction is rolled back.
    #[error("storage backend error: {0}")]
    Backend(String),
    /// The database cannot be reached now (connection refused or lost, no connection free
    /// in time, the server shutting down); the transaction is rolled back. Retrying later
    /// may succeed.
    #[error("storage backend unavailable: {0}")]
    Unavailable(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Entry point of a backend: hands out transactions.
#[async_trait]
pub trait Store: Send + Sync {
    async fn begin(&self) -> StoreResult<Box<dyn Tx>>;
    /// Whether the store can serve requests now: the database answers and its schema is the
    /// one this build knows (not newer, as after another node was upgraded).
    async fn check_ready(&self) -> StoreResult<()> {
        self.begin().await?.commit().await
    }
    /// The connection pool's use: (in use, idle, maximum), where the backend has a pool.
    fn pool_use(&self) -> Option<(u32, u32, u32)> {
        None
    }
    /// A transaction that only reads. A backend may answer it from a cache
    /// ([`CachingStore`]); writing in it is an error.
    async fn begin_read(&self) -> StoreResult<Box<dyn Tx>> {
        self.begin().await
    }
    /// A short name for logs and the start banner ("sqlite", "postgres").
    fn backend_name(&self) -> &'static str;
}

/// One unit of work. Dropping it without `commit` rolls everything back, so a failed
/// request changes nothing.
#[async_trait]
pub trait Tx: Send {
    async fn commit(self: Box<Self>) -> StoreResult<()>;

    /// Serialises transactions that check a quota and then write (two concurrent
    /// CreateAccessKey calls must not both see one key). Held until the transaction ends.
    async fn lock(&mut self, key: &str) -> StoreResult<()>;

    /// Deletes every row of every table (the ephemeral test mode's reset).
    async fn reset_all(&mut self) -> StoreResult<()>;

    // Throttling: failed attempts per key, shared by the nodes
    /// (failures, since) of a throttle key.
    async fn attempt_failures(&mut self, key: &str) -> StoreResult<Option<(i64, i64)>>;
    /// Counts one failure for the key: a new count from `now` when there was none or the
    /// last began `window` seconds ago or more. Forgets every count older than the window.
    async fn record_attempt_failure(&mut self, key: &str, now: i64, window: i64) -> StoreResult<()>;
    async fn clear_attempt_failures(&mut self, key: &str) -> StoreResult<()>;

    /// Tells the other nodes on the same database, when this transaction commits, that data
    /// of the given categories (a read cache's bit mask) changed. Backends that only one
    /// process uses have no one to tell.
    async fn announce_change(&mut self, _categories: u32) -> StoreResult<()> {
        Ok(())
    }

    // Audit trail
    /// Writes events, replacing any already stored under the same id (a request's final
    /// event over the one its change was committed with).
    async fn put_events(&mut self, events: &[EventRecord]) -> StoreResult<()>;
    /// An account's events, newest first (then by id, descending).
    async fn lookup_events(&mut self, query: &EventQuery<'_>) -> StoreResult<Vec<EventRecord>>;
    /// Every account's events after a (time, id) position, oldest first (a follower's feed).
    async fn events_after(&mut self, after: (i64, &str), limit: i64) -> StoreResult<Vec<EventRecord>>;
    /// Deletes events older than `before` (milliseconds); returns how many.
    async fn purge_events(&mut self, before: i64) -> StoreResult<u64>;

    // Console state (sessions, pending sign-ins, key registrations; see ConsoleStateRecord)
    /// Stores a new state, after forgetting every state that expired by `now`.
    async fn put_console_state(&mut self, rec: &ConsoleStateRecord, now: i64) -> StoreResult<()>;
    /// The state with this id, whatever its expiry (the caller judges it).
    async fn get_console_state(&mut self, state_id: &str) -> StoreResult<Option<ConsoleStateRecord>>;
    /// Removes and returns the state if it is of `kind`; of two nodes taking the same state
    /// at once, one gets it.
    async fn take_console_state(&mut self, state_id: &str, kind: &str) -> StoreResult<Option<ConsoleStateRecord>>;
    /// Sets a state's times, and its body when given; false when it no longer exists.
    async fn update_console_state(&mut self, state_id: &str, body: Option<&str>, last_seen: i64, expires_at: i64) -> StoreResult<bool>;
    async fn delete_console_state(&mut self, state_id: &str) -> StoreResult<()>;
    /// Keeps the `keep` most recently seen states of a kind (of one owner, when given) and
    /// deletes the others; returns how many went.
    async fn trim_console_states(&mut self, kind: &str, owner: Option<&str>, keep: i64) -> StoreResult<u64>;

    // Account
    async fn first_account(&mut self) -> StoreResult<Option<AccountRecord>>;
    async fn get_account(&mut self, account_id: &str) -> StoreResult<Option<AccountRecord>>;
    /// The account an id or an alias names (a sign-in page's account).
    async fn find_account(&mut self, id_or_alias: &str) -> StoreResult<Option<AccountRecord>>;
    /// The oldest account whose root user has this e-mail (compared ignoring case).
    async fn account_by_root_email(&mut self, email: &str) -> StoreResult<Option<AccountRecord>>;
    async fn insert_account(&mut self, rec: &AccountRecord) -> StoreResult<()>;
    async fn set_account_alias(&mut self, account_id: &str, alias: Option<&str>) -> StoreResult<()>;

    // Users
    async fn insert_user(&mut self, rec: &UserRecord) -> StoreResult<()>;
    async fn get_user(&mut self, account_id: &str, name: &str) -> StoreResult<Option<UserRecord>>;
    async fn get_user_by_id(&mut self, user_id: &str) -> StoreResult<Option<UserRecord>>;
    async fn list_users(&mut self, account_id: &str, page: &PageQuery<'_>) -> StoreResult<Vec<UserRecord>>;
    async fn update_user(&mut self, rec: &UserRecord) -> StoreResult<()>;
    /// Records a console sign-in without rewriting the rest of the user's row.
    async fn set_password_last_used(&mut self, user_id: &str, at: i64) -> StoreResult<()>;
    async fn delete_user(&mut self, user_id: &str) -> StoreResult<()>;
    async fn count_users(&mut self, account_id: &str) -> StoreResult<i64>;

    // Groups and membership
    async fn insert_group(&mut self, rec: &GroupRecord) -> StoreResult<()>;
    async fn get_group(&mut self, account_id: &str, name: &str) -> StoreResult<Option<GroupRecord>>;
    async fn get_group_by_id(&mut self, group_id: &str) -> StoreResult<Option<GroupRecord>>;
    async fn list_groups(&mut self, account_id: &str, page: &PageQuery<'_>) -> StoreResult<Vec<GroupRecord>>;
    async fn update_group(&mut self, rec: &GroupRecord) -> StoreResult<()>;
    async fn delete_group(&mut self, group_id: &str) -> StoreResult<()>;
    async fn count_groups(&mut self, account_id: &str) -> StoreResult<i64>;
    /// Returns false when the user already was a member.
    async fn add_group_member(&mut self, group_id: &str, user_id: &str, at: i64) -> StoreResult<bool>;
    async fn remove_group_member(&mut self, group_id: &str, user_id: &str) -> StoreResult<bool>;
    async fn group_members(&mut self, group_id: &str, page: &PageQuery<'_>) -> StoreResult<Vec<UserRecord>>;
    async fn groups_for_user(&mut self, user_id: &str) -> StoreResult<Vec<GroupRecord>>;

    // Roles
    async fn insert_role(&mut self, rec: &RoleRecord) -> StoreResult<()>;
    async fn get_role(&mut self, account_id: &str, name: &str) -> StoreResult<Option<RoleRecord>>;
    async fn get_role_by_id(&mut self, role_id: &str) -> StoreResult<Option<RoleRecord>>;
    async fn list_roles(&mut self, account_id: &str, page: &PageQuery<'_>) -> StoreResult<Vec<RoleRecord>>;
    async fn update_role(&mut self, rec: &RoleRecord) -> StoreResult<()>;
    async fn delete_role(&mut self, role_id: &str) -> StoreResult<()>;
    async fn count_roles(&mut self, account_id: &str) -> StoreResult<i64>;

    // Instance profiles and the roles in them
    async fn insert_instance_profile(&mut self, rec: &InstanceProfileRecord) -> StoreResult<()>;
    async fn get_instance_profile(&mut self, account_id: &str, name: &str) -> StoreResult<Option<InstanceProfileRecord>>;
    async fn list_instance_profiles(&mut self, account_id: &str, page: &PageQuery<'_>) -> StoreResult<Vec<InstanceProfileRecord>>;
    /// Deletes the profile, its role links and its tags.
    async fn delete_instance_profile(&mut self, instance_profile_id: &str) -> StoreResult<()>;
    async fn count_instance_profiles(&mut self, account_id: &str) -> StoreResult<i64>;
    /// Returns false when the role already was in the profile.
    async fn add_instance_profile_role(&mut self, instance_profile_id: &str, role_id: &str, at: i64) -> StoreResult<bool>;
    async fn remove_instance_profile_role(&mut self, instance_profile_id: &str, role_id: &str) -> StoreResult<bool>;
    /// The roles in a profile, in the order they were added.
    async fn instance_profile_roles(&mut self, instance_profile_id: &str) -> StoreResult<Vec<RoleRecord>>;
    /// The profiles a role is in, by name.
    async fn instance_profiles_for_role(&mut self, role_id: &str) -> StoreResult<Vec<InstanceProfileRecord>>;

    // Users' SSH public keys, signing certificates and service-specific credentials
    async fn insert_user_credential(&mut self, rec: &UserCredentialRecord) -> StoreResult<()>;
    async fn get_user_credential(&mut self, credential_id: &str) -> StoreResult<Option<UserCredentialRecord>>;
    /// A user's credentials of one kind, oldest first.
    async fn user_credentials(&mut self, user_id: &str, kind: CredentialKind) -> StoreResult<Vec<UserCredentialRecord>>;
    /// Writes status, detail, secret hash and expiry.
    async fn update_user_credential(&mut self, rec: &UserCredentialRecord) -> StoreResult<()>;
    async fn delete_user_credential(&mut self, credential_id: &str) -> StoreResult<()>;

    // Server certificates (names unique per account ignoring case)
    async fn insert_server_certificate(&mut self, rec: &ServerCertificateRecord) -> StoreResult<()>;
    async fn get_server_certificate(&mut self, account_id: &str, name: &str) -> StoreResult<Option<ServerCertificateRecord>>;
    async fn list_server_certificates(&mut self, account_id: &str, page: &PageQuery<'_>) -> StoreResult<Vec<ServerCertificateRecord>>;
    /// Writes the name and path.
    async fn update_server_certificate(&mut self, rec: &ServerCertificateRecord) -> StoreResult<()>;
    /// Deletes the certificate and its tags.
    async fn delete_server_certificate(&mut self, server_certificate_id: &str) -> StoreResult<()>;
    async fn count_server_certificates(&mut self, account_id: &str) -> StoreResult<i64>;

    // Account-wide settings, by name (the STS token version, alternate contacts, …)
    async fn get_account_setting(&mut self, account_id: &str, key: &str) -> StoreResult<Option<String>>;
    /// The account whose setting `key` has this value, if one has.
    async fn account_with_setting(&mut self, key: &str, value: &str) -> StoreResult<Option<String>>;
    async fn put_account_setting(&mut self, account_id: &str, key: &str, value: &str) -> StoreResult<()>;

    // SAML providers, by ARN
    async fn insert_saml_provider(&mut self, rec: &SamlProviderRecord) -> StoreResult<()>;
    async fn get_saml_provider(&mut self, arn: &str) -> StoreResult<Option<SamlProviderRecord>>;
    /// The account's providers, by ARN.
    async fn list_saml_providers(&mut self, account_id: &str) -> StoreResult<Vec<SamlProviderRecord>>;
    /// Writes the metadata, its expiry, the encryption mode and the private keys.
    async fn update_saml_provider(&mut self, rec: &SamlProviderRecord) -> StoreResult<()>;
    /// Deletes the provider and its tags.
    async fn delete_saml_provider(&mut self, arn: &str) -> StoreResult<()>;

    // OpenID Connect providers, by ARN
    async fn insert_oidc_provider(&mut self, rec: &OidcProviderRecord) -> StoreResult<()>;
    async fn get_oidc_provider(&mut self, arn: &str) -> StoreResult<Option<OidcProviderRecord>>;
    /// The account's providers, by ARN.
    async fn list_oidc_providers(&mut self, account_id: &str) -> StoreResult<Vec<OidcProviderRecord>>;
    /// Writes the client ids and thumbprints.
    async fn update_oidc_provider(&mut self, rec: &OidcProviderRecord) -> StoreResult<()>;
    /// Deletes the provider and its tags.
    async fn delete_oidc_provider(&mut self, arn: &str) -> StoreResult<()>;

    // Customer-managed policies (the AWS-managed catalog is not stored per account)
    async fn insert_policy(&mut self, rec: &PolicyRecord) -> StoreResult<()>;
    async fn get_policy(&mut self, arn: &str) -> StoreResult<Option<PolicyRecord>>;
    async fn list_policies(&mut self, account_id: &str) -> StoreResult<Vec<PolicyRecord>>;
    /// How many customer-managed policies the account holds, and their versions in all.
    async fn count_policies(&mut self, account_id: &str) -> StoreResult<(i64, i64)>;
    /// A keyset page of the account's customer-managed policies, ordered by name ignoring case.
    async fn list_policies_page(&mut self, account_id: &str, page: &PageQuery<'_>) -> StoreResult<Vec<PolicyRecord>>;
    async fn update_policy(&mut self, rec: &PolicyRecord) -> StoreResult<()>;
    async fn delete_policy(&mut self, policy_id: &str) -> StoreResult<()>;
    async fn insert_policy_version(&mut self, rec: &PolicyVersionRecord) -> StoreResult<()>;
    async fn get_policy_version(&mut self, policy_id: &str, version_id: &str) -> StoreResult<Option<PolicyVersionRecord>>;
    /// Newest first.
    async fn list_policy_versions(&mut self, policy_id: &str) -> StoreResult<Vec<PolicyVersionRecord>>;
    async fn delete_policy_version(&mut self, policy_id: &str, version_id: &str) -> StoreResult<()>;

    // Managed-policy attachments (by policy ARN, so AWS-managed and customer-managed alike)
    async fn attach_policy(&mut self, account_id: &str, kind: PrincipalKind, principal_id: &str, arn: &str, at: i64) -> StoreResult<bool>;
    async fn detach_policy(&mut self, kind: PrincipalKind, principal_id: &str, arn: &str) -> StoreResult<bool>;
    async fn attached_policies(&mut self, kind: PrincipalKind, principal_id: &str) -> StoreResult<Vec<String>>;
    /// The attachments of one managed policy in the account: (policy ARN, principal kind,
    /// principal id), oldest first.
    async fn policy_attachments(&mut self, account_id: &str, arn: &str) -> StoreResult<Vec<(String, PrincipalKind, String)>>;
    /// How many users, groups and roles of the account one managed policy is attached to.
    async fn count_policy_attachments(&mut self, account_id: &str, arn: &str) -> StoreResult<i64>;
    /// For each managed policy attached in the account, to how many principals.
    async fn attachment_counts(&mut self, account_id: &str) -> StoreResult<Vec<(String, i64)>>;
    /// How many users and roles of the account have this policy as permissions boundary.
    async fn count_boundary_uses(&mut self, account_id: &str, arn: &str) -> StoreResult<i64>;
    /// For each policy used as a permissions boundary in the account, by how many users and
    /// roles.
    async fn boundary_counts(&mut self, account_id: &str) -> StoreResult<Vec<(String, i64)>>;

    // Inline policies
    async fn put_inline_policy(&mut self, kind: PrincipalKind, principal_id: &str, name: &str, document: &str) -> StoreResult<()>;
    async fn get_inline_policy(&mut self, kind: PrincipalKind, principal_id: &str, name: &str) -> StoreResult<Option<String>>;
    /// Names in AWS's order (alphabetical).
    async fn inline_policy_names(&mut self, kind: PrincipalKind, principal_id: &str) -> StoreResult<Vec<String>>;
    async fn delete_inline_policy(&mut self, kind: PrincipalKind, principal_id: &str, name: &str) -> StoreResult<bool>;

    // Tags, in the order they were added
    async fn tags(&mut self, kind: TagTarget, id: &str) -> StoreResult<Vec<Tag>>;
    async fn set_tags(&mut self, kind: TagTarget, id: &str, tags: &[Tag]) -> StoreResult<()>;

    // Access keys (user_id None = the root user)
    async fn insert_access_key(&mut self, rec: &AccessKeyRecord) -> StoreResult<()>;
    async fn get_access_key(&mut self, access_key_id: &str) -> StoreResult<Option<AccessKeyRecord>>;
    async fn access_keys_for(&mut self, account_id: &str, user_id: Option<&str>) -> StoreResult<Vec<AccessKeyRecord>>;
    async fn set_access_key_status(&mut self, access_key_id: &str, status: KeyStatus) -> StoreResult<()>;
    async fn delete_access_key(&mut self, access_key_id: &str) -> StoreResult<()>;
    async fn record_access_key_use(&mut self, access_key_id: &str, at: i64, service: &str, region: &str) -> StoreResult<()>;

    // MFA devices (authenticator apps and security keys)
    async fn insert_mfa_device(&mut self, rec: &MfaDeviceRecord) -> StoreResult<()>;
    async fn get_mfa_device(&mut self, serial_number: &str) -> StoreResult<Option<MfaDeviceRecord>>;
    /// Every MFA device of the account, by serial number.
    async fn mfa_devices(&mut self, account_id: &str) -> StoreResult<Vec<MfaDeviceRecord>>;
    async fn update_mfa_device(&mut self, rec: &MfaDeviceRecord) -> StoreResult<()>;
    async fn delete_mfa_device(&mut self, serial_number: &str) -> StoreResult<()>;

    // Recovery codes of an identity (`owner`: `root:ACCOUNT` or `user:USER-ID`)
    /// Replaces the owner's codes with these hashes (none: the owner has no codes).
    async fn replace_recovery_codes(&mut self, account_id: &str, owner: &str, hashes: &[String], at: i64) -> StoreResult<()>;
    async fn recovery_codes(&mut self, owner: &str) -> StoreResult<Vec<RecoveryCodeRecord>>;
    /// Marks an unused code used; false when there is no such unused code. Two concurrent
    /// uses of one code cannot both succeed.
    async fn use_recovery_code(&mut self, owner: &str, hash: &str, at: i64) -> StoreResult<bool>;

    // Single-use proofs (a SAML assertion for a role)
    /// Records `key` as redeemed until `expires_at`; false when it already was (and has not
    /// expired by `now`). Two concurrent redemptions of one key cannot both succeed.
    /// Redemptions that expired by `now` are forgotten.
    async fn redeem_once(&mut self, account_id: &str, key: &str, expires_at: i64, now: i64) -> StoreResult<bool>;

    // Delegation requests
    /// False when the requestor already has a request with this workflow id.
    async fn insert_delegation_request(&mut self, rec: &DelegationRequestRecord) -> StoreResult<bool>;
    async fn get_delegation_request(&mut self, request_id: &str) -> StoreResult<Option<DelegationRequestRecord>>;
    async fn get_delegation_request_by_token(&mut self, token_hash: &str) -> StoreResult<Option<DelegationRequestRecord>>;
    /// Replaces the request's owner, state, token hash and body.
    async fn update_delegation_request(&mut self, rec: &DelegationRequestRecord) -> StoreResult<()>;
    /// The requests that have an owner in the account (an owner ARN given: that owner's), oldest first.
    async fn list_delegation_requests(&mut self, owner_account_id: &str, owner_id: Option<&str>) -> StoreResult<Vec<DelegationRequestRecord>>;

    // Organizations: their objects (units, accounts' memberships, policies, requests) and
    // the links between them (policy attachments, delegated administrators)
    /// `Conflict` when the object id, or its unique key within the organization and kind,
    /// is taken.
    async fn insert_org_object(&mut self, rec: &OrgObjectRecord) -> StoreResult<()>;
    async fn get_org_object(&mut self, object_id: &str) -> StoreResult<Option<OrgObjectRecord>>;
    /// An organization's objects of a kind (in one parent when given), oldest first.
    async fn org_objects(&mut self, org_id: &str, kind: OrgObjectKind, parent_id: Option<&str>) -> StoreResult<Vec<OrgObjectRecord>>;
    /// The object of a kind with a unique key within an organization (an index lookup).
    async fn org_object_by_key(&mut self, org_id: &str, kind: OrgObjectKind, unique_key: &str) -> StoreResult<Option<OrgObjectRecord>>;
    /// How many objects of a kind an organization has.
    async fn count_org_objects(&mut self, org_id: &str, kind: OrgObjectKind) -> StoreResult<i64>;
    /// The objects of a kind in one parent, whatever their scope (an account's invitations
    /// from every organization), oldest first.
    async fn org_objects_with_parent(&mut self, kind: OrgObjectKind, parent_id: &str) -> StoreResult<Vec<OrgObjectRecord>>;
    /// Writes the parent, unique key and body; `Conflict` when the unique key is taken.
    async fn update_org_object(&mut self, rec: &OrgObjectRecord) -> StoreResult<()>;
    /// Deletes the object and every link from or to it.
    async fn delete_org_object(&mut self, object_id: &str) -> StoreResult<()>;
    /// Returns false when the link already existed.
    async fn insert_org_link(&mut self, org_id: &str, kind: OrgLinkKind, link: &OrgLinkRecord) -> StoreResult<bool>;
    /// Returns false when there was no such link.
    async fn delete_org_link(&mut self, kind: OrgLinkKind, from_id: &str, to_id: &str) -> StoreResult<bool>;
    /// An organization's links of a kind, from and to the given objects when given, oldest first.
    async fn org_links(&mut self, org_id: &str, kind: OrgLinkKind, from_id: Option<&str>, to_id: Option<&str>) -> StoreResult<Vec<OrgLinkRecord>>;
    /// Deletes an organization's objects and links.
    async fn delete_organization(&mut self, org_id: &str) -> StoreResult<()>;

    // Access advisor
    /// Notes that the entity was allowed the action at `at` (kept when later than what is known).
    async fn record_action_access(&mut self, account_id: &str, rec: &ActionAccessRecord) -> StoreResult<()>;
    /// What these entities were last allowed, up to `until`, by entity and action.
    async fn action_accesses(&mut self, account_id: &str, entity_arns: &[String], until: i64) -> StoreResult<Vec<ActionAccessRecord>>;
    async fn insert_access_report(&mut self, rec: &AccessReportRecord) -> StoreResult<()>;
    async fn get_access_report(&mut self, job_id: &str) -> StoreResult<Option<AccessReportRecord>>;

    // Password policy, password history, credential report
    async fn get_password_policy(&mut self, account_id: &str) -> StoreResult<Option<PasswordPolicyRecord>>;
    async fn put_password_policy(&mut self, rec: &PasswordPolicyRecord) -> StoreResult<()>;
    async fn delete_password_policy(&mut self, account_id: &str) -> StoreResult<bool>;
    /// Earlier password hashes of a user, newest first.
    async fn password_history(&mut self, user_id: &str) -> StoreResult<Vec<String>>;
    /// Adds a hash and keeps only the newest `keep`.
    async fn push_password_history(&mut self, user_id: &str, hash: &str, at: i64, keep: i64) -> StoreResult<()>;
    async fn get_credential_report(&mut self, account_id: &str) -> StoreResult<Option<(i64, String)>>;
    async fn put_credential_report(&mut self, account_id: &str, at: i64, content: &str) -> StoreResult<()>;

    // Login profiles
    async fn upsert_login_profile(&mut self, rec: &LoginProfileRecord) -> StoreResult<()>;
    async fn get_login_profile(&mut self, user_id: &str) -> StoreResult<Option<LoginProfileRecord>>;
    async fn delete_login_profile(&mut self, user_id: &str) -> StoreResult<bool>;
}
