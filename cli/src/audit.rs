//! `gatekeeper audit verify`: checks an exported audit log, an archive of it, or both together,
//! against its seals.

use std::io::Write;
use std::path::PathBuf;

use s3_gatekeeper::archive::Bundle;
use s3_gatekeeper::grant::PublicKey;
use s3_gatekeeper::grant::format_time;
use s3_gatekeeper::seal::{Export, Hash, Report, verify, verify_with_retention};

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Check exports of audit_log and audit_seals, an archive of them (--archive), or both
    /// together, against the gatekeeper's seal key: one unbroken signed chain across all. Names
    /// the first row that was changed, removed or inserted, and the archive object it is in;
    /// exits 0 only if all is intact.
    ///
    /// Export both in one command (docs/audit.md):
    ///
    ///   wrangler d1 execute AUDIT_DB --remote --json --command "SELECT * FROM audit_log ORDER BY id; SELECT * FROM audit_seals ORDER BY id" > audit.json
    ///
    /// Download the archive with, for example, `aws s3 sync s3://BUCKET/audit/ archive/`.
    Verify(VerifyArgs),
}

#[derive(clap::Args)]
struct VerifyArgs {
    /// The gatekeeper's seal public key (k4.public, as `gatekeeper keygen` printed it for
    /// AUDIT_SEAL_KEY), or a file holding it. Repeat it for keys used before a rotation.
    #[arg(long = "key", value_name = "K4_PUBLIC|FILE", required = true)]
    keys: Vec<String>,
    /// Files with what `wrangler d1 execute --json` printed: the log and the seals, in one file
    /// or several.
    #[arg(value_name = "EXPORT", required_unless_present = "archives")]
    exports: Vec<PathBuf>,
    /// A folder holding the audit archive as written to AUDIT_ARCHIVE_BUCKET under
    /// AUDIT_ARCHIVE_PREFIX (its `YYYY/MM/DD/seal-*.ndjson.gz` and `seals/seal-*.json`).
    #[arg(long = "archive", value_name = "DIR")]
    archives: Vec<PathBuf>,
    /// Print every finding, not only the first few.
    #[arg(long)]
    all: bool,
    /// A seal hash seen before (printed by an earlier verify, or logged by the Worker): the
    /// export must still hold that seal. Catches the removal of the newest seals together with
    /// their rows, which the chain alone cannot show.
    #[arg(long, value_name = "HASH")]
    expect: Option<Hash>,
    /// The shortest retention period (AUDIT_RETENTION_DAYS) the gatekeeper ran with: also check
    /// that no seal let retention purge a row younger than that, by the seals' cutoffs.
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..=36_500))]
    retention_days: Option<u32>,
}

/// Findings printed unless --all: the first names the earliest change; the rest give the extent.
const SHOWN: usize = 20;

pub(crate) fn run(args: &Args) -> Result<(), String> {
    match &args.command {
        Command::Verify(args) => verify_exports(args),
    }
}

fn verify_exports(args: &VerifyArgs) -> Result<(), String> {
    let keys = args
        .keys
        .iter()
        .map(|key| read_key(key))
        .collect::<Result<Vec<_>, _>>()?;
    let mut export = Export::default();
    for path in &args.exports {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        export
            .read(&text)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let mut bundle = Bundle::default();
    bundle.add_export(export);
    for dir in &args.archives {
        read_archive(&mut bundle, dir)?;
    }
    let (seals, mut log) = (bundle.seals(), bundle.log());
    log.extend(bundle.odd_rows().iter().cloned());
    if seals.is_empty() {
        return Err(if args.archives.is_empty() {
            "the exports hold no seals: export audit_seals too (docs/audit.md)".into()
        } else {
            "neither the archive nor the exports hold a seal".into()
        });
    }

    let report = match args.retention_days {
        Some(days) => verify_with_retention(&seals, &log, &keys, days),
        None => verify(&seals, &log, &keys),
    };
    let problems = bundle.problems();
    print(&report, &bundle, &problems, args.all).map_err(|e| e.to_string())?;
    if !report.is_intact() || !problems.is_empty() {
        return Err("the audit log does not match its seals".into());
    }
    if let Some(expected) = &args.expect {
        if !report.holds(expected) {
            writeln!(std::io::stdout().lock(), "TAMPERED: no seal has the expected hash {expected}; newer seals and their rows were removed").map_err(|e| e.to_string())?;
            return Err("the audit log is missing a seal it had".into());
        }
        writeln!(
            std::io::stdout().lock(),
            "expected seal {expected}: present"
        )
        .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// A `k4.public` key given inline, or the first line of a file holding one.
fn read_key(value: &str) -> Result<PublicKey, String> {
    if value.trim_start().starts_with("k4.") {
        return value.parse().map_err(|e| format!("--key {value}: {e}"));
    }
    let text = std::fs::read_to_string(value).map_err(|e| format!("cannot read {value}: {e}"))?;
    text.trim()
        .parse()
        .map_err(|e| format!("--key {value}: {e} (the seal key's public half is needed)"))
}

/// Reads every archive object under `dir` into `bundle`, named by its path relative to `dir`.
fn read_archive(bundle: &mut Bundle, dir: &std::path::Path) -> Result<(), String> {
    let mut pending = vec![dir.to_path_buf()];
    let mut found = 0usize;
    while let Some(folder) = pending.pop() {
        let entries = std::fs::read_dir(&folder)
            .map_err(|e| format!("cannot read {}: {e}", folder.display()))?;
        for entry in entries {
            let path = entry
                .map_err(|e| format!("cannot read {}: {e}", folder.display()))?
                .path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let key = path
                .strip_prefix(dir)
                .unwrap_or(&path)
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            let bytes =
                std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            if bundle.add_object(&key, &bytes).map_err(|e| e.to_string())? {
                found += 1;
            }
        }
    }
    if found == 0 {
        return Err(format!(
            "{}: no archive objects (YYYY/MM/DD/seal-*.ndjson.gz, seals/seal-*.json) found",
            dir.display()
        ));
    }
    Ok(())
}

fn print(report: &Report, bundle: &Bundle, problems: &[String], all: bool) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    let located = |finding: &s3_gatekeeper::seal::Finding| match bundle.locate(finding) {
        Some(place) => format!("{finding} ({place})"),
        None => finding.to_string(),
    };
    let findings: Vec<String> = report
        .findings()
        .iter()
        .map(located)
        .chain(problems.iter().cloned())
        .collect();
    if let Some(first) = findings.first() {
        writeln!(out, "TAMPERED: {first}")?;
        let shown = if all { findings.len() } else { SHOWN };
        for finding in findings.iter().skip(1).take(shown.saturating_sub(1)) {
            writeln!(out, "  also: {finding}")?;
        }
        if findings.len() > shown {
            writeln!(
                out,
                "  and {} more (--all lists them)",
                findings.len() - shown
            )?;
        }
    } else {
        writeln!(out, "intact: every sealed row matches its seal")?;
    }
    for note in report.notes() {
        writeln!(out, "note: {note}")?;
    }
    writeln!(
        out,
        "seals: {}; rows: {} verified, {} purged by retention, {} not yet sealed{}",
        report.seals,
        report.verified,
        report.purged,
        report.unsealed,
        if report.unchecked > 0 {
            format!(
                ", {} not checked (their seal is not trusted)",
                report.unchecked
            )
        } else {
            String::new()
        }
    )?;
    if let Some(latest) = report.latest {
        let when = format_time(latest.scheduled_ms.div_euclid(1000)).unwrap_or_default();
        writeln!(
            out,
            "latest seal: {} ({when}, rows through {}), hash {}",
            latest.seq, latest.last_id, latest.hash
        )?;
    }
    Ok(())
}
