//! `chitra witness init|show|cosign` (`docs/proofs.md` §7): a small witness with its own state
//! file, no data directory needed. The workflow is `app::witness`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;

use crate::app::witness::{self, CosignRequest, WitnessError};
use crate::chain::note::VerifierKey;

#[derive(Subcommand, Debug)]
pub enum WitnessCommand {
    /// Make a witness: a new Ed25519 cosigner key in a new state file; prints its public key.
    Init {
        /// The witness's state file (created; owner-readable only).
        #[arg(long)]
        state: PathBuf,
        /// The witness's name, e.g. `kbnn.example/witness-01`.
        #[arg(long)]
        name: String,
    },
    /// Print the witness's public key (its cosigner verifier key).
    Show {
        #[arg(long)]
        state: PathBuf,
    },
    /// Keep a checkpoint of this ledger cosigned by witnesses configured in chitra.toml
    /// ([witnesses]); receipts then carry it.
    Attach {
        /// The cosigned checkpoint (`chitra witness cosign --out`).
        #[arg(long)]
        checkpoint: PathBuf,
    },
    /// Cosign a ledger's checkpoint if its key signed it and its tree extends the one this
    /// witness cosigned before; prints the checkpoint with the cosignature added.
    Cosign {
        #[arg(long)]
        state: PathBuf,
        /// The ledger's note verifier key (`chitra key show` of the ledger).
        #[arg(long)]
        ledger_key: String,
        /// The ledger's signed checkpoint (`chitra proof checkpoint`).
        #[arg(long)]
        checkpoint: PathBuf,
        /// The consistency proof from the last checkpoint this witness cosigned (`chitra proof
        /// consistency OLD NEW`).
        #[arg(long)]
        proof: Option<PathBuf>,
        /// Write the cosigned checkpoint here instead of to standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Where to write the evidence of a split view (default: the checkpoint's path with
        /// `.split-view` added).
        #[arg(long)]
        evidence: Option<PathBuf>,
    },
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// `FILE` with `suffix` added to its name.
pub(crate) fn beside(file: &Path, suffix: &str) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

pub fn run(s: &super::Session, command: WitnessCommand) -> anyhow::Result<ExitCode> {
    match command {
        WitnessCommand::Attach { checkpoint } => {
            let data = s.ledger_dir()?;
            let note = read(&checkpoint)?;
            match witness::attach(data.path(), &data.settings()?, &note) {
                Ok((size, by)) => println!(
                    "kept the checkpoint of {size} records cosigned by {}",
                    by.join(", ")
                ),
                Err(e @ WitnessError::Refused(_)) => {
                    println!("{e}");
                    return Ok(ExitCode::from(super::EXIT_TAMPERED));
                }
                Err(e) => return Err(e.into()),
            }
        }
        WitnessCommand::Init { state, name } => {
            println!("{}", witness::init(&state, &name)?);
        }
        WitnessCommand::Show { state } => println!("{}", witness::show(&state)?),
        WitnessCommand::Cosign {
            state,
            ledger_key,
            checkpoint,
            proof,
            out,
            evidence,
        } => {
            let ledger_key = VerifierKey::parse(&ledger_key)?;
            let note = read(&checkpoint)?;
            let proof = proof.as_deref().map(read).transpose()?;
            let now_secs = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let request = CosignRequest {
                ledger_key: &ledger_key,
                checkpoint: &note,
                proof: proof.as_deref(),
                now_secs,
            };
            match witness::cosign(&state, request) {
                Ok(cosigned) => match out {
                    Some(file) => std::fs::write(&file, cosigned)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?,
                    None => print!("{cosigned}"),
                },
                Err(e @ WitnessError::SplitView { .. }) => {
                    let WitnessError::SplitView { evidence: text, .. } = &e else {
                        unreachable!()
                    };
                    let file = evidence.unwrap_or_else(|| beside(&checkpoint, ".split-view"));
                    std::fs::write(&file, text)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
                    println!("{e}; the evidence is in {}", file.display());
                    return Ok(ExitCode::from(super::EXIT_TAMPERED));
                }
                Err(e @ WitnessError::Refused(_)) => {
                    println!("{e}");
                    return Ok(ExitCode::from(super::EXIT_TAMPERED));
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
