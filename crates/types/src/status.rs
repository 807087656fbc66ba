use std::fmt;

/// Whether a credential (access key, SSH public key, signing certificate, service-specific
/// credential) may be used: IAM's `statusType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyStatus {
    Active,
    Inactive,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::Inactive => "Inactive",
        }
    }

    /// `Active` or `Inactive`, as IAM spells them (exactly).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Active" => Some(Self::Active),
            "Inactive" => Some(Self::Inactive),
            _ => None,
        }
    }

    pub fn is_active(self) -> bool {
        self == Self::Active
    }
}

impl fmt::Display for KeyStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which managed policies a listing covers: IAM's `policyScopeType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PolicyScope {
    #[default]
    All,
    /// AWS-managed policies.
    Aws,
    /// The account's customer-managed policies.
    Local,
}

impl PolicyScope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "All",
            Self::Aws => "AWS",
            Self::Local => "Local",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "All" => Some(Self::All),
            "AWS" => Some(Self::Aws),
            "Local" => Some(Self::Local),
            _ => None,
        }
    }

    /// Whether policies of this kind (AWS's or the account's) are in the scope.
    pub fn covers(self, aws_managed: bool) -> bool {
        match self {
            Self::All => true,
            Self::Aws => aws_managed,
            Self::Local => !aws_managed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for s in [KeyStatus::Active, KeyStatus::Inactive] {
            assert_eq!(KeyStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(KeyStatus::parse("active"), None);
        for s in [PolicyScope::All, PolicyScope::Aws, PolicyScope::Local] {
            assert_eq!(PolicyScope::parse(s.as_str()), Some(s));
        }
        assert!(PolicyScope::Aws.covers(true) && !PolicyScope::Aws.covers(false) && PolicyScope::Local.covers(false));
    }
}
