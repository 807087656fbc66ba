//! Strings for structured fuzz inputs, shared by the targets that build documents and
//! requests from fragments.

use std::borrow::Cow;

use arbitrary::Arbitrary;

/// A string: one of a table's fragments, raw fuzzer text, or a fragment with arbitrary
/// Unicode spliced in (a date with a multi-byte character in its offset, an ARN with a
/// control character): the near-misses that reach deep into the value parsers.
#[derive(Arbitrary, Debug)]
pub enum S {
    Pick(u16),
    Raw(String),
    Splice(u8, u16, String),
}

impl S {
    pub fn get<'a>(&'a self, table: &'a [impl AsRef<str>]) -> Cow<'a, str> {
        match self {
            S::Pick(i) => table[usize::from(*i) % table.len()].as_ref().into(),
            S::Raw(s) => s.as_str().into(),
            S::Splice(i, at, insert) => {
                let base = table[usize::from(*i) % table.len()].as_ref();
                let chars: Vec<char> = base.chars().collect();
                let at = usize::from(*at) % (chars.len() + 1);
                let mut out: String = chars[..at].iter().collect();
                out.push_str(insert);
                out.extend(&chars[at..]);
                out.into()
            }
        }
    }
}
