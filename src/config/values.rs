//! Parsers for single-valued settings. Each takes the value (`None` when unset) and the
//! setting's name, so its error names the setting.

use crate::config::{ConfigError, Problem};
use crate::cors::{Cors, Origin};
use crate::health;
use crate::s3::Encryption;

/// A whole number in `min..=max`, or `default` when unset.
pub(super) fn number(
    value: Option<String>,
    setting: &'static str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, ConfigError> {
    let Some(value) = value else {
        return Ok(default);
    };
    value
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or(ConfigError::new(setting, Problem::Number { min, max }))
}

/// [`number`] for settings that fit in a `u32`.
pub(super) fn small_number(
    value: Option<String>,
    setting: &'static str,
    default: u32,
    min: u32,
    max: u32,
) -> Result<u32, ConfigError> {
    let n = number(value, setting, default.into(), min.into(), max.into())?;
    // `number` kept n within min..=max, both of which are u32.
    Ok(u32::try_from(n).unwrap_or(max))
}

/// `true` or `false`, or `false` when unset.
pub(super) fn flag(value: Option<&str>, setting: &'static str) -> Result<bool, ConfigError> {
    match value {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(ConfigError::new(
            setting,
            Problem::OneOf(&["true", "false"]),
        )),
    }
}

/// Printable ASCII without spaces, at most `max` bytes.
pub(super) fn token(
    value: String,
    setting: &'static str,
    max: usize,
) -> Result<String, ConfigError> {
    if value.len() <= max && value.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(value)
    } else {
        Err(ConfigError::new(setting, Problem::Text))
    }
}

/// An AWS region name such as `eu-west-1`.
pub(super) fn region(value: String) -> Result<String, ConfigError> {
    let ok = value.len() <= 32
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(value)
    } else {
        Err(ConfigError::new("S3_REGION", Problem::Region))
    }
}

/// `S3_SSE` and `S3_SSE_KMS_KEY_ID` together.
pub(super) fn encryption(
    sse: Option<String>,
    kms_key: Option<String>,
) -> Result<Encryption, ConfigError> {
    let encryption = match sse {
        None => Encryption::default(),
        Some(s) => s.parse().map_err(|()| {
            ConfigError::new(
                "S3_SSE",
                Problem::OneOf(&["AES256", "aws:kms", "bucket-default"]),
            )
        })?,
    };
    match (encryption, kms_key) {
        (Encryption::Kms(None), Some(id)) => http::HeaderValue::try_from(id)
            .map(|id| Encryption::Kms(Some(id)))
            .map_err(|_| ConfigError::new("S3_SSE_KMS_KEY_ID", Problem::Text)),
        (_, Some(_)) => Err(ConfigError::new(
            "S3_SSE_KMS_KEY_ID",
            Problem::OnlyWith("S3_SSE = aws:kms"),
        )),
        (encryption, None) => Ok(encryption),
    }
}

/// `ALLOWED_ORIGINS`: a JSON array (as a `[vars]` array arrives) or a comma-separated list.
pub(super) fn origins(value: Option<&str>) -> Result<Cors, ConfigError> {
    const SETTING: &str = "ALLOWED_ORIGINS";
    let Some(value) = value else {
        return Ok(Cors::default());
    };
    let list: Vec<String> = if value.trim_start().starts_with('[') {
        serde_json::from_str(value).map_err(|e| ConfigError::new(SETTING, Problem::Json(e)))?
    } else {
        value.split(',').map(|s| s.trim().to_owned()).collect()
    };
    list.iter()
        .enumerate()
        .map(|(i, origin)| {
            origin
                .parse::<Origin>()
                .map_err(|e| ConfigError::at(SETTING, format!("[{i}]"), Problem::Origin(e)))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Cors::new)
}

/// `AUDIT_SIZE_BUDGET_MB` (whole megabytes, at most D1's largest database, 10 GB: a larger
/// budget could never be reached), and whether `AUDIT_ARCHIVE_BUCKET` is set: for `GET /health`.
pub(super) fn health(
    budget_mb: Option<String>,
    archiving: bool,
) -> Result<health::Limits, ConfigError> {
    let budget_mb = number(
        budget_mb,
        "AUDIT_SIZE_BUDGET_MB",
        health::DEFAULT_SIZE_BUDGET_MB,
        1,
        10_000,
    )?;
    Ok(health::Limits {
        size_budget_bytes: budget_mb * health::MB,
        archiving,
    })
}
