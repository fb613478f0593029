//! Valid settings that are risky: the Worker accepts them, an operator should mean them.

use serde_json::Value;

use super::Finding;
use super::wrangler::Vars;

/// Longer than this, a stolen grant stays useful for more than an hour.
const LONG_GRANT_SECONDS: u64 = 3600;

const EVERY_ADDRESS: [&str; 2] = ["0.0.0.0/0", "::/0"];

pub(crate) fn warnings(vars: &Vars) -> Vec<Finding> {
    let mut found = Vec::new();
    if vars.get("DELETE_ENABLED") == Some("true") {
        found.push(Finding::new(
            "DELETE_ENABLED",
            "deletes are enabled: one grant for delete removes an object for good unless the bucket keeps versions; consider a MULTISIG rule for delete",
        ));
    }
    acl(vars.get("ACL"), &mut found);
    origins(vars.get("ALLOWED_ORIGINS"), &mut found);
    if vars
        .get("S3_ENDPOINT")
        .is_some_and(|url| url.starts_with("http://"))
    {
        found.push(Finding::new(
            "S3_ENDPOINT",
            "plain http: requests to S3 and the objects cross the network unencrypted (for local testing only)",
        ));
    }
    let lifetime = "GRANT_MAX_LIFETIME_SECONDS";
    if vars
        .get(lifetime)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|s| s > LONG_GRANT_SECONDS)
    {
        found.push(Finding::new(
            lifetime,
            format!("grants may live more than {LONG_GRANT_SECONDS} seconds: a stolen grant stays usable that long"),
        ));
    }
    found
}

/// The ACL's country and network rules as they combine (`src/acl.rs`): defaults apply to what
/// is not set, as in the Worker.
fn acl(json: Option<&str>, found: &mut Vec<Finding>) {
    let acl: Value = match json {
        None => Value::Null,
        Some(text) => match serde_json::from_str(text) {
            Ok(value) => value,
            // Invalid JSON is an error the validation reports.
            Err(_) => return,
        },
    };
    let list = |path: &str| -> Option<Vec<String>> {
        acl.pointer(path).and_then(Value::as_array).map(|entries| {
            entries
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
    };
    let text = |path: &str| acl.pointer(path).and_then(Value::as_str).unwrap_or("deny");
    let every_address = list("/ip/allow").is_none_or(|allow| {
        allow
            .iter()
            .any(|net| EVERY_ADDRESS.contains(&net.as_str()))
    });
    let no_country = list("/country/allow").is_some_and(|allow| allow.is_empty());
    let unknown = text("/country/unknown") == "allow";
    let tor = text("/country/tor") == "allow";
    if every_address && no_country {
        let through = if unknown || tor {
            "; only callers Cloudflare cannot place (country.unknown) or Tor exits (country.tor) get through"
        } else {
            "; no caller at all gets through"
        };
        found.push(Finding::new(
            "ACL",
            format!(
                "ip.allow admits every address and country.allow is empty: the country rules are the only filter, and they refuse every caller placed in a country (country_not_allowed){through}"
            ),
        ));
    }
    if unknown {
        found.push(Finding::new(
            "ACL",
            "country.unknown: allow lets in callers Cloudflare cannot place in any country",
        ));
    }
    if tor {
        found.push(Finding::new(
            "ACL",
            "country.tor: allow lets in Tor exit traffic: a stolen grant can be spent anonymously",
        ));
    }
}

/// Page origins that are not HTTPS (the core refuses `null`, wildcards and anything that is
/// not a bare origin).
fn origins(value: Option<&str>, found: &mut Vec<Finding>) {
    let Some(value) = value else { return };
    let list: Vec<String> = if value.trim_start().starts_with('[') {
        serde_json::from_str(value).unwrap_or_default()
    } else {
        value.split(',').map(|s| s.trim().to_owned()).collect()
    };
    for (i, origin) in list.iter().enumerate() {
        if origin.starts_with("http://") {
            found.push(Finding::new(
                "ALLOWED_ORIGINS",
                format!("[{i}]: a plain http origin: anyone on the page's network path can run script there and spend its grants"),
            ));
        }
    }
}
