//! The gatekeeper's settings, read once and validated completely before any request is served.
//!
//! Settings come from wrangler.toml `[vars]` and from `wrangler secret put` (the credentials).
//! docs/configuration.md lists them; each error names the exact setting and entry at fault.

mod acl;
mod error;
mod keys;
mod links;
mod quorum;
mod values;

pub use error::{ConfigError, Problem};
pub use links::DEFAULT_LIFETIME as DEFAULT_URL_GRANT_LIFETIME;

use crate::acl::Acl;
use crate::archive;
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
    /// `MULTIPART_PART_MAX_MB`: the largest part of an upload in parts, in MiB (default 90, under
    /// the 100 MB request body limit of Cloudflare's Free and Pro plans; 5 to 5120).
    pub multipart_part_max_bytes: u64,
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
    /// `AUDIT_SEAL_GRACE_SECONDS` (default 900) and `AUDIT_RETENTION_DAYS` (default 180), or,
    /// when archiving is on, `AUDIT_HOT_DAYS` (default 30) as the retention period.
    pub seal_policy: seal::Policy,
    /// `GRANT_IN_QUERY` (`on` or `off`, default `off`) and `GRANT_IN_QUERY_MAX_LIFETIME_SECONDS`:
    /// the longest a grant in the URL may live, or `None` when grants in the URL are refused.
    pub url_grant_lifetime: Option<u32>,
    /// `AUDIT_ARCHIVE_BUCKET`, `AUDIT_ARCHIVE_PREFIX` (default `audit/`) and the archive
    /// credentials: where sealed periods are archived; `None` (archiving off) when the bucket is
    /// unset.
    pub archive: Option<archive::Target>,
    /// `AUDIT_SIZE_BUDGET_MB` (default 8000): past this size, the oldest archived rows leave D1.
    pub size_budget_mb: u32,
    /// What `GET /health` checks against: `AUDIT_SIZE_BUDGET_MB` and whether archiving is on.
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
        let key_root = key_root(get("S3_KEY_ROOT").unwrap_or_default())?;
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
        let url_grant_lifetime = links::parse(
            get("GRANT_IN_QUERY").as_deref(),
            get("GRANT_IN_QUERY_MAX_LIFETIME_SECONDS"),
            policy.max_lifetime,
        )?;
        let encryption = values::encryption(get("S3_SSE"), get("S3_SSE_KMS_KEY_ID"))?;
        let max_upload = "MAX_UPLOAD_BYTES";
        let max_upload_bytes = values::number(
            get(max_upload),
            max_upload,
            S3_MAX_PUT_BYTES,
            1,
            S3_MAX_PUT_BYTES,
        )?;
        let part_max = "MULTIPART_PART_MAX_MB";
        let multipart_part_max_bytes =
            u64::from(values::small_number(get(part_max), part_max, 90, 5, 5120)?) * 1024 * 1024;
        let timeout = "UPSTREAM_TIMEOUT_SECONDS";
        let upstream_timeout = values::small_number(get(timeout), timeout, 30, 1, 300)?;
        let delete_enabled = values::flag(get("DELETE_ENABLED").as_deref(), "DELETE_ENABLED")?;
        let quorums = quorum::parse(get("MULTISIG").as_deref(), &keys)?;
        let acl = acl::parse(get("ACL").as_deref())?;
        let cors = values::origins(get("ALLOWED_ORIGINS").as_deref())?;
        let seal_key = required("AUDIT_SEAL_KEY")?
            .parse()
            .map_err(|e| ConfigError::new("AUDIT_SEAL_KEY", Problem::SecretKey(e)))?;
        let (archive, hot_days, size_budget_mb) = storage(&get, &credentials, &bucket, &key_root)?;
        let mut seal_policy = seal_policy(&get)?;
        // With an archive, D1 keeps only the hot period; the archive keeps the rest.
        if archive.is_some() {
            seal_policy.retention_days = hot_days;
        }
        let health = health::Limits {
            budget: crate::budget::SizeBudget::from_mb(size_budget_mb),
            archiving: archive.is_some(),
        };
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
            multipart_part_max_bytes,
            upstream_timeout,
            delete_enabled,
            quorums,
            acl,
            cors,
            seal_key,
            seal_policy,
            url_grant_lifetime,
            archive,
            size_budget_mb,
            health,
        })
    }
}

/// The key root: a folder (ending in `/`) or empty. Keys are appended to it as they are, so a
/// root without its slash confines nothing: `tenant-7` and the key `0/x` make `tenant-70/x`.
fn key_root(root: String) -> Result<String, ConfigError> {
    if root.len() > 512 || root.chars().any(char::is_control) {
        return Err(ConfigError::new("S3_KEY_ROOT", Problem::Text));
    }
    if !root.is_empty() && !root.ends_with('/') {
        return Err(ConfigError::new("S3_KEY_ROOT", Problem::NotAFolder));
    }
    Ok(root)
}

/// When the cron seals and how long sealed rows stay.
fn seal_policy(get: &impl Fn(&str) -> Option<String>) -> Result<seal::Policy, ConfigError> {
    let grace = "AUDIT_SEAL_GRACE_SECONDS";
    let retention = "AUDIT_RETENTION_DAYS";
    let defaults = seal::Policy::default();
    Ok(seal::Policy {
        grace_seconds: values::small_number(get(grace), grace, defaults.grace_seconds, 0, 86_400)?,
        retention_days: values::small_number(
            get(retention),
            retention,
            defaults.retention_days,
            1,
            36_500,
        )?,
    })
}

/// The archive (if `AUDIT_ARCHIVE_BUCKET` is set), `AUDIT_HOT_DAYS` (default 30) and
/// `AUDIT_SIZE_BUDGET_MB` (default 8000).
fn storage(
    get: &impl Fn(&str) -> Option<String>,
    main: &Credentials,
    bucket: &Bucket,
    key_root: &str,
) -> Result<(Option<archive::Target>, u32, u32), ConfigError> {
    let archive = archive_target(get, main)?;
    if let Some(target) = &archive {
        reachable(target, bucket, key_root)?;
    }
    let hot = "AUDIT_HOT_DAYS";
    let hot_days = values::small_number(get(hot), hot, 30, 1, 36_500)?;
    let budget = "AUDIT_SIZE_BUDGET_MB";
    let size_budget_mb = values::small_number(
        get(budget),
        budget,
        crate::budget::SizeBudget::DEFAULT_MB,
        0,
        10_000,
    )?;
    Ok((archive, hot_days, size_budget_mb))
}

/// Refuses an archive that grants could reach: in the gatekeeper's own bucket, with a prefix
/// inside the keys grants name (every key sits under `S3_KEY_ROOT`) or containing them. Grants
/// could then read, overwrite or delete archived objects through the gatekeeper.
fn reachable(target: &archive::Target, bucket: &Bucket, key_root: &str) -> Result<(), ConfigError> {
    let overlaps =
        target.prefix.starts_with(key_root) || key_root.starts_with(target.prefix.as_str());
    if target.bucket.as_str() == bucket.as_str() && overlaps {
        return Err(ConfigError::new(
            "AUDIT_ARCHIVE_PREFIX",
            Problem::ReachableByGrants,
        ));
    }
    Ok(())
}

/// The archive settings, if `AUDIT_ARCHIVE_BUCKET` is set. The archive credentials come as a
/// pair, or not at all (then the main ones are used).
fn archive_target(
    get: &impl Fn(&str) -> Option<String>,
    main: &Credentials,
) -> Result<Option<archive::Target>, ConfigError> {
    let Some(bucket) = get("AUDIT_ARCHIVE_BUCKET") else {
        return Ok(None);
    };
    let bucket = bucket
        .parse()
        .map_err(|e| ConfigError::new("AUDIT_ARCHIVE_BUCKET", Problem::Bucket(e)))?;
    let prefix = get("AUDIT_ARCHIVE_PREFIX").unwrap_or_else(|| "audit/".to_owned());
    let prefix = archive::Target::prefix(&prefix).map_err(|_| {
        let problem = if prefix.chars().any(char::is_control) || prefix.len() > 512 {
            Problem::Text
        } else {
            Problem::NotAFolder
        };
        ConfigError::new("AUDIT_ARCHIVE_PREFIX", problem)
    })?;
    let credentials = match (
        get("AUDIT_ARCHIVE_ACCESS_KEY_ID"),
        get("AUDIT_ARCHIVE_SECRET_ACCESS_KEY"),
    ) {
        (Some(id), Some(secret)) => Credentials::new(id, secret, None),
        (None, None) => main.clone(),
        (Some(_), None) => {
            return Err(ConfigError::new(
                "AUDIT_ARCHIVE_SECRET_ACCESS_KEY",
                Problem::Missing,
            ));
        }
        (None, Some(_)) => {
            return Err(ConfigError::new(
                "AUDIT_ARCHIVE_ACCESS_KEY_ID",
                Problem::Missing,
            ));
        }
    };
    Ok(Some(archive::Target {
        bucket,
        prefix,
        credentials,
    }))
}
