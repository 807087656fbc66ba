//! STS operations. GetCallerIdentity and GetSessionToken need no permission and cannot be
//! denied by a policy; AssumeRole is decided by the role's trust policy and the caller's
//! own policies.

use portcullis_core::{AssumeRoleInput, AssumedRole, Caller, FederationInput, Iam, IamResult, SamlInput, SessionAsk, StsOperation as Op, TemporaryCredentials, WebIdentityInput};
use portcullis_protocol::{QueryParams, XmlWriter};

use crate::encode::ts;

fn credentials(w: &mut XmlWriter, c: &TemporaryCredentials) {
    w.start("Credentials")
        .leaf("AccessKeyId", &c.access_key_id)
        .leaf("SecretAccessKey", &c.secret_access_key)
        .leaf("SessionToken", &c.session_token)
        .time("Expiration", ts(c.expiration))
        .end("Credentials");
}

/// What every AssumeRole* answers about the session: its credentials, the assumed-role
/// user and, when session policies or tags were passed, their packed size.
fn role_session(w: &mut XmlWriter, r: &AssumedRole) {
    credentials(w, &r.credentials);
    w.start("AssumedRoleUser").leaf("AssumedRoleId", &r.assumed_role_id).leaf("Arn", &r.arn).end("AssumedRoleUser");
    if let Some(size) = r.packed_policy_size {
        w.num("PackedPolicySize", size);
    }
}

/// The session tags a request passes (`Tags.member.N.Key`/`Value`).
fn session_tags(p: &QueryParams) -> Vec<(String, String)> {
    p.member_prefixes("Tags")
        .iter()
        .map(|m| (p.get(&format!("{m}.Key")).unwrap_or_default().to_owned(), p.get(&format!("{m}.Value")).unwrap_or_default().to_owned()))
        .collect()
}

/// The managed session policies a request passes (`PolicyArns.member.N.arn`).
/// `Policy`, `PolicyArns.member.N.arn` and `DurationSeconds`, as every AssumeRole* and
/// GetFederationToken take them.
fn session_ask(p: &QueryParams) -> SessionAsk {
    SessionAsk {
        policy: p.get("Policy").map(str::to_owned),
        policy_arns: p.member_prefixes("PolicyArns").iter().filter_map(|m| p.get(&format!("{m}.arn")).map(str::to_owned)).collect(),
        duration: int(p, "DurationSeconds"),
    }
}

fn int(p: &QueryParams, k: &str) -> Option<i64> {
    p.get(k).and_then(|v| v.trim().parse().ok())
}

/// Authorizes the operation as its table row says (GetCallerIdentity and GetSessionToken
/// cannot be denied; AssumeRole is decided with the role's trust policy inside the
/// operation) and runs it.
pub async fn dispatch(iam: &Iam, caller: &Caller, op: Op, p: &QueryParams) -> IamResult<Option<XmlWriter>> {
    let spec = op.spec();
    let auth = iam.authorize_operation(caller, &spec, p).await?;
    let caller = auth.caller();
    let mut w = XmlWriter::new();
    match op {
        Op::GetDelegatedAccessToken => {
            let d = iam.get_delegated_access_token(caller, p.get("TradeInToken").unwrap_or_default()).await?;
            credentials(&mut w, &d.credentials);
            w.num("PackedPolicySize", d.packed_policy_size).leaf("AssumedPrincipal", &d.assumed_principal);
        }
        Op::AssumeRoot => {
            let c = iam.assume_root(caller, p.get("TargetPrincipal").unwrap_or_default(), p.get("TaskPolicyArn.arn"), int(p, "DurationSeconds")).await?;
            credentials(&mut w, &c);
        }
        Op::GetCallerIdentity => {
            w.leaf("UserId", &caller.user_id()).leaf("Account", &caller.account_id).leaf("Arn", &caller.arn());
        }
        Op::GetSessionToken => {
            let c = iam.get_session_token(caller, int(p, "DurationSeconds"), p.get("SerialNumber"), p.get("TokenCode")).await?;
            credentials(&mut w, &c);
        }
        Op::AssumeRole => {
            let input = AssumeRoleInput {
                role_arn: p.get("RoleArn").unwrap_or_default().to_owned(),
                session_name: p.get("RoleSessionName").unwrap_or_default().to_owned(),
                session: session_ask(p),
                tags: session_tags(p),
                transitive_tag_keys: p.string_list("TransitiveTagKeys"),
                external_id: p.get("ExternalId").map(str::to_owned),
                serial_number: p.get("SerialNumber").map(str::to_owned),
                token_code: p.get("TokenCode").map(str::to_owned),
                source_identity: p.get("SourceIdentity").map(str::to_owned),
            };
            let r = iam.assume_role(caller, &input).await?;
            role_session(&mut w, &r);
            w.opt("SourceIdentity", r.source_identity.as_deref());
        }
        // Unsigned: the caller stands only for the request's facts; the token decides.
        Op::AssumeRoleWithWebIdentity => {
            let input = WebIdentityInput {
                role_arn: p.get("RoleArn").unwrap_or_default().to_owned(),
                session_name: p.get("RoleSessionName").unwrap_or_default().to_owned(),
                token: p.get("WebIdentityToken").unwrap_or_default().to_owned(),
                session: session_ask(p),
            };
            let r = iam.assume_role_with_web_identity(&input, caller.request.clone()).await?;
            role_session(&mut w, &r.assumed);
            w.leaf("SubjectFromWebIdentityToken", &r.subject);
            w.leaf("Provider", &r.provider).leaf("Audience", &r.audience);
        }
        Op::AssumeRoleWithSAML => {
            let input = SamlInput {
                role_arn: p.get("RoleArn").unwrap_or_default().to_owned(),
                principal_arn: p.get("PrincipalArn").unwrap_or_default().to_owned(),
                assertion: p.get("SAMLAssertion").unwrap_or_default().to_owned(),
                session: session_ask(p),
            };
            let r = iam.assume_role_with_saml(&input, caller.request.clone()).await?;
            role_session(&mut w, &r.assumed);
            w.leaf("Subject", &r.subject).leaf("SubjectType", &r.subject_type).leaf("Issuer", &r.issuer);
            w.leaf("Audience", &r.audience).leaf("NameQualifier", &r.name_qualifier);
            w.opt("SourceIdentity", r.assumed.source_identity.as_deref());
        }
        Op::GetFederationToken => {
            let input = FederationInput {
                name: p.get("Name").unwrap_or_default().to_owned(),
                session: session_ask(p),
                tags: session_tags(p),
            };
            let s = iam.get_federation_token(&auth, &input).await?;
            credentials(&mut w, &s.credentials);
            w.start("FederatedUser").leaf("FederatedUserId", &s.federated_user_id).leaf("Arn", &s.arn).end("FederatedUser");
            if let Some(size) = s.packed_policy_size {
                w.num("PackedPolicySize", size);
            }
        }
        Op::GetWebIdentityToken => {
            let audiences = p.string_list("Audience");
            let (token, expiration) = iam
                .get_web_identity_token(&auth, &audiences, int(p, "DurationSeconds"), p.get("SigningAlgorithm").unwrap_or("RS256"), &session_tags(p))
                .await?;
            w.leaf("WebIdentityToken", &token).time("Expiration", ts(expiration));
        }
        Op::DecodeAuthorizationMessage => {
            let decoded = iam.decode_authorization_message(p.get("EncodedMessage").unwrap_or_default())?;
            w.leaf("DecodedMessage", &decoded);
        }
        Op::GetAccessKeyInfo => {
            let account = iam.access_key_account(caller, p.get("AccessKeyId").unwrap_or_default()).await?;
            w.leaf("Account", &account);
        }
    }
    Ok(Some(w))
}
