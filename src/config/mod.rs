//! The gatekeeper's settings, read once and validated completely before any request is served.
//!
//! Settings come from wrangler.toml `[vars]` and from `wrangler secret put` (the credentials).
//! docs/configuration.md lists them; each error names the exact setting and entry at fault.

mod acl;
mod error;
mod keys;
mod quorum;

pub use error::{ConfigError, Problem};

use crate::acl::Acl;
use crate::grant::{KeyRing, Policy, Quorum};
use crate::s3::{Addressing, Bucket, Credentials, Endpoint};

/// Every setting, parsed.
#[derive(Clone, Debug)]
pub struct Config {
    /// `GATEKEEPER_ID`: this gatekeeper's identity, which grants must name as their audience.
    pub id: String,
    /// `S3_ENDPOINT`: defaults to Amazon S3 in the region.
    pub endpoint: Endpoint,
    /// `S3_REGION`.
    pub region: String,
    /// `S3_BUCKET`.
    pub bucket: Bucket,
    /// `S3_ADDRESSING`: `virtual` (default) or `path`.
    pub addressing: Addressing,
    /// `S3_KEY_ROOT`: a folder every key is placed under, or empty.
    pub key_root: String,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` (secrets).
    pub credentials: Credentials,
    /// `VENDOR_KEYS`.
    pub keys: KeyRing,
    /// `GRANT_MAX_LIFETIME_SECONDS` (default 900) and `GRANT_CLOCK_SKEW_SECONDS` (default 60).
    pub policy: Policy,
    /// `MULTISIG`: operations that need several signatures.
    pub quorums: Vec<Quorum>,
    /// `ACL`.
    pub acl: Acl,
}

impl Config {
    /// Reads every setting through `get`, which returns a setting's value or `None` when unset.
    /// An empty value counts as unset.
    ///
    /// ```
    /// use s3_gatekeeper::Config;
    ///
    /// let err = Config::from_settings(|name| match name {
    ///     "GATEKEEPER_ID" => Some("acme-prod".to_owned()),
    ///     "S3_REGION" => Some("eu-west-1".to_owned()),
    ///     "S3_BUCKET" => Some("Acme_Reports".to_owned()),
    ///     _ => None,
    /// })
    /// .unwrap_err();
    /// assert_eq!(err.setting(), "S3_BUCKET");
    /// assert!(err.to_string().starts_with("S3_BUCKET: not a valid S3 bucket name"));
    /// ```
    pub fn from_settings(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let required =
            |name: &'static str| get(name).ok_or(ConfigError::new(name, Problem::Missing));

        let id = required("GATEKEEPER_ID")?;
        if id.len() > 128 || !id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConfigError::new("GATEKEEPER_ID", Problem::Text));
        }
        let region = required("S3_REGION")?;
        let region_ok = region.len() <= 32
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !region_ok {
            return Err(ConfigError::new("S3_REGION", Problem::Region));
        }
        let endpoint = match get("S3_ENDPOINT") {
            Some(url) => url.parse(),
            None => Endpoint::amazon(&region),
        }
        .map_err(|e| ConfigError::new("S3_ENDPOINT", Problem::Endpoint(e)))?;
        let bucket = required("S3_BUCKET")?
            .parse()
            .map_err(|e| ConfigError::new("S3_BUCKET", Problem::Bucket(e)))?;
        let addressing = get("S3_ADDRESSING")
            .map_or(Ok(Addressing::default()), |s| s.parse())
            .map_err(|()| {
                ConfigError::new("S3_ADDRESSING", Problem::OneOf(&["virtual", "path"]))
            })?;
        let key_root = get("S3_KEY_ROOT").unwrap_or_default();
        if key_root.len() > 512 || key_root.chars().any(char::is_control) {
            return Err(ConfigError::new("S3_KEY_ROOT", Problem::Text));
        }
        let credentials = Credentials::new(
            required("AWS_ACCESS_KEY_ID")?,
            required("AWS_SECRET_ACCESS_KEY")?,
            get("AWS_SESSION_TOKEN"),
        );
        let keys = keys::parse(get("VENDOR_KEYS").as_deref())?;
        let policy = Policy {
            max_lifetime: number(
                get("GRANT_MAX_LIFETIME_SECONDS"),
                "GRANT_MAX_LIFETIME_SECONDS",
                900,
                1,
                86_400,
            )?,
            clock_skew: number(
                get("GRANT_CLOCK_SKEW_SECONDS"),
                "GRANT_CLOCK_SKEW_SECONDS",
                60,
                0,
                600,
            )?,
        };
        let quorums = quorum::parse(get("MULTISIG").as_deref(), &keys)?;
        let acl = acl::parse(get("ACL").as_deref())?;
        Ok(Self {
            id,
            endpoint,
            region,
            bucket,
            addressing,
            key_root,
            credentials,
            keys,
            policy,
            quorums,
            acl,
        })
    }
}

fn number(
    value: Option<String>,
    setting: &'static str,
    default: u32,
    min: u32,
    max: u32,
) -> Result<u32, ConfigError> {
    let Some(value) = value else {
        return Ok(default);
    };
    value
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or(ConfigError::new(
            setting,
            Problem::Number {
                min: min.into(),
                max: max.into(),
            },
        ))
}
