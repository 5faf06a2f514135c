//! The trust holes of issue 8, each replayed as the sequence of ordinary requests that broke it:
//! a release that strands a batch and then pays an account no checker approved, one person
//! passing four eyes, roles not checked where decisions are made, a bank writing into other
//! banks' reconciliation, and time that cannot be (a batch ten years ahead, payment before
//! birth). Every refusal here appends nothing. What `decide` alone refuses runs in the pure
//! harness; what needs the store (payment files, idempotency keys, bank files) on a ledger.

mod common;

use chitra::app::batches::{self, BatchError};
use chitra::domain::command::*;
use chitra::domain::event::*;
use chitra::domain::state::BatchStatus;
use chitra::domain::types::*;
use chitra::domain::{Command, Rejection};
use chitra::formats::bank::{self as files, IsoDateTime};
use chitra::ledger::{IdempotencyKey, Ledger, Receipt, SubmitError};
use common::fixtures::{
    bank, cash, d, decision, enrolment, m, p, severe_disability, BEFORE_JULY_2024, FUNDING_ACCOUNT,
    JULY_2024,
};
use common::given::{due, given, World};
use common::{approve, records, rejected};

/// A BTXH enrolment with one monthly entitlement (severe disability) from June 2024.
fn person(id: &str, name: &str, birth: &str, route: RouteRequest) -> Enrol {
    enrolment(id, name, birth, Some(route), vec![severe_disability()])
}

fn run(l: &Ledger, who: &str, c: Command) -> Result<Receipt, SubmitError> {
    common::submit(l, who, c)
}

fn enrol(l: &Ledger, e: Enrol) -> BeneficiaryId {
    run(l, "officer:lan", Command::Enrol(e)).unwrap();
    BeneficiaryId(l.state().beneficiary_count() as u64)
}

fn ledger(dir: &std::path::Path) -> Ledger {
    let l = common::open(dir);
    common::enact(&l, BEFORE_JULY_2024);
    l
}

/// Opens, computes (maker:hoa) and approves (checker:tuan) a BTXH batch.
fn approved(l: &Ledger, month: &str) -> BatchId {
    common::approved(l, Programme::Btxh, month, BatchKind::Regular)
}

/// Hoa, paid through bank 970436, and the June 2024 batch approved.
fn hoa_approved(dir: &std::path::Path) -> (Ledger, BeneficiaryId, BatchId) {
    let l = ledger(dir);
    let who = enrol(
        &l,
        person(
            "001185000001",
            "Nguyễn Thị Hoa",
            "1985-03-01",
            bank("970436", "1500200000001", "NGUYEN THI HOA"),
        ),
    );
    let b = approved(&l, "2024-06");
    (l, who, b)
}

fn status(l: &Ledger, b: BatchId) -> BatchStatus {
    l.state().batch(b).unwrap().status
}

/// A world with the schedules before July 2024 and nobody enrolled.
fn world() -> World {
    World::with_schedules(BEFORE_JULY_2024)
}

/// A BTXH batch for `month`, as the maker opens it.
fn open(month: &str, funding_account: &str) -> Command {
    Command::OpenBatch(OpenBatch {
        programme: Programme::Btxh,
        month: m(month),
        funding_account: funding_account.into(),
        kind: BatchKind::Regular,
    })
}

fn files_of(l: &Ledger, b: BatchId) -> Vec<PaymentFileIssued> {
    l.read(|s| {
        s.batch(b)
            .unwrap()
            .files
            .iter()
            .map(|f| s.file(*f).unwrap().issued.clone())
            .collect()
    })
    .unwrap()
}

fn bytes_of(l: &Ledger, f: &PaymentFileIssued) -> String {
    String::from_utf8(l.store().get_file(&f.digest).unwrap().unwrap()).unwrap()
}

// ---- 2. A release is one step; what the ledger accepts, a file can carry ----

#[test]
fn a_name_that_looks_like_a_formula_is_paid_and_neutralised_in_the_csv_files() {
    let dir = tempfile::tempdir().unwrap();
    let l = ledger(dir.path());
    enrol(
        &l,
        person(
            "001185000001",
            "=Nguyễn Thị Hoa",
            "1985-03-01",
            bank("970436", "1500200000001", "=HYPERLINK(\"http://x\")"),
        ),
    );
    enrol(
        &l,
        person("001185000003", "@Trần Thị Bình", "1985-03-01", cash()),
    );
    let b = approved(&l, "2024-06");
    let released = batches::release(
        &l,
        &common::fixtures::settings(),
        &p("checker:tuan"),
        None,
        b,
    )
    .unwrap();
    assert_eq!(status(&l, b), BatchStatus::Released);
    assert_eq!(released.files.len(), 3, "pain.001, CSV and a cash list");
    for f in files_of(&l, b) {
        let text = bytes_of(&l, &f);
        match f.format {
            FileFormat::Pain001V09 => {
                assert!(text.contains("<Nm>=HYPERLINK(\"http://x\")</Nm>"), "{text}")
            }
            FileFormat::Csv => {
                assert!(text.contains("\"'=HYPERLINK(\"\"http://x\"\")\""), "{text}");
                assert!(!text.contains(",=HYPERLINK"), "{text}");
            }
            FileFormat::CashList => {
                assert!(text.contains(",'@Trần Thị Bình,"), "{text}");
                assert!(!text.contains(",@Trần"), "{text}");
            }
        }
    }
}

#[test]
fn text_no_bank_file_may_carry_is_refused_at_the_edge_and_appends_nothing() {
    let mut w = world();
    let before = w.records();
    for (name, why) in [
        ("Nguyễn\u{202e}aoH", "bidirectional"),
        ("Nguyễn \u{2066}Hoa", "bidirectional"),
        ("Nguyễn\u{2028}Hoa", "separator"),
        ("Nguyễn\u{fdd0}", "noncharacter"),
        ("Hoa\u{ffff}", "noncharacter"),
        ("\u{200b}\u{200c}\u{200d}", "no visible"),
        ("  \u{feff} ", "no visible"),
    ] {
        let named = person("001185000001", name, "1985-03-01", cash());
        let holder = person(
            "001185000001",
            "Nguyễn Thị Hoa",
            "1985-03-01",
            bank("970436", "1500200000001", name),
        );
        w = w
            .when("officer:lan", Command::Enrol(named))
            .then_rejected(|r| match r {
                Rejection::Invalid { field, reason } => {
                    assert!(reason.contains(why), "{name:?}: {reason}");
                    field == "full_name"
                }
                _ => false,
            })
            .when("officer:lan", Command::Enrol(holder))
            .then_rejected(
                |r| matches!(r, Rejection::Invalid { field, .. } if field == "holder_name"),
            );
    }
    assert_eq!(w.records(), before);
}

#[test]
fn a_funding_account_no_file_can_carry_is_refused_when_the_batch_opens() {
    let mut w = world();
    for bad in [
        "12",
        "",
        "  ",
        "9527-111-222",
        "952711122233344455566677788899900011",
    ] {
        w = w.when("maker:hoa", open("2024-06", bad)).then_rejected(
            |r| matches!(r, Rejection::Invalid { field, .. } if field == "funding_account"),
        );
    }
    assert!(w.state().batches().is_empty());
}

/// Makes the store unable to keep payment files: the directory it writes them to is a file.
fn break_file_storage(dir: &std::path::Path) {
    let files = dir.join("payment-files");
    let _ = std::fs::remove_dir_all(&files);
    std::fs::write(&files, b"not a directory").unwrap();
}

fn repair_file_storage(dir: &std::path::Path) {
    std::fs::remove_file(dir.join("payment-files")).unwrap();
}

#[test]
fn a_failed_release_records_nothing_and_leaves_the_batch_approved_and_cancellable() {
    let dir = tempfile::tempdir().unwrap();
    let (l, _, b) = hoa_approved(dir.path());
    let before = records(&l);
    break_file_storage(dir.path());
    let failed = batches::release(
        &l,
        &common::fixtures::settings(),
        &p("checker:tuan"),
        None,
        b,
    );
    assert!(matches!(failed, Err(BatchError::Store(_))), "{failed:?}");
    assert_eq!(records(&l), before, "nothing recorded");
    assert_eq!(status(&l, b), BatchStatus::Approved);
    assert!(files_of(&l, b).is_empty());
    run(
        &l,
        "checker:tuan",
        Command::CancelBatch(CancelBatch {
            batch: b,
            reason: "the payment files could not be stored".into(),
        }),
    )
    .unwrap();
    assert_eq!(status(&l, b), BatchStatus::Cancelled);
}

#[test]
fn after_a_failed_release_an_account_changed_later_is_never_paid_on_the_old_approval() {
    let dir = tempfile::tempdir().unwrap();
    let (l, who, b) = hoa_approved(dir.path());
    break_file_storage(dir.path());
    assert!(batches::release(
        &l,
        &common::fixtures::settings(),
        &p("checker:tuan"),
        None,
        b
    )
    .is_err());
    repair_file_storage(dir.path());
    // An officer changes the payee's account at the same bank after the approval.
    run(
        &l,
        "officer:lan",
        Command::SetPaymentRoute(SetPaymentRoute {
            beneficiary: who,
            route: bank("970436", "9999900000009", "NGUYEN THI HOA"),
            reason: "new account".into(),
        }),
    )
    .unwrap();
    let before = records(&l);
    let retried = batches::release(
        &l,
        &common::fixtures::settings(),
        &p("checker:tuan"),
        None,
        b,
    );
    match retried {
        Err(BatchError::Submit(SubmitError::Rejected(Rejection::Conflict { reason }))) => {
            assert!(reason.contains("route changed"), "{reason}")
        }
        other => panic!("the retry must be refused, got {other:?}"),
    }
    assert_eq!(records(&l), before);
    assert_eq!(status(&l, b), BatchStatus::Approved);
    // The new account is paid only after a new computation that a checker approves.
    run(
        &l,
        "maker:hoa",
        Command::CancelBatch(CancelBatch {
            batch: b,
            reason: "account changed after approval".into(),
        }),
    )
    .unwrap();
    let again = approved(&l, "2024-06");
    batches::release(
        &l,
        &common::fixtures::settings(),
        &p("checker:tuan"),
        None,
        again,
    )
    .unwrap();
    let csv = files_of(&l, again)
        .into_iter()
        .find(|f| f.format == FileFormat::Csv)
        .unwrap();
    assert!(bytes_of(&l, &csv).contains("9999900000009"));
}

#[test]
fn a_release_retried_with_its_key_replays_and_any_other_release_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (l, _, b) = hoa_approved(dir.path());
    let key = || Some(IdempotencyKey::parse("release-june").unwrap());
    let first = batches::release(
        &l,
        &common::fixtures::settings(),
        &p("checker:tuan"),
        key(),
        b,
    )
    .unwrap();
    assert!(!first.receipt.replayed);
    assert_eq!(first.receipt.count, 3, "the release and its two files");
    let before = records(&l);
    let retry = batches::release(
        &l,
        &common::fixtures::settings(),
        &p("checker:tuan"),
        key(),
        b,
    )
    .unwrap();
    assert!(retry.receipt.replayed);
    assert_eq!(
        (retry.receipt.first_seq, retry.receipt.hash),
        (first.receipt.first_seq, first.receipt.hash)
    );
    assert_eq!(retry.files.len(), 2);
    let other = batches::release(
        &l,
        &common::fixtures::settings(),
        &p("checker:tuan"),
        None,
        b,
    );
    assert!(matches!(other, Err(BatchError::AlreadyReleased { .. })));
    assert_eq!(records(&l), before);
}

#[test]
fn a_release_must_carry_exactly_the_files_of_the_approved_content() {
    let mut w = world();
    w.enrol(person(
        "001185000001",
        "Nguyễn Thị Hoa",
        "1985-03-01",
        bank("970436", "1500200000001", "NGUYEN THI HOA"),
    ));
    w.enrol(person(
        "001185000003",
        "Trần Thị Bình",
        "1985-03-01",
        cash(),
    ));
    let b = w.computed(Programme::Btxh, m("2024-06"));
    w.approve(b).unwrap();
    let totals = w.batch(b).computed.clone().unwrap().by_channel;
    let file = |channel: Channel, pay_point, format, totals| NewPaymentFile {
        channel,
        pay_point,
        format,
        name: format!("{format:?}-{channel:?}"),
        digest: [7; 32],
        bytes: 10,
        totals,
    };
    let (bank_totals, cash_totals) = (totals[0].1, totals[1].1);
    let bank_channel = totals[0].0;
    let pay_point = Some(CommuneCode::parse("00004").unwrap());
    let complete = vec![
        file(bank_channel, None, FileFormat::Pain001V09, bank_totals),
        file(bank_channel, None, FileFormat::Csv, bank_totals),
        file(Channel::Cash, pay_point, FileFormat::CashList, cash_totals),
    ];
    let mut short = complete.clone();
    short.pop();
    let mut wrong = complete.clone();
    wrong[0].totals.sum = Vnd(wrong[0].totals.sum.0 + 1);
    let mut extra = complete.clone();
    extra.push(file(
        Channel::Bank(BankBin::parse("970418").unwrap()),
        None,
        FileFormat::Csv,
        bank_totals,
    ));
    let mut repeated = complete.clone();
    repeated[1].name = repeated[0].name.clone();
    for files in [vec![], short, wrong, extra, repeated] {
        w = w
            .when(
                "checker:tuan",
                Command::ReleaseBatch(ReleaseBatch { batch: b, files }),
            )
            .then_rejected(|r| matches!(r, Rejection::Invalid { field, .. } if field == "files"));
    }
    assert_eq!(w.batch(b).status, BatchStatus::Approved);
    let w = w
        .when(
            "checker:tuan",
            Command::ReleaseBatch(ReleaseBatch {
                batch: b,
                files: complete,
            }),
        )
        .then_accepted(|events| assert_eq!(events.len(), 4, "the release and its three files"));
    assert_eq!(w.batch(b).files.len(), 3);
    assert_eq!(w.batch(b).status, BatchStatus::Released);
}

// ---- 3. A principal is a person in a role; the ledger decides by both ----

#[test]
fn one_person_cannot_pass_four_eyes_in_two_roles() {
    let dir = tempfile::tempdir().unwrap();
    let l = ledger(dir.path());
    enrol(
        &l,
        person("001185000001", "Nguyễn Thị Hoa", "1985-03-01", cash()),
    );
    let b = common::open_batch(&l, Programme::Btxh, "2024-06", BatchKind::Regular).unwrap();
    batches::compute(&l, &p("maker:hoa"), None, b).unwrap();
    let before = records(&l);
    match rejected(approve(&l, "checker:hoa", b)) {
        Rejection::NotAllowed { reason } => {
            assert!(
                reason.contains("a different person must approve"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(records(&l), before);
    approve(&l, "checker:tuan", b).unwrap();
    // Nor may the maker release it with a checker's token.
    let own = batches::release(
        &l,
        &common::fixtures::settings(),
        &p("checker:hoa"),
        None,
        b,
    );
    assert!(
        matches!(
            own,
            Err(BatchError::Submit(SubmitError::Rejected(
                Rejection::NotAllowed { .. }
            )))
        ),
        "{own:?}"
    );
    assert_eq!(status(&l, b), BatchStatus::Approved);
    batches::release(
        &l,
        &common::fixtures::settings(),
        &p("checker:tuan"),
        None,
        b,
    )
    .unwrap();
}

#[test]
fn every_command_is_refused_to_a_role_that_may_not_issue_it() {
    let mut w = world();
    w.enrol(person(
        "001185000001",
        "Nguyễn Thị Hoa",
        "1985-03-01",
        cash(),
    ));
    let b = w.computed(Programme::Btxh, m("2024-06"));
    let c = w.batch(b).computed.clone().unwrap();
    let approval = Command::ApproveBatch(ApproveBatch {
        batch: b,
        content_hash: c.content_hash,
        totals: c.totals,
    });
    let cases: Vec<(&str, Command)> = vec![
        ("bank:970436", approval.clone()),
        ("maker:hoa", approval),
        ("officer:lan", open("2024-07", FUNDING_ACCOUNT)),
        (
            "maker:hoa",
            Command::Enrol(person(
                "001185000003",
                "Trần Thị Bình",
                "1985-03-01",
                cash(),
            )),
        ),
        ("auditor:minh", Command::CloseBatch(CloseBatch { batch: b })),
        (
            "checker:tuan",
            Command::EnactRateSchedule(common::fixtures::schedules()[0].clone()),
        ),
        (
            "bank:970436",
            Command::HoldForReview(HoldForReview {
                beneficiary: BeneficiaryId(1),
                reason: HoldReason::Other { note: "x".into() },
            }),
        ),
    ];
    for (who, command) in cases {
        let name = command.name();
        w = w.when(who, command).then_rejected(|r| match r {
            Rejection::NotAllowed { reason } => {
                assert!(reason.contains("only a"), "{who} {name}: {reason}");
                true
            }
            _ => false,
        });
    }
    assert_eq!(w.batch(b).status, BatchStatus::Computed);
}

#[test]
fn a_principal_names_a_role_and_a_bank_its_bin() {
    for bad in [
        "hoa",
        "operator:cli",
        "nobody:x",
        "maker:",
        "bank:x",
        "bank:97043",
    ] {
        assert!(Principal::parse(bad).is_err(), "{bad}");
    }
    let b = p("bank:970436:lan");
    assert_eq!(b.bank_bin(), Some(BankBin::parse("970436").unwrap()));
    assert_eq!(p("maker:hoa").person(), p("checker:hoa").person());
    assert_eq!(p("maker:hoa").bank_bin(), None);
}

// ---- 4. A bank touches only its own payments ----

/// Two banks' people; June released and closed, July released.
fn two_banks(l: &Ledger) -> (BatchId, BatchId) {
    for (i, bin) in [(1, "970436"), (3, "970418"), (5, "970436"), (7, "970418")] {
        enrol(
            l,
            person(
                &format!("00118500000{i}"),
                "Nguyễn Thị Hoa",
                "1985-03-01",
                bank(bin, &format!("150020000000{i}"), "NGUYEN THI HOA"),
            ),
        );
    }
    let june = approved(l, "2024-06");
    batches::release(
        l,
        &common::fixtures::settings(),
        &p("checker:tuan"),
        None,
        june,
    )
    .unwrap();
    for bin in ["970436", "970418"] {
        report_all(l, june, bin);
    }
    run(
        l,
        "checker:tuan",
        Command::CloseBatch(CloseBatch { batch: june }),
    )
    .unwrap();
    let july = approved(l, "2024-07");
    batches::release(
        l,
        &common::fixtures::settings(),
        &p("checker:tuan"),
        None,
        july,
    )
    .unwrap();
    (june, july)
}

/// The bank's pain.001 of a batch, downloaded as the bank.
fn pain001_of(l: &Ledger, b: BatchId, bin: &str) -> (PaymentFileIssued, Vec<u8>) {
    let f = files_of(l, b)
        .into_iter()
        .find(|f| {
            f.channel == Channel::Bank(BankBin::parse(bin).unwrap())
                && f.format == FileFormat::Pain001V09
        })
        .unwrap();
    let (_, bytes) = batches::download(l, &p(&format!("bank:{bin}")), f.file).unwrap();
    (f, bytes)
}

/// The bank reports every payment of its file settled; `extra` lines are added.
fn report_bytes(l: &Ledger, b: BatchId, bin: &str, tag: &str, extra: &[&str]) -> Vec<u8> {
    let (_, bytes) = pain001_of(l, b, bin);
    let created = IsoDateTime::parse("2024-08-05T10:00:00+07:00").unwrap();
    let (report, mut lines) =
        files::simulate_for_pain001(&bytes, tag, created, |_| files::Outcome::Settled).unwrap();
    for id in extra {
        lines.push(files::SimulatedLine {
            end_to_end_id: (*id).to_owned(),
            amount: Vnd(1_000_000),
            outcome: files::Outcome::Settled,
        });
    }
    files::simulate_pain002(&report, &lines)
}

fn report_all(l: &Ledger, b: BatchId, bin: &str) {
    let xml = report_bytes(l, b, bin, &format!("STS-{b}-{bin}"), &[]);
    batches::ingest_status(l, &p(&format!("bank:{bin}")), None, &xml).unwrap();
}

fn payments_of(l: &Ledger, b: BatchId, bin: &str) -> Vec<PaymentId> {
    l.read(|s| {
        s.batch(b)
            .unwrap()
            .payments
            .iter()
            .filter(|id| {
                s.payment(*id).unwrap().route
                    == Route::Bank {
                        bin: BankBin::parse(bin).unwrap(),
                    }
            })
            .collect()
    })
    .unwrap()
}

fn refusal_of(r: Result<batches::Ingested, BatchError>) -> Rejection {
    match r {
        Err(BatchError::Submit(SubmitError::Rejected(why))) => why,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_bank_report_naming_other_banks_payments_is_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let l = ledger(dir.path());
    common::enact(&l, JULY_2024);
    let (june, july) = two_banks(&l);
    let theirs: Vec<String> = payments_of(&l, june, "970418")
        .into_iter()
        .chain(payments_of(&l, july, "970418"))
        .map(|id| id.to_string())
        .collect();
    let extra: Vec<&str> = theirs.iter().map(String::as_str).collect();
    let xml = report_bytes(&l, july, "970436", "STS-SNOOP", &extra);
    let probe_xml = report_bytes(&l, july, "970436", "STS-PROBE", &["P999999"]);
    let before = records(&l);
    let breaks = l.state().breaks().len();
    let why = refusal_of(batches::ingest_status(&l, &p("bank:970436"), None, &xml));
    let Rejection::Invalid { reason, .. } = &why else {
        panic!("{why:?}")
    };
    assert!(
        reason.contains("is not a payment in a file issued to bank 970436"),
        "{reason}"
    );
    assert_eq!(records(&l), before, "nothing appended");
    assert_eq!(
        l.state().breaks().len(),
        breaks,
        "no break in anyone's batch"
    );
    assert_eq!(status(&l, june), BatchStatus::Closed);
    // An id that exists nowhere gets the same answer, so a bank learns nothing by probing.
    let probe = refusal_of(batches::ingest_status(
        &l,
        &p("bank:970436"),
        None,
        &probe_xml,
    ));
    let Rejection::Invalid { reason: probe, .. } = probe else {
        panic!()
    };
    assert_eq!(
        probe.replace("P999999", "ID"),
        reason.replace(&theirs[0], "ID"),
        "the same words for someone else's payment and for no payment"
    );
    assert_eq!(records(&l), before);
    // Its own file, only its own lines: accepted.
    report_all(&l, july, "970436");
    assert!(records(&l) > before);
}

#[test]
fn a_bank_cannot_report_on_another_banks_file() {
    let dir = tempfile::tempdir().unwrap();
    let l = ledger(dir.path());
    common::enact(&l, JULY_2024);
    let (_, july) = two_banks(&l);
    let xml = report_bytes(&l, july, "970418", "STS-OTHER", &[]);
    let before = records(&l);
    let why = refusal_of(batches::ingest_status(&l, &p("bank:970436"), None, &xml));
    assert_eq!(why, Rejection::UnknownReport);
    assert_eq!(records(&l), before);
    // Nor download it.
    let f = files_of(&l, july)
        .into_iter()
        .find(|f| f.channel == Channel::Bank(BankBin::parse("970418").unwrap()))
        .unwrap();
    assert!(batches::download(&l, &p("bank:970436"), f.file).is_err());
    assert_eq!(records(&l), before);
}

#[test]
fn a_whole_file_rejection_returns_every_payment_of_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let l = ledger(dir.path());
    common::enact(&l, JULY_2024);
    let (_, july) = two_banks(&l);
    let xml = String::from_utf8(report_bytes(&l, july, "970436", "STS-RJCT", &[])).unwrap();
    // The bank rejects the whole file: GrpSts RJCT with a reason, and no transaction listed.
    let start = xml.find("<OrgnlPmtInfAndSts>").unwrap();
    let end = xml.find("</OrgnlPmtInfAndSts>").unwrap() + "</OrgnlPmtInfAndSts>".len();
    let group_status = regex_lite(&xml, "<GrpSts>", "</GrpSts>");
    let doc = format!("{}{}", &xml[..start], &xml[end..]).replace(
        &format!("<GrpSts>{group_status}</GrpSts>"),
        "<GrpSts>RJCT</GrpSts><StsRsnInf><Rsn><Cd>FF01</Cd></Rsn></StsRsnInf>",
    );
    batches::ingest_status(&l, &p("bank:970436"), None, doc.as_bytes()).unwrap();
    let ours = payments_of(&l, july, "970436");
    let theirs = payments_of(&l, july, "970418");
    l.read(|s| {
        for id in &ours {
            let pay = s.payment(*id).unwrap();
            assert_eq!(
                pay.status,
                chitra::domain::state::PaymentStatus::Returned,
                "{id}"
            );
            assert_eq!(s.return_reason(*id), Some("FF01"));
        }
        for id in &theirs {
            assert_eq!(
                s.payment(*id).unwrap().status,
                chitra::domain::state::PaymentStatus::Scheduled
            );
        }
    })
    .unwrap();
}

/// The text between the first `open` and the next `close`.
fn regex_lite<'a>(text: &'a str, open: &str, close: &str) -> &'a str {
    let from = text.find(open).unwrap() + open.len();
    let to = from + text[from..].find(close).unwrap();
    &text[from..to]
}

#[test]
fn a_message_id_ingested_before_with_other_content_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let l = ledger(dir.path());
    common::enact(&l, JULY_2024);
    let (_, july) = two_banks(&l);
    let first = report_bytes(&l, july, "970436", "STS-1", &[]);
    batches::ingest_status(&l, &p("bank:970436"), None, &first).unwrap();
    let before = records(&l);
    // The very same bytes again: nothing new, not an error.
    let again = batches::ingest_status(&l, &p("bank:970436"), None, &first).unwrap();
    assert!(!again.new);
    // Other content under the same message id: refused.
    let ours = payments_of(&l, july, "970436")[0].to_string();
    let text = String::from_utf8(first).unwrap().replacen(
        "<TxSts>ACSC</TxSts>",
        "<TxSts>RJCT</TxSts><StsRsnInf><Rsn><Cd>AC04</Cd></Rsn></StsRsnInf>",
        1,
    );
    assert!(text.contains(&ours));
    let why = refusal_of(batches::ingest_status(
        &l,
        &p("bank:970436"),
        None,
        text.as_bytes(),
    ));
    assert!(
        matches!(&why, Rejection::Conflict { reason } if reason.contains("already ingested")),
        "{why:?}"
    );
    assert_eq!(records(&l), before);
}

// ---- 5. Time that cannot be ----

#[test]
fn the_harness_and_the_ledger_tests_agree_on_today() {
    assert_eq!(
        chitra::ledger::local_date(common::T0_MS),
        d(common::given::TODAY)
    );
}

#[test]
fn a_batch_can_be_opened_for_next_month_at_the_latest() {
    // The harness's clock says 2026-11-02, as the ledger tests' does.
    let mut w = world();
    for far in ["2027-01", "2036-01"] {
        w = w
            .when("maker:hoa", open(far, FUNDING_ACCOUNT))
            .then_rejected(|r| matches!(r, Rejection::Invalid { field, .. } if field == "month"));
    }
    let w = w
        .when("maker:hoa", open("2026-12", FUNDING_ACCOUNT))
        .then_accepted(|events| assert!(matches!(events, [Event::BatchOpened(_)])));
    // Measured from today: in mid-January 2027, February is next month.
    w.today("2027-01-15")
        .when("maker:hoa", open("2027-02", FUNDING_ACCOUNT))
        .then_accepted(|events| assert!(matches!(events, [Event::BatchOpened(_)])))
        .when("maker:hoa", open("2027-03", FUNDING_ACCOUNT))
        .then_rejected(|r| matches!(r, Rejection::Invalid { field, .. } if field == "month"));
}

#[test]
fn nobody_is_owed_anything_for_a_month_before_their_birth() {
    // A child born on 2025-06-30 with a decision effective from 2024-06.
    let child = person("001225000001", "Nguyễn Văn Bé", "2025-06-30", cash());
    let mut ok = child.clone();
    ok.entitlements[0].effective_from = m("2025-06");
    let w = world()
        .when("officer:lan", Command::Enrol(child))
        .then_rejected(|r| {
            matches!(r, Rejection::Invalid { field, reason } if field == "effective_from" && reason.contains("born"))
        })
        // Enrolled with a decision from their birth month, a later decision may not reach back.
        .when("officer:lan", Command::Enrol(ok))
        .then_accepted(|events| assert_eq!(events.len(), 2));
    let who = BeneficiaryId(1);
    w.when(
        "officer:lan",
        Command::GrantEntitlement(GrantEntitlement {
            beneficiary: who,
            entitlement: common::fixtures::monthly("btxh.disability_severe", vec![], "2025-05"),
        }),
    )
    .then_rejected(|r| matches!(r, Rejection::Invalid { field, .. } if field == "effective_from"))
    // Nor may a corrected birth date move past a decision already in force.
    .when(
        "officer:lan",
        Command::CorrectDetails(CorrectDetails {
            beneficiary: who,
            full_name: None,
            birth_date: Some(d("2025-08-01")),
            sex: None,
            address_line: None,
            commune: None,
            reason: "typo".into(),
        }),
    )
    .then_rejected(|r| matches!(r, Rejection::Invalid { field, .. } if field == "birth_date"));
}

#[test]
fn the_due_function_pays_nothing_before_birth_even_on_an_old_decision() {
    // A chain written before decisions were checked against the birth date: the events are
    // given as they stand, as replay would apply them, and the rules asked what is due.
    let born = d("2025-06-30");
    let mut history: Vec<common::given::Given> = common::fixtures::schedules()
        .into_iter()
        .map(|s| Event::RateScheduleEnacted(Box::new(s)).into())
        .collect();
    history.push(
        (
            Event::BeneficiaryEnrolled(Box::new(BeneficiaryEnrolled {
                beneficiary: BeneficiaryId(1),
                programme: Programme::Btxh,
                commune: CommuneCode::parse("00004").unwrap(),
                route: None,
                decision: None,
                warnings: vec![],
            })),
            PersonalData {
                identity: Some(Identity {
                    citizen_id: CitizenId::parse("001225000001").unwrap(),
                    full_name: "Nguyễn Văn Bé".into(),
                    birth_date: born,
                    sex: Sex::Male,
                    address_line: String::new(),
                }),
                account: None,
            },
        )
            .into(),
    );
    history.push(
        Event::EntitlementGranted(Box::new(EntitlementGranted {
            entitlement: EntitlementId(1),
            beneficiary: BeneficiaryId(1),
            programme: Programme::Btxh,
            scheme: "btxh.disability_severe".into(),
            params: vec![],
            kind: EntitlementKind::Monthly,
            effective_from: m("2024-06"),
            decision: decision("12/QĐ-UBND"),
            payee: None,
        }))
        .into(),
    );
    let w = given(history);
    let due_in = |month: &str| due(w.state(), BeneficiaryId(1), m(month), w.records()).unwrap();
    for month in ["2024-06", "2025-01", "2025-05"] {
        assert!(due_in(month).is_empty(), "{month}");
    }
    assert!(!due_in("2025-06").is_empty());
}

#[test]
fn synthetic_people_taken_on_in_a_month_were_born_by_then() {
    let may = m("2024-05");
    for i in 0..5_000 {
        let e = chitra::dev::synth::person_as_of(11, i, may);
        assert!(e.birth_date.month() <= may, "{i}: born {}", e.birth_date);
        for ent in &e.entitlements {
            assert!(ent.effective_from >= e.birth_date.month(), "{i}");
        }
    }
}
