//! STS operations. GetCallerIdentity needs no permission and cannot be denied.

use portcullis_core::{Caller, Iam, IamError, IamResult, Principal};
use portcullis_protocol::{QueryParams, XmlWriter};

pub async fn dispatch(_iam: &Iam, caller: &Caller, op: &str, _p: &QueryParams) -> IamResult<Option<XmlWriter>> {
    let mut w = XmlWriter::new();
    match op {
        "GetCallerIdentity" => {
            let user_id = match &caller.principal {
                Principal::Root => caller.account_id.clone(),
                Principal::User(u) => u.user_id.clone(),
            };
            w.leaf("UserId", &user_id).leaf("Account", &caller.account_id).leaf("Arn", &caller.arn());
        }
        _ => {
            return Err(IamError::InvalidAction(format!("Could not find operation {op} for version 2011-06-15")));
        }
    }
    Ok(Some(w))
}
