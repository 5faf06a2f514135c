//! `chitra bench web`: how long the dashboard's pages take to render on the server with
//! `persons` BTXH beneficiaries paid for `months` months (defaults: 1,000,000 and 12, the
//! issue's target of under 100 ms a page), then again while the next month's batch is being
//! computed on all cores. The data directory is filled once (enrol, then for each month open,
//! compute, approve, release with files and ingest the banks' reports with 1% returned, each
//! phase by `monthly::Run`) and reused by later runs. Last, how long a write waits while the
//! newest paid batch's review is built: built at once (the state's read lock held for the
//! whole walk) and built a step at a time as the dashboard builds it (`web::reviews`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::domain::types::{BankBin, Month, Principal};
use crate::http::auth::{token_hash, TokenEntry, Tokens};
use crate::http::web::bench::{render_times, PageTiming};
use crate::http::{AppState, Limits};
use crate::ledger::Ledger;

use super::monthly::Run;

/// The bench's people and their tokens (in memory only).
const PEOPLE: [(&str, &str); 3] = [
    ("bench-checker", "checker:bench"),
    ("bench-officer", "officer:bench"),
    ("bench-auditor", "auditor:bench"),
];

/// Fills an empty ledger with `months` paid months of `persons` people, the last one `last`.
fn populate(
    ledger: &Ledger,
    persons: u64,
    months: u32,
    last: Month,
    seed: u64,
) -> anyhow::Result<()> {
    let run = Run::new(ledger);
    let mut first = last;
    for _ in 1..months {
        first = first.prev();
    }
    run.load_rates()?;
    let started = Instant::now();
    run.enrol(persons, seed, first)?;
    eprintln!(
        "enrolled {persons} people in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let mut m = first;
    while m <= last {
        let started = Instant::now();
        let batch = run.open(m)?;
        let (target, payments) = run.compute(batch)?;
        run.append(batch, target, payments)?;
        run.approve(batch)?;
        let files = run.release(batch)?;
        let reports = run.bank_reports(&files)?;
        run.ingest(&reports)?;
        eprintln!(
            "paid {m} ({batch}) in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        m = m.next();
    }
    Ok(())
}

fn tokens(bank: Option<BankBin>) -> anyhow::Result<Tokens> {
    let entry = |token: &str, principal: &str, bin: Option<BankBin>| -> anyhow::Result<_> {
        let principal = Principal::parse(principal).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(TokenEntry {
            hash: token_hash(token).to_hex().to_string(),
            role: principal.role(),
            principal,
            bin,
            created_at_ms: 0,
            created_by_request: None,
        })
    };
    let mut entries = PEOPLE
        .iter()
        .map(|(t, p)| entry(t, p, None))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if let Some(bin) = bank {
        entries.push(entry("bench-bank", &format!("bank:{bin}"), Some(bin))?);
    }
    Ok(Tokens::in_memory(entries)?)
}

/// Writes acknowledged while a review was being built.
#[derive(Debug, Clone)]
pub struct WritesDuringReview {
    /// Built a step at a time (`false`: at once, under one hold of the read lock).
    pub in_steps: bool,
    pub lines: usize,
    pub build: Duration,
    /// Each write's time from submission to acknowledgement (durable), sorted.
    pub writes: Vec<Duration>,
}

/// Builds the review of `batch` on another thread (at once, or a step at a time) while this
/// one records a download of `file` over and over (the command only: the file is not read),
/// each acknowledged before the next.
fn writes_during_review(
    ledger: &Ledger,
    batch: crate::domain::types::BatchId,
    file: crate::domain::types::FileId,
    in_steps: bool,
) -> anyhow::Result<WritesDuringReview> {
    use crate::http::web::reviews;
    let key = ledger
        .read(|s| reviews::computation(s, batch))?
        .ok_or_else(|| anyhow::anyhow!("{batch} is not computed"))?;
    let lines = ledger.read(|s| s.batch(batch).map_or(0, |b| b.payments.len()))?;
    let who = Principal::parse("checker:bench").map_err(|e| anyhow::anyhow!("{e}"))?;
    // The file's digest, read and hashed once: each write below is the command alone.
    let digest = ledger
        .read(|s| s.file(file).map(|f| f.issued.digest))?
        .ok_or_else(|| anyhow::anyhow!("no file {file}"))?;
    let record = || {
        ledger.submit(crate::ledger::Submission {
            principal: who.clone(),
            idempotency_key: None,
            command: crate::domain::Command::RecordFileDownload(
                crate::domain::command::RecordFileDownload { file, digest },
            ),
        })
    };
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let builder = scope.spawn(|| {
            let started = Instant::now();
            let built = if in_steps {
                reviews::reviewed_in_steps(ledger, key, reviews::REVIEW_STEP_LINES)
            } else {
                ledger
                    .read_unconfirmed(|s| reviews::reviewed(s, key))
                    .into_parts()
                    .0
            };
            done.store(true, Ordering::SeqCst);
            (started.elapsed(), built.is_some())
        });
        let mut writes = Vec::new();
        while !done.load(Ordering::SeqCst) {
            let started = Instant::now();
            let wrote = record();
            writes.push(started.elapsed());
            if let Err(e) = wrote {
                done.store(true, Ordering::SeqCst);
                let _ = builder.join();
                anyhow::bail!("recording a download: {e}");
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let (build, built) = builder
            .join()
            .map_err(|_| anyhow::anyhow!("the review panicked"))?;
        anyhow::ensure!(built, "{batch} moved on while its review was built");
        writes.sort();
        Ok(WritesDuringReview {
            in_steps,
            lines,
            build,
            writes,
        })
    })
}

/// What the bench measured: page timings before and during a computation, then writes
/// while a review is built (at once, then a step at a time).
pub type Measured = (Vec<PageTiming>, Vec<PageTiming>, Vec<WritesDuringReview>);

/// Runs the bench on `ledger`: the timings before and during a computation, then the writes.
pub fn run(
    ledger: &Ledger,
    persons: u64,
    months: u32,
    samples: usize,
    seed: u64,
) -> anyhow::Result<Measured> {
    let last = Month::parse("2024-08").expect("a valid month");
    if ledger.read(|s| s.batches().is_empty())? {
        populate(ledger, persons, months, last, seed)?;
    }
    let (batch, bank, name, file) = ledger.read(|s| {
        // The last month paid (not a batch an earlier run computed only to load the machine).
        let batch = s
            .batches()
            .iter()
            .rev()
            .find(|b| b.released_seq.is_some())
            .map(|b| b.opened.batch);
        let bank = s.files().iter().find_map(|f| match f.issued.channel {
            crate::domain::event::Channel::Bank(bin) => Some(bin),
            crate::domain::event::Channel::Cash => None,
        });
        let file = s.files().last().map(|f| f.issued.file);
        let name = s
            .beneficiary(crate::domain::types::BeneficiaryId(1))
            .and_then(|b| b.identity.known().map(|i| i.full_name.clone()));
        (batch, bank, name, file)
    })?;
    let batch = batch.ok_or_else(|| anyhow::anyhow!("no batch in the ledger"))?;
    let settings = crate::dev::config::demo_settings(
        crate::domain::types::ProvinceCode::parse("01").expect("a province code"),
    );
    let state = AppState::new(ledger.clone(), tokens(bank)?, Limits::default(), settings);
    // The name as a browser sends it in a query string.
    let query: String = name
        .unwrap_or_default()
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => (b as char).to_string(),
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let pages: Vec<(&str, String)> = vec![
        ("bench-checker", "/overview".into()),
        ("bench-checker", "/batches".into()),
        ("bench-checker", format!("/batches/{batch}")),
        ("bench-checker", "/files".into()),
        ("bench-officer", format!("/people?q={query}")),
        ("bench-officer", "/people/B1".into()),
        ("bench-auditor", "/people/B1".into()),
        ("bench-auditor", "/audit".into()),
        ("bench-bank", "/files".into()),
    ];
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // The server's warm-up (the search index, the newest batches' reviews), timed: what the
    // first views no longer pay for.
    let started = Instant::now();
    runtime.block_on(async {
        crate::http::web::warm::start(&state);
        crate::http::web::warm::settled(&state).await;
    });
    eprintln!(
        "warm-up (search index, the newest batches' reviews) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let quiet = runtime.block_on(render_times(state.clone(), &pages, samples));
    // Again while the next month's batch is computed on all cores (nothing appended).
    let run = Run::new(ledger);
    let next = run.open(last.next())?;
    let computing = std::thread::scope(|scope| {
        let worker = scope.spawn(|| run.compute(next).map(|_| ()));
        let timings = runtime.block_on(render_times(state, &pages, samples));
        worker
            .join()
            .map_err(|_| anyhow::anyhow!("the computation panicked"))??;
        anyhow::Ok(timings)
    })?;
    ledger
        .submit(crate::ledger::Submission {
            principal: Principal::parse("maker:bench").map_err(|e| anyhow::anyhow!("{e}"))?,
            idempotency_key: None,
            command: crate::domain::Command::CancelBatch(crate::domain::command::CancelBatch {
                batch: next,
                reason: "bench web: computed only to load the machine".into(),
            }),
        })
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let file = file.ok_or_else(|| anyhow::anyhow!("no payment file in the ledger"))?;
    let writes = [false, true]
        .into_iter()
        .map(|in_steps| writes_during_review(ledger, batch, file, in_steps))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok((quiet, computing, writes))
}

/// `chitra bench web`: runs the bench and prints a line per page, before and during a
/// computation.
pub fn command(
    ledger: &Ledger,
    persons: u64,
    months: u32,
    samples: usize,
    seed: u64,
) -> anyhow::Result<std::process::ExitCode> {
    let (quiet, computing, writes) = run(ledger, persons, months, samples, seed)?;
    let people = ledger.read(|s| s.beneficiary_count())?;
    let batches = ledger.read(|s| s.batches().len())?;
    println!(
        "{people} beneficiaries, {batches} batches; {samples} samples a page (median / max, ms)"
    );
    for (title, timings) in [("idle", &quiet), ("while a batch is computed", &computing)] {
        println!("{title}:");
        for t in timings {
            println!(
                "  {:<40} {:<16} {} {:>8} B {:>9.1} {:>9.1}",
                t.path,
                t.principal,
                t.status,
                t.bytes,
                t.median().as_secs_f64() * 1e3,
                t.max().as_secs_f64() * 1e3
            );
        }
    }
    println!("writes (a download recorded) while a review is built (median / max, ms):");
    for w in &writes {
        let how = if w.in_steps {
            format!(
                "a step of {} lines at a time",
                crate::http::web::reviews::REVIEW_STEP_LINES
            )
        } else {
            "at once".to_owned()
        };
        println!(
            "  review of {} lines, {how}: built in {:.1} ms; {} writes {:>9.1} {:>9.1}",
            w.lines,
            w.build.as_secs_f64() * 1e3,
            w.writes.len(),
            w.writes
                .get(w.writes.len() / 2)
                .copied()
                .unwrap_or_default()
                .as_secs_f64()
                * 1e3,
            w.writes.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        );
    }
    Ok(std::process::ExitCode::SUCCESS)
}
