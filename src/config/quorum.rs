//! The `MULTISIG` setting: which requests need more than one signature.

use serde::Deserialize;

use crate::Operation;
use crate::config::{ConfigError, Problem};
use crate::grant::{KeyRing, MAX_GRANTS, Quorum};

const SETTING: &str = "MULTISIG";

/// One rule: `{"operations": ["put", "delete"], "prefix": "finance/", "signatures": 2,
/// "keys": ["k4.pid.…", "k4.pid.…"], "same_sub": true}`. `prefix` defaults to every key and
/// `same_sub` to `false`; `keys` is required.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    operations: Vec<String>,
    #[serde(default)]
    prefix: String,
    signatures: u64,
    keys: Option<Vec<String>>,
    #[serde(default)]
    same_sub: bool,
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
    // A rule for no operation would cover nothing, as silently as one that is not there.
    if operations.is_empty() {
        return Err(at("operations".into(), Problem::Missing));
    }
    // Without a list of its own, a rule would count every trusted key, and one signer holding
    // two of them (the old and the new key during a rotation) would meet it alone.
    let keys = raw
        .keys
        .filter(|keys| !keys.is_empty())
        .ok_or_else(|| at("keys".into(), Problem::Missing))?;
    for (j, id) in keys.iter().enumerate() {
        if ring.get(id).is_none() {
            return Err(at(format!("keys[{j}]"), Problem::UnknownKey));
        }
        if keys[..j].contains(id) {
            return Err(at(format!("keys[{j}]"), Problem::Duplicate));
        }
    }
    // A quorum no request could ever meet would lock the operations out silently.
    let available = keys.len().min(MAX_GRANTS);
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
        keys,
        same_sub: raw.same_sub,
    })
}
