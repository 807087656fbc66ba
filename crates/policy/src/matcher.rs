//! Wildcard matching: `*` matches any run of characters (including none),
//! `?` matches exactly one character. Used for actions, resources, principals'
//! ARNs and the `...Like` condition operators.
//!
//! Patterns are pre-split into segments once at parse time; matching walks the
//! segments directly so that evaluation does not allocate.

/// One compiled piece of a pattern, borrowing its literal text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seg<'a> {
    Lit(&'a str),
    /// `*`
    Star,
    /// `?`
    One,
}

/// Sequence of segments the matcher can walk; implemented for plain slices and
/// for compiled templates whose variables are already known to be absent.
pub(crate) trait Segments {
    fn count(&self) -> usize;
    fn seg(&self, i: usize) -> Seg<'_>;
}

impl Segments for [Seg<'_>] {
    fn count(&self) -> usize {
        self.len()
    }
    fn seg(&self, i: usize) -> Seg<'_> {
        self[i]
    }
}

/// Case handling of a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Case {
    Sensitive,
    /// Unicode simple lower-casing on both sides, as for `StringEqualsIgnoreCase`.
    Insensitive,
    /// ASCII letters only, for action names: AWS's service prefixes and action names are
    /// ASCII, and the per-policy action index compares prefixes this way, so a pattern
    /// like `\u{212A}ms:*` (KELVIN SIGN) must not match `kms:Decrypt` here either.
    AsciiInsensitive,
}

pub(crate) fn chars_eq(a: char, b: char, case: Case) -> bool {
    a == b
        || match case {
            Case::Sensitive => false,
            Case::AsciiInsensitive => a.eq_ignore_ascii_case(&b),
            Case::Insensitive => {
                if a.is_ascii() && b.is_ascii() {
                    a.eq_ignore_ascii_case(&b)
                } else {
                    a.to_lowercase().eq(b.to_lowercase())
                }
            }
        }
}

/// Compares two strings without allocating, optionally ignoring case.
pub(crate) fn str_eq(a: &str, b: &str, case: Case) -> bool {
    match case {
        Case::Sensitive => a == b,
        Case::AsciiInsensitive => a.eq_ignore_ascii_case(b),
        Case::Insensitive => {
            a.eq_ignore_ascii_case(b)
                || (!a.is_ascii() || !b.is_ascii())
                    && a.chars().flat_map(char::to_lowercase).eq(b.chars().flat_map(char::to_lowercase))
        }
    }
}

#[derive(Clone, Copy)]
struct Pos {
    seg: usize,
    off: usize,
}

enum Unit {
    End,
    Star,
    One,
    Char(char),
}

/// Reads the unit at `p`, skipping exhausted literals, and returns where the
/// next unit starts; segments from `end` on are not part of the pattern.
fn unit_at<S: Segments + ?Sized>(segs: &S, end: usize, mut p: Pos) -> (Unit, Pos) {
    loop {
        if p.seg >= end {
            return (Unit::End, p);
        }
        match segs.seg(p.seg) {
            Seg::Star => return (Unit::Star, Pos { seg: p.seg + 1, off: 0 }),
            Seg::One => return (Unit::One, Pos { seg: p.seg + 1, off: 0 }),
            Seg::Lit(s) => match s.get(p.off..).and_then(|rest| rest.chars().next()) {
                Some(c) => {
                    return (
                        Unit::Char(c),
                        Pos {
                            seg: p.seg,
                            off: p.off + c.len_utf8(),
                        },
                    )
                }
                None => p = Pos { seg: p.seg + 1, off: 0 },
            },
        }
    }
}

/// Whether `text` matches the whole pattern. Linear-time greedy matching with a
/// single back-tracking point, which is sufficient because `*` is the only
/// variable-length element.
pub(crate) fn glob<S: Segments + ?Sized>(segs: &S, text: &str, case: Case) -> bool {
    let (mut start, mut end, mut text) = (0, segs.count(), text);
    if case == Case::Sensitive {
        // Literal runs at either end are compared directly; only the middle,
        // from the first wildcard to the last, needs the general walk.
        while let Some(Seg::Lit(l)) = (start < end).then(|| segs.seg(start)) {
            match text.strip_prefix(l) {
                Some(rest) => text = rest,
                None => return false,
            }
            start += 1;
        }
        while let Some(Seg::Lit(l)) = (start < end).then(|| segs.seg(end - 1)) {
            match text.strip_suffix(l) {
                Some(rest) => text = rest,
                None => return false,
            }
            end -= 1;
        }
        if start == end {
            return text.is_empty();
        }
    }
    glob_range(segs, start, end, text, case)
}

fn glob_range<S: Segments + ?Sized>(segs: &S, start: usize, end: usize, text: &str, case: Case) -> bool {
    let mut p = Pos { seg: start, off: 0 };
    let mut t = 0usize;
    // Pattern position just after the last `*`, and the text position it was tried at.
    let mut star: Option<(Pos, usize)> = None;
    loop {
        let (unit, next) = unit_at(segs, end, p);
        if let Unit::Star = unit {
            star = Some((next, t));
            p = next;
            continue;
        }
        let tc = text.get(t..).and_then(|rest| rest.chars().next());
        let advanced = match (unit, tc) {
            (Unit::End, None) => return true,
            (Unit::One, Some(c)) => Some(c),
            (Unit::Char(pc), Some(c)) if chars_eq(pc, c, case) => Some(c),
            _ => None,
        };
        if let Some(c) = advanced {
            p = next;
            t += c.len_utf8();
            continue;
        }
        // Mismatch: let the last `*` swallow one more character and retry.
        match star {
            Some((after_star, tried)) => match text.get(tried..).and_then(|r| r.chars().next()) {
                Some(c) => {
                    let retry = tried + c.len_utf8();
                    star = Some((after_star, retry));
                    p = after_star;
                    t = retry;
                }
                None => return false,
            },
            None => return false,
        }
    }
}

/// Splits a raw pattern string into segments (`*`, `?`, literal runs).
pub(crate) fn split_wildcards(raw: &str) -> Vec<Seg<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in raw.char_indices() {
        if c == '*' || c == '?' {
            if start < i {
                out.push(Seg::Lit(&raw[start..i]));
            }
            out.push(if c == '*' { Seg::Star } else { Seg::One });
            start = i + 1;
        }
    }
    if start < raw.len() {
        out.push(Seg::Lit(&raw[start..]));
    }
    out
}

/// Convenience for tests and one-off matches: matches a raw wildcard pattern.
pub fn wildcard_match(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let case = if ignore_case {
        Case::Insensitive
    } else {
        Case::Sensitive
    };
    glob(split_wildcards(pattern).as_slice(), text, case)
}

#[cfg(test)]
mod tests {
    use super::wildcard_match as m;

    #[test]
    fn basics() {
        assert!(m("*", "", false));
        assert!(m("*", "anything", false));
        assert!(m("a*c", "abbbc", false));
        assert!(m("a*c", "ac", false));
        assert!(!m("a*c", "ab", false));
        assert!(m("a?c", "abc", false));
        assert!(!m("a?c", "ac", false));
        assert!(m("*a*b*", "xxaxxbxx", false));
        assert!(!m("*a*b*", "xxbxxaxx", false));
        assert!(m("s3:Get*", "S3:GETOBJECT", true));
        assert!(!m("s3:Get*", "S3:GETOBJECT", false));
        assert!(m("??", "é€", false));
        assert!(m("a*a*a*a*b", "aaaaaaaaaaaaaaaaaab", false));
    }
}
