//! `gatekeeper config check`: one wrangler.toml environment's settings, validated by the same
//! code the Worker runs, before a deploy rather than at its first request.

mod risk;
mod validation;
mod wrangler;

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Subcommand;

#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate the settings of one wrangler.toml environment with the Worker's own code, list
    /// the secrets it needs, and warn about risky choices. Exit status 1 when a setting is
    /// invalid (or, with --strict, when there is a warning).
    Check(CheckArgs),
}

#[derive(clap::Args)]
struct CheckArgs {
    /// The wrangler environment ([env.NAME]), as given to `wrangler deploy --env`. Without it,
    /// the top-level [vars]. Vars are not inherited: an environment has only its own.
    #[arg(long)]
    env: Option<String>,
    /// The wrangler configuration file.
    #[arg(long, default_value = "wrangler.toml")]
    config: PathBuf,
    /// NAME:VALUE, as `wrangler dev --var` takes it: a setting that is supplied at deploy time
    /// (a secret, or a value the deploy replaces). Repeatable. Values are never printed.
    #[arg(long = "var", value_name = "NAME:VALUE")]
    vars: Vec<String>,
    /// Treat warnings as errors.
    #[arg(long)]
    strict: bool,
}

/// Something wrong or risky in one setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    /// The setting, as named in wrangler.toml.
    setting: String,
    /// What is wrong or risky, naming the entry inside a JSON setting.
    message: String,
}

impl Finding {
    fn new(setting: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            setting: setting.into(),
            message: message.into(),
        }
    }
}

pub(crate) fn run(args: &Args) -> Result<(), String> {
    match &args.command {
        Command::Check(args) => check(args),
    }
}

fn check(args: &CheckArgs) -> Result<(), String> {
    let text = std::fs::read_to_string(&args.config)
        .map_err(|e| format!("cannot read {}: {e}", args.config.display()))?;
    let mut vars = wrangler::vars(&text, args.env.as_deref())
        .map_err(|e| format!("{}: {e}", args.config.display()))?;
    for var in &args.vars {
        let (name, value) = var
            .split_once(':')
            .ok_or_else(|| format!("--var {var:?}: expected NAME:VALUE"))?;
        vars.supply(name, value);
    }
    let outcome = validation::check(&vars);
    let mut errors = outcome.errors;
    errors.extend(vars.mistakes().iter().cloned());
    let mut warnings = risk::warnings(&vars);
    warnings.extend(outcome.warnings);

    let mut out = String::new();
    let place = args
        .env
        .as_ref()
        .map_or_else(|| "[vars]".to_owned(), |env| format!("[env.{env}.vars]"));
    let _ = writeln!(out, "{} {place}", args.config.display());
    for e in &errors {
        let _ = writeln!(out, "error: {}: {}", e.setting, e.message);
    }
    for w in &warnings {
        let _ = writeln!(out, "warning: {}: {}", w.setting, w.message);
    }
    let env_flag = args
        .env
        .as_ref()
        .map_or_else(String::new, |env| format!(" --env {env}"));
    for secret in validation::SECRETS {
        let state = if vars.supplied(secret.name) {
            "supplied with --var"
        } else if secret.required {
            "required"
        } else {
            "optional"
        };
        let _ = writeln!(
            out,
            "secret: {} ({state}; {}): wrangler secret put {}{env_flag}",
            secret.name, secret.purpose, secret.name
        );
    }
    let _ = writeln!(
        out,
        "{} error(s), {} warning(s)",
        errors.len(),
        warnings.len()
    );
    std::io::Write::write_all(&mut std::io::stdout().lock(), out.as_bytes())
        .map_err(|e| e.to_string())?;
    if !errors.is_empty() {
        return Err(format!("{} invalid setting(s)", errors.len()));
    }
    if args.strict && !warnings.is_empty() {
        return Err(format!("{} warning(s) with --strict", warnings.len()));
    }
    Ok(())
}
