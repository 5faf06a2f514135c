//! Golden vectors pin the chain format and every payload version byte for byte.
//!
//! `ledger-data/golden/v1/` holds a small export made by this test's script of commands (fixed
//! clock, fixed salts), its personal-data file, the expected hash of every record, and one
//! encoded payload per event variant. Any change to the record layout, the hashing, the block
//! or export framing, or the payload encoding fails here. If a change is intended, it needs a
//! new format or payload version, not new golden files; regenerating them
//! (`CHITRA_BLESS=1 cargo test --test golden`) is only for adding fixtures.

mod common;

use std::path::{Path, PathBuf};

use chitra::chain::export::read_personal_export;
use chitra::chain::hex;
use chitra::chain::record::{parse_record, record_hash};
use chitra::domain::command::*;
use chitra::domain::event::*;
use chitra::domain::types::*;
use chitra::domain::Command;
use chitra::ledger::codec::{decode_event, event_bytes};
use chitra::ledger::{IdempotencyKey, Ledger, Submission};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("ledger-data/golden/v1")
}

fn blessing() -> bool {
    std::env::var_os("CHITRA_BLESS").is_some()
}

fn d(y: u16, m: u8, day: u8) -> Date {
    Date::new(y, m, day).unwrap()
}

fn month(y: u16, m: u8) -> Month {
    Month::new(y, m).unwrap()
}

fn decision(n: &str) -> Decision {
    Decision {
        number: n.into(),
        date: d(2024, 6, 20),
        signer: "Nguyễn Văn Bình".into(),
    }
}

fn sub(who: &str, key: Option<&str>, command: Command) -> Submission {
    Submission {
        principal: Principal::parse(who).unwrap(),
        idempotency_key: key.map(|k| IdempotencyKey::parse(k).unwrap()),
        command,
    }
}

fn schedule() -> RateScheduleEnacted {
    RateScheduleEnacted {
        schedule: "ncc-nd77-2024-golden".into(),
        programme: Programme::Ncc,
        instrument: "ND 77/2024/NĐ-CP".into(),
        applies_from: month(2024, 7),
        enacted_on: d(2024, 7, 1),
        province: None,
        entries: vec![
            RateEntry {
                key: "ncc.standard".into(),
                value: RateValue::Amount(Vnd(2_789_000)),
            },
            RateEntry {
                key: "ncc.annex2.61".into(),
                value: RateValue::Amount(Vnd(5_450_000)),
            },
        ],
        source_digest: *blake3::hash(b"golden").as_bytes(),
    }
}

fn person(
    id: &str,
    name: &str,
    birth: Date,
    sex: Sex,
    route: RouteRequest,
    scheme: &str,
    params: Vec<SchemeParam>,
) -> Enrol {
    Enrol {
        citizen_id: CitizenId::parse(id).unwrap(),
        full_name: name.into(),
        birth_date: birth,
        sex,
        address_line: "Số 12 ngõ 34 phố Kim Mã".into(),
        commune: CommuneCode::parse("00004").unwrap(),
        programme: if scheme.starts_with("ncc") {
            Programme::Ncc
        } else {
            Programme::Btxh
        },
        decision: Some(decision("101/QĐ-UBND")),
        route: Some(route),
        entitlements: vec![NewEntitlement {
            programme: if scheme.starts_with("ncc") {
                Programme::Ncc
            } else {
                Programme::Btxh
            },
            scheme: scheme.into(),
            params,
            kind: EntitlementKind::Monthly,
            effective_from: month(2024, 7),
            decision: decision("102/QĐ-UBND"),
            payee: None,
        }],
    }
}

/// The script of commands behind the golden chain.
fn script() -> Vec<Submission> {
    let a = BeneficiaryId(1);
    let b = BeneficiaryId(2);
    vec![
        sub(
            "admin:thu",
            Some("rates-2024-07"),
            Command::EnactRateSchedule(schedule()),
        ),
        sub(
            "officer:lan",
            Some("enrol-a"),
            Command::Enrol(person(
                "001052012345",
                "Trần Văn An",
                d(1952, 3, 14),
                Sex::Male,
                RouteRequest::Bank {
                    bin: BankBin::parse("970436").unwrap(),
                    account_number: AccountNumber::parse("0011004567890").unwrap(),
                    holder_name: "TRAN VAN AN".into(),
                },
                "ncc.war_invalid",
                vec![SchemeParam::InjuryRatePct(61)],
            )),
        ),
        sub(
            "officer:lan",
            None,
            Command::Enrol(person(
                "001148067890",
                "Lê Thị Hoa",
                d(1948, 11, 2),
                Sex::Female,
                RouteRequest::Cash {
                    pay_point: CommuneCode::parse("00004").unwrap(),
                },
                "btxh.elderly_80_no_pension",
                vec![],
            )),
        ),
        sub(
            "officer:lan",
            None,
            Command::CorrectDetails(CorrectDetails {
                beneficiary: a,
                full_name: None,
                birth_date: None,
                sex: None,
                address_line: Some("Số 8 phố Đội Cấn".into()),
                commune: Some(CommuneCode::parse("00008").unwrap()),
                reason: "moved within Hanoi".into(),
            }),
        ),
        sub(
            "officer:lan",
            None,
            Command::SetPaymentRoute(SetPaymentRoute {
                beneficiary: b,
                route: RouteRequest::Bank {
                    bin: BankBin::parse("970405").unwrap(),
                    account_number: AccountNumber::parse("1500205123456").unwrap(),
                    holder_name: "LE THI HOA".into(),
                },
                reason: "opened an Agribank account".into(),
            }),
        ),
        sub(
            "officer:lan",
            None,
            Command::SuspendEntitlement(SuspendEntitlement {
                entitlement: EntitlementId(2),
                from: month(2024, 9),
                reason: SuspensionReason::Uncollected,
                decision: decision("140/QĐ-UBND"),
            }),
        ),
        sub(
            "officer:lan",
            None,
            Command::ResumeEntitlement(ResumeEntitlement {
                entitlement: EntitlementId(2),
                from: month(2024, 11),
                back_pay_from: Some(month(2024, 9)),
                decision: decision("151/QĐ-UBND"),
            }),
        ),
        sub(
            "officer:lan",
            None,
            Command::AdjustEntitlement(AdjustEntitlement {
                entitlement: EntitlementId(1),
                effective_from: month(2024, 8),
                scheme: None,
                params: Some(vec![
                    SchemeParam::InjuryRatePct(81),
                    SchemeParam::EspeciallySevere,
                ]),
                decision: decision("133/QĐ-UBND"),
            }),
        ),
        sub(
            "officer:lan",
            None,
            Command::HoldForReview(HoldForReview {
                beneficiary: a,
                reason: HoldReason::Other {
                    note: "bank reported a name mismatch".into(),
                },
            }),
        ),
        sub(
            "officer:lan",
            None,
            Command::ClearReview(ClearReview {
                beneficiary: a,
                decision: decision("160/QĐ-UBND"),
                note: "name confirmed".into(),
            }),
        ),
        sub(
            "officer:lan",
            None,
            Command::RecordDeath(RecordDeath {
                beneficiary: b,
                date_of_death: d(2024, 7, 15),
                decision: None,
            }),
        ),
        sub(
            "officer:lan",
            None,
            Command::TerminateEntitlement(TerminateEntitlement {
                entitlement: EntitlementId(2),
                last_month: month(2024, 7),
                reason: TerminationReason::Death {
                    date: d(2024, 7, 15),
                },
                decision: decision("170/QĐ-UBND"),
            }),
        ),
    ]
}

/// Builds the golden ledger in `dir` and exports it to `out`.
fn build(dir: &Path, out: &Path) -> (PathBuf, PathBuf) {
    let ledger = common::open_at(dir, common::GOLDEN_T0_MS);
    for s in script() {
        ledger.submit(s).unwrap();
    }
    ledger
        .erase_personal_data(sub(
            "admin:thu",
            None,
            Command::ErasePersonalData(ErasePersonalData {
                beneficiary: BeneficiaryId(2),
                legal_basis: "retention ended (golden fixture)".into(),
            }),
        ))
        .unwrap();
    let chain = out.join("chain.export");
    let personal = out.join("chain.export.personal");
    chitra::ledger::archive::export(ledger.store(), &chain, Some(&personal)).unwrap();
    (chain, personal)
}

#[test]
fn the_chain_format_has_not_drifted() {
    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let (chain, personal) = build(dir.path(), out.path());
    let golden = golden_dir();
    if blessing() {
        std::fs::create_dir_all(&golden).unwrap();
        std::fs::copy(&chain, golden.join("chain.export")).unwrap();
        std::fs::copy(&personal, golden.join("chain.export.personal")).unwrap();
        let hashes: String = common::export::records(&std::fs::read(&chain).unwrap())
            .iter()
            .map(|r| {
                format!(
                    "{} {}\n",
                    parse_record(r).unwrap().header.seq,
                    hex(&record_hash(r))
                )
            })
            .collect();
        std::fs::write(golden.join("hashes.txt"), hashes).unwrap();
    }
    assert_eq!(
        std::fs::read(&chain).unwrap(),
        std::fs::read(golden.join("chain.export")).unwrap(),
        "the chain export differs from ledger-data/golden/v1/chain.export"
    );
    assert_eq!(
        std::fs::read(&personal).unwrap(),
        std::fs::read(golden.join("chain.export.personal")).unwrap(),
        "the personal-data export differs from the golden file"
    );
}

#[test]
fn golden_records_hash_to_the_listed_values_and_verify() {
    let golden = golden_dir();
    let bytes = std::fs::read(golden.join("chain.export")).unwrap();
    let listed: Vec<(u64, String)> = std::fs::read_to_string(golden.join("hashes.txt"))
        .unwrap()
        .lines()
        .map(|l| {
            let (seq, hash) = l.split_once(' ').unwrap();
            (seq.parse().unwrap(), hash.to_owned())
        })
        .collect();
    let records = common::export::records(&bytes);
    assert_eq!(records.len(), listed.len());
    for (r, (seq, hash)) in records.iter().zip(&listed) {
        let view = parse_record(r).unwrap();
        assert_eq!(view.header.seq, *seq);
        assert_eq!(&hex(&record_hash(r)), hash, "seq {seq}");
        // Old payloads stay decodable.
        decode_event(view.header.payload_version, view.payload).unwrap();
    }
    let personal =
        read_personal_export(&std::fs::read(golden.join("chain.export.personal")).unwrap()[..])
            .unwrap();
    let report =
        chitra::ledger::verify::verify_export(&bytes[..], Some(&personal), None, |_| {}).unwrap();
    assert_eq!(report.verified.records as usize, records.len());
    // The second person's data was erased: two of the attachments are gone.
    let with_commitment = records
        .iter()
        .filter(|r| {
            parse_record(r)
                .unwrap()
                .header
                .personal_commitment
                .is_some()
        })
        .count();
    assert_eq!(report.personal_entries as usize, with_commitment - 2);
}

#[test]
fn the_golden_chain_imports_into_a_ledger_with_the_same_head() {
    let golden = golden_dir();
    let dir = tempfile::tempdir().unwrap();
    let store = chitra::store::Store::open(dir.path()).unwrap();
    let summary = chitra::ledger::archive::import(
        &store,
        &golden.join("chain.export"),
        Some(&golden.join("chain.export.personal")),
    )
    .unwrap();
    drop(store);
    let ledger = Ledger::open(chitra::ledger::Config::new(dir.path())).unwrap();
    assert_eq!(ledger.head().unwrap().last, summary.head);
    let s = ledger.state();
    assert_eq!(s.beneficiary_count(), 2);
    assert!(s
        .beneficiary(BeneficiaryId(2))
        .unwrap()
        .identity
        .known()
        .is_none());
    assert_eq!(
        s.beneficiary(BeneficiaryId(1))
            .unwrap()
            .identity
            .known()
            .unwrap()
            .address_line,
        "Số 8 phố Đội Cấn"
    );
}

/// One value of every event variant, so the payload encoding of each is pinned.
fn every_event() -> Vec<Event> {
    let digest = *blake3::hash(b"x").as_bytes();
    let totals = ControlTotals {
        count: 2,
        sum: Vnd(6_449_000),
    };
    let bank = Channel::Bank(BankBin::parse("970436").unwrap());
    vec![
        Event::BeneficiaryEnrolled(Box::new(BeneficiaryEnrolled {
            beneficiary: BeneficiaryId(1),
            programme: Programme::Ncc,
            commune: CommuneCode::parse("00004").unwrap(),
            route: Some(Route::Bank {
                bin: BankBin::parse("970436").unwrap(),
            }),
            decision: Some(decision("1/QĐ")),
            warnings: vec![
                EnrolmentWarning::CitizenIdYearDisagrees,
                EnrolmentWarning::CommuneCodeMapped {
                    from: CommuneCode::parse("00001").unwrap(),
                },
            ],
        })),
        Event::BeneficiaryDetailsCorrected(BeneficiaryDetailsCorrected {
            beneficiary: BeneficiaryId(1),
            commune: None,
            reason: "typo".into(),
            warnings: vec![],
        }),
        Event::PaymentRouteSet(PaymentRouteSet {
            beneficiary: BeneficiaryId(1),
            route: Route::Cash {
                pay_point: CommuneCode::parse("00004").unwrap(),
            },
            reason: "no account".into(),
        }),
        Event::BeneficiaryDeathRecorded(Box::new(BeneficiaryDeathRecorded {
            beneficiary: BeneficiaryId(1),
            date_of_death: d(2024, 7, 15),
            decision: None,
        })),
        Event::BeneficiaryHeldForReview(BeneficiaryHeldForReview {
            beneficiary: BeneficiaryId(1),
            reason: HoldReason::DeceasedReturn {
                payment: PaymentId(9),
            },
        }),
        Event::BeneficiaryReviewCleared(Box::new(BeneficiaryReviewCleared {
            beneficiary: BeneficiaryId(1),
            decision: decision("2/QĐ"),
            note: "alive".into(),
        })),
        Event::RateScheduleEnacted(Box::new(schedule())),
        Event::EntitlementGranted(Box::new(EntitlementGranted {
            entitlement: EntitlementId(1),
            beneficiary: BeneficiaryId(1),
            programme: Programme::Btxh,
            scheme: "btxh.single_parent_poor".into(),
            params: vec![SchemeParam::Children(2), SchemeParam::PoorHousehold],
            kind: EntitlementKind::OneOff {
                month: month(2024, 8),
            },
            effective_from: month(2024, 8),
            decision: decision("3/QĐ"),
            payee: Some(BeneficiaryId(2)),
        })),
        Event::EntitlementAdjusted(Box::new(EntitlementAdjusted {
            entitlement: EntitlementId(1),
            effective_from: month(2024, 9),
            scheme: Some("btxh.hiv_poor".into()),
            params: None,
            decision: decision("4/QĐ"),
        })),
        Event::EntitlementSuspended(Box::new(EntitlementSuspended {
            entitlement: EntitlementId(1),
            from: month(2024, 9),
            reason: SuspensionReason::Other { note: "x".into() },
            decision: decision("5/QĐ"),
        })),
        Event::EntitlementResumed(Box::new(EntitlementResumed {
            entitlement: EntitlementId(1),
            from: month(2024, 10),
            back_pay_from: None,
            decision: decision("6/QĐ"),
        })),
        Event::EntitlementTerminated(Box::new(EntitlementTerminated {
            entitlement: EntitlementId(1),
            last_month: month(2024, 10),
            reason: TerminationReason::MovedOut {
                to_province: ProvinceCode::parse("79").unwrap(),
            },
            decision: decision("7/QĐ"),
        })),
        Event::BatchOpened(BatchOpened {
            batch: BatchId(1),
            programme: Programme::Ncc,
            month: month(2024, 8),
            funding_account: "9527.1.1234567".into(),
            kind: BatchKind::Supplementary { of: BatchId(1) },
        }),
        Event::PaymentScheduled(PaymentScheduled {
            payment: PaymentId(1),
            batch: BatchId(1),
            beneficiary: BeneficiaryId(1),
            route: Route::Bank {
                bin: BankBin::parse("970436").unwrap(),
            },
            amount: Vnd(6_449_000),
            items: vec![
                PaymentItem {
                    entitlement: EntitlementId(1),
                    source_month: month(2024, 8),
                    kind: ItemKind::Regular,
                    amount: Vnd(5_450_000),
                    rule: "ncc.annex2.61@ncc-nd77-2024".into(),
                },
                PaymentItem {
                    entitlement: EntitlementId(1),
                    source_month: month(2024, 7),
                    kind: ItemKind::Arrears,
                    amount: Vnd(1_434_000),
                    rule: "arrears".into(),
                },
                PaymentItem {
                    entitlement: EntitlementId(1),
                    source_month: month(2024, 6),
                    kind: ItemKind::Recovery,
                    amount: Vnd(-435_000),
                    rule: "recovery".into(),
                },
            ],
        }),
        Event::BatchComputed(Box::new(BatchComputed {
            batch: BatchId(1),
            basis_seq: 41,
            content_hash: digest,
            totals,
            by_channel: vec![(bank, totals), (Channel::Cash, ControlTotals::default())],
        })),
        Event::BatchApproved(BatchApproved {
            batch: BatchId(1),
            content_hash: digest,
            totals,
        }),
        Event::BatchReleased(BatchReleased {
            batch: BatchId(1),
            content_hash: digest,
        }),
        Event::BatchCancelled(BatchCancelled {
            batch: BatchId(1),
            reason: "wrong month".into(),
        }),
        Event::BatchClosed(BatchClosed {
            batch: BatchId(1),
            released: totals,
            settled: totals,
            returned: ControlTotals::default(),
        }),
        Event::PaymentFileIssued(Box::new(PaymentFileIssued {
            file: FileId(1),
            batch: BatchId(1),
            channel: bank,
            pay_point: None,
            format: FileFormat::Pain001V09,
            name: "BATCH1-970436.xml".into(),
            digest,
            bytes: 4096,
            totals,
        })),
        Event::PaymentFileDownloaded(PaymentFileDownloaded {
            file: FileId(1),
            digest,
        }),
        Event::StatusReportIngested(Box::new(StatusReportIngested {
            digest,
            channel: bank,
            format: StatusFormat::Pain002V10,
            message_id: "VCB-STS-1".into(),
            lines: 2,
        })),
        Event::PaymentSettled(PaymentSettled {
            payment: PaymentId(1),
            report: digest,
        }),
        Event::PaymentReturned(PaymentReturned {
            payment: PaymentId(1),
            reason_code: "AC04".into(),
            report: digest,
        }),
        Event::ReconciliationBreakRecorded(Box::new(ReconciliationBreakRecorded {
            batch: Some(BatchId(1)),
            report: digest,
            kind: BreakKind::AmountMismatch {
                payment: PaymentId(1),
                expected: Vnd(1),
                reported: Vnd(2),
            },
        })),
        Event::CheckpointRecorded(Box::new(CheckpointRecorded {
            tree_size: 42,
            root: digest,
            key_name: "chitra-hanoi-2026".into(),
            signature: vec![7; 64],
        })),
        Event::PersonalDataErased(PersonalDataErased {
            beneficiary: BeneficiaryId(1),
            records: vec![1, 4],
            legal_basis: "retention".into(),
        }),
        Event::ReconciliationBreakResolved(ReconciliationBreakResolved {
            break_seq: 77,
            note: "bank corrected its report".into(),
        }),
        Event::IdentityCheckRecorded(Box::new(chitra::domain::identity::IdentityCheckRecorded {
            reference: "KT-2025/11".into(),
            answered_on: d(2025, 11, 20),
            source_digest: [5; 32],
            answers: vec![chitra::domain::identity::IdentityAnswer {
                beneficiary: BeneficiaryId(3),
                citizen_id: chitra::domain::identity::FieldCheck::Matched,
                full_name: chitra::domain::identity::FieldCheck::Differs,
                birth_date: chitra::domain::identity::FieldCheck::Matched,
                sex: chitra::domain::identity::FieldCheck::NotFound,
                died_on: Some(d(2025, 10, 3)),
            }],
            unmatched: 2,
        })),
        Event::IdentityCheckModeSet(chitra::domain::identity::IdentityCheckModeSet {
            programme: Programme::Ncc,
            mode: chitra::domain::identity::IdentityCheckMode::WarnOnly,
        }),
        Event::FundsAllocated(Box::new(FundsAllocated {
            programme: Programme::Btxh,
            from: month(2024, 7),
            to: month(2024, 9),
            decision: decision("12/QĐ-KBNN"),
            amount: Vnd(1_600_000_000),
        })),
    ]
}

#[test]
fn every_event_variant_decodes_from_its_golden_payload() {
    let path = golden_dir().join("payloads-v1.txt");
    let events = every_event();
    if blessing() {
        let text: String = events
            .iter()
            .map(|e| format!("{} {}\n", e.name(), hex(&event_bytes(e))))
            .collect();
        std::fs::write(&path, text).unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        events.len(),
        "one golden payload per event variant"
    );
    for (line, event) in lines.iter().zip(&events) {
        let (name, hex_bytes) = line.split_once(' ').unwrap();
        assert_eq!(name, event.name());
        let bytes: Vec<u8> = (0..hex_bytes.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex_bytes[i..i + 2], 16).unwrap())
            .collect();
        assert_eq!(
            &decode_event(1, &bytes).unwrap(),
            event,
            "{name} decodes differently"
        );
        assert_eq!(event_bytes(event), bytes, "{name} encodes differently");
    }
}
