use std::fmt::Write as _;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use time::OffsetDateTime;

/// RFC 3986 unreserved characters stay; everything else is percent-encoded, as AWS encodes
/// policy documents in IAM responses.
const DOC_ENCODE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

pub fn url_encode_document(doc: &str) -> String {
    utf8_percent_encode(doc, DOC_ENCODE).to_string()
}

/// ISO 8601 UTC with a `Z` and no fraction, as AWS writes timestamps in XML.
pub fn format_timestamp(t: OffsetDateTime) -> String {
    portcullis_types::format_utc(t, "Z")
}

/// A minimal streaming XML writer: elements are written in the order the model defines,
/// text is escaped, absent optional members are simply not written.
#[derive(Debug, Default)]
pub struct XmlWriter {
    buf: String,
}

impl XmlWriter {
    pub fn new() -> Self {
        Self { buf: String::with_capacity(512) }
    }

    pub fn start(&mut self, name: &str) -> &mut Self {
        self.buf.push('<');
        self.buf.push_str(name);
        self.buf.push('>');
        self
    }

    pub fn end(&mut self, name: &str) -> &mut Self {
        self.buf.push_str("</");
        self.buf.push_str(name);
        self.buf.push('>');
        self
    }

    pub fn leaf(&mut self, name: &str, text: &str) -> &mut Self {
        self.start(name);
        self.buf.push_str(&quick_xml::escape::escape(text));
        self.end(name)
    }

    /// A leaf whose text needs no escaping (numbers, timestamps).
    fn raw_leaf(&mut self, name: &str, write: impl FnOnce(&mut String)) -> &mut Self {
        self.start(name);
        write(&mut self.buf);
        self.end(name)
    }

    /// Escaped text inside the current element (list members of strings).
    pub fn text(&mut self, text: &str) -> &mut Self {
        self.buf.push_str(&quick_xml::escape::escape(text));
        self
    }

    pub fn opt(&mut self, name: &str, text: Option<&str>) -> &mut Self {
        if let Some(t) = text {
            self.leaf(name, t);
        }
        self
    }

    pub fn bool(&mut self, name: &str, v: bool) -> &mut Self {
        self.leaf(name, if v { "true" } else { "false" })
    }

    pub fn num(&mut self, name: &str, v: i64) -> &mut Self {
        self.raw_leaf(name, |buf| {
            let _ = write!(buf, "{v}");
        })
    }

    pub fn time(&mut self, name: &str, t: OffsetDateTime) -> &mut Self {
        self.raw_leaf(name, |buf| portcullis_types::write_utc(buf, t, "Z"))
    }

    pub fn opt_time(&mut self, name: &str, t: Option<OffsetDateTime>) -> &mut Self {
        if let Some(t) = t {
            self.time(name, t);
        }
        self
    }

    /// A policy document member: URL-encoded JSON text.
    pub fn document(&mut self, name: &str, doc: &str) -> &mut Self {
        self.leaf(name, &url_encode_document(doc))
    }

    /// `<Name><member>…</member>…</Name>`; AWS writes an empty list as `<Name/>`-equivalent.
    pub fn list<T>(&mut self, name: &str, items: &[T], mut each: impl FnMut(&mut Self, &T)) -> &mut Self {
        self.start(name);
        for item in items {
            self.start("member");
            each(self, item);
            self.end("member");
        }
        self.end(name)
    }

    pub fn into_string(self) -> String {
        self.buf
    }

    /// What has been written so far.
    pub fn as_str(&self) -> &str {
        &self.buf
    }
}

/// `<{Op}Response xmlns=…><{Op}Result>…</{Op}Result><ResponseMetadata>…` — the result
/// element is left out for operations that have no output.
pub fn query_response_body(
    operation: &str,
    namespace: &str,
    request_id: &str,
    result: Option<XmlWriter>,
) -> String {
    let mut out = String::with_capacity(256 + result.as_ref().map_or(0, |r| r.buf.len()));
    let _ = write!(out, "<{operation}Response xmlns=\"{namespace}\">");
    if let Some(r) = result {
        let _ = write!(out, "<{operation}Result>");
        out.push_str(&r.buf);
        let _ = write!(out, "</{operation}Result>");
    }
    let _ = write!(
        out,
        "<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{operation}Response>"
    );
    out
}

pub fn query_error_body(namespace: &str, err: &crate::AwsError, request_id: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"{namespace}\"><Error><Type>{}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
        if err.sender { "Sender" } else { "Receiver" },
        quick_xml::escape::escape(err.code.as_ref()),
        quick_xml::escape::escape(err.message.as_str()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_encodes() {
        let mut w = XmlWriter::new();
        w.leaf("A", "x<&>\"'");
        assert_eq!(w.into_string(), "<A>x&lt;&amp;&gt;&quot;&apos;</A>");
        assert_eq!(url_encode_document("{\"A\": 1}"), "%7B%22A%22%3A%201%7D");
    }

    #[test]
    fn timestamps() {
        let t = time::macros::datetime!(2026-01-02 03:04:05.678 UTC);
        assert_eq!(format_timestamp(t), "2026-01-02T03:04:05Z");
    }

    #[test]
    fn envelope_without_result() {
        let body = query_response_body("DeleteUser", "ns", "rid", None);
        assert_eq!(
            body,
            "<DeleteUserResponse xmlns=\"ns\"><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></DeleteUserResponse>"
        );
    }
}
