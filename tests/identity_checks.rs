//! Identity checks against the National Population Database (Project 06), through the pure
//! harness: an answer file parsed by `formats::identity_check`, recorded by `decide` as one
//! event, and the holds it places on the next batch; a later matching answer clears them, a
//! reported death waits for an officer, and the programme's setting chooses hold or warn.

mod common;

use chitra::domain::command::*;
use chitra::domain::identity::{
    IdentityCheckMode, IdentityCheckModeSet, IdentityOutcome, RecordIdentityCheck,
};
use chitra::domain::types::*;
use chitra::domain::{Command, Rejection};
use chitra::formats::identity_check::{parse_answers, HEADER};
use common::fixtures::{cash, d, enrolment, m, severe_disability};
use common::given::World;

const IDS: [&str; 4] = [
    "001089012345",
    "001089012346",
    "001089012347",
    "001089012348",
];

/// Four people with a BTXH allowance from June 2024, paid in cash.
fn world() -> (World, Vec<BeneficiaryId>) {
    let mut w = World::with_all_schedules();
    let people = IDS
        .iter()
        .map(|id| {
            w.enrol(enrolment(
                id,
                "Nguyễn Văn An",
                "1989-05-10",
                Some(cash()),
                vec![severe_disability()],
            ))
        })
        .collect();
    (w, people)
}

/// Records an answer file (CSV rows after the header) as check `reference`.
fn check(w: &mut World, reference: &str, rows: &[&str]) -> Result<(), Rejection> {
    let text = format!("{HEADER}\n{}\n", rows.join("\n"));
    let rows = parse_answers(text.as_bytes()).unwrap();
    w.try_run(Command::RecordIdentityCheck(RecordIdentityCheck {
        reference: reference.into(),
        answered_on: d("2024-07-20"),
        source_digest: *blake3::hash(text.as_bytes()).as_bytes(),
        rows,
    }))
    .map(|_| ())
}

fn paid(w: &World, batch: BatchId, who: BeneficiaryId) -> Option<i64> {
    w.payment_of(batch, who).map(|p| p.amount.0)
}

#[test]
fn answers_hold_people_from_the_next_batch_with_the_reason() {
    let (mut w, p) = world();
    w.pay(Programme::Btxh, m("2024-07"));
    check(
        &mut w,
        "KT-2024/07",
        &[
            "001089012345,yes,matched,matched,matched,alive,",
            "001089012346,yes,differs,matched,matched,alive,",
            "001089012347,no,,,,unknown,",
            "001089012348,yes,matched,matched,matched,dead,2024-07-03",
            // Nobody enrolled under this one: counted, not recorded.
            "001089099999,yes,matched,matched,matched,alive,",
        ],
    )
    .unwrap();
    let recorded = w.state().identity();
    assert_eq!(
        recorded.latest(p[0]).unwrap().outcome,
        IdentityOutcome::Verified
    );
    assert_eq!(
        recorded.latest(p[1]).unwrap().outcome,
        IdentityOutcome::Differs {
            fields: vec!["full_name"]
        }
    );
    assert_eq!(
        recorded.latest(p[2]).unwrap().outcome,
        IdentityOutcome::NotFound
    );
    let (batch, plan) = w.pay(Programme::Btxh, m("2024-08"));
    assert_eq!(paid(&w, batch, p[0]), Some(750_000));
    for who in &p[1..] {
        assert_eq!(paid(&w, batch, *who), None, "{who} is held");
    }
    let reasons: Vec<(BeneficiaryId, String)> = plan.identity_held.clone();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert_eq!(
        reasons[0],
        (
            p[1],
            "full_name differ from the population database (check KT-2024/07)".to_owned()
        )
    );
    assert!(reasons[1].1.contains("citizen ID not found"), "{reasons:?}");
    assert!(
        reasons[2].1.contains("reports a death on 2024-07-03") && reasons[2].1.contains("officer"),
        "{reasons:?}"
    );
}

#[test]
fn a_later_matching_answer_clears_the_hold_and_the_held_month_is_paid_as_arrears() {
    let (mut w, p) = world();
    check(
        &mut w,
        "KT-1",
        &["001089012346,yes,matched,differs,matched,alive,"],
    )
    .unwrap();
    let (july, _) = w.pay(Programme::Btxh, m("2024-07"));
    assert_eq!(paid(&w, july, p[1]), None);
    // The officer corrects the birth date; the next check confirms it.
    w.run(Command::CorrectDetails(CorrectDetails {
        beneficiary: p[1],
        full_name: None,
        birth_date: Some(d("1989-06-10")),
        sex: None,
        address_line: None,
        commune: None,
        reason: "birth date as on the citizen ID card".into(),
    }));
    assert!(w.state().identity().latest(p[1]).unwrap().corrected_after);
    let (still, _) = w.pay(Programme::Btxh, m("2024-08"));
    assert_eq!(
        paid(&w, still, p[1]),
        None,
        "a correction alone does not clear it"
    );
    check(
        &mut w,
        "KT-2",
        &["001089012346,yes,matched,matched,matched,alive,"],
    )
    .unwrap();
    let (september, _) = w.pay(Programme::Btxh, m("2024-09"));
    // June to September: 540,000 + 3 × 750,000, carried with their source months.
    assert_eq!(paid(&w, september, p[1]), Some(540_000 + 3 * 750_000));
    let months: Vec<Month> = w
        .payment_of(september, p[1])
        .unwrap()
        .items
        .iter()
        .map(|i| i.source_month)
        .collect();
    assert_eq!(
        months,
        ["2024-06", "2024-07", "2024-08", "2024-09"].map(m).to_vec()
    );
}

#[test]
fn a_reported_death_waits_for_the_officer_and_then_entitlements_end() {
    let (mut w, p) = world();
    w.pay(Programme::Btxh, m("2024-06"));
    check(
        &mut w,
        "KT-1",
        &["001089012348,yes,matched,matched,matched,dead,2024-07-03"],
    )
    .unwrap();
    // Recorded as reported, not as a death.
    assert_eq!(w.state().beneficiary(p[3]).unwrap().date_of_death, None);
    let (july, plan) = w.pay(Programme::Btxh, m("2024-07"));
    assert_eq!(paid(&w, july, p[3]), None);
    assert_eq!(plan.identity_held.len(), 1);
    w.run(Command::RecordDeath(RecordDeath {
        beneficiary: p[3],
        date_of_death: d("2024-07-03"),
        decision: None,
    }));
    // Confirmed: no longer held; the month of death is paid in full, nothing after.
    let (august, plan) = w.pay(Programme::Btxh, m("2024-08"));
    assert!(plan.identity_held.is_empty(), "{:?}", plan.identity_held);
    assert_eq!(paid(&w, august, p[3]), Some(750_000));
}

#[test]
fn warn_only_pays_differences_but_never_a_reported_death() {
    let (mut w, p) = world();
    let refused = w
        .try_run_as(
            "officer:lan",
            Command::SetIdentityCheckMode(IdentityCheckModeSet {
                programme: Programme::Btxh,
                mode: IdentityCheckMode::WarnOnly,
            }),
        )
        .unwrap_err();
    assert!(matches!(refused, Rejection::NotAllowed { .. }), "{refused}");
    w.run(Command::SetIdentityCheckMode(IdentityCheckModeSet {
        programme: Programme::Btxh,
        mode: IdentityCheckMode::WarnOnly,
    }));
    assert_eq!(
        w.state().identity().mode(Programme::Btxh),
        IdentityCheckMode::WarnOnly
    );
    assert_eq!(
        w.state().identity().mode(Programme::Ncc),
        IdentityCheckMode::Hold
    );
    check(
        &mut w,
        "KT-1",
        &[
            "001089012346,yes,differs,matched,matched,alive,",
            "001089012347,no,,,,unknown,",
            "001089012348,yes,matched,matched,matched,dead,2024-06-03",
        ],
    )
    .unwrap();
    let (june, plan) = w.pay(Programme::Btxh, m("2024-06"));
    assert_eq!(paid(&w, june, p[1]), Some(540_000));
    assert_eq!(paid(&w, june, p[2]), Some(540_000));
    assert_eq!(paid(&w, june, p[3]), None);
    assert_eq!(plan.identity_held.len(), 1);
}

#[test]
fn bad_checks_are_refused_and_change_nothing() {
    let (mut w, _) = world();
    check(
        &mut w,
        "KT-1",
        &["001089012345,yes,matched,matched,matched,alive,"],
    )
    .unwrap();
    let before = w.records();
    let again = check(
        &mut w,
        "KT-1",
        &["001089012345,yes,matched,matched,matched,alive,"],
    )
    .unwrap_err();
    assert!(again.to_string().contains("recorded already"), "{again}");
    let text = format!("{HEADER}\n001089012345,yes,matched,matched,matched,alive,\n");
    let future = w
        .try_run(Command::RecordIdentityCheck(RecordIdentityCheck {
            reference: "KT-2".into(),
            answered_on: d("2030-01-01"),
            source_digest: [0; 32],
            rows: parse_answers(text.as_bytes()).unwrap(),
        }))
        .unwrap_err();
    assert!(future.to_string().contains("in the future"), "{future}");
    let late_death = check(
        &mut w,
        "KT-3",
        &["001089012345,yes,matched,matched,matched,dead,2024-08-01"],
    )
    .unwrap_err();
    assert!(
        late_death.to_string().contains("after the answer"),
        "{late_death}"
    );
    assert_eq!(w.records(), before);
}

/// The synthetic answer file (`dev::synth::identity_answers`) over synthetic people: most
/// match, some differ in the name, a few are unknown or reported dead, and exactly those are
/// held from the next batch.
#[test]
fn a_synthetic_check_holds_exactly_the_people_it_does_not_confirm() {
    let mut w = World::with_all_schedules();
    let people: Vec<Enrol> = (0..400)
        .map(|i| common::fixtures::synthetic(7, i))
        .collect();
    let ids: Vec<BeneficiaryId> = people.iter().map(|e| w.enrol(e.clone())).collect();
    let rows = chitra::dev::synth::identity_answers(7, &people, d("2024-07-20"));
    let text = chitra::formats::identity_check::write_answers(&rows);
    let parsed = parse_answers(text.as_bytes()).unwrap();
    assert_eq!(parsed, rows, "the synthetic file reads back as written");
    let not_confirmed = rows
        .iter()
        .filter(|r| {
            !r.found
                || r.died_on.is_some()
                || r.full_name != chitra::domain::identity::FieldCheck::Matched
        })
        .count();
    let dead = rows.iter().filter(|r| r.died_on.is_some()).count();
    let differs = rows
        .iter()
        .filter(|r| r.found && r.full_name == chitra::domain::identity::FieldCheck::Differs)
        .count();
    assert!((5..=60).contains(&not_confirmed), "{not_confirmed} of 400");
    assert!(dead >= 1 && differs >= 5, "{dead} dead, {differs} differ");
    w.run(Command::RecordIdentityCheck(RecordIdentityCheck {
        reference: "KT-synth".into(),
        answered_on: d("2024-07-20"),
        source_digest: *blake3::hash(text.as_bytes()).as_bytes(),
        rows: parsed,
    }));
    let (_, plan) = w.pay(Programme::Btxh, m("2024-08"));
    assert_eq!(plan.identity_held.len(), not_confirmed);
    assert_eq!(plan.payments.len() + not_confirmed, ids.len());
}
