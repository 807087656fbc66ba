//! Per-policy index from an action's service prefix to the statements that
//! can match it, so evaluation skips statements about other services without
//! looking at their patterns.

/// Built once per policy at parse time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ActionIndex {
    /// Literal service prefixes (lower-cased) and, ascending, the statements
    /// with an `Action` pattern for that service.
    by_service: Vec<(Box<str>, Vec<usize>)>,
    /// Statements to check for every action: `NotAction`, or an `Action`
    /// pattern whose service part has a wildcard (`*`, `s3*:Get`).
    always: Vec<usize>,
}

impl ActionIndex {
    /// `statements` yields, per statement, whether it is `NotAction` and its raw patterns.
    pub(crate) fn build<'a>(statements: impl Iterator<Item = (bool, Vec<&'a str>)>) -> Self {
        let mut index = ActionIndex::default();
        for (i, (not_action, patterns)) in statements.enumerate() {
            let services: Option<Vec<String>> = if not_action {
                None
            } else {
                patterns
                    .iter()
                    .map(|p| match p.split_once(':') {
                        Some((svc, _)) if !svc.contains(['*', '?']) => Some(svc.to_ascii_lowercase()),
                        _ => None,
                    })
                    .collect()
            };
            match services {
                None => index.always.push(i),
                Some(list) => {
                    for svc in list {
                        match index.by_service.iter_mut().find(|(s, _)| **s == *svc) {
                            Some((_, stmts)) => {
                                if stmts.last() != Some(&i) {
                                    stmts.push(i);
                                }
                            }
                            None => index.by_service.push((svc.into_boxed_str(), vec![i])),
                        }
                    }
                }
            }
        }
        index
    }

    /// Statements that may match `action`, in ascending order.
    pub(crate) fn candidates<'a>(&'a self, service: &str) -> Candidates<'a> {
        let named = self
            .by_service
            .iter()
            .find(|(s, _)| s.as_bytes().eq_ignore_ascii_case(service.as_bytes()))
            .map_or(&[][..], |(_, stmts)| stmts.as_slice());
        Candidates {
            a: named,
            b: &self.always,
        }
    }
}

/// The service prefix of an action (`s3` of `s3:GetObject`).
pub(crate) fn service_of(action: &str) -> &str {
    action.split_once(':').map_or(action, |(s, _)| s)
}

/// Merges two ascending lists of statement indexes.
pub(crate) struct Candidates<'a> {
    a: &'a [usize],
    b: &'a [usize],
}

impl Iterator for Candidates<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        match (self.a.first(), self.b.first()) {
            (Some(&x), Some(&y)) if x <= y => {
                self.a = &self.a[1..];
                Some(x)
            }
            (_, Some(&y)) => {
                self.b = &self.b[1..];
                Some(y)
            }
            (Some(&x), None) => {
                self.a = &self.a[1..];
                Some(x)
            }
            (None, None) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_by_service() {
        let idx = ActionIndex::build(
            vec![
                (false, vec!["s3:Get*", "ec2:Describe*"]),
                (false, vec!["*"]),
                (true, vec!["iam:*"]),
                (false, vec!["S3:PutObject"]),
                (false, vec!["ec2:Run*"]),
            ]
            .into_iter(),
        );
        let c = |a: &str| idx.candidates(service_of(a)).collect::<Vec<_>>();
        assert_eq!(c("s3:GetObject"), vec![0, 1, 2, 3]);
        assert_eq!(c("EC2:RunInstances"), vec![0, 1, 2, 4]);
        assert_eq!(c("sqs:SendMessage"), vec![1, 2]);
    }
}
