use std::collections::BTreeMap;

use crate::AwsError;

/// The flat parameters of a query-protocol request (`Action=…&Version=…&Tags.member.1.Key=…`),
/// merged from the URL's query string and a form-encoded body.
#[derive(Debug, Default, Clone)]
pub struct QueryParams {
    map: BTreeMap<String, String>,
}

impl QueryParams {
    /// Parses both sources; a body parameter wins over a query-string one of the same name.
    /// A `%` not followed by two hex digits is AWS's `MalformedQueryString`, never taken
    /// literally.
    pub fn parse(query: &str, body: &[u8]) -> Result<Self, AwsError> {
        check_escapes(query.as_bytes())?;
        check_escapes(body)?;
        let mut map = BTreeMap::new();
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            map.insert(k.into_owned(), v.into_owned());
        }
        for (k, v) in form_urlencoded::parse(body) {
            map.insert(k.into_owned(), v.into_owned());
        }
        Ok(Self { map })
    }

    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self { map: pairs.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect() }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.map.get(key).map(String::as_str)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// The element prefixes of a list, in index order: `Tags` → `["Tags.member.1", …]`.
    /// An empty list is sent by botocore as the bare key `Tags=` and yields nothing.
    pub fn member_prefixes(&self, list: &str) -> Vec<String> {
        let head = format!("{list}.member.");
        let mut idx: Vec<u64> = self
            .map
            .range(head.clone()..)
            .take_while(|(k, _)| k.starts_with(&head))
            .filter_map(|(k, _)| {
                let rest = &k[head.len()..];
                rest.split('.').next().and_then(|n| n.parse::<u64>().ok())
            })
            .collect();
        idx.sort_unstable();
        idx.dedup();
        idx.into_iter().map(|i| format!("{head}{i}")).collect()
    }

    /// A list of scalars: `ActionNames.member.N`.
    pub fn string_list(&self, list: &str) -> Vec<String> {
        self.member_prefixes(list)
            .into_iter()
            .filter_map(|p| self.get(&p).map(str::to_owned))
            .collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.map.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// Every `%` must start an escape of two hex digits (AWS's wording for the two ways one
/// can be broken).
fn check_escapes(raw: &[u8]) -> Result<(), AwsError> {
    let malformed = |m: String| AwsError::new("MalformedQueryString", 404, m);
    for (i, _) in raw.iter().enumerate().filter(|(_, b)| **b == b'%') {
        match raw.get(i + 1..i + 3) {
            Some(hex) if hex.iter().all(u8::is_ascii_hexdigit) => {}
            Some(hex) => {
                return Err(malformed(format!(
                    "Illegal hex character in escape % pattern: %{}",
                    String::from_utf8_lossy(hex)
                )))
            }
            None => return Err(malformed("Incomplete trailing escape % sequence".to_owned())),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_in_numeric_order() {
        let p = QueryParams::parse(
            "",
            b"Action=TagUser&Tags.member.10.Key=j&Tags.member.2.Key=b&Tags.member.1.Key=a&Tags.member.1.Value=v",
        )
        .unwrap();
        assert_eq!(p.member_prefixes("Tags"), vec!["Tags.member.1", "Tags.member.2", "Tags.member.10"]);
        assert_eq!(p.get("Tags.member.1.Value"), Some("v"));
        assert!(p.member_prefixes("Other").is_empty());
    }

    #[test]
    fn body_wins_and_decodes() {
        let p = QueryParams::parse("Action=GetUser&UserName=q", b"UserName=a%2Bb+c").unwrap();
        assert_eq!(p.get("UserName"), Some("a+b c"));
        assert_eq!(p.get("Action"), Some("GetUser"));
    }

    #[test]
    fn broken_escapes_are_malformed_query_strings() {
        for (query, body, message) in [
            ("", &b"a=%E"[..], "Incomplete trailing escape % sequence"),
            ("a=%", &b""[..], "Incomplete trailing escape % sequence"),
            ("a=%ZZ&b=1", &b""[..], "Illegal hex character in escape % pattern: %ZZ"),
            ("", &b"Action=GetUser&UserName=%4"[..], "Incomplete trailing escape % sequence"),
            ("", &b"UserName=%\xc3\xa9"[..], "Illegal hex character in escape % pattern: %\u{e9}"),
        ] {
            let e = QueryParams::parse(query, body).unwrap_err();
            assert_eq!((e.code.as_ref(), e.status, e.message.as_str()), ("MalformedQueryString", 404, message), "{query:?} {body:?}");
        }
        assert!(QueryParams::parse("a=%41%7e", b"b=%2b%2B").is_ok());
    }
}
