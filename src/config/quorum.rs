//! The `MULTISIG` setting: which requests need more than one signature.

use serde::Deserialize;

use crate::Operation;
use crate::config::{ConfigError, Problem};
use crate::grant::{KeyRing, MAX_GRANTS, Quorum};

const SETTING: &str = "MULTISIG";

/// One rule: `{"operations": ["put", "delete"], "prefix": "finance/", "signatures": 2,
/// "keys": ["k4.pid.…", "k4.pid.…"]}`. `prefix` defaults to every key, `keys` to every trusted key.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    operations: Vec<String>,
    #[serde(default)]
    prefix: String,
    signatures: u64,
    keys: Option<Vec<String>>,
}

pub(crate) fn parse(json: Option<&str>, ring: &KeyRing) -> Result<Vec<Quorum>, ConfigError> {
    let Some(json) = json else {
        return Ok(Vec::new());
    };
    let raw: Vec<Raw> =
        serde_json::from_str(json).map_err(|e| ConfigError::new(SETTING, Problem::Json(e)))?;
    raw.into_iter()
        .enumerate()
        .map(|(i, raw)| rule(i, raw, ring))
        .collect()
}

fn rule(i: usize, raw: Raw, ring: &KeyRing) -> Result<Quorum, ConfigError> {
    let at = |field: String, problem| ConfigError::at(SETTING, format!("[{i}].{field}"), problem);
    let operations = raw
        .operations
        .iter()
        .enumerate()
        .map(|(j, op)| {
            op.parse::<Operation>()
                .map_err(|_| at(format!("operations[{j}]"), Problem::Operation))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(keys) = &raw.keys
        && let Some(j) = keys.iter().position(|id| ring.get(id).is_none())
    {
        return Err(at(format!("keys[{j}]"), Problem::UnknownKey));
    }
    // A quorum no request could ever meet would lock the operations out silently.
    let available = raw
        .keys
        .as_ref()
        .map_or(ring.len(), Vec::len)
        .min(MAX_GRANTS);
    let signatures = usize::try_from(raw.signatures).unwrap_or(usize::MAX);
    if signatures == 0 || signatures > available {
        return Err(at(
            "signatures".into(),
            Problem::Number {
                min: 1,
                max: available as u64,
            },
        ));
    }
    Ok(Quorum {
        operations,
        prefix: raw.prefix,
        signatures,
        keys: raw.keys,
    })
}
