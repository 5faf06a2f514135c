//! The command line: parses arguments with clap and runs each command against the library.
//! Human-readable summaries by default; errors name what was wrong. `anyhow` lives here, at
//! the edge, and nowhere below.

mod batch;
mod chain;
mod demo;
mod init;
mod people;
mod proofs;
mod remote;
mod reports;
mod serve;
mod token;
mod witness;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use crate::app::config::{DataDir, Settings};
use crate::domain::types::{BatchId, Month, Principal, Programme};
use crate::domain::Command;
use crate::ledger::{Ledger, Receipt, Submission};

/// Default data directory, relative to where chitra runs (git-ignored under `ledger-data/`).
pub const DEFAULT_DATA_DIR: &str = "ledger-data/db";
/// Where tokens were kept before they moved into the data directory.
const LEGACY_TOKENS_FILE: &str = "ledger-data/tokens.json";

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

    /// Who is acting, recorded with every event: `role:name`, e.g. `maker:hoa`, `checker:tuan`,
    /// `officer:lan`, `admin:thu`, `bank:970436`. Every command that writes needs it; the
    /// ledger decides by the role what may be done, and four eyes by the name.
    #[arg(long = "as", global = true, env = "CHITRA_PRINCIPAL", value_parser = parse_principal)]
    pub principal: Option<Principal>,

    /// Print machine-readable JSON instead of a summary (for the commands that have one).
    #[arg(long, global = true)]
    pub json: bool,

    /// Logs on stderr as text or as JSON lines (for a log collector).
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Commands,
}

#[derive(Subcommand, Debug)]
pub enum Commands {
    /// Create a ledger: a new data directory with its configuration (chitra.toml).
    Init {
        /// The 2-digit 2025 code of the province the ledger pays in.
        #[arg(long)]
        province: Option<String>,
        /// Use this configuration file (checked first) instead of the starter one.
        #[arg(long)]
        config: Option<PathBuf>,
    },
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
        /// A signed checkpoint kept from earlier (`chitra proof checkpoint`): the chain must
        /// still extend it (docs/proofs.md).
        #[arg(long, conflicts_with = "export")]
        checkpoint: Option<PathBuf>,
        /// The note verifier key to check signatures with: the kept checkpoint's (--checkpoint)
        /// and those recorded in the chain (default: the data directory's own key).
        #[arg(long)]
        checkpoint_key: Option<String>,
    },
    /// Write the chain as stored, byte for byte, to FILE (and its personal data to FILE.personal).
    Export {
        file: PathBuf,
        /// Leave the personal data out (an export for auditors who must not see it).
        #[arg(long)]
        no_personal: bool,
    },
    /// Load an export into an empty data directory, all or nothing, refusing it unless it
    /// verifies and replays.
    Import {
        file: PathBuf,
        /// The personal-data export (default FILE.personal when it exists).
        #[arg(long)]
        personal: Option<PathBuf>,
        /// The head the export must end at, as SEQ:HASH (hash in hex), e.g. what the exporter's
        /// `chitra status` printed: any other export is refused before anything is written.
        #[arg(long, value_parser = parse_anchor)]
        expect_head: Option<crate::chain::Anchor>,
    },
    /// Number of records, head sequence number and hash, and the last verification.
    Status,
    /// A live backup of the whole data directory into DIR (new or empty): chain, personal
    /// data, payment files, configuration and tokens, with a manifest of hashes. Works while
    /// `chitra serve` runs (through its API, with an admin's CHITRA_TOKEN).
    Backup { dir: PathBuf },
    /// Restore a backup made by `chitra backup` into the data directory (new or empty): the
    /// same head, every payment file, the configuration and the tokens.
    Restore { from: PathBuf },
    /// Rate schedules: load the versioned files (loading twice appends nothing).
    #[command(subcommand)]
    Rates(RatesCommand),
    /// Beneficiaries: import a roster CSV (all rows or none).
    #[command(subcommand)]
    Beneficiaries(BeneficiariesCommand),
    /// One beneficiary (by citizen ID or B<n>): details, entitlements and history.
    #[command(subcommand)]
    Beneficiary(BeneficiaryCommand),
    /// What is due to a beneficiary for a month, itemised, with the rule behind each line.
    Due {
        /// Citizen ID or B<n>.
        who: String,
        #[arg(long, value_parser = parse_month)]
        month: Month,
    },
    /// Monthly disbursement batches.
    #[command(subcommand)]
    Batch(BatchCommand),
    /// Payment files of released batches.
    #[command(subcommand)]
    Files(FilesCommand),
    /// Bank status reports (pain.002.001.10 or the status CSV).
    #[command(subcommand)]
    BankStatus(BankStatusCommand),
    /// Build a synthetic province and run June-August 2024 across the July 2024 rate change.
    Demo {
        #[arg(long, default_value_t = 3000)]
        persons: u64,
        /// The 2-digit 2025 province code of the synthetic province.
        #[arg(long, default_value = "01")]
        province: String,
        #[arg(long, default_value_t = 2024)]
        seed: u64,
    },
    /// Benchmarks: append and verify throughput with peak memory.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Serve the HTTP API (see docs/http.md).
    Serve {
        #[arg(long, env = "CHITRA_ADDR", default_value = serve::DEFAULT_ADDR)]
        addr: String,
        /// The token file (default: tokens.json in the data directory).
        #[arg(long, env = "CHITRA_TOKENS")]
        tokens: Option<PathBuf>,
    },
    /// Manage the HTTP API's bearer tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Proofs over the chain's Merkle tree (docs/proofs.md): inclusion and consistency.
    #[command(subcommand)]
    Proof(proofs::ProofCommand),
    /// The ledger's checkpoint signing key: `init` (once), `show` (the verifier key).
    #[command(subcommand)]
    Key(proofs::KeyCommand),
    /// A payment's receipt (docs/proofs.md §6): the facts, the records that prove them, their
    /// inclusion proofs and the signed checkpoint, as one JSON file anyone can check offline
    /// with tools/verify_receipt.py.
    Receipt {
        /// The payment, `P12` or `12`.
        payment: String,
        /// Write the receipt here instead of to standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Write the tree's tiles and checkpoint to DIR as C2SP tlog-tiles (docs/proofs.md §8), for
    /// a static web server or object store to serve.
    Publish { dir: PathBuf },
    /// A witness of ledgers' checkpoints (docs/proofs.md §7): `init`, `show`, `cosign`; and
    /// `attach`, which keeps a cosigned checkpoint of this ledger for its receipts.
    #[command(subcommand)]
    Witness(witness::WitnessCommand),
    /// Identity checks against the National Population Database (issue 12).
    #[command(subcommand)]
    IdentityCheck(reports::IdentityCheckCommand),
    /// The department's figures per province, commune and programme, as of a day: enrolled,
    /// standardised, verified, held and why, moved to an account, paid by bank and in cash.
    Figures {
        /// The day, YYYY-MM-DD (Vietnam time; default: everything recorded so far).
        #[arg(long, value_parser = reports::parse_date)]
        as_of: Option<crate::domain::types::Date>,
        #[arg(long, value_parser = parse_programme)]
        programme: Option<Programme>,
    },
    /// Funds per programme and period: the Treasury's allocations and what remains.
    #[command(subcommand)]
    Funds(reports::FundsCommand),
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
        /// The token file (default: tokens.json in the data directory).
        #[arg(long, env = "CHITRA_TOKENS")]
        tokens: Option<PathBuf>,
    },
    /// List principals and roles (never the tokens).
    List {
        /// The token file (default: tokens.json in the data directory).
        #[arg(long, env = "CHITRA_TOKENS")]
        tokens: Option<PathBuf>,
    },
    /// Revoke a principal's token.
    Revoke {
        principal: String,
        /// The token file (default: tokens.json in the data directory).
        #[arg(long, env = "CHITRA_TOKENS")]
        tokens: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum RatesCommand {
    /// Enact every schedule file in DIR as rate-schedule events.
    Load {
        /// A folder of schedule files (default: the schedules of ledger-data/rates/ compiled
        /// into chitra).
        dir: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum BeneficiariesCommand {
    /// Import a roster CSV (format: docs/roster-csv.md). Any bad row refuses the whole file.
    Import { file: PathBuf },
}

#[derive(Subcommand, Debug)]
pub enum BeneficiaryCommand {
    /// Show a beneficiary by citizen ID or B<n>.
    Show { who: String },
}

#[derive(Subcommand, Debug)]
pub enum BatchCommand {
    /// Open a batch for a programme and month (as a maker).
    Open {
        #[arg(long, value_parser = parse_programme)]
        programme: Programme,
        #[arg(long, value_parser = parse_month)]
        month: Month,
        /// The programme's funding account.
        #[arg(long)]
        funding_account: String,
        /// Open a supplementary batch for late additions to this released batch.
        #[arg(long, value_parser = parse_batch)]
        supplementary_of: Option<BatchId>,
    },
    /// Compute the payment lines (as the maker).
    Compute {
        #[arg(value_parser = parse_batch)]
        batch: BatchId,
    },
    /// Control totals, changes since last month with reasons, and anomalies.
    Review {
        #[arg(value_parser = parse_batch)]
        batch: BatchId,
    },
    /// Approve the content you reviewed (as a checker who did not compute it).
    Approve {
        #[arg(value_parser = parse_batch)]
        batch: BatchId,
        /// The content hash shown by `batch review` (at least 16 hex digits).
        #[arg(long)]
        content_hash: String,
    },
    /// Release an approved batch and issue its payment files (as a checker).
    Release {
        #[arg(value_parser = parse_batch)]
        batch: BatchId,
    },
    /// Batches with their status and reconciliation.
    Status {
        #[arg(value_parser = parse_batch)]
        batch: Option<BatchId>,
    },
    /// Close a released batch once every payment is settled or returned and every break is
    /// explained.
    Close {
        #[arg(value_parser = parse_batch)]
        batch: BatchId,
    },
    /// Cancel a batch before release; its lines are given back.
    Cancel {
        #[arg(value_parser = parse_batch)]
        batch: BatchId,
        #[arg(long)]
        reason: String,
    },
    /// Reconciliation breaks (all, or one batch's; --open for the unresolved only).
    Breaks {
        #[arg(long, value_parser = parse_batch)]
        batch: Option<BatchId>,
        #[arg(long)]
        open: bool,
    },
    /// Record how a reconciliation break was explained.
    ResolveBreak {
        /// The sequence number of the break's record.
        seq: u64,
        #[arg(long)]
        note: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum FilesCommand {
    /// Issued payment files (a bank sees only its own).
    List {
        #[arg(long, value_parser = parse_batch)]
        batch: Option<BatchId>,
    },
    /// Download a file (checked against its recorded hash; the download is recorded).
    Get {
        /// The file's id (FILE3) or its name, as `files list` prints them.
        file: String,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum BankStatusCommand {
    /// Ingest a bank's status report; a file ingested before appends nothing.
    Ingest { file: PathBuf },
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
        /// Also import one roster of N new people alongside, as one command.
        #[arg(long, default_value_t = 0)]
        roster_rows: u64,
        /// Sign no checkpoints even if the data directory has a key (to measure their cost).
        #[arg(long)]
        no_checkpoints: bool,
    },
    /// Verify the whole chain in the data directory and report records per second.
    Verify,
    /// The kill -9 loop: append with concurrent writers (sometimes a large roster), SIGKILL at
    /// a random moment, reopen, verify, check every acknowledged write. Uses scratch stores,
    /// never --data-dir.
    Crash(crate::dev::bench::crash::CrashOptions),
    /// A monthly run: enrol N people, compute, approve and release one batch with its files,
    /// then ingest the banks' status reports (1% returned). Use an empty data directory.
    Batch {
        #[arg(long, default_value_t = 1_000_000)]
        persons: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Years of history: enrol N people, pay M monthly batches with deaths, new decisions,
    /// returns and a late rate change with arrears, then reopen in a fresh process. Reports
    /// records, disk, open time and memory. Use an empty data directory.
    Years {
        #[arg(long, default_value_t = 1_000_000)]
        persons: u64,
        #[arg(long, default_value_t = 24)]
        months: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Open the ledger and print the time it took and the memory it holds (JSON with --json).
    Open,
    /// The dashboard's page render times with N people paid for M months (fills an empty data
    /// directory first, reuses it after), idle and while a batch is computed.
    Web {
        #[arg(long, default_value_t = 1_000_000)]
        persons: u64,
        #[arg(long, default_value_t = 12)]
        months: u32,
        #[arg(long, default_value_t = 5)]
        samples: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

/// Exit code when verification finds a fault (distinct from usage and IO errors).
pub const EXIT_TAMPERED: u8 = 1;
/// Exit code for every other failure.
pub const EXIT_FAILURE: u8 = 2;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let serving = matches!(cli.command, Commands::Serve { .. });
    if !serving {
        quiet_on_closed_pipe();
    }
    // The server logs its life at info; other commands speak through their output and log
    // only warnings.
    init_logging(cli.log_format, if serving { "info" } else { "warn" });
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", causes(&e));
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

/// The error and its causes, each said once: a cause whose text the message already carries
/// (a typed error that prints its source) is not repeated.
pub fn causes(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
    }
    out
}

/// A command whose output goes to a pipe that closed (`chitra files list | head`) ends
/// quietly, as other Unix tools do, instead of failing on the write. Not for `serve`, which
/// must outlive clients that go away.
fn quiet_on_closed_pipe() {
    // SAFETY: runs before any thread is started, and only restores the default disposition.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// How logs are written (to stderr).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Logs to stderr, filtered by `CHITRA_LOG` (default `default_level`), as text or JSON lines.
fn init_logging(format: LogFormat, default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CHITRA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
    };
}

/// Who acts and how to answer, for the commands that touch the ledger.
pub struct Session {
    pub data_dir: PathBuf,
    pub principal: Option<Principal>,
    pub json: bool,
}

impl Session {
    /// The data directory, refused when it holds no ledger (so a command run in the wrong
    /// directory never creates an empty one).
    pub fn ledger_dir(&self) -> anyhow::Result<DataDir> {
        Ok(DataDir::existing(&self.data_dir)?)
    }

    /// The configuration of the data directory, checked.
    pub fn settings(&self) -> anyhow::Result<Settings> {
        Ok(self.ledger_dir()?.settings()?)
    }

    /// The token file: the one named, else the data directory's.
    pub fn tokens_file(&self, named: Option<PathBuf>) -> anyhow::Result<PathBuf> {
        if let Some(path) = named {
            return Ok(path);
        }
        let path = self.ledger_dir()?.tokens_path();
        let legacy = std::path::Path::new(LEGACY_TOKENS_FILE);
        if !path.exists() && legacy.is_file() {
            eprintln!(
                "note: tokens now live in the data directory; {} (the old place) is not read. \
                 Move it: mv {} {}",
                legacy.display(),
                legacy.display(),
                path.display()
            );
        }
        Ok(path)
    }

    /// Who acts, for a command that writes.
    pub fn who(&self) -> anyhow::Result<&Principal> {
        self.principal.as_ref().ok_or_else(|| {
            anyhow::anyhow!(
                "say who acts with --as ROLE:NAME (e.g. --as maker:hoa; roles: officer, maker, \
                 checker, auditor, bank, admin); it is recorded with every event"
            )
        })
    }
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let s = Session {
        data_dir: cli.data_dir,
        principal: cli.principal,
        json: cli.json,
    };
    if s.json && !speaks_json(&cli.command) {
        anyhow::bail!("--json: this command has no JSON output; run it without --json");
    }
    let dir = s.data_dir.clone();
    let server = DataDir::existing(&dir)
        .ok()
        .and_then(|d| d.running_server());
    let offline_verify = matches!(
        cli.command,
        Commands::Verify {
            export: Some(_),
            ..
        }
    );
    if let (Some(server), false) = (server, offline_verify) {
        return remote::run(&s, server, cli.command);
    }
    match cli.command {
        Commands::Backup { dir: out } => chain::backup(&s, &out),
        Commands::Restore { from } => chain::restore(&dir, &from),
        Commands::Init { province, config } => init::run(&dir, province.as_deref(), config),
        Commands::Verify {
            export,
            personal,
            expect_head,
            checkpoint,
            checkpoint_key,
        } => {
            if export.is_none() {
                s.ledger_dir()?;
            }
            let code = chain::verify(
                &dir,
                export.as_deref(),
                personal.as_deref(),
                expect_head,
                checkpoint_key.as_deref(),
            )?;
            match checkpoint {
                Some(file) if code == ExitCode::SUCCESS => {
                    proofs::verify_checkpoint(&dir, &file, checkpoint_key.as_deref())
                }
                _ => Ok(code),
            }
        }
        Commands::Export { file, no_personal } => {
            s.ledger_dir()?;
            chain::export(&dir, &file, !no_personal)
        }
        Commands::Import {
            file,
            personal,
            expect_head,
        } => chain::import(&dir, &file, personal, expect_head),
        Commands::Status => {
            s.ledger_dir()?;
            chain::status(&dir, s.json)
        }
        Commands::Rates(RatesCommand::Load { dir }) => people::rates_load(&s, dir.as_deref()),
        Commands::Beneficiaries(BeneficiariesCommand::Import { file }) => people::import(&s, &file),
        Commands::Beneficiary(BeneficiaryCommand::Show { who }) => people::show(&s, &who),
        Commands::Due { who, month } => people::due(&s, &who, month),
        Commands::Batch(c) => run_batch(&s, c),
        Commands::Files(FilesCommand::List { batch }) => batch::files_list(&s, batch),
        Commands::Files(FilesCommand::Get { file, out }) => batch::files_get(&s, &file, &out),
        Commands::BankStatus(BankStatusCommand::Ingest { file }) => batch::ingest(&s, &file),
        Commands::Demo {
            persons,
            province,
            seed,
        } => demo::run(&s, persons, &province, seed),
        Commands::Bench(BenchCommand::Append {
            events,
            submitters,
            chunk,
            seed,
            print_acks,
            roster_rows,
            no_checkpoints,
        }) => chain::bench_append(
            &dir,
            &crate::dev::bench::AppendOptions {
                events,
                submitters,
                chunk,
                seed,
                print_acks,
                roster_rows,
                checkpoints: !no_checkpoints,
            },
        ),
        Commands::Bench(BenchCommand::Verify) => chain::bench_verify(&dir),
        Commands::Bench(BenchCommand::Crash(opts)) => {
            crate::dev::bench::crash::command(&opts, s.json)
        }
        Commands::Bench(BenchCommand::Batch { persons, seed }) => {
            chain::bench_batch(&s, persons, seed)
        }
        Commands::Bench(BenchCommand::Years {
            persons,
            months,
            seed,
        }) => chain::bench_years(&s, persons, months, seed),
        Commands::Bench(BenchCommand::Open) => chain::bench_open(&s),
        Commands::Bench(BenchCommand::Web {
            persons,
            months,
            samples,
            seed,
        }) => crate::dev::bench::web::command(&open_ledger(&s)?, persons, months, samples, seed),
        Commands::Serve { addr, tokens } => {
            let tokens = s.tokens_file(tokens)?;
            serve::run(&s.ledger_dir()?, &addr, &tokens)
        }
        Commands::Token(TokenCommand::Add {
            role,
            name,
            bin,
            tokens,
        }) => token::add(
            &s.tokens_file(tokens)?,
            &role,
            name.as_deref(),
            bin.as_deref(),
        ),
        Commands::Token(TokenCommand::List { tokens }) => token::list(&s.tokens_file(tokens)?),
        Commands::IdentityCheck(c) => reports::identity_check(&s, c),
        Commands::Figures { as_of, programme } => reports::figures(&s, as_of, programme),
        Commands::Funds(c) => reports::funds(&s, c),
        Commands::Token(TokenCommand::Revoke { principal, tokens }) => {
            token::revoke(&s.tokens_file(tokens)?, &principal)
        }
        Commands::Proof(c) => {
            s.ledger_dir()?;
            proofs::run(&dir, c, s.json)
        }
        Commands::Key(c) => {
            s.ledger_dir()?;
            proofs::key(&dir, c)
        }
        Commands::Receipt { payment, out } => proofs::receipt(&s, &payment, out.as_deref()),
        Commands::Witness(c) => witness::run(&s, c),
        Commands::Publish { dir: out } => {
            s.ledger_dir()?;
            let p = crate::app::publish::publish(&dir, &out)?;
            println!(
                "published the tree of {} records ({} tiles, checkpoint {}) to {}",
                p.size,
                p.tiles,
                match p.cosigned {
                    true => "cosigned",
                    false => "signed by the ledger",
                },
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Whether a command prints JSON under `--json` (the others refuse it rather than ignore it).
fn speaks_json(command: &Commands) -> bool {
    matches!(
        command,
        Commands::Status
            | Commands::Rates(_)
            | Commands::Beneficiaries(_)
            | Commands::Beneficiary(_)
            | Commands::Due { .. }
            | Commands::Batch(_)
            | Commands::Files(FilesCommand::List { .. })
            | Commands::BankStatus(_)
            | Commands::Bench(BenchCommand::Crash(_))
            | Commands::Bench(BenchCommand::Open)
            | Commands::Proof(_)
            | Commands::IdentityCheck(_)
            | Commands::Figures { .. }
            | Commands::Funds(_)
    )
}

fn run_batch(s: &Session, c: BatchCommand) -> anyhow::Result<ExitCode> {
    match c {
        BatchCommand::Open {
            programme,
            month,
            funding_account,
            supplementary_of,
        } => batch::open(s, programme, month, funding_account, supplementary_of),
        BatchCommand::Compute { batch } => batch::compute(s, batch),
        BatchCommand::Review { batch } => batch::show_review(s, batch),
        BatchCommand::Approve {
            batch,
            content_hash,
        } => batch::approve(s, batch, &content_hash),
        BatchCommand::Release { batch } => batch::release(s, batch),
        BatchCommand::Breaks { batch, open } => batch::breaks(s, batch, open),
        BatchCommand::Status { batch } => batch::status(s, batch),
        BatchCommand::Close { batch } => batch::simple(
            s,
            Command::CloseBatch(crate::domain::command::CloseBatch { batch }),
            &format!("closed {batch}"),
        ),
        BatchCommand::Cancel { batch, reason } => batch::simple(
            s,
            Command::CancelBatch(crate::domain::command::CancelBatch { batch, reason }),
            &format!("cancelled {batch}"),
        ),
        BatchCommand::ResolveBreak { seq, note } => batch::simple(
            s,
            Command::ResolveBreak(crate::domain::command::ResolveBreak {
                break_seq: seq,
                note,
            }),
            &format!("resolved the break at seq {seq}"),
        ),
    }
}

/// Opens the ledger of the session's data directory.
pub(crate) fn open_ledger(s: &Session) -> anyhow::Result<Ledger> {
    s.ledger_dir()?;
    let checkpoints = s.settings()?.checkpoints;
    step("opening and verifying the ledger", || {
        Ledger::open(crate::ledger::Config {
            checkpoints,
            ..crate::ledger::Config::new(&s.data_dir)
        })
    })
    .with_context(|| format!("opening the ledger in {}", s.data_dir.display()))
}

/// Submits one command as the session's principal; a refusal becomes an error naming why.
pub(crate) fn submit(ledger: &Ledger, s: &Session, command: Command) -> anyhow::Result<Receipt> {
    ledger
        .submit(Submission {
            principal: s.who()?.clone(),
            idempotency_key: None,
            command,
        })
        .map_err(|e| anyhow::anyhow!("refused: {e}"))
}

/// A value as a person reads it: its serde name (`approved`, `bank 970436`), never Rust's
/// debug text.
pub(crate) fn word<T: serde::Serialize>(value: &T) -> String {
    fn text(v: &serde_json::Value) -> String {
        match v {
            serde_json::Value::String(s) => s.replace('_', " "),
            serde_json::Value::Null => "none".to_owned(),
            serde_json::Value::Array(items) => {
                items.iter().map(text).collect::<Vec<_>>().join(", ")
            }
            serde_json::Value::Object(map) => {
                let kind = map.get("kind").map(text);
                let rest = map
                    .iter()
                    .filter(|(k, _)| *k != "kind")
                    .map(|(k, v)| format!("{} {}", k.replace('_', " "), text(v)));
                kind.into_iter().chain(rest).collect::<Vec<_>>().join(", ")
            }
            other => other.to_string(),
        }
    }
    serde_json::to_value(value).map_or_else(|_| "?".to_owned(), |v| text(&v))
}

pub(crate) fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn parse_anchor(text: &str) -> Result<crate::chain::Anchor, String> {
    crate::chain::Anchor::parse(text)
        .ok_or_else(|| format!("{text:?} is not SEQ:HASH (64 hex digits)"))
}

fn parse_principal(text: &str) -> Result<Principal, String> {
    Principal::parse(text).map_err(|e| e.to_string())
}

fn parse_month(text: &str) -> Result<Month, String> {
    Month::parse(text).map_err(|e| e.to_string())
}

fn parse_programme(text: &str) -> Result<Programme, String> {
    Programme::parse(text).map_err(|e| e.to_string())
}

fn parse_batch(text: &str) -> Result<BatchId, String> {
    BatchId::parse(text).map_err(|e| e.to_string())
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

/// Runs a step that can take more than a second under a spinner on stderr that says what it
/// does and for how long (drawn only on a terminal; indicatif hides it otherwise).
pub(crate) fn step<T>(what: &str, work: impl FnOnce() -> T) -> T {
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .expect("valid template"),
    );
    spinner.set_message(what.to_owned());
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let out = work();
    spinner.finish_and_clear();
    out
}

/// Formats bytes as MiB with one decimal.
pub(crate) fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
}
