//! chitra: a tamper-evident, event-sourced ledger for monthly social-benefit payments.
//!
//! The crate is arranged in layers; `ARCHITECTURE.md` has the code map and the invariants, and
//! `tests/architecture.rs` enforces them. From the inside out:
//!
//! - `domain`: the pure core: decide and apply, the benefit rules, batches. No IO, no clock.
//! - `chain`: the byte format of records, blocks and exports, as pure functions.
//! - `store`: the only code that knows sled.
//! - `ledger`: the single writer, opening and replay, reads, payload codec, verification,
//!   export and import.
//! - `formats`: outside formats: bank files (pain.001, pain.002, CSV), rosters, reference data.
//! - `app`: the workflow steps the interfaces call (batches, views).
//! - `cli`, `http`: the interfaces.
//! - `dev`: development-only code: synthetic data and benchmarks.

pub mod app;
pub mod chain;
pub mod cli;
pub mod dev;
pub mod domain;
pub mod formats;
pub mod http;
pub mod ledger;
pub mod store;
