//! A configuration that cannot be used, and exactly where.

use std::fmt;

use crate::acl::InvalidCountry;
use crate::cors::InvalidOrigin;
use crate::grant::{InvalidPublicKey, InvalidSecretKey};
use crate::s3::{InvalidBucket, InvalidEndpoint};

/// One setting is missing or wrong. Its `Display` names the setting and, inside a JSON setting,
/// the entry (`ACL: ip.allow[2]: …`); it never prints a setting's value, which may be secret.
#[derive(Debug)]
pub struct ConfigError {
    setting: &'static str,
    entry: Option<String>,
    problem: Problem,
}

/// What is wrong with a setting.
#[derive(Debug)]
#[non_exhaustive]
pub enum Problem {
    /// Required and absent (or empty).
    Missing,
    /// Not valid JSON of the documented shape.
    Json(serde_json::Error),
    /// Not a usable S3 endpoint.
    Endpoint(InvalidEndpoint),
    /// Not a valid bucket name.
    Bucket(InvalidBucket),
    /// Not an AWS region name such as `eu-west-1`.
    Region,
    /// Not one of the values listed.
    OneOf(&'static [&'static str]),
    /// Not a whole number in the range given.
    Number {
        /// The smallest value allowed.
        min: u64,
        /// The largest value allowed.
        max: u64,
    },
    /// Not CIDR notation (`192.0.2.0/24`, `2001:db8::/32`) or a single address.
    Cidr,
    /// A CIDR block with host bits set, such as `10.0.0.1/8`; write `10.0.0.0/8`.
    HostBitsSet,
    /// Not a country code.
    Country(InvalidCountry),
    /// Not a vendor public key.
    PublicKey(InvalidPublicKey),
    /// Not a `k4.secret` key.
    SecretKey(InvalidSecretKey),
    /// Not an RFC 3339 timestamp.
    Timestamp,
    /// Not an operation name.
    Operation,
    /// Not the id of a key in `VENDOR_KEYS`.
    UnknownKey,
    /// Not a web origin.
    Origin(InvalidOrigin),
    /// Only meaningful together with another setting, which is not set that way.
    OnlyWith(&'static str),
    /// Text with characters or a length the setting does not allow.
    Text,
    /// A code Cloudflare uses for callers without a country (`XX`, `T1`), which the field named
    /// here decides.
    NotACountry(&'static str),
    /// The same value listed twice.
    Duplicate,
    /// A folder that does not end with `/`, so it would also match its neighbours
    /// (`tenant-7` is a prefix of `tenant-70/…`).
    NotAFolder,
    /// The audit archive's folder in `S3_BUCKET` overlaps the keys grants can name, so a grant
    /// could read, overwrite or delete the archive.
    ReachableByGrants,
}

impl ConfigError {
    pub(crate) fn new(setting: &'static str, problem: Problem) -> Self {
        Self {
            setting,
            entry: None,
            problem,
        }
    }

    pub(crate) fn at(setting: &'static str, entry: impl Into<String>, problem: Problem) -> Self {
        Self {
            setting,
            entry: Some(entry.into()),
            problem,
        }
    }

    /// The name of the setting at fault, as in wrangler.toml or `wrangler secret put`.
    pub fn setting(&self) -> &'static str {
        self.setting
    }

    /// The entry inside a JSON setting, such as `ip.allow[2]`.
    pub fn entry(&self) -> Option<&str> {
        self.entry.as_deref()
    }

    /// What is wrong.
    pub fn problem(&self) -> &Problem {
        &self.problem
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => f.write_str("required but not set"),
            Self::Json(e) => JsonMistake(e).fmt(f),
            Self::Endpoint(e) => e.fmt(f),
            Self::Bucket(e) => e.fmt(f),
            Self::Region => f.write_str("not an AWS region name such as eu-west-1"),
            Self::OneOf(values) => write!(f, "must be one of: {}", values.join(", ")),
            Self::Number { min, max } => write!(f, "must be a whole number from {min} to {max}"),
            Self::Cidr => f.write_str("not CIDR notation such as 192.0.2.0/24 or 2001:db8::/32"),
            Self::HostBitsSet => f.write_str(
                "host bits are set; give the network address (10.0.0.0/8, not 10.0.0.1/8)",
            ),
            Self::Country(e) => e.fmt(f),
            Self::PublicKey(e) => e.fmt(f),
            Self::SecretKey(e) => e.fmt(f),
            Self::Timestamp => {
                f.write_str("not an RFC 3339 timestamp such as 2026-01-31T00:00:00Z")
            }
            Self::Operation => f.write_str("not one of get, head, put, list, delete"),
            Self::UnknownKey => f.write_str("not the k4.pid of a key in VENDOR_KEYS"),
            Self::Origin(e) => e.fmt(f),
            Self::OnlyWith(other) => write!(f, "only allowed with {other}"),
            Self::Text => f.write_str("contains characters or a length that is not allowed"),
            Self::NotACountry(other) => write!(f, "not a country; use {other}"),
            Self::Duplicate => f.write_str("listed more than once"),
            Self::NotAFolder => f.write_str("must end with / (a folder, such as tenant-7/)"),
            Self::ReachableByGrants => f.write_str(
                "in S3_BUCKET it overlaps the keys grants can name (S3_KEY_ROOT), so a grant could reach the archive; use another bucket, or set S3_KEY_ROOT to a folder the prefix is outside of",
            ),
        }
    }
}

/// `serde_json`'s account of a JSON setting's mistake, without what it quoted from the setting:
/// an operator may have pasted a secret (the seal key instead of a public key, say) into the
/// wrong setting, and it must not reach the log. Syntax errors quote nothing. A data error keeps
/// its kind, the name of an unknown field if that is a plain lower-case word (as field names
/// are, and secrets are not), and what was expected, which comes from the documented shape.
struct JsonMistake<'a>(&'a serde_json::Error);

impl fmt::Display for JsonMistake<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const KINDS: [&str; 6] = [
            "unknown field",
            "unknown variant",
            "invalid type",
            "invalid value",
            "invalid length",
            "missing field",
        ];
        let e = self.0;
        if e.classify() != serde_json::error::Category::Data {
            return write!(f, "not valid JSON: {e}");
        }
        let message = e.to_string();
        let kind = KINDS
            .iter()
            .find(|kind| message.starts_with(*kind))
            .copied()
            .unwrap_or("unexpected content");
        f.write_str("not valid JSON of the documented shape: ")?;
        f.write_str(kind)?;
        let named = message
            .strip_prefix(kind)
            .and_then(|rest| rest.strip_prefix(" `"))
            .and_then(|rest| rest.split_once('`'))
            .map(|(name, _)| name)
            .filter(|name| {
                (1..=32).contains(&name.len())
                    && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            });
        if let Some(name) = named {
            write!(f, " `{name}`")?;
        }
        // The last `, expected` is serde's own: a quoted value may contain the words too.
        if let Some((_, expected)) = message.rsplit_once(", expected ") {
            let expected = expected
                .rsplit_once(" at line ")
                .map_or(expected, |(e, _)| e);
            write!(f, ", expected {expected}")?;
        }
        write!(f, " at line {} column {}", e.line(), e.column())
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.entry {
            Some(entry) => write!(f, "{}: {entry}: {}", self.setting, self.problem),
            None => write!(f, "{}: {}", self.setting, self.problem),
        }
    }
}

impl std::error::Error for ConfigError {}
