use async_trait::async_trait;
use portcullis_store::*;
use sqlx::{Any, Transaction};

use crate::{backend, rows, Dialect};

/// A list as the JSON array the store keeps (string lists, a SAML provider's keys).
fn json_list<T: serde::Serialize>(items: &[T]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_owned())
}

/// A row's columns qualified by a table alias (`u.user_id, u.name, …`), for joins.
fn qualified(cols: &str, alias: &str) -> String {
    cols.split(", ").map(|c| format!("{alias}.{c}")).collect::<Vec<_>>().join(", ")
}

pub struct SqlTx {
    tx: Transaction<'static, Any>,
    dialect: Dialect,
}

impl SqlTx {
    pub(crate) fn new(tx: Transaction<'static, Any>, dialect: Dialect) -> Self {
        Self { tx, dialect }
    }

    async fn exec<'q>(&mut self, q: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>) -> StoreResult<u64> {
        q.execute(&mut *self.tx).await.map(|r| r.rows_affected()).map_err(backend)
    }

    /// Deletes a resource's tags (with the resource).
    async fn delete_tags_of(&mut self, kind: TagTarget, id: &str) -> StoreResult<u64> {
        self.exec(sqlx::query("DELETE FROM tags WHERE target_kind = $1 AND target_id = $2").bind(kind.as_str()).bind(id)).await
    }

    async fn count(&mut self, sql: &str, id: &str) -> StoreResult<i64> {
        let row: (i64,) = sqlx::query_as(sql).bind(id).fetch_one(&mut *self.tx).await.map_err(backend)?;
        Ok(row.0)
    }

    /// A count over an account's rows that name one policy ARN.
    async fn count_for_policy(&mut self, sql: &str, account_id: &str, arn: &str) -> StoreResult<i64> {
        let row: (i64,) = sqlx::query_as(sql).bind(account_id).bind(arn).fetch_one(&mut *self.tx).await.map_err(backend)?;
        Ok(row.0)
    }
}

/// `rows` groups of `width` placeholders: `($1, $2), ($3, $4)`, or a plain list (`$1, $2, $3`)
/// when `width` is 1. SQLite gets anonymous `?` instead: sqlx binds each numbered parameter
/// by asking SQLite its name, a linear search, so a statement of n numbered parameters costs
/// O(n²) to bind (most of the audit writer's time with batches of hundreds of events).
fn placeholders(dialect: Dialect, rows: usize, width: usize) -> String {
    let mut out = String::with_capacity(rows * width * 5);
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        if width > 1 {
            out.push('(');
        }
        for c in 0..width {
            if c > 0 {
                out.push_str(", ");
            }
            match dialect {
                Dialect::Sqlite => out.push('?'),
                Dialect::Postgres => {
                    out.push('$');
                    out.push_str(&(1 + r * width + c).to_string());
                }
            }
        }
        if width > 1 {
            out.push(')');
        }
    }
    out
}

const EVENT_COLUMNS: &str = "event_id, account_id, event_time, event_name, event_source, read_only, username, access_key_id, body";
/// A console state's columns, in `ConsoleStateRow`'s order.
const CONSOLE_STATE_COLUMNS: &str = "state_id, kind, owner, body, created_at, last_seen, expires_at";

macro_rules! fetch_opt {
    ($self:ident, $sql:expr, $map:path, $($arg:expr),*) => {{
        let sql = $sql;
        let row = sqlx::query(&sql)$(.bind($arg))*.fetch_optional(&mut *$self.tx).await.map_err(backend)?;
        row.as_ref().map($map).transpose().map_err(backend)
    }};
}

macro_rules! fetch_all {
    ($self:ident, $sql:expr, $map:path, $($arg:expr),*) => {{
        let sql = $sql;
        let rows = sqlx::query(&sql)$(.bind($arg))*.fetch_all(&mut *$self.tx).await.map_err(backend)?;
        rows.iter().map($map).collect::<Result<Vec<_>, _>>().map_err(backend)
    }};
}

impl SqlTx {
    /// Reads the resources of each event.
    async fn fill_event_resources(&mut self, events: &mut [EventRecord]) -> StoreResult<()> {
        for e in events.iter_mut() {
            let rows: Vec<(String, String)> = sqlx::query_as("SELECT resource_type, resource_name FROM event_resources WHERE event_id = $1 ORDER BY resource_type, resource_name")
                .bind(&e.event_id)
                .fetch_all(&mut *self.tx)
                .await
                .map_err(backend)?;
            e.resources = rows;
        }
        Ok(())
    }

    /// A keyset page over a table with `account_id`, `path` and `name_lower` columns. The
    /// conditions are written only when given, so the (account_id, name_lower) index seeks
    /// straight to the marker instead of scanning from the first name.
    async fn page<T>(
        &mut self,
        cols: &str,
        table: &str,
        account_id: &str,
        page: &PageQuery<'_>,
        map: fn(&sqlx::any::AnyRow) -> Result<T, sqlx::Error>,
    ) -> StoreResult<Vec<T>> {
        let mut sql = format!("SELECT {cols} FROM {table} WHERE account_id = $1");
        let mut n = 1;
        if page.path_prefix.is_some() {
            n += 1;
            sql.push_str(&format!(" AND substr(path, 1, length(${n})) = ${n}"));
        }
        if page.after.is_some() {
            n += 1;
            sql.push_str(&format!(" AND name_lower > ${n}"));
        }
        sql.push_str(&format!(" ORDER BY name_lower LIMIT ${}", n + 1));
        let mut q = sqlx::query(&sql).bind(account_id);
        if let Some(p) = page.path_prefix {
            q = q.bind(p);
        }
        if let Some(a) = page.after {
            q = q.bind(a);
        }
        let rows = q.bind(page.limit).fetch_all(&mut *self.tx).await.map_err(backend)?;
        rows.iter().map(map).collect::<Result<Vec<_>, _>>().map_err(backend)
    }

    /// Delegation requests matching one condition on one bound value, oldest first.
    async fn delegation_requests_where(&mut self, condition: &str, value: &str) -> StoreResult<Vec<DelegationRequestRecord>> {
        type Row = (String, String, String, Option<String>, Option<String>, String, Option<String>, i64, String);
        let sql = format!(
            "SELECT request_id, requestor_account_id, workflow_id, owner_account_id, owner_id, state, token_hash, created_at, body \
             FROM delegation_requests WHERE {condition} ORDER BY created_at, request_id"
        );
        let rows: Vec<Row> = sqlx::query_as(&sql).bind(value).fetch_all(&mut *self.tx).await.map_err(backend)?;
        Ok(rows
            .into_iter()
            .map(|r| DelegationRequestRecord {
                request_id: r.0,
                requestor_account_id: r.1,
                workflow_id: r.2,
                owner_account_id: r.3,
                owner_id: r.4,
                state: r.5,
                token_hash: r.6,
                created_at: r.7,
                body: r.8,
            })
            .collect())
    }
}

#[async_trait]
impl Tx for SqlTx {
    async fn commit(mut self: Box<Self>) -> StoreResult<()> {
        // The request's event goes with the first change it commits.
        if let Some(event) = portcullis_store::audit::event_for_commit() {
            self.put_events(std::slice::from_ref(&event)).await?;
        }
        self.tx.commit().await.map_err(backend)
    }

    async fn put_events(&mut self, events: &[EventRecord]) -> StoreResult<()> {
        // The last version of each event (one statement may not update a row twice).
        let mut seen = std::collections::HashSet::with_capacity(events.len());
        let mut latest: Vec<&EventRecord> = events.iter().rev().filter(|e| seen.insert(e.event_id.as_str())).collect();
        latest.reverse();
        // Multi-row statements: a batch of events costs a few statements, not several each.
        for chunk in latest.chunks(100) {
            let marks = placeholders(self.dialect, chunk.len(), 1);
            let sql = format!("DELETE FROM event_resources WHERE event_id IN ({marks})");
            let mut delete = sqlx::query(&sql);
            for e in chunk {
                delete = delete.bind(&e.event_id);
            }
            self.exec(delete).await?;
            let sql = format!(
                "INSERT INTO events (event_id, account_id, event_time, event_name, event_source, read_only, username, access_key_id, body) VALUES {} \
                 ON CONFLICT (event_id) DO UPDATE SET body = excluded.body, username = excluded.username, access_key_id = excluded.access_key_id",
                placeholders(self.dialect, chunk.len(), 9)
            );
            let mut insert = sqlx::query(&sql);
            for e in chunk {
                insert = insert
                    .bind(&e.event_id)
                    .bind(&e.account_id)
                    .bind(e.event_time)
                    .bind(&e.event_name)
                    .bind(&e.event_source)
                    .bind(i64::from(e.read_only))
                    .bind(&e.username)
                    .bind(&e.access_key_id)
                    .bind(&e.body);
            }
            self.exec(insert).await?;
            let resources: Vec<(&str, &str, &str)> = chunk.iter().flat_map(|e| e.resources.iter().map(|(k, n)| (e.event_id.as_str(), k.as_str(), n.as_str()))).collect();
            for rows in resources.chunks(300) {
                let sql = format!("INSERT INTO event_resources (event_id, resource_type, resource_name) VALUES {} ON CONFLICT DO NOTHING", placeholders(self.dialect, rows.len(), 3));
                let mut insert = sqlx::query(&sql);
                for (id, kind, name) in rows {
                    insert = insert.bind(*id).bind(*kind).bind(*name);
                }
                self.exec(insert).await?;
            }
        }
        Ok(())
    }

    async fn lookup_events(&mut self, query: &EventQuery<'_>) -> StoreResult<Vec<EventRecord>> {
        let mut sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE account_id = $1 AND event_time >= $2 AND event_time <= $3");
        let mut n = 3;
        let mut text_arg: Option<String> = None;
        let mut flag_arg: Option<i64> = None;
        if let Some((attribute, value)) = query.attribute {
            n += 1;
            let condition = match attribute {
                EventAttribute::EventId => format!(" AND event_id = ${n}"),
                EventAttribute::EventName => format!(" AND event_name = ${n}"),
                EventAttribute::Username => format!(" AND username = ${n}"),
                EventAttribute::EventSource => format!(" AND event_source = ${n}"),
                EventAttribute::AccessKeyId => format!(" AND access_key_id = ${n}"),
                EventAttribute::ResourceType => format!(" AND event_id IN (SELECT event_id FROM event_resources WHERE resource_type = ${n})"),
                EventAttribute::ResourceName => format!(" AND event_id IN (SELECT event_id FROM event_resources WHERE resource_name = ${n})"),
                EventAttribute::ReadOnly => format!(" AND read_only = ${n}"),
            };
            sql.push_str(&condition);
            if attribute == EventAttribute::ReadOnly {
                flag_arg = Some(i64::from(value == "true"));
            } else {
                text_arg = Some(value.to_owned());
            }
        }
        if query.before.is_some() {
            sql.push_str(&format!(" AND (event_time < ${} OR (event_time = ${} AND event_id < ${}))", n + 1, n + 1, n + 2));
            n += 2;
        }
        sql.push_str(&format!(" ORDER BY event_time DESC, event_id DESC LIMIT ${}", n + 1));
        let mut q = sqlx::query(&sql).bind(query.account_id).bind(query.start).bind(query.end);
        if let Some(t) = text_arg {
            q = q.bind(t);
        }
        if let Some(f) = flag_arg {
            q = q.bind(f);
        }
        if let Some((time, id)) = query.before {
            q = q.bind(time).bind(id.to_owned());
        }
        let rows = q.bind(query.limit).fetch_all(&mut *self.tx).await.map_err(backend)?;
        let mut events = rows.iter().map(rows::event).collect::<Result<Vec<_>, _>>().map_err(backend)?;
        self.fill_event_resources(&mut events).await?;
        Ok(events)
    }

    async fn events_after(&mut self, after: (i64, &str), limit: i64) -> StoreResult<Vec<EventRecord>> {
        let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE event_time > $1 OR (event_time = $1 AND event_id > $2) ORDER BY event_time, event_id LIMIT $3");
        let rows = sqlx::query(&sql).bind(after.0).bind(after.1).bind(limit).fetch_all(&mut *self.tx).await.map_err(backend)?;
        let mut events = rows.iter().map(rows::event).collect::<Result<Vec<_>, _>>().map_err(backend)?;
        self.fill_event_resources(&mut events).await?;
        Ok(events)
    }

    async fn purge_events(&mut self, before: i64) -> StoreResult<u64> {
        self.exec(sqlx::query("DELETE FROM event_resources WHERE event_id IN (SELECT event_id FROM events WHERE event_time < $1)").bind(before)).await?;
        self.exec(sqlx::query("DELETE FROM events WHERE event_time < $1").bind(before)).await
    }

    async fn put_console_state(&mut self, rec: &ConsoleStateRecord, now: i64) -> StoreResult<()> {
        self.exec(sqlx::query("DELETE FROM console_states WHERE expires_at <= $1").bind(now)).await?;
        let sql = format!("INSERT INTO console_states ({CONSOLE_STATE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)");
        let q = sqlx::query(&sql)
            .bind(&rec.state_id)
            .bind(&rec.kind)
            .bind(&rec.owner)
            .bind(&rec.body)
            .bind(rec.created_at)
            .bind(rec.last_seen)
            .bind(rec.expires_at);
        self.exec(q).await.map(|_| ())
    }

    async fn get_console_state(&mut self, state_id: &str) -> StoreResult<Option<ConsoleStateRecord>> {
        let row: Option<ConsoleStateRow> =
            sqlx::query_as(&format!("SELECT {CONSOLE_STATE_COLUMNS} FROM console_states WHERE state_id = $1"))
                .bind(state_id)
                .fetch_optional(&mut *self.tx)
                .await
                .map_err(backend)?;
        Ok(row.map(console_state))
    }

    async fn take_console_state(&mut self, state_id: &str, kind: &str) -> StoreResult<Option<ConsoleStateRecord>> {
        // One statement: only the transaction whose DELETE removed the row gets it back.
        let row: Option<ConsoleStateRow> = sqlx::query_as(&format!("DELETE FROM console_states WHERE state_id = $1 AND kind = $2 RETURNING {CONSOLE_STATE_COLUMNS}"))
        .bind(state_id)
        .bind(kind)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(backend)?;
        Ok(row.map(console_state))
    }

    async fn update_console_state(&mut self, state_id: &str, body: Option<&str>, last_seen: i64, expires_at: i64) -> StoreResult<bool> {
        let q = sqlx::query("UPDATE console_states SET body = COALESCE($1, body), last_seen = $2, expires_at = $3 WHERE state_id = $4")
            .bind(body)
            .bind(last_seen)
            .bind(expires_at)
            .bind(state_id);
        Ok(self.exec(q).await? == 1)
    }

    async fn delete_console_state(&mut self, state_id: &str) -> StoreResult<()> {
        self.exec(sqlx::query("DELETE FROM console_states WHERE state_id = $1").bind(state_id)).await.map(|_| ())
    }

    async fn trim_console_states(&mut self, kind: &str, owner: Option<&str>, keep: i64) -> StoreResult<u64> {
        // LIMIT before OFFSET: SQLite accepts OFFSET only after a LIMIT.
        let q = match owner {
            Some(owner) => sqlx::query(
                "DELETE FROM console_states WHERE state_id IN (SELECT state_id FROM console_states WHERE kind = $1 AND owner = $2 \
                 ORDER BY last_seen DESC, state_id LIMIT 1000000000 OFFSET $3)",
            )
            .bind(kind)
            .bind(owner)
            .bind(keep.max(0)),
            None => sqlx::query(
                "DELETE FROM console_states WHERE state_id IN (SELECT state_id FROM console_states WHERE kind = $1 \
                 ORDER BY last_seen DESC, state_id LIMIT 1000000000 OFFSET $2)",
            )
            .bind(kind)
            .bind(keep.max(0)),
        };
        self.exec(q).await
    }

    async fn attempt_failures(&mut self, key: &str) -> StoreResult<Option<(i64, i64)>> {
        let row: Option<(i64, i64)> = sqlx::query_as("SELECT failures, since FROM attempt_failures WHERE throttle_key = $1").bind(key).fetch_optional(&mut *self.tx).await.map_err(backend)?;
        Ok(row)
    }

    async fn record_attempt_failure(&mut self, key: &str, now: i64, window: i64) -> StoreResult<()> {
        let stale = now - window;
        self.exec(sqlx::query("DELETE FROM attempt_failures WHERE since <= $1").bind(stale)).await?;
        // One statement, so that two nodes counting at once both count.
        let q = sqlx::query(
            "INSERT INTO attempt_failures (throttle_key, failures, since) VALUES ($1, 1, $2) \
             ON CONFLICT (throttle_key) DO UPDATE SET failures = attempt_failures.failures + 1",
        )
        .bind(key)
        .bind(now);
        self.exec(q).await.map(|_| ())
    }

    async fn clear_attempt_failures(&mut self, key: &str) -> StoreResult<()> {
        self.exec(sqlx::query("DELETE FROM attempt_failures WHERE throttle_key = $1").bind(key)).await.map(|_| ())
    }

    async fn announce_change(&mut self, categories: u32) -> StoreResult<()> {
        match self.dialect {
            Dialect::Sqlite => Ok(()),
            // Delivered to every listener when (and only if) the transaction commits.
            Dialect::Postgres => {
                let q = sqlx::query("SELECT pg_notify($1, $2)::text").bind(crate::CHANGES_CHANNEL).bind(categories.to_string());
                q.fetch_one(&mut *self.tx).await.map(|_| ()).map_err(backend)
            }
        }
    }

    async fn lock(&mut self, key: &str) -> StoreResult<()> {
        match self.dialect {
            // The SQLite pool has one connection, so transactions never overlap.
            Dialect::Sqlite => Ok(()),
            Dialect::Postgres => {
                let q = sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))::text").bind(key);
                q.fetch_one(&mut *self.tx).await.map(|_| ()).map_err(backend)
            }
        }
    }

    async fn reset_all(&mut self) -> StoreResult<()> {
        // Children before parents, for the foreign keys.
        for table in [
            "event_resources",
            "events",
            "org_links",
            "org_objects",
            "tags",
            "recovery_codes",
            "redeemed_tokens",
            "attempt_failures",
            "action_last_accessed",
            "delegation_requests",
            "access_reports",
            "oidc_providers",
            "saml_providers",
            "server_certificates",
            "account_settings",
            "user_credentials",
            "instance_profile_roles",
            "instance_profiles",
            "password_history",
            "credential_reports",
            "password_policies",
            "mfa_devices",
            "login_profiles",
            "access_keys",
            "inline_policies",
            "policy_attachments",
            "policy_versions",
            "policies",
            "group_members",
            "iam_groups",
            "roles",
            "users",
            "accounts",
        ] {
            self.exec(sqlx::query(&format!("DELETE FROM {table}"))).await?;
        }
        Ok(())
    }

    async fn first_account(&mut self) -> StoreResult<Option<AccountRecord>> {
        fetch_opt!(self, format!("SELECT {} FROM accounts ORDER BY created_at LIMIT 1", rows::ACCOUNT_COLS), rows::account,)
    }

    async fn get_account(&mut self, account_id: &str) -> StoreResult<Option<AccountRecord>> {
        fetch_opt!(self, format!("SELECT {} FROM accounts WHERE account_id = $1", rows::ACCOUNT_COLS), rows::account, account_id)
    }

    async fn find_account(&mut self, id_or_alias: &str) -> StoreResult<Option<AccountRecord>> {
        // An account's own id wins over an alias (aliases cannot look like ids, but older
        // databases may hold one).
        fetch_opt!(
            self,
            format!("SELECT {} FROM accounts WHERE account_id = $1 OR alias = $1 ORDER BY CASE WHEN account_id = $1 THEN 0 ELSE 1 END, created_at LIMIT 1", rows::ACCOUNT_COLS),
            rows::account,
            id_or_alias
        )
    }

    async fn account_by_root_email(&mut self, email: &str) -> StoreResult<Option<AccountRecord>> {
        fetch_opt!(self, format!("SELECT {} FROM accounts WHERE LOWER(root_email) = LOWER($1) ORDER BY created_at LIMIT 1", rows::ACCOUNT_COLS), rows::account, email)
    }

    async fn insert_account(&mut self, rec: &AccountRecord) -> StoreResult<()> {
        let q = sqlx::query("INSERT INTO accounts (account_id, created_at, root_email, root_password_hash, alias) VALUES ($1, $2, $3, $4, $5)")
            .bind(&rec.account_id)
            .bind(rec.created_at)
            .bind(&rec.root_email)
            .bind(&rec.root_password_hash)
            .bind(&rec.alias);
        self.exec(q).await.map(|_| ())
    }

    async fn set_account_alias(&mut self, account_id: &str, alias: Option<&str>) -> StoreResult<()> {
        let q = sqlx::query("UPDATE accounts SET alias = $1 WHERE account_id = $2").bind(alias).bind(account_id);
        self.exec(q).await.map(|_| ())
    }

    async fn insert_user(&mut self, rec: &UserRecord) -> StoreResult<()> {
        let q = sqlx::query("INSERT INTO users (user_id, account_id, name, name_lower, path, created_at, permissions_boundary, password_last_used) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(&rec.user_id)
            .bind(&rec.account_id)
            .bind(&rec.name)
            .bind(rec.name.to_lowercase())
            .bind(&rec.path)
            .bind(rec.created_at)
            .bind(&rec.permissions_boundary)
            .bind(rec.password_last_used);
        self.exec(q).await.map(|_| ())
    }

    async fn get_user(&mut self, account_id: &str, name: &str) -> StoreResult<Option<UserRecord>> {
        fetch_opt!(self, format!("SELECT {} FROM users WHERE account_id = $1 AND name_lower = $2", rows::USER_COLS), rows::user, account_id, name.to_lowercase())
    }

    async fn get_user_by_id(&mut self, user_id: &str) -> StoreResult<Option<UserRecord>> {
        fetch_opt!(self, format!("SELECT {} FROM users WHERE user_id = $1", rows::USER_COLS), rows::user, user_id)
    }

    async fn list_users(&mut self, account_id: &str, page: &PageQuery<'_>) -> StoreResult<Vec<UserRecord>> {
        self.page(rows::USER_COLS, "users", account_id, page, rows::user).await
    }

    async fn set_password_last_used(&mut self, user_id: &str, at: i64) -> StoreResult<()> {
        let q = sqlx::query("UPDATE users SET password_last_used = $1 WHERE user_id = $2").bind(at).bind(user_id);
        self.exec(q).await.map(|_| ())
    }

    async fn update_user(&mut self, rec: &UserRecord) -> StoreResult<()> {
        let q = sqlx::query("UPDATE users SET name = $1, name_lower = $2, path = $3, permissions_boundary = $4, password_last_used = $5 WHERE user_id = $6")
            .bind(&rec.name)
            .bind(rec.name.to_lowercase())
            .bind(&rec.path)
            .bind(&rec.permissions_boundary)
            .bind(rec.password_last_used)
            .bind(&rec.user_id);
        self.exec(q).await.map(|_| ())
    }

    async fn delete_user(&mut self, user_id: &str) -> StoreResult<()> {
        self.exec(sqlx::query("DELETE FROM password_history WHERE user_id = $1").bind(user_id)).await?;
        self.delete_tags_of(TagTarget::User, user_id).await?;
        self.exec(sqlx::query("DELETE FROM users WHERE user_id = $1").bind(user_id)).await.map(|_| ())
    }

    async fn count_users(&mut self, account_id: &str) -> StoreResult<i64> {
        self.count("SELECT COUNT(*) FROM users WHERE account_id = $1", account_id).await
    }

    async fn insert_group(&mut self, rec: &GroupRecord) -> StoreResult<()> {
        let q = sqlx::query("INSERT INTO iam_groups (group_id, account_id, name, name_lower, path, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&rec.group_id)
            .bind(&rec.account_id)
            .bind(&rec.name)
            .bind(rec.name.to_lowercase())
            .bind(&rec.path)
            .bind(rec.created_at);
        self.exec(q).await.map(|_| ())
    }

    async fn get_group(&mut self, account_id: &str, name: &str) -> StoreResult<Option<GroupRecord>> {
        fetch_opt!(self, format!("SELECT {} FROM iam_groups WHERE account_id = $1 AND name_lower = $2", rows::GROUP_COLS), rows::group, account_id, name.to_lowercase())
    }

    async fn get_group_by_id(&mut self, group_id: &str) -> StoreResult<Option<GroupRecord>> {
        fetch_opt!(self, format!("SELECT {} FROM iam_groups WHERE group_id = $1", rows::GROUP_COLS), rows::group, group_id)
    }

    async fn list_groups(&mut self, account_id: &str, page: &PageQuery<'_>) -> StoreResult<Vec<GroupRecord>> {
        self.page(rows::GROUP_COLS, "iam_groups", account_id, page, rows::group).await
    }

    async fn update_group(&mut self, rec: &GroupRecord) -> StoreResult<()> {
        let q = sqlx::query("UPDATE iam_groups SET name = $1, name_lower = $2, path = $3 WHERE group_id = $4")
            .bind(&rec.name)
            .bind(rec.name.to_lowercase())
            .bind(&rec.path)
            .bind(&rec.group_id);
        self.exec(q).await.map(|_| ())
    }

    async fn delete_group(&mut self, group_id: &str) -> StoreResult<()> {
        self.exec(sqlx::query("DELETE FROM iam_groups WHERE group_id = $1").bind(group_id)).await.map(|_| ())
    }

    async fn count_groups(&mut self, account_id: &str) -> StoreResult<i64> {
        self.count("SELECT COUNT(*) FROM iam_groups WHERE account_id = $1", account_id).await
    }

    async fn add_group_member(&mut self, group_id: &str, user_id: &str, at: i64) -> StoreResult<bool> {
        let q = sqlx::query("INSERT INTO group_members (group_id, user_id, added_at) VALUES ($1, $2, $3) ON CONFLICT (group_id, user_id) DO NOTHING")
            .bind(group_id)
            .bind(user_id)
            .bind(at);
        self.exec(q).await.map(|n| n > 0)
    }

    async fn remove_group_member(&mut self, group_id: &str, user_id: &str) -> StoreResult<bool> {
        let q = sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2").bind(group_id).bind(user_id);
        self.exec(q).await.map(|n| n > 0)
    }

    async fn group_members(&mut self, group_id: &str, page: &PageQuery<'_>) -> StoreResult<Vec<UserRecord>> {
        let cols = qualified(rows::USER_COLS, "u");
        fetch_all!(
            self,
            format!("SELECT {cols} FROM users u JOIN group_members m ON m.user_id = u.user_id WHERE m.group_id = $1 AND ($2 IS NULL OR u.name_lower > $2) ORDER BY u.name_lower LIMIT $3"),
            rows::user,
            group_id,
            page.after,
            page.limit
        )
    }

    async fn groups_for_user(&mut self, user_id: &str) -> StoreResult<Vec<GroupRecord>> {
        let cols = qualified(rows::GROUP_COLS, "g");
        fetch_all!(
            self,
            format!("SELECT {cols} FROM iam_groups g JOIN group_members m ON m.group_id = g.group_id WHERE m.user_id = $1 ORDER BY g.name_lower"),
            rows::group,
            user_id
        )
    }

    async fn insert_instance_profile(&mut self, rec: &InstanceProfileRecord) -> StoreResult<()> {
        let q = sqlx::query("INSERT INTO instance_profiles (instance_profile_id, account_id, name, name_lower, path, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&rec.instance_profile_id)
            .bind(&rec.account_id)
            .bind(&rec.name)
            .bind(rec.name.to_lowercase())
            .bind(&rec.path)
            .bind(rec.created_at);
        self.exec(q).await.map(|_| ())
    }

    async fn get_instance_profile(&mut self, account_id: &str, name: &str) -> StoreResult<Option<InstanceProfileRecord>> {
        let sql = format!("SELECT {} FROM instance_profiles WHERE account_id = $1 AND name_lower = $2", rows::INSTANCE_PROFILE_COLS);
        fetch_opt!(self, sql, rows::instance_profile, account_id, name.to_lowercase())
    }

    async fn list_instance_profiles(&mut self, account_id: &str, page: &PageQuery<'_>) -> StoreResult<Vec<InstanceProfileRecord>> {
        self.page(rows::INSTANCE_PROFILE_COLS, "instance_profiles", account_id, page, rows::instance_profile).await
    }

    async fn delete_instance_profile(&mut self, instance_profile_id: &str) -> StoreResult<()> {
        self.exec(sqlx::query("DELETE FROM instance_profile_roles WHERE instance_profile_id = $1").bind(instance_profile_id)).await?;
        self.delete_tags_of(TagTarget::InstanceProfile, instance_profile_id).await?;
        self.exec(sqlx::query("DELETE FROM instance_profiles WHERE instance_profile_id = $1").bind(instance_profile_id)).await.map(|_| ())
    }

    async fn count_instance_profiles(&mut self, account_id: &str) -> StoreResult<i64> {
        self.count("SELECT COUNT(*) FROM instance_profiles WHERE account_id = $1", account_id).await
    }

    async fn add_instance_profile_role(&mut self, instance_profile_id: &str, role_id: &str, at: i64) -> StoreResult<bool> {
        let q = sqlx::query(
            "INSERT INTO instance_profile_roles (instance_profile_id, role_id, added_at) VALUES ($1, $2, $3) ON CONFLICT (instance_profile_id, role_id) DO NOTHING",
        )
        .bind(instance_profile_id)
        .bind(role_id)
        .bind(at);
        self.exec(q).await.map(|n| n > 0)
    }

    async fn remove_instance_profile_role(&mut self, instance_profile_id: &str, role_id: &str) -> StoreResult<bool> {
        let q = sqlx::query("DELETE FROM instance_profile_roles WHERE instance_profile_id = $1 AND role_id = $2").bind(instance_profile_id).bind(role_id);
        self.exec(q).await.map(|n| n > 0)
    }

    async fn instance_profile_roles(&mut self, instance_profile_id: &str) -> StoreResult<Vec<RoleRecord>> {
        let cols = qualified(rows::ROLE_COLS, "r");
        fetch_all!(
            self,
            format!("SELECT {cols} FROM roles r JOIN instance_profile_roles l ON l.role_id = r.role_id WHERE l.instance_profile_id = $1 ORDER BY l.added_at, r.name_lower"),
            rows::role,
            instance_profile_id
        )
    }

    async fn instance_profiles_for_role(&mut self, role_id: &str) -> StoreResult<Vec<InstanceProfileRecord>> {
        let cols = qualified(rows::INSTANCE_PROFILE_COLS, "p");
        fetch_all!(
            self,
            format!("SELECT {cols} FROM instance_profiles p JOIN instance_profile_roles l ON l.instance_profile_id = p.instance_profile_id WHERE l.role_id = $1 ORDER BY p.name_lower"),
            rows::instance_profile,
            role_id
        )
    }

    async fn insert_server_certificate(&mut self, rec: &ServerCertificateRecord) -> StoreResult<()> {
        let q = sqlx::query("INSERT INTO server_certificates (server_certificate_id, account_id, name, name_lower, path, body, chain, private_key_sealed, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
            .bind(&rec.server_certificate_id)
            .bind(&rec.account_id)
            .bind(&rec.name)
            .bind(rec.name.to_lowercase())
            .bind(&rec.path)
            .bind(&rec.body)
            .bind(&rec.chain)
            .bind(&rec.private_key_sealed)
            .bind(rec.created_at)
            .bind(rec.expires_at);
        self.exec(q).await.map(|_| ())
    }

    async fn get_server_certificate(&mut self, account_id: &str, name: &str) -> StoreResult<Option<ServerCertificateRecord>> {
        let sql = format!("SELECT {} FROM server_certificates WHERE account_id = $1 AND name_lower = $2", rows::SERVER_CERT_COLS);
        fetch_opt!(self, sql, rows::server_certificate, account_id, name.to_lowercase())
    }

    async fn list_server_certificates(&mut self, account_id: &str, page: &PageQuery<'_>) -> StoreResult<Vec<ServerCertificateRecord>> {
        self.page(rows::SERVER_CERT_COLS, "server_certificates", account_id, page, rows::server_certificate).await
    }

    async fn update_server_certificate(&mut self, rec: &ServerCertificateRecord) -> StoreResult<()> {
        let q = sqlx::query("UPDATE server_certificates SET name = $1, name_lower = $2, path = $3 WHERE server_certificate_id = $4")
            .bind(&rec.name)
            .bind(rec.name.to_lowercase())
            .bind(&rec.path)
            .bind(&rec.server_certificate_id);
        self.exec(q).await.map(|_| ())
    }

    async fn delete_server_certificate(&mut self, server_certificate_id: &str) -> StoreResult<()> {
        self.delete_tags_of(TagTarget::ServerCertificate, server_certificate_id).await?;
        self.exec(sqlx::query("DELETE FROM server_certificates WHERE server_certificate_id = $1").bind(server_certificate_id)).await.map(|_| ())
    }

    async fn count_server_certificates(&mut self, account_id: &str) -> StoreResult<i64> {
        self.count("SELECT COUNT(*) FROM server_certificates WHERE account_id = $1", account_id).await
    }

    async fn account_with_setting(&mut self, key: &str, value: &str) -> StoreResult<Option<String>> {
        let row: Option<(String,)> = sqlx::query_as("SELECT account_id FROM account_settings WHERE name = $1 AND value = $2 ORDER BY account_id LIMIT 1")
            .bind(key)
            .bind(value)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(backend)?;
        Ok(row.map(|r| r.0))
    }

    async fn get_account_setting(&mut self, account_id: &str, key: &str) -> StoreResult<Option<String>> {
        let row: Option<(String,)> = sqlx::query_as("SELECT value FROM account_settings WHERE account_id = $1 AND name = $2")
            .bind(account_id)
            .bind(key)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(backend)?;
        Ok(row.map(|r| r.0))
    }

    async fn put_account_setting(&mut self, account_id: &str, key: &str, value: &str) -> StoreResult<()> {
        let q = sqlx::query("INSERT INTO account_settings (account_id, name, value) VALUES ($1, $2, $3) ON CONFLICT (account_id, name) DO UPDATE SET value = excluded.value")
            .bind(account_id)
            .bind(key)
            .bind(value);
        self.exec(q).await.map(|_| ())
    }

    async fn insert_user_credential(&mut self, rec: &UserCredentialRecord) -> StoreResult<()> {
        let q = sqlx::query("INSERT INTO user_credentials (credential_id, kind, account_id, user_id, status, body, detail, secret_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
            .bind(&rec.credential_id)
            .bind(rec.kind.as_str())
            .bind(&rec.account_id)
            .bind(&rec.user_id)
            .bind(rec.status.as_str())
            .bind(&rec.body)
            .bind(&rec.detail)
            .bind(&rec.secret_hash)
            .bind(rec.created_at)
            .bind(rec.expires_at);
        self.exec(q).await.map(|_| ())
    }

    async fn get_user_credential(&mut self, credential_id: &str) -> StoreResult<Option<UserCredentialRecord>> {
        fetch_opt!(self, format!("SELECT {} FROM user_credentials WHERE credential_id = $1", rows::CREDENTIAL_COLS), rows::user_credential, credential_id)
    }

    async fn user_credentials(&mut self, user_id: &str, kind: CredentialKind) -> StoreResult<Vec<UserCredentialRecord>> {
        let sql = format!("SELECT {} FROM user_credentials WHERE user_id = $1 AND kind = $2 ORDER BY created_at, credential_id", rows::CREDENTIAL_COLS);
        fetch_all!(self, sql, rows::user_credential, user_id, kind.as_str())
    }

    async fn update_user_credential(&mut self, rec: &UserCredentialRecord) -> StoreResult<()> {
        let q = sqlx::query("UPDATE user_credentials SET status = $1, detail = $2, secret_hash = $3, expires_at = $4 WHERE credential_id = $5")
            .bind(rec.status.as_str())
            .bind(&rec.detail)
            .bind(&rec.secret_hash)
            .bind(rec.expires_at)
            .bind(&rec.credential_id);
        self.exec(q).await.map(|_| ())
    }

    async fn delete_user_credential(&mut self, credential_id: &str) -> StoreResult<()> {
        self.exec(sqlx::query("DELETE FROM user_credentials WHERE credential_id = $1").bind(credential_id)).await.map(|_| ())
    }

    async fn insert_saml_provider(&mut self, rec: &SamlProviderRecord) -> StoreResult<()> {
        let q = sqlx::query("INSERT INTO saml_providers (arn, account_id, name, uuid, metadata, valid_until, created_at, assertion_encryption_mode, private_keys) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(&rec.arn)
            .bind(&rec.account_id)
            .bind(&rec.name)
            .bind(&rec.uuid)
            .bind(&rec.metadata)
            .bind(rec.valid_until)
            .bind(rec.created_at)
            .bind(&rec.assertion_encryption_mode)
            .bind(json_list(&rec.private_keys));
        self.exec(q).await.map(|_| ())
    }

    async fn get_saml_provider(&mut self, arn: &str) -> StoreResult<Option<SamlProviderRecord>> {
        fetch_opt!(self, format!("SELECT {} FROM saml_providers WHERE arn = $1", rows::SAML_COLS), rows::saml_provider, arn)
    }

    async fn list_saml_providers(&mut self, account_id: &str) -> StoreResult<Vec<SamlProviderRecord>> {
        fetch_all!(self, format!("SELECT {} FROM saml_providers WHERE account_id = $1 ORDER BY arn", rows::SAML_COLS), rows::saml_provider, account_id)
    }

    async fn update_saml_provider(&mut self, rec: &SamlProviderRecord) -> StoreResult<()> {
        let q = sqlx::query("UPDATE saml_providers SET metadata = $1, valid_until = $2, assertion_encryption_mode = $3, private_keys = $4 WHERE arn = $5")
            .bind(&rec.metadata)
            .bind(rec.valid_until)
            .bind(&rec.assertion_encryption_mode)
            .bind(json_list(&rec.private_keys))
            .bind(&rec.arn);
        self.exec(q).await.map(|_| ())
    }

    async fn delete_saml_provider(&mut self, arn: &str) -> StoreResult<()> {
        self.delete_tags_of(TagTarget::SamlProvider, arn).await?;
        self.exec(sqlx::query("DELETE FROM saml_providers WHERE arn = $1").bind(arn)).await.map(|_| ())
    }

    async fn insert_oidc_provider(&mut self, rec: &OidcProviderRecord) -> StoreResult<()> {
        let q = sqlx::query("INSERT INTO oidc_providers (arn, account_id, url, client_ids, thumbprints, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&rec.arn)
            .bind(&rec.account_id)
            .bind(&rec.url)
            .bind(json_list(&rec.client_ids))
            .bind(json_list(&rec.thumbprints))
            .bind(rec.created_at);
        self.exec(q).await.map(|_| ())
    }

    async fn get_oidc_provider(&mut self, arn: &str) -> StoreResult<Option<OidcProviderRecord>> {
        fetch_opt!(self, format!("SELECT {} FROM oidc_providers WHERE arn = $1", rows::OIDC_COLS), rows::oidc_provider, arn)
    }

    async fn list_oidc_providers(&mut self, account_id: &str) -> StoreResult<Vec<OidcProviderRecord>> {
        fetch_all!(self, format!("SELECT {} FROM oidc_providers WHERE account_id = $1 ORDER BY arn", rows::OIDC_COLS), rows::oidc_provider, account_id)
    }

    async fn update_oidc_provider(&mut self, rec: &OidcProviderRecord) -> StoreResult<()> {
        let q = sqlx::query("UPDATE oidc_providers SET client_ids = $1, thumbprints = $2 WHERE arn = $3")
            .bind(json_list(&rec.client_ids))
            .bind(json_list(&rec.thumbprints))
            .bind(&rec.arn);
        self.exec(q).await.map(|_| ())
    }

    async fn delete_oidc_provider(&mut self, arn: &str) -> StoreResult<()> {
        self.delete_tags_of(TagTarget::OidcProvider, arn).await?;
        self.exec(sqlx::query("DELETE FROM oidc_providers WHERE arn = $1").bind(arn)).await.map(|_| ())
    }

    async fn insert_role(&mut self, rec: &RoleRecord) -> StoreResult<()> {
        let q = sqlx::query("INSERT INTO roles (role_id, account_id, name, name_lower, path, created_at, assume_role_policy, description, max_session_duration, permissions_boundary, last_used_at, last_used_region) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)")
            .bind(&rec.role_id)
            .bind(&rec.account_id)
            .bind(&rec.name)
            .bind(rec.name.to_lowercase())
            .bind(&rec.path)
            .bind(rec.created_at)
            .bind(&rec.assume_role_policy)
            .bind(&rec.description)
            .bind(rec.max_session_duration)
            .bind(&rec.permissions_boundary)
            .bind(rec.last_used_at)
            .bind(&rec.last_used_region);
        self.exec(q).await.map(|_| ())
    }

    async fn get_role(&mut self, account_id: &str, name: &str) -> StoreResult<Option<RoleRecord>> {
        fetch_opt!(self, format!("SELECT {} FROM roles WHERE account_id = $1 AND name_lower = $2", rows::ROLE_COLS), rows::role, account_id, name.to_lowercase())
    }

    async fn get_role_by_id(&mut self, role_id: &str) -> StoreResult<Option<RoleRecord>> {
        fetch_opt!(self, format!("SELECT {} FROM roles WHERE role_id = $1", rows::ROLE_COLS), rows::role, role_id)
    }

    async fn list_roles(&mut self, account_id: &str, page: &PageQuery<'_>) -> StoreResult<Vec<RoleRecord>> {
        self.page(rows::ROLE_COLS, "roles", account_id, page, rows::role).await
    }

    async fn update_role(&mut self, rec: &RoleRecord) -> StoreResult<()> {
        let q = sqlx::query("UPDATE roles SET assume_role_policy = $1, description = $2, max_session_duration = $3, permissions_boundary = $4, last_used_at = $5, last_used_region = $6 WHERE role_id = $7")
            .bind(&rec.assume_role_policy)
            .bind(&rec.description)
            .bind(rec.max_session_duration)
            .bind(&rec.permissions_boundary)
            .bind(rec.last_used_at)
            .bind(&rec.last_used_region)
            .bind(&rec.role_id);
        self.exec(q).await.map(|_| ())
    }

    async fn delete_role(&mut self, role_id: &str) -> StoreResult<()> {
        self.delete_tags_of(TagTarget::Role, role_id).await?;
        self.exec(sqlx::query("DELETE FROM roles WHERE role_id = $1").bind(role_id)).await.map(|_| ())
    }

    async fn count_roles(&mut self, account_id: &str) -> StoreResult<i64> {
        self.count("SELECT COUNT(*) FROM roles WHERE account_id = $1", account_id).await
    }

    async fn insert_policy(&mut self, rec: &PolicyRecord) -> StoreResult<()> {
        let q = sqlx::query("INSERT INTO policies (policy_id, account_id, name, name_lower, path, arn, description, default_version, next_version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
            .bind(&rec.policy_id)
            .bind(&rec.account_id)
            .bind(&rec.name)
            .bind(rec.name.to_lowercase())
            .bind(&rec.path)
            .bind(&rec.arn)
            .bind(&rec.description)
            .bind(&rec.default_version)
            .bind(rec.next_version)
            .bind(rec.created_at)
            .bind(rec.updated_at);
        self.exec(q).await.map(|_| ())
    }

    async fn get_policy(&mut self, arn: &str) -> StoreResult<Option<PolicyRecord>> {
        fetch_opt!(self, format!("SELECT {} FROM policies WHERE arn = $1", rows::POLICY_COLS), rows::policy, arn)
    }

    async fn list_policies(&mut self, account_id: &str) -> StoreResult<Vec<PolicyRecord>> {
        fetch_all!(self, format!("SELECT {} FROM policies WHERE account_id = $1 ORDER BY name_lower", rows::POLICY_COLS), rows::policy, account_id)
    }

    async fn count_policies(&mut self, account_id: &str) -> StoreResult<(i64, i64)> {
        let policies = self.count("SELECT COUNT(*) FROM policies WHERE account_id = $1", account_id).await?;
        let versions = self
            .count("SELECT COUNT(*) FROM policy_versions v JOIN policies p ON p.policy_id = v.policy_id WHERE p.account_id = $1", account_id)
            .await?;
        Ok((policies, versions))
    }

    async fn list_policies_page(&mut self, account_id: &str, page: &PageQuery<'_>) -> StoreResult<Vec<PolicyRecord>> {
        self.page(rows::POLICY_COLS, "policies", account_id, page, rows::policy).await
    }

    async fn update_policy(&mut self, rec: &PolicyRecord) -> StoreResult<()> {
        let q = sqlx::query("UPDATE policies SET default_version = $1, next_version = $2, updated_at = $3, description = $4 WHERE policy_id = $5")
            .bind(&rec.default_version)
            .bind(rec.next_version)
            .bind(rec.updated_at)
            .bind(&rec.description)
            .bind(&rec.policy_id);
        self.exec(q).await.map(|_| ())
    }

    async fn delete_policy(&mut self, policy_id: &str) -> StoreResult<()> {
        self.exec(sqlx::query("DELETE FROM policy_versions WHERE policy_id = $1").bind(policy_id)).await?;
        self.delete_tags_of(TagTarget::Policy, policy_id).await?;
        self.exec(sqlx::query("DELETE FROM policies WHERE policy_id = $1").bind(policy_id)).await.map(|_| ())
    }

    async fn insert_policy_version(&mut self, rec: &PolicyVersionRecord) -> StoreResult<()> {
        let num: i64 = rec.version_id.trim_start_matches('v').parse().unwrap_or(0);
        let q = sqlx::query("INSERT INTO policy_versions (policy_id, version_id, version_num, document, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&rec.policy_id)
            .bind(&rec.version_id)
            .bind(num)
            .bind(&rec.document)
            .bind(rec.created_at);
        self.exec(q).await.map(|_| ())
    }

    async fn get_policy_version(&mut self, policy_id: &str, version_id: &str) -> StoreResult<Option<PolicyVersionRecord>> {
        fetch_opt!(self, format!("SELECT {} FROM policy_versions WHERE policy_id = $1 AND version_id = $2", rows::VERSION_COLS), rows::version, policy_id, version_id)
    }

    async fn list_policy_versions(&mut self, policy_id: &str) -> StoreResult<Vec<PolicyVersionRecord>> {
        fetch_all!(self, format!("SELECT {} FROM policy_versions WHERE policy_id = $1 ORDER BY version_num DESC", rows::VERSION_COLS), rows::version, policy_id)
    }

    async fn delete_policy_version(&mut self, policy_id: &str, version_id: &str) -> StoreResult<()> {
        let q = sqlx::query("DELETE FROM policy_versions WHERE policy_id = $1 AND version_id = $2").bind(policy_id).bind(version_id);
        self.exec(q).await.map(|_| ())
    }

    async fn attach_policy(&mut self, account_id: &str, kind: PrincipalKind, principal_id: &str, arn: &str, at: i64) -> StoreResult<bool> {
        let q = sqlx::query("INSERT INTO policy_attachments (account_id, principal_kind, principal_id, policy_arn, attached_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (principal_kind, principal_id, policy_arn) DO NOTHING")
            .bind(account_id)
            .bind(kind.as_str())
            .bind(principal_id)
            .bind(arn)
            .bind(at);
        self.exec(q).await.map(|n| n > 0)
    }

    async fn detach_policy(&mut self, kind: PrincipalKind, principal_id: &str, arn: &str) -> StoreResult<bool> {
        let q = sqlx::query("DELETE FROM policy_attachments WHERE principal_kind = $1 AND principal_id = $2 AND policy_arn = $3")
            .bind(kind.as_str())
            .bind(principal_id)
            .bind(arn);
        self.exec(q).await.map(|n| n > 0)
    }

    async fn attached_policies(&mut self, kind: PrincipalKind, principal_id: &str) -> StoreResult<Vec<String>> {
        let rows: Vec<(String,)> = sqlx::query_as("SELECT policy_arn FROM policy_attachments WHERE principal_kind = $1 AND principal_id = $2 ORDER BY attached_at, policy_arn")
            .bind(kind.as_str())
            .bind(principal_id)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(backend)?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    async fn policy_attachments(&mut self, account_id: &str, arn: &str) -> StoreResult<Vec<(String, PrincipalKind, String)>> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT policy_arn, principal_kind, principal_id FROM policy_attachments WHERE account_id = $1 AND policy_arn = $2 ORDER BY attached_at, principal_id",
        )
        .bind(account_id)
        .bind(arn)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(backend)?;
        Ok(rows
            .into_iter()
            .filter_map(|(arn, kind, id)| PrincipalKind::parse(&kind).map(|k| (arn, k, id)))
            .collect())
    }

    async fn count_policy_attachments(&mut self, account_id: &str, arn: &str) -> StoreResult<i64> {
        self.count_for_policy("SELECT COUNT(*) FROM policy_attachments WHERE account_id = $1 AND policy_arn = $2", account_id, arn).await
    }

    async fn attachment_counts(&mut self, account_id: &str) -> StoreResult<Vec<(String, i64)>> {
        sqlx::query_as("SELECT policy_arn, COUNT(*) FROM policy_attachments WHERE account_id = $1 GROUP BY policy_arn ORDER BY policy_arn")
            .bind(account_id)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(backend)
    }

    async fn count_boundary_uses(&mut self, account_id: &str, arn: &str) -> StoreResult<i64> {
        self.count_for_policy(
            "SELECT (SELECT COUNT(*) FROM users WHERE account_id = $1 AND permissions_boundary = $2) \
             + (SELECT COUNT(*) FROM roles WHERE account_id = $1 AND permissions_boundary = $2)",
            account_id,
            arn,
        )
        .await
    }

    async fn boundary_counts(&mut self, account_id: &str) -> StoreResult<Vec<(String, i64)>> {
        sqlx::query_as(
            "SELECT arn, COUNT(*) FROM ( \
               SELECT permissions_boundary AS arn FROM users WHERE account_id = $1 AND permissions_boundary IS NOT NULL \
               UNION ALL \
               SELECT permissions_boundary AS arn FROM roles WHERE account_id = $1 AND permissions_boundary IS NOT NULL \
             ) AS b GROUP BY arn ORDER BY arn",
        )
        .bind(account_id)
        .fetch_all(&mut *self.tx)
        .await
        .map_err(backend)
    }

    async fn put_inline_policy(&mut self, kind: PrincipalKind, principal_id: &str, name: &str, document: &str) -> StoreResult<()> {
        let q = sqlx::query("INSERT INTO inline_policies (principal_kind, principal_id, policy_name, document) VALUES ($1, $2, $3, $4) ON CONFLICT (principal_kind, principal_id, policy_name) DO UPDATE SET document = excluded.document")
            .bind(kind.as_str())
            .bind(principal_id)
            .bind(name)
            .bind(document);
        self.exec(q).await.map(|_| ())
    }

    async fn get_inline_policy(&mut self, kind: PrincipalKind, principal_id: &str, name: &str) -> StoreResult<Option<String>> {
        let row: Option<(String,)> = sqlx::query_as("SELECT document FROM inline_policies WHERE principal_kind = $1 AND principal_id = $2 AND policy_name = $3")
            .bind(kind.as_str())
            .bind(principal_id)
            .bind(name)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(backend)?;
        Ok(row.map(|r| r.0))
    }

    async fn inline_policy_names(&mut self, kind: PrincipalKind, principal_id: &str) -> StoreResult<Vec<String>> {
        let rows: Vec<(String,)> = sqlx::query_as("SELECT policy_name FROM inline_policies WHERE principal_kind = $1 AND principal_id = $2 ORDER BY policy_name")
            .bind(kind.as_str())
            .bind(principal_id)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(backend)?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    async fn delete_inline_policy(&mut self, kind: PrincipalKind, principal_id: &str, name: &str) -> StoreResult<bool> {
        let q = sqlx::query("DELETE FROM inline_policies WHERE principal_kind = $1 AND principal_id = $2 AND policy_name = $3")
            .bind(kind.as_str())
            .bind(principal_id)
            .bind(name);
        self.exec(q).await.map(|n| n > 0)
    }

    async fn tags(&mut self, kind: TagTarget, id: &str) -> StoreResult<Vec<Tag>> {
        let rows: Vec<(String, String)> = sqlx::query_as("SELECT tag_key, tag_value FROM tags WHERE target_kind = $1 AND target_id = $2 ORDER BY position")
            .bind(kind.as_str())
            .bind(id)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(backend)?;
        Ok(rows.into_iter().map(|(key, value)| Tag { key, value }).collect())
    }

    async fn set_tags(&mut self, kind: TagTarget, id: &str, tags: &[Tag]) -> StoreResult<()> {
        self.delete_tags_of(kind, id).await?;
        for (i, t) in tags.iter().enumerate() {
            let q = sqlx::query("INSERT INTO tags (target_kind, target_id, position, tag_key, tag_value) VALUES ($1, $2, $3, $4, $5)")
                .bind(kind.as_str())
                .bind(id)
                .bind(i64::try_from(i).unwrap_or(i64::MAX))
                .bind(&t.key)
                .bind(&t.value);
            self.exec(q).await?;
        }
        Ok(())
    }

    async fn insert_access_key(&mut self, rec: &AccessKeyRecord) -> StoreResult<()> {
        let q = sqlx::query("INSERT INTO access_keys (access_key_id, account_id, user_id, secret_sealed, status, created_at, last_used_at, last_used_service, last_used_region) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(&rec.access_key_id)
            .bind(&rec.account_id)
            .bind(&rec.user_id)
            .bind(&rec.secret_sealed)
            .bind(rec.status.as_str())
            .bind(rec.created_at)
            .bind(rec.last_used_at)
            .bind(&rec.last_used_service)
            .bind(&rec.last_used_region);
        self.exec(q).await.map(|_| ())
    }

    async fn get_access_key(&mut self, access_key_id: &str) -> StoreResult<Option<AccessKeyRecord>> {
        fetch_opt!(self, format!("SELECT {} FROM access_keys WHERE access_key_id = $1", rows::KEY_COLS), rows::access_key, access_key_id)
    }

    async fn access_keys_for(&mut self, account_id: &str, user_id: Option<&str>) -> StoreResult<Vec<AccessKeyRecord>> {
        match user_id {
            Some(uid) => fetch_all!(self, format!("SELECT {} FROM access_keys WHERE account_id = $1 AND user_id = $2 ORDER BY created_at, access_key_id", rows::KEY_COLS), rows::access_key, account_id, uid),
            None => fetch_all!(self, format!("SELECT {} FROM access_keys WHERE account_id = $1 AND user_id IS NULL ORDER BY created_at, access_key_id", rows::KEY_COLS), rows::access_key, account_id),
        }
    }

    async fn set_access_key_status(&mut self, access_key_id: &str, status: KeyStatus) -> StoreResult<()> {
        let q = sqlx::query("UPDATE access_keys SET status = $1 WHERE access_key_id = $2").bind(status.as_str()).bind(access_key_id);
        self.exec(q).await.map(|_| ())
    }

    async fn delete_access_key(&mut self, access_key_id: &str) -> StoreResult<()> {
        self.exec(sqlx::query("DELETE FROM access_keys WHERE access_key_id = $1").bind(access_key_id)).await.map(|_| ())
    }

    async fn record_access_key_use(&mut self, access_key_id: &str, at: i64, service: &str, region: &str) -> StoreResult<()> {
        let q = sqlx::query("UPDATE access_keys SET last_used_at = $1, last_used_service = $2, last_used_region = $3 WHERE access_key_id = $4")
            .bind(at)
            .bind(service)
            .bind(region)
            .bind(access_key_id);
        self.exec(q).await.map(|_| ())
    }

    async fn insert_mfa_device(&mut self, rec: &MfaDeviceRecord) -> StoreResult<()> {
        let q = sqlx::query("INSERT INTO mfa_devices (serial_number, account_id, name, path, user_id, assigned_root, seed_sealed, created_at, enabled_at, last_step, kind) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
            .bind(&rec.serial_number)
            .bind(&rec.account_id)
            .bind(&rec.name)
            .bind(&rec.path)
            .bind(&rec.user_id)
            .bind(i64::from(rec.assigned_root))
            .bind(&rec.seed_sealed)
            .bind(rec.created_at)
            .bind(rec.enabled_at)
            .bind(rec.last_step)
            .bind(rec.kind.as_str());
        self.exec(q).await.map(|_| ())
    }

    async fn get_mfa_device(&mut self, serial_number: &str) -> StoreResult<Option<MfaDeviceRecord>> {
        fetch_opt!(self, format!("SELECT {} FROM mfa_devices WHERE serial_number = $1", rows::MFA_COLS), rows::mfa_device, serial_number)
    }

    async fn mfa_devices(&mut self, account_id: &str) -> StoreResult<Vec<MfaDeviceRecord>> {
        fetch_all!(self, format!("SELECT {} FROM mfa_devices WHERE account_id = $1 ORDER BY serial_number", rows::MFA_COLS), rows::mfa_device, account_id)
    }

    async fn update_mfa_device(&mut self, rec: &MfaDeviceRecord) -> StoreResult<()> {
        let q = sqlx::query("UPDATE mfa_devices SET user_id = $1, assigned_root = $2, enabled_at = $3, last_step = $4, seed_sealed = $5 WHERE serial_number = $6")
            .bind(&rec.user_id)
            .bind(i64::from(rec.assigned_root))
            .bind(rec.enabled_at)
            .bind(rec.last_step)
            .bind(&rec.seed_sealed)
            .bind(&rec.serial_number);
        self.exec(q).await.map(|_| ())
    }

    async fn delete_mfa_device(&mut self, serial_number: &str) -> StoreResult<()> {
        self.delete_tags_of(TagTarget::MfaDevice, serial_number).await?;
        self.exec(sqlx::query("DELETE FROM mfa_devices WHERE serial_number = $1").bind(serial_number)).await.map(|_| ())
    }

    async fn replace_recovery_codes(&mut self, account_id: &str, owner: &str, hashes: &[String], at: i64) -> StoreResult<()> {
        self.exec(sqlx::query("DELETE FROM recovery_codes WHERE owner = $1").bind(owner)).await?;
        for hash in hashes {
            let q = sqlx::query("INSERT INTO recovery_codes (owner, account_id, code_hash, created_at) VALUES ($1, $2, $3, $4)")
                .bind(owner)
                .bind(account_id)
                .bind(hash)
                .bind(at);
            self.exec(q).await?;
        }
        Ok(())
    }

    async fn recovery_codes(&mut self, owner: &str) -> StoreResult<Vec<RecoveryCodeRecord>> {
        let rows: Vec<(String, i64, Option<i64>)> =
            sqlx::query_as("SELECT code_hash, created_at, used_at FROM recovery_codes WHERE owner = $1 ORDER BY code_hash")
                .bind(owner)
                .fetch_all(&mut *self.tx)
                .await
                .map_err(backend)?;
        Ok(rows.into_iter().map(|(code_hash, created_at, used_at)| RecoveryCodeRecord { code_hash, created_at, used_at }).collect())
    }

    async fn use_recovery_code(&mut self, owner: &str, hash: &str, at: i64) -> StoreResult<bool> {
        let q = sqlx::query("UPDATE recovery_codes SET used_at = $1 WHERE owner = $2 AND code_hash = $3 AND used_at IS NULL").bind(at).bind(owner).bind(hash);
        Ok(self.exec(q).await? == 1)
    }

    async fn insert_delegation_request(&mut self, rec: &DelegationRequestRecord) -> StoreResult<bool> {
        let q = sqlx::query(
            "INSERT INTO delegation_requests (request_id, requestor_account_id, workflow_id, owner_account_id, owner_id, state, token_hash, created_at, body) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (requestor_account_id, workflow_id) DO NOTHING",
        )
        .bind(&rec.request_id)
        .bind(&rec.requestor_account_id)
        .bind(&rec.workflow_id)
        .bind(&rec.owner_account_id)
        .bind(&rec.owner_id)
        .bind(&rec.state)
        .bind(&rec.token_hash)
        .bind(rec.created_at)
        .bind(&rec.body);
        Ok(self.exec(q).await? == 1)
    }

    async fn get_delegation_request(&mut self, request_id: &str) -> StoreResult<Option<DelegationRequestRecord>> {
        self.delegation_requests_where("request_id = $1", request_id).await.map(|mut v| v.pop())
    }

    async fn get_delegation_request_by_token(&mut self, token_hash: &str) -> StoreResult<Option<DelegationRequestRecord>> {
        self.delegation_requests_where("token_hash = $1", token_hash).await.map(|mut v| v.pop())
    }

    async fn update_delegation_request(&mut self, rec: &DelegationRequestRecord) -> StoreResult<()> {
        let q = sqlx::query("UPDATE delegation_requests SET owner_account_id = $1, owner_id = $2, state = $3, token_hash = $4, body = $5 WHERE request_id = $6")
            .bind(&rec.owner_account_id)
            .bind(&rec.owner_id)
            .bind(&rec.state)
            .bind(&rec.token_hash)
            .bind(&rec.body)
            .bind(&rec.request_id);
        self.exec(q).await?;
        Ok(())
    }

    async fn list_delegation_requests(&mut self, owner_account_id: &str, owner_id: Option<&str>) -> StoreResult<Vec<DelegationRequestRecord>> {
        let mut all = self.delegation_requests_where("owner_account_id = $1 AND owner_id IS NOT NULL", owner_account_id).await?;
        if let Some(owner) = owner_id {
            all.retain(|r| r.owner_id.as_deref() == Some(owner));
        }
        Ok(all)
    }

    async fn insert_org_object(&mut self, rec: &OrgObjectRecord) -> StoreResult<()> {
        let sql = format!("INSERT INTO org_objects ({}) VALUES ($1, $2, $3, $4, $5, $6, $7)", rows::ORG_OBJECT_COLS);
        let q = sqlx::query(&sql)
            .bind(&rec.object_id)
            .bind(&rec.org_id)
            .bind(rec.kind.as_str())
            .bind(&rec.parent_id)
            .bind(&rec.unique_key)
            .bind(rec.created_at)
            .bind(&rec.body);
        self.exec(q).await.map(|_| ())
    }

    async fn get_org_object(&mut self, object_id: &str) -> StoreResult<Option<OrgObjectRecord>> {
        fetch_opt!(self, format!("SELECT {} FROM org_objects WHERE object_id = $1", rows::ORG_OBJECT_COLS), rows::org_object, object_id)
    }

    async fn org_objects(&mut self, org_id: &str, kind: OrgObjectKind, parent_id: Option<&str>) -> StoreResult<Vec<OrgObjectRecord>> {
        let cols = rows::ORG_OBJECT_COLS;
        match parent_id {
            Some(parent) => fetch_all!(
                self,
                format!("SELECT {cols} FROM org_objects WHERE org_id = $1 AND kind = $2 AND parent_id = $3 ORDER BY created_at, object_id"),
                rows::org_object,
                org_id,
                kind.as_str(),
                parent
            ),
            None => fetch_all!(
                self,
                format!("SELECT {cols} FROM org_objects WHERE org_id = $1 AND kind = $2 ORDER BY created_at, object_id"),
                rows::org_object,
                org_id,
                kind.as_str()
            ),
        }
    }

    async fn org_object_by_key(&mut self, org_id: &str, kind: OrgObjectKind, unique_key: &str) -> StoreResult<Option<OrgObjectRecord>> {
        let cols = rows::ORG_OBJECT_COLS;
        fetch_opt!(self, format!("SELECT {cols} FROM org_objects WHERE org_id = $1 AND kind = $2 AND unique_key = $3"), rows::org_object, org_id, kind.as_str(), unique_key)
    }

    async fn count_org_objects(&mut self, org_id: &str, kind: OrgObjectKind) -> StoreResult<i64> {
        let row: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM org_objects WHERE org_id = $1 AND kind = $2").bind(org_id).bind(kind.as_str()).fetch_one(&mut *self.tx).await.map_err(backend)?;
        Ok(row.0)
    }

    async fn org_objects_with_parent(&mut self, kind: OrgObjectKind, parent_id: &str) -> StoreResult<Vec<OrgObjectRecord>> {
        let cols = rows::ORG_OBJECT_COLS;
        fetch_all!(self, format!("SELECT {cols} FROM org_objects WHERE kind = $1 AND parent_id = $2 ORDER BY created_at, object_id"), rows::org_object, kind.as_str(), parent_id)
    }

    async fn update_org_object(&mut self, rec: &OrgObjectRecord) -> StoreResult<()> {
        let q = sqlx::query("UPDATE org_objects SET parent_id = $1, unique_key = $2, body = $3 WHERE object_id = $4")
            .bind(&rec.parent_id)
            .bind(&rec.unique_key)
            .bind(&rec.body)
            .bind(&rec.object_id);
        self.exec(q).await.map(|_| ())
    }

    async fn delete_org_object(&mut self, object_id: &str) -> StoreResult<()> {
        self.exec(sqlx::query("DELETE FROM org_links WHERE from_id = $1 OR to_id = $1").bind(object_id)).await?;
        self.exec(sqlx::query("DELETE FROM org_objects WHERE object_id = $1").bind(object_id)).await.map(|_| ())
    }

    async fn insert_org_link(&mut self, org_id: &str, kind: OrgLinkKind, link: &OrgLinkRecord) -> StoreResult<bool> {
        let q = sqlx::query("INSERT INTO org_links (org_id, kind, from_id, to_id, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (kind, from_id, to_id) DO NOTHING")
            .bind(org_id)
            .bind(kind.as_str())
            .bind(&link.from_id)
            .bind(&link.to_id)
            .bind(link.created_at);
        Ok(self.exec(q).await? == 1)
    }

    async fn delete_org_link(&mut self, kind: OrgLinkKind, from_id: &str, to_id: &str) -> StoreResult<bool> {
        let q = sqlx::query("DELETE FROM org_links WHERE kind = $1 AND from_id = $2 AND to_id = $3").bind(kind.as_str()).bind(from_id).bind(to_id);
        Ok(self.exec(q).await? == 1)
    }

    async fn org_links(&mut self, org_id: &str, kind: OrgLinkKind, from_id: Option<&str>, to_id: Option<&str>) -> StoreResult<Vec<OrgLinkRecord>> {
        // An absent filter is bound as '' (no id is empty), which matches every row.
        let sql = "SELECT from_id, to_id, created_at FROM org_links WHERE org_id = $1 AND kind = $2 \
                   AND ($3 = '' OR from_id = $3) AND ($4 = '' OR to_id = $4) ORDER BY created_at, from_id, to_id";
        fetch_all!(self, sql.to_owned(), rows::org_link, org_id, kind.as_str(), from_id.unwrap_or_default(), to_id.unwrap_or_default())
    }

    async fn delete_organization(&mut self, org_id: &str) -> StoreResult<()> {
        self.exec(sqlx::query("DELETE FROM org_links WHERE org_id = $1").bind(org_id)).await?;
        self.exec(sqlx::query("DELETE FROM org_objects WHERE org_id = $1").bind(org_id)).await.map(|_| ())
    }

    async fn record_action_access(&mut self, account_id: &str, rec: &ActionAccessRecord) -> StoreResult<()> {
        let q = sqlx::query(
            "INSERT INTO action_last_accessed (account_id, entity_arn, action, region, accessed_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (entity_arn, action) DO UPDATE SET region = excluded.region, accessed_at = excluded.accessed_at \
             WHERE excluded.accessed_at > action_last_accessed.accessed_at",
        )
        .bind(account_id)
        .bind(&rec.entity_arn)
        .bind(&rec.action)
        .bind(&rec.region)
        .bind(rec.accessed_at);
        self.exec(q).await?;
        Ok(())
    }

    async fn action_accesses(&mut self, account_id: &str, entity_arns: &[String], until: i64) -> StoreResult<Vec<ActionAccessRecord>> {
        let mut out = Vec::new();
        for arn in entity_arns {
            let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
                "SELECT entity_arn, action, region, accessed_at FROM action_last_accessed WHERE account_id = $1 AND entity_arn = $2 AND accessed_at <= $3 ORDER BY action",
            )
            .bind(account_id)
            .bind(arn)
            .bind(until)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(backend)?;
            out.extend(rows.into_iter().map(|(entity_arn, action, region, accessed_at)| ActionAccessRecord { entity_arn, action, region, accessed_at }));
        }
        Ok(out)
    }

    async fn insert_access_report(&mut self, rec: &AccessReportRecord) -> StoreResult<()> {
        let q = sqlx::query("INSERT INTO access_reports (job_id, account_id, arn, granularity, requested_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&rec.job_id)
            .bind(&rec.account_id)
            .bind(&rec.arn)
            .bind(&rec.granularity)
            .bind(&rec.requested_by)
            .bind(rec.created_at);
        self.exec(q).await?;
        Ok(())
    }

    async fn get_access_report(&mut self, job_id: &str) -> StoreResult<Option<AccessReportRecord>> {
        let row: Option<(String, String, String, String, String, i64)> =
            sqlx::query_as("SELECT job_id, account_id, arn, granularity, requested_by, created_at FROM access_reports WHERE job_id = $1")
                .bind(job_id)
                .fetch_optional(&mut *self.tx)
                .await
                .map_err(backend)?;
        Ok(row.map(|(job_id, account_id, arn, granularity, requested_by, created_at)| AccessReportRecord { job_id, account_id, arn, granularity, requested_by, created_at }))
    }

    async fn redeem_once(&mut self, account_id: &str, key: &str, expires_at: i64, now: i64) -> StoreResult<bool> {
        self.exec(sqlx::query("DELETE FROM redeemed_tokens WHERE expires_at < $1").bind(now)).await?;
        let q = sqlx::query("INSERT INTO redeemed_tokens (token_key, account_id, expires_at) VALUES ($1, $2, $3) ON CONFLICT (token_key) DO NOTHING")
            .bind(key)
            .bind(account_id)
            .bind(expires_at);
        Ok(self.exec(q).await? == 1)
    }

    async fn get_password_policy(&mut self, account_id: &str) -> StoreResult<Option<PasswordPolicyRecord>> {
        let row: Option<(String, i64, i64, i64, i64, i64, i64, Option<i64>, Option<i64>, i64)> = sqlx::query_as(
            "SELECT account_id, minimum_length, require_symbols, require_numbers, require_uppercase, require_lowercase, allow_users_to_change, max_age_days, reuse_prevention, hard_expiry FROM password_policies WHERE account_id = $1",
        )
        .bind(account_id)
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(backend)?;
        Ok(row.map(|r| PasswordPolicyRecord {
            account_id: r.0,
            minimum_length: r.1,
            require_symbols: r.2 != 0,
            require_numbers: r.3 != 0,
            require_uppercase: r.4 != 0,
            require_lowercase: r.5 != 0,
            allow_users_to_change: r.6 != 0,
            max_age_days: r.7,
            reuse_prevention: r.8,
            hard_expiry: r.9 != 0,
        }))
    }

    async fn put_password_policy(&mut self, rec: &PasswordPolicyRecord) -> StoreResult<()> {
        self.delete_password_policy(&rec.account_id).await?;
        let q = sqlx::query("INSERT INTO password_policies (account_id, minimum_length, require_symbols, require_numbers, require_uppercase, require_lowercase, allow_users_to_change, max_age_days, reuse_prevention, hard_expiry) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
            .bind(&rec.account_id)
            .bind(rec.minimum_length)
            .bind(i64::from(rec.require_symbols))
            .bind(i64::from(rec.require_numbers))
            .bind(i64::from(rec.require_uppercase))
            .bind(i64::from(rec.require_lowercase))
            .bind(i64::from(rec.allow_users_to_change))
            .bind(rec.max_age_days)
            .bind(rec.reuse_prevention)
            .bind(i64::from(rec.hard_expiry));
        self.exec(q).await.map(|_| ())
    }

    async fn delete_password_policy(&mut self, account_id: &str) -> StoreResult<bool> {
        self.exec(sqlx::query("DELETE FROM password_policies WHERE account_id = $1").bind(account_id)).await.map(|n| n > 0)
    }

    async fn password_history(&mut self, user_id: &str) -> StoreResult<Vec<String>> {
        let rows: Vec<(String,)> = sqlx::query_as("SELECT password_hash FROM password_history WHERE user_id = $1 ORDER BY seq DESC")
            .bind(user_id)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(backend)?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    async fn push_password_history(&mut self, user_id: &str, hash: &str, at: i64, keep: i64) -> StoreResult<()> {
        let q = sqlx::query("INSERT INTO password_history (user_id, changed_at, password_hash) VALUES ($1, $2, $3)").bind(user_id).bind(at).bind(hash);
        self.exec(q).await?;
        // Insertion order, not time: several changes may share a second.
        let rows: Vec<(i64,)> = sqlx::query_as("SELECT seq FROM password_history WHERE user_id = $1 ORDER BY seq DESC")
            .bind(user_id)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(backend)?;
        if let Some(cutoff) = rows.get(usize::try_from(keep).unwrap_or(0).saturating_sub(1)).map(|r| r.0) {
            let q = sqlx::query("DELETE FROM password_history WHERE user_id = $1 AND seq < $2").bind(user_id).bind(cutoff);
            self.exec(q).await?;
        }
        Ok(())
    }

    async fn get_credential_report(&mut self, account_id: &str) -> StoreResult<Option<(i64, String)>> {
        sqlx::query_as("SELECT generated_at, content FROM credential_reports WHERE account_id = $1")
            .bind(account_id)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(backend)
    }

    async fn put_credential_report(&mut self, account_id: &str, at: i64, content: &str) -> StoreResult<()> {
        self.exec(sqlx::query("DELETE FROM credential_reports WHERE account_id = $1").bind(account_id)).await?;
        let q = sqlx::query("INSERT INTO credential_reports (account_id, generated_at, content) VALUES ($1, $2, $3)").bind(account_id).bind(at).bind(content);
        self.exec(q).await.map(|_| ())
    }

    async fn upsert_login_profile(&mut self, rec: &LoginProfileRecord) -> StoreResult<()> {
        let q = sqlx::query("INSERT INTO login_profiles (user_id, password_hash, reset_required, created_at, password_changed_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash, reset_required = excluded.reset_required, password_changed_at = excluded.password_changed_at")
            .bind(&rec.user_id)
            .bind(&rec.password_hash)
            .bind(i64::from(rec.reset_required))
            .bind(rec.created_at)
            .bind(rec.password_changed_at);
        self.exec(q).await.map(|_| ())
    }

    async fn get_login_profile(&mut self, user_id: &str) -> StoreResult<Option<LoginProfileRecord>> {
        fetch_opt!(self, "SELECT user_id, password_hash, reset_required, created_at, password_changed_at FROM login_profiles WHERE user_id = $1".to_owned(), rows::login_profile, user_id)
    }

    async fn delete_login_profile(&mut self, user_id: &str) -> StoreResult<bool> {
        let q = sqlx::query("DELETE FROM login_profiles WHERE user_id = $1").bind(user_id);
        self.exec(q).await.map(|n| n > 0)
    }
}

type ConsoleStateRow = (String, String, String, String, i64, i64, i64);

fn console_state(r: ConsoleStateRow) -> ConsoleStateRecord {
    ConsoleStateRecord { state_id: r.0, kind: r.1, owner: r.2, body: r.3, created_at: r.4, last_seen: r.5, expires_at: r.6 }
}
