//! From a [`Snapshot`] and what the target account already holds to the list of steps, in
//! an order in which each one's references exist: policies, groups, users, roles. Entities
//! that exist already (same name, whatever the case) are skipped with everything that is
//! theirs. Every step is checked before the first is applied: botocore's input
//! constraints, policy grammar and sizes, and that every policy, group and boundary it
//! names exists in the file or in the target.

use std::collections::{HashMap, HashSet};

use portcullis_core::{iam_arn, Authorized, Iam, PageRequest};
use portcullis_policy::{limits, PolicyKind};
use portcullis_protocol::{QueryParams, ServiceModel};
use portcullis_store::PrincipalKind;

use super::file::{is_aws_managed, Inline, Policy, Snapshot};
use super::step::Step;

/// IAM's default quotas that a file could exceed: managed policies attached to one user,
/// group or role, and groups one user is in (the domain enforces the same numbers).
const ATTACHED_PER_PRINCIPAL: usize = 10;
const GROUPS_PER_USER: usize = 10;

/// What the target account holds, by lower-cased name.
#[derive(Debug, Default)]
pub struct Target {
    pub account: String,
    users: HashSet<String>,
    groups: HashSet<String>,
    roles: HashSet<String>,
    profiles: HashSet<String>,
    /// Customer managed policies: lower-cased name → ARN.
    policies: HashMap<String, String>,
}

impl Target {
    /// An account that holds nothing yet (a dry run on a database with no account).
    pub fn empty(account: &str) -> Self {
        Self { account: account.to_owned(), ..Self::default() }
    }

    pub async fn load(iam: &Iam, auth: &Authorized<'_>) -> anyhow::Result<Self> {
        let filter = ["User", "Group", "Role", "LocalManagedPolicy"].map(str::to_owned);
        let d = iam.authorization_details(auth, &filter).await?;
        let mut t = Self::empty(auth.account());
        t.users = d.users.iter().map(|u| u.user.name.to_lowercase()).collect();
        t.groups = d.groups.iter().map(|g| g.group.name.to_lowercase()).collect();
        t.roles = d.roles.iter().map(|r| r.role.name.to_lowercase()).collect();
        t.policies = d.policies.iter().map(|p| (p.policy.name.to_lowercase(), p.policy.arn.clone())).collect();
        let mut page = PageRequest { marker: None, max_items: Some(1000) };
        loop {
            let p = iam.list_instance_profiles(auth, None, &page).await?;
            t.profiles.extend(p.items.iter().map(|v| v.profile.name.to_lowercase()));
            match p.marker {
                Some(m) => page = PageRequest { marker: Some(m), max_items: Some(1000) },
                None => break,
            }
        }
        Ok(t)
    }
}

/// A line of the plan: a step, or an entity left alone (and why).
#[derive(Debug)]
pub enum Line {
    Do(Step),
    Skip(String),
}

#[derive(Debug, Default)]
pub struct Plan {
    pub lines: Vec<Line>,
    pub skipped: Skipped,
}

#[derive(Debug, Default)]
pub struct Skipped {
    pub existing: usize,
    pub aws_managed: usize,
    pub service_linked: usize,
}

struct Builder<'a> {
    iam: &'a Iam,
    target: &'a Target,
    /// Lower-cased policy name → the ARN it has (or will have) in the target.
    policy_arns: HashMap<String, String>,
    file_groups: HashSet<String>,
    plan: Plan,
    problems: Vec<String>,
}

/// Builds the plan, or every problem found (nothing has been written then).
pub fn build(iam: &Iam, snap: &Snapshot, target: &Target) -> Result<Plan, Vec<String>> {
    let mut policy_arns = target.policies.clone();
    for p in &snap.policies {
        policy_arns.entry(p.name.to_lowercase()).or_insert_with(|| iam_arn(&target.account, "policy", &p.path, &p.name));
    }
    let mut b = Builder {
        iam,
        target,
        policy_arns,
        file_groups: snap.groups.iter().map(|g| g.name.to_lowercase()).collect(),
        plan: Plan::default(),
        problems: Vec::new(),
    };
    for name in &snap.aws_managed {
        b.skip(format!("AWS managed policy {name}: built into the server"));
        b.plan.skipped.aws_managed += 1;
    }
    for p in &snap.policies {
        b.policy(p);
    }
    for g in &snap.groups {
        let what = format!("group {}", g.name);
        if b.exists(&target.groups, &g.name, &what) {
            continue;
        }
        b.step(&what, Step::CreateGroup { name: g.name.clone(), path: g.path.clone() });
        b.inline(PrincipalKind::Group, &g.name, &g.inline, limits::GROUP_INLINE_TOTAL);
        b.attachments(PrincipalKind::Group, &g.name, &g.attached);
    }
    for u in &snap.users {
        let what = format!("user {}", u.name);
        if b.exists(&target.users, &u.name, &what) {
            continue;
        }
        let boundary = u.boundary.as_deref().and_then(|arn| b.resolve(&what, arn));
        b.step(&what, Step::CreateUser { name: u.name.clone(), path: u.path.clone(), boundary, tags: u.tags.clone() });
        b.inline(PrincipalKind::User, &u.name, &u.inline, limits::USER_INLINE_TOTAL);
        b.attachments(PrincipalKind::User, &u.name, &u.attached);
        if u.groups.len() > GROUPS_PER_USER {
            b.problems.push(format!("{what}: in {} groups; IAM's quota is {GROUPS_PER_USER}", u.groups.len()));
        }
        for g in &u.groups {
            if !b.file_groups.contains(&g.to_lowercase()) && !target.groups.contains(&g.to_lowercase()) {
                b.problems.push(format!("{what}: group {g} is neither in the file nor in the target account"));
            }
            b.step(&what, Step::AddUserToGroup { group: g.clone(), user: u.name.clone() });
        }
    }
    for r in &snap.roles {
        let what = format!("role {}", r.name);
        // The service creates its service-linked roles (CreateServiceLinkedRole).
        if r.path.starts_with("/aws-service-role/") {
            b.skip(format!("{what}: a service-linked role; its service creates it"));
            b.plan.skipped.service_linked += 1;
            continue;
        }
        if b.exists(&target.roles, &r.name, &what) {
            continue;
        }
        b.document(&what, "trust policy", &r.trust, PolicyKind::Trust, limits::ROLE_TRUST_POLICY);
        let boundary = r.boundary.as_deref().and_then(|arn| b.resolve(&what, arn));
        b.step(
            &what,
            Step::CreateRole {
                name: r.name.clone(),
                path: r.path.clone(),
                trust: r.trust.clone(),
                description: r.description.clone(),
                max_session_duration: r.max_session_duration,
                boundary,
                tags: r.tags.clone(),
            },
        );
        b.inline(PrincipalKind::Role, &r.name, &r.inline, limits::ROLE_INLINE_TOTAL);
        b.attachments(PrincipalKind::Role, &r.name, &r.attached);
        for p in &r.profiles {
            let pw = format!("instance profile {}", p.name);
            if b.exists(&target.profiles, &p.name, &pw) {
                continue;
            }
            b.step(&pw, Step::CreateInstanceProfile { name: p.name.clone(), path: p.path.clone(), tags: p.tags.clone() });
            b.step(&pw, Step::AddRoleToInstanceProfile { profile: p.name.clone(), role: r.name.clone() });
        }
    }
    if b.problems.is_empty() {
        Ok(b.plan)
    } else {
        Err(b.problems)
    }
}

impl Builder<'_> {
    fn skip(&mut self, why: String) {
        self.plan.lines.push(Line::Skip(why));
    }

    /// Whether an entity of this name exists in the target (then it is skipped).
    fn exists(&mut self, names: &HashSet<String>, name: &str, what: &str) -> bool {
        let found = names.contains(&name.to_lowercase());
        if found {
            self.skip(format!("{what}: already exists; left as it is"));
            self.plan.skipped.existing += 1;
        }
        found
    }

    /// Adds a step after checking its input against botocore's model.
    fn step(&mut self, what: &str, step: Step) {
        let (op, params) = step.request();
        let query = QueryParams::from_pairs(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        match model().and_then(|m| m.operation(&op).map(|spec| (m, spec))) {
            Some((m, spec)) => {
                if let Err(e) = m.validate(spec, &query) {
                    self.problems.push(format!("{what}: {op}: {}", e.message));
                }
            }
            None => self.problems.push(format!("{what}: {op}: the IAM service model is not available")),
        }
        self.plan.lines.push(Line::Do(step));
    }

    fn document(&mut self, what: &str, which: &str, doc: &str, kind: PolicyKind, limit: usize) {
        if let Err(e) = portcullis_policy::parse(doc, kind) {
            self.problems.push(format!("{what}: {which}: MalformedPolicyDocument: {}", e.message));
        }
        if portcullis_policy::policy_size(doc) > limit {
            self.problems.push(format!("{what}: {which}: larger than IAM's quota of {limit} characters"));
        }
    }

    fn policy(&mut self, p: &Policy) {
        let what = format!("policy {}", p.name);
        if let Some(arn) = self.target.policies.get(&p.name.to_lowercase()) {
            self.skip(format!("{what}: already exists as {arn}; left as it is (the file's attachments use it)"));
            self.plan.skipped.existing += 1;
            return;
        }
        for (n, doc) in &p.versions {
            self.document(&what, &format!("version v{n}"), doc, PolicyKind::Identity, limits::MANAGED_POLICY);
        }
        let arn = self.policy_arns.get(&p.name.to_lowercase()).cloned().unwrap_or_default();
        let Some((first, first_doc)) = p.versions.first() else { return };
        // CreatePolicy makes v1. When the source's first version is later (v1 was deleted
        // there), v1 holds that version's document until the real one exists.
        self.step(
            &what,
            Step::CreatePolicy {
                name: p.name.clone(),
                path: p.path.clone(),
                arn: arn.clone(),
                description: p.description.clone(),
                document: first_doc.clone(),
                tags: p.tags.clone(),
            },
        );
        let mut default = 1;
        let mut stand_in_v1 = *first != 1;
        let mut next = 2;
        for (n, doc) in &p.versions {
            if *n == 1 {
                continue;
            }
            while next < *n {
                self.step(&what, Step::CreatePolicyVersion { arn: arn.clone(), version: next, document: doc.clone(), filler: true });
                next += 1;
            }
            self.step(&what, Step::CreatePolicyVersion { arn: arn.clone(), version: *n, document: doc.clone(), filler: false });
            next = n + 1;
            if stand_in_v1 {
                self.step(&what, Step::SetDefaultPolicyVersion { arn: arn.clone(), version: *n });
                self.step(&what, Step::DeletePolicyVersion { arn: arn.clone(), version: 1 });
                default = *n;
                stand_in_v1 = false;
            }
        }
        if default != p.default_version {
            self.step(&what, Step::SetDefaultPolicyVersion { arn, version: p.default_version });
        }
    }

    fn inline(&mut self, kind: PrincipalKind, principal: &str, list: &[Inline], total_limit: usize) {
        let what = format!("{} {principal}", kind.as_str());
        let mut total = 0;
        for (name, doc) in list {
            self.document(&what, &format!("inline policy {name}"), doc, PolicyKind::Identity, usize::MAX);
            total += portcullis_policy::policy_size(doc);
            let step = Step::PutInlinePolicy { kind, principal: principal.to_owned(), name: name.clone(), document: doc.clone() };
            self.step(&what, step);
        }
        if total > total_limit {
            self.problems.push(format!("{what}: its inline policies together exceed IAM's quota of {total_limit} characters"));
        }
    }

    fn attachments(&mut self, kind: PrincipalKind, principal: &str, arns: &[String]) {
        let what = format!("{} {principal}", kind.as_str());
        if arns.len() > ATTACHED_PER_PRINCIPAL {
            self.problems.push(format!("{what}: {} attached policies; IAM's quota is {ATTACHED_PER_PRINCIPAL}", arns.len()));
        }
        for arn in arns {
            if let Some(arn) = self.resolve(&what, arn) {
                self.step(&what, Step::AttachPolicy { kind, principal: principal.to_owned(), arn });
            }
        }
    }

    /// The target's ARN of a managed policy the file names (for an attachment or a
    /// boundary): AWS managed ones as they are, customer managed ones by name in the
    /// target account.
    fn resolve(&mut self, what: &str, arn: &str) -> Option<String> {
        if is_aws_managed(arn) {
            match self.iam.catalog().get(arn) {
                // Service-linked roles, the only ones these attach to, are skipped.
                Some(p) if p.is_service_role_policy() => {
                    self.problems.push(format!("{what}: {arn} is a service role policy, for service-linked roles only"));
                }
                Some(_) => return Some(arn.to_owned()),
                None => self.problems.push(format!("{what}: {arn} is not an AWS managed policy this server knows")),
            }
            return None;
        }
        let name = match arn.split_once(":policy/") {
            Some((head, tail)) if head.starts_with("arn:") && head.contains(":iam::") => tail.rsplit('/').next().unwrap_or(tail),
            _ => {
                self.problems.push(format!("{what}: {arn} is not a managed policy ARN"));
                return None;
            }
        };
        match self.policy_arns.get(&name.to_lowercase()) {
            Some(target) => Some(target.clone()),
            None => {
                self.problems.push(format!("{what}: policy {arn} is neither in the file's Policies nor in the target account"));
                None
            }
        }
    }
}

/// botocore's IAM model, read once.
fn model() -> Option<&'static ServiceModel> {
    static MODEL: std::sync::OnceLock<Option<ServiceModel>> = std::sync::OnceLock::new();
    MODEL.get_or_init(|| ServiceModel::load_gz(portcullis_protocol::IAM_MODEL_GZ).ok()).as_ref()
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failing test stops at the unwrap")]
mod tests {
    use std::sync::Arc;

    use super::*;

    async fn plan_of(json: &str) -> Result<Vec<String>, Vec<String>> {
        let env = crate::setup::open_ephemeral(Arc::new(portcullis_types::SystemClock)).await.unwrap();
        let snap = super::super::file::parse(json).unwrap();
        let plan = build(&env.iam, &snap, &Target::empty("123456789012"))?;
        Ok(plan
            .lines
            .iter()
            .map(|l| match l {
                Line::Do(s) => s.describe(),
                Line::Skip(why) => format!("skip {why}"),
            })
            .collect())
    }

    const DOC: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}"#;

    #[tokio::test]
    async fn versions_keep_their_numbers_and_default() {
        let json = format!(
            r#"{{"Policies": [{{"PolicyName": "p", "Arn": "arn:aws:iam::111122223333:policy/p", "PolicyVersionList": [
                {{"VersionId": "v2", "Document": {DOC}}}, {{"VersionId": "v4", "Document": {DOC}, "IsDefaultVersion": true}},
                {{"VersionId": "v5", "Document": {DOC}}}]}}]}}"#
        );
        let arn = "arn:aws:iam::123456789012:policy/p";
        assert_eq!(
            plan_of(&json).await.unwrap(),
            [
                format!("create policy {arn} with version v1"),
                format!("create policy version v2 of {arn}"),
                format!("set v2 as the default version of {arn}"),
                format!("delete policy version v1 of {arn} (not at the source)"),
                format!("create and delete policy version v3 of {arn} (deleted at the source; keeps the version numbers)"),
                format!("create policy version v4 of {arn}"),
                format!("create policy version v5 of {arn}"),
                format!("set v4 as the default version of {arn}"),
            ]
        );
    }

    #[tokio::test]
    async fn every_problem_is_reported_before_anything_is_written() {
        let json = format!(
            r#"{{"UserDetailList": [{{"UserName": "bad name", "GroupList": ["nowhere"],
                "AttachedManagedPolicies": [{{"PolicyArn": "arn:aws:iam::111122223333:policy/missing"}},
                                            {{"PolicyArn": "arn:aws:iam::aws:policy/aws-service-role/AWSSupportServiceRolePolicy"}}],
                "UserPolicyList": [{{"PolicyName": "p", "PolicyDocument": {{"Statement": [{{"Effect": "Maybe"}}]}}}}]}}],
                "RoleDetailList": [{{"RoleName": "r", "AssumeRolePolicyDocument": {DOC}}}]}}"#
        );
        let problems = plan_of(&json).await.unwrap_err();
        let all = problems.join("\n");
        assert!(all.contains("user bad name: CreateUser: The specified value for userName is invalid"), "{all}");
        assert!(all.contains("policy arn:aws:iam::111122223333:policy/missing is neither in the file's Policies nor in the target account"), "{all}");
        assert!(all.contains("is a service role policy"), "{all}");
        assert!(all.contains("group nowhere is neither in the file nor in the target account"), "{all}");
        assert!(all.contains("user bad name: inline policy p: MalformedPolicyDocument"), "{all}");
        assert!(all.contains("role r: trust policy: MalformedPolicyDocument"), "{all}");
    }
}
