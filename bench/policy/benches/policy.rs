//! Criterion benchmarks of `portcullis-policy`, with `cedar-policy` making the
//! same decisions on hand-translated equivalents of the same policies.
//!
//! Groups:
//! - `parse/{AdministratorAccess,Force_MFA}`: `parse` (JSON + validation +
//!   compilation) of the two AWS documents kept in `crates/policy/tests/seed/`.
//! - `evaluate/portcullis/10-policies-50-statements/{allowed,implicit-deny,explicit-deny}`:
//!   one request against a principal with the 10 policies below (50
//!   statements). `allowed-uncached-context` is `allowed` on a never-evaluated
//!   copy of the request, so it includes the one-time parsing of the IP and
//!   date context values that the other runs reuse.
//! - `evaluate/cedar/10-policies-50-statements/...`: `Authorizer::is_authorized`
//!   on the Cedar translation ([`CEDAR_POLICIES`]); the policy set, entities and
//!   request are built before timing.
//! - `evaluate/portcullis/scaling/{10,1000,10000}`: the `allowed` request while
//!   the account also holds that many other parsed policies, not attached.
//!
//! Time is wall-clock time, criterion's default. With `BENCH_CLOCK=cpu` it is
//! the benchmark thread's CPU time instead (see [`Clock`]), which leaves out
//! the time the thread waits for a core on a busy machine.
//!
//! Before any timing, [`cross_check`] asserts that both engines give the same
//! decision, from the same statements, for every request in [`requests`]
//! (the three timed ones and 40 more that exercise every condition).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hint::black_box;
use std::str::FromStr;
use std::time::Duration;

use cedar_policy as cedar;
use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion};
use portcullis_policy::{
    evaluate, parse, wildcard_match, EvalDecision, Policy, PolicyKind, PolicySet, RequestContext,
    RequestPrincipal,
};

const ADMINISTRATOR_ACCESS: &str = include_str!("../../../crates/policy/tests/seed/AdministratorAccess.json");
const FORCE_MFA: &str = include_str!("../../../crates/policy/tests/seed/Force_MFA.json");

const ACCOUNT: &str = "111122223333";
/// 2026-11-23T12:00:00Z.
const NOW: (i64, &str) = (1_795_435_200, "2026-11-23T12:00:00Z");
/// After the contractor window closes.
const LATER: (i64, &str) = (1_801_474_200, "2027-02-01T09:30:00Z");

// ---------------------------------------------------------------------------
// The principal's 10 identity policies: 9 + 5 + 4 + 5 + 5 + 5 + 5 + 5 + 5 + 2 = 50 statements.

const S3_HOME_DIRECTORY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "ListBuckets", "Effect": "Allow",
     "Action": ["s3:ListAllMyBuckets", "s3:GetBucketLocation"], "Resource": "arn:aws:s3:::*"},
    {"Sid": "ListOwnHome", "Effect": "Allow", "Action": "s3:ListBucket",
     "Resource": "arn:aws:s3:::corp-home",
     "Condition": {"StringLike": {"s3:prefix": "home/${aws:username}/*"}}},
    {"Sid": "OwnHome", "Effect": "Allow", "Action": "s3:*",
     "Resource": "arn:aws:s3:::corp-home/home/${aws:username}/*"},
    {"Sid": "NoBucketDeletion", "Effect": "Deny", "Action": "s3:DeleteBucket",
     "Resource": "arn:aws:s3:::corp-*"},
    {"Sid": "NoBucketPolicyChanges", "Effect": "Deny",
     "Action": ["s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutBucketAcl"], "Resource": "*"}
  ]
}"#;

const NETWORK_RESTRICTIONS: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "DenyOutsideCorpNetwork", "Effect": "Deny", "Action": "*", "Resource": "*",
     "Condition": {"NotIpAddress": {"aws:SourceIp": ["203.0.113.0/24", "198.51.100.0/24"]}}},
    {"Sid": "SharedReadFromOffice", "Effect": "Allow", "Action": "s3:GetObject",
     "Resource": "arn:aws:s3:::corp-shared/*",
     "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}},
    {"Sid": "SharedListFromOffice", "Effect": "Allow", "Action": "s3:ListBucket",
     "Resource": "arn:aws:s3:::corp-shared",
     "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}},
    {"Sid": "SecretsOnlyFromVpn", "Effect": "Deny", "Action": "s3:*",
     "Resource": ["arn:aws:s3:::corp-secrets", "arn:aws:s3:::corp-secrets/*"],
     "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}
  ]
}"#;

const EC2_DEVELOPER: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "Describe", "Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*",
     "Condition": {"StringEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}},
    {"Sid": "OperateOwnInstances", "Effect": "Allow",
     "Action": ["ec2:StartInstances", "ec2:StopInstances", "ec2:RebootInstances"],
     "Resource": "arn:aws:ec2:*:111122223333:instance/*",
     "Condition": {"StringEquals": {"ec2:ResourceTag/owner": "${aws:username}"}}},
    {"Sid": "RunSmallInstancesWithMfa", "Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*",
     "Condition": {"StringEquals": {"ec2:InstanceType": ["t3.micro", "t3.small"]},
                   "Bool": {"aws:MultiFactorAuthPresent": "true"}}},
    {"Sid": "TerminateOnlyDev", "Effect": "Deny", "Action": "ec2:TerminateInstances", "Resource": "*",
     "Condition": {"StringNotEquals": {"ec2:ResourceTag/env": "dev"}}},
    {"Sid": "ApprovedRegionsOnly", "Effect": "Deny", "Action": "ec2:*", "Resource": "*",
     "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}}
  ]
}"#;

const DYNAMODB_ORDERS: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "ReadOrders", "Effect": "Allow",
     "Action": ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchGetItem"],
     "Resource": "arn:aws:dynamodb:us-east-1:111122223333:table/orders*"},
    {"Sid": "WriteOrdersInHomeRegion", "Effect": "Allow",
     "Action": ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
     "Resource": "arn:aws:dynamodb:us-east-1:111122223333:table/orders",
     "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}},
    {"Sid": "NeverDropTables", "Effect": "Deny", "Action": "dynamodb:DeleteTable", "Resource": "*"},
    {"Sid": "ListTables", "Effect": "Allow", "Action": "dynamodb:ListTables", "Resource": "*"},
    {"Sid": "DescribeTables", "Effect": "Allow", "Action": "dynamodb:DescribeTable",
     "Resource": "arn:aws:dynamodb:*:111122223333:table/*"}
  ]
}"#;

const CONTRACTOR_TIME_WINDOW: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "ReadReportsDuringContract", "Effect": "Allow",
     "Action": ["s3:GetObject", "s3:GetObjectVersion"], "Resource": "arn:aws:s3:::corp-reports/*",
     "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2025-01-01T00:00:00Z"},
                   "DateLessThan": {"aws:CurrentTime": "2026-12-31T23:59:59Z"}}},
    {"Sid": "ListReportsDuringContract", "Effect": "Allow", "Action": "s3:ListBucket",
     "Resource": "arn:aws:s3:::corp-reports",
     "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2025-01-01T00:00:00Z"},
                   "DateLessThan": {"aws:CurrentTime": "2026-12-31T23:59:59Z"}}},
    {"Sid": "AppLogs", "Effect": "Allow", "Action": "logs:*",
     "Resource": "arn:aws:logs:us-east-1:111122223333:log-group:/app/*",
     "Condition": {"DateLessThan": {"aws:CurrentTime": "2026-12-31T23:59:59Z"}}},
    {"Sid": "NothingAfterContract", "Effect": "Deny", "Action": "*", "Resource": "*",
     "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2027-01-01T00:00:00Z"}}},
    {"Sid": "Metrics", "Effect": "Allow", "Action": "cloudwatch:GetMetricData", "Resource": "*"}
  ]
}"#;

const KMS_USAGE: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "UseKeysThroughS3", "Effect": "Allow",
     "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"],
     "Resource": "arn:aws:kms:us-east-1:111122223333:key/*",
     "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}},
    {"Sid": "NoKeyDeletion", "Effect": "Deny", "Action": "kms:ScheduleKeyDeletion", "Resource": "*"},
    {"Sid": "NoKeyDisable", "Effect": "Deny", "Action": "kms:DisableKey", "Resource": "*"},
    {"Sid": "ListKeys", "Effect": "Allow", "Action": ["kms:ListKeys", "kms:ListAliases"], "Resource": "*"},
    {"Sid": "DescribeOverTls", "Effect": "Allow", "Action": "kms:DescribeKey",
     "Resource": "arn:aws:kms:*:111122223333:key/*",
     "Condition": {"Bool": {"aws:SecureTransport": "true"}}}
  ]
}"#;

const S3_ANALYTICS: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "ReadAnalytics", "Effect": "Allow", "Action": ["s3:Get*", "s3:List*"],
     "Resource": ["arn:aws:s3:::corp-analytics", "arn:aws:s3:::corp-analytics/*"]},
    {"Sid": "UploadOwnEncrypted", "Effect": "Allow", "Action": "s3:PutObject",
     "Resource": "arn:aws:s3:::corp-analytics/uploads/${aws:username}/*",
     "Condition": {"StringEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}},
    {"Sid": "DenyUnencryptedUploads", "Effect": "Deny", "Action": "s3:PutObject",
     "Resource": "arn:aws:s3:::corp-analytics/*",
     "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}},
    {"Sid": "DenyPlainHttp", "Effect": "Deny", "Action": "s3:*", "Resource": "*",
     "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    {"Sid": "TagsWithMfa", "Effect": "Allow", "Action": "s3:GetObjectTagging",
     "Resource": "arn:aws:s3:::corp-analytics/*",
     "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}
  ]
}"#;

const IAM_SELF_SERVICE: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "ReadOwnUser", "Effect": "Allow",
     "Action": ["iam:GetAccessKeyLastUsed", "iam:ListAttachedUserPolicies", "iam:ListUserPolicies", "iam:ListGroupsForUser"],
     "Resource": "arn:aws:iam::111122223333:user/${aws:username}"},
    {"Sid": "ReadDirectory", "Effect": "Allow",
     "Action": ["iam:ListUsers", "iam:ListGroups", "iam:GetAccountSummary"], "Resource": "*"},
    {"Sid": "NoUserAdministration", "Effect": "Deny",
     "Action": ["iam:CreateUser", "iam:DeleteUser", "iam:AttachUserPolicy", "iam:PutUserPolicy"], "Resource": "*"},
    {"Sid": "OwnLoginProfileWithMfa", "Effect": "Allow",
     "Action": ["iam:UpdateLoginProfile", "iam:GetLoginProfile"],
     "Resource": "arn:aws:iam::111122223333:user/${aws:username}",
     "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}},
    {"Sid": "AssumeDevRolesWithMfa", "Effect": "Allow", "Action": "sts:AssumeRole",
     "Resource": "arn:aws:iam::111122223333:role/dev-*",
     "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}
  ]
}"#;

const GUARDRAILS: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "ApprovedRegions", "Effect": "Deny",
     "NotAction": ["iam:*", "sts:*", "s3:GetBucketLocation", "s3:ListAllMyBuckets"], "Resource": "*",
     "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}},
    {"Sid": "RevokedUsers", "Effect": "Deny", "Action": "*", "Resource": "*",
     "Condition": {"StringEquals": {"aws:userid": ["AIDAREVOKEDUSER00001", "AIDAREVOKEDUSER00002"]}}}
  ]
}"#;

/// (policy name, document), in attachment order.
const POLICIES: [(&str, &str); 10] = [
    ("Force_MFA", FORCE_MFA),
    ("S3HomeDirectory", S3_HOME_DIRECTORY),
    ("NetworkRestrictions", NETWORK_RESTRICTIONS),
    ("EC2Developer", EC2_DEVELOPER),
    ("DynamoDBOrders", DYNAMODB_ORDERS),
    ("ContractorTimeWindow", CONTRACTOR_TIME_WINDOW),
    ("KMSUsage", KMS_USAGE),
    ("S3Analytics", S3_ANALYTICS),
    ("IAMSelfService", IAM_SELF_SERVICE),
    ("Guardrails", GUARDRAILS),
];

// ---------------------------------------------------------------------------
// The same 50 statements in Cedar, one Cedar policy per IAM statement, with the
// id `PolicyName/statement-index` so that both engines' reasons can be compared.
//
// Modelling (schema-less):
// - principal `User::"NAME"` with attributes `name` (aws:username), `userid`
//   (aws:userid), `self_arn` (the user's ARN as a `Res` entity), and `home` /
//   `uploads` (the `Res` folder entities that `${aws:username}` names in S3 ARNs);
// - action `Action::"service:Name"`, whose parents are the action groups
//   `Action::"s3:*"`, `Action::"s3:Get*"`, ... that stand for IAM's wildcards
//   (computed when the entities are built); NotAction becomes `unless { action in [...] }`;
// - resource `Res::"ARN"` with attribute `arn`; an S3 object's parents are its
//   folder prefixes (`Res::"arn:aws:s3:::bucket/a/"`, ...), so that
//   `bucket/a/${aws:username}/*` becomes `resource in principal.home`;
//   other wildcard ARNs become `resource.arn like "..."`;
// - IAM condition keys become context attributes, present exactly when the IAM
//   key is: `mfa` (Bool), `source_ip` (ipaddr), `now` (datetime), `region`,
//   `secure_transport` (Bool), `s3_prefix` (a `Res` folder entity), `sse`,
//   `instance_type`, `via_service`, `resource_owner`, `resource_env`. IAM's rule
//   that a negated operator holds when its key is absent (and `...IfExists`)
//   becomes `!(context has k) || ...`.
const CEDAR_POLICIES: &[(&str, &str)] = &[
    // Force_MFA (AWS's example, statement for statement).
    ("Force_MFA/0", r#"permit(principal, action in [Action::"iam:GetAccountPasswordPolicy", Action::"iam:ListVirtualMFADevices"], resource);"#),
    ("Force_MFA/1", r#"permit(principal, action in [Action::"iam:ChangePassword", Action::"iam:GetUser"], resource)
        when { resource == principal.self_arn };"#),
    ("Force_MFA/2", r#"permit(principal, action in [Action::"iam:CreateAccessKey", Action::"iam:DeleteAccessKey", Action::"iam:ListAccessKeys",
            Action::"iam:UpdateAccessKey", Action::"iam:GetAccessKeyLastUsed"], resource)
        when { resource == principal.self_arn };"#),
    ("Force_MFA/3", r#"permit(principal, action in [Action::"iam:DeleteSigningCertificate", Action::"iam:ListSigningCertificates",
            Action::"iam:UpdateSigningCertificate", Action::"iam:UploadSigningCertificate"], resource)
        when { resource == principal.self_arn };"#),
    ("Force_MFA/4", r#"permit(principal, action in [Action::"iam:DeleteSSHPublicKey", Action::"iam:GetSSHPublicKey", Action::"iam:ListSSHPublicKeys",
            Action::"iam:UpdateSSHPublicKey", Action::"iam:UploadSSHPublicKey"], resource)
        when { resource == principal.self_arn };"#),
    ("Force_MFA/5", r#"permit(principal, action in [Action::"iam:CreateServiceSpecificCredential", Action::"iam:DeleteServiceSpecificCredential",
            Action::"iam:ListServiceSpecificCredentials", Action::"iam:ResetServiceSpecificCredential",
            Action::"iam:UpdateServiceSpecificCredential"], resource)
        when { resource == principal.self_arn };"#),
    ("Force_MFA/6", r#"permit(principal, action == Action::"iam:CreateVirtualMFADevice", resource)
        when { resource.arn like "arn:aws:iam::*:mfa/*" };"#),
    ("Force_MFA/7", r#"permit(principal, action in [Action::"iam:DeactivateMFADevice", Action::"iam:EnableMFADevice", Action::"iam:ListMFADevices",
            Action::"iam:ResyncMFADevice"], resource)
        when { resource == principal.self_arn };"#),
    ("Force_MFA/8", r#"forbid(principal, action, resource)
        unless { action in [Action::"iam:CreateVirtualMFADevice", Action::"iam:EnableMFADevice", Action::"iam:GetUser",
            Action::"iam:GetMFADevice", Action::"iam:ListMFADevices", Action::"iam:ListVirtualMFADevices",
            Action::"iam:ResyncMFADevice", Action::"sts:GetSessionToken"] }
        when { !(context has mfa) || context.mfa == false };"#),
    // S3HomeDirectory
    ("S3HomeDirectory/0", r#"permit(principal, action in [Action::"s3:ListAllMyBuckets", Action::"s3:GetBucketLocation"], resource)
        when { resource.arn like "arn:aws:s3:::*" };"#),
    ("S3HomeDirectory/1", r#"permit(principal, action == Action::"s3:ListBucket", resource == Res::"arn:aws:s3:::corp-home")
        when { context has s3_prefix && context.s3_prefix in principal.home };"#),
    ("S3HomeDirectory/2", r#"permit(principal, action in Action::"s3:*", resource)
        when { resource in principal.home };"#),
    ("S3HomeDirectory/3", r#"forbid(principal, action == Action::"s3:DeleteBucket", resource)
        when { resource.arn like "arn:aws:s3:::corp-*" };"#),
    ("S3HomeDirectory/4", r#"forbid(principal, action in [Action::"s3:PutBucketPolicy", Action::"s3:DeleteBucketPolicy", Action::"s3:PutBucketAcl"], resource);"#),
    // NetworkRestrictions
    ("NetworkRestrictions/0", r#"forbid(principal, action, resource)
        when { !(context has source_ip) ||
               !(context.source_ip.isInRange(ip("203.0.113.0/24")) || context.source_ip.isInRange(ip("198.51.100.0/24"))) };"#),
    ("NetworkRestrictions/1", r#"permit(principal, action == Action::"s3:GetObject", resource)
        when { resource.arn like "arn:aws:s3:::corp-shared/*" &&
               context has source_ip && context.source_ip.isInRange(ip("203.0.113.0/24")) };"#),
    ("NetworkRestrictions/2", r#"permit(principal, action == Action::"s3:ListBucket", resource == Res::"arn:aws:s3:::corp-shared")
        when { context has source_ip && context.source_ip.isInRange(ip("203.0.113.0/24")) };"#),
    ("NetworkRestrictions/3", r#"forbid(principal, action in Action::"s3:*", resource)
        when { (resource == Res::"arn:aws:s3:::corp-secrets" || resource.arn like "arn:aws:s3:::corp-secrets/*") &&
               (!(context has source_ip) || !context.source_ip.isInRange(ip("10.0.0.0/8"))) };"#),
    // EC2Developer
    ("EC2Developer/0", r#"permit(principal, action in Action::"ec2:Describe*", resource)
        when { context has region && ["us-east-1", "eu-west-1"].contains(context.region) };"#),
    ("EC2Developer/1", r#"permit(principal, action in [Action::"ec2:StartInstances", Action::"ec2:StopInstances", Action::"ec2:RebootInstances"], resource)
        when { resource.arn like "arn:aws:ec2:*:111122223333:instance/*" &&
               context has resource_owner && context.resource_owner == principal.name };"#),
    ("EC2Developer/2", r#"permit(principal, action == Action::"ec2:RunInstances", resource)
        when { context has instance_type && ["t3.micro", "t3.small"].contains(context.instance_type) &&
               context has mfa && context.mfa };"#),
    ("EC2Developer/3", r#"forbid(principal, action == Action::"ec2:TerminateInstances", resource)
        unless { context has resource_env && context.resource_env == "dev" };"#),
    ("EC2Developer/4", r#"forbid(principal, action in Action::"ec2:*", resource)
        unless { context has region && ["us-east-1", "eu-west-1"].contains(context.region) };"#),
    // DynamoDBOrders
    ("DynamoDBOrders/0", r#"permit(principal, action in [Action::"dynamodb:GetItem", Action::"dynamodb:Query", Action::"dynamodb:BatchGetItem"], resource)
        when { resource.arn like "arn:aws:dynamodb:us-east-1:111122223333:table/orders*" };"#),
    ("DynamoDBOrders/1", r#"permit(principal, action in [Action::"dynamodb:PutItem", Action::"dynamodb:UpdateItem", Action::"dynamodb:DeleteItem"],
            resource == Res::"arn:aws:dynamodb:us-east-1:111122223333:table/orders")
        when { context has region && context.region == "us-east-1" };"#),
    ("DynamoDBOrders/2", r#"forbid(principal, action == Action::"dynamodb:DeleteTable", resource);"#),
    ("DynamoDBOrders/3", r#"permit(principal, action == Action::"dynamodb:ListTables", resource);"#),
    ("DynamoDBOrders/4", r#"permit(principal, action == Action::"dynamodb:DescribeTable", resource)
        when { resource.arn like "arn:aws:dynamodb:*:111122223333:table/*" };"#),
    // ContractorTimeWindow
    ("ContractorTimeWindow/0", r#"permit(principal, action in [Action::"s3:GetObject", Action::"s3:GetObjectVersion"], resource)
        when { resource.arn like "arn:aws:s3:::corp-reports/*" && context has now &&
               context.now > datetime("2025-01-01T00:00:00Z") && context.now < datetime("2026-12-31T23:59:59Z") };"#),
    ("ContractorTimeWindow/1", r#"permit(principal, action == Action::"s3:ListBucket", resource == Res::"arn:aws:s3:::corp-reports")
        when { context has now &&
               context.now > datetime("2025-01-01T00:00:00Z") && context.now < datetime("2026-12-31T23:59:59Z") };"#),
    ("ContractorTimeWindow/2", r#"permit(principal, action in Action::"logs:*", resource)
        when { resource.arn like "arn:aws:logs:us-east-1:111122223333:log-group:/app/*" &&
               context has now && context.now < datetime("2026-12-31T23:59:59Z") };"#),
    ("ContractorTimeWindow/3", r#"forbid(principal, action, resource)
        when { context has now && context.now > datetime("2027-01-01T00:00:00Z") };"#),
    ("ContractorTimeWindow/4", r#"permit(principal, action == Action::"cloudwatch:GetMetricData", resource);"#),
    // KMSUsage
    ("KMSUsage/0", r#"permit(principal, action in [Action::"kms:Decrypt", Action::"kms:Encrypt", Action::"kms:GenerateDataKey*"], resource)
        when { resource.arn like "arn:aws:kms:us-east-1:111122223333:key/*" &&
               context has via_service && context.via_service == "s3.us-east-1.amazonaws.com" };"#),
    ("KMSUsage/1", r#"forbid(principal, action == Action::"kms:ScheduleKeyDeletion", resource);"#),
    ("KMSUsage/2", r#"forbid(principal, action == Action::"kms:DisableKey", resource);"#),
    ("KMSUsage/3", r#"permit(principal, action in [Action::"kms:ListKeys", Action::"kms:ListAliases"], resource);"#),
    ("KMSUsage/4", r#"permit(principal, action == Action::"kms:DescribeKey", resource)
        when { resource.arn like "arn:aws:kms:*:111122223333:key/*" && context has secure_transport && context.secure_transport };"#),
    // S3Analytics
    ("S3Analytics/0", r#"permit(principal, action in [Action::"s3:Get*", Action::"s3:List*"], resource)
        when { resource == Res::"arn:aws:s3:::corp-analytics" || resource.arn like "arn:aws:s3:::corp-analytics/*" };"#),
    ("S3Analytics/1", r#"permit(principal, action == Action::"s3:PutObject", resource)
        when { resource in principal.uploads && context has sse && context.sse == "aws:kms" };"#),
    ("S3Analytics/2", r#"forbid(principal, action == Action::"s3:PutObject", resource)
        when { resource.arn like "arn:aws:s3:::corp-analytics/*" }
        unless { context has sse && context.sse == "aws:kms" };"#),
    ("S3Analytics/3", r#"forbid(principal, action in Action::"s3:*", resource)
        when { context has secure_transport && context.secure_transport == false };"#),
    ("S3Analytics/4", r#"permit(principal, action == Action::"s3:GetObjectTagging", resource)
        when { resource.arn like "arn:aws:s3:::corp-analytics/*" && context has mfa && context.mfa };"#),
    // IAMSelfService
    ("IAMSelfService/0", r#"permit(principal, action in [Action::"iam:GetAccessKeyLastUsed", Action::"iam:ListAttachedUserPolicies",
            Action::"iam:ListUserPolicies", Action::"iam:ListGroupsForUser"], resource)
        when { resource == principal.self_arn };"#),
    ("IAMSelfService/1", r#"permit(principal, action in [Action::"iam:ListUsers", Action::"iam:ListGroups", Action::"iam:GetAccountSummary"], resource);"#),
    ("IAMSelfService/2", r#"forbid(principal, action in [Action::"iam:CreateUser", Action::"iam:DeleteUser", Action::"iam:AttachUserPolicy",
            Action::"iam:PutUserPolicy"], resource);"#),
    ("IAMSelfService/3", r#"permit(principal, action in [Action::"iam:UpdateLoginProfile", Action::"iam:GetLoginProfile"], resource)
        when { resource == principal.self_arn && context has mfa && context.mfa };"#),
    ("IAMSelfService/4", r#"permit(principal, action == Action::"sts:AssumeRole", resource)
        when { resource.arn like "arn:aws:iam::111122223333:role/dev-*" && context has mfa && context.mfa };"#),
    // Guardrails
    ("Guardrails/0", r#"forbid(principal, action, resource)
        unless { action in [Action::"iam:*", Action::"sts:*", Action::"s3:GetBucketLocation", Action::"s3:ListAllMyBuckets"] ||
                 (context has region && ["us-east-1", "eu-west-1"].contains(context.region)) };"#),
    ("Guardrails/1", r#"forbid(principal, action, resource)
        when { ["AIDAREVOKEDUSER00001", "AIDAREVOKEDUSER00002"].contains(principal.userid) };"#),
];

/// The IAM wildcard actions of the policies, as Cedar action groups.
const ACTION_GROUPS: &[&str] = &[
    "s3:*", "s3:Get*", "s3:List*", "ec2:*", "ec2:Describe*", "logs:*", "kms:GenerateDataKey*", "iam:*", "sts:*",
];

// ---------------------------------------------------------------------------
// Requests, described once and built for each engine.

#[derive(Clone)]
struct Spec {
    action: &'static str,
    resource: &'static str,
    user: (&'static str, &'static str),
    mfa: Option<bool>,
    source_ip: &'static str,
    region: Option<&'static str>,
    secure_transport: bool,
    now: (i64, &'static str),
    s3_prefix: Option<&'static str>,
    sse: Option<&'static str>,
    instance_type: Option<&'static str>,
    via_service: Option<&'static str>,
    resource_owner: Option<&'static str>,
    resource_env: Option<&'static str>,
}

const ALICE: (&str, &str) = ("alice", "AIDAEXAMPLEALICE0001");
const MALLORY: (&str, &str) = ("mallory", "AIDAREVOKEDUSER00001");

/// alice, signed in with MFA from the office, over TLS, in us-east-1, now.
fn spec(action: &'static str, resource: &'static str) -> Spec {
    Spec {
        action,
        resource,
        user: ALICE,
        mfa: Some(true),
        source_ip: "203.0.113.42",
        region: Some("us-east-1"),
        secure_transport: true,
        now: NOW,
        s3_prefix: None,
        sse: None,
        instance_type: None,
        via_service: None,
        resource_owner: None,
        resource_env: None,
    }
}

/// The three timed requests.
fn timed_requests() -> [(&'static str, Spec, EvalDecision); 3] {
    [
        ("allowed", spec("s3:GetObject", "arn:aws:s3:::corp-home/home/alice/notes.txt"), EvalDecision::Allowed),
        ("implicit-deny", spec("s3:PutObject", "arn:aws:s3:::corp-home/home/bob/draft.txt"), EvalDecision::ImplicitDeny),
        ("explicit-deny", spec("s3:GetObject", "arn:aws:s3:::corp-secrets/payroll.csv"), EvalDecision::ExplicitDeny),
    ]
}

/// Every request the engines are cross-checked on, with the expected decision.
fn requests() -> Vec<(Spec, EvalDecision)> {
    use EvalDecision::{Allowed as A, ExplicitDeny as X, ImplicitDeny as I};
    let s = spec;
    let mut v: Vec<(Spec, EvalDecision)> = timed_requests().into_iter().map(|(_, sp, d)| (sp, d)).collect();
    v.extend([
        (s("s3:DeleteBucket", "arn:aws:s3:::corp-home"), X),
        (Spec { s3_prefix: Some("home/alice/"), ..s("s3:ListBucket", "arn:aws:s3:::corp-home") }, A),
        (Spec { s3_prefix: Some("home/alice/projects/"), ..s("s3:ListBucket", "arn:aws:s3:::corp-home") }, A),
        (Spec { s3_prefix: Some("home/bob/"), ..s("s3:ListBucket", "arn:aws:s3:::corp-home") }, I),
        (s("s3:ListBucket", "arn:aws:s3:::corp-home"), I),
        (s("s3:GetObject", "arn:aws:s3:::corp-shared/doc.pdf"), A),
        (Spec { source_ip: "198.51.100.7", ..s("s3:GetObject", "arn:aws:s3:::corp-shared/doc.pdf") }, I),
        (Spec { source_ip: "192.0.2.1", ..s("s3:GetObject", "arn:aws:s3:::corp-shared/doc.pdf") }, X),
        (Spec { source_ip: "10.1.2.3", ..s("s3:GetObject", "arn:aws:s3:::corp-secrets/payroll.csv") }, X),
        (s("s3:ListBucket", "arn:aws:s3:::corp-shared"), A),
        (Spec { mfa: None, ..s("s3:GetObject", "arn:aws:s3:::corp-home/home/alice/notes.txt") }, X),
        (Spec { mfa: Some(false), ..s("s3:GetObject", "arn:aws:s3:::corp-home/home/alice/notes.txt") }, X),
        (Spec { mfa: Some(false), ..s("iam:GetUser", "arn:aws:iam::111122223333:user/alice") }, A),
        (Spec { mfa: Some(false), ..s("iam:ChangePassword", "arn:aws:iam::111122223333:user/alice") }, X),
        (s("iam:ChangePassword", "arn:aws:iam::111122223333:user/alice"), A),
        (s("iam:ChangePassword", "arn:aws:iam::111122223333:user/bob"), I),
        (s("iam:CreateVirtualMFADevice", "arn:aws:iam::111122223333:mfa/alice"), A),
        (s("iam:CreateUser", "arn:aws:iam::111122223333:user/carol"), X),
        (s("iam:GetLoginProfile", "arn:aws:iam::111122223333:user/alice"), A),
        (s("iam:ListUsers", "*"), A),
        (s("ec2:DescribeInstances", "*"), A),
        (Spec { region: Some("ap-south-1"), ..s("ec2:DescribeInstances", "*") }, X),
        (Spec { resource_owner: Some("alice"), ..s("ec2:StartInstances", "arn:aws:ec2:us-east-1:111122223333:instance/i-0abc") }, A),
        (Spec { resource_owner: Some("bob"), ..s("ec2:StartInstances", "arn:aws:ec2:us-east-1:111122223333:instance/i-0abc") }, I),
        (Spec { instance_type: Some("t3.micro"), ..s("ec2:RunInstances", "*") }, A),
        (Spec { instance_type: Some("m5.24xlarge"), ..s("ec2:RunInstances", "*") }, I),
        (Spec { resource_env: Some("prod"), ..s("ec2:TerminateInstances", "arn:aws:ec2:us-east-1:111122223333:instance/i-0abc") }, X),
        (Spec { resource_env: Some("dev"), ..s("ec2:TerminateInstances", "arn:aws:ec2:us-east-1:111122223333:instance/i-0abc") }, I),
        (s("dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:111122223333:table/orders-2026"), A),
        (s("dynamodb:PutItem", "arn:aws:dynamodb:us-east-1:111122223333:table/orders"), A),
        (Spec { region: Some("eu-west-1"), ..s("dynamodb:PutItem", "arn:aws:dynamodb:us-east-1:111122223333:table/orders") }, I),
        (s("dynamodb:DeleteTable", "arn:aws:dynamodb:us-east-1:111122223333:table/orders"), X),
        (s("s3:GetObject", "arn:aws:s3:::corp-reports/q3.pdf"), A),
        (Spec { now: LATER, ..s("s3:GetObject", "arn:aws:s3:::corp-reports/q3.pdf") }, X),
        (s("logs:PutLogEvents", "arn:aws:logs:us-east-1:111122223333:log-group:/app/web"), A),
        (Spec { via_service: Some("s3.us-east-1.amazonaws.com"), ..s("kms:GenerateDataKeyWithoutPlaintext", "arn:aws:kms:us-east-1:111122223333:key/1234abcd") }, A),
        (s("kms:GenerateDataKeyWithoutPlaintext", "arn:aws:kms:us-east-1:111122223333:key/1234abcd"), I),
        (s("kms:ScheduleKeyDeletion", "arn:aws:kms:us-east-1:111122223333:key/1234abcd"), X),
        (s("kms:DescribeKey", "arn:aws:kms:us-east-1:111122223333:key/1234abcd"), A),
        (Spec { secure_transport: false, ..s("kms:DescribeKey", "arn:aws:kms:us-east-1:111122223333:key/1234abcd") }, I),
        (Spec { sse: Some("aws:kms"), ..s("s3:PutObject", "arn:aws:s3:::corp-analytics/uploads/alice/data.csv") }, A),
        (s("s3:PutObject", "arn:aws:s3:::corp-analytics/uploads/alice/data.csv"), X),
        (s("s3:GetObject", "arn:aws:s3:::corp-analytics/reports/x.csv"), A),
        (Spec { secure_transport: false, ..s("s3:GetObject", "arn:aws:s3:::corp-analytics/reports/x.csv") }, X),
        (s("s3:GetObjectTagging", "arn:aws:s3:::corp-analytics/reports/x.csv"), A),
        (s("sts:AssumeRole", "arn:aws:iam::111122223333:role/dev-admin"), A),
        (s("sts:AssumeRole", "arn:aws:iam::111122223333:role/prod-admin"), I),
        (Spec { user: MALLORY, ..s("s3:GetObject", "arn:aws:s3:::corp-home/home/mallory/x") }, X),
        (s("cloudwatch:GetMetricData", "*"), A),
        (Spec { region: None, ..s("cloudwatch:GetMetricData", "*") }, X),
        (Spec { region: Some("ap-south-1"), ..s("s3:GetBucketLocation", "arn:aws:s3:::corp-home") }, A),
    ]);
    v
}

// ---------------------------------------------------------------------------
// Portcullis side.

fn user_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:user/{name}")
}

fn portcullis_request(s: &Spec) -> RequestContext {
    let who = RequestPrincipal::user(ACCOUNT, &user_arn(s.user.0));
    let mut r = RequestContext::new(s.action, s.resource, who);
    r.set_principal_keys(Some(s.user.0), s.user.1, &[]);
    r.set_one("aws:SourceIp", s.source_ip);
    r.set_one("aws:SecureTransport", if s.secure_transport { "true" } else { "false" });
    r.set_time(s.now.0);
    if let Some(m) = s.mfa {
        r.set_one("aws:MultiFactorAuthPresent", if m { "true" } else { "false" });
    }
    let optional = [
        ("aws:RequestedRegion", s.region),
        ("s3:prefix", s.s3_prefix),
        ("s3:x-amz-server-side-encryption", s.sse),
        ("ec2:InstanceType", s.instance_type),
        ("kms:ViaService", s.via_service),
        ("ec2:ResourceTag/owner", s.resource_owner),
        ("ec2:ResourceTag/env", s.resource_env),
    ];
    for (key, value) in optional {
        if let Some(v) = value {
            r.set_one(key, v);
        }
    }
    r
}

fn parse_attached() -> Vec<Policy> {
    POLICIES.iter().map(|(_, doc)| parse(doc, PolicyKind::Identity).unwrap()).collect()
}

fn policy_set<'a>(policies: &[&'a Policy]) -> PolicySet<'a> {
    assert_eq!(policies.len(), POLICIES.len());
    PolicySet {
        identity: POLICIES.iter().zip(policies).map(|((name, _), p)| (*name, *p)).collect(),
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------
// Cedar side.

fn uid(type_name: &str, id: &str) -> cedar::EntityUid {
    cedar::EntityUid::from_type_name_and_id(cedar::EntityTypeName::from_str(type_name).unwrap(), cedar::EntityId::new(id))
}

fn res(arn: &str) -> cedar::EntityUid {
    uid("Res", arn)
}

fn bucket_of(arn: &str) -> &str {
    let rest = arn.strip_prefix("arn:aws:s3:::").unwrap();
    rest.split('/').next().unwrap()
}

/// A resource entity; an S3 ARN's parents are its folder prefixes.
fn resource_entity(arn: &str) -> cedar::Entity {
    let mut parents = HashSet::new();
    if arn.starts_with("arn:aws:s3:::") {
        for (i, c) in arn.char_indices() {
            if c == '/' && i + 1 < arn.len() {
                parents.insert(res(&arn[..=i]));
            }
        }
    }
    let attrs = HashMap::from([("arn".to_string(), cedar::RestrictedExpression::new_string(arn.to_string()))]);
    cedar::Entity::new(res(arn), attrs, parents).unwrap()
}

fn user_entity((name, userid): (&str, &str)) -> cedar::Entity {
    let attrs = HashMap::from([
        ("name".to_string(), cedar::RestrictedExpression::new_string(name.to_string())),
        ("userid".to_string(), cedar::RestrictedExpression::new_string(userid.to_string())),
        ("self_arn".to_string(), cedar::RestrictedExpression::new_entity_uid(res(&user_arn(name)))),
        (
            "home".to_string(),
            cedar::RestrictedExpression::new_entity_uid(res(&format!("arn:aws:s3:::corp-home/home/{name}/"))),
        ),
        (
            "uploads".to_string(),
            cedar::RestrictedExpression::new_entity_uid(res(&format!("arn:aws:s3:::corp-analytics/uploads/{name}/"))),
        ),
    ]);
    cedar::Entity::new(uid("User", name), attrs, HashSet::new()).unwrap()
}

fn action_entity(action: &str) -> cedar::Entity {
    let parents = ACTION_GROUPS
        .iter()
        .filter(|g| wildcard_match(g, action, true))
        .map(|g| uid("Action", g))
        .collect();
    cedar::Entity::new_no_attrs(uid("Action", action), parents)
}

fn s3_prefix_arn(s: &Spec) -> Option<String> {
    s.s3_prefix.map(|p| format!("arn:aws:s3:::{}/{p}", bucket_of(s.resource)))
}

/// The entity store: every principal, action and resource the requests name.
fn cedar_entities(specs: &[Spec]) -> cedar::Entities {
    let mut all: BTreeMap<String, cedar::Entity> = BTreeMap::new();
    for s in specs {
        let mut add = |e: cedar::Entity| {
            all.entry(e.uid().to_string()).or_insert(e);
        };
        add(user_entity(s.user));
        add(action_entity(s.action));
        add(resource_entity(s.resource));
        if let Some(p) = s3_prefix_arn(s) {
            add(resource_entity(&p));
        }
    }
    cedar::Entities::from_entities(all.into_values(), None).unwrap()
}

fn cedar_request(s: &Spec) -> cedar::Request {
    use cedar::RestrictedExpression as E;
    let mut ctx: Vec<(String, E)> = vec![
        ("source_ip".into(), E::new_ip(s.source_ip)),
        ("secure_transport".into(), E::new_bool(s.secure_transport)),
        ("now".into(), E::new_datetime(s.now.1)),
    ];
    if let Some(m) = s.mfa {
        ctx.push(("mfa".into(), E::new_bool(m)));
    }
    if let Some(p) = s3_prefix_arn(s) {
        ctx.push(("s3_prefix".into(), E::new_entity_uid(res(&p))));
    }
    let optional = [
        ("region", s.region),
        ("sse", s.sse),
        ("instance_type", s.instance_type),
        ("via_service", s.via_service),
        ("resource_owner", s.resource_owner),
        ("resource_env", s.resource_env),
    ];
    for (key, value) in optional {
        if let Some(v) = value {
            ctx.push((key.into(), E::new_string(v.to_string())));
        }
    }
    let context = cedar::Context::from_pairs(ctx).unwrap();
    cedar::Request::new(uid("User", s.user.0), uid("Action", s.action), res(s.resource), context, None).unwrap()
}

fn cedar_policies() -> cedar::PolicySet {
    assert_eq!(CEDAR_POLICIES.len(), 50);
    let mut set = cedar::PolicySet::new();
    for (id, src) in CEDAR_POLICIES {
        let p = cedar::Policy::parse(Some(cedar::PolicyId::new(*id)), src)
            .unwrap_or_else(|e| panic!("Cedar policy {id}: {e:?}"));
        set.add(p).unwrap();
    }
    set
}

/// Cedar's answer in IAM's terms, with the ids of the policies that decided it.
fn cedar_decision(set: &cedar::PolicySet, response: &cedar::Response) -> (EvalDecision, BTreeSet<String>) {
    let errors: Vec<String> = response.diagnostics().errors().map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "Cedar evaluation errors: {errors:?}");
    let reasons: BTreeSet<String> = response.diagnostics().reason().map(|id| id.to_string()).collect();
    let decision = match response.decision() {
        cedar::Decision::Allow => EvalDecision::Allowed,
        cedar::Decision::Deny if reasons.is_empty() => EvalDecision::ImplicitDeny,
        cedar::Decision::Deny => {
            for id in &reasons {
                let p = set.policy(&cedar::PolicyId::new(id)).unwrap();
                assert_eq!(p.effect(), cedar::Effect::Forbid, "{id}");
            }
            EvalDecision::ExplicitDeny
        }
    };
    (decision, reasons)
}

/// Asserts that both engines decide every request as expected, on the same statements.
fn cross_check() {
    let attached = parse_attached();
    let set = policy_set(&attached.iter().collect::<Vec<_>>());
    let specs: Vec<Spec> = requests().into_iter().map(|(s, _)| s).collect();
    let c_set = cedar_policies();
    let c_entities = cedar_entities(&specs);
    let authorizer = cedar::Authorizer::new();
    let mut n_statements = 0;
    for p in &attached {
        n_statements += p.statements().len();
    }
    assert_eq!(n_statements, 50);
    for (s, expected) in requests() {
        let what = format!("{} {} ({:?} mfa={:?} ip={})", s.action, s.resource, s.user.0, s.mfa, s.source_ip);
        let d = evaluate(&set, &portcullis_request(&s));
        let p_reasons: BTreeSet<String> = d.matched.iter().map(|m| format!("{}/{}", m.policy_id, m.statement_index)).collect();
        assert_eq!(d.effect, expected, "portcullis: {what}: {p_reasons:?}");
        let (c_effect, c_reasons) = cedar_decision(&c_set, &authorizer.is_authorized(&cedar_request(&s), &c_set, &c_entities));
        assert_eq!(c_effect, expected, "cedar: {what}: {c_reasons:?}");
        assert_eq!(p_reasons, c_reasons, "deciding statements differ: {what}");
    }
    eprintln!("cross-check: {} requests, same decisions and deciding statements in both engines", requests().len());
}

// ---------------------------------------------------------------------------
// Benchmarks.

/// Wall-clock time (criterion's default), or with `BENCH_CLOCK=cpu` the
/// thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), which does not count the
/// time the thread is descheduled while other processes use the cores.
pub struct Clock {
    cpu: bool,
    wall: WallTime,
}

impl Clock {
    fn from_env() -> Self {
        let cpu = std::env::var("BENCH_CLOCK").is_ok_and(|v| v == "cpu");
        if cpu {
            eprintln!("BENCH_CLOCK=cpu: timing the thread's CPU time, not wall-clock time");
        }
        Clock { cpu, wall: WallTime }
    }

    fn now(&self) -> Duration {
        let id = if self.cpu { libc::CLOCK_THREAD_CPUTIME_ID } else { libc::CLOCK_MONOTONIC };
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
        let rc = unsafe { libc::clock_gettime(id, &mut ts) };
        assert_eq!(rc, 0, "clock_gettime");
        Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    }
}

impl Measurement for Clock {
    type Intermediate = Duration;
    type Value = Duration;
    fn start(&self) -> Duration {
        self.now()
    }
    fn end(&self, start: Duration) -> Duration {
        self.now().saturating_sub(start)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, v: &Duration) -> f64 {
        v.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        self.wall.formatter()
    }
}

fn config() -> Criterion<Clock> {
    Criterion::default().with_measurement(Clock::from_env())
}

fn bench_parse(c: &mut Criterion<Clock>) {
    let mut g = c.benchmark_group("parse");
    for (name, doc) in [("AdministratorAccess", ADMINISTRATOR_ACCESS), ("Force_MFA", FORCE_MFA)] {
        g.bench_function(name, |b| b.iter(|| parse(black_box(doc), PolicyKind::Identity).unwrap()));
    }
    g.finish();
}

fn bench_evaluate(c: &mut Criterion<Clock>) {
    cross_check();

    let attached = parse_attached();
    let set = policy_set(&attached.iter().collect::<Vec<_>>());
    let mut g = c.benchmark_group("evaluate/portcullis/10-policies-50-statements");
    for (name, s, expected) in timed_requests() {
        let req = portcullis_request(&s);
        assert_eq!(evaluate(&set, &req).effect, expected);
        g.bench_function(name, |b| b.iter(|| evaluate(black_box(&set), black_box(&req))));
        if name == "allowed" {
            // A never-evaluated copy each time: includes parsing the IP and date values.
            g.bench_function("allowed-uncached-context", |b| {
                b.iter_batched(
                    || req.clone(),
                    |fresh| {
                        let effect = evaluate(&set, black_box(&fresh)).effect;
                        (fresh, effect)
                    },
                    BatchSize::SmallInput,
                )
            });
        }
    }
    g.finish();

    let specs: Vec<Spec> = timed_requests().into_iter().map(|(_, s, _)| s).collect();
    let c_set = cedar_policies();
    let c_entities = cedar_entities(&specs);
    let authorizer = cedar::Authorizer::new();
    let mut g = c.benchmark_group("evaluate/cedar/10-policies-50-statements");
    for (name, s, expected) in timed_requests() {
        let req = cedar_request(&s);
        let response = authorizer.is_authorized(&req, &c_set, &c_entities);
        assert_eq!(cedar_decision(&c_set, &response).0, expected);
        g.bench_function(name, |b| b.iter(|| authorizer.is_authorized(black_box(&req), black_box(&c_set), black_box(&c_entities))));
    }
    g.finish();
}

/// Another team's version of the 9 custom policies (bucket and table names changed).
fn other_policy(i: usize) -> Policy {
    let (_, doc) = POLICIES[1 + i % (POLICIES.len() - 1)];
    let team = format!("team{i}-");
    let doc = doc.replace("corp-", &team).replace("orders", &format!("{team}orders"));
    parse(&doc, PolicyKind::Identity).unwrap()
}

fn bench_scaling(c: &mut Criterion<Clock>) {
    let (_, s, expected) = timed_requests().into_iter().next().unwrap();
    let req = portcullis_request(&s);
    let mut g = c.benchmark_group("evaluate/portcullis/scaling");
    for others in [10usize, 1_000, 10_000] {
        // The account's policies, allocated in one sequence with the 10 attached
        // ones spread among the others (no locality advantage for the attached).
        let mut account: Vec<Policy> = Vec::with_capacity(others + POLICIES.len());
        let mut attached_at = Vec::new();
        let step = others / POLICIES.len();
        for i in 0..others {
            if i % step == 0 && attached_at.len() < POLICIES.len() {
                attached_at.push(account.len());
                account.push(parse(POLICIES[attached_at.len() - 1].1, PolicyKind::Identity).unwrap());
            }
            account.push(other_policy(i));
        }
        let attached: Vec<&Policy> = attached_at.iter().map(|&i| &account[i]).collect();
        let set = policy_set(&attached);
        assert_eq!(account.len(), others + POLICIES.len());
        assert_eq!(evaluate(&set, &req).effect, expected);
        g.bench_with_input(BenchmarkId::from_parameter(others), &others, |b, _| {
            b.iter(|| evaluate(black_box(&set), black_box(&req)))
        });
        drop(set);
        black_box(&account);
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_parse, bench_evaluate, bench_scaling
}
criterion_main!(benches);
