//! Live backup and restore, and the command line beside a running server. A backup taken while
//! the server runs and a batch is being released restores into an empty directory with the
//! same head, and every payment file it names downloads; a backup taken between a release's
//! two halves (files kept, release not yet recorded) restores an approved batch that can be
//! released there; an altered backup is refused naming the file; while the server runs,
//! read-only commands answer through it and writes are refused in one line.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use chitra::domain::event::BatchKind;
use chitra::domain::event::SchemeParam;
use chitra::domain::types::{FileId, Programme};
use common::bin::{self, stderr, stdout, BIN};
use common::fixtures::{bank, enrolment, monthly, p, settings};

const RATES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/ledger-data/rates");

fn chitra_with(dir: &Path, token: Option<&str>, args: &[&str]) -> Output {
    let mut c = Command::new(BIN);
    c.arg("--data-dir").arg(dir).args(args);
    match token {
        Some(t) => c.env("CHITRA_TOKEN", t),
        None => c.env_remove("CHITRA_TOKEN"),
    };
    c.output().expect("run chitra")
}

fn ok(dir: &Path, token: Option<&str>, args: &[&str]) -> String {
    let out = chitra_with(dir, token, args);
    assert!(
        out.status.success(),
        "{args:?}: {}{}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

/// A ledger with a roster of `people` and an approved BTXH batch BATCH1 for 2026-10.
fn approved_ledger(dir: &Path, people: u64) -> PathBuf {
    let data = dir.join("db");
    bin::init(&data);
    ok(&data, None, &["--as", "admin:thu", "rates", "load", RATES]);
    let roster = dir.join("roster.csv");
    let f = std::fs::File::create(&roster).unwrap();
    chitra::dev::synth::write_roster_csv(f, 7, people, chitra::dev::synth::Province::hanoi())
        .unwrap();
    let r = roster.to_str().unwrap();
    ok(
        &data,
        None,
        &["--as", "officer:lan", "beneficiaries", "import", r],
    );
    ok(
        &data,
        None,
        &[
            "--as",
            "maker:hoa",
            "batch",
            "open",
            "--programme",
            "BTXH",
            "--month",
            "2026-10",
            "--funding-account",
            "3761000000002",
        ],
    );
    ok(
        &data,
        None,
        &["--as", "maker:hoa", "batch", "compute", "BATCH1"],
    );
    let review: serde_json::Value =
        serde_json::from_str(&ok(&data, None, &["batch", "review", "BATCH1", "--json"])).unwrap();
    let hash = review["batch"]["content_hash"].as_str().unwrap().to_owned();
    ok(
        &data,
        None,
        &[
            "--as",
            "checker:tuan",
            "batch",
            "approve",
            "BATCH1",
            "--content-hash",
            &hash,
        ],
    );
    data
}

/// Restores `backup` into a new directory and checks it: the manifest's head, a verifying
/// chain, and every payment file downloading with its recorded hash. Returns the file count.
fn restore_and_check(backup: &Path, into: &Path) -> usize {
    ok(into, None, &["restore", backup.to_str().unwrap()]);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(backup.join("manifest.json")).unwrap()).unwrap();
    let status: serde_json::Value =
        serde_json::from_str(&ok(into, None, &["status", "--json"])).unwrap();
    let head = match (status["head_seq"].as_u64(), status["head_hash"].as_str()) {
        (Some(seq), Some(hash)) => Some(format!("{seq}:{hash}")),
        _ => None,
    };
    assert_eq!(
        head.as_deref(),
        manifest["head"].as_str(),
        "{}",
        backup.display()
    );
    ok(into, None, &["verify"]);
    for name in ["chitra.toml", "tokens.json", "checkpoint.key"] {
        assert_eq!(
            backup.join(name).is_file(),
            into.join(name).is_file(),
            "{name}"
        );
    }
    // Every payment file downloads (checked against its recorded hash by the download).
    let l = common::open(into);
    let count = l.read(|s| s.files().len()).unwrap();
    for n in 1..=count as u64 {
        let (issued, bytes) =
            chitra::app::batches::download(&l, &p("checker:tuan"), FileId(n)).unwrap();
        assert_eq!(blake3::hash(&bytes).as_bytes(), &issued.issued.digest);
    }
    count
}

#[test]
fn a_backup_taken_while_the_server_releases_a_batch_restores_with_every_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = approved_ledger(dir.path(), 1_000);
    let tokens = data.join("tokens.json");
    let admin = bin::token_add(&tokens, "admin", "thu");
    let checker = bin::token_add(&tokens, "checker", "tuan");
    let auditor = bin::token_add(&tokens, "auditor", "minh");
    let (mut server, addr) = bin::serve(&data, &tokens, "warn", Stdio::null());

    // While the server owns the store, reads go through it and writes are refused in a line.
    let status: serde_json::Value =
        serde_json::from_str(&ok(&data, Some(&auditor), &["status", "--json"])).unwrap();
    assert!(status["records"].as_u64().unwrap() > 1_000);
    assert!(ok(&data, Some(&auditor), &["verify"]).contains("verified"));
    assert!(ok(&data, Some(&auditor), &["batch", "status"]).contains("approved"));
    let figures: serde_json::Value =
        serde_json::from_str(&ok(&data, Some(&auditor), &["figures"])).unwrap();
    assert_eq!(figures["totals"]["enrolled"], 1_000, "{figures}");
    let no_token = chitra_with(&data, None, &["status"]);
    assert_eq!(no_token.status.code(), Some(2));
    assert!(
        stderr(&no_token).contains("set CHITRA_TOKEN"),
        "{}",
        stderr(&no_token)
    );
    let write = chitra_with(
        &data,
        Some(&admin),
        &["--as", "admin:thu", "rates", "load", RATES],
    );
    assert_eq!(write.status.code(), Some(2));
    let line = stderr(&write);
    assert!(
        line.contains("owns this ledger") && line.lines().count() == 1,
        "{line}"
    );

    // Release over HTTP while backups are taken through the server, one after another.
    let release = std::thread::spawn(move || {
        ureq::post(&format!("http://{addr}/v1/batches/BATCH1/release"))
            .set("Authorization", &format!("Bearer {checker}"))
            .call()
            .map(|r| r.status())
            .map_err(|e| e.to_string())
    });
    let mut backups = Vec::new();
    loop {
        let finished = release.is_finished();
        let b = dir.path().join(format!("backup{}", backups.len()));
        ok(&data, Some(&admin), &["backup", b.to_str().unwrap()]);
        backups.push(b);
        if finished {
            break;
        }
    }
    assert_eq!(release.join().unwrap(), Ok(200));
    eprintln!("{} backups taken while the release ran", backups.len() - 1);
    let head: serde_json::Value =
        serde_json::from_str(&ok(&data, Some(&auditor), &["status", "--json"])).unwrap();
    bin::stop(&mut server);

    for (i, b) in backups.iter().enumerate() {
        let files = restore_and_check(b, &dir.path().join(format!("restored{i}")));
        if i + 1 == backups.len() {
            // The backup after the release has all of it.
            assert!(files >= 2, "the last backup holds the released files");
            let m: serde_json::Value =
                serde_json::from_slice(&std::fs::read(b.join("manifest.json")).unwrap()).unwrap();
            assert_eq!(
                m["head"].as_str().unwrap(),
                format!(
                    "{}:{}",
                    head["head_seq"],
                    head["head_hash"].as_str().unwrap()
                )
            );
        }
    }
    // The restored tokens are the originals: the admin's token works on the restored ledger.
    let restored = dir.path().join(format!("restored{}", backups.len() - 1));
    let (mut again, _) = bin::serve(
        &restored,
        &restored.join("tokens.json"),
        "warn",
        Stdio::null(),
    );
    assert!(ok(&restored, Some(&admin), &["status"]).contains("records"));
    bin::stop(&mut again);
}

#[test]
fn a_backup_between_the_two_halves_of_a_release_restores_an_approved_batch() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("db");
    bin::init(&data);
    let l = common::open(&data);
    common::enact(&l, common::fixtures::BEFORE_JULY_2024);
    common::submit(
        &l,
        "officer:lan",
        chitra::domain::Command::Enrol(enrolment(
            "001185000001",
            "Nguyễn Thị Test",
            "1985-03-01",
            Some(bank("970405", "1500200000001", "NGUYEN THI TEST")),
            vec![monthly(
                "btxh.disability_especially_severe",
                Vec::<SchemeParam>::new(),
                "2024-06",
            )],
        )),
    )
    .unwrap();
    let batch = common::approved(&l, Programme::Btxh, "2024-06", BatchKind::Regular);
    // The first half of a release: the files' bytes are kept, no record names them yet.
    let created = chitra::app::payment_files::local_time(l.now_ms());
    let release = l
        .read(|s| chitra::app::payment_files::release(s, &settings(), batch, created))
        .unwrap()
        .unwrap();
    let mut built = Vec::new();
    let new_file = || l.new_file();
    release
        .build_in_groups(&settings(), usize::MAX, &new_file, |group| {
            built.extend(group);
            Ok(())
        })
        .unwrap();
    l.sync_files().unwrap();
    assert!(!built.is_empty());
    for f in &built {
        assert_eq!(
            l.file_bytes(&f.digest).unwrap().unwrap().len() as u64,
            f.bytes
        );
    }
    let data_dir = chitra::app::config::DataDir::existing(&data).unwrap();
    let backup = dir.path().join("backup");
    let manifest = chitra::app::backup::backup(&l, &data_dir, &backup).unwrap();
    assert_eq!(
        manifest.payment_files, 0,
        "no record names the kept files yet"
    );
    drop(l);

    let restored = dir.path().join("restored");
    chitra::app::backup::restore(&backup, &restored).unwrap();
    let r = common::open(&restored);
    let status = r.read(|s| s.batch(batch).map(|b| b.status)).unwrap();
    assert_eq!(status, Some(chitra::domain::state::BatchStatus::Approved));
    let released =
        chitra::app::batches::release(&r, &settings(), &p("checker:tuan"), None, batch).unwrap();
    assert!(!released.files.is_empty());
    for (n, f) in released.files.iter().enumerate() {
        let id = FileId(n as u64 + 1);
        let (_, bytes) = chitra::app::batches::download(&r, &p("checker:tuan"), id).unwrap();
        assert_eq!(blake3::hash(&bytes).as_bytes(), &f.digest);
    }
}

#[test]
fn an_altered_or_incomplete_backup_is_refused_naming_the_file_and_restores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = approved_ledger(dir.path(), 20);
    ok(
        &data,
        None,
        &["--as", "checker:tuan", "batch", "release", "BATCH1"],
    );
    ok(&data, None, &["key", "init"]);
    let backup = dir.path().join("backup");
    let b = backup.to_str().unwrap();
    ok(&data, None, &["backup", b]);
    // Into a directory that is not empty: refused.
    let again = chitra_with(&data, None, &["backup", b]);
    assert!(
        stderr(&again).contains("is not empty"),
        "{}",
        stderr(&again)
    );

    let file = std::fs::read_dir(backup.join("files"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let original = std::fs::read(&file).unwrap();
    let mut altered = original.clone();
    altered[10] ^= 1;
    std::fs::write(&file, &altered).unwrap();
    let target = dir.path().join("restored");
    let out = chitra_with(&target, None, &["restore", b]);
    assert_eq!(out.status.code(), Some(2));
    let name = file.file_name().unwrap().to_str().unwrap();
    assert!(
        stderr(&out).contains(name) && stderr(&out).contains("does not match the manifest"),
        "{}",
        stderr(&out)
    );
    assert!(!target.exists() || chitra::ledger::is_empty_dir(&target));
    std::fs::write(&file, &original).unwrap();

    std::fs::rename(backup.join("manifest.json"), dir.path().join("m.json")).unwrap();
    let out = chitra_with(&target, None, &["restore", b]);
    assert!(
        stderr(&out).contains("not a complete backup"),
        "{}",
        stderr(&out)
    );
    std::fs::rename(dir.path().join("m.json"), backup.join("manifest.json")).unwrap();
    assert!(restore_and_check(&backup, &target) >= 2);
    // The restored ledger signs checkpoints with the same key.
    assert_eq!(
        ok(&target, None, &["key", "show"]),
        ok(&data, None, &["key", "show"])
    );
    // A restore never writes over a ledger.
    let out = chitra_with(&data, None, &["restore", b]);
    assert!(stderr(&out).contains("is not empty"), "{}", stderr(&out));
}

/// A server whose heavy jobs are all taken (a release, another backup) answers 429 with
/// `Retry-After`; a backup through it waits and tries again instead of failing. A proxy in
/// front of the real server answers the first request with that 429 and forwards the rest.
#[test]
fn a_backup_beside_a_server_whose_heavy_jobs_are_taken_waits_and_tries_again() {
    let dir = tempfile::tempdir().unwrap();
    let data = approved_ledger(dir.path(), 10);
    let tokens = data.join("tokens.json");
    let admin = bin::token_add(&tokens, "admin", "thu");
    let (mut server, addr) = bin::serve(&data, &tokens, "warn", Stdio::null());
    let proxy = BusyOnce::start(&addr);
    let announced = data.join(chitra::app::config::SERVER_FILE);
    let mut server_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&announced).unwrap()).unwrap();
    server_json["addr"] = proxy.addr.clone().into();
    std::fs::write(&announced, server_json.to_string()).unwrap();

    let b = dir.path().join("backup");
    let out = chitra_with(&data, Some(&admin), &["backup", b.to_str().unwrap()]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stderr(&out).contains("busy with other heavy jobs; trying again in 1 s"),
        "{}",
        stderr(&out)
    );
    assert_eq!(proxy.refused(), 1);
    assert!(b.join("manifest.json").exists());
    bin::stop(&mut server);
}

/// A loopback proxy that answers its first connection with 429 `Retry-After: 1` and forwards
/// every later one to `upstream`.
struct BusyOnce {
    addr: String,
    refused: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl BusyOnce {
    fn start(upstream: &str) -> BusyOnce {
        use std::io::Write;
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let refused = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (upstream, count) = (upstream.to_owned(), refused.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(mut client) = client else { return };
                if count.load(Ordering::SeqCst) == 0 {
                    count.store(1, Ordering::SeqCst);
                    // Read the request first: closing a socket with unread bytes sends a reset,
                    // which can reach the client before it has read the answer.
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        match std::io::Read::read(&mut client, &mut byte) {
                            Ok(1) => head.push(byte[0]),
                            _ => break,
                        }
                    }
                    let body = r#"{"type":"urn:chitra:problem:busy","title":"busy","status":429}"#;
                    let _ = write!(
                        client,
                        "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Type: \
                         application/problem+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    continue;
                }
                let server = std::net::TcpStream::connect(&upstream).unwrap();
                let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || std::io::copy(&mut c2, &mut s2));
                std::thread::spawn(move || {
                    let (mut server, mut client) = (server, client);
                    let _ = std::io::copy(&mut server, &mut client);
                    let _ = client.shutdown(std::net::Shutdown::Both);
                });
            }
        });
        BusyOnce { addr, refused }
    }

    /// Requests answered 429.
    fn refused(&self) -> usize {
        self.refused.load(std::sync::atomic::Ordering::SeqCst)
    }
}
