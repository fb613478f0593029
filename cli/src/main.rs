//! `gatekeeper`: vendor keys and grants for s3-gatekeeper.
//!
//! This is the I/O shell around the core: it reads the clock, the random source and files, and
//! mints with the same code the Worker verifies with.

// Doc comments here are the `--help` text, read in a terminal, where Markdown backticks around
// setting names would print literally.
#![allow(clippy::doc_markdown)]

mod grant;
mod inspect;
mod keygen;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Vendor keys and grants for s3-gatekeeper.
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Keygen(args) => keygen::run(&args),
        Command::Grant(args) => grant::run(&args),
        Command::Inspect(args) => inspect::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("gatekeeper: {message}");
            ExitCode::FAILURE
        }
    }
}
