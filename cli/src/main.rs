//! `gatekeeper`: vendor keys, grants and audit verification for s3-gatekeeper.
//!
//! This is the I/O shell around the core: it reads the clock, the random source and files, mints
//! with the same code the Worker verifies with, and verifies audit seals with the same code the
//! Worker seals with.

// Doc comments here are the `--help` text, read in a terminal, where Markdown backticks around
// setting names would print literally.
#![allow(clippy::doc_markdown)]

mod audit;
mod aws_policy;
mod config;
mod grant;
mod inspect;
mod keygen;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Vendor keys, grants and audit verification for s3-gatekeeper.
#[derive(Parser)]
#[command(name = "gatekeeper", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a vendor signing key: writes the secret key file (mode 0600) and prints the public
    /// key and its id for the gatekeeper's VENDOR_KEYS.
    Keygen(keygen::Args),
    /// Mint a grant: prints the token, or a ready curl command with --curl.
    Grant(grant::Args),
    /// Decode a grant, verify it against trusted keys, and say exactly why it would be refused.
    Inspect(inspect::Args),
    /// The audit log: verify an export against its seals.
    Audit(audit::Args),
    /// The gatekeeper's settings in wrangler.toml: check them before a deploy.
    Config(config::Args),
    /// Print the least-privilege AWS policies for the gatekeeper's bucket, as JSON: the IAM
    /// policy of its credentials, a bucket policy, default encryption and a lifecycle rule.
    AwsPolicy(aws_policy::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Keygen(args) => keygen::run(&args),
        Command::Grant(args) => grant::run(&args),
        Command::Inspect(args) => inspect::run(&args),
        Command::Audit(args) => audit::run(&args),
        Command::Config(args) => config::run(&args),
        Command::AwsPolicy(args) => aws_policy::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("gatekeeper: {message}");
            ExitCode::FAILURE
        }
    }
}
