//! Running the real `chitra` binary: one command on a data directory, a token made by
//! `chitra token add`, and `chitra serve` started on a free loopback port.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_chitra");

/// `chitra --data-dir DIR ARGS...`, run to completion.
pub fn chitra(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .output()
        .expect("run chitra")
}

/// `chitra init` with the example configuration (`ledger-data/config/example.toml`), unless
/// `dir` already holds a ledger.
pub fn init(dir: &Path) {
    if chitra::app::config::DataDir::existing(dir).is_ok() {
        return;
    }
    let config = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/ledger-data/config/example.toml"
    );
    let out = chitra(dir, &["init", "--config", config]);
    assert!(out.status.success(), "chitra init: {}", stderr(&out));
}

/// `chitra --data-dir DIR ARGS...`, which must succeed: its stdout.
pub fn chitra_ok(dir: &Path, args: &[&str]) -> String {
    let out = chitra(dir, args);
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `chitra token add` for `role:name` into `tokens`: the token it printed.
pub fn token_add(tokens: &Path, role: &str, name: &str) -> String {
    let out = Command::new(BIN)
        .args(["token", "add", "--role", role, "--name", name, "--tokens"])
        .arg(tokens)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// `chitra serve --addr 127.0.0.1:0` on `data` with `tokens`, logging at `log` to `stderr`:
/// the child and the address it said it listens on.
pub fn serve(data: &Path, tokens: &Path, log: &str, stderr: Stdio) -> (Child, String) {
    init(data);
    let mut child = Command::new(BIN)
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .arg("--tokens")
        .arg(tokens)
        .env("CHITRA_LOG", log)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (child, addr)
}

/// SIGTERM to a served `chitra`, and wait until it has stopped (and so released the store).
pub fn stop(child: &mut Child) {
    let pid = child.id().to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(sent.success(), "kill -TERM {pid}");
    let status = child.wait().unwrap();
    assert!(status.success(), "the server stopped with {status}");
}
