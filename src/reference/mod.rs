//! Reference data read from versioned files at the edge (this module does IO; `domain` does
//! not). Each loader turns files into the domain's own types, so what the ledger records is
//! exactly what the files say, with a digest of the bytes they were read from.

pub mod rates;
