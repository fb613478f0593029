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
    /// A unique grant id (required by the gatekeeper for put and delete; one is generated for
    /// them when not given).
    #[arg(long)]
    jti: Option<String>,
    /// Bind the grant to a network: the caller's IP must be in this CIDR block.
    #[arg(long, value_name = "CIDR")]
    ip: Option<String>,
    /// For put: the largest upload allowed, in bytes.
    #[arg(long, value_name = "BYTES")]
    max_size: Option<u64>,
    /// For put: the only Content-Type the upload may have.
    #[arg(long, value_name = "TYPE")]
    content_type: Option<String>,
    /// For put: the SHA-256 (64 hex digits, as sha256sum prints it) of the only content the
    /// upload may have.
    #[arg(long, value_name = "HEX")]
    sha256: Option<String>,
    /// For get and head: the name the reply offers the object under, as an attachment.
    #[arg(long, value_name = "NAME")]
    filename: Option<String>,
    /// For put: allow the upload to be made in parts (S3 multipart upload); needs --max-size.
    #[arg(long, requires = "max_size")]
    multipart: bool,
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
        jti: match (&args.jti, args.op.is_write()) {
            (Some(jti), _) => Some(jti.clone()),
            (None, true) => Some(random_id()?),
            (None, false) => None,
        },
        op: args.op.to_string(),
        key: args.object.clone(),
        prefix: args.prefix.clone(),
        ip: args.ip.clone(),
        max_size: args.max_size,
        content_type: args.content_type.clone(),
        sha256: args.sha256.clone(),
        filename: args.filename.clone(),
        multipart: args.multipart.then_some(true),
        nbf: None,
    };
    let token = key.mint(&claims).map_err(|e| e.to_string())?;

    let mut out = std::io::stdout().lock();
    let printed = match (&args.curl, &args.object) {
        (Some(base), Some(object)) => {
            let mut url = format!("{}/objects/", base.trim_end_matches('/'));
            encode_path(object, &mut url);
            let method = match args.op {
                Operation::Get | Operation::List => String::new(),
                Operation::Head => " -I".to_owned(),
                Operation::Put => " -T FILE".to_owned(),
                Operation::Delete => " -X DELETE".to_owned(),
            };
            writeln!(
                out,
                "curl -fsS{method} -H 'Authorization: Bearer {token}' '{url}'"
            )
        }
        _ => writeln!(out, "{token}"),
    };
    printed.map_err(|e| e.to_string())
}

/// 128 random bits, hex-encoded, for a grant id.
fn random_id() -> Result<String, String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| format!("no secure random source: {e}"))?;
    Ok(bytes.iter().fold(String::with_capacity(32), |mut id, b| {
        use std::fmt::Write as _;
        let _ = write!(id, "{b:02x}");
        id
    }))
}

/// The wall clock, which only this shell may read; the core takes the time as a parameter.
#[allow(clippy::disallowed_methods)]
pub(crate) fn unix_now() -> Result<i64, String> {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| "the clock is before 1970".to_owned())?;
    i64::try_from(since.as_secs()).map_err(|_| "the clock is out of range".to_owned())
}
