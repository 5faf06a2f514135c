//! `chitra proof inclusion|consistency`: proofs over the Merkle tree of the chain
//! (`docs/proofs.md`), read from the data directory without the writer, in the text forms of
//! the spec (§3.1) or as JSON.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;

use crate::app::proofs::payment_inclusion;
use crate::chain::hex;
use crate::domain::types::PaymentId;
use crate::ledger::tree::default_origin;
use crate::ledger::{Config, Ledger, Offline};

#[derive(Subcommand, Debug)]
pub enum ProofCommand {
    /// Prove that record SEQ (or the record that scheduled --payment) is in the chain's tree
    /// (C2SP tlog-proof layout).
    Inclusion {
        #[arg(required_unless_present = "payment")]
        seq: Option<u64>,
        /// The payment (`P12` or `12`) whose scheduling record to prove (opens the ledger).
        #[arg(long, conflicts_with = "seq")]
        payment: Option<String>,
        /// The tree size to prove it in (default: the whole chain).
        #[arg(long)]
        size: Option<u64>,
        /// Also write the record's stored bytes (the leaf input) to this file.
        #[arg(long)]
        record: Option<PathBuf>,
        /// The origin line naming the ledger (default chitra.example/<data dir name>).
        #[arg(long)]
        origin: Option<String>,
    },
    /// Prove that the tree of OLD records is a prefix of the tree of NEW (default: all) records.
    Consistency { old: u64, new: Option<u64> },
    /// Benchmark: serve many random inclusion and consistency proofs; p50, p99, slowest.
    Bench {
        #[arg(long, default_value_t = 10_000)]
        samples: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

pub fn run(dir: &Path, command: ProofCommand, json: bool) -> anyhow::Result<ExitCode> {
    match command {
        ProofCommand::Inclusion {
            seq,
            payment,
            size,
            record,
            origin,
        } => {
            let p = match (seq, payment) {
                (Some(seq), _) => Offline::open(dir)?.tree()?.inclusion(seq, size)?,
                (None, Some(id)) => {
                    let id = PaymentId::parse(&id)?;
                    let ledger = Ledger::open(Config::new(dir))?;
                    payment_inclusion(&ledger, id, size, |_| true)?.0
                }
                (None, None) => anyhow::bail!("give a record's SEQ or --payment ID"),
            };
            if let Some(file) = record {
                std::fs::write(&file, &p.record)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            }
            match json {
                true => println!(
                    "{}",
                    serde_json::json!({
                        "index": p.index,
                        "size": p.size,
                        "record": hex(&p.record),
                        "hashes": p.hashes.iter().map(|h| hex(h)).collect::<Vec<_>>(),
                        "root": hex(&p.root),
                    })
                ),
                false => print!(
                    "{}",
                    p.to_text(&origin.unwrap_or_else(|| default_origin(dir)))
                ),
            }
        }
        ProofCommand::Consistency { old, new } => {
            let c = Offline::open(dir)?.tree()?.consistency(old, new)?;
            match json {
                true => println!(
                    "{}",
                    serde_json::json!({
                        "old": c.old,
                        "new": c.new,
                        "old_root": hex(&c.old_root),
                        "new_root": hex(&c.new_root),
                        "hashes": c.hashes.iter().map(|h| hex(h)).collect::<Vec<_>>(),
                    })
                ),
                false => print!("{}", c.to_text()),
            }
        }
        ProofCommand::Bench { samples, seed } => {
            let b = crate::dev::bench::proofs::run(&Offline::open(dir)?, samples, seed)?;
            println!("{} records, {} samples of each", b.records, samples);
            for (what, l) in [("inclusion", &b.inclusion), ("consistency", &b.consistency)] {
                println!(
                    "{what:<12} p50 {:>8.1} µs  p99 {:>8.1} µs  max {:>8.1} µs  ({} proofs)",
                    l.p50.as_secs_f64() * 1e6,
                    l.p99.as_secs_f64() * 1e6,
                    l.max.as_secs_f64() * 1e6,
                    l.samples
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
