//! Development-only code, kept apart from the product: deterministic synthetic beneficiaries
//! (`synth`, for tests, benchmarks and the demo) and the benchmarks `chitra bench` runs
//! (`bench`), and the configuration of the demo's province (`config`). Nothing in the ledger depends on it.

pub mod bench;
pub mod config;
pub mod synth;
