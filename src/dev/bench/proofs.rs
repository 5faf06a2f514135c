//! `chitra proof bench`: how long serving an inclusion or a consistency proof takes on the
//! data directory's chain (read from the stored tiles and checked against the root, as the CLI
//! and the API serve them), over many random records and sizes; p50, p99 and the slowest.

use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};

use crate::ledger::Offline;

/// Latencies of one kind of proof.
pub struct Latencies {
    pub samples: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Latencies {
    fn of(mut times: Vec<Duration>) -> Latencies {
        times.sort();
        let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        Latencies {
            samples: times.len(),
            p50: at(0.50),
            p99: at(0.99),
            max: at(1.0),
        }
    }
}

pub struct ProofBench {
    pub records: u64,
    pub inclusion: Latencies,
    pub consistency: Latencies,
}

/// Serves `samples` inclusion proofs of random records in the whole tree and `samples`
/// consistency proofs from random sizes to the whole tree.
pub fn run(offline: &Offline, samples: usize, seed: u64) -> anyhow::Result<ProofBench> {
    let tree = offline.tree()?;
    let n = tree.records();
    anyhow::ensure!(n >= 2, "the chain needs at least two records");
    anyhow::ensure!(samples > 0, "at least one sample");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut inclusion = Vec::with_capacity(samples);
    let mut consistency = Vec::with_capacity(samples);
    for _ in 0..samples {
        let seq = rng.gen_range(0..n);
        let started = Instant::now();
        tree.inclusion(seq, None)?;
        inclusion.push(started.elapsed());
        let old = rng.gen_range(1..n);
        let started = Instant::now();
        tree.consistency(old, None)?;
        consistency.push(started.elapsed());
    }
    Ok(ProofBench {
        records: n,
        inclusion: Latencies::of(inclusion),
        consistency: Latencies::of(consistency),
    })
}
