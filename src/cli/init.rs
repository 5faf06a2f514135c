//! `chitra init`: a new data directory with its configuration, so that every other command
//! can refuse a directory that holds no ledger.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;

use crate::app::config::{self, DataDir};
use crate::domain::types::ProvinceCode;

pub fn run(
    dir: &Path,
    province: Option<&str>,
    config: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let text = match config {
        Some(file) => {
            std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?
        }
        None => {
            let province = province
                .map(ProvinceCode::parse)
                .transpose()
                .map_err(|e| anyhow::anyhow!("--province: {e}"))?;
            config::starter(province)
        }
    };
    let data = DataDir::init(dir, &text)?;
    // Opening once creates the store, so the directory is a ledger for every reader too.
    crate::ledger::Ledger::open(crate::ledger::Config::new(data.path()))
        .with_context(|| format!("creating the ledger in {}", dir.display()))?;
    println!("created a ledger in {}", dir.display());
    println!(
        "configuration: {} (edit it: the paying departments are needed before a release)",
        data.config_path().display()
    );
    println!("next: chitra --data-dir {} rates load", dir.display());
    Ok(ExitCode::SUCCESS)
}
