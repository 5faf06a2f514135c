//! The command line: parses arguments with clap and runs each command against the library.
//! Human-readable summaries by default; errors name what was wrong. `anyhow` lives here, at
//! the edge, and nowhere below.

mod chain;
mod serve;
mod token;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Default data directory, relative to where chitra runs (git-ignored under `ledger-data/`).
pub const DEFAULT_DATA_DIR: &str = "ledger-data/db";

#[derive(Parser, Debug)]
#[command(
    name = "chitra",
    version,
    about = "Tamper-evident ledger for monthly social-benefit payments"
)]
pub struct Cli {
    /// The ledger's data directory.
    #[arg(long, global = true, env = "CHITRA_DATA_DIR", default_value = DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,

    #[command(subcommand)]
    pub command: Commands,
}

#[derive(Subcommand, Debug)]
pub enum Commands {
    /// Verify the whole chain (or an export file) and name the first bad record, if any.
    Verify {
        /// Verify this export file instead of the data directory.
        #[arg(long)]
        export: Option<PathBuf>,
        /// With --export: also check this personal-data export against the chain.
        #[arg(long, requires = "export")]
        personal: Option<PathBuf>,
        /// A head you trust from earlier, as SEQ:HASH (from `chitra status`): the record at SEQ
        /// must still have that hash. Catches a history rewritten together with its anchor.
        #[arg(long, value_parser = parse_anchor)]
        expect_head: Option<crate::chain::Anchor>,
    },
    /// Write the chain as stored, byte for byte, to FILE (and its personal data to FILE.personal).
    Export {
        file: PathBuf,
        /// Leave the personal data out (an export for auditors who must not see it).
        #[arg(long)]
        no_personal: bool,
    },
    /// Load an export into an empty data directory, refusing it unless it verifies.
    Import {
        file: PathBuf,
        /// The personal-data export (default FILE.personal when it exists).
        #[arg(long)]
        personal: Option<PathBuf>,
    },
    /// Number of records, head sequence number and hash, and the last verification.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Benchmarks: append and verify throughput with peak memory.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Serve the HTTP API (see docs/http.md).
    Serve {
        #[arg(long, env = "CHITRA_ADDR", default_value = serve::DEFAULT_ADDR)]
        addr: String,
        #[arg(long, env = "CHITRA_TOKENS", default_value = crate::http::auth::DEFAULT_TOKENS_FILE)]
        tokens: PathBuf,
    },
    /// Manage the HTTP API's bearer tokens.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Make a token for a new principal and print it (once).
    Add {
        /// officer, maker, checker, auditor, bank or admin.
        #[arg(long)]
        role: String,
        /// The person or system (the principal is ROLE:NAME; a bank's is bank:BIN).
        #[arg(long)]
        name: Option<String>,
        /// The bank's NAPAS BIN (bank role only).
        #[arg(long)]
        bin: Option<String>,
        #[arg(long, env = "CHITRA_TOKENS", default_value = crate::http::auth::DEFAULT_TOKENS_FILE)]
        tokens: PathBuf,
    },
    /// List principals and roles (never the tokens).
    List {
        #[arg(long, env = "CHITRA_TOKENS", default_value = crate::http::auth::DEFAULT_TOKENS_FILE)]
        tokens: PathBuf,
    },
    /// Revoke a principal's token.
    Revoke {
        principal: String,
        #[arg(long, env = "CHITRA_TOKENS", default_value = crate::http::auth::DEFAULT_TOKENS_FILE)]
        tokens: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Append N synthetic events (enrolments with entitlement grants) through the writer.
    Append {
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
        /// Concurrent submitting threads.
        #[arg(long, default_value_t = 4)]
        submitters: usize,
        /// Commands per submission.
        #[arg(long, default_value_t = 512)]
        chunk: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Print `ack <seq> <hash>` for every acknowledged command.
        #[arg(long)]
        print_acks: bool,
    },
    /// Verify the whole chain in the data directory and report records per second.
    Verify,
}

/// Exit code when verification finds a fault (distinct from usage and IO errors).
pub const EXIT_TAMPERED: u8 = 1;
/// Exit code for every other failure.
pub const EXIT_FAILURE: u8 = 2;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let dir = cli.data_dir;
    match cli.command {
        Commands::Verify {
            export,
            personal,
            expect_head,
        } => chain::verify(&dir, export.as_deref(), personal.as_deref(), expect_head),
        Commands::Export { file, no_personal } => chain::export(&dir, &file, !no_personal),
        Commands::Import { file, personal } => chain::import(&dir, &file, personal),
        Commands::Status { json } => chain::status(&dir, json),
        Commands::Bench(BenchCommand::Append {
            events,
            submitters,
            chunk,
            seed,
            print_acks,
        }) => chain::bench_append(
            &dir,
            &crate::bench::AppendOptions {
                events,
                submitters,
                chunk,
                seed,
                print_acks,
            },
        ),
        Commands::Bench(BenchCommand::Verify) => chain::bench_verify(&dir),
        Commands::Serve { addr, tokens } => serve::run(&dir, &addr, &tokens),
        Commands::Token(TokenCommand::Add {
            role,
            name,
            bin,
            tokens,
        }) => token::add(&tokens, &role, name.as_deref(), bin.as_deref()),
        Commands::Token(TokenCommand::List { tokens }) => token::list(&tokens),
        Commands::Token(TokenCommand::Revoke { principal, tokens }) => {
            token::revoke(&tokens, &principal)
        }
    }
}

fn parse_anchor(text: &str) -> Result<crate::chain::Anchor, String> {
    crate::chain::Anchor::parse(text)
        .ok_or_else(|| format!("{text:?} is not SEQ:HASH (64 hex digits)"))
}

/// A progress bar on stderr that hides itself when stderr is not a terminal.
pub(crate) fn progress_bar(len: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg:>10} [{bar:40}] {pos}/{len} ({per_sec}, {eta})",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_message(what.to_owned());
    bar
}

/// Formats bytes as MiB with one decimal.
pub(crate) fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
}
