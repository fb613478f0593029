//! The manifest: which rows a seal covers, so a verifier can name the row that was changed,
//! removed or inserted rather than only the seal whose chain broke.
//!
//! For each row, in id order: its id (8 bytes, big-endian) and the first 8 bytes of its digest,
//! stored as unpadded base64url. The signature covers the SHA-256 of these bytes, and the full
//! digests are bound by the chain `head`, so the short prefixes only locate a change; they are not
//! what makes it evident.

use std::fmt;

use ct_codecs::{Base64UrlSafeNoPadding, Decoder, Encoder};

use crate::seal::Hash;

/// Bytes of each row's digest that the manifest keeps.
const PREFIX: usize = 8;
const ENTRY: usize = 8 + PREFIX;

/// One row of a manifest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The row's id.
    pub id: i64,
    prefix: [u8; PREFIX],
}

impl Entry {
    /// Whether a row with this digest is the one sealed.
    pub fn matches(&self, digest: &Hash) -> bool {
        digest.as_bytes()[..PREFIX] == self.prefix
    }
}

/// The rows of one seal, in id order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    entries: Vec<Entry>,
}

/// A stored manifest that is not unpadded base64url of whole entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidManifest;

impl fmt::Display for InvalidManifest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a manifest of whole entries in base64url")
    }
}

impl std::error::Error for InvalidManifest {}

impl Manifest {
    /// Adds the next row.
    pub fn push(&mut self, id: i64, digest: &Hash) {
        let mut prefix = [0u8; PREFIX];
        prefix.copy_from_slice(&digest.as_bytes()[..PREFIX]);
        self.entries.push(Entry { id, prefix });
    }

    /// The entries, in id order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry for `id`, if the seal covers such a row.
    pub fn get(&self, id: i64) -> Option<&Entry> {
        self.entries
            .binary_search_by_key(&id, |e| e.id)
            .ok()
            .map(|i| &self.entries[i])
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it lists no rows.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.entries.len() * ENTRY);
        for entry in &self.entries {
            bytes.extend_from_slice(&entry.id.to_be_bytes());
            bytes.extend_from_slice(&entry.prefix);
        }
        bytes
    }

    /// The SHA-256 of the manifest's bytes, which the seal's signature covers.
    pub fn digest(&self) -> Hash {
        Hash::of(&self.bytes())
    }

    /// The stored form: unpadded base64url.
    pub fn to_text(&self) -> String {
        // Encoding into a buffer of the computed length cannot fail.
        Base64UrlSafeNoPadding::encode_to_string(self.bytes()).unwrap_or_default()
    }

    /// Reads the stored form. Entries must be in strictly increasing id order.
    pub fn from_text(text: &str) -> Result<Self, InvalidManifest> {
        let bytes =
            Base64UrlSafeNoPadding::decode_to_vec(text, None).map_err(|_| InvalidManifest)?;
        if bytes.len() % ENTRY != 0 {
            return Err(InvalidManifest);
        }
        let mut entries = Vec::with_capacity(bytes.len() / ENTRY);
        for chunk in bytes.chunks_exact(ENTRY) {
            let (id, prefix) = chunk.split_at(8);
            let id = i64::from_be_bytes(id.try_into().map_err(|_| InvalidManifest)?);
            let prefix = prefix.try_into().map_err(|_| InvalidManifest)?;
            if entries.last().is_some_and(|last: &Entry| last.id >= id) {
                return Err(InvalidManifest);
            }
            entries.push(Entry { id, prefix });
        }
        Ok(Self { entries })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_locates_rows() {
        let mut manifest = Manifest::default();
        manifest.push(3, &Hash::of(b"three"));
        manifest.push(5, &Hash::of(b"five"));
        let text = manifest.to_text();
        assert_eq!(text.len(), (2 * ENTRY * 4).div_ceil(3));
        let read = Manifest::from_text(&text).unwrap();
        assert_eq!(read, manifest);
        assert_eq!(read.digest(), manifest.digest());
        assert!(read.get(3).unwrap().matches(&Hash::of(b"three")));
        assert!(!read.get(5).unwrap().matches(&Hash::of(b"three")));
        assert!(read.get(4).is_none());
        assert_eq!(Manifest::from_text("").unwrap(), Manifest::default());
    }

    #[test]
    fn refuses_what_it_did_not_write() {
        let mut manifest = Manifest::default();
        manifest.push(5, &Hash::of(b"five"));
        manifest.push(3, &Hash::of(b"three"));
        assert_eq!(
            Manifest::from_text(&manifest.to_text()),
            Err(InvalidManifest),
            "out of order"
        );
        assert!(Manifest::from_text("AAAA").is_err(), "not whole entries");
        assert!(Manifest::from_text("a+b/").is_err(), "not base64url");
    }
}
