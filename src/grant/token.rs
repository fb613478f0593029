//! The PASETO `v4.public` token layer: format, footer and signature, nothing about claims.

use pasetors::Public;
use pasetors::token::UntrustedToken;
use pasetors::version4::{PublicToken, V4};

use crate::grant::error::Kind;
use crate::grant::signature::{SignatureCheck, Signed, pae};
use crate::grant::{GrantError, PublicKey, SigningKey};

/// The longest token the gatekeeper will look at. Real grants are a few hundred bytes; the bound
/// keeps a hostile header from costing more than a length check.
pub const MAX_TOKEN_LEN: usize = 4096;

/// A token whose format has been checked but whose signature has not.
#[derive(Debug)]
pub struct Untrusted(UntrustedToken<Public, V4>);

impl Untrusted {
    /// Checks the length and format: `v4.public.`, then base64url (no padding) of a payload with
    /// its 64-byte signature, then optionally a base64url footer; nothing else. No signature work
    /// is done, so this is cheap enough to run on any input.
    pub fn parse(token: &str) -> Result<Self, GrantError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(GrantError::new(Kind::TooLong));
        }
        UntrustedToken::<Public, V4>::try_from(token)
            .map(Self)
            .map_err(|_| GrantError::new(Kind::Malformed))
    }

    /// The footer, unauthenticated until [`Untrusted::open`] succeeds.
    pub fn footer(&self) -> &[u8] {
        self.0.untrusted_footer()
    }

    /// The payload as it stands, before the signature is checked: for diagnostics only, never
    /// for a decision.
    pub fn unverified_payload(&self) -> &[u8] {
        self.0.untrusted_payload()
    }

    /// Verifies the signature under `key` with `check`, binding the footer and `implicit`
    /// assertion, and returns the payload.
    ///
    /// The signed message is PASETO's `PAE("v4.public.", payload, footer, implicit)`, as in
    /// pasetors' own `PublicToken::verify`, which `tests` compares this with; the payload must
    /// be UTF-8, as pasetors requires.
    pub fn open(
        &self,
        key: &PublicKey,
        implicit: &[u8],
        check: &dyn SignatureCheck,
    ) -> Result<String, GrantError> {
        let bad = || GrantError::new(Kind::BadSignature);
        let payload = self.0.untrusted_payload();
        let signature: &[u8; 64] = self
            .0
            .untrusted_message()
            .get(payload.len()..)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(bad)?;
        let key: &[u8; 32] = key.inner.as_bytes().try_into().map_err(|_| bad())?;
        let message = pae(&[
            PublicToken::HEADER.as_bytes(),
            payload,
            self.footer(),
            implicit,
        ]);
        if !check.verifies(&Signed {
            key,
            message: &message,
            signature,
        }) {
            return Err(bad());
        }
        String::from_utf8(payload.to_vec()).map_err(|_| bad())
    }
}

/// Signs `payload` as a `v4.public` token with `footer` and `implicit` assertion.
pub fn seal(
    key: &SigningKey,
    payload: &[u8],
    footer: &[u8],
    implicit: &[u8],
) -> Result<String, GrantError> {
    let footer = (!footer.is_empty()).then_some(footer);
    PublicToken::sign(&key.secret, payload, footer, Some(implicit))
        .map_err(|_| GrantError::new(Kind::Malformed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grant::Ed25519;

    /// Answers every check the same way.
    struct Always(bool);

    impl SignatureCheck for Always {
        fn verifies(&self, _: &Signed<'_>) -> bool {
            self.0
        }
    }

    fn key() -> SigningKey {
        SigningKey::from_seed([7; 32]).unwrap()
    }

    /// Every way of changing a genuine token (each byte of its signed part, its footer) gives
    /// the same answer here as in pasetors' own verification, which this replaced.
    #[test]
    fn opens_exactly_what_pasetors_verifies() {
        let signing = key();
        let public = signing.public_key().clone();
        let token = seal(&signing, br#"{"sub":"a"}"#, br#"{"kid":"k"}"#, b"").unwrap();
        let mut variants = vec![token.clone()];
        for at in "v4.public.".len()..token.len() {
            for replacement in ['A', 'B', '_', 'x'] {
                let mut changed = token.clone();
                if changed.as_bytes()[at] != replacement as u8 && changed.is_char_boundary(at) {
                    changed.replace_range(at..=at, &replacement.to_string());
                    variants.push(changed);
                }
            }
        }
        let mut genuine = 0;
        for variant in &variants {
            let Ok(untrusted) = Untrusted::parse(variant) else {
                continue;
            };
            let ours = untrusted.open(&public, b"", &Ed25519).ok();
            let theirs = PublicToken::verify(&public.inner, &untrusted.0, None, Some(b""))
                .ok()
                .map(|t| t.payload().to_owned());
            assert_eq!(ours, theirs, "{variant}");
            genuine += usize::from(ours.is_some());
        }
        // The genuine token, and any change that decodes to the same bytes, and nothing else.
        assert!(genuine >= 1);
        assert!(variants.len() > 100);
        // The implicit assertion is bound too.
        let untrusted = Untrusted::parse(&token).unwrap();
        assert!(untrusted.open(&public, b"other", &Ed25519).is_err());
    }

    #[test]
    fn a_check_that_answers_no_refuses_a_genuine_token() {
        let signing = key();
        let token = seal(&signing, br#"{"sub":"a"}"#, br#"{"kid":"k"}"#, b"").unwrap();
        let untrusted = Untrusted::parse(&token).unwrap();
        assert!(
            untrusted
                .open(signing.public_key(), b"", &Always(true))
                .is_ok()
        );
        assert_eq!(
            untrusted
                .open(signing.public_key(), b"", &Always(false))
                .unwrap_err(),
            GrantError::new(Kind::BadSignature)
        );
    }
}
