//! The request being authorized: action, resource, caller and context keys.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::OnceLock;

use crate::datetime::{self, Millis};
use crate::keys::{KeyName, Prehashed};
use crate::principal::{PrincipalType, RequestPrincipal};
use crate::variables::VarSource;

/// One context key's values, with their parsed forms computed on first use
/// (and then shared by every condition that reads the key).
#[derive(Debug, Clone, Default)]
pub(crate) struct Slot {
    key: String,
    pub(crate) values: Vec<String>,
    ips: OnceLock<Vec<Option<IpAddr>>>,
    numbers: OnceLock<Vec<Option<f64>>>,
    dates: OnceLock<Vec<Option<Millis>>>,
}

impl Slot {
    pub(crate) fn ips(&self) -> &[Option<IpAddr>] {
        self.ips.get_or_init(|| self.values.iter().map(|v| v.trim().parse().ok()).collect())
    }
    pub(crate) fn numbers(&self) -> &[Option<f64>] {
        self.numbers.get_or_init(|| self.values.iter().map(|v| parse_number(v)).collect())
    }
    pub(crate) fn dates(&self) -> &[Option<Millis>] {
        self.dates.get_or_init(|| self.values.iter().map(|v| datetime::parse(v)).collect())
    }
}

pub(crate) fn parse_number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Everything a policy can look at. Context key names are case-insensitive;
/// values are lists of strings, since some keys (`aws:TagKeys`,
/// `aws:CalledVia`) are multivalued. An empty list counts as absent.
///
/// Time is not read from the clock: set `aws:CurrentTime`/`aws:EpochTime`
/// with [`RequestContext::set_time`].
#[derive(Debug, Clone, Default)]
pub struct RequestContext {
    /// `service:Action`, e.g. `ec2:DescribeInstances` (compared case-insensitively).
    pub action: String,
    /// The resource ARN, or `*` for actions that have no resource.
    pub resource: String,
    pub principal: RequestPrincipal,
    slots: Vec<Slot>,
    index: HashMap<u64, usize, Prehashed>,
}

impl RequestContext {
    pub fn new(action: &str, resource: &str, principal: RequestPrincipal) -> Self {
        RequestContext {
            action: action.to_string(),
            resource: resource.to_string(),
            principal,
            ..Default::default()
        }
    }

    /// Sets a context key (replacing earlier values).
    pub fn set(&mut self, key: &str, values: Vec<String>) -> &mut Self {
        let name = KeyName::new(key);
        let found = self.find(&name);
        let hash = name.hash();
        let slot = Slot {
            key: name.into_lower(),
            values,
            ..Default::default()
        };
        match found {
            Some(i) => self.slots[i] = slot,
            None => {
                self.slots.push(slot);
                // On a (vanishingly unlikely) hash collision the first key keeps
                // the index entry and the other is found by the linear fallback.
                self.index.entry(hash).or_insert(self.slots.len() - 1);
            }
        }
        self
    }

    /// Sets a single-valued context key.
    pub fn set_one(&mut self, key: &str, value: &str) -> &mut Self {
        self.set(key, vec![value.to_string()])
    }

    /// Makes a key absent.
    pub fn remove(&mut self, key: &str) -> &mut Self {
        self.set(key, Vec::new())
    }

    /// Values of a key, looked up case-insensitively; `None` when absent.
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.slot(&KeyName::new(key)).map(|s| s.values.as_slice())
    }

    fn find(&self, name: &KeyName) -> Option<usize> {
        match self.index.get(&name.hash()) {
            Some(&i) if self.slots.get(i).is_some_and(|s| s.key == name.lower()) => Some(i),
            Some(_) => self.slots.iter().position(|s| s.key == name.lower()),
            None => None,
        }
    }

    /// The key's slot when it has at least one value.
    pub(crate) fn slot(&self, name: &KeyName) -> Option<&Slot> {
        self.find(name).and_then(|i| self.slots.get(i)).filter(|s| !s.values.is_empty())
    }

    /// Sets `aws:CurrentTime` (ISO 8601, UTC) and `aws:EpochTime` from seconds
    /// since the Unix epoch.
    pub fn set_time(&mut self, unix_seconds: i64) -> &mut Self {
        self.set("aws:CurrentTime", vec![datetime::format_iso8601(unix_seconds)]);
        self.set("aws:EpochTime", vec![unix_seconds.to_string()])
    }

    /// Fills the principal keys AWS adds to every authenticated request:
    /// `aws:PrincipalArn` (the role's ARN for role sessions),
    /// `aws:PrincipalAccount`, `aws:PrincipalType`, `aws:userid`,
    /// `aws:username` (pass it for IAM users only) and `aws:PrincipalTag/KEY`.
    pub fn set_principal_keys(&mut self, user_name: Option<&str>, user_id: &str, tags: &[(&str, &str)]) -> &mut Self {
        let p = self.principal.clone();
        let type_name = match p.principal_type {
            PrincipalType::Root => "Account",
            PrincipalType::User => "User",
            PrincipalType::AssumedRole => "AssumedRole",
            PrincipalType::FederatedUser => "FederatedUser",
            PrincipalType::Service => "Service",
            PrincipalType::Anonymous => "Anonymous",
            PrincipalType::WebIdentity => "WebIdentityUser",
            PrincipalType::SamlUser => "SAMLUser",
        };
        let unauthenticated = matches!(p.principal_type, PrincipalType::Anonymous | PrincipalType::Service | PrincipalType::WebIdentity | PrincipalType::SamlUser);
        if !unauthenticated {
            let principal_arn = p.role_arn.as_deref().unwrap_or(&p.arn);
            self.set_one("aws:PrincipalArn", principal_arn);
            self.set_one("aws:PrincipalAccount", &p.account_id);
            self.set_one("aws:userid", user_id);
        }
        self.set_one("aws:PrincipalType", type_name);
        if let Some(name) = user_name {
            self.set_one("aws:username", name);
        }
        for (k, v) in tags {
            self.set_one(&format!("aws:PrincipalTag/{k}"), v);
        }
        self
    }

    /// All present keys (lower-cased) and their values.
    pub fn keys(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.slots
            .iter()
            .filter(|s| !s.values.is_empty())
            .map(|s| (s.key.as_str(), s.values.as_slice()))
    }
}

impl VarSource for RequestContext {
    fn single_value(&self, key: &KeyName) -> Option<&str> {
        match self.slot(key).map(|s| s.values.as_slice()) {
            Some([one]) => Some(one.as_str()),
            _ => None,
        }
    }
}
