//! `gatekeeper inspect`: what a grant says, and exactly why a gatekeeper would refuse it.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use s3_gatekeeper::Config;
use s3_gatekeeper::grant::SigningKey;
use s3_gatekeeper::grant::token::Untrusted;

use crate::grant::unix_now;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The grant (a v4.public token).
    token: String,
    /// The gatekeeper's id (GATEKEEPER_ID) to check the audience against.
    #[arg(long)]
    aud: String,
    /// The trusted keys, as the gatekeeper's VENDOR_KEYS JSON, or a file holding it.
    #[arg(long, value_name = "JSON|FILE")]
    keys: String,
    /// Check at this Unix time instead of now.
    #[arg(long, value_name = "SECONDS")]
    at: Option<u64>,
    /// Check it as a link (a grant in the URL, `?grant=`), with a link's shorter maximum
    /// lifetime: GRANT_IN_QUERY_MAX_LIFETIME_SECONDS, 300 unless given.
    #[arg(long)]
    link: bool,
    /// With --link: the gatekeeper's GRANT_IN_QUERY_MAX_LIFETIME_SECONDS.
    #[arg(long, value_name = "SECONDS", requires = "link")]
    link_max_lifetime: Option<u32>,
}

pub(crate) fn run(args: &Args) -> Result<(), String> {
    let keys = if args.keys.trim_start().starts_with('[') {
        args.keys.clone()
    } else {
        let path = PathBuf::from(&args.keys);
        std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?
    };
    let mut out = std::io::stdout().lock();
    let print =
        |out: &mut dyn Write, text: String| writeln!(out, "{text}").map_err(|e| e.to_string());

    // What the token says, before anything is trusted.
    match Untrusted::parse(&args.token) {
        Ok(untrusted) => {
            print(
                &mut out,
                format!("footer:  {}", String::from_utf8_lossy(untrusted.footer())),
            )?;
            print(
                &mut out,
                format!(
                    "claims:  {}",
                    String::from_utf8_lossy(untrusted.unverified_payload())
                ),
            )?;
        }
        Err(e) => print(
            &mut out,
            format!("format:  refused, {} ({})", e.code(), e.message()),
        )?,
    }

    // A gatekeeper with these keys and audience; the S3 and seal settings do not matter to a
    // grant, so they get placeholders that pass validation.
    let seal_key = SigningKey::from_seed([1; 32])
        .map_err(|e| e.to_string())?
        .to_paserk();
    let config = Config::from_settings(|name| match name {
        "GATEKEEPER_ID" => Some(args.aud.clone()),
        "VENDOR_KEYS" => Some(keys.clone()),
        "S3_REGION" => Some("us-east-1".into()),
        "S3_BUCKET" => Some("inspect".into()),
        "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY" => Some("unused".into()),
        "AUDIT_SEAL_KEY" => Some(seal_key.clone()),
        "GRANT_IN_QUERY" if args.link => Some("on".into()),
        "GRANT_IN_QUERY_MAX_LIFETIME_SECONDS" => args.link_max_lifetime.map(|s| s.to_string()),
        _ => None,
    })
    .map_err(|e| format!("--keys, --aud or --link-max-lifetime: {e}"))?;
    // A link is checked as the gatekeeper checks one: the same rules, a shorter lifetime.
    let policy = match config.url_grant_lifetime {
        Some(max_lifetime) => s3_gatekeeper::grant::Policy {
            max_lifetime,
            ..config.policy
        },
        None => config.policy,
    };
    let verifier =
        s3_gatekeeper::grant::Verifier::new(config.id, config.keys, policy, config.quorums);
    let now = match args.at {
        Some(at) => at,
        None => u64::try_from(unix_now()?).map_err(|_| "the clock is before 1970".to_owned())?,
    };
    let refusal = |out: &mut dyn Write, e: s3_gatekeeper::grant::GrantError| {
        print(
            out,
            format!("verdict: refused, {} ({})", e.code(), e.message()),
        )?;
        Err::<(), String>("the grant would be refused".into())
    };
    match verifier.open(&args.token, UNIX_EPOCH + Duration::from_secs(now)) {
        Ok((grant, valid)) => {
            // A genuine grant is named even when refused, as the audit log names it.
            print(
                &mut out,
                format!(
                    "signed:  genuine, by {}: {} {} for {} until {}",
                    grant.key_id,
                    grant.operation,
                    grant.scope,
                    grant.sub,
                    s3_gatekeeper::grant::format_time(grant.expires).unwrap_or_default()
                ),
            )?;
            match valid {
                Ok(()) => print(&mut out, "verdict: valid".to_owned()),
                Err(e) => refusal(&mut out, e),
            }
        }
        Err(e) => refusal(&mut out, e),
    }
}
