//! Invitations between accounts of the server (handshakes), leaving an organization, and
//! delegated administrators.

use portcullis_store::{OrgLinkKind, OrgLinkRecord, OrgObjectKind, OrgObjectRecord, Tx};
use serde_json::{json, Value};

use super::structure::attach_full_access;
use super::*;

/// How long an invitation stays open (AWS: 15 days).
const HANDSHAKE_SECONDS: i64 = 15 * 86_400;

fn handshake_not_found() -> IamError {
    err("HandshakeNotFoundException", "We can't find a handshake with the HandshakeId that you specified.")
}

/// A handshake as stored (its answer), with its state brought up to date (an open one past
/// its expiry is `EXPIRED`).
fn handshake_view(rec: &OrgObjectRecord, now: i64) -> IamResult<Value> {
    let mut v: Value = serde_json::from_str(&rec.body).map_err(|e| IamError::ServiceFailure(e.to_string()))?;
    let open = matches!(v["State"].as_str(), Some("OPEN" | "REQUESTED"));
    if open && v["ExpirationTimestamp"].as_i64().is_some_and(|e| e <= now) {
        v["State"] = json!("EXPIRED");
    }
    Ok(v)
}

impl Iam {
    /// InviteAccountToOrganization: an account of this server (by id, or by its root
    /// e-mail) is invited; it accepts or declines with the handshake's id.
    pub async fn invite_account(&self, auth: &Authorized<'_>, target_id: &str, target_type: &str, notes: Option<&str>) -> IamResult<Value> {
        let mut tx = self.store.begin().await?;
        let org = managed_org(&mut tx, auth).await?;
        let account = match target_type {
            "ACCOUNT" => tx.get_account(target_id).await?,
            "EMAIL" => tx.account_by_root_email(target_id).await?,
            _ => return Err(invalid_input("INVALID_PARTY_TYPE_TARGET", "You specified the wrong type for the handshake's target.")),
        };
        let Some(account) = account else {
            return Err(err("AccountNotFoundException", "You specified an account that doesn't exist."));
        };
        if membership(&mut tx, &account.account_id).await?.is_some() {
            return Err(err_with(
                "HandshakeConstraintViolationException",
                "ALREADY_IN_AN_ORGANIZATION",
                "The handshake request is invalid because the invited account is already a member of an organization.",
            ));
        }
        let now = self.now();
        let open = tx.org_objects(&org.id, OrgObjectKind::Handshake, Some(&account.account_id)).await?;
        if open.iter().any(|h| handshake_view(h, now).is_ok_and(|v| v["State"] == json!("OPEN"))) {
            return Err(err("DuplicateHandshakeException", "A handshake with the same action and target already exists."));
        }
        // (Read in this transaction: SQLite has one connection, a second would wait forever.)
        let management_name = match tx.get_org_object(org.management()).await? {
            Some(rec) => body_of::<ObjectBody>(&rec)?.name,
            None => String::new(),
        };
        let id = new_id("h-", 10)?;
        let mut resources = vec![json!({"Value": org.id, "Type": "ORGANIZATION", "Resources": [
            {"Value": org.body.management_email, "Type": "MASTER_EMAIL"},
            {"Value": management_name, "Type": "MASTER_NAME"},
            {"Value": "ALL", "Type": "ORGANIZATION_FEATURE_SET"},
        ]})];
        resources.push(json!({"Value": account.account_id, "Type": "ACCOUNT"}));
        if let Some(n) = notes {
            resources.push(json!({"Value": n, "Type": "NOTES"}));
        }
        let handshake = json!({
            "Id": id,
            "Arn": format!("arn:aws:organizations::{}:handshake/{}/invite/{id}", org.management(), org.id),
            "Parties": [{"Id": org.id.trim_start_matches("o-"), "Type": "ORGANIZATION"}, {"Id": account.account_id, "Type": "ACCOUNT"}],
            "State": "OPEN",
            "RequestedTimestamp": now,
            "ExpirationTimestamp": now + HANDSHAKE_SECONDS,
            "Action": "INVITE",
            "Resources": resources,
        });
        let rec = OrgObjectRecord { object_id: id, org_id: org.id.clone(), kind: OrgObjectKind::Handshake, parent_id: Some(account.account_id), unique_key: None, created_at: now, body: handshake.to_string() };
        tx.insert_org_object(&rec).await?;
        tx.commit().await?;
        Ok(handshake)
    }

    /// A handshake the caller is a party to: the invited account, or the inviting
    /// organization's management account.
    async fn party_handshake(&self, tx: &mut Box<dyn Tx>, auth: &Authorized<'_>, id: &str) -> IamResult<(OrgObjectRecord, Value, bool)> {
        let rec = tx.get_org_object(id).await?.filter(|r| r.kind == OrgObjectKind::Handshake).ok_or_else(handshake_not_found)?;
        let invited = rec.parent_id.as_deref() == Some(auth.account());
        let inviter = match tx.get_org_object(&rec.org_id).await? {
            Some(o) if o.kind == OrgObjectKind::Organization => body_of::<OrgBody>(&o)?.management_account_id == auth.account(),
            _ => false,
        };
        if !invited && !inviter {
            return Err(handshake_not_found());
        }
        let view = handshake_view(&rec, self.now())?;
        Ok((rec, view, invited))
    }

    /// AcceptHandshake, DeclineHandshake (the invited account) and CancelHandshake (the
    /// inviting management account).
    pub async fn answer_handshake(&self, auth: &Authorized<'_>, id: &str, answer: &str) -> IamResult<Value> {
        let mut tx = self.store.begin().await?;
        let (mut rec, mut view, invited) = self.party_handshake(&mut tx, auth, id).await?;
        let state = view["State"].as_str().unwrap_or_default().to_owned();
        let wanted = match answer {
            "accept" => "ACCEPTED",
            "decline" => "DECLINED",
            _ => "CANCELED",
        };
        if state == wanted {
            return Err(err("HandshakeAlreadyInStateException", format!("The specified handshake is already in the requested state, {wanted}.")));
        }
        let allowed = (answer == "cancel" && !invited) || (answer != "cancel" && invited);
        if !allowed {
            return Err(access_denied());
        }
        if state != "OPEN" {
            return Err(err("InvalidHandshakeTransitionException", format!("You can't perform the operation on the handshake in its current state, {state}.")));
        }
        if answer == "accept" {
            if membership(&mut tx, auth.account()).await?.is_some() {
                return Err(err_with(
                    "HandshakeConstraintViolationException",
                    "ALREADY_IN_AN_ORGANIZATION",
                    "The handshake request is invalid because the invited account is already a member of an organization.",
                ));
            }
            let org_rec = tx.get_org_object(&rec.org_id).await?.ok_or_else(not_in_use)?;
            let org = Org { id: org_rec.object_id.clone(), body: body_of(&org_rec)?, created_at: org_rec.created_at };
            let account = tx.get_account(auth.account()).await?.ok_or_else(|| IamError::ServiceFailure("the caller's account is not stored".to_owned()))?;
            let now = self.now();
            let name = account.alias.clone().unwrap_or_else(|| account.root_email.split('@').next().unwrap_or("account").to_owned());
            let member = ObjectBody { name, email: account.root_email, status: "ACTIVE".to_owned(), joined_method: "INVITED".to_owned(), ..Default::default() };
            tx.insert_org_object(&OrgObjectRecord {
                object_id: account.account_id.clone(),
                org_id: org.id.clone(),
                kind: OrgObjectKind::Account,
                parent_id: Some(org.body.root_id.clone()),
                unique_key: None,
                created_at: now,
                body: to_body(&member)?,
            })
            .await?;
            if org.scps_enabled() {
                attach_full_access(&mut tx, &org, &account.account_id, now).await?;
            }
        }
        view["State"] = json!(wanted);
        rec.body = view.to_string();
        tx.update_org_object(&rec).await?;
        tx.commit().await?;
        Ok(view)
    }

    pub async fn describe_handshake(&self, auth: &Authorized<'_>, id: &str) -> IamResult<Value> {
        let mut tx = self.store.begin_read().await?;
        Ok(self.party_handshake(&mut tx, auth, id).await?.1)
    }

    /// ListHandshakesForAccount: the invitations the caller's account received.
    pub async fn list_handshakes_for_account(&self, auth: &Authorized<'_>, next: Option<&str>, max: Option<i64>) -> IamResult<OrgPage<Value>> {
        let mut tx = self.store.begin_read().await?;
        let now = self.now();
        let mut all = Vec::new();
        // Invitations are scoped by their organization; the invited account is their parent.
        for rec in tx.org_objects_with_parent(OrgObjectKind::Handshake, auth.account()).await? {
            all.push(handshake_view(&rec, now)?);
        }
        paginate(all, next, max)
    }

    pub async fn list_handshakes_for_organization(&self, auth: &Authorized<'_>, next: Option<&str>, max: Option<i64>) -> IamResult<OrgPage<Value>> {
        let mut tx = self.store.begin_read().await?;
        let org = managed_org(&mut tx, auth).await?;
        let now = self.now();
        let all = tx.org_objects(&org.id, OrgObjectKind::Handshake, None).await?.iter().map(|r| handshake_view(r, now)).collect::<IamResult<Vec<_>>>()?;
        paginate(all, next, max)
    }

    /// LeaveOrganization: a member account leaves on its own (the management account cannot).
    pub async fn leave_organization(&self, auth: &Authorized<'_>) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        let Some((org, member)) = membership(&mut tx, auth.account()).await? else { return Err(not_in_use()) };
        if org.management() == auth.account() {
            return Err(err(
                "MasterCannotLeaveOrganizationException",
                "You can't remove a management account from an organization. If you want the management account to become a member account in another organization, you must first delete the current organization.",
            ));
        }
        if !tx.org_links(&org.id, OrgLinkKind::DelegatedAdministrator, Some(auth.account()), None).await?.is_empty() {
            return Err(constraint("CANNOT_REMOVE_DELEGATED_ADMINISTRATOR_FROM_ORG", "You cannot remove a delegated administrator from the organization."));
        }
        tx.delete_org_object(&member.object_id).await?;
        self.forget_sso_account(&mut tx, &org.id, auth.account()).await?;
        tx.commit().await.map_err(Into::into)
    }

    pub async fn register_delegated_administrator(&self, auth: &Authorized<'_>, account_id: &str, principal: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        let org = managed_org(&mut tx, auth).await?;
        super::structure::org_account(&mut tx, &org, account_id).await?;
        if account_id == org.management() {
            return Err(constraint("CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR", "You cannot register the management account of the organization as a delegated administrator for an AWS service integrated with Organizations."));
        }
        if !principal.ends_with(".amazonaws.com") {
            return Err(invalid_input("UNRECOGNIZED_SERVICE_PRINCIPAL", "You specified a service principal that isn't recognized."));
        }
        let link = OrgLinkRecord { from_id: account_id.to_owned(), to_id: principal.to_owned(), created_at: self.now() };
        if !tx.insert_org_link(&org.id, OrgLinkKind::DelegatedAdministrator, &link).await? {
            return Err(err("AccountAlreadyRegisteredException", "The provided account is already a delegated administrator for your organization."));
        }
        tx.commit().await.map_err(Into::into)
    }

    pub async fn deregister_delegated_administrator(&self, auth: &Authorized<'_>, account_id: &str, principal: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        let org = managed_org(&mut tx, auth).await?;
        super::structure::org_account(&mut tx, &org, account_id).await?;
        if !tx.delete_org_link(OrgLinkKind::DelegatedAdministrator, account_id, principal).await? {
            return Err(err("AccountNotRegisteredException", "The provided account is not a registered delegated administrator for your organization."));
        }
        tx.commit().await.map_err(Into::into)
    }

    /// ListDelegatedAdministrators: the member accounts registered (for one service when given).
    pub async fn list_delegated_administrators(&self, auth: &Authorized<'_>, principal: Option<&str>, next: Option<&str>, max: Option<i64>) -> IamResult<OrgPage<Value>> {
        let mut tx = self.store.begin_read().await?;
        let org = readable_org(&mut tx, auth).await?;
        let mut all: Vec<Value> = Vec::new();
        for link in tx.org_links(&org.id, OrgLinkKind::DelegatedAdministrator, None, principal).await? {
            if all.iter().any(|a| a["Id"] == json!(link.from_id)) {
                continue;
            }
            let Some(rec) = tx.get_org_object(&link.from_id).await? else { continue };
            let mut v = serde_json::to_value(super::structure::account_view(&org, &rec)?).map_err(|e| IamError::ServiceFailure(e.to_string()))?;
            v["DelegationEnabledDate"] = json!(link.created_at);
            all.push(v);
        }
        paginate(all, next, max)
    }

    pub async fn list_delegated_services(&self, auth: &Authorized<'_>, account_id: &str, next: Option<&str>, max: Option<i64>) -> IamResult<OrgPage<Value>> {
        let mut tx = self.store.begin_read().await?;
        let org = readable_org(&mut tx, auth).await?;
        super::structure::org_account(&mut tx, &org, account_id).await?;
        let links = tx.org_links(&org.id, OrgLinkKind::DelegatedAdministrator, Some(account_id), None).await?;
        if links.is_empty() {
            return Err(err("AccountNotRegisteredException", "The provided account is not a registered delegated administrator for your organization."));
        }
        paginate(links.into_iter().map(|l| json!({"ServicePrincipal": l.to_id, "DelegationEnabledDate": l.created_at})).collect(), next, max)
    }
}

/// The caller's organization for a read: the management account, or a member account that
/// is a delegated administrator (which may read the organization as AWS lets it).
pub(super) async fn readable_org(tx: &mut Box<dyn Tx>, auth: &Authorized<'_>) -> IamResult<Org> {
    let org = caller_org(tx, auth).await?;
    if org.management() == auth.account() || !tx.org_links(&org.id, OrgLinkKind::DelegatedAdministrator, Some(auth.account()), None).await?.is_empty() {
        return Ok(org);
    }
    Err(access_denied())
}
