//! The synthetic roster generator against the roster parser: what the generator writes parses
//! with no errors and no warnings back into exactly the people it made, the same seed gives the
//! same bytes, and the population looks like a real caseload.

use std::collections::{BTreeMap, BTreeSet};

use chitra::dev::synth::{self, Province};
use chitra::domain::command::RouteRequest;
use chitra::domain::state::Attachment;
use chitra::domain::types::{Date, Month, ProvinceCode};
use chitra::domain::{decide, Command, Context, State};
use chitra::formats::reference::Reference;
use chitra::formats::roster::{self, parse_roster, Roster};

const PERSONS: u64 = 10_000;
const SEED: u64 = 20_251_201;

fn today() -> Date {
    Date::new(2026, 11, 22).unwrap()
}

fn province(code: &str) -> Province {
    Province::select(Reference::embedded(), ProvinceCode::parse(code).unwrap()).unwrap()
}

fn roster_bytes(seed: u64, n: u64, province: &Province) -> Vec<u8> {
    let mut out = Vec::new();
    synth::write_roster_csv(&mut out, seed, n, province).unwrap();
    out
}

fn parse(bytes: &[u8]) -> Roster {
    match parse_roster(bytes, Reference::embedded(), today()) {
        Ok(r) => r,
        Err(rejected) => panic!(
            "{} errors, first: {}",
            rejected.errors.len(),
            rejected.errors[0]
        ),
    }
}

#[test]
fn a_generated_roster_parses_back_to_the_same_people() {
    let hanoi = Province::hanoi();
    let bytes = roster_bytes(SEED, PERSONS, hanoi);
    assert!(bytes.starts_with(format!("{}\n", roster::header_line()).as_bytes()));
    let roster = parse(&bytes);
    assert!(
        roster.warnings.is_empty(),
        "first warning: {}",
        roster.warnings[0]
    );
    let made: Vec<_> = hanoi
        .roster_rows(SEED, PERSONS, Month::parse("2025-12").unwrap())
        .collect();
    assert_eq!(roster.rows, made);
    assert_eq!(made.len() as u64, PERSONS);
    // The persons are the generator's people, in order; the rest are households.
    let persons: Vec<_> = made
        .iter()
        .filter(|r| r.payee.is_none())
        .map(|r| r.enrol.clone())
        .collect();
    assert!(persons.len() < made.len());
    let first = hanoi
        .persons(SEED, persons.len() as u64)
        .collect::<Vec<_>>();
    assert_eq!(persons, first);
}

#[test]
fn the_same_seed_gives_the_same_bytes() {
    let hanoi = Province::hanoi();
    assert_eq!(roster_bytes(5, 500, hanoi), roster_bytes(5, 500, hanoi));
    assert_ne!(roster_bytes(5, 500, hanoi), roster_bytes(6, 500, hanoi));
    // `person` is Hà Nội's generator.
    assert_eq!(synth::person(5, 42), hanoi.person(5, 42));
}

#[test]
fn the_population_looks_like_a_caseload() {
    let hanoi = Province::hanoi();
    let mut cash = 0u64;
    let mut schemes: BTreeMap<String, u64> = BTreeMap::new();
    let mut banks: BTreeMap<String, u64> = BTreeMap::new();
    let mut communes = BTreeSet::new();
    for e in hanoi.persons(SEED, PERSONS) {
        *schemes.entry(e.entitlements[0].scheme.clone()).or_default() += 1;
        communes.insert(e.commune);
        match e.route.unwrap() {
            RouteRequest::Cash { pay_point } => {
                assert_eq!(pay_point, e.commune);
                cash += 1;
            }
            RouteRequest::Bank { bin, .. } => *banks.entry(bin.to_string()).or_default() += 1,
        }
    }
    let cash_pct = cash * 100 / PERSONS;
    assert!((12..=18).contains(&cash_pct), "cash {cash_pct}%");
    for scheme in synth::schemes() {
        assert!(
            schemes.contains_key(scheme),
            "{scheme} missing from {schemes:?}"
        );
    }
    assert_eq!(schemes.len(), people_schemes().count());
    assert_eq!(banks.len(), synth::BANK_BINS.len());
    let agribank = banks["970405"];
    assert!(
        banks.values().all(|&n| n <= agribank),
        "Agribank carries the most: {banks:?}"
    );
    assert!(
        communes.len() > 120,
        "only {} of Hà Nội's 126 communes",
        communes.len()
    );
}

/// The roster's schemes paid to the person: the generator writes people, not the carers and
/// foster households of the payee schemes (whose rows name a person cared for).
fn people_schemes() -> impl Iterator<Item = &'static str> {
    roster::schemes()
        .filter(|s| !s.params.payee_required)
        .map(|s| s.code())
}

#[test]
fn every_scheme_of_the_catalogue_is_generated() {
    let generated: BTreeSet<_> = synth::schemes().collect();
    let catalogue: BTreeSet<_> = people_schemes().collect();
    assert_eq!(generated, catalogue);
}

#[test]
fn other_provinces_take_their_prefixes_and_hamlets() {
    // Ninh Bình 2025 merged Hà Nam (035), Nam Định (036) and Ninh Bình (037).
    let ninh_binh = province("37");
    let roster = parse(&roster_bytes(1, 2_000, &ninh_binh));
    assert!(roster.warnings.is_empty());
    let prefixes: BTreeSet<_> = roster
        .enrolments()
        .map(|e| e.citizen_id.province_prefix().to_owned())
        .collect();
    assert_eq!(
        prefixes,
        BTreeSet::from(["035".into(), "036".into(), "037".into()])
    );
    // Hồ Chí Minh City's rural communes have ấp, not thôn.
    let hcmc = province("79");
    let roster = parse(&roster_bytes(1, 2_000, &hcmc));
    assert!(roster
        .enrolments()
        .any(|e| e.address_line.starts_with("Ấp ")));
    assert!(!roster
        .enrolments()
        .any(|e| e.address_line.starts_with("Thôn ")));
}

#[test]
fn the_ledger_accepts_every_generated_row() {
    let roster = parse(&roster_bytes(9, 2_000, Province::hanoi()));
    let ctx = Context {
        principal: &chitra::domain::types::Principal::parse("officer:lan").unwrap(),
        today: today(),
        registry: chitra::formats::reference::Reference::embedded(),
    };
    let mut state = State::new();
    for (row, enrol) in roster.rows.into_iter().map(|r| (r.line, r.enrol)) {
        let emitted = decide(&state, &ctx, Command::Enrol(enrol))
            .unwrap_or_else(|e| panic!("line {row}: {e}"));
        for e in emitted {
            let attachment = e
                .personal
                .map_or(Attachment::None, |p| Attachment::Present(*p));
            state
                .apply(state.applied(), "officer", e.event, attachment)
                .unwrap();
        }
    }
    // Persons and the households caring for some of them (`tests/roster_carers.rs`).
    assert_eq!(state.beneficiary_count(), 2_000);
    assert!(state.beneficiaries().iter().all(|b| b.warnings.is_empty()));
}
