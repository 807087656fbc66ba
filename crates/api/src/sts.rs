//! STS operations. GetCallerIdentity needs no permission and cannot be denied.

use portcullis_core::{Caller, Iam, IamError, IamResult};
use portcullis_protocol::{QueryParams, XmlWriter};

pub async fn dispatch(_iam: &Iam, caller: &Caller, op: &str, _p: &QueryParams) -> IamResult<Option<XmlWriter>> {
    let mut w = XmlWriter::new();
    match op {
        "GetCallerIdentity" => {
            w.leaf("UserId", &caller.user_id()).leaf("Account", &caller.account_id).leaf("Arn", &caller.arn());
        }
        _ => {
            return Err(IamError::InvalidAction(format!("Could not find operation {op} for version 2011-06-15")));
        }
    }
    Ok(Some(w))
}
