//! The storage conformance suite: what every backend of [`Store`] must do, run by each
//! backend's tests (`portcullis-store-sql` runs it on SQLite, on PostgreSQL and through the
//! read cache). It covers every method of [`Tx`]. Built with the `conformance` feature.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::*;

/// Runs the whole suite against an empty store. Afterwards the store holds account
/// `111111111111` with four users and the alias `my-alias` (what a reopened durable backend
/// must still show).
pub async fn run(store: &dyn Store) {
    suite(store).await;
}

fn account(id: &str) -> AccountRecord {
    AccountRecord { account_id: id.into(), created_at: 1, root_email: "root@example.com".into(), root_password_hash: None, alias: None }
}

fn user(account: &str, id: &str, name: &str, path: &str) -> UserRecord {
    UserRecord {
        account_id: account.into(),
        user_id: id.into(),
        name: name.into(),
        path: path.into(),
        created_at: 10,
        permissions_boundary: None,
        password_last_used: None,
    }
}

async fn suite(store: &dyn Store) {
    let mut tx = store.begin().await.unwrap();
    tx.insert_account(&account("111111111111")).await.unwrap();
    tx.commit().await.unwrap();

    // Names are unique ignoring case, keep their case, and a failed transaction changes nothing.
    let mut tx = store.begin().await.unwrap();
    tx.insert_user(&user("111111111111", "AIDA1", "Alice", "/")).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.insert_user(&user("111111111111", "AIDA2", "bob", "/x/")).await.unwrap();
    match tx.insert_user(&user("111111111111", "AIDA3", "ALICE", "/")).await {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("expected conflict, got {other:?}"),
    }
    drop(tx); // rolled back: bob must not exist either
    let mut tx = store.begin().await.unwrap();
    assert!(tx.get_user("111111111111", "bob").await.unwrap().is_none());
    let alice = tx.get_user("111111111111", "aLiCe").await.unwrap().unwrap();
    assert_eq!(alice.name, "Alice");
    for (i, n) in ["carol", "dave", "erin"].iter().enumerate() {
        tx.insert_user(&user("111111111111", &format!("AIDAU{i}"), n, "/team/")).await.unwrap();
    }
    tx.commit().await.unwrap();

    // Keyset pages, ordered by name ignoring case, filtered by path prefix.
    let mut tx = store.begin().await.unwrap();
    let page = tx.list_users("111111111111", &PageQuery { path_prefix: None, after: None, limit: 2 }).await.unwrap();
    assert_eq!(page.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["Alice", "carol"]);
    let page = tx.list_users("111111111111", &PageQuery { path_prefix: None, after: Some("carol"), limit: 10 }).await.unwrap();
    assert_eq!(page.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["dave", "erin"]);
    let page = tx.list_users("111111111111", &PageQuery { path_prefix: Some("/team/"), after: None, limit: 10 }).await.unwrap();
    assert_eq!(page.len(), 3);
    assert_eq!(tx.count_users("111111111111").await.unwrap(), 4);

    // Groups, membership, attachments, inline policies, tags, keys, login profiles.
    let g = GroupRecord { account_id: "111111111111".into(), group_id: "AGPA1".into(), name: "Admins".into(), path: "/".into(), created_at: 5 };
    tx.insert_group(&g).await.unwrap();
    assert_eq!(tx.get_group_by_id("AGPA1").await.unwrap().unwrap().name, "Admins");
    assert!(tx.get_group_by_id("AGPA-none").await.unwrap().is_none());
    assert!(tx.add_group_member("AGPA1", "AIDA1", 6).await.unwrap());
    assert!(!tx.add_group_member("AGPA1", "AIDA1", 7).await.unwrap());
    assert_eq!(tx.groups_for_user("AIDA1").await.unwrap()[0].name, "Admins");
    assert_eq!(tx.group_members("AGPA1", &PageQuery { limit: 10, ..Default::default() }).await.unwrap().len(), 1);
    let arn = "arn:aws:iam::aws:policy/AdministratorAccess";
    assert!(tx.attach_policy("111111111111", PrincipalKind::Group, "AGPA1", arn, 8).await.unwrap());
    assert!(!tx.attach_policy("111111111111", PrincipalKind::Group, "AGPA1", arn, 9).await.unwrap());
    assert_eq!(tx.attached_policies(PrincipalKind::Group, "AGPA1").await.unwrap(), vec![arn.to_owned()]);
    assert_eq!(tx.count_policy_attachments("111111111111", arn).await.unwrap(), 1);
    // Per-policy attachments and counts, and permissions-boundary counts.
    assert!(tx.attach_policy("111111111111", PrincipalKind::User, "AIDA1", arn, 10).await.unwrap());
    assert!(tx.attach_policy("111111111111", PrincipalKind::User, "AIDA1", "arn:aws:iam::111111111111:policy/Other", 11).await.unwrap());
    assert_eq!(
        tx.policy_attachments("111111111111", arn).await.unwrap(),
        [(arn.to_owned(), PrincipalKind::Group, "AGPA1".to_owned()), (arn.to_owned(), PrincipalKind::User, "AIDA1".to_owned())]
    );
    assert_eq!(tx.count_policy_attachments("111111111111", arn).await.unwrap(), 2);
    assert_eq!(tx.count_policy_attachments("222222222222", arn).await.unwrap(), 0);
    assert_eq!(
        tx.attachment_counts("111111111111").await.unwrap(),
        [("arn:aws:iam::111111111111:policy/Other".to_owned(), 1), (arn.to_owned(), 2)]
    );
    assert!(tx.detach_policy(PrincipalKind::User, "AIDA1", "arn:aws:iam::111111111111:policy/Other").await.unwrap());
    assert!(tx.detach_policy(PrincipalKind::User, "AIDA1", arn).await.unwrap());
    let boundary = "arn:aws:iam::111111111111:policy/Boundary";
    for (id, name) in [("AIDAB1", "bounded-1"), ("AIDAB2", "bounded-2")] {
        let mut u = user("111111111111", id, name, "/");
        u.permissions_boundary = Some(boundary.to_owned());
        tx.insert_user(&u).await.unwrap();
    }
    assert_eq!(tx.count_boundary_uses("111111111111", boundary).await.unwrap(), 2);
    assert_eq!(tx.count_boundary_uses("111111111111", arn).await.unwrap(), 0);
    assert_eq!(tx.boundary_counts("111111111111").await.unwrap(), [(boundary.to_owned(), 2)]);
    assert!(tx.delete_user("AIDAB1").await.is_ok());
    assert!(tx.delete_user("AIDAB2").await.is_ok());
    assert!(tx.boundary_counts("111111111111").await.unwrap().is_empty());
    tx.put_inline_policy(PrincipalKind::User, "AIDA1", "b", "{}").await.unwrap();
    tx.put_inline_policy(PrincipalKind::User, "AIDA1", "a", "{\"x\":1}").await.unwrap();
    tx.put_inline_policy(PrincipalKind::User, "AIDA1", "a", "{\"x\":2}").await.unwrap();
    assert_eq!(tx.inline_policy_names(PrincipalKind::User, "AIDA1").await.unwrap(), ["a", "b"]);
    assert_eq!(tx.get_inline_policy(PrincipalKind::User, "AIDA1", "a").await.unwrap().unwrap(), "{\"x\":2}");
    let tags = vec![Tag { key: "z".into(), value: "1".into() }, Tag { key: "a".into(), value: "".into() }];
    tx.set_tags(TagTarget::User, "AIDA1", &tags).await.unwrap();
    assert_eq!(tx.tags(TagTarget::User, "AIDA1").await.unwrap(), tags);
    let key = AccessKeyRecord {
        access_key_id: "AKIAEXAMPLE".into(),
        account_id: "111111111111".into(),
        user_id: Some("AIDA1".into()),
        secret_sealed: "sealed".into(),
        status: KeyStatus::Active,
        created_at: 3,
        last_used_at: None,
        last_used_service: None,
        last_used_region: None,
    };
    tx.insert_access_key(&key).await.unwrap();
    tx.record_access_key_use("AKIAEXAMPLE", 99, "iam", "us-east-1").await.unwrap();
    let got = tx.get_access_key("AKIAEXAMPLE").await.unwrap().unwrap();
    assert_eq!(got.last_used_at, Some(99));
    assert_eq!(tx.access_keys_for("111111111111", Some("AIDA1")).await.unwrap().len(), 1);
    assert!(tx.access_keys_for("111111111111", None).await.unwrap().is_empty());
    let lp = LoginProfileRecord { user_id: "AIDA1".into(), password_hash: "$argon2id$x".into(), reset_required: true, created_at: 4, password_changed_at: 4 };
    tx.upsert_login_profile(&lp).await.unwrap();
    assert!(tx.get_login_profile("AIDA1").await.unwrap().unwrap().reset_required);
    assert!(tx.delete_login_profile("AIDA1").await.unwrap());
    tx.set_account_alias("111111111111", Some("my-alias")).await.unwrap();
    tx.commit().await.unwrap();

    // Policies and versions.
    let mut tx = store.begin().await.unwrap();
    let p = PolicyRecord {
        account_id: "111111111111".into(),
        policy_id: "ANPA1".into(),
        name: "P".into(),
        path: "/".into(),
        arn: "arn:aws:iam::111111111111:policy/P".into(),
        description: None,
        default_version: "v1".into(),
        next_version: 2,
        created_at: 1,
        updated_at: 1,
    };
    tx.insert_policy(&p).await.unwrap();
    tx.commit().await.unwrap();
    // Policy names are unique per account ignoring case and path (CreatePolicy relies on it).
    let mut twin = p.clone();
    twin.policy_id = "ANPA2".into();
    twin.name = "p".into();
    twin.path = "/other/".into();
    twin.arn = "arn:aws:iam::111111111111:policy/other/p".into();
    let mut tx = store.begin().await.unwrap();
    assert!(matches!(tx.insert_policy(&twin).await, Err(StoreError::Conflict(_))));
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    for v in ["v1", "v2", "v10"] {
        tx.insert_policy_version(&PolicyVersionRecord { policy_id: "ANPA1".into(), version_id: v.into(), document: "{}".into(), created_at: 1 }).await.unwrap();
    }
    assert_eq!(tx.count_policies("111111111111").await.unwrap(), (1, 3));
    assert_eq!(tx.count_policies("222222222222").await.unwrap(), (0, 0));
    let versions = tx.list_policy_versions("ANPA1").await.unwrap();
    assert_eq!(versions.iter().map(|v| v.version_id.as_str()).collect::<Vec<_>>(), ["v10", "v2", "v1"]);
    tx.delete_policy("ANPA1").await.unwrap();
    assert!(tx.get_policy(&p.arn).await.unwrap().is_none());
    tx.commit().await.unwrap();

    mfa_devices_and_recovery_codes(store).await;
    instance_profiles(store).await;
    oidc_providers(store).await;
    user_credentials(store).await;
    server_certificates_and_settings(store).await;
    saml_providers(store).await;
    events(store).await;
    everything_else(store).await;
}

/// The remaining methods of the trait, so that every one is run against every backend.
async fn everything_else(store: &dyn Store) {
    let acct = "111111111111";
    let mut tx = store.begin().await.unwrap();
    tx.lock("some-key").await.unwrap();
    assert_eq!(tx.first_account().await.unwrap().unwrap().account_id, acct);

    // Users by id, and the console's last sign-in.
    assert_eq!(tx.get_user_by_id("AIDA1").await.unwrap().unwrap().name, "Alice");
    tx.set_password_last_used("AIDA1", 1234).await.unwrap();
    assert_eq!(tx.get_user("111111111111", "alice").await.unwrap().unwrap().password_last_used, Some(1234));

    // Groups: by name ignoring case, pages, rename, counts, membership removal, deletion.
    let mut g = GroupRecord { account_id: acct.into(), group_id: "AGPA9".into(), name: "Ops".into(), path: "/x/".into(), created_at: 5 };
    tx.insert_group(&g).await.unwrap();
    assert_eq!(tx.get_group(acct, "OPS").await.unwrap().unwrap().group_id, "AGPA9");
    assert_eq!(tx.count_groups(acct).await.unwrap(), 2);
    let groups = tx.list_groups(acct, &PageQuery { path_prefix: None, after: None, limit: 10 }).await.unwrap();
    assert_eq!(groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), ["Admins", "Ops"]);
    g.name = "Operators".into();
    g.path = "/y/".into();
    tx.update_group(&g).await.unwrap();
    assert!(tx.get_group(acct, "Ops").await.unwrap().is_none());
    assert_eq!(tx.get_group(acct, "operators").await.unwrap().unwrap().path, "/y/");
    assert!(tx.add_group_member("AGPA9", "AIDA1", 6).await.unwrap());
    assert!(tx.remove_group_member("AGPA9", "AIDA1").await.unwrap());
    assert!(!tx.remove_group_member("AGPA9", "AIDA1").await.unwrap());
    tx.delete_group("AGPA9").await.unwrap();
    assert!(tx.get_group_by_id("AGPA9").await.unwrap().is_none());

    // Roles: by name and id, pages, updates, counts.
    let mut r = RoleRecord {
        account_id: acct.into(),
        role_id: "AROA9".into(),
        name: "Deployer".into(),
        path: "/ci/".into(),
        created_at: 1,
        assume_role_policy: "{}".into(),
        description: None,
        max_session_duration: 3600,
        permissions_boundary: None,
        last_used_at: None,
        last_used_region: None,
    };
    tx.insert_role(&r).await.unwrap();
    assert_eq!(tx.get_role(acct, "deployer").await.unwrap().unwrap().role_id, "AROA9");
    assert_eq!(tx.get_role_by_id("AROA9").await.unwrap().unwrap().name, "Deployer");
    assert_eq!(tx.count_roles(acct).await.unwrap(), 1);
    assert_eq!(tx.list_roles(acct, &PageQuery { path_prefix: Some("/ci/"), after: None, limit: 10 }).await.unwrap().len(), 1);
    r.description = Some("CI".into());
    r.max_session_duration = 7200;
    r.assume_role_policy = "{\"Version\":\"2012-10-17\"}".into();
    r.last_used_at = Some(50);
    r.last_used_region = Some("eu-west-1".into());
    tx.update_role(&r).await.unwrap();
    let got = tx.get_role_by_id("AROA9").await.unwrap().unwrap();
    assert_eq!((got.description.as_deref(), got.max_session_duration), (Some("CI"), 7200));
    assert_eq!(got.assume_role_policy, r.assume_role_policy);
    tx.delete_role("AROA9").await.unwrap();

    // Inline policy deletion; access key status and deletion; MFA device deletion.
    assert!(tx.delete_inline_policy(PrincipalKind::User, "AIDA1", "a").await.unwrap());
    assert!(!tx.delete_inline_policy(PrincipalKind::User, "AIDA1", "a").await.unwrap());
    tx.set_access_key_status("AKIAEXAMPLE", KeyStatus::Inactive).await.unwrap();
    assert_eq!(tx.get_access_key("AKIAEXAMPLE").await.unwrap().unwrap().status, KeyStatus::Inactive);
    tx.delete_access_key("AKIAEXAMPLE").await.unwrap();
    assert!(tx.get_access_key("AKIAEXAMPLE").await.unwrap().is_none());
    tx.delete_mfa_device("arn:aws:iam::111111111111:mfa/app").await.unwrap();
    assert!(tx.get_mfa_device("arn:aws:iam::111111111111:mfa/app").await.unwrap().is_none());

    // Policies: pages by name ignoring case, updates, versions.
    for (id, name) in [("ANPA7", "zeta"), ("ANPA8", "Alpha")] {
        let p = PolicyRecord {
            account_id: acct.into(),
            policy_id: id.into(),
            name: name.into(),
            path: "/".into(),
            arn: format!("arn:aws:iam::111111111111:policy/{name}"),
            description: None,
            default_version: "v1".into(),
            next_version: 2,
            created_at: 1,
            updated_at: 1,
        };
        tx.insert_policy(&p).await.unwrap();
    }
    assert_eq!(tx.list_policies(acct).await.unwrap().len(), 2);
    let page = tx.list_policies_page(acct, &PageQuery { path_prefix: None, after: None, limit: 1 }).await.unwrap();
    assert_eq!(page.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["Alpha"]);
    let page = tx.list_policies_page(acct, &PageQuery { path_prefix: None, after: Some("alpha"), limit: 5 }).await.unwrap();
    assert_eq!(page.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["zeta"]);
    let mut alpha = tx.get_policy("arn:aws:iam::111111111111:policy/Alpha").await.unwrap().unwrap();
    alpha.default_version = "v2".into();
    alpha.next_version = 3;
    alpha.updated_at = 9;
    tx.update_policy(&alpha).await.unwrap();
    for v in ["v1", "v2"] {
        tx.insert_policy_version(&PolicyVersionRecord { policy_id: "ANPA8".into(), version_id: v.into(), document: format!("{{\"v\":\"{v}\"}}"), created_at: 1 }).await.unwrap();
    }
    assert_eq!(tx.get_policy("arn:aws:iam::111111111111:policy/Alpha").await.unwrap().unwrap(), alpha);
    assert_eq!(tx.get_policy_version("ANPA8", "v2").await.unwrap().unwrap().document, "{\"v\":\"v2\"}");
    tx.delete_policy_version("ANPA8", "v1").await.unwrap();
    assert!(tx.get_policy_version("ANPA8", "v1").await.unwrap().is_none());
    tx.delete_policy_version("ANPA8", "v2").await.unwrap();
    tx.delete_policy("ANPA8").await.unwrap();
    tx.delete_policy("ANPA7").await.unwrap();

    // The password policy, password history (newest first, only the newest kept), and the
    // credential report.
    assert!(tx.get_password_policy(acct).await.unwrap().is_none());
    let pp = PasswordPolicyRecord {
        account_id: acct.into(),
        minimum_length: 14,
        require_symbols: true,
        require_numbers: false,
        require_uppercase: true,
        require_lowercase: false,
        allow_users_to_change: true,
        max_age_days: Some(90),
        reuse_prevention: Some(3),
        hard_expiry: true,
    };
    tx.put_password_policy(&pp).await.unwrap();
    tx.put_password_policy(&pp).await.unwrap();
    assert_eq!(tx.get_password_policy(acct).await.unwrap(), Some(pp));
    assert!(tx.delete_password_policy(acct).await.unwrap());
    assert!(!tx.delete_password_policy(acct).await.unwrap());
    for (i, h) in ["h1", "h2", "h3", "h4"].iter().enumerate() {
        tx.push_password_history("AIDA1", h, i64::try_from(i).unwrap(), 3).await.unwrap();
    }
    assert_eq!(tx.password_history("AIDA1").await.unwrap(), ["h4", "h3", "h2"]);
    assert!(tx.get_credential_report(acct).await.unwrap().is_none());
    tx.put_credential_report(acct, 10, "user,arn\n").await.unwrap();
    tx.put_credential_report(acct, 11, "user,arn\nx,y\n").await.unwrap();
    assert_eq!(tx.get_credential_report(acct).await.unwrap(), Some((11, "user,arn\nx,y\n".to_owned())));
    tx.commit().await.unwrap();
}

/// OpenID Connect providers keep their lists in order, change them, and go with their tags.
async fn oidc_providers(store: &dyn Store) {
    let mut p = OidcProviderRecord {
        arn: "arn:aws:iam::111111111111:oidc-provider/token.example.com/ci".into(),
        account_id: "111111111111".into(),
        url: "token.example.com/ci".into(),
        client_ids: vec!["sts.amazonaws.com".into(), "b\"quoted\"".into()],
        thumbprints: vec!["a".repeat(40)],
        created_at: 7,
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_oidc_provider(&p).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert!(matches!(tx.insert_oidc_provider(&p).await, Err(StoreError::Conflict(_))));
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.get_oidc_provider(&p.arn).await.unwrap(), Some(p.clone()));
    p.client_ids.push("third".into());
    p.thumbprints = vec![];
    tx.update_oidc_provider(&p).await.unwrap();
    tx.set_tags(TagTarget::OidcProvider, &p.arn, &[Tag { key: "k".into(), value: "v".into() }]).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.list_oidc_providers("111111111111").await.unwrap(), vec![p.clone()]);
    assert!(tx.list_oidc_providers("222222222222").await.unwrap().is_empty());
    tx.delete_oidc_provider(&p.arn).await.unwrap();
    assert!(tx.get_oidc_provider(&p.arn).await.unwrap().is_none());
    assert!(tx.tags(TagTarget::OidcProvider, &p.arn).await.unwrap().is_empty());
    tx.commit().await.unwrap();
}

/// Instance profiles: names unique per account ignoring case, listed by name and path, and
/// the roles in them kept in the order they were added; deleting one takes its links.
async fn instance_profiles(store: &dyn Store) {
    let role = |id: &str, name: &str| RoleRecord {
        account_id: "111111111111".into(),
        role_id: id.into(),
        name: name.into(),
        path: "/".into(),
        created_at: 1,
        assume_role_policy: "{}".into(),
        description: None,
        max_session_duration: 3600,
        permissions_boundary: None,
        last_used_at: None,
        last_used_region: None,
    };
    let profile = |id: &str, name: &str, path: &str| InstanceProfileRecord {
        account_id: "111111111111".into(),
        instance_profile_id: id.into(),
        name: name.into(),
        path: path.into(),
        created_at: 5,
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_role(&role("AROA1", "web")).await.unwrap();
    tx.insert_role(&role("AROA2", "batch")).await.unwrap();
    tx.insert_instance_profile(&profile("AIPA1", "Web", "/")).await.unwrap();
    tx.insert_instance_profile(&profile("AIPA2", "batch", "/jobs/")).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert!(matches!(tx.insert_instance_profile(&profile("AIPA3", "WEB", "/x/")).await, Err(StoreError::Conflict(_))));
    drop(tx);

    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.get_instance_profile("111111111111", "web").await.unwrap(), Some(profile("AIPA1", "Web", "/")));
    assert_eq!(tx.count_instance_profiles("111111111111").await.unwrap(), 2);
    let all = tx.list_instance_profiles("111111111111", &PageQuery { path_prefix: None, after: None, limit: 10 }).await.unwrap();
    assert_eq!(all.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["batch", "Web"]);
    let jobs = tx.list_instance_profiles("111111111111", &PageQuery { path_prefix: Some("/jobs/"), after: None, limit: 10 }).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert!(tx.add_instance_profile_role("AIPA1", "AROA1", 10).await.unwrap());
    assert!(!tx.add_instance_profile_role("AIPA1", "AROA1", 11).await.unwrap(), "a role is in a profile once");
    assert!(tx.add_instance_profile_role("AIPA1", "AROA2", 12).await.unwrap());
    assert!(tx.add_instance_profile_role("AIPA2", "AROA1", 13).await.unwrap());
    let roles = tx.instance_profile_roles("AIPA1").await.unwrap();
    assert_eq!(roles.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["web", "batch"]);
    let of_web = tx.instance_profiles_for_role("AROA1").await.unwrap();
    assert_eq!(of_web.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["batch", "Web"]);
    assert!(tx.remove_instance_profile_role("AIPA1", "AROA2").await.unwrap());
    assert!(!tx.remove_instance_profile_role("AIPA1", "AROA2").await.unwrap());
    tx.set_tags(TagTarget::InstanceProfile, "AIPA1", &[Tag { key: "k".into(), value: "v".into() }]).await.unwrap();
    tx.delete_instance_profile("AIPA1").await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert!(tx.get_instance_profile("111111111111", "Web").await.unwrap().is_none());
    assert!(tx.tags(TagTarget::InstanceProfile, "AIPA1").await.unwrap().is_empty());
    assert_eq!(tx.instance_profiles_for_role("AROA1").await.unwrap().len(), 1);
    tx.remove_instance_profile_role("AIPA2", "AROA1").await.unwrap();
    tx.delete_instance_profile("AIPA2").await.unwrap();
    tx.delete_role("AROA1").await.unwrap();
    tx.delete_role("AROA2").await.unwrap();
    tx.commit().await.unwrap();
}

/// Both kinds of MFA device keep their kind and sealed secret (which a security key's use
/// rewrites); recovery codes are replaced as a set and each is used at most once.
async fn mfa_devices_and_recovery_codes(store: &dyn Store) {
    let device = |serial: &str, kind| MfaDeviceRecord {
        serial_number: serial.into(),
        kind,
        account_id: "111111111111".into(),
        name: "d".into(),
        path: "/".into(),
        user_id: None,
        assigned_root: true,
        seed_sealed: "sealed-1".into(),
        created_at: 1,
        enabled_at: Some(2),
        last_step: None,
    };
    let app = device("arn:aws:iam::111111111111:mfa/app", MfaKind::Virtual);
    let key = device("arn:aws:iam::111111111111:u2f/root/key-A", MfaKind::SecurityKey);
    let mut tx = store.begin().await.unwrap();
    tx.insert_mfa_device(&app).await.unwrap();
    tx.insert_mfa_device(&key).await.unwrap();
    let mut used = key.clone();
    used.seed_sealed = "sealed-2".into();
    used.last_step = Some(3);
    tx.update_mfa_device(&used).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin_read().await.unwrap();
    assert_eq!(tx.get_mfa_device(&app.serial_number).await.unwrap(), Some(app.clone()));
    assert_eq!(tx.get_mfa_device(&key.serial_number).await.unwrap(), Some(used));
    assert_eq!(tx.mfa_devices("111111111111").await.unwrap().len(), 2);
    drop(tx);

    let owner = "root:111111111111";
    let hashes: Vec<String> = (0..10).map(|i| format!("hash-{i}")).collect();
    let mut tx = store.begin().await.unwrap();
    tx.replace_recovery_codes("111111111111", owner, &hashes[..5], 10).await.unwrap();
    tx.replace_recovery_codes("111111111111", owner, &hashes, 11).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let codes = tx.recovery_codes(owner).await.unwrap();
    assert_eq!(codes.len(), 10);
    assert!(codes.iter().all(|c| c.created_at == 11 && c.used_at.is_none()));
    assert!(tx.use_recovery_code(owner, "hash-3", 12).await.unwrap());
    assert!(!tx.use_recovery_code(owner, "hash-3", 13).await.unwrap(), "a code is used once");
    assert!(!tx.use_recovery_code(owner, "no-such-hash", 13).await.unwrap());
    assert!(!tx.use_recovery_code("user:AIDA1", "hash-4", 13).await.unwrap(), "codes belong to their owner");
    assert!(tx.redeem_once("111111111111", "assertion-1", 100, 10).await.unwrap());
    assert!(!tx.redeem_once("111111111111", "assertion-1", 100, 50).await.unwrap(), "a proof is redeemed once");
    assert!(tx.redeem_once("111111111111", "assertion-2", 100, 50).await.unwrap());
    assert!(tx.redeem_once("111111111111", "assertion-1", 300, 101).await.unwrap(), "expired redemptions are forgotten");

    let request = DelegationRequestRecord {
        request_id: "dr-1234567890abcdef".into(),
        requestor_account_id: "111111111111".into(),
        workflow_id: "wf-1".into(),
        owner_account_id: None,
        owner_id: None,
        state: "UNASSIGNED".into(),
        token_hash: None,
        created_at: 10,
        body: "{}".into(),
    };
    assert!(tx.insert_delegation_request(&request).await.unwrap());
    assert!(!tx.insert_delegation_request(&DelegationRequestRecord { request_id: "dr-other".into(), ..request.clone() }).await.unwrap(), "one request per workflow id");
    assert_eq!(tx.get_delegation_request(&request.request_id).await.unwrap(), Some(request.clone()));
    assert!(tx.list_delegation_requests("111111111111", None).await.unwrap().is_empty(), "requests without an owner are not listed");
    let owned = DelegationRequestRecord {
        owner_account_id: Some("111111111111".into()),
        owner_id: Some("arn:aws:iam::111111111111:user/alice".into()),
        state: "FINALIZED".into(),
        token_hash: Some("abc".into()),
        body: "{\"Notes\":\"x\"}".into(),
        ..request.clone()
    };
    tx.update_delegation_request(&owned).await.unwrap();
    assert_eq!(tx.get_delegation_request_by_token("abc").await.unwrap(), Some(owned.clone()));
    assert_eq!(tx.list_delegation_requests("111111111111", None).await.unwrap(), vec![owned.clone()]);
    assert!(tx.list_delegation_requests("111111111111", Some("arn:aws:iam::111111111111:user/bob")).await.unwrap().is_empty());

    // Organizations: objects unique by id and by key within an organization and kind.
    let obj = |id: &str, kind: OrgObjectKind, parent: Option<&str>, key: Option<&str>, at: i64| OrgObjectRecord {
        object_id: id.into(),
        org_id: "o-abcdefghij".into(),
        kind,
        parent_id: parent.map(str::to_owned),
        unique_key: key.map(str::to_owned),
        created_at: at,
        body: "{}".into(),
    };
    tx.insert_org_object(&obj("o-abcdefghij", OrgObjectKind::Organization, None, None, 1)).await.unwrap();
    tx.insert_org_object(&obj("r-ab12", OrgObjectKind::Root, None, None, 1)).await.unwrap();
    tx.insert_org_object(&obj("ou-ab12-11111111", OrgObjectKind::Unit, Some("r-ab12"), Some("r-ab12/dev"), 2)).await.unwrap();
    tx.insert_org_object(&obj("ou-ab12-22222222", OrgObjectKind::Unit, Some("r-ab12"), Some("r-ab12/prod"), 3)).await.unwrap();
    tx.insert_org_object(&obj("111111111111", OrgObjectKind::Account, Some("r-ab12"), None, 1)).await.unwrap();
    tx.insert_org_object(&obj("222222222222", OrgObjectKind::Account, Some("ou-ab12-11111111"), None, 2)).await.unwrap();
    tx.commit().await.unwrap();
    // A refused write ends its transaction (PostgreSQL aborts it), so each is tried alone.
    let mut refused = store.begin().await.unwrap();
    assert!(matches!(refused.insert_org_object(&obj("ou-ab12-33333333", OrgObjectKind::Unit, Some("r-ab12"), Some("r-ab12/dev"), 4)).await, Err(StoreError::Conflict(_))), "a unique key is unique");
    drop(refused);
    let mut tx = store.begin().await.unwrap();
    let units = tx.org_objects("o-abcdefghij", OrgObjectKind::Unit, None).await.unwrap();
    assert_eq!(units.iter().map(|u| u.object_id.as_str()).collect::<Vec<_>>(), ["ou-ab12-11111111", "ou-ab12-22222222"]);
    assert_eq!(tx.org_objects("o-abcdefghij", OrgObjectKind::Account, Some("r-ab12")).await.unwrap().len(), 1);
    assert!(tx.org_objects("o-other00000", OrgObjectKind::Unit, None).await.unwrap().is_empty());
    assert_eq!(tx.org_objects_with_parent(OrgObjectKind::Unit, "r-ab12").await.unwrap().len(), 2, "by parent, whatever the scope");
    assert_eq!(tx.org_object_by_key("o-abcdefghij", OrgObjectKind::Unit, "r-ab12/prod").await.unwrap().map(|u| u.object_id).as_deref(), Some("ou-ab12-22222222"));
    assert_eq!(tx.org_object_by_key("o-abcdefghij", OrgObjectKind::Account, "r-ab12/prod").await.unwrap(), None, "the key is per kind");
    assert_eq!(tx.org_object_by_key("o-other00000", OrgObjectKind::Unit, "r-ab12/prod").await.unwrap(), None, "and per organization");
    assert_eq!(tx.count_org_objects("o-abcdefghij", OrgObjectKind::Unit).await.unwrap(), 2);
    assert_eq!(tx.count_org_objects("o-abcdefghij", OrgObjectKind::Handshake).await.unwrap(), 0);
    let moved = OrgObjectRecord { parent_id: Some("ou-ab12-22222222".into()), body: "{\"Name\":\"x\"}".into(), ..obj("222222222222", OrgObjectKind::Account, None, None, 2) };
    tx.update_org_object(&moved).await.unwrap();
    assert_eq!(tx.get_org_object("222222222222").await.unwrap(), Some(moved));
    tx.commit().await.unwrap();
    let mut refused = store.begin().await.unwrap();
    let renamed = obj("ou-ab12-22222222", OrgObjectKind::Unit, Some("r-ab12"), Some("r-ab12/dev"), 3);
    assert!(matches!(refused.update_org_object(&renamed).await, Err(StoreError::Conflict(_))), "an update keeps keys unique");
    drop(refused);
    let mut tx = store.begin().await.unwrap();
    let link = |from: &str, to: &str| OrgLinkRecord { from_id: from.into(), to_id: to.into(), created_at: 5 };
    assert!(tx.insert_org_link("o-abcdefghij", OrgLinkKind::PolicyTarget, &link("p-FullAWSAccess", "r-ab12")).await.unwrap());
    assert!(!tx.insert_org_link("o-abcdefghij", OrgLinkKind::PolicyTarget, &link("p-FullAWSAccess", "r-ab12")).await.unwrap(), "a link exists once");
    assert!(tx.insert_org_link("o-abcdefghij", OrgLinkKind::PolicyTarget, &link("p-FullAWSAccess", "ou-ab12-11111111")).await.unwrap());
    assert!(tx.insert_org_link("o-abcdefghij", OrgLinkKind::PolicyTarget, &link("p-12345678", "ou-ab12-11111111")).await.unwrap());
    assert_eq!(tx.org_links("o-abcdefghij", OrgLinkKind::PolicyTarget, None, Some("ou-ab12-11111111")).await.unwrap().len(), 2);
    assert_eq!(tx.org_links("o-abcdefghij", OrgLinkKind::PolicyTarget, Some("p-FullAWSAccess"), None).await.unwrap().len(), 2);
    assert_eq!(tx.org_links("o-abcdefghij", OrgLinkKind::PolicyTarget, None, None).await.unwrap().len(), 3);
    assert!(tx.org_links("o-abcdefghij", OrgLinkKind::DelegatedAdministrator, None, None).await.unwrap().is_empty());
    assert!(tx.delete_org_link(OrgLinkKind::PolicyTarget, "p-12345678", "ou-ab12-11111111").await.unwrap());
    assert!(!tx.delete_org_link(OrgLinkKind::PolicyTarget, "p-12345678", "ou-ab12-11111111").await.unwrap());
    tx.delete_org_object("ou-ab12-11111111").await.unwrap();
    assert_eq!(tx.get_org_object("ou-ab12-11111111").await.unwrap(), None);
    assert_eq!(tx.org_links("o-abcdefghij", OrgLinkKind::PolicyTarget, None, None).await.unwrap().len(), 1, "an object's links go with it");
    tx.delete_organization("o-abcdefghij").await.unwrap();
    assert_eq!(tx.get_org_object("r-ab12").await.unwrap(), None);
    assert!(tx.org_links("o-abcdefghij", OrgLinkKind::PolicyTarget, None, None).await.unwrap().is_empty());

    // Throttling counts: one key's failures, a new count after the window, cleared.
    assert_eq!(tx.attempt_failures("signin:alice").await.unwrap(), None);
    tx.record_attempt_failure("signin:alice", 100, 900).await.unwrap();
    tx.record_attempt_failure("signin:alice", 150, 900).await.unwrap();
    tx.record_attempt_failure("signin:bob", 150, 900).await.unwrap();
    assert_eq!(tx.attempt_failures("signin:alice").await.unwrap(), Some((2, 100)), "counted from the first failure");
    tx.record_attempt_failure("signin:alice", 1100, 900).await.unwrap();
    assert_eq!(tx.attempt_failures("signin:alice").await.unwrap(), Some((1, 1100)), "a count older than the window starts again");
    assert_eq!(tx.attempt_failures("signin:bob").await.unwrap(), None, "and old counts are forgotten");
    tx.clear_attempt_failures("signin:alice").await.unwrap();
    assert_eq!(tx.attempt_failures("signin:alice").await.unwrap(), None);

    // Console states: put, read, update, take once, trim per owner and per kind, expiry.
    let state = |id: &str, kind: &str, owner: &str, seen: i64, expires: i64| ConsoleStateRecord {
        state_id: id.into(),
        kind: kind.into(),
        owner: owner.into(),
        body: format!("sealed-{id}"),
        created_at: 10,
        last_seen: seen,
        expires_at: expires,
    };
    for (i, id) in ["s1", "s2", "s3"].iter().enumerate() {
        tx.put_console_state(&state(id, "session", "arn:alice", 10 + i64::try_from(i).unwrap(), 5000), 10).await.unwrap();
    }
    tx.put_console_state(&state("s4", "session", "arn:bob", 5, 5000), 10).await.unwrap();
    tx.put_console_state(&state("p1", "pending", "", 10, 300), 10).await.unwrap();
    assert_eq!(tx.get_console_state("s1").await.unwrap(), Some(state("s1", "session", "arn:alice", 10, 5000)));
    assert!(tx.update_console_state("s1", None, 99, 4000).await.unwrap());
    assert_eq!(tx.get_console_state("s1").await.unwrap(), Some(state("s1", "session", "arn:alice", 99, 4000)), "the body is kept");
    assert!(tx.update_console_state("s1", Some("sealed-new"), 99, 4000).await.unwrap());
    assert_eq!(tx.get_console_state("s1").await.unwrap().map(|r| r.body), Some("sealed-new".into()));
    assert!(!tx.update_console_state("nope", None, 1, 1).await.unwrap(), "an update of a state that went says so");
    assert_eq!(tx.trim_console_states("session", Some("arn:alice"), 2).await.unwrap(), 1, "alice's least recently seen goes");
    assert_eq!(tx.get_console_state("s2").await.unwrap(), None);
    assert!(tx.get_console_state("s4").await.unwrap().is_some(), "another owner's stays");
    assert_eq!(tx.trim_console_states("session", None, 2).await.unwrap(), 1, "beyond the kind's limit the least recently seen goes");
    assert_eq!(tx.get_console_state("s4").await.unwrap(), None);
    assert!(tx.get_console_state("p1").await.unwrap().is_some(), "other kinds are not counted");
    assert_eq!(tx.take_console_state("p1", "session").await.unwrap(), None, "a state of another kind is not taken");
    assert_eq!(tx.take_console_state("p1", "pending").await.unwrap().map(|r| r.body), Some("sealed-p1".into()));
    assert_eq!(tx.take_console_state("p1", "pending").await.unwrap(), None, "a state is taken once");
    tx.put_console_state(&state("p2", "pending", "", 10, 300), 10).await.unwrap();
    tx.put_console_state(&state("p3", "pending", "", 400, 700), 400).await.unwrap();
    assert_eq!(tx.get_console_state("p2").await.unwrap(), None, "expired states are forgotten when another is put");
    tx.delete_console_state("p3").await.unwrap();
    tx.delete_console_state("s1").await.unwrap();
    tx.delete_console_state("s3").await.unwrap();
    assert_eq!(tx.get_console_state("s3").await.unwrap(), None);

    let user = "arn:aws:iam::111111111111:user/alice".to_owned();
    let use_at = |action: &str, region: &str, at: i64| ActionAccessRecord { entity_arn: user.clone(), action: action.into(), region: region.into(), accessed_at: at };
    tx.record_action_access("111111111111", &use_at("iam:ListUsers", "us-east-1", 20)).await.unwrap();
    tx.record_action_access("111111111111", &use_at("iam:ListUsers", "eu-west-1", 30)).await.unwrap();
    tx.record_action_access("111111111111", &use_at("iam:ListUsers", "us-west-2", 25)).await.unwrap();
    tx.record_action_access("111111111111", &use_at("s3:GetObject", "us-east-1", 40)).await.unwrap();
    assert_eq!(tx.action_accesses("111111111111", std::slice::from_ref(&user), 100).await.unwrap(), vec![use_at("iam:ListUsers", "eu-west-1", 30), use_at("s3:GetObject", "us-east-1", 40)], "the latest use is kept");
    assert_eq!(tx.action_accesses("111111111111", std::slice::from_ref(&user), 35).await.unwrap().len(), 1, "uses after the report's time are left out");
    assert!(tx.action_accesses("222222222222", std::slice::from_ref(&user), 100).await.unwrap().is_empty());
    let report = AccessReportRecord { job_id: "job-1".into(), account_id: "111111111111".into(), arn: user.clone(), granularity: "SERVICE_LEVEL".into(), requested_by: user.clone(), created_at: 50 };
    tx.insert_access_report(&report).await.unwrap();
    assert_eq!(tx.get_access_report("job-1").await.unwrap(), Some(report));
    assert_eq!(tx.get_access_report("job-2").await.unwrap(), None);
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let codes = tx.recovery_codes(owner).await.unwrap();
    assert_eq!(codes.iter().filter(|c| c.used_at == Some(12)).count(), 1);
    tx.replace_recovery_codes("111111111111", owner, &[], 14).await.unwrap();
    assert!(tx.recovery_codes(owner).await.unwrap().is_empty());
    tx.commit().await.unwrap();
}


/// Users' SSH keys, signing certificates and service credentials: by kind, oldest first,
/// updated and deleted one by one.
async fn user_credentials(store: &dyn Store) {
    let cred = |id: &str, kind, at| UserCredentialRecord {
        credential_id: id.into(),
        kind,
        account_id: "111111111111".into(),
        user_id: "AIDA1".into(),
        status: KeyStatus::Active,
        body: format!("body-{id}"),
        detail: Some("fp".into()),
        secret_hash: None,
        created_at: at,
        expires_at: None,
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_user_credential(&cred("APKA2", CredentialKind::SshPublicKey, 2)).await.unwrap();
    tx.insert_user_credential(&cred("APKA1", CredentialKind::SshPublicKey, 1)).await.unwrap();
    tx.insert_user_credential(&cred("CERT1", CredentialKind::SigningCertificate, 1)).await.unwrap();
    tx.insert_user_credential(&cred("ACCA1", CredentialKind::ServiceSpecific, 1)).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert!(matches!(tx.insert_user_credential(&cred("APKA1", CredentialKind::SshPublicKey, 3)).await, Err(StoreError::Conflict(_))));
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    let ssh = tx.user_credentials("AIDA1", CredentialKind::SshPublicKey).await.unwrap();
    assert_eq!(ssh.iter().map(|c| c.credential_id.as_str()).collect::<Vec<_>>(), ["APKA1", "APKA2"]);
    assert_eq!(tx.user_credentials("AIDA1", CredentialKind::SigningCertificate).await.unwrap().len(), 1);
    let mut s = tx.get_user_credential("ACCA1").await.unwrap().unwrap();
    s.status = KeyStatus::Inactive;
    s.secret_hash = Some("hash".into());
    s.expires_at = Some(99);
    s.detail = Some("alice-at-111111111111".into());
    tx.update_user_credential(&s).await.unwrap();
    assert_eq!(tx.get_user_credential("ACCA1").await.unwrap(), Some(s));
    for id in ["APKA1", "APKA2", "CERT1", "ACCA1"] {
        tx.delete_user_credential(id).await.unwrap();
    }
    assert!(tx.get_user_credential("APKA1").await.unwrap().is_none());
    assert!(tx.user_credentials("AIDA1", CredentialKind::SshPublicKey).await.unwrap().is_empty());
    tx.commit().await.unwrap();
}

/// Server certificates (unique names ignoring case, renamed, deleted with their tags) and
/// account settings (put twice, the second wins).
async fn server_certificates_and_settings(store: &dyn Store) {
    let mut cert = ServerCertificateRecord {
        server_certificate_id: "ASCA1".into(),
        account_id: "111111111111".into(),
        name: "Web".into(),
        path: "/cloudfront/".into(),
        body: "-----BEGIN CERTIFICATE-----".into(),
        chain: None,
        private_key_sealed: "sealed".into(),
        created_at: 1,
        expires_at: 100,
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_server_certificate(&cert).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let mut twin = cert.clone();
    twin.server_certificate_id = "ASCA2".into();
    twin.name = "WEB".into();
    assert!(matches!(tx.insert_server_certificate(&twin).await, Err(StoreError::Conflict(_))));
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.get_server_certificate("111111111111", "web").await.unwrap(), Some(cert.clone()));
    assert_eq!(tx.count_server_certificates("111111111111").await.unwrap(), 1);
    cert.name = "Web2".into();
    cert.path = "/".into();
    tx.update_server_certificate(&cert).await.unwrap();
    let listed = tx.list_server_certificates("111111111111", &PageQuery { path_prefix: Some("/"), after: None, limit: 5 }).await.unwrap();
    assert_eq!(listed, vec![cert.clone()]);
    tx.set_tags(TagTarget::ServerCertificate, "ASCA1", &[Tag { key: "k".into(), value: "v".into() }]).await.unwrap();
    tx.delete_server_certificate("ASCA1").await.unwrap();
    assert!(tx.get_server_certificate("111111111111", "Web2").await.unwrap().is_none());
    assert!(tx.tags(TagTarget::ServerCertificate, "ASCA1").await.unwrap().is_empty());

    assert!(tx.get_account_setting("111111111111", "sts-token-version").await.unwrap().is_none());
    tx.put_account_setting("111111111111", "sts-token-version", "1").await.unwrap();
    tx.put_account_setting("111111111111", "sts-token-version", "2").await.unwrap();
    assert_eq!(tx.get_account_setting("111111111111", "sts-token-version").await.unwrap().as_deref(), Some("2"));
    assert_eq!(tx.account_with_setting("sts-token-version", "2").await.unwrap().as_deref(), Some("111111111111"));
    assert_eq!(tx.account_with_setting("sts-token-version", "1").await.unwrap(), None);
    // Accounts by id, alias and root e-mail (the sign-in page's lookups).
    assert_eq!(tx.find_account("111111111111").await.unwrap().unwrap().account_id, "111111111111");
    assert_eq!(tx.find_account("my-alias").await.unwrap().unwrap().account_id, "111111111111");
    assert!(tx.find_account("other-alias").await.unwrap().is_none());
    assert_eq!(tx.account_by_root_email("ROOT@example.com").await.unwrap().unwrap().account_id, "111111111111");
    assert!(tx.account_by_root_email("nobody@example.com").await.unwrap().is_none());
    tx.commit().await.unwrap();
}

/// SAML providers keep their metadata, expiry, mode and keys, change them, and go with their tags.
async fn saml_providers(store: &dyn Store) {
    let mut p = SamlProviderRecord {
        arn: "arn:aws:iam::111111111111:saml-provider/Okta".into(),
        account_id: "111111111111".into(),
        name: "Okta".into(),
        uuid: "0d3c2f4a-1111-2222-3333-444455556666".into(),
        metadata: "<EntityDescriptor/>".into(),
        valid_until: 99,
        created_at: 1,
        assertion_encryption_mode: None,
        private_keys: Vec::new(),
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_saml_provider(&p).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert!(matches!(tx.insert_saml_provider(&p).await, Err(StoreError::Conflict(_))));
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.get_saml_provider(&p.arn).await.unwrap(), Some(p.clone()));
    p.metadata = "<EntityDescriptor validUntil=\"x\"/>".into();
    p.valid_until = 100;
    p.assertion_encryption_mode = Some("Allowed".into());
    p.private_keys = vec![("KEY1".into(), 5, "sealed".into())];
    tx.update_saml_provider(&p).await.unwrap();
    tx.set_tags(TagTarget::SamlProvider, &p.arn, &[Tag { key: "k".into(), value: "v".into() }]).await.unwrap();
    assert_eq!(tx.list_saml_providers("111111111111").await.unwrap(), vec![p.clone()]);
    tx.delete_saml_provider(&p.arn).await.unwrap();
    assert!(tx.get_saml_provider(&p.arn).await.unwrap().is_none());
    assert!(tx.tags(TagTarget::SamlProvider, &p.arn).await.unwrap().is_empty());
    tx.commit().await.unwrap();
}

fn event(id: &str, account: &str, time: i64, name: &str, read_only: bool, resources: &[(&str, &str)]) -> EventRecord {
    EventRecord {
        event_id: id.into(),
        account_id: account.into(),
        event_time: time,
        event_name: name.into(),
        event_source: "iam.amazonaws.com".into(),
        read_only,
        username: Some("alice".into()),
        access_key_id: Some("AKIAEXAMPLE".into()),
        resources: resources.iter().map(|(k, n)| ((*k).to_owned(), (*n).to_owned())).collect(),
        body: format!("{{\"eventID\":\"{id}\"}}"),
    }
}

/// The audit trail: events newest first, filtered by one attribute, paged by position,
/// replaced by id, written with a request's commit, followed and purged.
async fn events(store: &dyn Store) {
    let acct = "111111111111";
    let mut tx = store.begin().await.unwrap();
    tx.put_events(&[
        event("e1", acct, 1_000, "CreateUser", false, &[("AWS::IAM::User", "bob")]),
        event("e2", acct, 2_000, "GetUser", true, &[("AWS::IAM::User", "bob")]),
        event("e3", acct, 2_000, "AttachRolePolicy", false, &[("AWS::IAM::Role", "r"), ("AWS::IAM::Policy", "arn:aws:iam::aws:policy/P")]),
        event("e4", "222222222222", 2_500, "CreateUser", false, &[]),
    ])
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let all = EventQuery { account_id: acct, start: 0, end: i64::MAX, attribute: None, before: None, limit: 10 };
    let ids = |events: Vec<EventRecord>| events.into_iter().map(|e| e.event_id).collect::<Vec<_>>();
    let mut tx = store.begin().await.unwrap();
    let found = tx.lookup_events(&all).await.unwrap();
    assert_eq!(found[0].resources, vec![("AWS::IAM::Policy".to_owned(), "arn:aws:iam::aws:policy/P".to_owned()), ("AWS::IAM::Role".to_owned(), "r".to_owned())]);
    assert_eq!(ids(found), ["e3", "e2", "e1"], "newest first, then by id; one account only");
    let page = tx.lookup_events(&EventQuery { before: Some((2_000, "e3")), limit: 1, ..all.clone() }).await.unwrap();
    assert_eq!(ids(page), ["e2"]);
    assert_eq!(ids(tx.lookup_events(&EventQuery { start: 1_500, end: 2_000, ..all.clone() }).await.unwrap()), ["e3", "e2"], "bounds are inclusive");
    for (attribute, value, expected) in [
        (EventAttribute::EventName, "CreateUser", vec!["e1"]),
        (EventAttribute::ReadOnly, "true", vec!["e2"]),
        (EventAttribute::ReadOnly, "false", vec!["e3", "e1"]),
        (EventAttribute::ResourceName, "bob", vec!["e2", "e1"]),
        (EventAttribute::ResourceType, "AWS::IAM::Role", vec!["e3"]),
        (EventAttribute::EventId, "e2", vec!["e2"]),
        (EventAttribute::Username, "alice", vec!["e3", "e2", "e1"]),
        (EventAttribute::AccessKeyId, "AKIAOTHER", vec![]),
        (EventAttribute::EventSource, "iam.amazonaws.com", vec!["e3", "e2", "e1"]),
    ] {
        assert_eq!(ids(tx.lookup_events(&EventQuery { attribute: Some((attribute, value)), ..all.clone() }).await.unwrap()), expected, "{attribute:?} {value}");
    }
    assert_eq!(ids(tx.events_after((2_000, "e2"), 10).await.unwrap()), ["e3", "e4"], "every account, oldest first");
    drop(tx);

    // A final event replaces the first under its id (and its resources).
    let mut tx = store.begin().await.unwrap();
    let mut fin = event("e1", acct, 1_000, "CreateUser", false, &[("AWS::IAM::User", "carol")]);
    fin.body = "{\"final\":true}".into();
    tx.put_events(std::slice::from_ref(&fin)).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let got = tx.lookup_events(&EventQuery { attribute: Some((EventAttribute::EventId, "e1")), ..all.clone() }).await.unwrap();
    assert_eq!(got, vec![fin]);
    drop(tx);

    // A request's pending event is written by the commit of its change, once; a rolled-back
    // transaction takes it nowhere.
    let pending = audit::PendingEvent::new(event("e5", acct, 3_000, "DeleteUser", false, &[]));
    audit::with_pending_event(pending.clone(), async {
        let tx = store.begin().await.unwrap();
        drop(tx);
        let mut tx = store.begin().await.unwrap();
        tx.set_account_alias(acct, Some("my-alias")).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        tx.set_account_alias(acct, Some("my-alias")).await.unwrap();
        tx.commit().await.unwrap();
    })
    .await;
    assert!(pending.written());
    let mut tx = store.begin().await.unwrap();
    assert_eq!(ids(tx.lookup_events(&EventQuery { attribute: Some((EventAttribute::EventName, "DeleteUser")), ..all.clone() }).await.unwrap()), ["e5"]);

    assert_eq!(tx.purge_events(2_000).await.unwrap(), 1, "older than the bound");
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(ids(tx.lookup_events(&all).await.unwrap()), ["e5", "e3", "e2"]);
    assert_eq!(tx.purge_events(i64::MAX).await.unwrap(), 4);
    tx.commit().await.unwrap();
}
