//! The workflow steps the interfaces call: where one step is several commands, touches files or
//! reads records (compute, release, download, ingest status in `batches`; the read projections
//! in `views`). Each step has one implementation here, which the CLI, the HTTP API and the
//! dashboard share; none of them keeps its own copy. May use `domain`, `ledger` and `formats`;
//! knows nothing of sled, axum or the command line.

pub mod backup;
pub mod batches;
pub mod config;
pub mod payment_files;
pub mod proofs;
pub mod publish;
pub mod receipts;
pub mod reports;
pub mod views;
pub mod witness;
