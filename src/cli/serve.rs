//! `chitra serve`: the HTTP API on the ledger in the data directory.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::app::config::DataDir;
use crate::http::{server, AppState, Limits, Tokens};
use crate::ledger::{Config, Ledger};

/// Default listening address (loopback: put a TLS-terminating proxy in front for anything else).
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";

pub fn run(data: &DataDir, addr: &str, tokens: &Path) -> anyhow::Result<ExitCode> {
    let dir = data.path();
    let settings = data.settings()?;
    let limits = Limits::default()
        .with_overrides(&settings.limits)
        .map_err(|e| anyhow::anyhow!("{}: {e}", data.config_path().display()))?;
    let tokens = Tokens::load(tokens).with_context(|| format!("loading {}", tokens.display()))?;
    if tokens.list().is_empty() {
        tracing::warn!("no tokens: every route but health, metrics and the OpenAPI document answers 401; add one with `chitra token add`");
    }
    let opened = std::time::Instant::now();
    let ledger = Ledger::open(Config {
        checkpoints: settings.checkpoints,
        ..Config::new(dir)
    })
    .with_context(|| format!("opening the ledger in {}", dir.display()))?;
    tracing::info!(
        records = ledger.durable_records(),
        seconds = opened.elapsed().as_secs_f64(),
        "ledger opened and verified"
    );
    for (name, value) in limits.table() {
        tracing::debug!(limit = name, value, "limit");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("chitra-http")
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding {addr}"))?;
        let local = listener.local_addr()?;
        // The command line reads through this server while it owns the store.
        let _announced = data.announce_server(&local.to_string())?;
        // Tests and scripts read the port from this line.
        println!("listening on http://{local}");
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        tracing::info!(addr = %local, "serving");
        let state = AppState::new(ledger, tokens, limits, settings);
        server::serve(listener, state, server::shutdown_signal()).await?;
        anyhow::Ok(())
    })?;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}
