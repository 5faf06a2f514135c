//! The command line beside a running server. While `chitra serve` owns a data directory (it
//! holds sled's lock), read-only commands (status, verify, export, beneficiary show, batch
//! status, files list, figures) and `backup` go through its API on loopback with the
//! caller's token (`CHITRA_TOKEN`, never written to disk by chitra), and every command that
//! would write says in one line that the server owns the ledger and what to do instead. The
//! server announces its address in the data directory (`server.json`, mode 0600).

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context as _};

use super::{print_json, BatchCommand, BeneficiaryCommand, Commands, FilesCommand, Session};
use crate::app::config::RunningServer;

/// The environment variable holding the token the command line presents to a running server.
pub const TOKEN_ENV: &str = "CHITRA_TOKEN";

/// How long a command waits in all while the server answers that its heavy jobs are taken.
const BUSY_WAIT_S_MAX: u64 = 120;

struct Remote {
    server: RunningServer,
    token: String,
}

/// What one request got: an answer, or "busy, try again after this long".
enum Answer {
    Done(Box<ureq::Response>),
    Busy { retry_after_s: u64 },
}

impl Remote {
    fn new(server: RunningServer) -> anyhow::Result<Remote> {
        let token = std::env::var(TOKEN_ENV).map_err(|_| {
            anyhow::anyhow!(
                "the server at http://{} (pid {}) owns this ledger; to read through it, set {TOKEN_ENV} \
                 to your API token (`chitra token add` made it), or stop the server",
                server.addr,
                server.pid
            )
        })?;
        Ok(Remote { server, token })
    }

    /// One request, waiting while the server is busy: a 429 (its heavy jobs are all taken,
    /// e.g. by a release) is tried again after its `Retry-After`, for at most
    /// `BUSY_WAIT_S_MAX` in all. Every remote command only reads (a backup too), so trying
    /// again changes nothing.
    fn call(&self, method: &str, path: &str) -> anyhow::Result<ureq::Response> {
        let mut waited_s = 0;
        loop {
            match self.call_once(method, path)? {
                Answer::Done(r) => return Ok(*r),
                Answer::Busy { retry_after_s } if waited_s < BUSY_WAIT_S_MAX => {
                    let wait_s = retry_after_s.clamp(1, BUSY_WAIT_S_MAX - waited_s);
                    eprintln!(
                        "the server is busy with other heavy jobs; trying again in {wait_s} s"
                    );
                    std::thread::sleep(std::time::Duration::from_secs(wait_s));
                    waited_s += wait_s;
                }
                Answer::Busy { .. } => bail!(
                    "the server stayed busy with other heavy jobs for {BUSY_WAIT_S_MAX} s; try \
                     again later"
                ),
            }
        }
    }

    fn call_once(&self, method: &str, path: &str) -> anyhow::Result<Answer> {
        let url = format!("http://{}{path}", self.server.addr);
        let answer = ureq::request(method, &url)
            .set("Authorization", &format!("Bearer {}", self.token))
            .call();
        match answer {
            Ok(r) => Ok(Answer::Done(Box::new(r))),
            Err(ureq::Error::Status(429, r)) => Ok(Answer::Busy {
                retry_after_s: r
                    .header("Retry-After")
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(1),
            }),
            Err(ureq::Error::Status(code, r)) => {
                let body: serde_json::Value = r
                    .into_string()
                    .ok()
                    .and_then(|t| serde_json::from_str(&t).ok())
                    .unwrap_or_default();
                let detail = body["detail"]
                    .as_str()
                    .or(body["title"].as_str())
                    .unwrap_or("");
                bail!("the server answered {code}: {detail}")
            }
            Err(e) => Err(anyhow::anyhow!("reaching the server at {url}: {e}")),
        }
    }

    fn json(&self, method: &str, path: &str) -> anyhow::Result<serde_json::Value> {
        let text = self.call(method, path)?.into_string()?;
        Ok(serde_json::from_str(&text)?)
    }

    /// Streams a download into `out`.
    fn download(&self, method: &str, path: &str, out: &Path) -> anyhow::Result<u64> {
        let mut reader = self.call(method, path)?.into_reader();
        let mut file =
            std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
        let n = std::io::copy(&mut reader, &mut file)?;
        file.sync_all()?;
        Ok(n)
    }
}

/// Runs `command` through the running `server`, or refuses it in one line.
pub fn run(s: &Session, server: RunningServer, command: Commands) -> anyhow::Result<ExitCode> {
    let owned = || {
        anyhow::anyhow!(
            "the server at http://{} (pid {}) owns this ledger: make this change through its API \
             (docs/http.md), or stop the server and run the command again",
            server.addr,
            server.pid
        )
    };
    match command {
        Commands::Status => status(s, &Remote::new(server)?),
        Commands::Verify { export: None, .. } => verify(&Remote::new(server)?),
        Commands::Export { file, no_personal } => export(&Remote::new(server)?, &file, no_personal),
        Commands::Beneficiary(BeneficiaryCommand::Show { who }) => {
            show(&Remote::new(server)?, &format!("/v1/beneficiaries/{who}"))
        }
        Commands::Batch(BatchCommand::Status { batch }) => {
            let path = match batch {
                Some(b) => format!("/v1/batches/{b}"),
                None => "/v1/batches".to_owned(),
            };
            show(&Remote::new(server)?, &path)
        }
        Commands::Files(FilesCommand::List { batch }) => {
            let path = match batch {
                Some(b) => format!("/v1/batches/{b}/files"),
                None => "/v1/files".to_owned(),
            };
            show(&Remote::new(server)?, &path)
        }
        Commands::Backup { dir } => backup(&Remote::new(server)?, &dir),
        Commands::Figures { as_of, programme } => {
            let mut query = Vec::new();
            if let Some(day) = as_of {
                query.push(format!("as_of={day}"));
            }
            if let Some(p) = programme {
                query.push(format!("programme={p}"));
            }
            show(
                &Remote::new(server)?,
                &format!("/v1/figures?{}", query.join("&")),
            )
        }
        _ => Err(owned()),
    }
}

fn status(s: &Session, remote: &Remote) -> anyhow::Result<ExitCode> {
    let v = remote.json("GET", "/v1/chain")?;
    if s.json {
        print_json(&v)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} records; head seq {} hash {} (through the server at http://{})",
        v["records"],
        v["head_seq"],
        v["head_hash"].as_str().unwrap_or("none"),
        remote.server.addr
    );
    Ok(ExitCode::SUCCESS)
}

fn verify(remote: &Remote) -> anyhow::Result<ExitCode> {
    let v = remote.json("POST", "/v1/chain/verify")?;
    if v["ok"].as_bool() == Some(true) {
        println!(
            "verified {} records through the server at http://{}",
            v["records"], remote.server.addr
        );
        Ok(ExitCode::SUCCESS)
    } else {
        println!("TAMPERED: {v}");
        Ok(ExitCode::from(super::EXIT_TAMPERED))
    }
}

fn export(remote: &Remote, file: &Path, no_personal: bool) -> anyhow::Result<ExitCode> {
    if !no_personal {
        eprintln!("note: an export through the server leaves the personal data out");
    }
    let n = remote.download("GET", "/v1/chain/export", file)?;
    println!(
        "exported {n} bytes to {} (through the server)",
        file.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn show(remote: &Remote, path: &str) -> anyhow::Result<ExitCode> {
    print_json(&remote.json("GET", path)?)?;
    Ok(ExitCode::SUCCESS)
}

/// Downloads the server's live backup and unpacks it into `dir`, then checks it against its
/// manifest.
fn backup(remote: &Remote, dir: &Path) -> anyhow::Result<ExitCode> {
    if !crate::ledger::is_empty_dir(dir) {
        bail!(
            "{} is not empty; a backup is written only into a new or empty directory",
            dir.display()
        );
    }
    let reader = remote.call("POST", "/v1/backup")?.into_reader();
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    tar::Archive::new(reader)
        .unpack(dir)
        .with_context(|| format!("unpacking the backup into {}", dir.display()))?;
    let manifest = crate::app::backup::check(dir)?;
    super::chain::print_backup(dir, &manifest);
    Ok(ExitCode::SUCCESS)
}
