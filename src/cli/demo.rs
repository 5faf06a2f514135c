//! `chitra demo`: a synthetic province paid for June, July and August 2024 across the July
//! 2024 rate change, with the new decrees loaded only after July was paid, so August carries
//! July's arrears. Every step goes through the same commands staff use: a roster import, rate
//! loading, batches computed by a maker and approved by a checker, payment files, simulated bank
//! status with a few returns (including a "deceased" one), reconciliation and closing, and a
//! final verification of the whole chain. Running it again on the same data directory continues
//! where it stopped and never pays anyone twice. It runs on a clock of those days (lists out by
//! the 24th of M−1, reports in by the 15th of M) so the calendar judges it as it would a
//! department: one bank reports August only on 23 September, and the demo shows it late.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;

use super::Session;
use crate::app::batches;
use crate::domain::batch::reconciliation;
use crate::domain::command::*;
use crate::domain::event::*;
use crate::domain::state::{BatchStatus, PaymentStatus};
use crate::domain::types::*;
use crate::domain::Command;
use crate::formats::bank::{self as files, IsoDateTime};
use crate::ledger::{Ledger, Submission};

const MONTHS: [&str; 3] = ["2024-06", "2024-07", "2024-08"];
const PROGRAMMES: [Programme; 2] = [Programme::Ncc, Programme::Btxh];
const JULY_2024_SCHEDULES: [&str; 3] = [
    "btxh-nd76-2024",
    "ncc-nd77-2024",
    "ncc-base-salary-nd73-2024",
];
/// Funding accounts of the demo departments (illustrative).
const FUNDING: [(Programme, &str); 2] = [
    (Programme::Ncc, "3761000000001"),
    (Programme::Btxh, "3761000000002"),
];

/// The month whose payment report one bank sends late (after the 20th of the next month), the
/// day it does, and the bank (Vietcombank).
const LATE_REPORT: (&str, &str, &str) = ("2024-08", "2024-09-23", "970436");

/// Whether the bank reports on the month's payments with the others, on time.
fn reports_on_time(bin: BankBin, month: Month) -> bool {
    month.to_string() != LATE_REPORT.0 || bin.to_string() != LATE_REPORT.2
}

/// The demo's clock: the day of June to September 2024 on which each step happens (09:00 in
/// Vietnam), so that the calendar judges the demo's lists and reports as it would a
/// department's. The writer never lets time run backwards along the chain, so a demo continued
/// on a ledger written later keeps that later time.
#[derive(Default, Clone)]
struct DemoClock(std::sync::Arc<std::sync::atomic::AtomicI64>);

impl DemoClock {
    fn set(&self, day: &str) {
        let date = Date::parse(day).expect("a valid demo day");
        let nine_local_in_utc_ms = 2 * 3_600_000;
        self.0.store(
            date.days_since_epoch() * 86_400_000 + nine_local_in_utc_ms,
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    fn clock(&self) -> crate::ledger::Clock {
        let t = self.0.clone();
        std::sync::Arc::new(move || t.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
}

struct Actors {
    officer: Principal,
    admin: Principal,
    maker: Principal,
    checker: Principal,
}

fn actors() -> Actors {
    let p = |s: &str| Principal::parse(s).expect("valid principal");
    Actors {
        officer: p("officer:demo-lan"),
        admin: p("admin:demo-thu"),
        maker: p("maker:demo-hoa"),
        checker: p("checker:demo-tuan"),
    }
}

fn submit(
    ledger: &Ledger,
    who: &Principal,
    command: Command,
) -> anyhow::Result<crate::ledger::Receipt> {
    ledger
        .submit(Submission {
            principal: who.clone(),
            idempotency_key: None,
            command,
        })
        .map_err(|e| anyhow::anyhow!("refused: {e}"))
}

pub fn run(s: &Session, persons: u64, province: &str, seed: u64) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    let code = ProvinceCode::parse(province).map_err(|e| anyhow::anyhow!("--province: {e}"))?;
    if crate::app::config::DataDir::existing(&s.data_dir).is_err() {
        // The demo may create its ledger, with a configuration for its province.
        crate::app::config::DataDir::init(&s.data_dir, &crate::dev::config::demo_config(code))?;
    }
    let settings = s.settings()?;
    s.ledger_dir()?;
    let clock = DemoClock::default();
    clock.set("2024-05-31");
    let ledger = super::step("opening and verifying the ledger", || {
        Ledger::open(crate::ledger::Config {
            clock: clock.clock(),
            ..crate::ledger::Config::new(&s.data_dir)
        })
    })
    .with_context(|| format!("opening the ledger in {}", s.data_dir.display()))?;
    let who = actors();
    let files_dir = files_dir(&s.data_dir);
    println!(
        "chitra demo in {} (payment files in {})",
        s.data_dir.display(),
        files_dir.display()
    );
    println!(
        "maker {} opens and computes each batch; checker {} reviews, approves and releases it",
        who.maker, who.checker
    );
    enrol_province(&ledger, &who, persons, province, seed)?;
    check_identities(&ledger, &who, persons, province, seed)?;
    allocate_funds(&ledger, &who, persons)?;
    load_rates(&ledger, &who, false)?;
    for month in MONTHS {
        let month = Month::parse(month).expect("valid month");
        // The list of M goes out by the 25th of M−1 (June's on 31 May, when the caseload was
        // taken over: late).
        clock.set(&format!("{}-24", month.prev()));
        if month == Month::parse("2024-08").expect("valid") {
            // The July 2024 decrees (ND 76/2024, ND 77/2024) reach the ledger only now, after
            // July was paid at the old rates: August must carry July's arrears.
            load_rates(&ledger, &who, true)?;
        }
        for programme in PROGRAMMES {
            pay(&ledger, &settings, &who, programme, month, &files_dir)?;
        }
        // The banks and pay points report by the 15th of M, on time (due the 20th of M+1)...
        clock.set(&format!("{month}-15"));
        for programme in PROGRAMMES {
            report_and_close(&ledger, &who, programme, month, |bin| {
                reports_on_time(bin, month)
            })?;
        }
        // ...but for August one bank reports only on 23 September: late.
        if month.to_string() == LATE_REPORT.0 {
            clock.set(LATE_REPORT.1);
            for programme in PROGRAMMES {
                report_and_close(&ledger, &who, programme, month, |_| true)?;
            }
        }
        report(&ledger, month)?;
        fix_returns(&ledger, &who, month)?;
    }
    let calendars = crate::app::reports::calendar(
        &ledger,
        &PROGRAMMES,
        crate::ledger::local_date(ledger.now_ms()),
    )?;
    for c in &calendars {
        super::reports::print_late(c);
    }
    let report = ledger
        .verify(None, |_| {})
        .map_err(|e| anyhow::anyhow!("the chain does not verify: {e}"))?;
    let head = report.verified.head.expect("the demo appended records");
    println!(
        "\nverified the whole chain: {} records, head seq {} hash {} ({:.1} s in all)",
        report.verified.records,
        head.seq,
        crate::chain::hex(&head.hash),
        started.elapsed().as_secs_f64()
    );
    println!();
    let figures = crate::app::reports::figures(&ledger, None)?;
    super::reports::print_figures(&figures);
    show_household(&ledger)?;
    let funds = ledger.read(crate::domain::funds::balances)?;
    for b in &funds {
        println!(
            "funds {} {}..{}: allocated {}, paid {}, returned {}, remaining {}",
            b.programme, b.from, b.to, b.allocated, b.paid, b.returned, b.remaining
        );
    }
    dashboard_tokens(s, &who)?;
    let at = format!("chitra --data-dir {}", s.data_dir.display());
    println!("try:");
    for command in [
        "batch status",
        "batch review BATCH3",
        "batch breaks",
        "figures",
        "funds status",
        "beneficiary show B1",
        "verify",
    ] {
        println!("  {at} {command}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The synthetic roster of the province (`persons` rows: people, and the households caring
/// for some of them) as its files stood in May 2024.
fn roster_as_of_may(
    persons: u64,
    province: &str,
    seed: u64,
) -> anyhow::Result<Vec<crate::formats::roster::RosterRow>> {
    let code = ProvinceCode::parse(province)?;
    let p = crate::dev::synth::Province::select(
        crate::formats::reference::Reference::embedded(),
        code,
    )?;
    let may = Month::parse("2024-05").expect("valid");
    Ok(p.roster_rows(seed, persons, may).collect())
}

/// The synthetic people of the province as its files stood in May 2024, households included.
fn people_as_of_may(persons: u64, province: &str, seed: u64) -> anyhow::Result<Vec<Enrol>> {
    Ok(roster_as_of_may(persons, province, seed)?
        .into_iter()
        .map(|r| r.enrol)
        .collect())
}

/// One household paid for the care of another person (ND 20/2021 Art 20(2)(c)-(d)): the
/// household, the person, the scheme, and what the household was paid in each month's BTXH
/// batches.
fn show_household(ledger: &Ledger) -> anyhow::Result<()> {
    let shown = ledger.read(|s| {
        let (person, ent) = s.beneficiaries().iter().find_map(|b| {
            b.entitlements
                .iter()
                .filter_map(|id| s.entitlement(*id))
                .find(|e| e.grant.payee.is_some())
                .map(|e| (b.id, e))
        })?;
        let household = ent.grant.payee?;
        let paid: Vec<String> = s
            .batches()
            .iter()
            .filter(|b| b.opened.programme == Programme::Btxh && b.released_seq.is_some())
            .flat_map(|b| {
                s.payments_of(b)
                    .filter(|(_, p)| p.beneficiary() == household)
                    .map(|(_, p)| format!("{} {}", b.opened.month, p.amount))
            })
            .collect();
        Some((household, person, ent.grant.scheme.clone(), paid))
    })?;
    if let Some((household, person, scheme, paid)) = shown {
        println!(
            "a household paid for another's care: {household} receives {scheme} for {person}; paid: {}",
            if paid.is_empty() {
                "nothing yet".to_owned()
            } else {
                paid.join(", ")
            }
        );
    }
    Ok(())
}

/// The province's people checked against the population database (Project 06): the synthetic
/// answer file, recorded once (most match; a few differ, are unknown or reported dead, and are
/// held from the batches).
fn check_identities(
    ledger: &Ledger,
    who: &Actors,
    persons: u64,
    province: &str,
    seed: u64,
) -> anyhow::Result<()> {
    const REFERENCE: &str = "demo-check-2024-05";
    if ledger.read(|s| s.identity().has_reference(REFERENCE))? {
        return Ok(());
    }
    let people = people_as_of_may(persons, province, seed)?;
    let answered_on = Date::parse("2024-05-31").expect("valid");
    let rows = crate::dev::synth::identity_answers(seed, &people, answered_on);
    let text = crate::formats::identity_check::write_answers(&rows);
    submit(
        ledger,
        &who.officer,
        Command::RecordIdentityCheck(crate::domain::identity::RecordIdentityCheck {
            reference: REFERENCE.into(),
            answered_on,
            source_digest: *blake3::hash(text.as_bytes()).as_bytes(),
            rows,
        }),
    )?;
    let held = ledger.read(|s| {
        s.beneficiaries()
            .iter()
            .filter(|b| s.identity().hold_reason(b.id, b.programme, false).is_some())
            .count()
    })?;
    println!("checked {persons} people against the population database: {held} held (differ, unknown or reported dead)");
    Ok(())
}

/// The Treasury's allocation for June to August 2024 of NCC and BTXH, recorded once.
fn allocate_funds(ledger: &Ledger, who: &Actors, persons: u64) -> anyhow::Result<()> {
    if !ledger.read(|s| s.allocations().is_empty())? {
        return Ok(());
    }
    for (programme, _) in FUNDING {
        // Ample for the demo: 15,000,000 VND a person a month, three months.
        let amount = crate::domain::types::Vnd(i64::try_from(persons)? * 45_000_000);
        submit(
            ledger,
            &who.checker,
            Command::AllocateFunds(crate::domain::event::FundsAllocated {
                programme,
                from: Month::parse("2024-06").expect("valid"),
                to: Month::parse("2024-08").expect("valid"),
                decision: crate::domain::event::Decision {
                    number: format!("{}/QĐ-KBNN", 100 + programme as u8),
                    date: Date::parse("2024-05-20").expect("valid"),
                    signer: "Giám đốc Kho bạc Nhà nước".into(),
                },
                amount,
            }),
        )?;
    }
    println!("recorded the Treasury's allocations for June to August 2024");
    Ok(())
}

/// Payment files are copied next to the data directory for people to open.
fn files_dir(data_dir: &Path) -> PathBuf {
    let parent = data_dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    parent.join("payment-files")
}

fn enrol_province(
    ledger: &Ledger,
    who: &Actors,
    persons: u64,
    province: &str,
    seed: u64,
) -> anyhow::Result<()> {
    if ledger.read(|s| s.beneficiary_count())? > 0 {
        println!(
            "the province is already enrolled ({} beneficiaries): continuing",
            ledger.read(|s| s.beneficiary_count())?
        );
        return Ok(());
    }
    let june = Month::parse("2024-06").expect("valid");
    let may_end = Date::parse("2024-05-31").expect("valid");
    // The ledger starts in June 2024: the months before were paid by the system it replaces,
    // so every NCC and BTXH entitlement is taken on from June (with its decision dated by
    // then). The social pension (HTXH) only exists from July 2025 and keeps its own months.
    // People as the province's files stood in May 2024, so nobody is taken on from June for
    // a month before they were born.
    let take_on = |ent: &mut NewEntitlement| {
        if ent.programme != Programme::Htxh {
            ent.effective_from = june;
        }
        // The demo's clock reads 31 May 2024 at enrolment, and a decision may not be dated
        // later than the day it is recorded: a social-pension decision (from July 2025) is
        // recorded as taken in advance.
        ent.decision.date = ent.decision.date.min(may_end);
    };
    let mut payees = Vec::new();
    let rows: Vec<(u64, Enrol)> = roster_as_of_may(persons, province, seed)?
        .into_iter()
        .map(|r| {
            let mut e = r.enrol;
            e.entitlements.iter_mut().for_each(take_on);
            if let Some(d) = &mut e.decision {
                d.date = d.date.min(may_end);
            }
            if let Some(mut p) = r.payee {
                take_on(&mut p.entitlement);
                payees.push(p);
            }
            (r.line, e)
        })
        .collect();
    let households = payees.len();
    let receipt = submit(
        ledger,
        &who.officer,
        Command::ImportRoster(ImportRoster { rows, payees }),
    )?;
    println!(
        "enrolled {persons} synthetic beneficiaries of province {province}, {households} of them households paid for another's care ({} records)",
        receipt.count
    );
    Ok(())
}

fn load_rates(ledger: &Ledger, who: &Actors, july_2024: bool) -> anyhow::Result<()> {
    let all = crate::formats::reference::rates::embedded()?;
    for schedule in all {
        if JULY_2024_SCHEDULES.contains(&schedule.schedule.as_str()) != july_2024 {
            continue;
        }
        let id = schedule.schedule.clone();
        if submit(ledger, &who.admin, Command::EnactRateSchedule(schedule))?.count > 0 {
            println!("enacted rate schedule {id}");
        }
    }
    Ok(())
}

/// Takes one programme's batch for a month as far as it can go: open, compute, approve,
/// release with files, bank status, close. Steps already done are skipped.
fn pay(
    ledger: &Ledger,
    settings: &crate::app::config::Settings,
    who: &Actors,
    programme: Programme,
    month: Month,
    files_dir: &Path,
) -> anyhow::Result<()> {
    let batch = match regular_batch(ledger, programme, month)? {
        Some(b) => b,
        None => {
            let funding = FUNDING
                .iter()
                .find(|(p, _)| *p == programme)
                .expect("a funding account")
                .1;
            submit(
                ledger,
                &who.maker,
                Command::OpenBatch(OpenBatch {
                    programme,
                    month,
                    funding_account: funding.into(),
                    kind: BatchKind::Regular,
                }),
            )?;
            regular_batch(ledger, programme, month)?.expect("just opened")
        }
    };
    let status = |l: &Ledger| l.read(|s| s.batch(batch).map(|b| b.status)).ok().flatten();
    if status(ledger) == Some(BatchStatus::Open) {
        let done = batches::compute(ledger, &who.maker, None, batch)?;
        if !done.plan.not_computable.is_empty() {
            println!(
                "  {batch}: {} people could not be priced (e.g. {})",
                done.plan.not_computable.len(),
                super::word(&done.plan.not_computable.first())
            );
        }
    }
    if status(ledger) == Some(BatchStatus::Computed) {
        let c = ledger
            .read(|s| s.batch(batch).and_then(|b| b.computed.clone()))?
            .expect("computed");
        submit(
            ledger,
            &who.checker,
            Command::ApproveBatch(ApproveBatch {
                batch,
                content_hash: c.content_hash,
                totals: c.totals,
            }),
        )?;
    }
    if status(ledger) == Some(BatchStatus::Approved) {
        let released = batches::release(ledger, settings, &who.checker, None, batch)?;
        write_files(ledger, &released.files, files_dir)?;
    }
    Ok(())
}

/// The bank status of one programme's batch for a month, from the banks `reports` lets report
/// now (and every pay point), and its close once everything is reported. A run interrupted
/// after the release continues here: reports already ingested append nothing.
fn report_and_close(
    ledger: &Ledger,
    who: &Actors,
    programme: Programme,
    month: Month,
    reports: impl Fn(BankBin) -> bool,
) -> anyhow::Result<()> {
    let Some(batch) = regular_batch(ledger, programme, month)? else {
        return Ok(());
    };
    let status = |l: &Ledger| l.read(|s| s.batch(batch).map(|b| b.status)).ok().flatten();
    if status(ledger) == Some(BatchStatus::Released) {
        play_the_banks(ledger, &who.checker, batch, &reports)?;
    }
    if status(ledger) == Some(BatchStatus::Released) {
        let r = ledger
            .read(|s| reconciliation(s, batch))?
            .expect("released");
        if r.outstanding.count == 0 && r.breaks_open == 0 {
            submit(
                ledger,
                &who.checker,
                Command::CloseBatch(CloseBatch { batch }),
            )?;
        }
    }
    Ok(())
}

fn regular_batch(
    ledger: &Ledger,
    programme: Programme,
    month: Month,
) -> anyhow::Result<Option<BatchId>> {
    Ok(ledger.read(|s| {
        s.batches_of(programme, month).iter().copied().find(|id| {
            s.batch(*id).is_some_and(|b| {
                b.opened.kind == BatchKind::Regular && b.status != BatchStatus::Cancelled
            })
        })
    })?)
}

fn write_files(
    ledger: &Ledger,
    issued: &[batches::IssuedSummary],
    dir: &Path,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for f in issued {
        let bytes = ledger
            .file_bytes(&f.digest)?
            .context("an issued file's bytes are kept")?;
        std::fs::write(dir.join(&f.name), &bytes)?;
    }
    Ok(())
}

/// Which payments the simulated banks return, and why: about 2% with a wrong or closed account
/// (AC01, AC04), and the first payment of the July batch of each programme as "beneficiary
/// deceased" (MD07). Deterministic, so a rerun returns the same payments.
fn return_reason(payment: PaymentId, month: Month, first_of_batch: bool) -> Option<&'static str> {
    if first_of_batch && month == Month::parse("2024-07").expect("valid") {
        return Some("MD07");
    }
    match blake3::hash(&payment.0.to_le_bytes()).as_bytes()[0] {
        0..=2 => Some("AC01"),
        3..=5 => Some("AC04"),
        _ => None,
    }
}

/// The banks report on their files (pain.002.001.10) and the pay points on their cash lists
/// (status CSV); a report ingested before appends nothing.
fn play_the_banks(
    ledger: &Ledger,
    checker: &Principal,
    batch: BatchId,
    reports: &dyn Fn(BankBin) -> bool,
) -> anyhow::Result<()> {
    let (month, files, first) = ledger.read(|s| {
        let b = s.batch(batch).expect("released");
        let files: Vec<PaymentFileIssued> = b
            .files
            .iter()
            .filter_map(|f| s.file(*f))
            .map(|f| f.issued.clone())
            .collect();
        (b.opened.month, files, b.payments.first())
    })?;
    let created = IsoDateTime::parse(&format!("{}-05T16:00:00+07:00", month)).expect("valid time");
    for f in files.iter().filter(|f| f.format == FileFormat::Pain001V09) {
        // Each bank downloads and reports on its own file, as itself.
        let Channel::Bank(bin) = f.channel else {
            continue;
        };
        if !reports(bin) {
            continue;
        }
        let bank = Principal::parse(&format!("bank:{bin}")).expect("a BIN makes a principal");
        let (_, bytes) = batches::download(ledger, &bank, f.file)?;
        let (report, lines) = files::simulate_for_pain001(
            &bytes,
            &format!("STS-{}", f.name.trim_end_matches(".xml")),
            created,
            |tx| {
                let id = PaymentId::parse(&tx.end_to_end_id).expect("our EndToEndIds");
                match return_reason(id, month, Some(id) == first) {
                    Some(code) => files::Outcome::Rejected {
                        reason_code: code.into(),
                    },
                    None => files::Outcome::Settled,
                }
            },
        )
        .map_err(|e| {
            let problems: Vec<String> = e.iter().map(ToString::to_string).collect();
            anyhow::anyhow!("a payment file does not check: {}", problems.join("; "))
        })?;
        batches::ingest_status(
            ledger,
            &bank,
            None,
            &files::simulate_pain002(&report, &lines),
        )?;
    }
    for f in files.iter().filter(|f| f.format == FileFormat::CashList) {
        let lines: Vec<files::SimulatedLine> = ledger.read(|s| {
            let b = s.batch(batch).expect("released");
            s.payments_of(b)
                .filter(|(_, p)| matches!(p.route, Route::Cash { pay_point } if Some(pay_point) == f.pay_point))
                .map(|(id, p)| files::SimulatedLine {
                    end_to_end_id: id.to_string(),
                    amount: p.amount,
                    outcome: files::Outcome::Settled,
                })
                .collect()
        })?;
        let report = files::SimulatedReport {
            message_id: format!("STS-{}", f.name.trim_end_matches(".csv")),
            created_at: created,
            original_message_id: f.name.trim_end_matches(".csv").to_owned(),
            original_payment_info_id: String::new(),
            debtor_agent_bic: None,
        };
        // Pay points report to the finance office, whose checker records it.
        batches::ingest_status(
            ledger,
            checker,
            None,
            &files::simulate_status_csv(&report, &lines),
        )?;
    }
    Ok(())
}

/// After a month's reports: an officer moves people whose account was closed or wrong to cash
/// at their commune's pay point, so next month pays them (with this month's money) by cash.
fn fix_returns(ledger: &Ledger, who: &Actors, month: Month) -> anyhow::Result<()> {
    let to_fix: Vec<(BeneficiaryId, CommuneCode)> = ledger.read(|s| {
        let mut out = Vec::new();
        for p in PROGRAMMES {
            for b in s.batches_of(p, month).iter().filter_map(|id| s.batch(*id)) {
                for (id, pay) in s.payments_of(b) {
                    let bad_account = matches!(s.return_reason(id), Some("AC01" | "AC04"));
                    let person = s.beneficiary(pay.beneficiary());
                    let still_bank =
                        person.is_some_and(|b| matches!(b.route, Some(Route::Bank { .. })));
                    if pay.status == PaymentStatus::Returned && bad_account && still_bank {
                        out.push((pay.beneficiary(), person.expect("exists").commune));
                    }
                }
            }
        }
        out
    })?;
    for (beneficiary, commune) in &to_fix {
        submit(
            ledger,
            &who.officer,
            Command::SetPaymentRoute(SetPaymentRoute {
                beneficiary: *beneficiary,
                route: RouteRequest::Cash {
                    pay_point: *commune,
                },
                reason: format!("bank returned the {month} payment (wrong or closed account)"),
            }),
        )?;
    }
    if !to_fix.is_empty() {
        println!(
            "  {} people with returned bank payments moved to cash at their commune",
            to_fix.len()
        );
    }
    Ok(())
}

fn report(ledger: &Ledger, month: Month) -> anyhow::Result<()> {
    ledger.read(|s| {
        println!("\n== {month}");
        for p in PROGRAMMES {
            for b in s.batches_of(p, month).iter().filter_map(|id| s.batch(*id)) {
                let Some(c) = &b.computed else { continue };
                let mut arrears = ControlTotals::default();
                for pay in b.payments.iter().filter_map(|id| s.payment(id)) {
                    for item in s.items(pay).filter(|i| i.kind == ItemKind::Arrears) {
                        arrears.add(item.amount);
                    }
                }
                let r = reconciliation(s, b.opened.batch).unwrap_or_default();
                let breaks = s.breaks().iter().filter(|x| x.recorded.batch == Some(b.opened.batch)).count();
                println!(
                    "{} {p}: {}, {} persons paid, {} VND; arrears {} items {} VND; returned {} ({} VND); breaks {breaks}",
                    b.opened.batch, super::word(&b.status), c.totals.count, c.totals.sum, arrears.count, arrears.sum, r.returned.count, r.returned.sum
                );
                for (channel, t) in &c.by_channel {
                    let name = match channel {
                        Channel::Bank(bin) => crate::formats::reference::Reference::embedded().bank(*bin).map_or(bin.to_string(), |k| k.short_name.clone()),
                        Channel::Cash => "cash".into(),
                    };
                    println!("    {name:<24} {:>6} payments {:>16} VND", t.count, t.sum.to_string());
                }
                for f in b.files.iter().filter_map(|f| s.file(*f)).take(1) {
                    println!("    files: {} of them, e.g. {}", b.files.len(), f.issued.name);
                }
            }
        }
        let held = s.beneficiaries().iter().filter(|b| b.hold.is_some()).count();
        if held > 0 {
            println!("held for review after a 'deceased' return: {held}");
        }
    })?;
    Ok(())
}

/// Tokens for the demo's people, so the dashboard (`chitra serve`, then the URL it prints) can
/// be opened at once: printed once, when made; a later run says how to make another.
fn dashboard_tokens(s: &Session, who: &Actors) -> anyhow::Result<()> {
    use crate::http::auth::{Role, Tokens};
    let path = crate::app::config::DataDir::existing(&s.data_dir)?.tokens_path();
    let tokens = Tokens::load(&path).with_context(|| format!("loading {}", path.display()))?;
    println!(
        "\ndashboard: chitra serve --data-dir {}, then open http://{}/ and sign in with a token:",
        s.data_dir.display(),
        super::serve::DEFAULT_ADDR
    );
    let known = tokens.list();
    for (principal, role) in [
        (&who.checker, Role::Checker),
        (&who.maker, Role::Maker),
        (&who.officer, Role::Officer),
    ] {
        if known.iter().any(|e| &e.principal == principal) {
            println!(
                "  {principal}: made by an earlier run (chitra token revoke/add for a new one)"
            );
            continue;
        }
        let token = tokens.add(
            principal.clone(),
            role,
            None,
            (crate::ledger::system_clock())(),
            None,
        )?;
        println!("  {principal}: {token}");
    }
    Ok(())
}
