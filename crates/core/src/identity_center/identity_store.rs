//! The identity store: users, groups and group memberships, with AWS's uniqueness rules
//! (user names and group display names, ignoring case), lookups by unique attribute and
//! membership checks. Bodies keep the API's member names.

use portcullis_store::{OrgObjectKind, OrgObjectRecord, StoreError, Tx};
use serde_json::{json, Map, Value};

use super::*;
use crate::Iam;

/// Members of CreateUser that are stored as given.
const USER_MEMBERS: [&str; 17] = [
    "UserName", "Name", "DisplayName", "NickName", "ProfileUrl", "Emails", "Addresses", "PhoneNumbers", "UserType", "Title", "PreferredLanguage", "Locale", "Timezone", "Photos",
    "Website", "Birthdate", "Roles",
];

fn stamp(m: &mut Map<String, Value>, at: i64, by: &str, created: bool) {
    if created {
        m.insert("CreatedAt".into(), json!(at));
        m.insert("CreatedBy".into(), json!(by));
    }
    m.insert("UpdatedAt".into(), json!(at));
    m.insert("UpdatedBy".into(), json!(by));
}

/// `userName` → `UserName`, `name.givenName` → `Name.GivenName` (UpdateUser's paths).
fn member_path(path: &str) -> Vec<String> {
    path.split('.')
        .map(|p| {
            let mut c = p.chars();
            c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
        })
        .collect()
}

fn user_key(name: &str) -> String {
    name.to_lowercase()
}

/// A membership's key: one per group and member.
fn membership_key(group_id: &str, user_id: &str) -> String {
    format!("{group_id}/{user_id}")
}

/// Users, and groups, an identity store holds at most (AWS's default quota).
const MAX_DIRECTORY_OBJECTS: i64 = 100_000;

/// Refuses one more user or group beyond the identity store's quota.
async fn check_quota(tx: &mut Box<dyn Tx>, dir: &Directory, kind: OrgObjectKind) -> IamResult<()> {
    if tx.count_org_objects(&dir.id, kind).await? >= MAX_DIRECTORY_OBJECTS {
        return Err(IamError::service("ServiceQuotaExceededException", "The request would cause the number of users or groups in the identity store to exceed the maximum allowed.", &[]));
    }
    Ok(())
}

fn user_not_found(id: &str) -> IamError {
    not_found("USER", id, "USER not found.")
}

fn group_not_found(id: &str) -> IamError {
    not_found("GROUP", id, "GROUP not found.")
}

fn membership_not_found(id: &str) -> IamError {
    not_found("GROUP_MEMBERSHIP", id, "GROUP_MEMBERSHIP not found.")
}

fn duplicate(what: &str) -> IamError {
    conflict("UNIQUENESS_CONSTRAINT_VIOLATION", &format!("Duplicate {what}"))
}

/// A user's or group's answer: its stored members and ids.
fn view(rec: &OrgObjectRecord, id_member: &str) -> IamResult<Value> {
    let mut m = object_body(rec)?;
    m.insert(id_member.to_owned(), json!(rec.object_id));
    m.insert("IdentityStoreId".to_owned(), json!(rec.org_id));
    Ok(Value::Object(m))
}

async fn object_in(tx: &mut Box<dyn Tx>, dir: &Directory, kind: OrgObjectKind, id: &str) -> IamResult<Option<OrgObjectRecord>> {
    Ok(tx.get_org_object(id).await?.filter(|r| r.kind == kind && r.org_id == dir.id))
}

fn filtered(items: Vec<OrgObjectRecord>, filters: &[(String, String)], member_of: impl Fn(&str) -> Option<&'static str>) -> IamResult<Vec<OrgObjectRecord>> {
    let mut out = Vec::new();
    'next: for rec in items {
        let body = object_body(&rec)?;
        for (path, value) in filters {
            let Some(member) = member_of(path) else {
                return Err(validation(format!("Invalid filter attribute path: {path}")));
            };
            if !text(&body, member).eq_ignore_ascii_case(value) {
                continue 'next;
            }
        }
        out.push(rec);
    }
    Ok(out)
}

/// A user or a group of an identity store (UpdateUser/UpdateGroup, DeleteUser/DeleteGroup).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectoryEntity {
    User,
    Group,
}

impl DirectoryEntity {
    fn kind(self) -> OrgObjectKind {
        match self {
            Self::User => OrgObjectKind::DirectoryUser,
            Self::Group => OrgObjectKind::DirectoryGroup,
        }
    }
}

impl Iam {
    pub async fn create_directory_user(&self, auth: &Authorized<'_>, store_id: &str, input: &Value) -> IamResult<Value> {
        let mut tx = self.store.begin().await?;
        let dir = directory(&mut tx, auth, store_id).await?;
        let user_name = input.get("UserName").and_then(Value::as_str).unwrap_or_default();
        if user_name.is_empty() {
            return Err(validation("UserName is a required attribute"));
        }
        if input.get("DisplayName").and_then(Value::as_str).is_none_or(str::is_empty) {
            return Err(validation("DisplayName is a required attribute"));
        }
        let mut body = Map::new();
        for k in USER_MEMBERS {
            if let Some(v) = input.get(k) {
                body.insert(k.to_owned(), v.clone());
            }
        }
        check_quota(&mut tx, &dir, OrgObjectKind::DirectoryUser).await?;
        body.insert("UserStatus".into(), json!("ENABLED"));
        stamp(&mut body, self.now(), auth.caller().arn().as_str(), true);
        let id = new_resource_id()?;
        let rec = OrgObjectRecord {
            object_id: id.clone(),
            org_id: dir.id.clone(),
            kind: OrgObjectKind::DirectoryUser,
            parent_id: None,
            unique_key: Some(user_key(user_name)),
            created_at: self.now(),
            body: Value::Object(body).to_string(),
        };
        tx.insert_org_object(&rec).await.map_err(|e| match e {
            StoreError::Conflict(_) => duplicate("UserName"),
            other => other.into(),
        })?;
        tx.commit().await?;
        Ok(json!({"UserId": id, "IdentityStoreId": dir.id}))
    }

    pub async fn describe_directory_user(&self, auth: &Authorized<'_>, store_id: &str, user_id: &str) -> IamResult<Value> {
        let mut tx = self.store.begin_read().await?;
        let dir = directory(&mut tx, auth, store_id).await?;
        let rec = object_in(&mut tx, &dir, OrgObjectKind::DirectoryUser, user_id).await?.ok_or_else(|| user_not_found(user_id))?;
        view(&rec, "UserId")
    }

    pub async fn list_directory_users(&self, auth: &Authorized<'_>, store_id: &str, filters: &[(String, String)], next: Option<&str>, max: Option<i64>) -> IamResult<SsoPage> {
        let mut tx = self.store.begin_read().await?;
        let dir = directory(&mut tx, auth, store_id).await?;
        let rows = tx.org_objects(&dir.id, OrgObjectKind::DirectoryUser, None).await?;
        let rows = filtered(rows, filters, |p| match p {
            "UserName" | "userName" => Some("UserName"),
            "DisplayName" | "displayName" => Some("DisplayName"),
            _ => None,
        })?;
        let all = rows.iter().map(|r| view(r, "UserId")).collect::<IamResult<Vec<_>>>()?;
        paginate(all, next, max, 100)
    }

    /// UpdateUser and UpdateGroup: each operation sets (or, without a value, removes) the
    /// member at its attribute path.
    pub async fn update_directory_object(&self, auth: &Authorized<'_>, store_id: &str, entity: DirectoryEntity, id: &str, operations: &[Value]) -> IamResult<()> {
        let kind = entity.kind();
        let mut tx = self.store.begin().await?;
        let dir = directory(&mut tx, auth, store_id).await?;
        let missing = || if kind == OrgObjectKind::DirectoryUser { user_not_found(id) } else { group_not_found(id) };
        let mut rec = object_in(&mut tx, &dir, kind, id).await?.ok_or_else(missing)?;
        let mut body = object_body(&rec)?;
        for op in operations {
            let path = member_path(op.get("AttributePath").and_then(Value::as_str).unwrap_or_default());
            let allowed: &[&str] = if kind == OrgObjectKind::DirectoryUser { &USER_MEMBERS } else { &["DisplayName", "Description"] };
            if path.is_empty() || !allowed.contains(&path[0].as_str()) {
                return Err(validation(format!("Invalid attribute path {}", op.get("AttributePath").and_then(Value::as_str).unwrap_or_default())));
            }
            set_path(&mut body, &path, op.get("AttributeValue").map(pascal_keys));
        }
        let unique = match kind {
            OrgObjectKind::DirectoryUser => "UserName",
            _ => "DisplayName",
        };
        let key = text(&body, unique);
        if key.is_empty() {
            return Err(validation(format!("{unique} is a required attribute")));
        }
        rec.unique_key = Some(user_key(&key));
        stamp(&mut body, self.now(), auth.caller().arn().as_str(), false);
        rec.body = Value::Object(body).to_string();
        tx.update_org_object(&rec).await.map_err(|e| match e {
            StoreError::Conflict(_) => duplicate(unique),
            other => other.into(),
        })?;
        tx.commit().await.map_err(Into::into)
    }

    /// DeleteUser and DeleteGroup: their memberships go with them.
    pub async fn delete_directory_object(&self, auth: &Authorized<'_>, store_id: &str, entity: DirectoryEntity, id: &str) -> IamResult<()> {
        let kind = entity.kind();
        let mut tx = self.store.begin().await?;
        let dir = directory(&mut tx, auth, store_id).await?;
        let missing = || if kind == OrgObjectKind::DirectoryUser { user_not_found(id) } else { group_not_found(id) };
        object_in(&mut tx, &dir, kind, id).await?.ok_or_else(missing)?;
        for m in tx.org_objects(&dir.id, OrgObjectKind::GroupMembership, None).await? {
            let body = object_body(&m)?;
            if m.parent_id.as_deref() == Some(id) || body.get("MemberId").and_then(|v| v.get("UserId")).and_then(Value::as_str) == Some(id) {
                tx.delete_org_object(&m.object_id).await?;
            }
        }
        tx.delete_org_object(id).await?;
        tx.commit().await.map_err(Into::into)
    }

    /// GetUserId: by `userName` or a primary `emails.value`, or an external id.
    pub async fn directory_user_id(&self, auth: &Authorized<'_>, store_id: &str, identifier: &Value) -> IamResult<Value> {
        let mut tx = self.store.begin_read().await?;
        let dir = directory(&mut tx, auth, store_id).await?;
        let (path, value) = unique_attribute(identifier)?;
        if path == "userName" {
            // User names are unique (without case): an index lookup.
            let rec = tx.org_object_by_key(&dir.id, OrgObjectKind::DirectoryUser, &user_key(&value)).await?;
            return rec.map(|r| json!({"UserId": r.object_id, "IdentityStoreId": dir.id})).ok_or_else(|| not_found("USER", "", "USER not found."));
        }
        let users = tx.org_objects(&dir.id, OrgObjectKind::DirectoryUser, None).await?;
        for rec in users {
            let body = object_body(&rec)?;
            let hit = match path.as_str() {
                "userName" => text(&body, "UserName").eq_ignore_ascii_case(&value),
                "emails.value" => body
                    .get("Emails")
                    .and_then(Value::as_array)
                    .is_some_and(|emails| emails.iter().any(|e| e.get("Value").and_then(Value::as_str).is_some_and(|v| v.eq_ignore_ascii_case(&value)))),
                _ => return Err(validation(format!("Invalid attribute path {path}"))),
            };
            if hit {
                return Ok(json!({"UserId": rec.object_id, "IdentityStoreId": dir.id}));
            }
        }
        Err(not_found("USER", "", "USER not found."))
    }

    pub async fn create_directory_group(&self, auth: &Authorized<'_>, store_id: &str, display_name: Option<&str>, description: Option<&str>) -> IamResult<Value> {
        let mut tx = self.store.begin().await?;
        let dir = directory(&mut tx, auth, store_id).await?;
        let Some(name) = display_name.filter(|n| !n.is_empty()) else {
            return Err(validation("DisplayName is a required attribute"));
        };
        check_quota(&mut tx, &dir, OrgObjectKind::DirectoryGroup).await?;
        let mut body = Map::new();
        body.insert("DisplayName".into(), json!(name));
        if let Some(d) = description {
            body.insert("Description".into(), json!(d));
        }
        stamp(&mut body, self.now(), auth.caller().arn().as_str(), true);
        let id = new_resource_id()?;
        let rec = OrgObjectRecord {
            object_id: id.clone(),
            org_id: dir.id.clone(),
            kind: OrgObjectKind::DirectoryGroup,
            parent_id: None,
            unique_key: Some(user_key(name)),
            created_at: self.now(),
            body: Value::Object(body).to_string(),
        };
        tx.insert_org_object(&rec).await.map_err(|e| match e {
            StoreError::Conflict(_) => duplicate("GroupDisplayName"),
            other => other.into(),
        })?;
        tx.commit().await?;
        Ok(json!({"GroupId": id, "IdentityStoreId": dir.id}))
    }

    pub async fn describe_directory_group(&self, auth: &Authorized<'_>, store_id: &str, group_id: &str) -> IamResult<Value> {
        let mut tx = self.store.begin_read().await?;
        let dir = directory(&mut tx, auth, store_id).await?;
        let rec = object_in(&mut tx, &dir, OrgObjectKind::DirectoryGroup, group_id).await?.ok_or_else(|| group_not_found(group_id))?;
        view(&rec, "GroupId")
    }

    pub async fn list_directory_groups(&self, auth: &Authorized<'_>, store_id: &str, filters: &[(String, String)], next: Option<&str>, max: Option<i64>) -> IamResult<SsoPage> {
        let mut tx = self.store.begin_read().await?;
        let dir = directory(&mut tx, auth, store_id).await?;
        let rows = tx.org_objects(&dir.id, OrgObjectKind::DirectoryGroup, None).await?;
        let rows = filtered(rows, filters, |p| matches!(p, "DisplayName" | "displayName").then_some("DisplayName"))?;
        let all = rows.iter().map(|r| view(r, "GroupId")).collect::<IamResult<Vec<_>>>()?;
        paginate(all, next, max, 100)
    }

    pub async fn directory_group_id(&self, auth: &Authorized<'_>, store_id: &str, identifier: &Value) -> IamResult<Value> {
        let mut tx = self.store.begin_read().await?;
        let dir = directory(&mut tx, auth, store_id).await?;
        let (path, value) = unique_attribute(identifier)?;
        if path != "displayName" {
            return Err(validation(format!("Invalid attribute path {path}")));
        }
        let rec = tx.org_object_by_key(&dir.id, OrgObjectKind::DirectoryGroup, &user_key(&value)).await?;
        rec.map(|r| json!({"GroupId": r.object_id, "IdentityStoreId": dir.id})).ok_or_else(|| not_found("GROUP", "", "GROUP not found."))
    }

    pub async fn create_group_membership(&self, auth: &Authorized<'_>, store_id: &str, group_id: &str, user_id: &str) -> IamResult<Value> {
        let mut tx = self.store.begin().await?;
        let dir = directory(&mut tx, auth, store_id).await?;
        object_in(&mut tx, &dir, OrgObjectKind::DirectoryGroup, group_id).await?.ok_or_else(|| group_not_found(group_id))?;
        object_in(&mut tx, &dir, OrgObjectKind::DirectoryUser, user_id).await?.ok_or_else(|| user_not_found(user_id))?;
        let mut body = Map::new();
        body.insert("GroupId".into(), json!(group_id));
        body.insert("MemberId".into(), json!({"UserId": user_id}));
        stamp(&mut body, self.now(), auth.caller().arn().as_str(), true);
        let id = new_resource_id()?;
        let rec = OrgObjectRecord {
            object_id: id.clone(),
            org_id: dir.id.clone(),
            kind: OrgObjectKind::GroupMembership,
            parent_id: Some(group_id.to_owned()),
            unique_key: Some(membership_key(group_id, user_id)),
            created_at: self.now(),
            body: Value::Object(body).to_string(),
        };
        tx.insert_org_object(&rec).await.map_err(|e| match e {
            StoreError::Conflict(_) => conflict("UNIQUENESS_CONSTRAINT_VIOLATION", "Member and Group relationship already exists."),
            other => other.into(),
        })?;
        tx.commit().await?;
        Ok(json!({"MembershipId": id, "IdentityStoreId": dir.id}))
    }

    pub async fn describe_group_membership(&self, auth: &Authorized<'_>, store_id: &str, membership_id: &str) -> IamResult<Value> {
        let mut tx = self.store.begin_read().await?;
        let dir = directory(&mut tx, auth, store_id).await?;
        let rec = object_in(&mut tx, &dir, OrgObjectKind::GroupMembership, membership_id).await?.ok_or_else(|| membership_not_found(membership_id))?;
        view(&rec, "MembershipId")
    }

    pub async fn delete_group_membership(&self, auth: &Authorized<'_>, store_id: &str, membership_id: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        let dir = directory(&mut tx, auth, store_id).await?;
        object_in(&mut tx, &dir, OrgObjectKind::GroupMembership, membership_id).await?.ok_or_else(|| membership_not_found(membership_id))?;
        tx.delete_org_object(membership_id).await?;
        tx.commit().await.map_err(Into::into)
    }

    /// ListGroupMemberships (of a group) and ListGroupMembershipsForMember (of a user).
    pub async fn list_group_memberships(&self, auth: &Authorized<'_>, store_id: &str, group_id: Option<&str>, user_id: Option<&str>, next: Option<&str>, max: Option<i64>) -> IamResult<SsoPage> {
        let mut tx = self.store.begin_read().await?;
        let dir = directory(&mut tx, auth, store_id).await?;
        if let Some(g) = group_id {
            object_in(&mut tx, &dir, OrgObjectKind::DirectoryGroup, g).await?.ok_or_else(|| group_not_found(g))?;
        }
        if let Some(u) = user_id {
            object_in(&mut tx, &dir, OrgObjectKind::DirectoryUser, u).await?.ok_or_else(|| user_not_found(u))?;
        }
        let mut all = Vec::new();
        for rec in tx.org_objects(&dir.id, OrgObjectKind::GroupMembership, group_id).await? {
            let v = view(&rec, "MembershipId")?;
            if user_id.is_none_or(|u| v["MemberId"]["UserId"].as_str() == Some(u)) {
                all.push(v);
            }
        }
        paginate(all, next, max, 100)
    }

    pub async fn group_membership_id(&self, auth: &Authorized<'_>, store_id: &str, group_id: &str, user_id: &str) -> IamResult<Value> {
        let mut tx = self.store.begin_read().await?;
        let dir = directory(&mut tx, auth, store_id).await?;
        let rec = tx.org_object_by_key(&dir.id, OrgObjectKind::GroupMembership, &membership_key(group_id, user_id)).await?;
        rec.map(|r| json!({"MembershipId": r.object_id, "IdentityStoreId": dir.id})).ok_or_else(|| not_found("GROUP_MEMBERSHIP", "", "GROUP_MEMBERSHIP not found."))
    }

    pub async fn is_member_in_groups(&self, auth: &Authorized<'_>, store_id: &str, user_id: &str, group_ids: &[String]) -> IamResult<Value> {
        let mut tx = self.store.begin_read().await?;
        let dir = directory(&mut tx, auth, store_id).await?;
        let mut results = Vec::new();
        for g in group_ids {
            let exists = tx.org_object_by_key(&dir.id, OrgObjectKind::GroupMembership, &membership_key(g, user_id)).await?.is_some();
            results.push(json!({"GroupId": g, "MemberId": {"UserId": user_id}, "MembershipExists": exists}));
        }
        Ok(json!({"Results": results}))
    }
}

/// A `UniqueAttribute` alternate identifier: (attribute path, value).
fn unique_attribute(identifier: &Value) -> IamResult<(String, String)> {
    if let Some(u) = identifier.get("UniqueAttribute") {
        let path = u.get("AttributePath").and_then(Value::as_str).unwrap_or_default().to_owned();
        let value = match u.get("AttributeValue") {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => String::new(),
        };
        return Ok((path, value));
    }
    Err(validation("Only the UniqueAttribute alternate identifier is supported."))
}

/// A value with its objects' keys as the API's members (`value` → `Value`): UpdateUser's
/// values use SCIM's lowerCamel names.
fn pascal_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (member_path(k).concat(), pascal_keys(v))).collect()),
        Value::Array(a) => Value::Array(a.iter().map(pascal_keys).collect()),
        other => other.clone(),
    }
}

/// Sets (or removes, for `None`) the member at a path of nested objects.
fn set_path(body: &mut Map<String, Value>, path: &[String], value: Option<Value>) {
    match path {
        [] => {}
        [last] => match value {
            Some(v) if !v.is_null() => {
                body.insert(last.clone(), v);
            }
            _ => {
                body.remove(last);
            }
        },
        [first, rest @ ..] => {
            let entry = body.entry(first.clone()).or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            if let Value::Object(inner) = entry {
                set_path(inner, rest, value);
            }
        }
    }
}
