use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NameError(pub String);

/// A 12-digit AWS account id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(String);

impl AccountId {
    pub fn parse(s: &str) -> Result<Self, NameError> {
        if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(NameError(format!("invalid account id {s:?}: must be 12 digits")))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An IAM path: `/` alone, or `/` + printable ASCII + `/`, at most 512 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IamPath(String);

impl IamPath {
    pub fn root() -> Self {
        Self("/".to_owned())
    }
    pub fn parse(s: &str) -> Result<Self, NameError> {
        let ok = s == "/"
            || (s.len() >= 3
                && s.len() <= 512
                && s.starts_with('/')
                && s.ends_with('/')
                && s.bytes().all(|b| (0x21..=0x7e).contains(&b)));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(NameError(format!("invalid path {s:?}")))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IamPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids() {
        assert!(AccountId::parse("123456789012").is_ok());
        assert!(AccountId::parse("12345678901").is_err());
        assert!(AccountId::parse("12345678901a").is_err());
    }

    #[test]
    fn paths() {
        assert!(IamPath::parse("/").is_ok());
        assert!(IamPath::parse("/division_abc/subdivision_xyz/").is_ok());
        assert!(IamPath::parse("//").is_err());
        assert!(IamPath::parse("/a").is_err());
        assert!(IamPath::parse("a/").is_err());
        assert!(IamPath::parse("/a b/").is_err());
    }
}
