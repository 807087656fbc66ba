//! Context key names, hashed once when a policy is compiled so that lookups
//! during evaluation neither re-hash nor lower-case strings.

use std::hash::{BuildHasherDefault, Hasher};

/// A context key name, lower-cased (key names are case-insensitive) with its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyName {
    lower: Box<str>,
    hash: u64,
}

impl KeyName {
    pub(crate) fn new(raw: &str) -> Self {
        let raw = raw.trim();
        // Context keys are almost always ASCII; the ASCII lowering is cheaper.
        let lower = if raw.is_ascii() { raw.to_ascii_lowercase() } else { raw.to_lowercase() };
        KeyName {
            hash: fnv1a(lower.as_bytes()),
            lower: lower.into_boxed_str(),
        }
    }

    pub(crate) fn lower(&self) -> &str {
        &self.lower
    }

    pub(crate) fn hash(&self) -> u64 {
        self.hash
    }

    pub(crate) fn into_lower(self) -> String {
        self.lower.into_string()
    }
}

/// FNV-1a: short keys, no adversary (keys come from our own policies and
/// request builders), so a simple fast hash is enough.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Hasher for maps keyed by an already computed `u64` hash.
#[derive(Default)]
pub(crate) struct PrehashedHasher(u64);

impl Hasher for PrehashedHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0 = fnv1a(bytes);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

pub(crate) type Prehashed = BuildHasherDefault<PrehashedHasher>;
