//! AWS wire formats: the query protocol's form parameters (with `.member.N` lists), input
//! validation driven by botocore's service models, XML responses and the error envelope.

mod error;
mod model;
mod params;
mod xml;

pub use error::AwsError;
pub use model::{OperationSpec, ServiceModel, Violation, ViolationKind};

/// botocore's service models, gzipped, as the server validates requests against them.
pub const IAM_MODEL_GZ: &[u8] = include_bytes!("../models/iam-2010-05-08.json.gz");
pub const STS_MODEL_GZ: &[u8] = include_bytes!("../models/sts-2011-06-15.json.gz");
pub const ORGANIZATIONS_MODEL_GZ: &[u8] = include_bytes!("../models/organizations-2016-11-28.json.gz");
pub const IDENTITYSTORE_MODEL_GZ: &[u8] = include_bytes!("../models/identitystore-2020-06-15.json.gz");
pub const SSO_ADMIN_MODEL_GZ: &[u8] = include_bytes!("../models/sso-admin-2020-07-20.json.gz");
pub const ACCOUNT_MODEL_GZ: &[u8] = include_bytes!("../models/account-2021-02-01.json.gz");
pub const SSO_MODEL_GZ: &[u8] = include_bytes!("../models/sso-2019-06-10.json.gz");
pub const CLOUDTRAIL_MODEL_GZ: &[u8] = include_bytes!("../models/cloudtrail-2013-11-01.json.gz");
pub const SSO_OIDC_MODEL_GZ: &[u8] = include_bytes!("../models/sso-oidc-2019-06-10.json.gz");
pub use params::QueryParams;
pub use xml::{format_timestamp, query_error_body, query_response_body, url_encode_document, XmlWriter};
