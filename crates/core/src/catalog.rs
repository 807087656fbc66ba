//! The AWS-managed policy catalog, shipped inside the binary (see `catalog/README.md`).
//! It is global and read-only: per-account state (attachments) lives in the store.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};


use crate::{IamError, IamResult};

const CATALOG_GZ: &[u8] = include_bytes!("../../../catalog/aws-managed-policies.json.gz");

#[derive(Debug, Clone)]
pub struct ManagedPolicy {
    pub name: String,
    pub path: String,
    pub arn: String,
    pub policy_id: String,
    pub default_version: String,
    pub create_date: i64,
    pub update_date: i64,
    pub document: String,
}

impl ManagedPolicy {
    /// Service-linked and service-role policies may only go on service roles.
    pub fn is_service_role_policy(&self) -> bool {
        self.path == "/aws-service-role/"
    }
}

#[derive(Debug)]
pub struct Catalog {
    by_arn: HashMap<String, usize>,
    /// Sorted by lowercase name, as ListPolicies returns them.
    policies: Vec<ManagedPolicy>,
}

fn parse_time(s: &str) -> i64 {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .unwrap_or(0)
}

/// A stable AWS-looking policy id (`ANPA` + 17 of `[A-Z2-7]`) derived from the ARN, since
/// the published data carries no ids. FNV-1a keeps it identical across builds and nodes.
fn derived_policy_id(arn: &str) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::from("ANPA");
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for round in 0u8..17 {
        for b in arn.bytes().chain([round]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        out.push(char::from(ALPHABET[(h % 32) as usize]));
    }
    out
}

impl Catalog {
    /// The catalog embedded in the binary, decoded once per process.
    pub fn embedded() -> IamResult<Arc<Self>> {
        static CELL: OnceLock<Result<Arc<Catalog>, String>> = OnceLock::new();
        CELL.get_or_init(|| Self::from_gz(CATALOG_GZ).map(Arc::new))
            .clone()
            .map_err(IamError::ServiceFailure)
    }

    fn from_gz(gz: &[u8]) -> Result<Self, String> {
        /// One row of the catalog file, read straight into its fields (no JSON tree and no
        /// copy of the whole text held while reading: start-up memory stays low).
        #[derive(serde::Deserialize)]
        struct Row {
            name: String,
            path: String,
            arn: String,
            default_version: String,
            create_date: String,
            update_date: String,
            document: String,
        }
        let reader = std::io::BufReader::new(flate2::read::GzDecoder::new(gz));
        let rows: Vec<Row> = serde_json::from_reader(reader).map_err(|e| e.to_string())?;
        let mut policies: Vec<ManagedPolicy> = rows
            .into_iter()
            .map(|r| ManagedPolicy {
                name: r.name,
                path: r.path,
                policy_id: derived_policy_id(&r.arn),
                arn: r.arn,
                default_version: r.default_version,
                create_date: parse_time(&r.create_date),
                update_date: parse_time(&r.update_date),
                document: r.document,
            })
            .collect();
        policies.sort_by_key(|a| a.name.to_lowercase());
        let by_arn = policies.iter().enumerate().map(|(i, p)| (p.arn.clone(), i)).collect();
        Ok(Self { by_arn, policies })
    }

    pub fn get(&self, arn: &str) -> Option<&ManagedPolicy> {
        self.by_arn.get(arn).map(|i| &self.policies[*i])
    }

    /// Every policy, ordered by name ignoring case (names are unique).
    pub fn all(&self) -> &[ManagedPolicy] {
        &self.policies
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalog_has_the_tutorial_policies() {
        let c = Catalog::embedded().unwrap();
        assert!(c.all().len() > 1000);
        let admin = c.get("arn:aws:iam::aws:policy/AdministratorAccess").unwrap();
        assert_eq!(admin.default_version, "v1");
        assert!(admin.document.contains("\"Action\":\"*\""));
        assert_eq!(admin.policy_id.len(), 21);
        assert_eq!(admin.policy_id, derived_policy_id(&admin.arn));
        let view_only = c.get("arn:aws:iam::aws:policy/job-function/ViewOnlyAccess").unwrap();
        assert_eq!(view_only.path, "/job-function/");
        for n in ["IAMUserChangePassword", "AmazonEC2FullAccess", "PowerUserAccess", "SecurityAudit"] {
            assert!(c.get(&format!("arn:aws:iam::aws:policy/{n}")).is_some(), "{n}");
        }
    }

    #[test]
    fn catalog_is_in_strict_name_order_ignoring_case() {
        // ListPolicies' keyset pages rely on it (names unique, so a name is a position).
        let names: Vec<String> = Catalog::embedded().unwrap().all().iter().map(|p| p.name.to_lowercase()).collect();
        assert!(names.windows(2).all(|w| w[0] < w[1]));
    }
}
