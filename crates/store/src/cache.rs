//! A read cache in front of any [`Store`]: read-only transactions (`begin_read`) are
//! answered from memory when the same read was made before and nothing it depends on has
//! been written since; everything else passes through unchanged.
//!
//! Every read belongs to one or more *categories* (users, groups, tags, ...), and every
//! write method marks the categories it changes. Each category has a generation counter,
//! bumped after a write transaction that touched it commits. A cached answer records the
//! sum of its categories' generations read *before* the database was asked; because the
//! counters only grow, the entry is current exactly while that sum is unchanged. So a
//! write on this node is seen by the next read, a read that raced with a write is never
//! served later, and an entry also expires after a short time to bound how stale it can be
//! when other nodes write to the same database. At expiry one reader asks the database
//! again while the others keep the expired answer (for at most one more such time), so a
//! busy key costs one database read per expiry rather than one per concurrent request.
//!
//! Write transactions (`begin`) never read from or fill the cache: their reads go to the
//! database exactly as without the cache, so read-check-write sequences keep the backend's
//! isolation. Absent rows (`None`) are not cached, so something created on another node is
//! seen at once.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::{
    OrgLinkKind, OrgLinkRecord, OrgObjectKind, OrgObjectRecord, AccessKeyRecord, KeyStatus, AccessReportRecord, ActionAccessRecord, DelegationRequestRecord, AccountRecord, GroupRecord, InstanceProfileRecord, OidcProviderRecord, SamlProviderRecord, UserCredentialRecord, CredentialKind, ServerCertificateRecord, LoginProfileRecord, MfaDeviceRecord, PageQuery, PasswordPolicyRecord,
    PolicyRecord, PolicyVersionRecord, PrincipalKind, RecoveryCodeRecord, RoleRecord, Store, StoreError, StoreResult, Tag, TagTarget, Tx,
    UserRecord, EventQuery, EventRecord, ConsoleStateRecord,
};

/// Categories of data, as bits of a mask.
mod cat {
    pub const ACCOUNT: u32 = 1 << 0;
    pub const USERS: u32 = 1 << 1;
    pub const GROUPS: u32 = 1 << 2;
    pub const ROLES: u32 = 1 << 3;
    pub const POLICIES: u32 = 1 << 4;
    pub const ATTACHMENTS: u32 = 1 << 5;
    pub const INLINE: u32 = 1 << 6;
    pub const TAGS: u32 = 1 << 7;
    pub const KEYS: u32 = 1 << 8;
    pub const MFA: u32 = 1 << 9;
    pub const PASSWORD_POLICY: u32 = 1 << 10;
    pub const LOGIN: u32 = 1 << 11;
    pub const INSTANCE_PROFILES: u32 = 1 << 12;
    pub const PROVIDERS: u32 = 1 << 13;
    pub const COUNT: usize = 14;
    pub const ALL: u32 = (1 << COUNT) - 1;
}

/// What a cached answer was asked with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    FirstAccount,
    Account(String),
    User(String, String),
    UserById(String),
    Users(String, PageKey),
    PoliciesPage(String, PageKey),
    CountPolicies(String),
    CountUsers(String),
    Group(String, String),
    GroupById(String),
    Groups(String, PageKey),
    CountGroups(String),
    Members(String, PageKey),
    GroupsForUser(String),
    Role(String, String),
    RoleById(String),
    Roles(String, PageKey),
    CountRoles(String),
    Policy(String),
    Policies(String),
    Version(String, String),
    Versions(String),
    Attached(PrincipalKind, String),
    PolicyAttachments(String, String),
    CountPolicyAttachments(String, String),
    AttachmentCounts(String),
    CountBoundaryUses(String, String),
    BoundaryCounts(String),
    Inline(PrincipalKind, String, String),
    InlineNames(PrincipalKind, String),
    Tags(&'static str, String),
    AccessKeyId(String),
    AccessKeysFor(String, Option<String>),
    Mfa(String),
    Mfas(String),
    PasswordPolicy(String),
    Login(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PageKey(Option<String>, Option<String>, i64);

impl PageKey {
    fn of(page: &PageQuery<'_>) -> Self {
        Self(page.path_prefix.map(str::to_owned), page.after.map(str::to_owned), page.limit)
    }
}

/// A cached answer.
#[derive(Debug)]
enum Value {
    Account(AccountRecord),
    User(UserRecord),
    Users(Vec<UserRecord>),
    Count(i64),
    Group(GroupRecord),
    Groups(Vec<GroupRecord>),
    Role(RoleRecord),
    Roles(Vec<RoleRecord>),
    Policy(PolicyRecord),
    Policies(Vec<PolicyRecord>),
    Version(PolicyVersionRecord),
    Versions(Vec<PolicyVersionRecord>),
    Strings(Vec<String>),
    Attachments(Vec<(String, PrincipalKind, String)>),
    Counts(Vec<(String, i64)>),
    CountPair((i64, i64)),
    Text(String),
    Tags(Vec<Tag>),
    AccessKey(AccessKeyRecord),
    AccessKeys(Vec<AccessKeyRecord>),
    Mfa(MfaDeviceRecord),
    Mfas(Vec<MfaDeviceRecord>),
    PasswordPolicy(PasswordPolicyRecord),
    Login(LoginProfileRecord),
}

/// Converts an answer to and from [`Value`].
trait Cacheable: Clone {
    fn wrap(self) -> Value;
    fn unwrap(v: &Value) -> Option<Self>;
}

macro_rules! cacheable {
    ($t:ty, $variant:ident) => {
        impl Cacheable for $t {
            fn wrap(self) -> Value {
                Value::$variant(self)
            }
            fn unwrap(v: &Value) -> Option<Self> {
                match v {
                    Value::$variant(x) => Some(x.clone()),
                    _ => None,
                }
            }
        }
    };
}

cacheable!(AccountRecord, Account);
cacheable!(UserRecord, User);
cacheable!(Vec<UserRecord>, Users);
cacheable!(i64, Count);
cacheable!((i64, i64), CountPair);
cacheable!(GroupRecord, Group);
cacheable!(Vec<GroupRecord>, Groups);
cacheable!(RoleRecord, Role);
cacheable!(Vec<RoleRecord>, Roles);
cacheable!(PolicyRecord, Policy);
cacheable!(Vec<PolicyRecord>, Policies);
cacheable!(PolicyVersionRecord, Version);
cacheable!(Vec<PolicyVersionRecord>, Versions);
cacheable!(Vec<String>, Strings);
cacheable!(Vec<(String, PrincipalKind, String)>, Attachments);
cacheable!(Vec<(String, i64)>, Counts);
cacheable!(String, Text);
cacheable!(Vec<Tag>, Tags);
cacheable!(AccessKeyRecord, AccessKey);
cacheable!(Vec<AccessKeyRecord>, AccessKeys);
cacheable!(MfaDeviceRecord, Mfa);
cacheable!(Vec<MfaDeviceRecord>, Mfas);
cacheable!(PasswordPolicyRecord, PasswordPolicy);
cacheable!(LoginProfileRecord, Login);

#[derive(Debug)]
struct Entry {
    mask: u32,
    signature: u64,
    at: Instant,
    value: Value,
    /// Set by the one reader that asks the database again once the entry has expired.
    refreshing: AtomicBool,
}

#[derive(Clone)]
struct EntryWeight;

impl quick_cache::Weighter<Key, Arc<Entry>> for EntryWeight {
    fn weight(&self, _key: &Key, entry: &Arc<Entry>) -> u64 {
        match &entry.value {
            Value::Users(v) => 1 + v.len() as u64,
            Value::Groups(v) => 1 + v.len() as u64,
            Value::Roles(v) => 1 + v.len() as u64,
            Value::Policies(v) => 1 + v.len() as u64,
            Value::Versions(v) => 1 + v.len() as u64,
            Value::Strings(v) => 1 + v.len() as u64,
            Value::Attachments(v) => 1 + v.len() as u64,
            Value::Counts(v) => 1 + v.len() as u64,
            Value::AccessKeys(v) => 1 + v.len() as u64,
            Value::Mfas(v) => 1 + v.len() as u64,
            Value::Tags(v) => 1 + v.len() as u64,
            _ => 1,
        }
    }
}

struct Shared {
    generations: [AtomicU64; cat::COUNT],
    entries: quick_cache::sync::Cache<Key, Arc<Entry>, EntryWeight>,
    ttl: Duration,
}

impl Shared {
    fn signature(&self, mask: u32) -> u64 {
        let mut sum = 0u64;
        for (i, g) in self.generations.iter().enumerate() {
            if mask & (1 << i) != 0 {
                sum = sum.wrapping_add(g.load(Ordering::Acquire));
            }
        }
        sum
    }

    fn bump(&self, mask: u32) {
        for (i, g) in self.generations.iter().enumerate() {
            if mask & (1 << i) != 0 {
                g.fetch_add(1, Ordering::AcqRel);
            }
        }
    }

    /// The cached answer, or None when the caller must ask the database.
    fn get<T: Cacheable>(&self, key: &Key) -> Option<T> {
        let hit = self.lookup(key);
        metrics::counter!("portcullis_read_cache_total", "result" => if hit.is_some() { "hit" } else { "miss" }).increment(1);
        hit
    }

    fn lookup<T: Cacheable>(&self, key: &Key) -> Option<T> {
        let entry = self.entries.get(key)?;
        if entry.signature != self.signature(entry.mask) {
            return None;
        }
        let age = entry.at.elapsed();
        if age < self.ttl {
            return T::unwrap(&entry.value);
        }
        // Expired (only the time bound for other nodes' writes; this node's own writes
        // change the signature). The first reader to notice asks the database; until its
        // answer is in, the others keep the old one, for one more time bound at most, so an
        // expiry costs one database read instead of one per concurrent request.
        if age < self.ttl * 2 && entry.refreshing.swap(true, Ordering::AcqRel) {
            return T::unwrap(&entry.value);
        }
        None
    }

    fn put<T: Cacheable>(&self, key: Key, mask: u32, signature: u64, value: T) {
        // A write committed since the read began: the answer may already be stale.
        if signature != self.signature(mask) {
            return;
        }
        self.entries.insert(key, Arc::new(Entry { mask, signature, at: Instant::now(), value: value.wrap(), refreshing: AtomicBool::new(false) }));
    }
}

/// The read cache around a backend. Cheap to clone; clones share the cache.
#[derive(Clone)]
pub struct CachingStore {
    inner: Arc<dyn Store>,
    shared: Arc<Shared>,
}

impl CachingStore {
    /// `capacity` bounds the cache in records (a list of 100 users weighs 101); `ttl`
    /// bounds how long an answer is served without asking the database again.
    pub fn new(inner: Arc<dyn Store>, capacity: u64, ttl: Duration) -> Self {
        let entries = quick_cache::sync::Cache::with_weighter((capacity / 4).max(16) as usize, capacity, EntryWeight);
        let shared = Shared { generations: std::array::from_fn(|_| AtomicU64::new(0)), entries, ttl };
        Self { inner, shared: Arc::new(shared) }
    }

    /// Drops what the cache holds of the given categories (a mask from another node's
    /// change announcement; `u32::MAX` for everything, e.g. when announcements may have been
    /// missed).
    pub fn invalidate(&self, categories: u32) {
        self.shared.bump(categories & cat::ALL);
    }

    /// How many answers are cached now (for tests and diagnostics).
    pub fn cached_entries(&self) -> usize {
        self.shared.entries.len()
    }
}

#[async_trait]
impl Store for CachingStore {
    async fn begin(&self) -> StoreResult<Box<dyn Tx>> {
        let inner = self.inner.begin().await?;
        Ok(Box::new(CacheTx { read_only: false, inner: Some(inner), store: self.inner.clone(), shared: self.shared.clone(), touched: 0 }))
    }

    async fn begin_read(&self) -> StoreResult<Box<dyn Tx>> {
        Ok(Box::new(CacheTx { read_only: true, inner: None, store: self.inner.clone(), shared: self.shared.clone(), touched: 0 }))
    }

    fn backend_name(&self) -> &'static str {
        self.inner.backend_name()
    }

    async fn check_ready(&self) -> StoreResult<()> {
        self.inner.check_ready().await
    }

    fn pool_use(&self) -> Option<(u32, u32, u32)> {
        self.inner.pool_use()
    }
}

struct CacheTx {
    read_only: bool,
    /// The backend's transaction; a read-only one begins it at the first cache miss.
    inner: Option<Box<dyn Tx>>,
    store: Arc<dyn Store>,
    shared: Arc<Shared>,
    /// Categories this transaction wrote.
    touched: u32,
}

impl CacheTx {
    async fn inner(&mut self) -> StoreResult<&mut Box<dyn Tx>> {
        if self.inner.is_none() {
            self.inner = Some(self.store.begin_read().await?);
        }
        self.inner.as_mut().ok_or_else(|| StoreError::Backend("no transaction".to_owned()))
    }

    fn writing(&mut self, mask: u32) -> StoreResult<()> {
        if self.read_only {
            return Err(StoreError::Backend("write in a read-only transaction".to_owned()));
        }
        self.touched |= mask;
        Ok(())
    }
}

/// A read that may be answered from the cache (`Option` answers: only `Some` is cached).
macro_rules! read {
    ($s:ident, $mask:expr, $key:expr, $method:ident($($arg:expr),*)) => {{
        if !$s.read_only {
            return $s.inner().await?.$method($($arg),*).await;
        }
        let key = $key;
        if let Some(v) = $s.shared.get(&key) {
            return Ok(v);
        }
        let signature = $s.shared.signature($mask);
        let v = $s.inner().await?.$method($($arg),*).await?;
        $s.shared.put(key, $mask, signature, v.clone());
        Ok(v)
    }};
    (opt $s:ident, $mask:expr, $key:expr, $method:ident($($arg:expr),*)) => {{
        if !$s.read_only {
            return $s.inner().await?.$method($($arg),*).await;
        }
        let key = $key;
        if let Some(v) = $s.shared.get(&key) {
            return Ok(Some(v));
        }
        let signature = $s.shared.signature($mask);
        let v = $s.inner().await?.$method($($arg),*).await?;
        match &v {
            Some(found) => $s.shared.put(key, $mask, signature, found.clone()),
            // Gone (another node deleted it): no longer served, not even while expired.
            None => {
                $s.shared.entries.remove(&key);
            }
        }
        Ok(v)
    }};
}

/// A read that always goes to the database.
macro_rules! uncached {
    ($s:ident, $method:ident($($arg:expr),*)) => {
        $s.inner().await?.$method($($arg),*).await
    };
}

/// A write: refused in a read-only transaction, and marks what it changes.
macro_rules! write {
    ($s:ident, $mask:expr, $method:ident($($arg:expr),*)) => {{
        $s.writing($mask)?;
        $s.inner().await?.$method($($arg),*).await
    }};
}

fn tag_target(kind: TagTarget) -> &'static str {
    kind.as_str()
}

#[async_trait]
impl Tx for CacheTx {
    async fn commit(self: Box<Self>) -> StoreResult<()> {
        let Self { read_only, inner, shared, touched, .. } = *self;
        if read_only {
            // Nothing was written; dropping the backend's transaction ends it.
            return Ok(());
        }
        let result = match inner {
            Some(mut inner) => {
                // Other nodes drop what they cached of it once this commits.
                if touched != 0 {
                    inner.announce_change(touched).await?;
                }
                inner.commit().await
            }
            None => Ok(()),
        };
        // Even a failed commit may have committed (a connection lost after COMMIT):
        // invalidating too much is harmless, too little is not.
        shared.bump(touched);
        result
    }

    async fn lock(&mut self, key: &str) -> StoreResult<()> {
        uncached!(self, lock(key))
    }

    async fn put_events(&mut self, events: &[EventRecord]) -> StoreResult<()> {
        write!(self, 0, put_events(events))
    }

    async fn lookup_events(&mut self, query: &EventQuery<'_>) -> StoreResult<Vec<EventRecord>> {
        uncached!(self, lookup_events(query))
    }

    async fn events_after(&mut self, after: (i64, &str), limit: i64) -> StoreResult<Vec<EventRecord>> {
        uncached!(self, events_after(after, limit))
    }

    async fn purge_events(&mut self, before: i64) -> StoreResult<u64> {
        write!(self, 0, purge_events(before))
    }

    async fn put_console_state(&mut self, rec: &ConsoleStateRecord, now: i64) -> StoreResult<()> {
        write!(self, 0, put_console_state(rec, now))
    }

    async fn get_console_state(&mut self, state_id: &str) -> StoreResult<Option<ConsoleStateRecord>> {
        uncached!(self, get_console_state(state_id))
    }

    async fn take_console_state(&mut self, state_id: &str, kind: &str) -> StoreResult<Option<ConsoleStateRecord>> {
        write!(self, 0, take_console_state(state_id, kind))
    }

    async fn update_console_state(&mut self, state_id: &str, body: Option<&str>, last_seen: i64, expires_at: i64) -> StoreResult<bool> {
        write!(self, 0, update_console_state(state_id, body, last_seen, expires_at))
    }

    async fn delete_console_state(&mut self, state_id: &str) -> StoreResult<()> {
        write!(self, 0, delete_console_state(state_id))
    }

    async fn trim_console_states(&mut self, kind: &str, owner: Option<&str>, keep: i64) -> StoreResult<u64> {
        write!(self, 0, trim_console_states(kind, owner, keep))
    }

    async fn attempt_failures(&mut self, key: &str) -> StoreResult<Option<(i64, i64)>> {
        uncached!(self, attempt_failures(key))
    }

    async fn record_attempt_failure(&mut self, key: &str, now: i64, window: i64) -> StoreResult<()> {
        write!(self, 0, record_attempt_failure(key, now, window))
    }

    async fn clear_attempt_failures(&mut self, key: &str) -> StoreResult<()> {
        write!(self, 0, clear_attempt_failures(key))
    }

    async fn reset_all(&mut self) -> StoreResult<()> {
        write!(self, cat::ALL, reset_all())
    }

    async fn first_account(&mut self) -> StoreResult<Option<AccountRecord>> {
        read!(opt self, cat::ACCOUNT, Key::FirstAccount, first_account())
    }
    async fn get_account(&mut self, account_id: &str) -> StoreResult<Option<AccountRecord>> {
        read!(opt self, cat::ACCOUNT, Key::Account(account_id.to_owned()), get_account(account_id))
    }
    async fn find_account(&mut self, id_or_alias: &str) -> StoreResult<Option<AccountRecord>> {
        uncached!(self, find_account(id_or_alias))
    }
    async fn account_by_root_email(&mut self, email: &str) -> StoreResult<Option<AccountRecord>> {
        uncached!(self, account_by_root_email(email))
    }
    async fn insert_account(&mut self, rec: &AccountRecord) -> StoreResult<()> {
        write!(self, cat::ACCOUNT, insert_account(rec))
    }
    async fn set_account_alias(&mut self, account_id: &str, alias: Option<&str>) -> StoreResult<()> {
        write!(self, cat::ACCOUNT, set_account_alias(account_id, alias))
    }

    async fn insert_user(&mut self, rec: &UserRecord) -> StoreResult<()> {
        write!(self, cat::USERS, insert_user(rec))
    }
    async fn get_user(&mut self, account_id: &str, name: &str) -> StoreResult<Option<UserRecord>> {
        read!(opt self, cat::USERS, Key::User(account_id.to_owned(), name.to_lowercase()), get_user(account_id, name))
    }
    async fn get_user_by_id(&mut self, user_id: &str) -> StoreResult<Option<UserRecord>> {
        read!(opt self, cat::USERS, Key::UserById(user_id.to_owned()), get_user_by_id(user_id))
    }
    async fn list_users(&mut self, account_id: &str, page: &PageQuery<'_>) -> StoreResult<Vec<UserRecord>> {
        read!(self, cat::USERS, Key::Users(account_id.to_owned(), PageKey::of(page)), list_users(account_id, page))
    }
    async fn update_user(&mut self, rec: &UserRecord) -> StoreResult<()> {
        write!(self, cat::USERS, update_user(rec))
    }
    async fn set_password_last_used(&mut self, user_id: &str, at: i64) -> StoreResult<()> {
        write!(self, cat::USERS, set_password_last_used(user_id, at))
    }
    async fn delete_user(&mut self, user_id: &str) -> StoreResult<()> {
        // Deleting a principal may take rows of other categories with it.
        write!(self, cat::ALL, delete_user(user_id))
    }
    async fn count_users(&mut self, account_id: &str) -> StoreResult<i64> {
        read!(self, cat::USERS, Key::CountUsers(account_id.to_owned()), count_users(account_id))
    }

    async fn insert_group(&mut self, rec: &GroupRecord) -> StoreResult<()> {
        write!(self, cat::GROUPS, insert_group(rec))
    }
    async fn get_group(&mut self, account_id: &str, name: &str) -> StoreResult<Option<GroupRecord>> {
        read!(opt self, cat::GROUPS, Key::Group(account_id.to_owned(), name.to_lowercase()), get_group(account_id, name))
    }
    async fn get_group_by_id(&mut self, group_id: &str) -> StoreResult<Option<GroupRecord>> {
        read!(opt self, cat::GROUPS, Key::GroupById(group_id.to_owned()), get_group_by_id(group_id))
    }
    async fn list_groups(&mut self, account_id: &str, page: &PageQuery<'_>) -> StoreResult<Vec<GroupRecord>> {
        read!(self, cat::GROUPS, Key::Groups(account_id.to_owned(), PageKey::of(page)), list_groups(account_id, page))
    }
    async fn update_group(&mut self, rec: &GroupRecord) -> StoreResult<()> {
        write!(self, cat::GROUPS, update_group(rec))
    }
    async fn delete_group(&mut self, group_id: &str) -> StoreResult<()> {
        write!(self, cat::ALL, delete_group(group_id))
    }
    async fn count_groups(&mut self, account_id: &str) -> StoreResult<i64> {
        read!(self, cat::GROUPS, Key::CountGroups(account_id.to_owned()), count_groups(account_id))
    }
    async fn add_group_member(&mut self, group_id: &str, user_id: &str, at: i64) -> StoreResult<bool> {
        write!(self, cat::GROUPS, add_group_member(group_id, user_id, at))
    }
    async fn remove_group_member(&mut self, group_id: &str, user_id: &str) -> StoreResult<bool> {
        write!(self, cat::GROUPS, remove_group_member(group_id, user_id))
    }
    async fn group_members(&mut self, group_id: &str, page: &PageQuery<'_>) -> StoreResult<Vec<UserRecord>> {
        read!(self, cat::GROUPS | cat::USERS, Key::Members(group_id.to_owned(), PageKey::of(page)), group_members(group_id, page))
    }
    async fn groups_for_user(&mut self, user_id: &str) -> StoreResult<Vec<GroupRecord>> {
        read!(self, cat::GROUPS, Key::GroupsForUser(user_id.to_owned()), groups_for_user(user_id))
    }

    async fn insert_role(&mut self, rec: &RoleRecord) -> StoreResult<()> {
        write!(self, cat::ROLES, insert_role(rec))
    }
    async fn get_role(&mut self, account_id: &str, name: &str) -> StoreResult<Option<RoleRecord>> {
        read!(opt self, cat::ROLES, Key::Role(account_id.to_owned(), name.to_lowercase()), get_role(account_id, name))
    }
    async fn get_role_by_id(&mut self, role_id: &str) -> StoreResult<Option<RoleRecord>> {
        read!(opt self, cat::ROLES, Key::RoleById(role_id.to_owned()), get_role_by_id(role_id))
    }
    async fn list_roles(&mut self, account_id: &str, page: &PageQuery<'_>) -> StoreResult<Vec<RoleRecord>> {
        read!(self, cat::ROLES, Key::Roles(account_id.to_owned(), PageKey::of(page)), list_roles(account_id, page))
    }
    async fn update_role(&mut self, rec: &RoleRecord) -> StoreResult<()> {
        write!(self, cat::ROLES, update_role(rec))
    }
    async fn delete_role(&mut self, role_id: &str) -> StoreResult<()> {
        write!(self, cat::ALL, delete_role(role_id))
    }
    async fn count_roles(&mut self, account_id: &str) -> StoreResult<i64> {
        read!(self, cat::ROLES, Key::CountRoles(account_id.to_owned()), count_roles(account_id))
    }

    async fn insert_policy(&mut self, rec: &PolicyRecord) -> StoreResult<()> {
        write!(self, cat::POLICIES, insert_policy(rec))
    }
    async fn get_policy(&mut self, arn: &str) -> StoreResult<Option<PolicyRecord>> {
        read!(opt self, cat::POLICIES, Key::Policy(arn.to_owned()), get_policy(arn))
    }
    async fn list_policies(&mut self, account_id: &str) -> StoreResult<Vec<PolicyRecord>> {
        read!(self, cat::POLICIES, Key::Policies(account_id.to_owned()), list_policies(account_id))
    }
    async fn count_policies(&mut self, account_id: &str) -> StoreResult<(i64, i64)> {
        read!(self, cat::POLICIES, Key::CountPolicies(account_id.to_owned()), count_policies(account_id))
    }
    async fn list_policies_page(&mut self, account_id: &str, page: &PageQuery<'_>) -> StoreResult<Vec<PolicyRecord>> {
        read!(self, cat::POLICIES, Key::PoliciesPage(account_id.to_owned(), PageKey::of(page)), list_policies_page(account_id, page))
    }
    async fn update_policy(&mut self, rec: &PolicyRecord) -> StoreResult<()> {
        write!(self, cat::POLICIES, update_policy(rec))
    }
    async fn delete_policy(&mut self, policy_id: &str) -> StoreResult<()> {
        write!(self, cat::ALL, delete_policy(policy_id))
    }
    async fn insert_policy_version(&mut self, rec: &PolicyVersionRecord) -> StoreResult<()> {
        write!(self, cat::POLICIES, insert_policy_version(rec))
    }
    async fn get_policy_version(&mut self, policy_id: &str, version_id: &str) -> StoreResult<Option<PolicyVersionRecord>> {
        read!(opt self, cat::POLICIES, Key::Version(policy_id.to_owned(), version_id.to_owned()), get_policy_version(policy_id, version_id))
    }
    async fn list_policy_versions(&mut self, policy_id: &str) -> StoreResult<Vec<PolicyVersionRecord>> {
        read!(self, cat::POLICIES, Key::Versions(policy_id.to_owned()), list_policy_versions(policy_id))
    }
    async fn delete_policy_version(&mut self, policy_id: &str, version_id: &str) -> StoreResult<()> {
        write!(self, cat::POLICIES, delete_policy_version(policy_id, version_id))
    }

    async fn attach_policy(&mut self, account_id: &str, kind: PrincipalKind, principal_id: &str, arn: &str, at: i64) -> StoreResult<bool> {
        write!(self, cat::ATTACHMENTS | cat::POLICIES, attach_policy(account_id, kind, principal_id, arn, at))
    }
    async fn detach_policy(&mut self, kind: PrincipalKind, principal_id: &str, arn: &str) -> StoreResult<bool> {
        write!(self, cat::ATTACHMENTS | cat::POLICIES, detach_policy(kind, principal_id, arn))
    }
    async fn attached_policies(&mut self, kind: PrincipalKind, principal_id: &str) -> StoreResult<Vec<String>> {
        read!(self, cat::ATTACHMENTS, Key::Attached(kind, principal_id.to_owned()), attached_policies(kind, principal_id))
    }
    async fn policy_attachments(&mut self, account_id: &str, arn: &str) -> StoreResult<Vec<(String, PrincipalKind, String)>> {
        read!(self, cat::ATTACHMENTS, Key::PolicyAttachments(account_id.to_owned(), arn.to_owned()), policy_attachments(account_id, arn))
    }
    async fn count_policy_attachments(&mut self, account_id: &str, arn: &str) -> StoreResult<i64> {
        read!(self, cat::ATTACHMENTS, Key::CountPolicyAttachments(account_id.to_owned(), arn.to_owned()), count_policy_attachments(account_id, arn))
    }
    async fn attachment_counts(&mut self, account_id: &str) -> StoreResult<Vec<(String, i64)>> {
        read!(self, cat::ATTACHMENTS, Key::AttachmentCounts(account_id.to_owned()), attachment_counts(account_id))
    }
    async fn count_boundary_uses(&mut self, account_id: &str, arn: &str) -> StoreResult<i64> {
        read!(self, cat::USERS | cat::ROLES, Key::CountBoundaryUses(account_id.to_owned(), arn.to_owned()), count_boundary_uses(account_id, arn))
    }
    async fn boundary_counts(&mut self, account_id: &str) -> StoreResult<Vec<(String, i64)>> {
        read!(self, cat::USERS | cat::ROLES, Key::BoundaryCounts(account_id.to_owned()), boundary_counts(account_id))
    }

    async fn put_inline_policy(&mut self, kind: PrincipalKind, principal_id: &str, name: &str, document: &str) -> StoreResult<()> {
        write!(self, cat::INLINE, put_inline_policy(kind, principal_id, name, document))
    }
    async fn get_inline_policy(&mut self, kind: PrincipalKind, principal_id: &str, name: &str) -> StoreResult<Option<String>> {
        read!(opt self, cat::INLINE, Key::Inline(kind, principal_id.to_owned(), name.to_owned()), get_inline_policy(kind, principal_id, name))
    }
    async fn inline_policy_names(&mut self, kind: PrincipalKind, principal_id: &str) -> StoreResult<Vec<String>> {
        read!(self, cat::INLINE, Key::InlineNames(kind, principal_id.to_owned()), inline_policy_names(kind, principal_id))
    }
    async fn delete_inline_policy(&mut self, kind: PrincipalKind, principal_id: &str, name: &str) -> StoreResult<bool> {
        write!(self, cat::INLINE, delete_inline_policy(kind, principal_id, name))
    }

    async fn tags(&mut self, kind: TagTarget, id: &str) -> StoreResult<Vec<Tag>> {
        read!(self, cat::TAGS, Key::Tags(tag_target(kind), id.to_owned()), tags(kind, id))
    }
    async fn set_tags(&mut self, kind: TagTarget, id: &str, tags: &[Tag]) -> StoreResult<()> {
        write!(self, cat::TAGS, set_tags(kind, id, tags))
    }

    async fn insert_access_key(&mut self, rec: &AccessKeyRecord) -> StoreResult<()> {
        write!(self, cat::KEYS, insert_access_key(rec))
    }
    async fn get_access_key(&mut self, access_key_id: &str) -> StoreResult<Option<AccessKeyRecord>> {
        read!(opt self, cat::KEYS, Key::AccessKeyId(access_key_id.to_owned()), get_access_key(access_key_id))
    }
    async fn access_keys_for(&mut self, account_id: &str, user_id: Option<&str>) -> StoreResult<Vec<AccessKeyRecord>> {
        read!(self, cat::KEYS, Key::AccessKeysFor(account_id.to_owned(), user_id.map(str::to_owned)), access_keys_for(account_id, user_id))
    }
    async fn set_access_key_status(&mut self, access_key_id: &str, status: KeyStatus) -> StoreResult<()> {
        write!(self, cat::KEYS, set_access_key_status(access_key_id, status))
    }
    async fn delete_access_key(&mut self, access_key_id: &str) -> StoreResult<()> {
        write!(self, cat::KEYS, delete_access_key(access_key_id))
    }
    async fn record_access_key_use(&mut self, access_key_id: &str, at: i64, service: &str, region: &str) -> StoreResult<()> {
        write!(self, cat::KEYS, record_access_key_use(access_key_id, at, service, region))
    }

    async fn insert_instance_profile(&mut self, rec: &InstanceProfileRecord) -> StoreResult<()> {
        write!(self, cat::INSTANCE_PROFILES, insert_instance_profile(rec))
    }
    async fn get_instance_profile(&mut self, account_id: &str, name: &str) -> StoreResult<Option<InstanceProfileRecord>> {
        uncached!(self, get_instance_profile(account_id, name))
    }
    async fn list_instance_profiles(&mut self, account_id: &str, page: &PageQuery<'_>) -> StoreResult<Vec<InstanceProfileRecord>> {
        uncached!(self, list_instance_profiles(account_id, page))
    }
    async fn delete_instance_profile(&mut self, instance_profile_id: &str) -> StoreResult<()> {
        write!(self, cat::INSTANCE_PROFILES | cat::TAGS, delete_instance_profile(instance_profile_id))
    }
    async fn count_instance_profiles(&mut self, account_id: &str) -> StoreResult<i64> {
        uncached!(self, count_instance_profiles(account_id))
    }
    async fn add_instance_profile_role(&mut self, instance_profile_id: &str, role_id: &str, at: i64) -> StoreResult<bool> {
        write!(self, cat::INSTANCE_PROFILES, add_instance_profile_role(instance_profile_id, role_id, at))
    }
    async fn remove_instance_profile_role(&mut self, instance_profile_id: &str, role_id: &str) -> StoreResult<bool> {
        write!(self, cat::INSTANCE_PROFILES, remove_instance_profile_role(instance_profile_id, role_id))
    }
    async fn instance_profile_roles(&mut self, instance_profile_id: &str) -> StoreResult<Vec<RoleRecord>> {
        uncached!(self, instance_profile_roles(instance_profile_id))
    }
    async fn instance_profiles_for_role(&mut self, role_id: &str) -> StoreResult<Vec<InstanceProfileRecord>> {
        uncached!(self, instance_profiles_for_role(role_id))
    }

    async fn insert_server_certificate(&mut self, rec: &ServerCertificateRecord) -> StoreResult<()> {
        write!(self, cat::KEYS, insert_server_certificate(rec))
    }
    async fn get_server_certificate(&mut self, account_id: &str, name: &str) -> StoreResult<Option<ServerCertificateRecord>> {
        uncached!(self, get_server_certificate(account_id, name))
    }
    async fn list_server_certificates(&mut self, account_id: &str, page: &PageQuery<'_>) -> StoreResult<Vec<ServerCertificateRecord>> {
        uncached!(self, list_server_certificates(account_id, page))
    }
    async fn update_server_certificate(&mut self, rec: &ServerCertificateRecord) -> StoreResult<()> {
        write!(self, cat::KEYS, update_server_certificate(rec))
    }
    async fn delete_server_certificate(&mut self, server_certificate_id: &str) -> StoreResult<()> {
        write!(self, cat::KEYS | cat::TAGS, delete_server_certificate(server_certificate_id))
    }
    async fn count_server_certificates(&mut self, account_id: &str) -> StoreResult<i64> {
        uncached!(self, count_server_certificates(account_id))
    }
    async fn account_with_setting(&mut self, key: &str, value: &str) -> StoreResult<Option<String>> {
        uncached!(self, account_with_setting(key, value))
    }
    async fn get_account_setting(&mut self, account_id: &str, key: &str) -> StoreResult<Option<String>> {
        uncached!(self, get_account_setting(account_id, key))
    }
    async fn put_account_setting(&mut self, account_id: &str, key: &str, value: &str) -> StoreResult<()> {
        write!(self, cat::ACCOUNT, put_account_setting(account_id, key, value))
    }

    async fn insert_user_credential(&mut self, rec: &UserCredentialRecord) -> StoreResult<()> {
        write!(self, cat::KEYS, insert_user_credential(rec))
    }
    async fn get_user_credential(&mut self, credential_id: &str) -> StoreResult<Option<UserCredentialRecord>> {
        uncached!(self, get_user_credential(credential_id))
    }
    async fn user_credentials(&mut self, user_id: &str, kind: CredentialKind) -> StoreResult<Vec<UserCredentialRecord>> {
        uncached!(self, user_credentials(user_id, kind))
    }
    async fn update_user_credential(&mut self, rec: &UserCredentialRecord) -> StoreResult<()> {
        write!(self, cat::KEYS, update_user_credential(rec))
    }
    async fn delete_user_credential(&mut self, credential_id: &str) -> StoreResult<()> {
        write!(self, cat::KEYS, delete_user_credential(credential_id))
    }

    async fn insert_saml_provider(&mut self, rec: &SamlProviderRecord) -> StoreResult<()> {
        write!(self, cat::PROVIDERS, insert_saml_provider(rec))
    }
    async fn get_saml_provider(&mut self, arn: &str) -> StoreResult<Option<SamlProviderRecord>> {
        uncached!(self, get_saml_provider(arn))
    }
    async fn list_saml_providers(&mut self, account_id: &str) -> StoreResult<Vec<SamlProviderRecord>> {
        uncached!(self, list_saml_providers(account_id))
    }
    async fn update_saml_provider(&mut self, rec: &SamlProviderRecord) -> StoreResult<()> {
        write!(self, cat::PROVIDERS, update_saml_provider(rec))
    }
    async fn delete_saml_provider(&mut self, arn: &str) -> StoreResult<()> {
        write!(self, cat::PROVIDERS | cat::TAGS, delete_saml_provider(arn))
    }

    async fn insert_oidc_provider(&mut self, rec: &OidcProviderRecord) -> StoreResult<()> {
        write!(self, cat::PROVIDERS, insert_oidc_provider(rec))
    }
    async fn get_oidc_provider(&mut self, arn: &str) -> StoreResult<Option<OidcProviderRecord>> {
        uncached!(self, get_oidc_provider(arn))
    }
    async fn list_oidc_providers(&mut self, account_id: &str) -> StoreResult<Vec<OidcProviderRecord>> {
        uncached!(self, list_oidc_providers(account_id))
    }
    async fn update_oidc_provider(&mut self, rec: &OidcProviderRecord) -> StoreResult<()> {
        write!(self, cat::PROVIDERS, update_oidc_provider(rec))
    }
    async fn delete_oidc_provider(&mut self, arn: &str) -> StoreResult<()> {
        write!(self, cat::PROVIDERS | cat::TAGS, delete_oidc_provider(arn))
    }

    async fn insert_mfa_device(&mut self, rec: &MfaDeviceRecord) -> StoreResult<()> {
        write!(self, cat::MFA, insert_mfa_device(rec))
    }
    async fn get_mfa_device(&mut self, serial_number: &str) -> StoreResult<Option<MfaDeviceRecord>> {
        read!(opt self, cat::MFA, Key::Mfa(serial_number.to_owned()), get_mfa_device(serial_number))
    }
    async fn mfa_devices(&mut self, account_id: &str) -> StoreResult<Vec<MfaDeviceRecord>> {
        read!(self, cat::MFA, Key::Mfas(account_id.to_owned()), mfa_devices(account_id))
    }
    async fn update_mfa_device(&mut self, rec: &MfaDeviceRecord) -> StoreResult<()> {
        write!(self, cat::MFA, update_mfa_device(rec))
    }
    async fn delete_mfa_device(&mut self, serial_number: &str) -> StoreResult<()> {
        // The device's tags go with it.
        write!(self, cat::MFA | cat::TAGS, delete_mfa_device(serial_number))
    }

    async fn replace_recovery_codes(&mut self, account_id: &str, owner: &str, hashes: &[String], at: i64) -> StoreResult<()> {
        write!(self, 0, replace_recovery_codes(account_id, owner, hashes, at))
    }
    async fn recovery_codes(&mut self, owner: &str) -> StoreResult<Vec<RecoveryCodeRecord>> {
        uncached!(self, recovery_codes(owner))
    }
    async fn use_recovery_code(&mut self, owner: &str, hash: &str, at: i64) -> StoreResult<bool> {
        write!(self, 0, use_recovery_code(owner, hash, at))
    }
    async fn redeem_once(&mut self, account_id: &str, key: &str, expires_at: i64, now: i64) -> StoreResult<bool> {
        write!(self, 0, redeem_once(account_id, key, expires_at, now))
    }
    async fn insert_delegation_request(&mut self, rec: &DelegationRequestRecord) -> StoreResult<bool> {
        write!(self, 0, insert_delegation_request(rec))
    }
    async fn get_delegation_request(&mut self, request_id: &str) -> StoreResult<Option<DelegationRequestRecord>> {
        uncached!(self, get_delegation_request(request_id))
    }
    async fn get_delegation_request_by_token(&mut self, token_hash: &str) -> StoreResult<Option<DelegationRequestRecord>> {
        uncached!(self, get_delegation_request_by_token(token_hash))
    }
    async fn update_delegation_request(&mut self, rec: &DelegationRequestRecord) -> StoreResult<()> {
        write!(self, 0, update_delegation_request(rec))
    }
    async fn list_delegation_requests(&mut self, owner_account_id: &str, owner_id: Option<&str>) -> StoreResult<Vec<DelegationRequestRecord>> {
        uncached!(self, list_delegation_requests(owner_account_id, owner_id))
    }
    async fn insert_org_object(&mut self, rec: &OrgObjectRecord) -> StoreResult<()> {
        write!(self, 0, insert_org_object(rec))
    }
    async fn get_org_object(&mut self, object_id: &str) -> StoreResult<Option<OrgObjectRecord>> {
        uncached!(self, get_org_object(object_id))
    }
    async fn org_objects(&mut self, org_id: &str, kind: OrgObjectKind, parent_id: Option<&str>) -> StoreResult<Vec<OrgObjectRecord>> {
        uncached!(self, org_objects(org_id, kind, parent_id))
    }
    async fn org_object_by_key(&mut self, org_id: &str, kind: OrgObjectKind, unique_key: &str) -> StoreResult<Option<OrgObjectRecord>> {
        uncached!(self, org_object_by_key(org_id, kind, unique_key))
    }
    async fn count_org_objects(&mut self, org_id: &str, kind: OrgObjectKind) -> StoreResult<i64> {
        uncached!(self, count_org_objects(org_id, kind))
    }
    async fn org_objects_with_parent(&mut self, kind: OrgObjectKind, parent_id: &str) -> StoreResult<Vec<OrgObjectRecord>> {
        uncached!(self, org_objects_with_parent(kind, parent_id))
    }
    async fn update_org_object(&mut self, rec: &OrgObjectRecord) -> StoreResult<()> {
        write!(self, 0, update_org_object(rec))
    }
    async fn delete_org_object(&mut self, object_id: &str) -> StoreResult<()> {
        write!(self, 0, delete_org_object(object_id))
    }
    async fn insert_org_link(&mut self, org_id: &str, kind: OrgLinkKind, link: &OrgLinkRecord) -> StoreResult<bool> {
        write!(self, 0, insert_org_link(org_id, kind, link))
    }
    async fn delete_org_link(&mut self, kind: OrgLinkKind, from_id: &str, to_id: &str) -> StoreResult<bool> {
        write!(self, 0, delete_org_link(kind, from_id, to_id))
    }
    async fn org_links(&mut self, org_id: &str, kind: OrgLinkKind, from_id: Option<&str>, to_id: Option<&str>) -> StoreResult<Vec<OrgLinkRecord>> {
        uncached!(self, org_links(org_id, kind, from_id, to_id))
    }
    async fn delete_organization(&mut self, org_id: &str) -> StoreResult<()> {
        write!(self, 0, delete_organization(org_id))
    }
    async fn record_action_access(&mut self, account_id: &str, rec: &ActionAccessRecord) -> StoreResult<()> {
        write!(self, 0, record_action_access(account_id, rec))
    }
    async fn action_accesses(&mut self, account_id: &str, entity_arns: &[String], until: i64) -> StoreResult<Vec<ActionAccessRecord>> {
        uncached!(self, action_accesses(account_id, entity_arns, until))
    }
    async fn insert_access_report(&mut self, rec: &AccessReportRecord) -> StoreResult<()> {
        write!(self, 0, insert_access_report(rec))
    }
    async fn get_access_report(&mut self, job_id: &str) -> StoreResult<Option<AccessReportRecord>> {
        uncached!(self, get_access_report(job_id))
    }

    async fn get_password_policy(&mut self, account_id: &str) -> StoreResult<Option<PasswordPolicyRecord>> {
        read!(opt self, cat::PASSWORD_POLICY, Key::PasswordPolicy(account_id.to_owned()), get_password_policy(account_id))
    }
    async fn put_password_policy(&mut self, rec: &PasswordPolicyRecord) -> StoreResult<()> {
        write!(self, cat::PASSWORD_POLICY, put_password_policy(rec))
    }
    async fn delete_password_policy(&mut self, account_id: &str) -> StoreResult<bool> {
        write!(self, cat::PASSWORD_POLICY, delete_password_policy(account_id))
    }
    async fn password_history(&mut self, user_id: &str) -> StoreResult<Vec<String>> {
        uncached!(self, password_history(user_id))
    }
    async fn push_password_history(&mut self, user_id: &str, hash: &str, at: i64, keep: i64) -> StoreResult<()> {
        write!(self, cat::LOGIN, push_password_history(user_id, hash, at, keep))
    }
    async fn get_credential_report(&mut self, account_id: &str) -> StoreResult<Option<(i64, String)>> {
        uncached!(self, get_credential_report(account_id))
    }
    async fn put_credential_report(&mut self, account_id: &str, at: i64, content: &str) -> StoreResult<()> {
        write!(self, 0, put_credential_report(account_id, at, content))
    }

    async fn upsert_login_profile(&mut self, rec: &LoginProfileRecord) -> StoreResult<()> {
        write!(self, cat::LOGIN, upsert_login_profile(rec))
    }
    async fn get_login_profile(&mut self, user_id: &str) -> StoreResult<Option<LoginProfileRecord>> {
        read!(opt self, cat::LOGIN, Key::Login(user_id.to_owned()), get_login_profile(user_id))
    }
    async fn delete_login_profile(&mut self, user_id: &str) -> StoreResult<bool> {
        write!(self, cat::LOGIN, delete_login_profile(user_id))
    }
}
