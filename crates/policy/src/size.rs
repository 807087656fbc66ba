//! Policy size as AWS counts it against its quotas.

/// Characters counted as AWS counts them for size limits: white space outside
/// JSON strings is not counted, everything else (including white space inside
/// strings and escape sequences as written) is, one per Unicode character.
pub fn policy_size(document: &str) -> usize {
    let mut in_string = false;
    let mut escaped = false;
    let mut count = 0usize;
    for c in document.chars() {
        if in_string {
            count += 1;
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            count += 1;
        } else if !c.is_whitespace() {
            count += 1;
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::policy_size;

    #[test]
    fn white_space_outside_strings_is_free() {
        assert_eq!(policy_size("{ \"a\" :\n\t\"b c\" }"), policy_size("{\"a\":\"b c\"}"));
        assert_eq!(policy_size("{\"a\":\"b c\"}"), 11);
    }

    #[test]
    fn escaped_quote_does_not_end_string() {
        assert_eq!(policy_size("\"a\\\" b\""), 7);
    }
}
