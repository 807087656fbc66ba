//! AWS wire formats: the query protocol's form parameters (with `.member.N` lists), input
//! validation driven by botocore's service models, XML responses and the error envelope.

mod error;
mod model;
mod params;
mod xml;

pub use error::AwsError;
pub use model::{OperationSpec, ServiceModel};
pub use params::QueryParams;
pub use xml::{format_timestamp, query_error_body, query_response_body, url_encode_document, XmlWriter};
