//! chitra: a tamper-evident, event-sourced ledger for monthly social-benefit payments.
//!
//! See `ARCHITECTURE.md` for the map. In short: `domain` decides and applies (pure), `chain`
//! defines the bytes (pure), `store` persists them (sled), `ledger` runs the single writer,
//! `verify` checks whole chains, `cli` is the command line.

pub mod archive;
pub mod batches;
pub mod bench;
pub mod chain;
pub mod cli;
pub mod codec;
pub mod domain;
pub mod files;
pub mod http;
pub mod ledger;
pub mod reference;
pub mod roster;
pub mod store;
pub mod synth;
pub mod verify;
pub mod views;
