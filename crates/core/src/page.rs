//! IAM's Marker/MaxItems pagination. Markers are opaque to clients: base64url of the sort
//! key of the last item returned (keyset pages) or of an offset (small in-memory lists).

use base64_lite::{decode, encode};

use crate::IamError;

#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub marker: Option<String>,
    pub max_items: Option<i64>,
}

impl PageRequest {
    pub fn limit(&self) -> i64 {
        self.max_items.unwrap_or(100).clamp(1, 1000)
    }

    /// The sort key after which a keyset page starts.
    pub fn after_key(&self) -> Result<Option<String>, IamError> {
        match &self.marker {
            None => Ok(None),
            Some(m) => match decode(m).and_then(|s| s.strip_prefix("k:").map(str::to_owned)) {
                Some(k) => Ok(Some(k)),
                None => Err(invalid_marker()),
            },
        }
    }

    fn offset(&self) -> Result<usize, IamError> {
        match &self.marker {
            None => Ok(0),
            Some(m) => decode(m)
                .and_then(|s| s.strip_prefix("o:").and_then(|n| n.parse().ok()))
                .ok_or_else(invalid_marker),
        }
    }
}

pub(crate) fn invalid_marker() -> IamError {
    IamError::InvalidInput("Invalid Marker.".to_owned())
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Present exactly when the listing is truncated.
    pub marker: Option<String>,
}

impl<T> Page<T> {
    pub fn is_truncated(&self) -> bool {
        self.marker.is_some()
    }

    /// `rows` holds up to limit+1 items fetched after the requested key.
    pub fn from_keyset(mut rows: Vec<T>, req: &PageRequest, key: impl Fn(&T) -> String) -> Self {
        let limit = usize::try_from(req.limit()).unwrap_or(100);
        if rows.len() > limit {
            rows.truncate(limit);
            let marker = rows.last().map(|last| encode(&format!("k:{}", key(last))));
            Self { items: rows, marker }
        } else {
            Self { items: rows, marker: None }
        }
    }

    /// Slices a complete, ordered in-memory listing.
    pub fn from_all(all: Vec<T>, req: &PageRequest) -> Result<Self, IamError> {
        let start = req.offset()?;
        let limit = usize::try_from(req.limit()).unwrap_or(100);
        let total = all.len();
        let items: Vec<T> = all.into_iter().skip(start).take(limit).collect();
        let end = start + items.len();
        let marker = (end < total).then(|| encode(&format!("o:{end}")));
        Ok(Self { items, marker })
    }
}

/// URL-safe base64 without padding, enough for markers (kept local to avoid a dependency
/// in the domain crate for twenty lines).
mod base64_lite {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    pub fn encode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = String::with_capacity(bytes.len() * 4 / 3 + 4);
        for chunk in bytes.chunks(3) {
            let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            let chars = chunk.len() + 1;
            for i in 0..chars {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            }
        }
        out
    }

    pub fn decode(s: &str) -> Option<String> {
        let mut bits: u32 = 0;
        let mut nbits = 0;
        let mut out = Vec::with_capacity(s.len() * 3 / 4);
        for c in s.bytes() {
            let v = ALPHABET.iter().position(|a| *a == c)? as u32;
            bits = (bits << 6) | v;
            nbits += 6;
            if nbits >= 8 {
                nbits -= 8;
                out.push(((bits >> nbits) & 0xff) as u8);
            }
        }
        String::from_utf8(out).ok()
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn round_trip() {
            for s in ["", "k:alice", "o:100", "k:ünïcode/+="] {
                assert_eq!(super::decode(&super::encode(s)).as_deref(), Some(s));
            }
            assert!(super::decode("!!").is_none());
        }
    }
}

/// The `NextToken`/`MaxResults` pagination of the JSON services over a list already in
/// memory: the token is the position of the next item (`pos-N`). `Err(())` for a token this
/// list did not hand out (each service words that its own way).
pub fn positional<T>(all: Vec<T>, next_token: Option<&str>, max_results: Option<i64>, default_size: usize) -> Result<(Vec<T>, Option<String>), ()> {
    let start = match next_token {
        None => 0,
        Some(t) => t.strip_prefix("pos-").and_then(|n| n.parse::<usize>().ok()).filter(|n| *n <= all.len()).ok_or(())?,
    };
    let limit = max_results.and_then(|m| usize::try_from(m).ok()).unwrap_or(default_size).max(1);
    let end = start.saturating_add(limit).min(all.len());
    let next = (end < all.len()).then(|| format!("pos-{end}"));
    Ok((all.into_iter().skip(start).take(end - start).collect(), next))
}
