use std::borrow::Cow;

/// An error as AWS puts it on the wire: a code from the service model, AWS's message, the
/// HTTP status and whether the fault is the caller's (`Sender`) or the service's
/// (`Receiver`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    pub code: Cow<'static, str>,
    pub message: String,
    pub status: u16,
    pub sender: bool,
    /// Members some JSON-protocol exceptions carry beside the message (`Reason`,
    /// `ResourceType`, `ResourceId`), in order.
    pub fields: Vec<(&'static str, String)>,
}

impl AwsError {
    pub fn new(code: impl Into<Cow<'static, str>>, status: u16, message: impl Into<String>) -> Self {
        Self { code: code.into(), message: message.into(), status, sender: status < 500, fields: Vec::new() }
    }

    pub fn with_reason(self, reason: impl Into<String>) -> Self {
        self.with_field("Reason", reason)
    }

    pub fn with_field(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.fields.push((name, value.into()));
        self
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new("ValidationError", 400, message)
    }

    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new("InvalidInput", 400, message)
    }

    /// The common error of every AWS service for a failure it cannot explain (a panic).
    pub fn internal_failure() -> Self {
        Self::new(
            "InternalFailure",
            500,
            "The request processing has failed because of an unknown error, exception or failure.",
        )
    }

    pub fn internal() -> Self {
        Self::new(
            "ServiceFailure",
            500,
            "The request processing has failed because of an unknown error, exception or failure.",
        )
    }
}

impl std::fmt::Display for AwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for AwsError {}
