//! Checks on individual strings of a policy (actions, resources, `Sid`s), with
//! the messages AWS returns for each mistake.

use crate::error::{self, PolicyError};

/// Partitions AWS accepts in a resource ARN.
const PARTITIONS: &[&str] = &[
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
];

/// `*` or `vendor:Name` (the name may hold wildcards).
pub(crate) fn action(a: &str) -> Result<(), PolicyError> {
    if a == "*" {
        return Ok(());
    }
    let Some((vendor, _)) = a.split_once(':') else {
        return Err(PolicyError::new(error::ACTION_VENDOR));
    };
    if vendor.is_empty() {
        return Err(PolicyError::new(error::ACTION_VENDOR));
    }
    if a.matches(':').count() > 1 {
        return Err(PolicyError::new(error::ACTION_ONE_COLON));
    }
    if vendor.chars().any(char::is_whitespace) {
        return Err(PolicyError::new(format!("Vendor {vendor} is not valid")));
    }
    Ok(())
}

fn partition_ok(p: &str) -> bool {
    PARTITIONS.contains(&p) || p.contains('*') || p.contains('?') || p.contains("${")
}

/// `*` or an ARN whose parts AWS can read.
pub(crate) fn resource(r: &str) -> Result<(), PolicyError> {
    if r == "*" {
        return Ok(());
    }
    if r.starts_with("arn:") {
        return arn(r);
    }
    let Some((_, after)) = r.split_once(':') else {
        return Err(PolicyError::new(format!("Resource {r} must be in ARN format or \"*\".")));
    };
    // AWS reads `x:y...` as an ARN missing its `arn` prefix and complains about the partition.
    let mut shown = format!("arn:{after}");
    while shown.matches(':').count() < 5 {
        shown.push_str(":*");
    }
    let partition = after.split(':').next().unwrap_or("");
    if !partition_ok(partition) {
        return Err(PolicyError::new(format!(
            "Partition \"{partition}\" is not valid for resource \"{shown}\"."
        )));
    }
    Err(PolicyError::new(format!("Resource {r} must be in ARN format or \"*\".")))
}

fn arn(r: &str) -> Result<(), PolicyError> {
    let parts: Vec<&str> = r.splitn(6, ':').collect();
    match parts.len() {
        0..=2 => Err(PolicyError::new(error::RESOURCE_VENDOR)),
        3 | 4 if parts[2].is_empty() => Err(PolicyError::legacy()),
        3 | 4 => Ok(()),
        5 => Err(PolicyError::legacy()),
        _ => {
            let (partition, service, region, account) = (parts[1], parts[2], parts[3], parts[4]);
            if partition.is_empty() || service.is_empty() {
                return Err(PolicyError::legacy());
            }
            if !partition_ok(partition) {
                return Err(PolicyError::new(format!(
                    "Partition \"{partition}\" is not valid for resource \"{r}\"."
                )));
            }
            if service == "iam" && !region.is_empty() {
                return Err(PolicyError::new(format!(
                    "IAM resource {r} cannot contain region information."
                )));
            }
            if service == "iam" && !iam_resource_ok(parts[5]) {
                return Err(PolicyError::new(error::IAM_RESOURCE_PATH));
            }
            if service == "s3" && !region.is_empty() && account.is_empty() {
                return Err(PolicyError::new(format!(
                    "Resource {r} can not contain region information."
                )));
            }
            Ok(())
        }
    }
}

/// The resource part of an IAM ARN: `*`, `root`, a known resource type, or a pattern
/// starting with a wildcard or a variable.
fn iam_resource_ok(resource: &str) -> bool {
    const TYPES: [&str; 13] = [
        "user/", "federated-user/", "role/", "group/", "instance-profile/", "mfa/", "server-certificate/", "policy/", "sms-mfa/",
        "saml-provider/", "oidc-provider/", "report/", "access-report/",
    ];
    resource == "root" || resource.starts_with(['*', '?', '$']) || TYPES.iter().any(|t| resource.starts_with(t))
}

/// IAM's own `Sid` rule (ASCII letters and digits).
pub(crate) fn iam_sid(sid: &str) -> Result<(), PolicyError> {
    if sid.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(PolicyError::new(error::SID_NOT_ALPHANUMERIC))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(r: Result<(), PolicyError>) -> String {
        r.err().map(|e| e.message).unwrap_or_default()
    }

    #[test]
    fn actions() {
        assert_eq!(msg(action("s3:GetObject")), "");
        assert_eq!(msg(action("s3:*")), "");
        assert_eq!(msg(action("GetObject")), error::ACTION_VENDOR);
        assert_eq!(msg(action("s3:a:b")), error::ACTION_ONE_COLON);
        assert_eq!(msg(action("s 3:a")), "Vendor s 3 is not valid");
    }

    #[test]
    fn resources() {
        assert_eq!(msg(resource("arn:aws:s3:::bucket/*")), "");
        assert_eq!(msg(resource("arn:aws:s3:::bucket/a:b")), "");
        assert_eq!(msg(resource("bucket")), "Resource bucket must be in ARN format or \"*\".");
        assert_eq!(msg(resource("arn:aws")), error::RESOURCE_VENDOR);
        assert_eq!(msg(resource("arn:aws:s3::bucket")), error::LEGACY);
        assert_eq!(
            msg(resource("arn:foo:s3:::b")),
            "Partition \"foo\" is not valid for resource \"arn:foo:s3:::b\"."
        );
        assert_eq!(
            msg(resource("aws:s3")),
            "Partition \"s3\" is not valid for resource \"arn:s3:*:*:*:*\"."
        );
        assert_eq!(
            msg(resource("arn:aws:iam:us-east-1:123456789012:user/x")),
            "IAM resource arn:aws:iam:us-east-1:123456789012:user/x cannot contain region information."
        );
    }
}
