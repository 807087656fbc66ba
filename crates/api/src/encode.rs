//! XML encodings of IAM's shapes, member order as botocore's model defines it.

use portcullis_core::{group_arn, InstanceProfileView, ManagedPolicyView, RoleView, ServerCertificateView, UserCredentialView, UserView};
use portcullis_protocol::XmlWriter;
use portcullis_core::views::{AccessKey, Group, PolicyVersion, Role, Tag};
use time::OffsetDateTime;

pub fn ts(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

pub fn tags(w: &mut XmlWriter, name: &str, tags: &[Tag]) {
    w.list(name, tags, |w, t| {
        w.leaf("Key", &t.key).leaf("Value", &t.value);
    });
}

/// `PermissionsBoundary`: AWS answers the type `Policy` (recorded), though its model's enum
/// spells the value `PermissionsBoundaryPolicy`.
fn boundary(w: &mut XmlWriter, arn: Option<&str>) {
    if let Some(arn) = arn {
        w.start("PermissionsBoundary")
            .leaf("PermissionsBoundaryType", "Policy")
            .leaf("PermissionsBoundaryArn", arn)
            .end("PermissionsBoundary");
    }
}

/// The members of a `User` (without the wrapping element).
pub fn user_members(w: &mut XmlWriter, u: &UserView, with_tags: bool) {
    if !u.user.path.is_empty() {
        w.leaf("Path", &u.user.path);
    }
    if !u.user.name.is_empty() {
        w.leaf("UserName", &u.user.name);
    }
    w.leaf("UserId", &u.user.user_id).leaf("Arn", &u.arn).time("CreateDate", ts(u.user.created_at));
    w.opt_time("PasswordLastUsed", u.user.password_last_used.map(ts));
    // Listings (ListUsers, a group's users) carry neither the boundary nor tags.
    if with_tags {
        boundary(w, u.user.permissions_boundary.as_deref());
    }
    if with_tags && !u.tags.is_empty() {
        tags(w, "Tags", &u.tags);
    }
}

pub fn user(w: &mut XmlWriter, name: &str, u: &UserView, with_tags: bool) {
    w.start(name);
    user_members(w, u, with_tags);
    w.end(name);
}

pub fn group_members(w: &mut XmlWriter, g: &Group) {
    w.leaf("Path", &g.path)
        .leaf("GroupName", &g.name)
        .leaf("GroupId", &g.group_id)
        .leaf("Arn", &group_arn(g))
        .time("CreateDate", ts(g.created_at));
}

/// The members `Role` and `RoleDetail` begin with.
fn role_head(w: &mut XmlWriter, role: &Role, arn: &str) {
    w.leaf("Path", &role.path)
        .leaf("RoleName", &role.name)
        .leaf("RoleId", &role.role_id)
        .leaf("Arn", arn)
        .time("CreateDate", ts(role.created_at))
        .document("AssumeRolePolicyDocument", &role.assume_role_policy);
}

/// `RoleLastUsed`, in `Role` (GetRole) and `RoleDetail`.
fn role_last_used(w: &mut XmlWriter, role: &Role) {
    w.start("RoleLastUsed");
    w.opt_time("LastUsedDate", role.last_used_at.map(ts));
    w.opt("Region", role.last_used_region.as_deref());
    w.end("RoleLastUsed");
}

pub fn server_certificate_metadata(w: &mut XmlWriter, c: &ServerCertificateView) {
    w.leaf("Path", &c.record.path)
        .leaf("ServerCertificateName", &c.record.name)
        .leaf("ServerCertificateId", &c.record.server_certificate_id)
        .leaf("Arn", &c.arn)
        .time("UploadDate", ts(c.record.created_at))
        .time("Expiration", ts(c.record.expires_at));
}

/// `SSHPublicKey` (UploadSSHPublicKey, GetSSHPublicKey).
pub fn ssh_public_key(w: &mut XmlWriter, k: &UserCredentialView) {
    w.start("SSHPublicKey")
        .leaf("UserName", &k.user_name)
        .leaf("SSHPublicKeyId", &k.record.credential_id)
        .leaf("Fingerprint", k.record.detail.as_deref().unwrap_or_default())
        .leaf("SSHPublicKeyBody", &k.record.body)
        .leaf("Status", k.record.status.as_str())
        .time("UploadDate", ts(k.record.created_at))
        .end("SSHPublicKey");
}

pub fn signing_certificate_members(w: &mut XmlWriter, c: &UserCredentialView) {
    w.leaf("UserName", &c.user_name)
        .leaf("CertificateId", &c.record.credential_id)
        .leaf("CertificateBody", &c.record.body)
        .leaf("Status", c.record.status.as_str())
        .time("UploadDate", ts(c.record.created_at));
}

/// Whether a service's credentials are API keys (an alias and a secret) rather than a user
/// name and a password.
fn is_api_key(service: &str) -> bool {
    service == "bedrock.amazonaws.com"
}

/// `ServiceSpecificCredential`, with the password or secret shown this once.
pub fn service_specific_credential(w: &mut XmlWriter, c: &UserCredentialView) {
    let r = &c.record;
    let secret = c.secret.as_deref().unwrap_or_default();
    let user = r.detail.as_deref().unwrap_or_default();
    w.start("ServiceSpecificCredential").time("CreateDate", ts(r.created_at));
    w.opt_time("ExpirationDate", r.expires_at.map(ts));
    w.leaf("ServiceName", &r.body);
    if is_api_key(&r.body) {
        w.leaf("ServiceCredentialAlias", user).leaf("ServiceCredentialSecret", secret);
    } else {
        w.leaf("ServiceUserName", user).leaf("ServicePassword", secret);
    }
    w.leaf("ServiceSpecificCredentialId", &r.credential_id).leaf("UserName", &c.user_name).leaf("Status", r.status.as_str());
    w.end("ServiceSpecificCredential");
}

pub fn service_specific_credential_metadata(w: &mut XmlWriter, c: &UserCredentialView) {
    let r = &c.record;
    let user = r.detail.as_deref().unwrap_or_default();
    w.leaf("UserName", &c.user_name).leaf("Status", r.status.as_str());
    if is_api_key(&r.body) {
        w.leaf("ServiceCredentialAlias", user);
    } else {
        w.leaf("ServiceUserName", user);
    }
    w.time("CreateDate", ts(r.created_at));
    w.opt_time("ExpirationDate", r.expires_at.map(ts));
    w.leaf("ServiceSpecificCredentialId", &r.credential_id).leaf("ServiceName", &r.body);
}

/// An `InstanceProfile`'s members; its roles carry only the head of `Role`, as AWS sends
/// them. `Tags` is sent when asked for (GetInstanceProfile, even empty) and never in lists.
pub fn instance_profile_members(w: &mut XmlWriter, p: &InstanceProfileView, with_tags: bool) {
    w.leaf("Path", &p.profile.path)
        .leaf("InstanceProfileName", &p.profile.name)
        .leaf("InstanceProfileId", &p.profile.instance_profile_id)
        .leaf("Arn", &p.arn)
        .time("CreateDate", ts(p.profile.created_at));
    w.list("Roles", &p.roles, |w, r| role_head(w, &r.role, &r.arn));
    if with_tags {
        tags(w, "Tags", &p.tags);
    }
}

/// Which answer a `Role` is part of: AWS sends different members in each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleShape {
    /// CreateRole: no Description, MaxSessionDuration or RoleLastUsed (recorded from AWS).
    Created,
    /// UpdateRoleDescription: as CreateRole, with the Description.
    DescriptionUpdated,
    /// GetRole: everything.
    Full,
    /// ListRoles, CreateServiceLinkedRole: no boundary, tags or RoleLastUsed.
    Listed,
}

pub fn role_members(w: &mut XmlWriter, r: &RoleView, shape: RoleShape) {
    let role = &r.role;
    role_head(w, role, &r.arn);
    if shape != RoleShape::Created {
        w.opt("Description", role.description.as_deref());
    }
    if matches!(shape, RoleShape::Full | RoleShape::Listed) {
        w.num("MaxSessionDuration", role.max_session_duration);
    }
    if shape != RoleShape::Listed {
        boundary(w, role.permissions_boundary.as_deref());
        if !r.tags.is_empty() {
            tags(w, "Tags", &r.tags);
        }
    }
    if shape == RoleShape::Full {
        role_last_used(w, role);
    }
}

/// Which answer a `Policy` is part of: AWS sends different members in each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyShape {
    /// CreatePolicy: no Description; Tags when there are any.
    Created,
    /// GetPolicy: Description when set; Tags always, empty or not.
    Full,
    /// ListPolicies: neither Description nor Tags.
    Listed,
    /// GetAccountAuthorizationDetails: Description, no Tags.
    Detail,
}

pub fn policy_members(w: &mut XmlWriter, p: &ManagedPolicyView, shape: PolicyShape) {
    w.leaf("PolicyName", &p.name)
        .leaf("PolicyId", &p.policy_id)
        .leaf("Arn", &p.arn)
        .leaf("Path", &p.path)
        .leaf("DefaultVersionId", &p.default_version)
        .num("AttachmentCount", p.attachment_count)
        .num("PermissionsBoundaryUsageCount", p.boundary_usage_count)
        .bool("IsAttachable", p.is_attachable);
    if matches!(shape, PolicyShape::Full | PolicyShape::Detail) {
        w.opt("Description", p.description.as_deref());
    }
    w.time("CreateDate", ts(p.create_date)).time("UpdateDate", ts(p.update_date));
    match shape {
        PolicyShape::Full => tags(w, "Tags", &p.tags),
        PolicyShape::Created if !p.tags.is_empty() => tags(w, "Tags", &p.tags),
        _ => {}
    }
}

pub fn policy_version_members(w: &mut XmlWriter, v: &PolicyVersion, is_default: bool, with_document: bool) {
    if with_document {
        w.document("Document", &v.document);
    }
    w.leaf("VersionId", &v.version_id).bool("IsDefaultVersion", is_default).time("CreateDate", ts(v.created_at));
}

pub fn access_key_metadata(w: &mut XmlWriter, user_name: &str, k: &AccessKey) {
    if !user_name.is_empty() {
        w.leaf("UserName", user_name);
    }
    w.leaf("AccessKeyId", &k.access_key_id).leaf("Status", k.status.as_str()).time("CreateDate", ts(k.created_at));
}

pub fn attached(w: &mut XmlWriter, name: &str, items: &[(String, String)]) {
    w.list(name, items, |w, (n, a)| {
        w.leaf("PolicyName", n).leaf("PolicyArn", a);
    });
}

pub fn truncation(w: &mut XmlWriter, marker: Option<&str>) {
    w.bool("IsTruncated", marker.is_some());
    w.opt("Marker", marker);
}

pub fn authorization_details(w: &mut XmlWriter, d: &portcullis_core::AuthorizationDetails) {
    let inline = |w: &mut XmlWriter, name: &str, items: &[(String, String)]| {
        w.list(name, items, |w, (n, doc)| {
            w.leaf("PolicyName", n).document("PolicyDocument", doc);
        });
    };
    w.list("UserDetailList", &d.users, |w, u| {
        w.leaf("Path", &u.user.path)
            .leaf("UserName", &u.user.name)
            .leaf("UserId", &u.user.user_id)
            .leaf("Arn", &u.arn)
            .time("CreateDate", ts(u.user.created_at));
        // AWS leaves a user's empty inline-policy list out (RoleDetail and GroupDetail keep theirs).
        if !u.inline.is_empty() {
            inline(w, "UserPolicyList", &u.inline);
        }
        w.list("GroupList", &u.groups, |w, g| {
            w.text(g);
        });
        attached(w, "AttachedManagedPolicies", &u.attached);
        boundary(w, u.user.permissions_boundary.as_deref());
        tags(w, "Tags", &u.tags);
    });
    w.list("GroupDetailList", &d.groups, |w, g| {
        group_members(w, &g.group);
        inline(w, "GroupPolicyList", &g.inline);
        attached(w, "AttachedManagedPolicies", &g.attached);
    });
    w.list("RoleDetailList", &d.roles, |w, r| {
        let role = &r.role;
        role_head(w, role, &r.arn);
        w.list("InstanceProfileList", &r.instance_profiles, |w, p| instance_profile_members(w, p, false));
        inline(w, "RolePolicyList", &r.inline);
        attached(w, "AttachedManagedPolicies", &r.attached);
        boundary(w, role.permissions_boundary.as_deref());
        tags(w, "Tags", &r.tags);
        role_last_used(w, role);
    });
    w.list("Policies", &d.policies, |w, pd| {
        // ManagedPolicyDetail is Policy's members (listings carry no tags) and the versions.
        policy_members(w, &pd.policy, PolicyShape::Detail);
        w.list("PolicyVersionList", &pd.versions, |w, (v, d)| policy_version_members(w, v, *d, true));
    });
    truncation(w, None);
}

fn position(w: &mut XmlWriter, name: &str, p: Option<portcullis_policy::Position>) {
    if let Some(p) = p {
        w.start(name).num("Line", i64::from(p.line)).num("Column", i64::from(p.column)).end(name);
    }
}

fn matched_statements(w: &mut XmlWriter, items: &[portcullis_core::SimStatement]) {
    w.list("MatchedStatements", items, |w, s| {
        w.leaf("SourcePolicyId", &s.source_policy_id).leaf("SourcePolicyType", s.source_policy_type);
        position(w, "StartPosition", s.start);
        position(w, "EndPosition", s.end);
    });
}

fn boundary_detail(w: &mut XmlWriter, allowed: Option<bool>) {
    if let Some(a) = allowed {
        w.start("PermissionsBoundaryDecisionDetail").bool("AllowedByPermissionsBoundary", a).end("PermissionsBoundaryDecisionDetail");
    }
}

/// SimulatePrincipalPolicy / SimulateCustomPolicy results. Within one account,
/// EvalDecisionDetails is present but empty when resources were named, absent otherwise.
pub fn evaluation_results(w: &mut XmlWriter, results: &[portcullis_core::EvaluationResult]) {
    w.list("EvaluationResults", results, |w, r| {
        w.leaf("EvalActionName", &r.action).leaf("EvalResourceName", &r.resource_name).leaf("EvalDecision", r.decision);
        matched_statements(w, &r.matched);
        w.list("MissingContextValues", &r.missing, |w, k| {
            w.text(k);
        });
        if let Some(allowed) = r.allowed_by_organizations {
            w.start("OrganizationsDecisionDetail").bool("AllowedByOrganizations", allowed).end("OrganizationsDecisionDetail");
        }
        boundary_detail(w, r.allowed_by_boundary);
        if let Some(per) = &r.resource_results {
            w.start("EvalDecisionDetails").end("EvalDecisionDetails");
            w.list("ResourceSpecificResults", per, |w, rr| {
                w.leaf("EvalResourceName", &rr.resource).leaf("EvalResourceDecision", rr.decision);
                matched_statements(w, &rr.matched);
                w.list("MissingContextValues", &rr.missing, |w, k| {
                    w.text(k);
                });
                w.start("EvalDecisionDetails").end("EvalDecisionDetails");
                boundary_detail(w, rr.allowed_by_boundary);
            });
        }
    });
}

/// A `VirtualMFADevice` in ListVirtualMFADevices (the seed and QR code are never listed).
pub fn virtual_mfa_device(w: &mut XmlWriter, d: &portcullis_core::MfaDeviceView) {
    w.leaf("SerialNumber", &d.serial_number);
    if let Some((u, arn)) = &d.user {
        let view = UserView { user: u.clone(), arn: arn.clone(), tags: Vec::new() };
        user(w, "User", &view, false);
    } else if let Some(root) = &d.root_arn {
        w.start("User").leaf("UserId", root.trim_start_matches("arn:aws:iam::").trim_end_matches(":root")).leaf("Arn", root).end("User");
    }
    w.opt_time("EnableDate", d.enabled_at.map(ts));
    if !d.tags.is_empty() {
        tags(w, "Tags", &d.tags);
    }
}
