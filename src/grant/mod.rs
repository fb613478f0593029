//! Vendor grants: the first signature of the multisig.
//!
//! A grant is a PASETO `v4.public` token (Ed25519) that the vendor's server mints for a user who
//! has signed in, naming one operation on one key (or one prefix to list), for one gatekeeper, for
//! a few minutes. Its footer carries `{"kid":"k4.pid.…"}`, the PASERK id of the signing key.
//! docs/grants.md describes the format for vendors.

mod claims;
mod error;
mod keyring;
mod mint;
mod time;
mod verify;

pub use claims::Claims;
pub use error::GrantError;
pub use keyring::{InvalidPublicKey, KeyRing, TrustedKey};
pub use mint::{InvalidSecretKey, MintFailed, SigningKey};
pub use verify::{Grant, MAX_TOKEN_LEN, Policy, Scope, Verifier};

pub use time::format as format_time;
pub(crate) use time::parse as parse_time;
