//! Development-only code, kept apart from the product: deterministic synthetic beneficiaries
//! (`synth`, for tests, benchmarks and the demo) and the benchmarks `chitra bench` runs
//! (`bench`). Nothing in the ledger depends on it.

pub mod bench;
pub mod synth;
