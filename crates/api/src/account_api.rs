//! Account Management operations: decode the JSON input (already checked against the
//! model), authorize, call the domain, answer in AWS's JSON.

use portcullis_core::{AccountOperation as Op, Caller, Iam, IamResult};
use serde_json::{json, Value};

fn s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

pub async fn dispatch(iam: &Iam, caller: &Caller, op: Op, v: &Value) -> IamResult<Value> {
    let spec = op.spec();
    let auth = iam.authorize_operation(caller, &spec, &crate::json_protocol::flat_params(v)).await?;
    let auth = &auth;
    let account = s(v, "AccountId");
    Ok(match op {
        Op::PutAlternateContact => {
            iam.put_alternate_contact(auth, account, v).await?;
            json!({})
        }
        Op::GetAlternateContact => json!({"AlternateContact": iam.get_alternate_contact(auth, account, s(v, "AlternateContactType").unwrap_or_default()).await?}),
        Op::DeleteAlternateContact => {
            iam.delete_alternate_contact(auth, account, s(v, "AlternateContactType").unwrap_or_default()).await?;
            json!({})
        }
        Op::PutContactInformation => {
            iam.put_contact_information(auth, account, v.get("ContactInformation").unwrap_or(&Value::Null)).await?;
            json!({})
        }
        Op::GetContactInformation => json!({"ContactInformation": iam.get_contact_information(auth, account).await?}),
        Op::ListRegions => {
            let filter: Vec<String> = v.get("RegionOptStatusContains").and_then(Value::as_array).map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect()).unwrap_or_default();
            iam.list_regions(auth, account, &filter, s(v, "NextToken"), v.get("MaxResults").and_then(Value::as_i64)).await?
        }
        Op::GetRegionOptStatus => iam.get_region_opt_status(auth, account, s(v, "RegionName").unwrap_or_default()).await?,
        Op::EnableRegion | Op::DisableRegion => {
            iam.set_region_enabled(auth, account, s(v, "RegionName").unwrap_or_default(), op == Op::EnableRegion).await?;
            json!({})
        }
        Op::GetPrimaryEmail => iam.get_primary_email(auth, account.unwrap_or_default()).await?,
        Op::GetAccountInformation => iam.get_account_information(auth, account).await?,
        Op::PutAccountName => {
            iam.put_account_name(auth, account, s(v, "AccountName").unwrap_or_default()).await?;
            json!({})
        }
    })
}
