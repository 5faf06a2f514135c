//! `chitra bench crash`: the kill -9 loop. Each cycle runs this same binary's `bench append
//! --print-acks` (concurrent submitters; in some cycles a large roster import alongside, one
//! command of tens of thousands of people that the store writes in several batches) on a
//! scratch data directory, kills it with SIGKILL at a random moment, then reopens the ledger
//! (which verifies and replays the whole chain), verifies the store once more and checks that
//! every write the child acknowledged is there with the same hash. It prints cycles,
//! acknowledged writes, lost writes and verification failures; the last two must be 0.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use rand::{Rng, SeedableRng};

use crate::chain::record::parse_hash_hex;
use crate::chain::Hash;
use crate::ledger::{Config, Ledger};

/// How long a child may take to acknowledge its first write (it opens and replays the store
/// first).
const FIRST_ACK_WAIT_MS_MAX: u64 = 300_000;
/// Failures described in the report, at most (all are counted).
const FAILURES_LISTED_MAX: usize = 20;

#[derive(clap::Args, Debug, Clone)]
pub struct CrashOptions {
    /// Kill-and-check cycles.
    #[arg(long, default_value_t = 200)]
    pub cycles: u64,
    /// Seed of the kill moments and of which cycles import a roster.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Events each child is asked to append (it is killed long before it is done).
    #[arg(long, default_value_t = 400_000)]
    pub events: u64,
    /// Concurrent submitting threads in each child.
    #[arg(long, default_value_t = 3)]
    pub submitters: usize,
    /// Commands per submission.
    #[arg(long, default_value_t = 32)]
    pub chunk: usize,
    /// Rows of the roster imported in roster cycles.
    #[arg(long, default_value_t = 40_000)]
    pub roster_rows: u64,
    /// One cycle in N, drawn at random, imports a roster (0: none).
    #[arg(long, default_value_t = 4)]
    pub roster_every: u64,
    /// The kill comes up to this long after the child's first acknowledgement.
    #[arg(long, default_value_t = 400)]
    pub kill_ms_max: u64,
    /// A store past this many records is set aside and a new one started, so that a long run
    /// does not spend its time replaying.
    #[arg(long, default_value_t = 400_000)]
    pub records_max: u64,
    /// Where the scratch stores go (created; must not exist). Default: a new directory in the
    /// system's temporary directory, removed at the end unless something failed.
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
}

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct CrashReport {
    pub cycles: u64,
    /// Writes (commands) acknowledged by the children, each checked after every later kill
    /// of the same store.
    pub acknowledged: u64,
    /// Acknowledged writes missing, or present with another hash, after a kill.
    pub lost: u64,
    /// Reopenings or verifications that failed.
    pub verify_failures: u64,
    /// Cycles that imported a roster, and how many of those rosters were acknowledged before
    /// the kill (the others were cut short and must have left nothing).
    pub roster_cycles: u64,
    pub rosters_acknowledged: u64,
    /// Cycles whose child was done before the kill came (nothing was cut short).
    pub finished_before_kill: u64,
    /// Scratch stores used (a new one past `records_max`).
    pub stores: u64,
    /// Records in the largest store checked.
    pub records_max_seen: u64,
    pub elapsed_ms: u64,
    /// What went wrong, cycle by cycle (at most `FAILURES_LISTED_MAX`).
    pub failures: Vec<String>,
}

impl CrashReport {
    fn fail(&mut self, what: String) {
        if self.failures.len() < FAILURES_LISTED_MAX {
            self.failures.push(what);
        }
    }
}

/// `chitra bench crash`: runs the loop, prints the figures, and exits 1 when anything
/// acknowledged was lost or a store did not verify.
pub fn command(opts: &CrashOptions, json: bool) -> anyhow::Result<ExitCode> {
    let (chosen, remove_at_end) = match &opts.work_dir {
        Some(d) => (d.clone(), false),
        None => (
            std::env::temp_dir().join(format!("chitra-bench-crash-{}", std::process::id())),
            true,
        ),
    };
    std::fs::create_dir(&chosen)
        .with_context(|| format!("creating the work directory {}", chosen.display()))?;
    let report = run(opts, &chosen, &|r| {
        if !json && r.cycles % 10 == 0 {
            eprintln!(
                "cycle {}: {} acknowledged, {} lost, {} verify failures",
                r.cycles, r.acknowledged, r.lost, r.verify_failures
            );
        }
    })?;
    let failed = report.lost > 0 || report.verify_failures > 0;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "crash loop: {} cycles (SIGKILL at a random moment) in {:.1} s",
            report.cycles,
            report.elapsed_ms as f64 / 1e3
        );
        println!("acknowledged writes: {}", report.acknowledged);
        println!("lost:                {}", report.lost);
        println!("verify failures:     {}", report.verify_failures);
        println!(
            "rosters:             {} cycles with a {}-row roster, {} acknowledged, {} cut short",
            report.roster_cycles,
            opts.roster_rows,
            report.rosters_acknowledged,
            report.roster_cycles - report.rosters_acknowledged
        );
        println!(
            "stores:              {} (largest {} records); {} cycles finished before the kill",
            report.stores, report.records_max_seen, report.finished_before_kill
        );
        for f in &report.failures {
            println!("FAILED: {f}");
        }
    }
    if failed {
        eprintln!("the stores are kept in {}", chosen.display());
        return Ok(ExitCode::from(crate::cli::EXIT_TAMPERED));
    }
    if remove_at_end {
        std::fs::remove_dir_all(&chosen)
            .with_context(|| format!("removing {}", chosen.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The loop itself, in `work_dir` (which exists and is empty).
pub fn run(
    opts: &CrashOptions,
    work_dir: &Path,
    progress: &dyn Fn(&CrashReport),
) -> anyhow::Result<CrashReport> {
    let started = Instant::now();
    let exe = std::env::current_exe().context("finding this program")?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(opts.seed);
    let mut report = CrashReport {
        stores: 1,
        ..CrashReport::default()
    };
    let mut store = work_dir.join("store-1");
    // Every write acknowledged on the current store: last seq → hash.
    let mut acked: BTreeMap<u64, Hash> = BTreeMap::new();
    for cycle in 1..=opts.cycles {
        let roster = opts.roster_every > 0 && rng.gen_range(0..opts.roster_every) == 0;
        let kill_after = Duration::from_millis(rng.gen_range(1..=opts.kill_ms_max.max(1)));
        let child = run_child(&exe, &store, opts, roster, kill_after)
            .with_context(|| format!("cycle {cycle}"))?;
        report.cycles = cycle;
        report.acknowledged += child.acks.len() as u64;
        report.roster_cycles += u64::from(roster);
        report.rosters_acknowledged += u64::from(child.roster_acked);
        report.finished_before_kill += u64::from(child.finished);
        for (seq, hash) in child.acks {
            if acked.insert(seq, hash).is_some_and(|h| h != hash) {
                report.lost += 1;
                report.fail(format!(
                    "cycle {cycle}: seq {seq} was acknowledged twice with different hashes"
                ));
            }
        }
        match check(&store, &acked) {
            Ok(checked) => {
                report.records_max_seen = report.records_max_seen.max(checked.records);
                if !checked.lost.is_empty() {
                    report.lost += checked.lost.len() as u64;
                    report.fail(format!(
                        "cycle {cycle}: {} acknowledged writes lost, first at seq {}",
                        checked.lost.len(),
                        checked.lost[0]
                    ));
                    // Count each loss once: what is gone is no longer expected.
                    for seq in &checked.lost {
                        acked.remove(seq);
                    }
                }
                if checked.records > opts.records_max {
                    std::fs::remove_dir_all(&store)
                        .with_context(|| format!("removing {}", store.display()))?;
                    report.stores += 1;
                    store = work_dir.join(format!("store-{}", report.stores));
                    acked.clear();
                }
            }
            Err(why) => {
                report.verify_failures += 1;
                report.fail(format!("cycle {cycle}: {why} (store kept)"));
                report.stores += 1;
                store = work_dir.join(format!("store-{}", report.stores));
                acked.clear();
            }
        }
        report.elapsed_ms = started.elapsed().as_millis() as u64;
        progress(&report);
    }
    Ok(report)
}

/// What one child acknowledged before it was killed.
struct Child {
    acks: Vec<(u64, Hash)>,
    roster_acked: bool,
    /// It was done before the kill came.
    finished: bool,
}

/// Runs `bench append --print-acks` on `store` and SIGKILLs it `kill_after` its first
/// acknowledgement.
fn run_child(
    exe: &Path,
    store: &Path,
    opts: &CrashOptions,
    roster: bool,
    kill_after: Duration,
) -> anyhow::Result<Child> {
    let mut cmd = Command::new(exe);
    cmd.arg("--data-dir")
        .arg(store)
        .args(["bench", "append", "--print-acks", "--seed", "1"])
        .args(["--events", &opts.events.to_string()])
        .args(["--submitters", &opts.submitters.to_string()])
        .args(["--chunk", &opts.chunk.to_string()]);
    if roster {
        cmd.args(["--roster-rows", &opts.roster_rows.to_string()]);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting bench append")?;
    let lines = Arc::new(Mutex::new(Vec::new()));
    let stdout = child.stdout.take().expect("piped");
    let sink = Arc::clone(&lines);
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            sink.lock().expect("lines lock").push(line);
        }
    });
    let mut stderr = child.stderr.take().expect("piped");
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let waited = Instant::now();
    let mut finished = None;
    while lines.lock().expect("lines lock").is_empty() {
        if let Some(status) = child.try_wait()? {
            finished = Some(status);
            break;
        }
        if waited.elapsed() > Duration::from_millis(FIRST_ACK_WAIT_MS_MAX) {
            let _ = child.kill();
            bail!("the child acknowledged nothing in {FIRST_ACK_WAIT_MS_MAX} ms");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    if finished.is_none() {
        std::thread::sleep(kill_after);
        finished = child.try_wait()?;
        if finished.is_none() {
            child.kill().context("SIGKILL")?;
            child.wait()?;
        }
    }
    reader.join().expect("stdout reader");
    let errors = errors.join().expect("stderr reader");
    if let Some(status) = finished {
        if !status.success() {
            bail!("bench append failed ({status}): {}", errors.trim());
        }
    }
    let mut acks = Vec::new();
    let mut roster_acked = false;
    for line in lines.lock().expect("lines lock").iter() {
        let mut parts = line.split(' ');
        if parts.next() != Some("ack") {
            continue;
        }
        let seq = parts.next().and_then(|s| s.parse().ok());
        let hash = parts.next().and_then(parse_hash_hex);
        let (Some(seq), Some(hash)) = (seq, hash) else {
            bail!("a malformed acknowledgement {line:?}");
        };
        roster_acked |= parts.next() == Some("roster");
        acks.push((seq, hash));
    }
    Ok(Child {
        acks,
        roster_acked,
        finished: finished.is_some(),
    })
}

/// A store after a kill.
#[derive(Debug)]
struct Checked {
    records: u64,
    /// Acknowledged seqs missing or stored with another hash.
    lost: Vec<u64>,
}

/// Reopens the ledger (verifying and replaying the chain), verifies the store once more, and
/// compares every acknowledged write with what is stored. Err says why the store is unusable.
fn check(store: &Path, acked: &BTreeMap<u64, Hash>) -> Result<Checked, String> {
    let ledger =
        Ledger::open(Config::new(store)).map_err(|e| format!("the ledger does not open: {e}"))?;
    let report = ledger
        .verify(None, |_| {})
        .map_err(|e| format!("the store does not verify: {e}"))?;
    let records = report.verified.records;
    let mut lost = Vec::new();
    if let (Some((&first, _)), Some((&last, _))) = (acked.first_key_value(), acked.last_key_value())
    {
        let mut stored = BTreeMap::new();
        for r in ledger.records(first, last + 1) {
            let r = r.map_err(|e| format!("reading seq {first}..={last}: {e}"))?;
            if acked.contains_key(&r.seq) {
                stored.insert(r.seq, r.hash);
            }
        }
        lost = acked
            .iter()
            .filter(|(seq, hash)| stored.get(seq) != Some(hash))
            .map(|(seq, _)| *seq)
            .collect();
    }
    Ok(Checked { records, lost })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::types::Principal;
    use crate::domain::Command;
    use crate::ledger::Submission;

    /// The check finds a write that is not stored and one stored with another hash, and
    /// accepts the ones that are there.
    #[test]
    fn the_check_counts_missing_and_changed_writes_as_lost() {
        let dir = tempfile::tempdir().unwrap();
        let mut acked = BTreeMap::new();
        {
            let ledger = Ledger::open(Config::new(dir.path())).unwrap();
            for i in 0..3 {
                let r = ledger
                    .submit(Submission {
                        principal: Principal::parse("officer:bench").unwrap(),
                        idempotency_key: None,
                        command: Command::Enrol(crate::dev::synth::person(1, i)),
                    })
                    .unwrap();
                acked.insert(r.last_seq().unwrap(), r.hash);
            }
        }
        let checked = check(dir.path(), &acked).unwrap();
        assert!(checked.lost.is_empty(), "{checked:?}");
        let (&second, _) = acked.iter().nth(1).unwrap();
        acked.insert(second, [7; 32]);
        let beyond = checked.records + 5;
        acked.insert(beyond, [1; 32]);
        let checked = check(dir.path(), &acked).unwrap();
        assert_eq!(checked.lost, vec![second, beyond]);
    }
}
