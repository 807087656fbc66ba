//! The Account Management API: an account's alternate contacts (billing, operations,
//! security), contact information, name, and Regions (the opt-in ones enabled and
//! disabled, with AWS's ENABLING/DISABLING transitions). From an organization's management
//! account, with trusted access for `account.amazonaws.com`, the same for its member
//! accounts by `AccountId`. Stored as account settings.

use serde_json::{json, Value};

use crate::{Authorized, Iam, IamError, IamResult};

/// The commercial Regions, in the order ListRegions shows them, and whether each is one of
/// the opt-in Regions (launched after 2019-03-20, disabled until enabled).
pub const REGIONS: [(&str, bool); 34] = [
    ("af-south-1", true),
    ("ap-east-1", true),
    ("ap-east-2", true),
    ("ap-northeast-1", false),
    ("ap-northeast-2", false),
    ("ap-northeast-3", false),
    ("ap-south-1", false),
    ("ap-south-2", true),
    ("ap-southeast-1", false),
    ("ap-southeast-2", false),
    ("ap-southeast-3", true),
    ("ap-southeast-4", true),
    ("ap-southeast-5", true),
    ("ap-southeast-6", true),
    ("ap-southeast-7", true),
    ("ca-central-1", false),
    ("ca-west-1", true),
    ("eu-central-1", false),
    ("eu-central-2", true),
    ("eu-north-1", false),
    ("eu-south-1", true),
    ("eu-south-2", true),
    ("eu-west-1", false),
    ("eu-west-2", false),
    ("eu-west-3", false),
    ("il-central-1", true),
    ("me-central-1", true),
    ("me-south-1", true),
    ("mx-central-1", true),
    ("sa-east-1", false),
    ("us-east-1", false),
    ("us-east-2", false),
    ("us-west-1", false),
    ("us-west-2", false),
];

/// How long (server time) enabling or disabling a Region takes.
const TRANSITION_SECONDS: i64 = 10;
const ALTERNATE_CONTACT_TYPES: [&str; 3] = ["BILLING", "OPERATIONS", "SECURITY"];

fn err(code: &'static str, message: impl Into<String>) -> IamError {
    IamError::service(code, message, &[])
}

fn validation(reason: &str, message: impl Into<String>) -> IamError {
    IamError::service("ValidationException", message, &[("reason", reason)])
}

fn contact_key(kind: &str) -> String {
    format!("alternate-contact:{kind}")
}

fn region_key(region: &str) -> String {
    format!("region-opt:{region}")
}

/// Whether a Region is one of the opt-in ones (`None`: not a Region this server knows).
pub fn is_opt_in_region(region: &str) -> Option<bool> {
    REGIONS.iter().find(|(r, _)| *r == region).map(|(_, opt_in)| *opt_in)
}

impl Iam {
    /// The account an Account Management request is about: the caller's own without
    /// `AccountId`; with it, a member account of the organization the caller's account
    /// manages, when the organization trusts `account.amazonaws.com`.
    async fn managed_account(&self, auth: &Authorized<'_>, action: &str, account_id: Option<&str>) -> IamResult<String> {
        let caller = auth.account();
        let Some(target) = account_id else { return Ok(caller.to_owned()) };
        let who = auth.caller().arn();
        let denied = |why: &str| IamError::service("AccessDeniedException", format!("User: {who} is not authorized to perform: account:{action}{why}"), &[]);
        let mut tx = self.store.begin_read().await?;
        let Some(org) = crate::org::management_org_of(&mut tx, caller).await? else { return Err(denied("")) };
        if target == caller {
            return Err(denied(" (The management account can only be managed using the standalone context from the management account.)"));
        }
        let member = tx.get_org_object(target).await?.is_some_and(|m| m.kind == portcullis_store::OrgObjectKind::Account && m.org_id == org);
        let trusted = !tx.org_links(&org, portcullis_store::OrgLinkKind::ServiceAccess, Some(&org), Some("account.amazonaws.com")).await?.is_empty();
        if !member || !trusted {
            return Err(denied(""));
        }
        Ok(target.to_owned())
    }

    async fn setting(&self, account: &str, key: &str) -> IamResult<Option<String>> {
        let mut tx = self.store.begin_read().await?;
        Ok(tx.get_account_setting(account, key).await?)
    }

    async fn put_setting(&self, account: &str, key: &str, value: &str) -> IamResult<()> {
        let mut tx = self.store.begin().await?;
        tx.put_account_setting(account, key, value).await?;
        tx.commit().await.map_err(Into::into)
    }

    fn contact_type<'a>(&self, auth: &Authorized<'_>, action: &str, kind: &'a str) -> IamResult<&'a str> {
        if ALTERNATE_CONTACT_TYPES.contains(&kind) {
            return Ok(kind);
        }
        Err(err("AccessDeniedException", format!("User: {} is not authorized to perform: account:{action} (You specified an invalid Alternate Contact type.)", auth.caller().arn())))
    }

    pub async fn put_alternate_contact(&self, auth: &Authorized<'_>, account_id: Option<&str>, contact: &Value) -> IamResult<()> {
        let kind = self.contact_type(auth, "PutAlternateContact", contact["AlternateContactType"].as_str().unwrap_or_default())?;
        let account = self.managed_account(auth, "PutAlternateContact", account_id).await?;
        let stored = json!({
            "AlternateContactType": kind,
            "Name": contact["Name"],
            "Title": contact["Title"],
            "EmailAddress": contact["EmailAddress"].as_str().unwrap_or_default().trim(),
            "PhoneNumber": contact["PhoneNumber"],
        });
        self.put_setting(&account, &contact_key(kind), &stored.to_string()).await
    }

    pub async fn get_alternate_contact(&self, auth: &Authorized<'_>, account_id: Option<&str>, kind: &str) -> IamResult<Value> {
        let kind = self.contact_type(auth, "GetAlternateContact", kind)?;
        let account = self.managed_account(auth, "GetAlternateContact", account_id).await?;
        match self.setting(&account, &contact_key(kind)).await?.filter(|v| !v.is_empty()) {
            Some(v) => serde_json::from_str(&v).map_err(|e| IamError::ServiceFailure(e.to_string())),
            None => Err(err("ResourceNotFoundException", "No contact of the inputted alternate contact type found.")),
        }
    }

    pub async fn delete_alternate_contact(&self, auth: &Authorized<'_>, account_id: Option<&str>, kind: &str) -> IamResult<()> {
        let kind = self.contact_type(auth, "DeleteAlternateContact", kind)?;
        let account = self.managed_account(auth, "DeleteAlternateContact", account_id).await?;
        if self.setting(&account, &contact_key(kind)).await?.is_none_or(|v| v.is_empty()) {
            return Err(err("ResourceNotFoundException", "No contact of the inputted alternate contact type found."));
        }
        self.put_setting(&account, &contact_key(kind), "").await
    }

    pub async fn put_contact_information(&self, auth: &Authorized<'_>, account_id: Option<&str>, info: &Value) -> IamResult<()> {
        let account = self.managed_account(auth, "PutContactInformation", account_id).await?;
        let country = info["CountryCode"].as_str().unwrap_or_default();
        if ["US", "CA", "GB", "DE", "JP", "IN", "BR"].contains(&country) && info["StateOrRegion"].as_str().is_none_or(str::is_empty) {
            return Err(validation("fieldValidationFailed", format!("StateOrRegion is required for the country {country}.")));
        }
        self.put_setting(&account, "contact-information", &info.to_string()).await
    }

    pub async fn get_contact_information(&self, auth: &Authorized<'_>, account_id: Option<&str>) -> IamResult<Value> {
        let account = self.managed_account(auth, "GetContactInformation", account_id).await?;
        match self.setting(&account, "contact-information").await? {
            Some(v) => serde_json::from_str(&v).map_err(|e| IamError::ServiceFailure(e.to_string())),
            None => Err(err("ResourceNotFoundException", "No contact information found for the account.")),
        }
    }

    /// A Region's status for an account now: default Regions are `ENABLED_BY_DEFAULT`; an
    /// opt-in Region is `DISABLED` until enabled, and `ENABLING`/`DISABLING` for a while after
    /// a change.
    async fn region_status(&self, account: &str, region: &str) -> IamResult<&'static str> {
        match is_opt_in_region(region) {
            None => Err(validation("invalidRegionOptTarget", format!("The Region {region} is not a valid Region."))),
            Some(false) => Ok("ENABLED_BY_DEFAULT"),
            Some(true) => {
                let stored = self.setting(account, &region_key(region)).await?.unwrap_or_default();
                let (state, since) = stored.split_once(':').map(|(s, t)| (s.to_owned(), t.parse::<i64>().unwrap_or(0))).unwrap_or(("DISABLED".to_owned(), 0));
                let settled = self.now() - since >= TRANSITION_SECONDS;
                Ok(match (state.as_str(), settled) {
                    ("ENABLED", false) => "ENABLING",
                    ("ENABLED", true) => "ENABLED",
                    ("DISABLED", false) => "DISABLING",
                    _ => "DISABLED",
                })
            }
        }
    }

    /// Whether requests of an account may use a Region (an opt-in Region must be enabled).
    pub async fn region_enabled(&self, account: &str, region: &str) -> IamResult<bool> {
        if is_opt_in_region(region) != Some(true) {
            return Ok(true);
        }
        Ok(self.region_status(account, region).await? == "ENABLED")
    }

    pub async fn list_regions(&self, auth: &Authorized<'_>, account_id: Option<&str>, filter: &[String], next: Option<&str>, max: Option<i64>) -> IamResult<Value> {
        let account = self.managed_account(auth, "ListRegions", account_id).await?;
        let mut all = Vec::new();
        for (region, _) in REGIONS {
            let status = self.region_status(&account, region).await?;
            if filter.is_empty() || filter.iter().any(|f| f == status) {
                all.push(json!({"RegionName": region, "RegionOptStatus": status}));
            }
        }
        let (regions, next_token) = crate::page::positional(all, next, max, 50).map_err(|()| validation("fieldValidationFailed", "The NextToken is not valid."))?;
        let mut out = json!({"Regions": regions});
        if let Some(t) = next_token {
            out["NextToken"] = json!(t);
        }
        Ok(out)
    }

    pub async fn get_region_opt_status(&self, auth: &Authorized<'_>, account_id: Option<&str>, region: &str) -> IamResult<Value> {
        let account = self.managed_account(auth, "GetRegionOptStatus", account_id).await?;
        Ok(json!({"RegionName": region, "RegionOptStatus": self.region_status(&account, region).await?}))
    }

    /// EnableRegion and DisableRegion: only opt-in Regions, and not while one is changing.
    pub async fn set_region_enabled(&self, auth: &Authorized<'_>, account_id: Option<&str>, region: &str, enable: bool) -> IamResult<()> {
        let action = if enable { "EnableRegion" } else { "DisableRegion" };
        let account = self.managed_account(auth, action, account_id).await?;
        let status = self.region_status(&account, region).await?;
        match status {
            "ENABLED_BY_DEFAULT" => return Err(validation("invalidRegionOptTarget", "Default Regions cannot be enabled or disabled.")),
            "ENABLING" | "DISABLING" => {
                return Err(err("ConflictException", format!("Account {account} and region {region} is currently being enabled or disabled. Please wait until it finishes and then try again.")))
            }
            "ENABLED" if enable => return Ok(()),
            "DISABLED" if !enable => return Ok(()),
            _ => {}
        }
        let value = format!("{}:{}", if enable { "ENABLED" } else { "DISABLED" }, self.now());
        self.put_setting(&account, &region_key(region), &value).await
    }

    /// GetPrimaryEmail: a member account's root e-mail, for its management account.
    pub async fn get_primary_email(&self, auth: &Authorized<'_>, account_id: &str) -> IamResult<Value> {
        let account = self.managed_account(auth, "GetPrimaryEmail", Some(account_id)).await?;
        let mut tx = self.store.begin_read().await?;
        let rec = tx.get_account(&account).await?.ok_or_else(|| err("ResourceNotFoundException", "The account was not found."))?;
        Ok(json!({"PrimaryEmail": rec.root_email}))
    }

    pub async fn get_account_information(&self, auth: &Authorized<'_>, account_id: Option<&str>) -> IamResult<Value> {
        let account = self.managed_account(auth, "GetAccountInformation", account_id).await?;
        let mut tx = self.store.begin_read().await?;
        let rec = tx.get_account(&account).await?.ok_or_else(|| IamError::ServiceFailure(format!("account {account} is not stored")))?;
        drop(tx);
        let name = match self.setting(&account, "account-name").await? {
            Some(n) => n,
            None => self.org_account_name(&account).await?.unwrap_or_else(|| rec.root_email.split('@').next().unwrap_or("account").to_owned()),
        };
        let created = time::OffsetDateTime::from_unix_timestamp(rec.created_at)
            .ok()
            .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
            .unwrap_or_default();
        Ok(json!({"AccountId": account, "AccountName": name, "AccountCreatedDate": created, "AccountState": "ACTIVE"}))
    }

    pub async fn put_account_name(&self, auth: &Authorized<'_>, account_id: Option<&str>, name: &str) -> IamResult<()> {
        let account = self.managed_account(auth, "PutAccountName", account_id).await?;
        self.put_setting(&account, "account-name", name).await
    }

    /// The account's security challenge questions (without their answers), root user only.
    pub async fn security_questions(&self, auth: &Authorized<'_>) -> IamResult<Vec<String>> {
        require_root(auth)?;
        let stored = self.setting(auth.account(), "security-questions").await?.unwrap_or_default();
        let v: Vec<(String, String)> = serde_json::from_str(&stored).unwrap_or_default();
        Ok(v.into_iter().map(|(q, _)| q).collect())
    }

    /// Sets the three security challenge questions; the answers are kept only as argon2id
    /// hashes of their trimmed, lower-case form. Root user only.
    pub async fn set_security_questions(&self, auth: &Authorized<'_>, qa: &[(String, String)]) -> IamResult<()> {
        require_root(auth)?;
        if qa.len() != 3 || qa.iter().any(|(q, a)| q.trim().is_empty() || a.trim().is_empty()) {
            return Err(IamError::Validation("Choose three questions and answer each.".to_owned()));
        }
        let mut stored = Vec::new();
        for (q, a) in qa {
            stored.push((q.trim().to_owned(), portcullis_credentials::hash_password(&a.trim().to_lowercase())?));
        }
        self.put_setting(auth.account(), "security-questions", &serde_json::to_string(&stored).map_err(|e| IamError::ServiceFailure(e.to_string()))?).await
    }

    /// Whether the answers match the account's security questions (in their order).
    pub async fn check_security_answers(&self, account: &str, answers: &[String]) -> IamResult<bool> {
        let stored = self.setting(account, "security-questions").await?.unwrap_or_default();
        let v: Vec<(String, String)> = serde_json::from_str(&stored).unwrap_or_default();
        Ok(!v.is_empty() && v.len() == answers.len() && v.iter().zip(answers).all(|((_, hash), a)| portcullis_credentials::verify_password(&a.trim().to_lowercase(), hash)))
    }

    /// IAM user and role access to billing information (off for a new account, as on AWS).
    pub async fn iam_billing_access(&self, account: &str) -> IamResult<bool> {
        Ok(self.setting(account, "iam-billing-access").await?.as_deref() == Some("true"))
    }

    /// Turns IAM access to billing information on or off; root user only.
    pub async fn set_iam_billing_access(&self, auth: &Authorized<'_>, on: bool) -> IamResult<()> {
        require_root(auth)?;
        self.put_setting(auth.account(), "iam-billing-access", if on { "true" } else { "false" }).await
    }
}

/// Settings only the root user changes.
fn require_root(auth: &Authorized<'_>) -> IamResult<()> {
    if matches!(auth.caller().principal, crate::Principal::Root) {
        return Ok(());
    }
    Err(IamError::AccessDenied("Only the root user can change this setting.".to_owned()))
}
