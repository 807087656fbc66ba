//! ARN patterns, matched the way AWS documents for the `Resource` element and
//! the `Arn...` condition operators: the six colon-separated parts
//! (`arn:partition:service:region:account:resource`) are matched one by one,
//! each with its own `*`/`?` wildcards, and the last part keeps any further
//! colons. A pattern with fewer parts whose last part ends in `*` lets that
//! `*` run on past the colons ("arn:aws:s3:*" matches every S3 ARN).

use crate::matcher::Case;
use crate::variables::{Shape, Syntax, Template, Token, VarSource};

/// A compiled `Resource`/`NotResource` entry or `Arn...` condition value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ArnPattern {
    /// Literal text before the first wildcard or variable: a text that does
    /// not start with it cannot match, whichever part the text falls in.
    head: Box<str>,
    shape: Shape,
    form: Form,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Form {
    /// `"*"`: everything, ARN or not.
    Any,
    /// Starts with `arn:`; one template per part.
    Arn(Vec<Template>),
    /// Anything else: matched as one wildcard string.
    Other(Template),
}

impl ArnPattern {
    /// `"*"`: every resource.
    pub(crate) fn is_wildcard(&self) -> bool {
        self.form == Form::Any
    }
}

impl ArnPattern {
    pub(crate) fn compile(raw: &str, variables: bool) -> ArnPattern {
        let t = Template::compile(
            raw,
            Syntax {
                wildcards: true,
                variables,
            },
        );
        let (head, shape) = t.head();
        let form = if t.is_lone_star() {
            Form::Any
        } else if !raw.starts_with("arn:") {
            Form::Other(t)
        } else {
            Form::Arn(split_parts(t.tokens()))
        };
        ArnPattern {
            head: head.into_boxed_str(),
            shape,
            form,
        }
    }

    /// `None` when a variable cannot be resolved (then nothing matches).
    pub(crate) fn matches<V: VarSource + ?Sized>(&self, text: &str, vars: &V) -> Option<bool> {
        if let Form::Any = self.form {
            return Some(true);
        }
        if !text.starts_with(&*self.head) {
            return Some(false);
        }
        match (self.shape, &self.form) {
            // Part-wise equality of literal parts is string equality, and a
            // final `*` takes everything after the head, colons included.
            (Shape::Exact, _) => Some(text.len() == self.head.len()),
            (Shape::PrefixStar, _) => Some(true),
            (Shape::General, Form::Other(t)) => t.matches(text, vars, Case::Sensitive),
            (Shape::General, Form::Arn(parts)) => match_parts(parts, text, vars),
            (Shape::General, Form::Any) => Some(true),
        }
    }
}

/// Splits tokens at the first five colons of literal text. Colons inside a
/// variable (`${aws:username}`) or its value never split.
fn split_parts(tokens: &[Token]) -> Vec<Template> {
    let mut parts: Vec<Vec<Token>> = vec![Vec::new()];
    for tok in tokens {
        match tok {
            Token::Lit(s) => {
                let mut rest: &str = s;
                while parts.len() < 6 {
                    match rest.find(':') {
                        Some(i) => {
                            if i > 0 {
                                push(&mut parts, Token::Lit(rest[..i].into()));
                            }
                            parts.push(Vec::new());
                            rest = &rest[i + 1..];
                        }
                        None => break,
                    }
                }
                if !rest.is_empty() {
                    push(&mut parts, Token::Lit(rest.into()));
                }
            }
            other => push(&mut parts, other.clone()),
        }
    }
    parts.into_iter().map(Template::from_tokens).collect()
}

fn push(parts: &mut [Vec<Token>], tok: Token) {
    if let Some(last) = parts.last_mut() {
        last.push(tok);
    }
}

fn match_parts<V: VarSource + ?Sized>(parts: &[Template], text: &str, vars: &V) -> Option<bool> {
    if !text.starts_with("arn:") {
        return Some(false);
    }
    // Start offsets of the text's parts; the sixth runs to the end.
    let mut starts = [0usize; 6];
    let mut n = 1;
    for (i, b) in text.bytes().enumerate() {
        if n == 6 {
            break;
        }
        if b == b':' {
            starts[n] = i + 1;
            n += 1;
        }
    }
    let part_text = |i: usize| -> &str {
        let end = if i + 1 < n { starts[i + 1] - 1 } else { text.len() };
        text.get(starts[i]..end).unwrap_or("")
    };
    let k = parts.len();
    for (i, p) in parts.iter().enumerate() {
        let last = i + 1 == k;
        if last && k < 6 && p.ends_with_star() {
            if i >= n {
                return Some(false);
            }
            return p.matches(text.get(starts[i]..).unwrap_or(""), vars, Case::Sensitive);
        }
        if i >= n {
            return Some(false);
        }
        if !p.matches(part_text(i), vars, Case::Sensitive)? {
            return Some(false);
        }
    }
    Some(k == n)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoVars;
    impl VarSource for NoVars {
        fn single_value(&self, _: &crate::keys::KeyName) -> Option<&str> {
            None
        }
    }

    fn m(p: &str, t: &str) -> bool {
        ArnPattern::compile(p, true).matches(t, &NoVars) == Some(true)
    }

    #[test]
    fn per_part() {
        assert!(m("*", "anything"));
        assert!(m("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b:c"));
        assert!(!m("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket2/a"));
        assert!(m("arn:aws:ec2:*:123456789012:instance/*", "arn:aws:ec2:us-east-1:123456789012:instance/i-1"));
        assert!(!m("arn:aws:ec2:*:123456789012:instance/*", "arn:aws:ec2:us-east-1:999999999999:instance/i-1"));
        assert!(m("arn:aws:s3:*", "arn:aws:s3:::bucket/key"));
        assert!(!m("arn:aws:s3:*", "arn:aws:ec2:::bucket/key"));
        assert!(m("arn:aws:iam::123456789012:user/*", "arn:aws:iam::123456789012:user/a/b"));
        // `*` inside a middle part does not swallow the colon after it.
        assert!(!m("arn:aws:s*:::x", "arn:aws:s3:us:::x"));
        assert!(m("arn:aws:s3:::b?", "arn:aws:s3:::b1"));
        assert!(!m("arn:aws:s3:::b", "arn:aws:s3:::B"));
        assert!(!m("arn:aws:s3:::b", "b"));
    }
}

#[cfg(test)]
mod fast_path {
    use super::*;
    use proptest::prelude::*;

    struct NoVars;
    impl VarSource for NoVars {
        fn single_value(&self, _: &crate::keys::KeyName) -> Option<&str> {
            None
        }
    }

    proptest! {
        /// The head/shape shortcut gives the same answers as part-wise matching.
        #[test]
        fn shortcut_agrees_with_parts(p in "[ab:*?]{0,10}", t in "[ab:]{0,12}") {
            let (p, t) = (format!("arn:{p}"), format!("arn:{t}"));
            let pattern = ArnPattern::compile(&p, false);
            let full = match &pattern.form {
                Form::Arn(parts) => match_parts(parts, &t, &NoVars),
                Form::Any => Some(true),
                Form::Other(_) => None,
            };
            prop_assert_eq!(pattern.matches(&t, &NoVars), full, "{} vs {}", p, t);
        }
    }
}
