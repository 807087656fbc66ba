//! Policy variables (`${aws:username}`, `${aws:PrincipalTag/team, 'none'}`,
//! `${*}`, `${?}`, `${$}`) and the templates that hold them.
//!
//! A template is a policy string compiled once into literal runs, wildcards and
//! variable references. Variables only exist in `2012-10-17` policies; in older
//! ones `${...}` is plain text, as AWS documents.

use crate::keys::KeyName;
use crate::matcher::{self, Case, Seg, Segments};

/// Where variable values come from: the request context. A key resolves only
/// when it has exactly one value; AWS does not substitute multivalued keys.
pub(crate) trait VarSource {
    fn single_value(&self, key: &KeyName) -> Option<&str>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token {
    /// Literal text; a `*` or `?` inside it is an ordinary character.
    Lit(Box<str>),
    Star,
    One,
    Var {
        key: KeyName,
        default: Option<Box<str>>,
    },
}

/// A compiled policy string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    tokens: Vec<Token>,
    has_vars: bool,
}

/// What follows a template's literal head; lets matchers decide most cases
/// with one prefix comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// The template is all literal text.
    Exact,
    /// Literal text then a single final `*`.
    PrefixStar,
    /// Anything else (inner wildcards, variables).
    General,
}

/// How a string is compiled.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Syntax {
    /// `*` and `?` are wildcards (Resource, `...Like`, `Arn...`), not plain text.
    pub wildcards: bool,
    /// `${...}` is a variable (policy version 2012-10-17).
    pub variables: bool,
}

impl Template {
    pub(crate) fn compile(raw: &str, syntax: Syntax) -> Template {
        let mut tokens: Vec<Token> = Vec::new();
        let mut lit = String::new();
        let mut rest = raw;
        while let Some(c) = rest.chars().next() {
            if syntax.variables && rest.starts_with("${") {
                if let Some(end) = rest.find('}') {
                    let inner = &rest[2..end];
                    rest = &rest[end + 1..];
                    match inner {
                        // Escapes for characters that would otherwise be wildcards or syntax.
                        "*" | "?" | "$" => lit.push_str(inner),
                        _ => {
                            flush(&mut lit, &mut tokens);
                            tokens.push(parse_var(inner));
                        }
                    }
                    continue;
                }
            }
            rest = &rest[c.len_utf8()..];
            if syntax.wildcards && (c == '*' || c == '?') {
                flush(&mut lit, &mut tokens);
                tokens.push(if c == '*' { Token::Star } else { Token::One });
            } else {
                lit.push(c);
            }
        }
        flush(&mut lit, &mut tokens);
        let has_vars = tokens.iter().any(|t| matches!(t, Token::Var { .. }));
        Template { tokens, has_vars }
    }

    pub(crate) fn from_tokens(tokens: Vec<Token>) -> Template {
        let has_vars = tokens.iter().any(|t| matches!(t, Token::Var { .. }));
        Template { tokens, has_vars }
    }

    /// The literal text before the first wildcard or variable, and what follows it.
    pub(crate) fn head(&self) -> (String, Shape) {
        let mut head = String::new();
        let mut rest = self.tokens.as_slice();
        while let [Token::Lit(s), tail @ ..] = rest {
            head.push_str(s);
            rest = tail;
        }
        let shape = match rest {
            [] => Shape::Exact,
            [Token::Star] => Shape::PrefixStar,
            _ => Shape::General,
        };
        (head, shape)
    }

    pub(crate) fn tokens(&self) -> &[Token] {
        &self.tokens
    }

    pub(crate) fn has_vars(&self) -> bool {
        self.has_vars
    }

    /// The text when the template is a single literal (no wildcard, no variable).
    pub(crate) fn as_literal(&self) -> Option<&str> {
        match self.tokens.as_slice() {
            [] => Some(""),
            [Token::Lit(s)] => Some(s),
            _ => None,
        }
    }

    pub(crate) fn is_lone_star(&self) -> bool {
        matches!(self.tokens.as_slice(), [Token::Star])
    }

    pub(crate) fn ends_with_star(&self) -> bool {
        matches!(self.tokens.last(), Some(Token::Star))
    }

    /// Whether `text` matches; `None` when a variable cannot be resolved, which
    /// AWS treats as "this value matches nothing".
    pub(crate) fn matches<V: VarSource + ?Sized>(
        &self,
        text: &str,
        vars: &V,
        case: Case,
    ) -> Option<bool> {
        if let Some(lit) = self.as_literal() {
            return Some(matcher::str_eq(lit, text, case));
        }
        if self.is_lone_star() {
            return Some(true);
        }
        if !self.has_vars {
            return Some(matcher::glob(self, text, case));
        }
        self.with_resolved(vars, |segs| matcher::glob(segs, text, case))
    }

    /// Runs `f` on the segments with variables substituted, without
    /// allocating for templates of up to 16 pieces.
    pub(crate) fn with_resolved<V: VarSource + ?Sized, R>(&self, vars: &V, f: impl FnOnce(&[Seg<'_>]) -> R) -> Option<R> {
        const INLINE: usize = 16;
        if self.tokens.len() <= INLINE {
            let mut buf = [Seg::Star; INLINE];
            for (slot, t) in buf.iter_mut().zip(&self.tokens) {
                *slot = resolve_token(t, vars)?;
            }
            Some(f(&buf[..self.tokens.len()]))
        } else {
            let segs = self.resolve(vars)?;
            Some(f(&segs))
        }
    }

    /// Substitutes variables, yielding segments that borrow from the template
    /// and the request.
    pub(crate) fn resolve<'a, V: VarSource + ?Sized>(&'a self, vars: &'a V) -> Option<Vec<Seg<'a>>> {
        self.tokens.iter().map(|t| resolve_token(t, vars)).collect()
    }

    /// The string with variables substituted, for operators that parse values
    /// (numbers, dates, addresses) rather than compare text.
    pub(crate) fn render<V: VarSource + ?Sized>(&self, vars: &V) -> Option<String> {
        let mut s = String::new();
        for seg in self.resolve(vars)? {
            match seg {
                Seg::Lit(l) => s.push_str(l),
                Seg::Star => s.push('*'),
                Seg::One => s.push('?'),
            }
        }
        Some(s)
    }
}

impl Segments for Template {
    fn count(&self) -> usize {
        self.tokens.len()
    }
    fn seg(&self, i: usize) -> Seg<'_> {
        match &self.tokens[i] {
            Token::Lit(s) => Seg::Lit(s),
            Token::Star => Seg::Star,
            Token::One => Seg::One,
            // Only reached for templates without variables; see `matches`.
            Token::Var { .. } => Seg::Lit(""),
        }
    }
}

fn resolve_token<'a, V: VarSource + ?Sized>(t: &'a Token, vars: &'a V) -> Option<Seg<'a>> {
    Some(match t {
        Token::Lit(s) => Seg::Lit(s),
        Token::Star => Seg::Star,
        Token::One => Seg::One,
        Token::Var { key, default } => Seg::Lit(vars.single_value(key).or(default.as_deref())?),
    })
}

fn flush(lit: &mut String, tokens: &mut Vec<Token>) {
    if !lit.is_empty() {
        tokens.push(Token::Lit(std::mem::take(lit).into_boxed_str()));
    }
}

/// `key` or `key, 'default'` (AWS's syntax for a default value).
fn parse_var(inner: &str) -> Token {
    let (key, default) = match inner.split_once(',') {
        Some((k, d)) => {
            let d = d.trim();
            let d = d
                .strip_prefix('\'')
                .and_then(|d| d.strip_suffix('\''))
                .unwrap_or(d);
            (k, Some(d.to_string().into_boxed_str()))
        }
        None => (inner, None),
    };
    Token::Var {
        key: KeyName::new(key),
        default,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Map(HashMap<&'static str, &'static str>);
    impl VarSource for Map {
        fn single_value(&self, key: &KeyName) -> Option<&str> {
            self.0.get(key.lower()).copied()
        }
    }

    const RES: Syntax = Syntax {
        wildcards: true,
        variables: true,
    };

    #[test]
    fn substitutes_and_escapes() {
        let vars = Map(HashMap::from([("aws:username", "bob*")]));
        let t = Template::compile("home/${aws:UserName}/${*}x*", RES);
        assert_eq!(t.matches("home/bob*/*xyz", &vars, Case::Sensitive), Some(true));
        // The substituted value is literal: its `*` is not a wildcard.
        assert_eq!(t.matches("home/bobby/*xyz", &vars, Case::Sensitive), Some(false));
        assert_eq!(
            Template::compile("${aws:nope}", RES).matches("x", &vars, Case::Sensitive),
            None
        );
        assert_eq!(
            Template::compile("${aws:nope, 'dflt'}", RES).matches("dflt", &vars, Case::Sensitive),
            Some(true)
        );
    }

    #[test]
    fn old_version_keeps_text() {
        let t = Template::compile(
            "${aws:username}",
            Syntax {
                wildcards: true,
                variables: false,
            },
        );
        assert_eq!(t.as_literal(), Some("${aws:username}"));
    }
}
