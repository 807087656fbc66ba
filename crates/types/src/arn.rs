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
    fn rejects_garbage() {
        assert!(Arn::parse("arn:aws").is_err());
        assert!(Arn::parse("nope:aws:iam::1:user/x").is_err());
        assert!(Arn::parse("arn:aws:iam::1:").is_err());
    }
}
