//! The outside world's formats, as pure functions over bytes: bank files (`bank`: pain.001,
//! pain.002, payment and status CSV, cash lists, and a bank simulator for tests and the demo),
//! roster CSV imports (`roster`), and the official reference data (`reference`: administrative
//! units, banks, citizen-ID prefixes, rate-schedule files). Parsers here are hardened against
//! hostile input and fuzzed; nothing here appends to the chain or knows the store.

pub mod bank;
pub mod identity_check;
pub mod reference;
pub mod roster;
