//! `chitra proof inclusion|consistency|checkpoint`: proofs over the Merkle tree of the chain
//! (`docs/proofs.md`), read from the data directory without the writer, in the text forms of
//! the spec (§3.1) or as JSON, with the checkpoint signed when the ledger has a key; `chitra
//! key init|show`, the ledger's checkpoint key; and `chitra verify --checkpoint FILE`, that the
//! chain still extends a signed checkpoint someone kept.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;

use crate::app::proofs::{checkpoint_for, inclusion_with_checkpoint, payment_inclusion};
use crate::chain::hex;
use crate::chain::note::{self, Checkpoint, VerifierKey};
use crate::domain::types::PaymentId;
use crate::ledger::keys;
use crate::ledger::tree::default_origin;
use crate::ledger::{Config, Ledger, Offline};

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Make the ledger's checkpoint signing key (Ed25519) in the data directory, once.
    Init {
        /// The key's name, the origin line of its checkpoints (default
        /// chitra.example/<data dir name>).
        #[arg(long)]
        name: Option<String>,
    },
    /// Print the key's note verifier key (NAME+KEYID+BASE64), for whoever checks checkpoints.
    Show,
}

pub fn key(dir: &Path, command: KeyCommand) -> anyhow::Result<ExitCode> {
    let signer = match command {
        KeyCommand::Init { name } => {
            let name = name.unwrap_or_else(|| default_origin(dir));
            keys::init(dir, &name)?
        }
        KeyCommand::Show => keys::require(dir)?,
    };
    println!("{}", signer.verifier());
    Ok(ExitCode::SUCCESS)
}

/// `chitra verify --checkpoint FILE`: the checkpoint's signature verifies (with `key`, or the
/// data directory's own key), and the root of the chain's first `size` records, hashed from the
/// records, is the checkpoint's root.
pub fn verify_checkpoint(dir: &Path, file: &Path, key: Option<&str>) -> anyhow::Result<ExitCode> {
    let note =
        std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let vkey = match key {
        Some(k) => VerifierKey::parse(k)?,
        None => {
            eprintln!(
                "note: checking the signature with the data directory's own key; give \
                 --checkpoint-key with the verifier key you trust"
            );
            keys::require(dir)?.verifier()
        }
    };
    let text = match note::open(&note, &vkey) {
        Ok(t) => t,
        Err(e) => {
            println!("REFUSED: {}: {e}", file.display());
            return Ok(ExitCode::from(super::EXIT_TAMPERED));
        }
    };
    let kept = Checkpoint::parse(text)?;
    let offline = Offline::open(dir)?;
    let records = offline.tree()?.records();
    if kept.size > records {
        println!(
            "TAMPERED: the checkpoint is of {} records but the chain holds {records}: records \
             it covered are gone",
            kept.size
        );
        return Ok(ExitCode::from(super::EXIT_TAMPERED));
    }
    let root = offline.root_from_records(kept.size)?;
    if root != kept.root {
        println!(
            "TAMPERED: the chain's first {} records are not those of the checkpoint (root {} \
             instead of {}): its history was rewritten",
            kept.size,
            hex(&root),
            hex(&kept.root)
        );
        // The same key signs this other tree of the same size: a split view, with evidence.
        if let Ok(Some(signer)) = keys::load(dir) {
            if signer.verifier() == vkey {
                let today = signer.sign(&crate::ledger::tree::checkpoint_body(
                    signer.name(),
                    kept.size,
                    &root,
                ));
                let evidence =
                    crate::app::witness::split_view_evidence(&vkey, &note, &today, kept.size);
                let path = super::witness::beside(file, ".split-view");
                std::fs::write(&path, evidence)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                println!(
                    "split view: the ledger's key signs both trees of {} records; the evidence \
                     is in {}",
                    kept.size,
                    path.display()
                );
            }
        }
        return Ok(ExitCode::from(super::EXIT_TAMPERED));
    }
    println!(
        "OK: the chain of {records} records extends the checkpoint of {} records signed by {} \
         (root {})",
        kept.size,
        vkey.name,
        hex(&kept.root)
    );
    Ok(ExitCode::SUCCESS)
}

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
    /// Print the checkpoint of the tree (of --size records, default all), signed with the
    /// ledger's key: what an auditor keeps to check later that the chain extends it.
    Checkpoint {
        #[arg(long)]
        size: Option<u64>,
    },
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
            let witnesses = configured_witnesses(dir)?;
            let (p, served) = match (seq, payment) {
                (Some(seq), _) => {
                    let offline = Offline::open(dir)?;
                    inclusion_with_checkpoint(&offline.tree()?, dir, &witnesses, seq, size)?
                }
                (None, Some(id)) => {
                    let id = PaymentId::parse(&id)?;
                    let ledger = Ledger::open(Config::new(dir))?;
                    let (p, served, _) =
                        payment_inclusion(&ledger, &witnesses, id, size, |_| true)?;
                    (p, served)
                }
                (None, None) => anyhow::bail!("give a record's SEQ or --payment ID"),
            };
            // Without a key the checkpoint is a bare body, under the origin asked for.
            let checkpoint = match (&origin, keys::load(dir)?) {
                (Some(o), None) => keys::checkpoint_text(dir, Some(o), p.size, &p.root)?,
                _ => served.note,
            };
            if !served.witnesses.is_empty() && !json {
                eprintln!("cosigned by {}", served.witnesses.join(", "));
            }
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
                        "checkpoint": checkpoint,
                        "witnesses": served.witnesses,
                    })
                ),
                false => print!("{}", p.to_text_with(&checkpoint)),
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
        ProofCommand::Checkpoint { size } => {
            let (size, root) = Offline::open(dir)?.tree()?.root(size)?;
            keys::require(dir)?;
            let served = checkpoint_for(dir, &configured_witnesses(dir)?, size, &root)?;
            if !served.witnesses.is_empty() {
                eprintln!("cosigned by {}", served.witnesses.join(", "));
            }
            print!("{}", served.note);
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

/// The checkpoints recorded in the chain (or in the export `export`), each checked against the
/// tree at its size and, with a verifier key (`key`, else the data directory's own), its
/// signature (`docs/proofs.md` §4.1). Run once the chain itself verified.
pub fn verify_recorded_checkpoints(
    dir: &Path,
    export: Option<&Path>,
    key: Option<&str>,
) -> anyhow::Result<ExitCode> {
    use crate::ledger::checkpoints::{check_export_checkpoints, CheckpointError};
    let vkey = match key {
        Some(k) => Some(VerifierKey::parse(k)?),
        None => keys::load(dir).ok().flatten().map(|s| s.verifier()),
    };
    let shown = vkey.as_ref().map(|k| k.to_string());
    let result = match export {
        Some(file) => {
            let input = std::fs::File::open(file)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            check_export_checkpoints(std::io::BufReader::new(input), vkey)
        }
        None => Offline::open(dir)?.check_checkpoints(vkey),
    };
    if let Ok(s) = &result {
        if s.undecodable > 0 {
            println!(
                "note: {} records have a payload this version cannot decode; they were not \
                 looked at for checkpoints",
                s.undecodable
            );
        }
    }
    match result {
        Ok(s) if s.recorded == 0 => println!("checkpoints: none recorded in the chain"),
        Ok(s) => println!(
            "checkpoints: {} recorded (the last of {} records), each matches the tree at its \
             size; signatures {}",
            s.recorded,
            s.last_size.unwrap_or(0),
            match &shown {
                Some(k) => format!("verified with {k}"),
                None => "not checked (no key: give --checkpoint-key)".to_owned(),
            }
        ),
        Err(CheckpointError::Fault(f)) => {
            println!("TAMPERED: {f}");
            return Ok(ExitCode::from(super::EXIT_TAMPERED));
        }
        Err(e) => return Err(e.into()),
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether the writer signs checkpoints, as `chitra status` says it: with which key and how
/// often, or that it signs none for want of a key.
pub fn checkpoint_status(dir: &Path) -> anyhow::Result<String> {
    let policy = crate::app::config::DataDir::existing(dir)?
        .settings()?
        .checkpoints;
    Ok(match keys::load(dir) {
        Ok(Some(signer)) => format!(
            "signed by the writer with {} after every batch release, every {} records and \
             every {} s with new records",
            signer.verifier(),
            policy.interval_records,
            policy.interval_seconds
        ),
        Ok(None) => "none: the data directory has no key (`chitra key init`), so the writer \
                     signs no checkpoints"
            .to_owned(),
        Err(e) => format!("none: the key does not load ({e}), so the writer signs no checkpoints"),
    })
}

/// The witnesses configured in the data directory's `chitra.toml` (none without one).
fn configured_witnesses(
    dir: &Path,
) -> anyhow::Result<std::collections::BTreeMap<String, crate::chain::cosign::CosignerKey>> {
    Ok(crate::app::config::DataDir::existing(dir)
        .map(|d| d.settings())
        .unwrap_or_else(|_| Ok(Default::default()))?
        .witnesses)
}

/// `chitra receipt PAYMENT [--out FILE]`: the payment's receipt as JSON (`app::receipts`).
pub fn receipt(s: &super::Session, payment: &str, out: Option<&Path>) -> anyhow::Result<ExitCode> {
    let id = PaymentId::parse(payment)?;
    let ledger = super::open_ledger(s)?;
    let witnesses = s.settings()?.witnesses;
    let receipt = crate::app::receipts::payment_receipt(&ledger, &witnesses, id, |_| true)?;
    let text = format!("{}\n", serde_json::to_string_pretty(&receipt)?);
    match out {
        Some(file) => {
            std::fs::write(file, text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            eprintln!(
                "wrote the receipt of {} ({} VND, {} {}) to {}",
                receipt.facts.payment,
                receipt.facts.amount_vnd,
                receipt.facts.programme,
                receipt.facts.month,
                file.display()
            );
        }
        None => print!("{text}"),
    }
    match receipt.witnesses.is_empty() {
        true => {
            eprintln!("its checkpoint is signed by the ledger only (no cosigned one covers it)")
        }
        false => eprintln!(
            "its checkpoint is cosigned by {}",
            receipt.witnesses.join(", ")
        ),
    }
    Ok(ExitCode::SUCCESS)
}
