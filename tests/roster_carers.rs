//! The synthetic roster carries carers and foster households (ND 20/2021 Art 20(2)(c)-(d)): a
//! generated roster names, for a few people with especially severe disability and a few
//! children without support, the household paid for their care (`cared_for`); it imports, links
//! each household to the person it cares for, and a month's batch pays the households.

mod common;

use std::collections::BTreeMap;

use chitra::dev::synth::{write_roster_csv, Province};
use chitra::domain::types::*;
use chitra::domain::Command;
use chitra::formats::reference::Reference;
use chitra::formats::roster::parse_roster;
use common::fixtures::{d, m};
use common::given::World;

/// Rows of the roster: persons and households.
const PERSONS: u64 = 1_500;
const SEED: u64 = 31;

#[test]
fn a_generated_roster_imports_and_pays_its_carers_and_foster_households() {
    let mut csv = Vec::new();
    write_roster_csv(&mut csv, SEED, PERSONS, Province::hanoi()).unwrap();
    let roster = parse_roster(csv.as_slice(), Reference::embedded(), d("2026-11-22"))
        .unwrap_or_else(|e| panic!("{:?}", e.errors.first()));
    assert!(roster.warnings.is_empty(), "{:?}", roster.warnings.first());
    let households: Vec<_> = roster
        .rows
        .iter()
        .filter_map(|r| r.payee.clone().map(|p| (r.enrol.clone(), p)))
        .collect();
    let people: BTreeMap<_, _> = roster
        .rows
        .iter()
        .map(|r| (r.enrol.citizen_id, r.enrol.clone()))
        .collect();
    let by_scheme = households.iter().fold(BTreeMap::new(), |mut n, (_, p)| {
        *n.entry(p.entitlement.scheme.clone()).or_insert(0u32) += 1;
        n
    });
    // A realistic few: about 2.7% carers, 0.5% foster households.
    let carers = by_scheme.get("btxh.care_allowance").copied().unwrap_or(0);
    let fosters = by_scheme.get("btxh.foster_household").copied().unwrap_or(0);
    assert!((10..=80).contains(&carers), "{by_scheme:?}");
    assert!((1..=20).contains(&fosters), "{by_scheme:?}");
    assert_eq!(
        roster.rows.len() as u64,
        PERSONS,
        "rows, households included"
    );

    let mut w = World::with_all_schedules();
    w.run(Command::ImportRoster(roster.into_command()));
    assert_eq!(w.state().beneficiary_count() as u64, PERSONS);
    // November pays what is owed since each decision took effect; December is one month.
    w.pay(Programme::Btxh, m("2025-11"));
    let (december, _) = w.pay(Programme::Btxh, m("2025-12"));
    for (household, payee) in &households {
        let st = w.state();
        let carer = st.by_citizen(&household.citizen_id).expect("enrolled");
        let person = st.by_citizen(&payee.cared_for).expect("enrolled");
        assert!(st.beneficiary(carer).unwrap().entitlements.is_empty());
        let grant = st
            .beneficiary(person)
            .unwrap()
            .entitlements
            .iter()
            .map(|id| st.entitlement(*id).unwrap())
            .find(|e| e.grant.payee == Some(carer))
            .expect("the person's grant is paid to the household");
        assert_eq!(grant.grant.scheme, payee.entitlement.scheme);
        let paid = w
            .payment_of(december, carer)
            .unwrap_or_else(|| panic!("{carer} is paid in December"));
        assert!(paid.amount > Vnd(0));
        if payee.entitlement.scheme == "btxh.care_allowance" {
            // 1.0 × the standard of 500,000 VND (ND 20/2021 Art 20(2)(c), ND 76/2024).
            assert_eq!(paid.amount, Vnd(500_000), "{carer}");
        }
        // A carer is family: the person's family name and address.
        if payee.entitlement.scheme == "btxh.care_allowance" {
            let cared = &people[&payee.cared_for];
            assert_eq!(
                household.full_name.split(' ').next(),
                cared.full_name.split(' ').next()
            );
            assert_eq!(household.address_line, cared.address_line);
        }
    }
}
