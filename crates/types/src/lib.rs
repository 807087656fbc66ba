//! Pure value types shared by every Portcullis crate: account ids, ARNs, IAM paths and
//! names, and the `Clock` that every time-dependent decision takes as an argument.

mod arn;
mod clock;
mod entities;
mod kinds;
mod names;
mod status;

pub use arn::Arn;
pub use clock::{format_utc, write_utc, Clock, FixedClock, OffsetClock, SystemClock};
pub use entities::{Role, User};
pub use kinds::{CredentialKind, PrincipalKind, Tag};
pub use names::{AccountId, IamPath, NameError};
pub use status::{KeyStatus, PolicyScope};

/// A request extension present when the request came over TLS (for `aws:SecureTransport`,
/// `https://` URLs and `Secure` cookies).
#[derive(Debug, Clone, Copy)]
pub struct SecureTransport;
