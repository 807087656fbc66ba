//! The request being authorized: action, resource, caller and context keys.

use std::collections::HashMap;

use crate::principal::{PrincipalType, RequestPrincipal};
use crate::variables::VarSource;

/// Everything a policy can look at. Context key names are case-insensitive
/// (stored lower-cased); values are lists of strings, since some keys
/// (`aws:TagKeys`, `aws:CalledVia`) are multivalued.
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
    keys: HashMap<String, Vec<String>>,
}

impl RequestContext {
    pub fn new(action: &str, resource: &str, principal: RequestPrincipal) -> Self {
        RequestContext {
            action: action.to_string(),
            resource: resource.to_string(),
            principal,
            keys: HashMap::new(),
        }
    }

    /// Sets a context key (replacing earlier values).
    pub fn set(&mut self, key: &str, values: Vec<String>) -> &mut Self {
        self.keys.insert(key.to_lowercase(), values);
        self
    }

    /// Sets a single-valued context key.
    pub fn set_one(&mut self, key: &str, value: &str) -> &mut Self {
        self.set(key, vec![value.to_string()])
    }

    pub fn remove(&mut self, key: &str) -> &mut Self {
        self.keys.remove(&key.to_lowercase());
        self
    }

    /// Values of a key, looked up case-insensitively.
    pub fn get(&self, key: &str) -> Option<&[String]> {
        if key.bytes().any(|b| b.is_ascii_uppercase()) {
            self.keys.get(&key.to_lowercase()).map(Vec::as_slice)
        } else {
            self.get_lower(key)
        }
    }

    /// Lookup by an already lower-cased key (compiled policies store them so).
    pub(crate) fn get_lower(&self, key: &str) -> Option<&[String]> {
        self.keys.get(key).map(Vec::as_slice)
    }

    /// Sets `aws:CurrentTime` (ISO 8601, UTC) and `aws:EpochTime` from seconds
    /// since the Unix epoch.
    pub fn set_time(&mut self, unix_seconds: i64) -> &mut Self {
        let iso = crate::datetime::format_iso8601(unix_seconds);
        self.set_one("aws:CurrentTime", &iso);
        self.set_one("aws:EpochTime", &unix_seconds.to_string())
    }

    /// Fills the principal keys AWS adds to every authenticated request:
    /// `aws:PrincipalArn`, `aws:PrincipalAccount`, `aws:PrincipalType`,
    /// `aws:userid`, `aws:username` (IAM users only) and `aws:PrincipalTag/KEY`.
    pub fn set_principal_keys(&mut self, user_name: Option<&str>, user_id: &str, tags: &[(&str, &str)]) -> &mut Self {
        let p = self.principal.clone();
        let type_name = match p.principal_type {
            PrincipalType::Root => "Account",
            PrincipalType::User => "User",
            PrincipalType::AssumedRole => "AssumedRole",
            PrincipalType::FederatedUser => "FederatedUser",
            PrincipalType::Service => "Service",
            PrincipalType::Anonymous => "Anonymous",
        };
        if p.principal_type != PrincipalType::Anonymous && p.principal_type != PrincipalType::Service {
            // For role sessions aws:PrincipalArn is the role, not the session.
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

    /// Iterates all keys (lower-cased) and values.
    pub fn keys(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.keys.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }
}

impl VarSource for RequestContext {
    fn single_value(&self, key_lower: &str) -> Option<&str> {
        match self.get_lower(key_lower) {
            Some([one]) => Some(one.as_str()),
            _ => None,
        }
    }
}
