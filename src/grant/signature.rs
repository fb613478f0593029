//! The Ed25519 check of a grant's signature, the one step of a decision that the core lets its
//! host carry out.
//!
//! The core decides synchronously and does no I/O. The Workers runtime has a native Ed25519
//! (`WebCrypto`) several times faster than the same check compiled to wasm, but it answers
//! asynchronously; so the check sits behind [`SignatureCheck`]. [`Ed25519`] is the core's own
//! implementation (ed25519-compact), used by the tests and the CLI and wherever the host offers
//! nothing else; the Worker answers from checks the runtime made before the decision.

/// One Ed25519 signature to check: the signer's public key, the signed message (for a grant,
/// PASETO's pre-authentication encoding of the token), and the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signed<'a> {
    /// The 32-byte public key the signature must verify under.
    pub key: &'a [u8; 32],
    /// The exact bytes that were signed.
    pub message: &'a [u8],
    /// The 64-byte signature.
    pub signature: &'a [u8; 64],
}

/// Answers whether a signature is genuine. An implementation that cannot tell must answer
/// `false`: the grant is then refused.
pub trait SignatureCheck {
    /// Whether `signed.signature` is `signed.key`'s Ed25519 signature of `signed.message`.
    fn verifies(&self, signed: &Signed<'_>) -> bool;
}

/// Ed25519 in the core itself (ed25519-compact, as pasetors uses it).
#[derive(Debug, Clone, Copy, Default)]
pub struct Ed25519;

impl SignatureCheck for Ed25519 {
    fn verifies(&self, signed: &Signed<'_>) -> bool {
        let key = ed25519_compact::PublicKey::new(*signed.key);
        key.verify(
            signed.message,
            &ed25519_compact::Signature::new(*signed.signature),
        )
        .is_ok()
    }
}

/// PASETO's pre-authentication encoding (PAE) of `pieces`: their count, then each one's length
/// and bytes, lengths as 64-bit little-endian integers.
pub(crate) fn pae(pieces: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + pieces.iter().map(|p| 8 + p.len()).sum::<usize>());
    // usize is at most 64 bits on every target, so the lengths convert exactly.
    out.extend_from_slice(&(pieces.len() as u64).to_le_bytes());
    for piece in pieces {
        out.extend_from_slice(&(piece.len() as u64).to_le_bytes());
        out.extend_from_slice(piece);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_specification() {
        // The examples of the PASETO specification's PAE section.
        assert_eq!(pae(&[]), [0u8; 8]);
        assert_eq!(
            pae(&[b""]),
            [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        let mut want = vec![1, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0];
        want.extend_from_slice(b"test");
        assert_eq!(pae(&[b"test"]), want);
    }
}
