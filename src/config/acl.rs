//! The `ACL` setting: a JSON object, validated entry by entry.

use ipnet::IpNet;
use serde::Deserialize;

use crate::Operation;
use crate::acl::{Acl, Country, DEFAULT_COUNTRIES, Verdict, canonical_net};
use crate::config::{ConfigError, Problem};

const SETTING: &str = "ACL";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    ip: RawIp,
    #[serde(default)]
    country: RawCountry,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIp {
    #[serde(default = "all_networks")]
    allow: Vec<String>,
    #[serde(default)]
    deny: Vec<String>,
    /// Operations the allow list does not apply to (the deny list always does).
    #[serde(default)]
    allow_exempt: Vec<String>,
}

impl Default for RawIp {
    fn default() -> Self {
        Self {
            allow: all_networks(),
            deny: Vec::new(),
            allow_exempt: Vec::new(),
        }
    }
}

fn all_networks() -> Vec<String> {
    vec!["0.0.0.0/0".into(), "::/0".into()]
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCountry {
    #[serde(default = "default_countries")]
    allow: Vec<String>,
    #[serde(default)]
    deny: Vec<String>,
    #[serde(default = "deny")]
    unknown: String,
    #[serde(default = "deny")]
    tor: String,
}

impl Default for RawCountry {
    fn default() -> Self {
        Self {
            allow: default_countries(),
            deny: Vec::new(),
            unknown: deny(),
            tor: deny(),
        }
    }
}

fn default_countries() -> Vec<String> {
    DEFAULT_COUNTRIES.iter().map(|c| (*c).to_owned()).collect()
}

fn deny() -> String {
    "deny".into()
}

/// Parses the `ACL` setting; `None` (not set) gives the default ACL.
pub(crate) fn parse(json: Option<&str>) -> Result<Acl, ConfigError> {
    let Some(json) = json else {
        return Ok(Acl::default());
    };
    let raw: Raw =
        serde_json::from_str(json).map_err(|e| ConfigError::new(SETTING, Problem::Json(e)))?;
    Ok(Acl {
        ip_allow: networks(&raw.ip.allow, "ip.allow")?,
        ip_deny: networks(&raw.ip.deny, "ip.deny")?,
        country_allow: countries(&raw.country.allow, "country.allow")?,
        country_deny: countries(&raw.country.deny, "country.deny")?,
        unknown_country: verdict(&raw.country.unknown, "country.unknown")?,
        tor: verdict(&raw.country.tor, "country.tor")?,
        ip_allow_exempt: raw
            .ip
            .allow_exempt
            .iter()
            .enumerate()
            .map(|(i, op)| {
                op.parse::<Operation>().map_err(|_| {
                    ConfigError::at(SETTING, format!("ip.allow_exempt[{i}]"), Problem::Operation)
                })
            })
            .collect::<Result<_, _>>()?,
    })
}

/// Reads CIDR blocks; a bare address means that one address. Host bits are an error, not
/// something to round away, because `10.0.0.1/8` may be a typo for `10.0.0.1/32`.
fn networks(entries: &[String], field: &str) -> Result<Vec<IpNet>, ConfigError> {
    entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            let at = |problem| ConfigError::at(SETTING, format!("{field}[{i}]"), problem);
            let net = match entry.parse::<IpNet>() {
                Ok(net) => net,
                Err(_) => entry
                    .parse::<std::net::IpAddr>()
                    .map(IpNet::from)
                    .map_err(|_| at(Problem::Cidr))?,
            };
            if net.trunc() != net {
                return Err(at(Problem::HostBitsSet));
            }
            Ok(canonical_net(net))
        })
        .collect()
}

/// Reads country codes. `XX` (unknown) and `T1` (Tor) are not countries, and the lists never
/// match them: `country.unknown` and `country.tor` decide those callers, so listing them is an
/// error rather than a rule that silently does nothing.
fn countries(entries: &[String], field: &str) -> Result<Vec<Country>, ConfigError> {
    entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            let at = |problem| ConfigError::at(SETTING, format!("{field}[{i}]"), problem);
            match entry.parse().map_err(|e| at(Problem::Country(e)))? {
                Country::UNKNOWN => Err(at(Problem::NotACountry("country.unknown"))),
                Country::TOR => Err(at(Problem::NotACountry("country.tor"))),
                country => Ok(country),
            }
        })
        .collect()
}

fn verdict(value: &str, field: &str) -> Result<Verdict, ConfigError> {
    match value {
        "allow" => Ok(Verdict::Allow),
        "deny" => Ok(Verdict::Deny),
        _ => Err(ConfigError::at(
            SETTING,
            field,
            Problem::OneOf(&["allow", "deny"]),
        )),
    }
}
