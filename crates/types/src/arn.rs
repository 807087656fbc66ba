use std::fmt;

use crate::NameError;

/// An Amazon Resource Name, `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
/// The resource part keeps any further `:` or `/` as it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Arn {
    pub partition: String,
    pub service: String,
    pub region: String,
    pub account: String,
    pub resource: String,
}

impl Arn {
    pub fn parse(s: &str) -> Result<Self, NameError> {
        let mut parts = s.splitn(6, ':');
        let err = || NameError(format!("invalid ARN {s:?}"));
        if parts.next() != Some("arn") {
            return Err(err());
        }
        let partition = parts.next().ok_or_else(err)?;
        let service = parts.next().ok_or_else(err)?;
        let region = parts.next().ok_or_else(err)?;
        let account = parts.next().ok_or_else(err)?;
        let resource = parts.next().ok_or_else(err)?;
        if partition.is_empty() || service.is_empty() || resource.is_empty() {
            return Err(err());
        }
        Ok(Self {
            partition: partition.to_owned(),
            service: service.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
            resource: resource.to_owned(),
        })
    }

    /// The resource type: what comes before the resource's first `/` (`user`, `role`,
    /// `saml-provider`, …), or the whole resource when it has none (`root`).
    pub fn kind(&self) -> &str {
        self.resource.split('/').next().unwrap_or_default()
    }

    /// The resource's name: its last `/`-separated part.
    pub fn name(&self) -> &str {
        self.resource.rsplit('/').next().unwrap_or_default()
    }

    /// The path between the type and the name (`/division/`; `/` when there is none).
    pub fn path(&self) -> &str {
        let after_kind = self.resource.find('/').map_or("", |i| &self.resource[i..]);
        let name_len = self.name().len();
        match after_kind.len().checked_sub(name_len) {
            Some(end) if end > 0 => &after_kind[..end],
            _ => "/",
        }
    }

    /// An IAM resource of this type (`arn:aws:iam::ACCOUNT:KIND/…`), parsed.
    pub fn parse_iam(s: &str, kind: &str) -> Option<Self> {
        Self::parse(s).ok().filter(|a| a.partition == "aws" && a.service == "iam" && a.kind() == kind && a.resource.len() > kind.len() + 1)
    }

    /// `arn:aws:iam::ACCOUNT:KIND/PATH…NAME` for users, groups, roles, policies, MFA devices.
    pub fn iam(account: &str, kind: &str, path: &str, name: &str) -> Self {
        Self {
            partition: "aws".to_owned(),
            service: "iam".to_owned(),
            region: String::new(),
            account: account.to_owned(),
            resource: format!("{kind}{path}{name}"),
        }
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:{}:{}:{}:{}",
            self.partition, self.service, self.region, self.account, self.resource
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let s = "arn:aws:iam::123456789012:user/division/Alice";
        let arn = Arn::parse(s).unwrap();
        assert_eq!(arn.account, "123456789012");
        assert_eq!(arn.resource, "user/division/Alice");
        assert_eq!(arn.to_string(), s);
        assert_eq!(Arn::iam("123456789012", "user", "/division/", "Alice").to_string(), s);
    }

    #[test]
    fn iam_parts() {
        let arn = Arn::parse("arn:aws:iam::123456789012:role/service-role/deploy").unwrap();
        assert_eq!((arn.kind(), arn.path(), arn.name()), ("role", "/service-role/", "deploy"));
        let arn = Arn::parse("arn:aws:iam::123456789012:user/Alice").unwrap();
        assert_eq!((arn.kind(), arn.path(), arn.name()), ("user", "/", "Alice"));
        assert_eq!(Arn::parse("arn:aws:iam::123456789012:root").unwrap().kind(), "root");
        assert!(Arn::parse_iam("arn:aws:iam::123456789012:role/x", "role").is_some());
        assert!(Arn::parse_iam("arn:aws:iam::123456789012:role/", "role").is_none());
        assert!(Arn::parse_iam("arn:aws:s3:::role/x", "role").is_none());
        assert!(Arn::parse_iam("arn:aws:iam::123456789012:user/x", "role").is_none());
    }

    #[test]
    fn rejects_garbage() {
        assert!(Arn::parse("arn:aws").is_err());
        assert!(Arn::parse("nope:aws:iam::1:user/x").is_err());
        assert!(Arn::parse("arn:aws:iam::1:").is_err());
    }
}
