//! The account itself: first-start creation, the bootstrap administrator, the alias, the
//! summary and the authorization details snapshot.

use portcullis_credentials::{hash_password, new_account_id, new_password};
use portcullis_store::{AccountRecord, PageQuery, PrincipalKind, Tag, TagTarget};

use crate::policies::ManagedPolicyView;
use crate::{iam_arn, Authorized, Caller, Iam, IamError, IamResult, PolicyFilter, Principal};

pub const ADMIN_GROUP: &str = "Admins";
pub const ADMIN_POLICY_ARN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

/// What `bootstrap-admin` prints once.
pub struct BootstrapKey {
    pub account_id: String,
    pub user_name: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

#[derive(Debug, Clone)]
pub struct AccountSummary {
    pub entries: Vec<(&'static str, i64)>,
}

#[derive(Debug, Clone)]
pub struct UserDetail {
    pub user: crate::views::User,
    pub arn: String,
    pub inline: Vec<(String, String)>,
    pub groups: Vec<String>,
    pub attached: Vec<(String, String)>,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone)]
pub struct GroupDetail {
    pub group: crate::views::Group,
    pub arn: String,
    pub inline: Vec<(String, String)>,
    pub attached: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct RoleDetail {
    pub role: crate::views::Role,
    pub arn: String,
    /// The instance profiles the role is in.
    pub instance_profiles: Vec<crate::InstanceProfileView>,
    pub inline: Vec<(String, String)>,
    pub attached: Vec<(String, String)>,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone)]
pub struct PolicyDetail {
    pub policy: ManagedPolicyView,
    pub versions: Vec<(crate::views::PolicyVersion, bool)>,
}

#[derive(Debug, Clone, Default)]
pub struct AuthorizationDetails {
    pub users: Vec<UserDetail>,
    pub groups: Vec<GroupDetail>,
    pub roles: Vec<RoleDetail>,
    pub policies: Vec<PolicyDetail>,
}

const ALL: PageQuery<'static> = PageQuery { path_prefix: None, after: None, limit: i64::MAX };

impl Iam {
    /// Creates the account and its root user on first start. Returns the account and, when
    /// the operator gave no root password, a generated one to print once.
    pub async fn ensure_account(&self, root_email: &str, root_password: Option<&str>) -> IamResult<(crate::views::Account, Option<String>)> {
        self.ensure_account_with_id(root_email, root_password, None).await
    }

    /// Like `ensure_account`, with a chosen account id (the test mode's fixed id).
    pub async fn ensure_account_with_id(&self, root_email: &str, root_password: Option<&str>, account_id: Option<&str>) -> IamResult<(crate::views::Account, Option<String>)> {
        let mut tx = self.store.begin().await?;
        // Nodes starting at once on an empty database create one account between them.
        tx.lock("first-account").await?;
        if let Some(existing) = tx.first_account().await? {
            return Ok((existing.into(), None));
        }
        let (password, generated) = match root_password {
            Some(p) => (p.to_owned(), None),
            None => {
                let p = new_password()?;
                (p.clone(), Some(p))
            }
        };
        let rec = AccountRecord {
            account_id: match account_id {
                Some(id) => id.to_owned(),
                None => new_account_id()?,
            },
            created_at: self.now(),
            root_email: root_email.to_owned(),
            root_password_hash: Some(hash_password(&password)?),
            alias: None,
        };
        tx.insert_account(&rec).await?;
        tx.commit().await?;
        Ok((rec.into(), generated))
    }

    /// The test mode's reset: every entity of every account is gone, the account itself is
    /// made again with the same id (the AWS-managed catalog is not stored, so it stays).
    pub async fn reset_all(&self, account_id: &str, root_email: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        tx.reset_all().await?;
        tx.insert_account(&AccountRecord {
            account_id: account_id.to_owned(),
            created_at: self.now(),
            root_email: root_email.to_owned(),
            root_password_hash: None,
            alias: None,
        })
        .await?;
        tx.commit().await?;
        self.invalidate_authorization_cache();
        if let Ok(mut seen) = self.last_used.lock() {
            seen.clear();
        }
        Ok(())
    }

    /// The account's root user as a caller, for offline administration (`bootstrap-admin`).
    pub async fn root_caller(&self) -> IamResult<Caller> {
        let mut tx = self.store.begin_read().await?;
        let acct = tx.first_account().await?.ok_or_else(|| IamError::ServiceFailure("no account: start the server once first".to_owned()))?;
        Ok(Caller { account_id: acct.account_id, principal: Principal::Root, access_key_id: String::new(), session: None, request: Default::default() })
    }

    /// The tutorial's first step: user NAME in group Admins with AdministratorAccess, and a
    /// new access key for it. Idempotent for the user, the group and the attachment.
    pub async fn bootstrap_admin(&self, user_name: &str) -> IamResult<BootstrapKey> {
        let root = self.root_caller().await?;
        let auth = self.authorize(&root, &crate::AuthzRequest::new("iam:CreateUser", "*")).await?;
        let account = auth.account().to_owned();
        let mut tx = self.store.begin_read().await?;
        let needs_user = tx.get_user(&account, user_name).await?.is_none();
        let needs_group = tx.get_group(&account, ADMIN_GROUP).await?.is_none();
        drop(tx);
        if needs_user {
            self.create_user(&auth, user_name, None, None, &[]).await?;
        }
        if needs_group {
            self.create_group(&auth, ADMIN_GROUP, None).await?;
        }
        self.attach_policy(&auth, PrincipalKind::Group, ADMIN_GROUP, ADMIN_POLICY_ARN).await?;
        self.add_user_to_group(&auth, ADMIN_GROUP, user_name).await?;
        let key = self.create_access_key(&auth, Some(user_name)).await?;
        Ok(BootstrapKey {
            account_id: account,
            user_name: key.user_name,
            access_key_id: key.access_key_id,
            secret_access_key: key.secret_access_key,
        })
    }

    /// The account a sign-in page names by id or alias, if this server holds it (the
    /// console's `/signin/ACCOUNT` page; AWS's sign-in URL tells an unknown alias too).
    pub async fn sign_in_account(&self, account_or_alias: &str) -> IamResult<Option<(String, Option<String>)>> {
        let mut tx = self.store.begin_read().await?;
        let wanted = account_or_alias.trim();
        Ok(tx.find_account(wanted).await?.map(|a| (a.account_id, a.alias)))
    }

    /// An account has at most one alias; creating another replaces it. Aliases are unique
    /// across every account this server holds.
    pub async fn create_account_alias(&self, auth: &Authorized<'_>, alias: &str) -> IamResult<()> {
        // An alias stands for an account id in sign-in URLs: one shaped like an id (twelve
        // digits) could capture another account's sign-in.
        if alias.len() == 12 && alias.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IamError::Validation("The account alias cannot be a 12-digit number: it would read as an account ID.".to_owned()));
        }
        let mut tx = self.store.begin().await?;
        tx.set_account_alias(auth.account(), Some(alias)).await.map_err(|e| match e {
            portcullis_store::StoreError::Conflict(_) => {
                IamError::EntityAlreadyExists(format!("The account alias {alias} already exists."))
            }
            other => other.into(),
        })?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_account_aliases(&self, auth: &Authorized<'_>) -> IamResult<Vec<String>> {
        let mut tx = self.store.begin_read().await?;
        Ok(tx.get_account(auth.account()).await?.and_then(|a| a.alias).into_iter().collect())
    }

    pub async fn delete_account_alias(&self, auth: &Authorized<'_>, alias: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        let current = tx.get_account(auth.account()).await?.and_then(|a| a.alias);
        if current.as_deref() != Some(alias) {
            return Err(IamError::NoSuchEntity(format!("The account alias {alias} cannot be found.")));
        }
        tx.set_account_alias(auth.account(), None).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn account_summary(&self, auth: &Authorized<'_>) -> IamResult<AccountSummary> {
        let account = auth.account();
        let mut tx = self.store.begin_read().await?;
        let users = tx.count_users(account).await?;
        let groups = tx.count_groups(account).await?;
        let roles = tx.count_roles(account).await?;
        let instance_profiles = tx.count_instance_profiles(account).await?;
        let server_certificates = tx.count_server_certificates(account).await?;
        let providers = tx.list_oidc_providers(account).await?.len() + tx.list_saml_providers(account).await?.len();
        let token_version: i64 = tx.get_account_setting(account, "global-endpoint-token-version").await?.and_then(|v| v.parse().ok()).unwrap_or(1);
        let (policies, versions) = tx.count_policies(account).await?;
        let root_keys = !tx.access_keys_for(account, None).await?.is_empty();
        let devices = tx.mfa_devices(account).await?;
        let mfa_in_use = devices.iter().filter(|d| d.enabled_at.is_some()).count();
        let root_mfa = devices.iter().any(|d| d.assigned_root && d.enabled_at.is_some());
        let root_password = tx.get_account(account).await?.is_some_and(|a| a.root_password_hash.is_some());
        let n = |b: bool| i64::from(b);
        let entries = vec![
            ("Users", users),
            ("UsersQuota", 5000),
            ("Groups", groups),
            ("GroupsQuota", 300),
            ("ServerCertificates", server_certificates),
            ("ServerCertificatesQuota", 20),
            ("UserPolicySizeQuota", 2048),
            ("GroupPolicySizeQuota", 5120),
            ("GroupsPerUserQuota", 10),
            ("SigningCertificatesPerUserQuota", 2),
            ("AccessKeysPerUserQuota", 2),
            ("MFADevices", i64::try_from(devices.len()).unwrap_or(0)),
            ("MFADevicesInUse", i64::try_from(mfa_in_use).unwrap_or(0)),
            ("AccountMFAEnabled", n(root_mfa)),
            ("AccountAccessKeysPresent", n(root_keys)),
            ("AccountPasswordPresent", n(root_password)),
            ("AccountSigningCertificatesPresent", 0),
            ("AttachedPoliciesPerGroupQuota", 10),
            ("AttachedPoliciesPerRoleQuota", 10),
            ("AttachedPoliciesPerUserQuota", 10),
            ("Policies", policies),
            ("PoliciesQuota", 1500),
            ("PolicySizeQuota", 6144),
            ("PolicyVersionsInUse", versions),
            ("PolicyVersionsInUseQuota", 10000),
            ("VersionsPerPolicyQuota", 5),
            ("GlobalEndpointTokenVersion", token_version),
            ("AssumeRolePolicySizeQuota", 2048),
            ("InstanceProfiles", instance_profiles),
            ("InstanceProfilesQuota", 1000),
            ("Providers", i64::try_from(providers).unwrap_or(0)),
            ("RolePolicySizeQuota", 10240),
            ("Roles", roles),
            ("RolesQuota", 1000),
        ];
        Ok(AccountSummary { entries })
    }

    /// GetAccountAuthorizationDetails, filtered by entity kinds (`User`, `Group`, `Role`,
    /// `LocalManagedPolicy`, `AWSManagedPolicy`; none = all).
    pub async fn authorization_details(&self, auth: &Authorized<'_>, filter: &[String]) -> IamResult<AuthorizationDetails> {
        let account = auth.account();
        let wants = |k: &str| filter.is_empty() || filter.iter().any(|f| f == k);
        let mut out = AuthorizationDetails::default();
        let mut tx = self.store.begin_read().await?;
        let names = |arns: Vec<String>, this: &Iam, local: &[portcullis_store::PolicyRecord]| -> Vec<(String, String)> {
            arns.into_iter()
                .filter_map(|arn| {
                    let name = this
                        .catalog
                        .get(&arn)
                        .map(|p| p.name.clone())
                        .or_else(|| local.iter().find(|p| p.arn == arn).map(|p| p.name.clone()))?;
                    Some((name, arn))
                })
                .collect()
        };
        let local = tx.list_policies(account).await?;
        if wants("User") {
            for u in tx.list_users(account, &ALL).await? {
                let inl = inline_documents(&mut tx, PrincipalKind::User, &u.user_id).await?;
                let groups = tx.groups_for_user(&u.user_id).await?.into_iter().map(|g| g.name).collect();
                let attached = names(tx.attached_policies(PrincipalKind::User, &u.user_id).await?, self, &local);
                let tags = tx.tags(TagTarget::User, &u.user_id).await?;
                out.users.push(UserDetail { arn: iam_arn(account, "user", &u.path, &u.name), user: u, inline: inl, groups, attached, tags });
            }
        }
        if wants("Group") {
            for g in tx.list_groups(account, &ALL).await? {
                let inl = inline_documents(&mut tx, PrincipalKind::Group, &g.group_id).await?;
                let attached = names(tx.attached_policies(PrincipalKind::Group, &g.group_id).await?, self, &local);
                out.groups.push(GroupDetail { arn: iam_arn(account, "group", &g.path, &g.name), group: g.into(), inline: inl, attached });
            }
        }
        if wants("Role") {
            for r in tx.list_roles(account, &ALL).await? {
                let inl = inline_documents(&mut tx, PrincipalKind::Role, &r.role_id).await?;
                let attached = names(tx.attached_policies(PrincipalKind::Role, &r.role_id).await?, self, &local);
                let tags = tx.tags(TagTarget::Role, &r.role_id).await?;
                let mut instance_profiles = Vec::new();
                for p in tx.instance_profiles_for_role(&r.role_id).await? {
                    instance_profiles.push(self.profile_view(&mut tx, p, false).await?);
                }
                let arn = iam_arn(account, "role", &r.path, &r.name);
                out.roles.push(RoleDetail { arn, role: r, instance_profiles, inline: inl, attached, tags });
            }
        }
        drop(tx);
        let scopes: Vec<&str> = [("LocalManagedPolicy", "Local"), ("AWSManagedPolicy", "AWS")]
            .iter()
            .filter(|(k, _)| wants(k))
            .map(|(_, s)| *s)
            .collect();
        for scope in scopes {
            // AWS lists the AWS-managed policies that are in use, and every local one.
            let only_attached = scope == "AWS";
            let filter = PolicyFilter { scope: Some(scope), only_attached, ..Default::default() };
            let page = crate::PageRequest { marker: None, max_items: Some(1000) };
            let mut req = page;
            loop {
                let p = self.list_policies(auth, &filter, &req).await?;
                for view in p.items {
                    let versions = self.list_policy_versions(auth, &view.arn, &crate::PageRequest::default()).await?.items;
                    out.policies.push(PolicyDetail { policy: view, versions });
                }
                match p.marker {
                    Some(m) => req = crate::PageRequest { marker: Some(m), max_items: Some(1000) },
                    None => break,
                }
            }
        }
        Ok(out)
    }
}

/// (name, document) of every inline policy of a principal.
async fn inline_documents(tx: &mut Box<dyn portcullis_store::Tx>, kind: PrincipalKind, id: &str) -> IamResult<Vec<(String, String)>> {
    let mut v = Vec::new();
    for n in tx.inline_policy_names(kind, id).await? {
        if let Some(d) = tx.get_inline_policy(kind, id, &n).await? {
            v.push((n, d));
        }
    }
    Ok(v)
}
