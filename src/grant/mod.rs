//! Vendor grants: the first signature of the multisig.
//!
//! A grant is a PASETO `v4.public` token (Ed25519) that the vendor's server mints for a user who
//! has signed in, naming one operation on one key (or one prefix to list), for one gatekeeper, for
//! a few minutes. Its footer carries `{"kid":"k4.pid.…"}`, the PASERK id of the signing key.
//! docs/grants.md describes the format for vendors.

mod claims;
mod error;
mod key;
mod keyring;
mod mint;
mod quorum;
pub mod signature;
mod time;
pub mod token;
mod verify;

pub use claims::Claims;
pub use error::GrantError;
pub use key::{InvalidPublicKey, InvalidSecretKey, PublicKey, SigningKey};
pub use keyring::{KeyRing, TrustedKey};
pub use quorum::Quorum;
pub use signature::{Ed25519, SignatureCheck, Signed};
pub use time::format as format_time;
pub use token::MAX_TOKEN_LEN;
pub use verify::{Grant, MAX_GRANTS, Policy, Refusal, Scope, Verifier};

pub(crate) use time::parse as parse_time;
