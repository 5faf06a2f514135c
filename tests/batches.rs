//! Monthly batches end to end through the ledger: compute (itemised, arrears by source month),
//! approve by a second person, release with payment files, bank status, reconciliation and
//! close; returns re-paid by another route; deceased returns held for review; and the rule that
//! no month is ever paid twice. What `decide` alone refuses runs in the pure harness; the
//! workflow with payment files and bank files on a ledger.

mod common;

use chitra::app::batches;
use chitra::domain::batch::reconciliation;
use chitra::domain::command::*;
use chitra::domain::event::*;
use chitra::domain::state::BatchStatus;
use chitra::domain::types::*;
use chitra::domain::{Command, Rejection};
use chitra::formats::bank::{self as files, IsoDateTime};
use chitra::ledger::{Ledger, SubmitError};
use common::fixtures::{
    bank, cash, decision, enrolment, m, monthly, p, BEFORE_JULY_2024, JULY_2024,
};
use common::given::World;

fn run(l: &Ledger, who: &str, c: Command) -> Result<chitra::ledger::Receipt, SubmitError> {
    common::submit(l, who, c)
}

/// A person with one monthly entitlement from June 2024.
fn person(
    id: &str,
    birth: &str,
    scheme: &str,
    params: Vec<SchemeParam>,
    route: RouteRequest,
) -> Enrol {
    enrolment(
        id,
        "Nguyễn Thị Test",
        birth,
        Some(route),
        vec![monthly(scheme, params, "2024-06")],
    )
}

fn enrol(
    l: &Ledger,
    id: &str,
    birth: &str,
    scheme: &str,
    params: Vec<SchemeParam>,
    route: RouteRequest,
) -> BeneficiaryId {
    run(
        l,
        "officer:lan",
        Command::Enrol(person(id, birth, scheme, params, route)),
    )
    .unwrap();
    BeneficiaryId(l.state().beneficiary_count() as u64)
}

fn account(bin: &str, number: &str) -> RouteRequest {
    bank(bin, number, "NGUYEN THI TEST")
}

fn pay_month(l: &Ledger, programme: Programme, month: &str, kind: BatchKind) -> BatchId {
    common::pay_month(l, programme, month, kind)
}

/// The payment of a beneficiary in a batch.
fn payment_of(l: &Ledger, batch: BatchId, who: BeneficiaryId) -> Option<PaymentScheduled> {
    let s = l.state();
    s.batch(batch)?
        .payments
        .iter()
        .filter_map(|id| s.scheduled(id))
        .find(|pay| pay.beneficiary == who)
}

/// Plays the bank: every issued pain.001 of the batch comes back settled, except the payments
/// named with a reason code.
fn bank_reports(l: &Ledger, batch: BatchId, rejections: &[(PaymentId, &str)]) {
    let files: Vec<PaymentFileIssued> = l
        .read(|s| {
            s.batch(batch)
                .unwrap()
                .files
                .iter()
                .filter_map(|f| s.file(*f))
                .map(|f| f.issued.clone())
                .collect()
        })
        .unwrap();
    for f in files.iter().filter(|f| f.format == FileFormat::Pain001V09) {
        let Channel::Bank(bin) = f.channel else {
            unreachable!("a pain.001 goes to a bank")
        };
        let bank = p(&format!("bank:{bin}"));
        let (_, bytes) = batches::download(l, &bank, f.file).unwrap();
        let created = IsoDateTime::parse("2024-08-05T10:00:00+07:00").unwrap();
        let (report, lines) =
            files::simulate_for_pain001(&bytes, &format!("STS-{}", f.file), created, |tx| {
                match rejections
                    .iter()
                    .find(|(id, _)| id.to_string() == tx.end_to_end_id)
                {
                    Some((_, code)) => files::Outcome::Rejected {
                        reason_code: code.to_string(),
                    },
                    None => files::Outcome::Settled,
                }
            })
            .unwrap();
        let xml = files::simulate_pain002(&report, &lines);
        batches::ingest_status(l, &bank, None, &xml).unwrap();
    }
    // Cash lists: the pay point reports every line collected.
    for f in files.iter().filter(|f| f.format == FileFormat::CashList) {
        let payments: Vec<PaymentId> = l
            .read(|s| {
                s.batch(batch)
                    .unwrap()
                    .payments
                    .iter()
                    .filter(|id| matches!(s.payment(*id).unwrap().route, Route::Cash { .. }))
                    .collect()
            })
            .unwrap();
        let lines = payments
            .iter()
            .map(|id| ReportedLine {
                end_to_end_id: id.to_string(),
                outcome: ReportedOutcome::Settled,
                amount: None,
            })
            .collect();
        run(
            l,
            "checker:tuan",
            Command::IngestStatusReport(IngestStatusReport {
                file: f.file,
                file_rejected: None,
                format: StatusFormat::Csv,
                digest: *blake3::hash(f.name.as_bytes()).as_bytes(),
                message_id: format!("CASH-{}", f.file),
                lines,
            }),
        )
        .unwrap();
    }
}

fn items(pay: &PaymentScheduled) -> Vec<(String, ItemKind, i64)> {
    pay.items
        .iter()
        .map(|i| (i.source_month.to_string(), i.kind, i.amount.0))
        .collect()
}

#[test]
fn three_months_across_the_july_2024_rate_change_with_a_late_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let l = common::open(dir.path());
    common::enact(&l, BEFORE_JULY_2024);
    let disabled = enrol(
        &l,
        "001185000001",
        "1985-03-01",
        "btxh.disability_especially_severe",
        vec![],
        account("970405", "1500200000001"),
    );
    let invalid = enrol(
        &l,
        "001052000002",
        "1952-01-01",
        "ncc.war_invalid",
        vec![SchemeParam::InjuryRatePct(61)],
        account("970436", "0011000000002"),
    );

    let june_b = pay_month(&l, Programme::Btxh, "2024-06", BatchKind::Regular);
    let june_n = pay_month(&l, Programme::Ncc, "2024-06", BatchKind::Regular);
    assert_eq!(
        items(&payment_of(&l, june_b, disabled).unwrap()),
        vec![("2024-06".into(), ItemKind::Regular, 720_000)]
    );
    assert_eq!(
        items(&payment_of(&l, june_n, invalid).unwrap()),
        vec![("2024-06".into(), ItemKind::Regular, 4_016_000)]
    );
    bank_reports(&l, june_b, &[]);
    bank_reports(&l, june_n, &[]);

    // July is paid before the July 2024 decrees are loaded: old rates.
    let july_b = pay_month(&l, Programme::Btxh, "2024-07", BatchKind::Regular);
    let july_n = pay_month(&l, Programme::Ncc, "2024-07", BatchKind::Regular);
    assert_eq!(
        payment_of(&l, july_b, disabled).unwrap().amount,
        Vnd(720_000)
    );
    assert_eq!(
        payment_of(&l, july_n, invalid).unwrap().amount,
        Vnd(4_016_000)
    );
    bank_reports(&l, july_b, &[]);
    bank_reports(&l, july_n, &[]);

    // The decrees arrive late; August pays the new rate and July's arrears, itemised.
    common::enact(&l, JULY_2024);
    let aug_b = pay_month(&l, Programme::Btxh, "2024-08", BatchKind::Regular);
    let aug_n = pay_month(&l, Programme::Ncc, "2024-08", BatchKind::Regular);
    assert_eq!(
        items(&payment_of(&l, aug_b, disabled).unwrap()),
        vec![
            ("2024-07".into(), ItemKind::Arrears, 280_000),
            ("2024-08".into(), ItemKind::Regular, 1_000_000)
        ]
    );
    assert_eq!(
        items(&payment_of(&l, aug_n, invalid).unwrap()),
        vec![
            ("2024-07".into(), ItemKind::Arrears, 1_434_000),
            ("2024-08".into(), ItemKind::Regular, 5_450_000)
        ]
    );
    // The review names the reasons.
    let review = l
        .read(|s| chitra::domain::batch::review::review(s, aug_n))
        .unwrap()
        .unwrap();
    let change = review
        .changes
        .iter()
        .find(|c| c.beneficiary == invalid)
        .unwrap();
    assert!(
        change
            .reasons
            .contains(&chitra::domain::batch::review::Reason::Arrears {
                amount: Vnd(1_434_000)
            }),
        "{:?}",
        change.reasons
    );
    assert!(
        change
            .reasons
            .contains(&chitra::domain::batch::review::Reason::RateChange {
                from: Vnd(4_016_000),
                to: Vnd(5_450_000)
            }),
        "{:?}",
        change.reasons
    );

    bank_reports(&l, aug_b, &[]);
    bank_reports(&l, aug_n, &[]);
    for b in [june_b, june_n, july_b, july_n, aug_b, aug_n] {
        let r = l.read(|s| reconciliation(s, b)).unwrap().unwrap();
        assert_eq!(r.released, r.settled, "{b}: {r:?}");
        run(
            &l,
            "checker:tuan",
            Command::CloseBatch(CloseBatch { batch: b }),
        )
        .unwrap();
    }
    let report = chitra::ledger::verify::verify_store(l.store(), None, |_| {}).unwrap();
    assert_eq!(report.verified.records, l.head().unwrap().records);
}

#[test]
fn an_ac04_return_is_repaid_next_month_by_cash_and_an_md07_return_is_held() {
    let dir = tempfile::tempdir().unwrap();
    let l = common::open(dir.path());
    common::enact(&l, BEFORE_JULY_2024);
    common::enact(&l, JULY_2024);
    let closed = enrol(
        &l,
        "001150000003",
        "1950-01-01",
        "ncc.war_invalid",
        vec![SchemeParam::InjuryRatePct(41)],
        account("970436", "0011000000003"),
    );
    let deceased = enrol(
        &l,
        "001040000004",
        "1940-01-01",
        "ncc.war_invalid",
        vec![SchemeParam::InjuryRatePct(81)],
        account("970405", "1500200000004"),
    );
    let fine = enrol(
        &l,
        "001160000005",
        "1960-01-01",
        "ncc.war_invalid_b",
        vec![SchemeParam::InjuryRatePct(30)],
        cash(),
    );

    let june = pay_month(&l, Programme::Ncc, "2024-06", BatchKind::Regular);
    bank_reports(&l, june, &[]);
    let july = pay_month(&l, Programme::Ncc, "2024-07", BatchKind::Regular);
    let p_closed = payment_of(&l, july, closed).unwrap();
    let p_dead = payment_of(&l, july, deceased).unwrap();
    bank_reports(
        &l,
        july,
        &[(p_closed.payment, "AC04"), (p_dead.payment, "MD07")],
    );
    {
        let s = l.state();
        assert!(matches!(
            s.beneficiary(deceased).unwrap().hold.as_deref(),
            Some(HoldReason::DeceasedReturn { .. })
        ));
        let r = reconciliation(&s, july).unwrap();
        assert_eq!(r.returned.count, 2);
        assert_eq!(r.released.sum, r.settled.sum + r.returned.sum);
    }
    // The officer moves the closed-account person to cash; August pays July again, by cash.
    run(
        &l,
        "officer:lan",
        Command::SetPaymentRoute(SetPaymentRoute {
            beneficiary: closed,
            route: cash(),
            reason: "account closed (AC04)".into(),
        }),
    )
    .unwrap();
    let aug = pay_month(&l, Programme::Ncc, "2024-08", BatchKind::Regular);
    let repaid = payment_of(&l, aug, closed).unwrap();
    assert!(matches!(repaid.route, Route::Cash { .. }));
    assert_eq!(
        items(&repaid),
        vec![
            ("2024-07".into(), ItemKind::Arrears, p_closed.amount.0),
            ("2024-08".into(), ItemKind::Regular, p_closed.amount.0)
        ]
    );
    // The deceased-return person is kept out, and listed as held in the review.
    assert!(payment_of(&l, aug, deceased).is_none());
    assert!(payment_of(&l, aug, fine).is_some());
    let review = l
        .read(|s| chitra::domain::batch::review::review(s, aug))
        .unwrap()
        .unwrap();
    let stop = review
        .changes
        .iter()
        .find(|c| c.beneficiary == deceased)
        .unwrap();
    assert!(
        matches!(&stop.reasons[0], chitra::domain::batch::review::Reason::Stopped { why } if why == "held for review")
    );
    // A decision clears the hold; a supplementary batch then pays July and August to them.
    bank_reports(&l, aug, &[]);
    run(
        &l,
        "officer:lan",
        Command::ClearReview(ClearReview {
            beneficiary: deceased,
            decision: decision("99/QĐ"),
            note: "alive; bank error".into(),
        }),
    )
    .unwrap();
    let supp = pay_month(
        &l,
        Programme::Ncc,
        "2024-08",
        BatchKind::Supplementary { of: aug },
    );
    let late = payment_of(&l, supp, deceased).unwrap();
    // July (returned, so due again as arrears) and August, each the Annex II allowance for 81%
    // and the ≥81% supplement.
    let kinds: Vec<(String, ItemKind)> = late
        .items
        .iter()
        .map(|i| (i.source_month.to_string(), i.kind))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("2024-07".into(), ItemKind::Arrears),
            ("2024-07".into(), ItemKind::Arrears),
            ("2024-08".into(), ItemKind::Regular),
            ("2024-08".into(), ItemKind::Regular),
        ]
    );
    assert_eq!(late.amount, Vnd(2 * (7_240_000 + 1_399_000)));
    assert_eq!(
        l.state().batch(supp).unwrap().payments.len(),
        1,
        "only the late person is in the supplementary batch"
    );
}

#[test]
fn the_maker_cannot_approve_and_approval_binds_the_reviewed_content() {
    let mut w = World::with_schedules(BEFORE_JULY_2024);
    let severe =
        |id: &str, birth: &str| person(id, birth, "btxh.disability_severe", vec![], cash());
    w.enrol(severe("001185000001", "1985-03-01"));
    let b1 = w.computed(Programme::Btxh, m("2024-06"));
    let c1 = w.batch(b1).computed.clone().unwrap();
    let approve = |b: BatchId, c: &BatchComputed| {
        Command::ApproveBatch(ApproveBatch {
            batch: b,
            content_hash: c.content_hash,
            totals: c.totals,
        })
    };
    let files = w.files_for(b1);
    let mut w = w
        .when("maker:hoa", approve(b1, &c1))
        .then_rejected(|r| matches!(r, Rejection::NotAllowed { .. }))
        // Release before approval is refused.
        .when(
            "checker:tuan",
            Command::ReleaseBatch(ReleaseBatch { batch: b1, files }),
        )
        .then_rejected(
            |r| matches!(r, Rejection::Conflict { reason } if reason.contains("cannot release")),
        );
    // The maker cancels, a person is added, the batch is recomputed: the old review no longer
    // approves the new content.
    w.run(Command::CancelBatch(CancelBatch {
        batch: b1,
        reason: "late addition".into(),
    }));
    w.enrol(severe("001190000009", "1990-01-01"));
    let b2 = w.computed(Programme::Btxh, m("2024-06"));
    let c2 = w.batch(b2).computed.clone().unwrap();
    let w = w
        .when("checker:tuan", approve(b2, &c1))
        .then_rejected(|r| matches!(r, Rejection::Conflict { .. }))
        .when("checker:tuan", approve(b2, &c2))
        .then_accepted(|events| assert!(matches!(events, [Event::BatchApproved(_)])));
    // A cancelled batch gave its claims back, so the new batch pays June for both people.
    assert_eq!(c2.totals.count, 2);
    assert_eq!(w.batch(b1).status, BatchStatus::Cancelled);
    assert_eq!(w.batch(b2).status, BatchStatus::Approved);
}

#[test]
fn computing_twice_or_a_second_regular_batch_never_pays_a_month_twice() {
    let mut w = World::with_schedules(BEFORE_JULY_2024);
    for i in 0..5 {
        w.enrol(person(
            &format!("00118500001{i}"),
            "1985-03-01",
            "btxh.disability_severe",
            vec![],
            cash(),
        ));
    }
    let (june, _) = w.pay(Programme::Btxh, m("2024-06"));
    assert_eq!(w.payments(june).len(), 5);
    let recompute = w.compute(june);
    assert!(
        matches!(&recompute, Err(Rejection::Conflict { reason }) if reason.contains("cannot compute")),
        "a released batch cannot be recomputed: {recompute:?}"
    );
    let second = w.open_batch(Programme::Btxh, m("2024-06"), BatchKind::Regular);
    assert!(
        matches!(second, Err(Rejection::Conflict { .. })),
        "{second:?}"
    );
    // A supplementary batch for June finds nothing left to pay.
    let supplementary = BatchKind::Supplementary { of: june };
    let supp = w
        .open_batch(Programme::Btxh, m("2024-06"), supplementary)
        .unwrap();
    w.compute(supp).unwrap();
    assert_eq!(w.batch(supp).payments.len(), 0);
    // Replaying the June lines into a new batch by hand is refused by the ledger itself.
    let june_lines: Vec<NewPayment> = w
        .payments(june)
        .into_iter()
        .map(|pay| NewPayment {
            beneficiary: pay.beneficiary,
            route: pay.route,
            amount: pay.amount,
            items: pay.items,
        })
        .collect();
    w.run(Command::CancelBatch(CancelBatch {
        batch: supp,
        reason: "test".into(),
    }));
    let third = w
        .open_batch(Programme::Btxh, m("2024-06"), supplementary)
        .unwrap();
    let basis_seq = w.records();
    w.when(
        "maker:hoa",
        Command::ComputeBatch(ComputeBatch {
            batch: third,
            basis_seq,
            payments: june_lines,
        }),
    )
    .then_rejected(
        |r| matches!(r, Rejection::Conflict { reason } if reason.contains("already paid")),
    );
}

/// A ledger with both 2024 rate schedules and `n` synthetic people (of several banks and cash
/// pay points) whose entitlements start in August 2024.
fn synthetic_people_from_august_2024(dir: &std::path::Path, seed: u64, n: u64) -> Ledger {
    let l = common::open(dir);
    common::enact(&l, BEFORE_JULY_2024);
    common::enact(&l, JULY_2024);
    for i in 0..n {
        let mut e = chitra::dev::synth::person(seed, i);
        for ent in &mut e.entitlements {
            ent.effective_from = m("2024-08");
        }
        run(&l, "officer:lan", Command::Enrol(e)).unwrap();
    }
    l
}

#[test]
fn issued_files_validate_and_their_hashes_are_in_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let l = synthetic_people_from_august_2024(dir.path(), 9, 40);
    let batch = pay_month(&l, Programme::Btxh, "2024-08", BatchKind::Regular);
    let files: Vec<PaymentFileIssued> = l
        .read(|s| s.files().iter().map(|f| f.issued.clone()).collect())
        .unwrap();
    assert!(files.iter().any(|f| f.format == FileFormat::Pain001V09));
    let xsd = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/ledger-data/reference/iso20022/xsd/pain.001.001.09.xsd"
    );
    let mut total = Vnd(0);
    for f in &files {
        let bytes = l.store().get_file(&f.digest).unwrap().unwrap();
        assert_eq!(blake3::hash(&bytes).as_bytes(), &f.digest);
        if f.format == FileFormat::Pain001V09 {
            total = total + f.totals.sum;
            let path = dir.path().join(&f.name);
            std::fs::write(&path, &bytes).unwrap();
            let out = std::process::Command::new("xmllint")
                .args(["--noout", "--schema", xsd])
                .arg(&path)
                .output()
                .expect("xmllint runs (install libxml2-utils)");
            assert!(
                out.status.success(),
                "{} does not validate: {}",
                f.name,
                String::from_utf8_lossy(&out.stderr)
            );
            let checked =
                files::check_pain001(&bytes).unwrap_or_else(|e| panic!("{}: {e:?}", f.name));
            assert_eq!(checked.totals, f.totals);
        }
    }
    let cash: Vnd = files
        .iter()
        .filter(|f| f.format == FileFormat::CashList)
        .map(|f| f.totals.sum)
        .sum();
    assert_eq!(
        total + cash,
        l.state()
            .batch(batch)
            .unwrap()
            .computed
            .as_ref()
            .unwrap()
            .totals
            .sum
    );
    // Releasing again appends nothing and is refused.
    let before = l.head().unwrap().records;
    assert!(matches!(
        batches::release(
            &l,
            &common::fixtures::settings(),
            &p("checker:tuan"),
            None,
            batch
        ),
        Err(batches::BatchError::AlreadyReleased { .. })
    ));
    assert_eq!(l.head().unwrap().records, before);
}

/// What a release builds, file by file, with the bytes' digest.
type Built = (
    String,
    FileFormat,
    Channel,
    Option<CommuneCode>,
    ControlTotals,
    [u8; 32],
);

/// Builds an approved batch's files a group of at most `lines_max` lines at a time, as a
/// release does: the files in order, and how many groups were handed over.
fn build_in_groups(l: &Ledger, batch: BatchId, lines_max: usize) -> (Vec<Built>, usize) {
    use chitra::app::payment_files;
    let settings = common::fixtures::settings();
    let created = payment_files::local_time(0);
    let release = l
        .read(|s| payment_files::release(s, &settings, batch, created))
        .unwrap()
        .unwrap();
    let (mut built, mut groups) = (Vec::new(), 0);
    let new_file = || l.new_file();
    release
        .build_in_groups(&settings, lines_max, &new_file, |group| {
            groups += 1;
            built.extend(group.into_iter().map(|f| {
                // What the store holds under the digest is the file, of the length written.
                let bytes = l.file_bytes(&f.digest).unwrap().expect("kept");
                assert_eq!(*blake3::hash(&bytes).as_bytes(), f.digest);
                assert_eq!(bytes.len() as u64, f.bytes);
                (f.name, f.format, f.channel, f.pay_point, f.totals, f.digest)
            }));
            Ok(())
        })
        .unwrap();
    (built, groups)
}

/// Given an approved batch paying people of several banks and cash pay points, when its files
/// are built a bank (or pay point) at a time, as a release of a national batch does to bound
/// its memory, then they are the files built all at once, byte for byte and in the same order,
/// and a release records them in that order.
#[test]
fn a_release_builds_the_same_files_a_bank_at_a_time_as_all_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let l = synthetic_people_from_august_2024(dir.path(), 11, 60);
    let batch = common::approved(&l, Programme::Btxh, "2024-08", BatchKind::Regular);
    let (whole, whole_groups) = build_in_groups(&l, batch, usize::MAX);
    let (one_by_one, groups) = build_in_groups(&l, batch, 1);
    assert_eq!(one_by_one, whole);
    let banks: std::collections::BTreeSet<_> = whole
        .iter()
        .filter(|f| matches!(f.2, Channel::Bank(_)))
        .map(|f| f.2)
        .collect();
    let pay_points: std::collections::BTreeSet<_> = whole.iter().filter_map(|f| f.3).collect();
    assert!(banks.len() > 1 && !pay_points.is_empty(), "{whole:?}");
    assert_eq!(groups, banks.len() + pay_points.len());
    assert_eq!(whole_groups, 2, "the banks' files, then the cash lists");

    batches::release(
        &l,
        &common::fixtures::settings(),
        &p("checker:tuan"),
        None,
        batch,
    )
    .unwrap();
    let recorded: Vec<String> = l
        .read(|s| {
            let b = s.batch(batch).unwrap();
            b.files
                .iter()
                .map(|f| s.file(*f).unwrap().issued.name.clone())
                .collect()
        })
        .unwrap();
    // Only files under their digests, those built above and those the release recorded
    // (dated otherwise): nothing being written is left behind.
    let in_store: std::collections::BTreeSet<String> =
        std::fs::read_dir(dir.path().join("payment-files"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
    let recorded_digests: Vec<[u8; 32]> = l
        .read(|s| {
            let b = s.batch(batch).unwrap();
            b.files
                .iter()
                .map(|f| s.file(*f).unwrap().issued.digest)
                .collect()
        })
        .unwrap();
    let expected: std::collections::BTreeSet<String> = whole
        .iter()
        .map(|f| f.5)
        .chain(recorded_digests)
        .map(|d| chitra::chain::hex(&d))
        .collect();
    assert_eq!(in_store, expected);
    let names: Vec<String> = whole.into_iter().map(|f| f.0).collect();
    assert_eq!(recorded, names);
}

#[test]
fn release_is_refused_when_a_route_changed_after_the_computation() {
    let mut w = World::with_schedules(BEFORE_JULY_2024);
    let who = w.enrol(person(
        "001185000001",
        "1985-03-01",
        "btxh.disability_severe",
        vec![],
        account("970405", "1500200000001"),
    ));
    let b = w.computed(Programme::Btxh, m("2024-06"));
    w.approve(b).unwrap();
    // A new account at the same bank, just before the money goes out.
    w.run(Command::SetPaymentRoute(SetPaymentRoute {
        beneficiary: who,
        route: account("970405", "1500209999999"),
        reason: "new account".into(),
    }));
    let files = w.files_for(b);
    let w = w
        .when(
            "checker:tuan",
            Command::ReleaseBatch(ReleaseBatch { batch: b, files }),
        )
        .then_rejected(
            |r| matches!(r, Rejection::Conflict { reason } if reason.contains("route changed")),
        );
    assert_eq!(w.batch(b).status, BatchStatus::Approved);
}

#[test]
fn computing_in_chunks_on_all_cores_gives_the_single_thread_result() {
    let dir = tempfile::tempdir().unwrap();
    let l = common::open(dir.path());
    common::enact(&l, BEFORE_JULY_2024);
    common::enact(&l, JULY_2024);
    let rows: Vec<(u64, Enrol)> = (0..40_000u64)
        .map(|i| (i + 2, chitra::dev::synth::person(31, i)))
        .collect();
    run(
        &l,
        "officer:lan",
        Command::ImportRoster(ImportRoster {
            rows,
            payees: Vec::new(),
        }),
    )
    .unwrap();
    run(
        &l,
        "maker:hoa",
        Command::OpenBatch(OpenBatch {
            programme: Programme::Btxh,
            month: m("2026-01"),
            funding_account: "3761000000002".into(),
            kind: BatchKind::Regular,
        }),
    )
    .unwrap();
    let (target, chunked) = batches::compute_consistent(&l, BatchId(1)).unwrap();
    let single = chitra::domain::batch::compute(&l.state(), target);
    assert!(chunked.payments.len() > 1000, "{}", chunked.payments.len());
    assert_eq!(chunked.payments, single.payments);
    assert_eq!(chunked.held, single.held);
    assert_eq!(chunked.not_computable, single.not_computable);
}
