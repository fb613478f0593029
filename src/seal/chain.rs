//! The hash chain: each link is the SHA-256 of the link before it and the next row's digest, and
//! a seal's chain starts from the previous seal's hash, so one chain runs through every seal.

use std::fmt;
use std::str::FromStr;

use ct_codecs::{Decoder, Encoder, Hex};
use sha2::{Digest as _, Sha256};

/// A SHA-256 value, written as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hash([u8; 32]);

impl Hash {
    /// The `prev` of the first seal.
    pub const ZERO: Self = Self([0; 32]);

    /// The SHA-256 of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 64];
        let hex = Hex::encode_to_str(&mut buf, self.0).map_err(|_| fmt::Error)?;
        f.write_str(hex)
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({self})")
    }
}

/// Not 64 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidHash;

impl fmt::Display for InvalidHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a SHA-256 value in hex")
    }
}

impl std::error::Error for InvalidHash {}

impl FromStr for Hash {
    type Err = InvalidHash;

    fn from_str(s: &str) -> Result<Self, InvalidHash> {
        let mut bytes = [0u8; 32];
        match Hex::decode(&mut bytes, s, None) {
            Ok(decoded) if decoded.len() == 32 => Ok(Self(bytes)),
            _ => Err(InvalidHash),
        }
    }
}

/// A chain being extended, one row digest at a time.
#[derive(Clone, Debug)]
pub struct Chain {
    link: Hash,
}

impl Chain {
    /// A chain that continues from `prev`, the previous seal's hash.
    pub fn new(prev: Hash) -> Self {
        Self { link: prev }
    }

    /// Appends a row: the new link is SHA-256(link ‖ digest).
    pub fn push(&mut self, digest: &Hash) {
        let mut hasher = Sha256::new();
        hasher.update(self.link.0);
        hasher.update(digest.0);
        self.link = Self::finish(hasher);
    }

    fn finish(hasher: Sha256) -> Hash {
        Hash(hasher.finalize().into())
    }

    /// The last link: the seal's `head`.
    pub fn head(&self) -> Hash {
        self.link
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_is_strict() {
        let hash = Hash::of(b"abc");
        assert_eq!(
            hash.to_string(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(hash.to_string().parse::<Hash>(), Ok(hash));
        assert!("ba78".parse::<Hash>().is_err());
        assert!("zz".repeat(32).parse::<Hash>().is_err());
        assert!(format!("{hash}00").parse::<Hash>().is_err());
    }

    #[test]
    fn a_link_hashes_the_previous_link_and_the_digest() {
        let digest = Hash::of(b"row");
        let mut chain = Chain::new(Hash::ZERO);
        chain.push(&digest);
        let mut input = [0u8; 64];
        input[32..].copy_from_slice(digest.as_bytes());
        assert_eq!(chain.head(), Hash::of(&input));
        assert_eq!(
            Chain::new(Hash::ZERO).head(),
            Hash::ZERO,
            "no rows: head = prev"
        );
    }
}
