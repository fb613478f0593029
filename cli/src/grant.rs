//! `gatekeeper grant`.

use std::io::Write;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use s3_gatekeeper::Operation;
use s3_gatekeeper::grant::{Claims, SigningKey, format_time};
use s3_gatekeeper::s3::encode_path;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The vendor's secret key file (from `gatekeeper keygen`).
    #[arg(long, default_value = "vendor.key")]
    key: PathBuf,
    /// The gatekeeper's id (its GATEKEEPER_ID): the grant's audience.
    #[arg(long)]
    aud: String,
    /// The operation: get, head, put, list or delete.
    #[arg(long)]
    op: Operation,
    /// The object key (for every operation but list).
    #[arg(long, conflicts_with = "prefix", required_unless_present = "prefix")]
    object: Option<String>,
    /// The key prefix (for list).
    #[arg(long)]
    prefix: Option<String>,
    /// The user the grant is for (recorded in the audit log).
    #[arg(long)]
    sub: String,
    /// Seconds until the grant expires.
    #[arg(long, default_value_t = 300)]
    ttl: u32,
    /// A unique grant id (required by the gatekeeper for put and delete).
    #[arg(long)]
    jti: Option<String>,
    /// Print a curl command for this gatekeeper base URL instead of the bare token.
    #[arg(long, value_name = "URL")]
    curl: Option<String>,
}

pub(crate) fn run(args: &Args) -> Result<(), String> {
    let secret = std::fs::read_to_string(&args.key)
        .map_err(|e| format!("cannot read {}: {e}", args.key.display()))?;
    let key = secret
        .parse::<SigningKey>()
        .map_err(|e| format!("{}: {e}", args.key.display()))?;

    let now = unix_now()?;
    let time = |t: i64| format_time(t).ok_or_else(|| "time out of range".to_owned());
    let claims = Claims {
        aud: args.aud.clone(),
        iat: Some(time(now)?),
        exp: time(now + i64::from(args.ttl))?,
        sub: args.sub.clone(),
        jti: args.jti.clone(),
        op: args.op.to_string(),
        key: args.object.clone(),
        prefix: args.prefix.clone(),
        ..Claims::default()
    };
    let token = key.mint(&claims).map_err(|e| e.to_string())?;

    let mut out = std::io::stdout().lock();
    let printed = match (&args.curl, &args.object) {
        (Some(base), Some(object)) => {
            let mut url = format!("{}/objects/", base.trim_end_matches('/'));
            encode_path(object, &mut url);
            writeln!(out, "curl -fsS -H 'Authorization: Bearer {token}' '{url}'")
        }
        _ => writeln!(out, "{token}"),
    };
    printed.map_err(|e| e.to_string())
}

/// The wall clock, which only this shell may read; the core takes the time as a parameter.
#[allow(clippy::disallowed_methods)]
fn unix_now() -> Result<i64, String> {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| "the clock is before 1970".to_owned())?;
    i64::try_from(since.as_secs()).map_err(|_| "the clock is out of range".to_owned())
}
