//! s3-gatekeeper: the only door to a customer's S3 bucket.
//!
//! Every transaction needs two signatures. The vendor's server signs a short-lived grant
//! ([`grant`]) naming exactly one operation on one key; the gatekeeper checks the caller against
//! the customer's [`acl`], verifies the grant, and only then signs the S3 request with the
//! customer's own credentials ([`s3`]), which S3 verifies. Every transaction, allowed or denied,
//! is recorded ([`audit`]), the record is sealed against tampering ([`seal`]), and each sealed
//! period can be archived to the customer's own S3 ([`archive`]).
//!
//! This crate is the policy core: pure, runtime-agnostic and natively testable. Time comes in as
//! a parameter and nothing here performs I/O. The Cloudflare Worker in `adapter` (compiled for
//! `wasm32` only) reads the request, asks the core, fetches from S3, streams and writes to D1.

pub mod acl;
pub mod archive;
pub mod audit;
pub mod budget;
pub mod config;
pub mod cors;
mod digest;
pub mod disposition;
mod error;
pub mod flood;
mod gatekeeper;
pub mod grant;
pub mod health;
pub mod multipart;
mod operation;
pub mod replay;
pub mod request;
pub mod response;
pub mod s3;
pub mod seal;
pub mod upload;

#[cfg(target_arch = "wasm32")]
mod adapter;

pub use config::Config;
pub use error::Error;
pub use gatekeeper::{Decision, Gatekeeper};
pub use operation::{Operation, UnknownOperation};
pub use s3::ObjectKey;
