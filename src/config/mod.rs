//! The gatekeeper's settings, read once and validated completely before any request is served.
//!
//! Settings come from wrangler.toml `[vars]` and from `wrangler secret put` (the credentials).
//! docs/configuration.md lists them; each error names the exact setting and entry at fault.

mod acl;
mod error;
mod keys;
mod quorum;
mod values;

pub use error::{ConfigError, Problem};

use crate::acl::Acl;
use crate::cors::Cors;
use crate::grant::{KeyRing, Policy, Quorum, SigningKey};
use crate::s3::{Addressing, Bucket, Credentials, Encryption, Endpoint};
use crate::upload::S3_MAX_PUT_BYTES;
use crate::{health, seal};

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
    /// `S3_KEY_ROOT`: a folder (ending in `/`) every key is placed under, or empty.
    pub key_root: String,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` (secrets).
    pub credentials: Credentials,
    /// `VENDOR_KEYS`.
    pub keys: KeyRing,
    /// `GRANT_MAX_LIFETIME_SECONDS` (default 900) and `GRANT_CLOCK_SKEW_SECONDS` (default 60).
    pub policy: Policy,
    /// `S3_SSE` (`AES256` default, `aws:kms`, `bucket-default`) and `S3_SSE_KMS_KEY_ID`.
    pub encryption: Encryption,
    /// `MAX_UPLOAD_BYTES`: the largest upload (default and most: 5 GiB, S3's single-PUT limit).
    pub max_upload_bytes: u64,
    /// `UPSTREAM_TIMEOUT_SECONDS`: how long to wait for S3's reply headers (default 30).
    pub upstream_timeout: u32,
    /// `DELETE_ENABLED`: whether grants may delete objects at all (default `false`).
    pub delete_enabled: bool,
    /// `MULTISIG`: operations that need several signatures.
    pub quorums: Vec<Quorum>,
    /// `ACL`.
    pub acl: Acl,
    /// `ALLOWED_ORIGINS`: the vendor's web origins, which may call the gatekeeper from a page.
    pub cors: Cors,
    /// `AUDIT_SEAL_KEY` (secret): the gatekeeper's own Ed25519 key, which signs the audit seals.
    /// Required: an audit log that is not sealed could be rewritten without a trace.
    pub seal_key: SigningKey,
    /// `AUDIT_SEAL_GRACE_SECONDS` (default 900) and `AUDIT_RETENTION_DAYS` (default 180).
    pub seal_policy: seal::Policy,
    /// `AUDIT_SIZE_BUDGET_MB` (default 8000), and whether `AUDIT_ARCHIVE_BUCKET` is set: what
    /// `GET /health` checks against.
    pub health: health::Limits,
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

        let id = values::token(required("GATEKEEPER_ID")?, "GATEKEEPER_ID", 128)?;
        let region = values::region(required("S3_REGION")?)?;
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
        // Keys are appended to the root as they are, so a root without its slash confines
        // nothing: `tenant-7` and the key `0/x` make `tenant-70/x`.
        if !key_root.is_empty() && !key_root.ends_with('/') {
            return Err(ConfigError::new("S3_KEY_ROOT", Problem::NotAFolder));
        }
        let credentials = Credentials::new(
            required("AWS_ACCESS_KEY_ID")?,
            required("AWS_SECRET_ACCESS_KEY")?,
            get("AWS_SESSION_TOKEN"),
        );
        let keys = keys::parse(get("VENDOR_KEYS").as_deref())?;
        let lifetime = "GRANT_MAX_LIFETIME_SECONDS";
        let skew = "GRANT_CLOCK_SKEW_SECONDS";
        let policy = Policy {
            max_lifetime: values::small_number(get(lifetime), lifetime, 900, 1, 86_400)?,
            clock_skew: values::small_number(get(skew), skew, 60, 0, 600)?,
        };
        let encryption = values::encryption(get("S3_SSE"), get("S3_SSE_KMS_KEY_ID"))?;
        let max_upload = "MAX_UPLOAD_BYTES";
        let max_upload_bytes = values::number(
            get(max_upload),
            max_upload,
            S3_MAX_PUT_BYTES,
            1,
            S3_MAX_PUT_BYTES,
        )?;
        let timeout = "UPSTREAM_TIMEOUT_SECONDS";
        let upstream_timeout = values::small_number(get(timeout), timeout, 30, 1, 300)?;
        let delete_enabled = values::flag(get("DELETE_ENABLED").as_deref(), "DELETE_ENABLED")?;
        let quorums = quorum::parse(get("MULTISIG").as_deref(), &keys)?;
        let acl = acl::parse(get("ACL").as_deref())?;
        let cors = values::origins(get("ALLOWED_ORIGINS").as_deref())?;
        let seal_key = required("AUDIT_SEAL_KEY")?
            .parse()
            .map_err(|e| ConfigError::new("AUDIT_SEAL_KEY", Problem::SecretKey(e)))?;
        let grace = "AUDIT_SEAL_GRACE_SECONDS";
        let retention = "AUDIT_RETENTION_DAYS";
        let defaults = seal::Policy::default();
        let seal_policy = seal::Policy {
            grace_seconds: values::small_number(
                get(grace),
                grace,
                defaults.grace_seconds,
                0,
                86_400,
            )?,
            retention_days: values::small_number(
                get(retention),
                retention,
                defaults.retention_days,
                1,
                36_500,
            )?,
        };
        let health = values::health(
            get("AUDIT_SIZE_BUDGET_MB"),
            get("AUDIT_ARCHIVE_BUCKET").is_some(),
        )?;
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
            encryption,
            max_upload_bytes,
            upstream_timeout,
            delete_enabled,
            quorums,
            acl,
            cors,
            seal_key,
            seal_policy,
            health,
        })
    }
}
