//! `chitra token add|list|revoke`: the API's bearer tokens (stored hashed).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::domain::types::BankBin;
use crate::http::auth::{principal_for, Role, Tokens};

pub fn add(
    file: &Path,
    role: &str,
    name: Option<&str>,
    bin: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let role = Role::parse(role).map_err(anyhow::Error::msg)?;
    let bin = bin
        .map(BankBin::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let principal = principal_for(role, name, bin).map_err(anyhow::Error::msg)?;
    let tokens = Tokens::load(file).with_context(|| format!("loading {}", file.display()))?;
    let token = tokens.add(
        principal.clone(),
        role,
        bin,
        (crate::ledger::system_clock())(),
        None,
    )?;
    eprintln!(
        "token for {principal} ({}) added to {}; it is shown once, here:",
        role.name(),
        file.display()
    );
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}

pub fn list(file: &Path) -> anyhow::Result<ExitCode> {
    let tokens = Tokens::load(file).with_context(|| format!("loading {}", file.display()))?;
    for e in tokens.list() {
        let bin = e.bin.map(|b| format!(" {b}")).unwrap_or_default();
        println!("{:<32} {}{bin}", e.principal.as_str(), e.role.name());
    }
    Ok(ExitCode::SUCCESS)
}

pub fn revoke(file: &Path, principal: &str) -> anyhow::Result<ExitCode> {
    let tokens = Tokens::load(file).with_context(|| format!("loading {}", file.display()))?;
    if tokens.revoke(principal)? {
        println!("revoked the token of {principal}");
        Ok(ExitCode::SUCCESS)
    } else {
        anyhow::bail!("{principal} has no token in {}", file.display())
    }
}
