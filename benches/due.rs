//! How long the rules take for a national monthly run: `rules::due` and `rules::payment_due`
//! for N synthetic persons (default 1,000,000; `DUE_BENCH_PERSONS` overrides) for one month,
//! single-threaded, with the real rate files. The persons are `synth::person` (a third NCC war
//! invalids by injury rate, the rest BTXH severe disability, with birth dates), built before the
//! clock starts. Run: `cargo bench --bench due`.

use std::path::Path;
use std::time::Instant;

use chitra::domain::event::{EntitlementGranted, RateScheduleEnacted};
use chitra::domain::rules::{self, Paid, Person, RateBook};
use chitra::domain::state::Entitlement;
use chitra::domain::types::{BeneficiaryId, Date, EntitlementId, Month, Vnd};
use chitra::formats::reference::rates::load_dir;

struct Synthetic {
    birth: Date,
    ent: Entitlement,
}

fn population(n: u64) -> Vec<Synthetic> {
    (0..n)
        .map(|i| {
            let enrol = chitra::dev::synth::person(7, i);
            let spec = &enrol.entitlements[0];
            Synthetic {
                birth: enrol.birth_date,
                ent: Entitlement {
                    grant: EntitlementGranted {
                        entitlement: EntitlementId(i + 1),
                        beneficiary: BeneficiaryId(i + 1),
                        programme: spec.programme,
                        scheme: spec.scheme.clone(),
                        params: spec.params.clone(),
                        kind: spec.kind,
                        effective_from: spec.effective_from,
                        decision: spec.decision.clone(),
                        payee: None,
                    },
                    granted_seq: 100 + i,
                    paid: Default::default(),
                    changes: Vec::new(),
                },
            }
        })
        .collect()
}

fn main() {
    let n: u64 = std::env::var("DUE_BENCH_PERSONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("ledger-data/rates");
    let schedules: Vec<RateScheduleEnacted> = load_dir(&dir).expect("rate files load");
    let rates = RateBook::from_recorded(schedules.iter().zip(0..));
    let people = population(n);
    let month = Month::parse("2024-08").unwrap();

    let started = Instant::now();
    let (mut lines, mut total) = (0usize, Vnd::ZERO);
    for p in &people {
        let ents = [&p.ent];
        let person = Person {
            birth_date: Some(p.birth),
            date_of_death: None,
            province: None,
            entitlements: &ents,
        };
        for l in rules::due(&person, &rates, month, u64::MAX).expect("due computes") {
            lines += 1;
            total = total + l.amount;
        }
    }
    report("due (one month)", n, started, lines, total);

    // The batch's call: July (the rate change) and earlier months are paid, August is not, so
    // each person's whole history since `effective_from` is recomputed against the paid map.
    let mut paid = Paid::new();
    for p in &people {
        let mut m = p.ent.grant.effective_from;
        while m < month {
            let ents = [&p.ent];
            let person = Person {
                birth_date: Some(p.birth),
                date_of_death: None,
                province: None,
                entitlements: &ents,
            };
            let due: Vnd = rules::due(&person, &rates, m, u64::MAX)
                .unwrap()
                .iter()
                .map(|l| l.amount)
                .sum();
            paid.insert((p.ent.id(), m), due);
            m = m.next();
        }
    }
    let started = Instant::now();
    let (mut lines, mut total) = (0usize, Vnd::ZERO);
    for p in &people {
        let ents = [&p.ent];
        let person = Person {
            birth_date: Some(p.birth),
            date_of_death: None,
            province: None,
            entitlements: &ents,
        };
        let pay = rules::payment_due(
            &person,
            &rates,
            p.ent.grant.programme,
            month,
            u64::MAX,
            &paid,
        )
        .expect("computes");
        lines += pay.lines.len();
        total = total + pay.amount;
    }
    report(
        "payment_due (Jan-Aug 2024 history)",
        n,
        started,
        lines,
        total,
    );
}

fn report(what: &str, n: u64, started: Instant, lines: usize, total: Vnd) {
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{what}: {n} persons in {secs:.3} s ({:.0} persons/s), {lines} lines, total {total} VND",
        n as f64 / secs
    );
}
