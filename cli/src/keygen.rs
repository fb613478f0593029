//! `gatekeeper keygen`.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use s3_gatekeeper::grant::SigningKey;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Where to write the secret key (PASERK k4.secret). Refuses to overwrite an existing file.
    /// The same kind of key serves as the gatekeeper's AUDIT_SEAL_KEY.
    #[arg(long, default_value = "vendor.key")]
    out: PathBuf,
    /// Print the public key entry as JSON for VENDOR_KEYS instead of as text.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: &Args) -> Result<(), String> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| format!("no secure random source: {e}"))?;
    let key = SigningKey::from_seed(seed)
        .map_err(|_| "the random source returned all zeros".to_owned())?;

    // create_new: never replace a key someone may still depend on. Mode 0600 from the start, so
    // the secret is never readable by others, not even for an instant.
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&args.out)
        .map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    writeln!(file, "{}", key.to_paserk())
        .map_err(|e| format!("cannot write {}: {e}", args.out.display()))?;

    let entry = serde_json::json!({ "id": key.id(), "public": key.public_key().to_string() });
    let mut out = std::io::stdout().lock();
    let printed = if args.json {
        writeln!(out, "{entry}")
    } else {
        writeln!(
            out,
            "secret key written to {} (keep it secret)\npublic key: {}\nkey id:     {}\nVENDOR_KEYS entry: {entry}",
            args.out.display(),
            key.public_key(),
            key.id()
        )
    };
    printed.map_err(|e| e.to_string())
}
