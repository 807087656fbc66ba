//! One change the import makes, as the IAM request it stands for: it describes itself in a
//! line, names its IAM operation and parameters (checked against botocore's model before
//! anything is written) and applies itself through the domain.

use portcullis_core::{Authorized, Iam, IamError, NewRole};
use portcullis_store::{PrincipalKind, Tag};

#[derive(Debug, Clone)]
pub enum Step {
    /// CreatePolicy: its version `v1`.
    CreatePolicy { name: String, path: String, arn: String, description: Option<String>, document: String, tags: Vec<(String, String)> },
    /// CreatePolicyVersion, expected to become `v{version}`. A filler version is deleted
    /// right away: it keeps the numbering where the source has gaps (deleted versions).
    CreatePolicyVersion { arn: String, version: u32, document: String, filler: bool },
    SetDefaultPolicyVersion { arn: String, version: u32 },
    DeletePolicyVersion { arn: String, version: u32 },
    CreateGroup { name: String, path: String },
    CreateUser { name: String, path: String, boundary: Option<String>, tags: Vec<(String, String)> },
    CreateRole {
        name: String,
        path: String,
        trust: String,
        description: Option<String>,
        max_session_duration: Option<i64>,
        boundary: Option<String>,
        tags: Vec<(String, String)>,
    },
    PutInlinePolicy { kind: PrincipalKind, principal: String, name: String, document: String },
    AttachPolicy { kind: PrincipalKind, principal: String, arn: String },
    AddUserToGroup { group: String, user: String },
    CreateInstanceProfile { name: String, path: String, tags: Vec<(String, String)> },
    AddRoleToInstanceProfile { profile: String, role: String },
}

/// `user`, `group`, `role`, and the capitalised form AWS's operation names use.
fn kind_words(kind: PrincipalKind) -> (&'static str, &'static str) {
    match kind {
        PrincipalKind::User => ("user", "User"),
        PrincipalKind::Group => ("group", "Group"),
        PrincipalKind::Role => ("role", "Role"),
    }
}

/// `NAME`, or `NAME (path /P/)` away from the root path.
fn named(name: &str, path: &str) -> String {
    if path == "/" {
        name.to_owned()
    } else {
        format!("{name} (path {path})")
    }
}

fn with_tags(what: String, tags: &[(String, String)]) -> String {
    if tags.is_empty() {
        what
    } else {
        let list: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{what} tagged {}", list.join(", "))
    }
}

fn tag_params(params: &mut Vec<(String, String)>, tags: &[(String, String)]) {
    for (i, (k, v)) in tags.iter().enumerate() {
        params.push((format!("Tags.member.{}.Key", i + 1), k.clone()));
        params.push((format!("Tags.member.{}.Value", i + 1), v.clone()));
    }
}

fn to_tags(tags: &[(String, String)]) -> Vec<Tag> {
    tags.iter().map(|(key, value)| Tag { key: key.clone(), value: value.clone() }).collect()
}

fn pairs<const N: usize>(items: [(&str, &str); N]) -> Vec<(String, String)> {
    items.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

impl Step {
    /// The line `--dry-run` prints and the import prints as it goes.
    pub fn describe(&self) -> String {
        match self {
            Step::CreatePolicy { arn, description, tags, .. } => {
                let desc = description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default();
                with_tags(format!("create policy {arn}{desc} with version v1"), tags)
            }
            Step::CreatePolicyVersion { arn, version, filler: false, .. } => format!("create policy version v{version} of {arn}"),
            Step::CreatePolicyVersion { arn, version, filler: true, .. } => {
                format!("create and delete policy version v{version} of {arn} (deleted at the source; keeps the version numbers)")
            }
            Step::SetDefaultPolicyVersion { arn, version } => format!("set v{version} as the default version of {arn}"),
            Step::DeletePolicyVersion { arn, version } => format!("delete policy version v{version} of {arn} (not at the source)"),
            Step::CreateGroup { name, path } => format!("create group {}", named(name, path)),
            Step::CreateUser { name, path, boundary, tags } => {
                let b = boundary.as_deref().map(|b| format!(" with permissions boundary {b}")).unwrap_or_default();
                with_tags(format!("create user {}{b}", named(name, path)), tags)
            }
            Step::CreateRole { name, path, description, max_session_duration, boundary, tags, .. } => {
                let mut extra = String::new();
                if let Some(d) = description {
                    extra += &format!(" ({d})");
                }
                if let Some(m) = max_session_duration {
                    extra += &format!(", max session {m} s");
                }
                if let Some(b) = boundary {
                    extra += &format!(", permissions boundary {b}");
                }
                with_tags(format!("create role {} with its trust policy{extra}", named(name, path)), tags)
            }
            Step::PutInlinePolicy { kind, principal, name, .. } => format!("put inline policy {name} on {} {principal}", kind_words(*kind).0),
            Step::AttachPolicy { kind, principal, arn } => format!("attach {arn} to {} {principal}", kind_words(*kind).0),
            Step::AddUserToGroup { group, user } => format!("add user {user} to group {group}"),
            Step::CreateInstanceProfile { name, path, tags } => with_tags(format!("create instance profile {}", named(name, path)), tags),
            Step::AddRoleToInstanceProfile { profile, role } => format!("add role {role} to instance profile {profile}"),
        }
    }

    /// The IAM operation and its query parameters, for botocore's input checks.
    pub fn request(&self) -> (String, Vec<(String, String)>) {
        match self {
            Step::CreatePolicy { name, path, description, document, tags, .. } => {
                let mut p = pairs([("PolicyName", name), ("Path", path), ("PolicyDocument", document)]);
                if let Some(d) = description {
                    p.push(("Description".to_owned(), d.clone()));
                }
                tag_params(&mut p, tags);
                ("CreatePolicy".to_owned(), p)
            }
            Step::CreatePolicyVersion { arn, document, .. } => {
                ("CreatePolicyVersion".to_owned(), pairs([("PolicyArn", arn), ("PolicyDocument", document)]))
            }
            Step::SetDefaultPolicyVersion { arn, version } => {
                ("SetDefaultPolicyVersion".to_owned(), pairs([("PolicyArn", arn), ("VersionId", &format!("v{version}"))]))
            }
            Step::DeletePolicyVersion { arn, version } => {
                ("DeletePolicyVersion".to_owned(), pairs([("PolicyArn", arn), ("VersionId", &format!("v{version}"))]))
            }
            Step::CreateGroup { name, path } => ("CreateGroup".to_owned(), pairs([("GroupName", name), ("Path", path)])),
            Step::CreateUser { name, path, boundary, tags } => {
                let mut p = pairs([("UserName", name), ("Path", path)]);
                if let Some(b) = boundary {
                    p.push(("PermissionsBoundary".to_owned(), b.clone()));
                }
                tag_params(&mut p, tags);
                ("CreateUser".to_owned(), p)
            }
            Step::CreateRole { name, path, trust, description, max_session_duration, boundary, tags } => {
                let mut p = pairs([("RoleName", name), ("Path", path), ("AssumeRolePolicyDocument", trust)]);
                if let Some(d) = description {
                    p.push(("Description".to_owned(), d.clone()));
                }
                if let Some(m) = max_session_duration {
                    p.push(("MaxSessionDuration".to_owned(), m.to_string()));
                }
                if let Some(b) = boundary {
                    p.push(("PermissionsBoundary".to_owned(), b.clone()));
                }
                tag_params(&mut p, tags);
                ("CreateRole".to_owned(), p)
            }
            Step::PutInlinePolicy { kind, principal, name, document } => {
                let k = kind_words(*kind).1;
                let member = format!("{k}Name");
                (format!("Put{k}Policy"), pairs([(member.as_str(), principal), ("PolicyName", name), ("PolicyDocument", document)]))
            }
            Step::AttachPolicy { kind, principal, arn } => {
                let k = kind_words(*kind).1;
                let member = format!("{k}Name");
                (format!("Attach{k}Policy"), pairs([(member.as_str(), principal), ("PolicyArn", arn)]))
            }
            Step::AddUserToGroup { group, user } => ("AddUserToGroup".to_owned(), pairs([("GroupName", group), ("UserName", user)])),
            Step::CreateInstanceProfile { name, path, tags } => {
                let mut p = pairs([("InstanceProfileName", name), ("Path", path)]);
                tag_params(&mut p, tags);
                ("CreateInstanceProfile".to_owned(), p)
            }
            Step::AddRoleToInstanceProfile { profile, role } => {
                ("AddRoleToInstanceProfile".to_owned(), pairs([("InstanceProfileName", profile), ("RoleName", role)]))
            }
        }
    }

    pub async fn apply(&self, iam: &Iam, auth: &Authorized<'_>) -> Result<(), IamError> {
        match self {
            Step::CreatePolicy { name, path, description, document, tags, .. } => {
                iam.create_policy(auth, name, Some(path), document, description.as_deref(), &to_tags(tags)).await?;
            }
            Step::CreatePolicyVersion { arn, version, document, filler } => {
                let (created, _) = iam.create_policy_version(auth, arn, document, false).await?;
                if created.version_id != format!("v{version}") {
                    return Err(IamError::ServiceFailure(format!(
                        "the new version of {arn} is {}, not v{version}: was the policy changed meanwhile?",
                        created.version_id
                    )));
                }
                if *filler {
                    iam.delete_policy_version(auth, arn, &created.version_id).await?;
                }
            }
            Step::SetDefaultPolicyVersion { arn, version } => iam.set_default_policy_version(auth, arn, &format!("v{version}")).await?,
            Step::DeletePolicyVersion { arn, version } => iam.delete_policy_version(auth, arn, &format!("v{version}")).await?,
            Step::CreateGroup { name, path } => {
                iam.create_group(auth, name, Some(path)).await?;
            }
            Step::CreateUser { name, path, boundary, tags } => {
                iam.create_user(auth, name, Some(path), boundary.as_deref(), &to_tags(tags)).await?;
            }
            Step::CreateRole { name, path, trust, description, max_session_duration, boundary, tags } => {
                let tags = to_tags(tags);
                let role = NewRole {
                    name,
                    path: Some(path),
                    trust_policy: trust,
                    description: description.as_deref(),
                    max_session_duration: *max_session_duration,
                    permissions_boundary: boundary.as_deref(),
                    tags: &tags,
                };
                iam.create_role(auth, role).await?;
            }
            Step::PutInlinePolicy { kind, principal, name, document } => iam.put_inline_policy(auth, *kind, principal, name, document).await?,
            Step::AttachPolicy { kind, principal, arn } => iam.attach_policy(auth, *kind, principal, arn).await?,
            Step::AddUserToGroup { group, user } => iam.add_user_to_group(auth, group, user).await?,
            Step::CreateInstanceProfile { name, path, tags } => {
                iam.create_instance_profile(auth, name, Some(path), &to_tags(tags)).await?;
            }
            Step::AddRoleToInstanceProfile { profile, role } => iam.add_role_to_instance_profile(auth, profile, role).await?,
        }
        Ok(())
    }

    /// The tags a step sets, for the summary.
    pub fn tag_count(&self) -> usize {
        match self {
            Step::CreatePolicy { tags, .. } | Step::CreateUser { tags, .. } | Step::CreateRole { tags, .. } | Step::CreateInstanceProfile { tags, .. } => {
                tags.len()
            }
            _ => 0,
        }
    }
}
