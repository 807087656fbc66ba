//! Where each statement sits in a policy document's text, for the simulator's
//! `StartPosition`/`EndPosition` (1-based lines and columns).

/// A place in the document text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

/// The spans of the statements of `document`, in document order: from a statement's
/// opening brace to just past its closing brace. Empty when the text has no top-level
/// `Statement` (the document was validated by [`crate::parse`] first, so that is rare).
pub fn statement_spans(document: &str) -> Vec<(Position, Position)> {
    let mut spans = Vec::new();
    let mut pos = Position { line: 1, column: 1 };
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut string_start_depth = 0usize;
    let mut current = String::new();
    let mut last_key: Option<String> = None;
    // Depth of the `Statement` value's container (1 = a lone object, 2 = inside a list).
    let mut statement_depth: Option<usize> = None;
    let mut open: Option<Position> = None;
    for c in document.chars() {
        let here = pos;
        if c == '\n' {
            pos.line += 1;
            pos.column = 1;
        } else {
            pos.column += 1;
        }
        if in_string {
            if escaped {
                escaped = false;
                current.push(c);
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
                if string_start_depth == 1 {
                    last_key = Some(std::mem::take(&mut current));
                }
            } else {
                current.push(c);
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                string_start_depth = depth;
                current.clear();
            }
            ':' if depth == 1 && last_key.as_deref() == Some("Statement") => {
                statement_depth = Some(0);
            }
            ',' if depth == 1 => {
                last_key = None;
                statement_depth = None;
            }
            '[' | '{' => {
                depth += 1;
                match statement_depth {
                    // `"Statement": [ {…}, {…} ]`: statements are objects one level down.
                    Some(0) if c == '[' => statement_depth = Some(depth + 1),
                    // `"Statement": {…}`: the value itself is the one statement.
                    Some(0) => {
                        statement_depth = Some(depth);
                        open = Some(here);
                    }
                    Some(d) if c == '{' && depth == d => open = Some(here),
                    _ => {}
                }
            }
            ']' | '}' => {
                if statement_depth.is_some_and(|d| c == '}' && d == depth && d > 0) {
                    if let Some(start) = open.take() {
                        spans.push((start, pos));
                    }
                }
                depth = depth.saturating_sub(1);
                if depth == 1 && statement_depth.is_some_and(|d| d > 0) {
                    statement_depth = None;
                    last_key = None;
                }
            }
            _ => {}
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(line: u32, column: u32) -> Position {
        Position { line, column }
    }

    #[test]
    fn list_of_statements() {
        let doc = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Effect\": \"Allow\", \"Action\": \"*\", \"Resource\": \"*\"},\n    {\"Effect\": \"Deny\", \"Action\": [\"s3:*\"], \"Resource\": \"*\", \"Condition\": {\"Bool\": {\"aws:SecureTransport\": \"false\"}}}\n  ]\n}";
        let spans = statement_spans(doc);
        assert_eq!(spans.len(), 2);
        assert_eq!(spans[0], (p(4, 5), p(4, 56)));
        assert_eq!(spans[1].0, p(5, 5));
    }

    #[test]
    fn single_statement_object_and_key_order() {
        let doc = r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"},"Version":"2012-10-17"}"#;
        let spans = statement_spans(doc);
        assert_eq!(spans, vec![(p(1, 14), p(1, 60))]);
    }

    #[test]
    fn statement_word_inside_strings_is_ignored() {
        let doc = r#"{"Id":"Statement","Version":"2012-10-17","Statement":[{"Sid":"Statement","Effect":"Allow","Action":"*","Resource":"*"}]}"#;
        assert_eq!(statement_spans(doc).len(), 1);
    }
}
