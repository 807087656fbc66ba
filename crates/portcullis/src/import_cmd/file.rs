//! What `portcullis import` reads: the JSON that `aws iam get-account-authorization-details`
//! prints (boto3's response dumped as JSON is the same shape), read into a [`Snapshot`]
//! whose policy documents are JSON text and whose policy versions are in order.
//!
//! Accepted, field by field (AWS's names; anything else, such as ids, dates, `RoleLastUsed`
//! or `IsTruncated`, is ignored):
//! - `UserDetailList`: `UserName`, `Path`, `GroupList`, `AttachedManagedPolicies`
//!   (`PolicyArn`), `UserPolicyList` (`PolicyName`, `PolicyDocument`),
//!   `PermissionsBoundary.PermissionsBoundaryArn`, `Tags`.
//! - `GroupDetailList`: `GroupName`, `Path`, `GroupPolicyList`, `AttachedManagedPolicies`.
//! - `RoleDetailList`: `RoleName`, `Path`, `AssumeRolePolicyDocument`, `Description`,
//!   `MaxSessionDuration`, `RolePolicyList`, `AttachedManagedPolicies`,
//!   `PermissionsBoundary`, `Tags`, `InstanceProfileList` (`InstanceProfileName`, `Path`,
//!   `Tags`).
//! - `Policies`: `PolicyName`, `Path`, `Arn`, `Description`, `Tags`, and either
//!   `PolicyVersionList` (`Document`, `VersionId`, `IsDefaultVersion`) with
//!   `DefaultVersionId`, or one `Document`/`PolicyDocument` (a `list-policies --scope Local`
//!   listing with each policy's document added), which becomes `v1`.
//!
//! A policy document is a JSON object, a string holding JSON, or the URL-encoded string the
//! raw API answers with (`%7B%22Version%22…`).

use std::collections::HashSet;

use anyhow::{anyhow, bail, Context};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DetailsFile {
    user_detail_list: Option<Vec<UserIn>>,
    group_detail_list: Option<Vec<GroupIn>>,
    role_detail_list: Option<Vec<RoleIn>>,
    policies: Option<Vec<PolicyIn>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UserIn {
    user_name: String,
    path: Option<String>,
    #[serde(default)]
    group_list: Vec<String>,
    #[serde(default)]
    attached_managed_policies: Vec<AttachedIn>,
    #[serde(default)]
    user_policy_list: Vec<InlineIn>,
    permissions_boundary: Option<BoundaryIn>,
    #[serde(default)]
    tags: Vec<TagIn>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GroupIn {
    group_name: String,
    path: Option<String>,
    #[serde(default)]
    group_policy_list: Vec<InlineIn>,
    #[serde(default)]
    attached_managed_policies: Vec<AttachedIn>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RoleIn {
    role_name: String,
    path: Option<String>,
    assume_role_policy_document: Value,
    description: Option<String>,
    max_session_duration: Option<i64>,
    #[serde(default)]
    role_policy_list: Vec<InlineIn>,
    #[serde(default)]
    attached_managed_policies: Vec<AttachedIn>,
    permissions_boundary: Option<BoundaryIn>,
    #[serde(default)]
    tags: Vec<TagIn>,
    #[serde(default)]
    instance_profile_list: Vec<ProfileIn>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ProfileIn {
    instance_profile_name: String,
    path: Option<String>,
    #[serde(default)]
    tags: Vec<TagIn>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PolicyIn {
    policy_name: String,
    path: Option<String>,
    arn: Option<String>,
    description: Option<String>,
    default_version_id: Option<String>,
    policy_version_list: Option<Vec<VersionIn>>,
    document: Option<Value>,
    policy_document: Option<Value>,
    #[serde(default)]
    tags: Vec<TagIn>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct VersionIn {
    document: Value,
    version_id: String,
    #[serde(default)]
    is_default_version: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InlineIn {
    policy_name: String,
    policy_document: Value,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AttachedIn {
    policy_arn: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BoundaryIn {
    permissions_boundary_arn: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagIn {
    key: String,
    value: String,
}

/// An inline policy: (name, document).
pub type Inline = (String, String);

#[derive(Debug)]
pub struct User {
    pub name: String,
    pub path: String,
    pub groups: Vec<String>,
    pub attached: Vec<String>,
    pub inline: Vec<Inline>,
    pub boundary: Option<String>,
    pub tags: Vec<(String, String)>,
}

#[derive(Debug)]
pub struct Group {
    pub name: String,
    pub path: String,
    pub attached: Vec<String>,
    pub inline: Vec<Inline>,
}

#[derive(Debug)]
pub struct Role {
    pub name: String,
    pub path: String,
    pub trust: String,
    pub description: Option<String>,
    pub max_session_duration: Option<i64>,
    pub attached: Vec<String>,
    pub inline: Vec<Inline>,
    pub boundary: Option<String>,
    pub tags: Vec<(String, String)>,
    pub profiles: Vec<Profile>,
}

#[derive(Debug)]
pub struct Profile {
    pub name: String,
    pub path: String,
    pub tags: Vec<(String, String)>,
}

/// A customer managed policy with its versions, ordered by version number.
#[derive(Debug)]
pub struct Policy {
    pub name: String,
    pub path: String,
    pub description: Option<String>,
    pub tags: Vec<(String, String)>,
    /// (version number, document): `v3` is 3.
    pub versions: Vec<(u32, String)>,
    pub default_version: u32,
}

/// Everything the file describes. AWS managed policies (listed because they are attached)
/// are kept by name only: they are built into the server.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    pub roles: Vec<Role>,
    pub policies: Vec<Policy>,
    pub aws_managed: Vec<String>,
}

/// Reads and checks the file: JSON shape, documents, duplicate names, version lists.
pub fn read(path: &std::path::Path) -> anyhow::Result<Snapshot> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse(&text).with_context(|| format!("{} is not an authorization details file", path.display()))
}

pub fn parse(text: &str) -> anyhow::Result<Snapshot> {
    let file: DetailsFile = serde_json::from_str(text)?;
    if file.user_detail_list.is_none() && file.group_detail_list.is_none() && file.role_detail_list.is_none() && file.policies.is_none() {
        bail!("expected a JSON object with at least one of UserDetailList, GroupDetailList, RoleDetailList, Policies (the output of `aws iam get-account-authorization-details`)");
    }
    let mut snap = Snapshot::default();
    for u in file.user_detail_list.unwrap_or_default() {
        let what = format!("user {}", u.user_name);
        snap.users.push(User {
            path: u.path.unwrap_or_else(|| "/".to_owned()),
            groups: u.group_list,
            attached: u.attached_managed_policies.into_iter().map(|a| a.policy_arn).collect(),
            inline: inline(u.user_policy_list, &what)?,
            boundary: u.permissions_boundary.map(|b| b.permissions_boundary_arn),
            tags: tags(u.tags),
            name: u.user_name,
        });
    }
    for g in file.group_detail_list.unwrap_or_default() {
        let what = format!("group {}", g.group_name);
        snap.groups.push(Group {
            path: g.path.unwrap_or_else(|| "/".to_owned()),
            attached: g.attached_managed_policies.into_iter().map(|a| a.policy_arn).collect(),
            inline: inline(g.group_policy_list, &what)?,
            name: g.group_name,
        });
    }
    for r in file.role_detail_list.unwrap_or_default() {
        let what = format!("role {}", r.role_name);
        snap.roles.push(Role {
            path: r.path.unwrap_or_else(|| "/".to_owned()),
            trust: document(&r.assume_role_policy_document).with_context(|| format!("{what}: AssumeRolePolicyDocument"))?,
            description: r.description.filter(|d| !d.is_empty()),
            max_session_duration: r.max_session_duration,
            attached: r.attached_managed_policies.into_iter().map(|a| a.policy_arn).collect(),
            inline: inline(r.role_policy_list, &what)?,
            boundary: r.permissions_boundary.map(|b| b.permissions_boundary_arn),
            tags: tags(r.tags),
            profiles: r
                .instance_profile_list
                .into_iter()
                .map(|p| Profile { name: p.instance_profile_name, path: p.path.unwrap_or_else(|| "/".to_owned()), tags: tags(p.tags) })
                .collect(),
            name: r.role_name,
        });
    }
    for p in file.policies.unwrap_or_default() {
        if p.arn.as_deref().is_some_and(is_aws_managed) {
            snap.aws_managed.push(p.policy_name);
            continue;
        }
        snap.policies.push(policy(p)?);
    }
    check_unique("user", snap.users.iter().map(|u| u.name.as_str()))?;
    check_unique("group", snap.groups.iter().map(|g| g.name.as_str()))?;
    check_unique("role", snap.roles.iter().map(|r| r.name.as_str()))?;
    check_unique("policy", snap.policies.iter().map(|p| p.name.as_str()))?;
    check_unique("instance profile", snap.roles.iter().flat_map(|r| r.profiles.iter().map(|p| p.name.as_str())))?;
    Ok(snap)
}

/// `arn:aws:iam::aws:policy/…` (in any partition): a policy AWS provides.
pub fn is_aws_managed(arn: &str) -> bool {
    let mut parts = arn.splitn(6, ':');
    let (arn_, _partition, service, _region, account) = (parts.next(), parts.next(), parts.next(), parts.next(), parts.next());
    arn_ == Some("arn") && service == Some("iam") && account == Some("aws")
}

fn policy(p: PolicyIn) -> anyhow::Result<Policy> {
    let what = format!("policy {}", p.policy_name);
    let mut versions = Vec::new();
    let default_version = match (p.policy_version_list, p.document.or(p.policy_document)) {
        (Some(list), _) if !list.is_empty() => {
            let mut default = None;
            for v in list {
                let n = version_number(&v.version_id).with_context(|| what.clone())?;
                let doc = document(&v.document).with_context(|| format!("{what} version {}", v.version_id))?;
                if v.is_default_version {
                    default = Some(n);
                }
                versions.push((n, doc));
            }
            versions.sort_by_key(|(n, _)| *n);
            if versions.windows(2).any(|w| w[0].0 == w[1].0) {
                bail!("{what}: a version is listed twice");
            }
            match (default, p.default_version_id.as_deref()) {
                (Some(n), _) => n,
                (None, Some(id)) => version_number(id).with_context(|| what.clone())?,
                (None, None) => versions.last().map_or(1, |(n, _)| *n),
            }
        }
        (_, Some(doc)) => {
            versions.push((1, document(&doc).with_context(|| format!("{what}: Document"))?));
            1
        }
        (_, None) => bail!("{what}: no PolicyVersionList and no Document: its document is needed"),
    };
    if !versions.iter().any(|(n, _)| *n == default_version) {
        bail!("{what}: the default version v{default_version} is not among its versions");
    }
    if versions.len() > 5 {
        bail!("{what}: {} versions; a managed policy has at most 5", versions.len());
    }
    Ok(Policy {
        name: p.policy_name,
        path: p.path.unwrap_or_else(|| "/".to_owned()),
        description: p.description.filter(|d| !d.is_empty()),
        tags: tags(p.tags),
        versions,
        default_version,
    })
}

/// `v3` → 3.
fn version_number(id: &str) -> anyhow::Result<u32> {
    id.strip_prefix('v')
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|n| *n >= 1)
        .ok_or_else(|| anyhow!("version id {id:?} is not of the form v1, v2, …"))
}

fn inline(list: Vec<InlineIn>, what: &str) -> anyhow::Result<Vec<Inline>> {
    let mut out = Vec::with_capacity(list.len());
    for p in list {
        let doc = document(&p.policy_document).with_context(|| format!("{what}: inline policy {}", p.policy_name))?;
        out.push((p.policy_name, doc));
    }
    check_unique(&format!("{what}: inline policy"), out.iter().map(|(n, _)| n.as_str()))?;
    Ok(out)
}

fn tags(list: Vec<TagIn>) -> Vec<(String, String)> {
    list.into_iter().map(|t| (t.key, t.value)).collect()
}

/// A policy document as JSON text: an object is written out (keys in the file's order), a
/// string is taken as JSON, or URL-decoded first when it is not JSON as it stands.
pub fn document(v: &Value) -> anyhow::Result<String> {
    match v {
        Value::Object(_) => Ok(serde_json::to_string(v)?),
        Value::String(s) => {
            if serde_json::from_str::<serde_json::Map<String, Value>>(s).is_ok() {
                return Ok(s.clone());
            }
            let decoded = percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map_err(|_| anyhow!("the URL-encoded policy document is not UTF-8"))?
                .into_owned();
            match serde_json::from_str::<serde_json::Map<String, Value>>(&decoded) {
                Ok(_) => Ok(decoded),
                Err(e) => bail!("the policy document is neither a JSON object nor a URL-encoded one: {e}"),
            }
        }
        _ => bail!("a policy document must be a JSON object or a string"),
    }
}

/// Names of one kind are unique in an account, whatever their case.
fn check_unique<'a>(what: &str, names: impl Iterator<Item = &'a str>) -> anyhow::Result<()> {
    let mut seen = HashSet::new();
    for n in names {
        if !seen.insert(n.to_lowercase()) {
            bail!("{what} {n} appears more than once");
        }
    }
    Ok(())
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failing test stops at the unwrap")]
mod tests {
    use super::*;

    #[test]
    fn documents_as_objects_json_strings_and_url_encoded_strings() {
        let obj = serde_json::json!({"Version": "2012-10-17", "Statement": []});
        assert_eq!(document(&obj).unwrap(), r#"{"Version":"2012-10-17","Statement":[]}"#);
        let text = Value::String(r#"{"Version": "2012-10-17"}"#.to_owned());
        assert_eq!(document(&text).unwrap(), r#"{"Version": "2012-10-17"}"#);
        let encoded = Value::String("%7B%22Version%22%3A%20%222012-10-17%22%7D".to_owned());
        assert_eq!(document(&encoded).unwrap(), r#"{"Version": "2012-10-17"}"#);
        assert!(document(&Value::String("not json".to_owned())).is_err());
        assert!(document(&serde_json::json!(3)).is_err());
    }

    #[test]
    fn versions_in_order_with_their_default() {
        let snap = parse(
            r#"{"Policies": [{"PolicyName": "p", "Arn": "arn:aws:iam::111122223333:policy/p", "DefaultVersionId": "v2",
                "PolicyVersionList": [
                  {"VersionId": "v4", "IsDefaultVersion": false, "Document": {"Version": "2012-10-17"}},
                  {"VersionId": "v2", "IsDefaultVersion": true, "Document": {"Version": "2012-10-17"}}]},
               {"PolicyName": "ReadOnlyAccess", "Arn": "arn:aws:iam::aws:policy/ReadOnlyAccess", "PolicyVersionList": []}]}"#,
        )
        .unwrap();
        assert_eq!(snap.policies.len(), 1);
        let p = &snap.policies[0];
        assert_eq!(p.versions.iter().map(|(n, _)| *n).collect::<Vec<_>>(), [2, 4]);
        assert_eq!(p.default_version, 2);
        assert_eq!(snap.aws_managed, ["ReadOnlyAccess"]);
    }

    #[test]
    fn a_listing_with_documents_is_one_version() {
        let snap = parse(r#"{"Policies": [{"PolicyName": "p", "Path": "/x/", "PolicyDocument": "%7B%7D"}]}"#).unwrap();
        assert_eq!(snap.policies[0].versions, [(1, "{}".to_owned())]);
        assert_eq!(snap.policies[0].path, "/x/");
    }

    #[test]
    fn refuses_what_is_not_a_details_file() {
        assert!(parse("[]").is_err());
        assert!(parse("{}").is_err());
        assert!(parse(r#"{"UserDetailList": [{"Path": "/"}]}"#).is_err());
        assert!(parse(r#"{"UserDetailList": [{"UserName": "a"}, {"UserName": "A"}]}"#).is_err());
        assert!(parse(r#"{"Policies": [{"PolicyName": "p"}]}"#).is_err());
        assert!(parse(r#"{"Policies": [{"PolicyName": "p", "DefaultVersionId": "v2", "PolicyVersionList": [{"VersionId": "v1", "Document": {}}]}]}"#).is_err());
    }

    #[test]
    fn aws_managed_arns() {
        assert!(is_aws_managed("arn:aws:iam::aws:policy/ReadOnlyAccess"));
        assert!(is_aws_managed("arn:aws-us-gov:iam::aws:policy/job-function/ViewOnlyAccess"));
        assert!(!is_aws_managed("arn:aws:iam::111122223333:policy/aws"));
    }
}
