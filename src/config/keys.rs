//! The `VENDOR_KEYS` setting: the vendor public keys this gatekeeper trusts.

use serde::Deserialize;

use crate::Operation;
use crate::config::{ConfigError, Problem};
use crate::grant::{InvalidPublicKey, KeyRing, PublicKey, TrustedKey, parse_time};

const SETTING: &str = "VENDOR_KEYS";

/// One entry: `{"public": "k4.public.…", "id": "k4.pid.…", "not_before": "…", "not_after": "…",
/// "operations": ["get", …]}`; only `public` is required. `id`, when given, must be the key's own
/// `k4.pid`: it lets an operator see in the configuration which key a grant's `kid` refers to.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    public: String,
    id: Option<String>,
    not_before: Option<String>,
    not_after: Option<String>,
    operations: Option<Vec<String>>,
}

pub(crate) fn parse(json: Option<&str>) -> Result<KeyRing, ConfigError> {
    let json = json.ok_or(ConfigError::new(SETTING, Problem::Missing))?;
    let raw: Vec<Raw> =
        serde_json::from_str(json).map_err(|e| ConfigError::new(SETTING, Problem::Json(e)))?;
    if raw.is_empty() {
        return Err(ConfigError::new(SETTING, Problem::Missing));
    }
    raw.into_iter()
        .enumerate()
        .map(|(i, raw)| key(i, raw))
        .collect::<Result<_, _>>()
        .map(KeyRing::new)
}

fn key(i: usize, raw: Raw) -> Result<TrustedKey, ConfigError> {
    let at = |field: &str, problem| ConfigError::at(SETTING, format!("[{i}].{field}"), problem);
    let public: PublicKey = raw
        .public
        .parse()
        .map_err(|e| at("public", Problem::PublicKey(e)))?;
    let mut key = TrustedKey::new(public);
    if raw.id.is_some_and(|id| id != key.id()) {
        return Err(at("id", Problem::PublicKey(InvalidPublicKey::IdMismatch)));
    }
    let time = |field: &str, value: Option<String>| {
        value
            .map(|v| parse_time(&v).ok_or_else(|| at(field, Problem::Timestamp)))
            .transpose()
    };
    key.not_before = time("not_before", raw.not_before)?;
    key.not_after = time("not_after", raw.not_after)?;
    key.operations = raw
        .operations
        .map(|ops| {
            ops.iter()
                .enumerate()
                .map(|(j, op)| {
                    op.parse::<Operation>()
                        .map_err(|_| at(&format!("operations[{j}]"), Problem::Operation))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    Ok(key)
}
