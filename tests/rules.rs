//! The benefit rules end to end: commands through `decide` and `State::apply`, rates from the
//! real data files in `ledger-data/rates/`, amounts from `rules::payment_due` (the function a
//! monthly batch calls) and `rules::due`. Covers every worked example of RULES.md §6 that has a
//! golden amount, the retroactive decrees, the life-cycle and the combination rules.

use std::path::Path;

use chitra::domain::command::*;
use chitra::domain::event::*;
use chitra::domain::rules::{self, DueLine, Paid, PaymentDue, Person, RateBook};
use chitra::domain::state::{Attachment, State};
use chitra::domain::types::*;
use chitra::domain::{decide, Context};
use chitra::formats::reference::rates::load_dir;

fn m(s: &str) -> Month {
    Month::parse(s).unwrap()
}

fn d(s: &str) -> Date {
    Date::parse(s).unwrap()
}

fn decision(n: &str) -> Decision {
    Decision {
        number: n.into(),
        date: d("2020-01-01"),
        signer: "Chủ tịch UBND".into(),
    }
}

/// A ledger in memory with the batches' view of what was paid.
struct Ledger {
    state: State,
    schedules: Vec<RateScheduleEnacted>,
    paid: Paid,
    next_id: u32,
}

impl Ledger {
    /// A ledger with the named schedules recorded, in the order given.
    fn with(schedules: &[&str]) -> Ledger {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("ledger-data/rates");
        let mut l = Ledger {
            state: State::new(),
            schedules: load_dir(&dir).expect("rate files load"),
            paid: Paid::new(),
            next_id: 0,
        };
        for s in schedules {
            l.enact(s);
        }
        l
    }

    /// Every default schedule, recorded before anything else.
    fn all() -> Ledger {
        Ledger::with(&[
            "btxh-nd20-2021",
            "ncc-nd75-2021",
            "ncc-base-salary-nd24-2023",
            "ncc-nd55-2023",
            "btxh-nd76-2024",
            "ncc-base-salary-nd73-2024",
            "ncc-nd77-2024",
            "htxh-nd176-2025",
        ])
    }

    fn run(&mut self, c: Command) -> Result<(), Rejection> {
        // Whoever may issue the command: these tests are about the rules, not the roles.
        let role = chitra::domain::access::roles_for(&c)[0];
        let who = chitra::domain::types::Principal::parse(&format!("{role}:test")).unwrap();
        let ctx = Context {
            principal: &who,
            today: d("2026-06-30"),
            registry: chitra::formats::reference::Reference::embedded(),
        };
        for e in decide(&self.state, &ctx, c)? {
            let seq = self.state.applied();
            let att = e.personal.map_or(Attachment::None, Attachment::Present);
            self.state
                .apply(seq, "officer", e.event, att)
                .expect("decided events apply");
        }
        Ok(())
    }

    fn enact(&mut self, id: &str) {
        let s = self
            .schedules
            .iter()
            .find(|s| s.schedule == id)
            .unwrap_or_else(|| panic!("no {id}"))
            .clone();
        self.run(Command::EnactRateSchedule(s)).unwrap();
    }

    fn enrol(&mut self, birth: &str, programme: Programme) -> BeneficiaryId {
        self.next_id += 1;
        let citizen_id =
            CitizenId::parse(&format!("0010{}{:06}", &birth[2..4], self.next_id)).unwrap();
        self.run(Command::Enrol(Enrol {
            citizen_id,
            full_name: "Nguyễn Văn A".into(),
            birth_date: d(birth),
            sex: Sex::Male,
            address_line: "Số 1".into(),
            commune: CommuneCode::parse("00004").unwrap(),
            programme,
            decision: None,
            route: None,
            entitlements: vec![],
        }))
        .unwrap();
        BeneficiaryId(self.state.beneficiary_count() as u64)
    }

    fn grant_kind(
        &mut self,
        b: BeneficiaryId,
        scheme: &str,
        params: Vec<SchemeParam>,
        kind: EntitlementKind,
        from: &str,
    ) -> EntitlementId {
        let programme = Programme::parse(scheme.split('.').next().unwrap()).unwrap();
        self.run(Command::GrantEntitlement(GrantEntitlement {
            beneficiary: b,
            entitlement: NewEntitlement {
                programme,
                scheme: scheme.into(),
                params,
                kind,
                effective_from: m(from),
                decision: decision(&format!("{}/QĐ", self.state.entitlements().len() + 1)),
                payee: None,
            },
        }))
        .unwrap();
        EntitlementId(self.state.entitlements().len() as u64)
    }

    fn grant(
        &mut self,
        b: BeneficiaryId,
        scheme: &str,
        params: Vec<SchemeParam>,
        from: &str,
    ) -> EntitlementId {
        self.grant_kind(b, scheme, params, EntitlementKind::Monthly, from)
    }

    fn one_off(&mut self, b: BeneficiaryId, scheme: &str, month: &str) -> EntitlementId {
        self.grant_kind(
            b,
            scheme,
            vec![],
            EntitlementKind::OneOff { month: m(month) },
            month,
        )
    }

    fn with_person<T>(
        &self,
        b: BeneficiaryId,
        f: impl FnOnce(&Person<'_>, &RateBook<'_>) -> T,
    ) -> T {
        let ben = self.state.beneficiary(b).unwrap();
        let ents = rules::entitlements_of(&self.state, ben);
        let person = Person::of(ben, &ents);
        let rates = RateBook::new(self.state.schedules());
        f(&person, &rates)
    }

    /// What is due for `month` as known now.
    fn due(&self, b: BeneficiaryId, month: &str) -> Vec<DueLine> {
        self.with_person(b, |p, r| {
            rules::due(p, r, m(month), self.state.applied()).unwrap()
        })
    }

    fn due_total(&self, b: BeneficiaryId, month: &str) -> i64 {
        self.due(b, month).iter().map(|l| l.amount.0).sum()
    }

    /// Computes and "pays" the batch of `month` for this person and programme.
    fn pay(&mut self, b: BeneficiaryId, programme: Programme, month: &str) -> PaymentDue {
        let known_at = self.state.applied();
        let p = self.with_person(b, |p, r| {
            rules::payment_due(p, r, programme, m(month), known_at, &self.paid).unwrap()
        });
        for l in &p.lines {
            *self
                .paid
                .entry((l.entitlement, l.source_month))
                .or_default() = self
                .paid
                .get(&(l.entitlement, l.source_month))
                .copied()
                .unwrap_or_default()
                + l.amount;
        }
        p
    }

    /// Pays every month from `from` to `to` inclusive; returns the last payment.
    fn pay_through(
        &mut self,
        b: BeneficiaryId,
        programme: Programme,
        from: &str,
        to: &str,
    ) -> PaymentDue {
        let mut month = m(from);
        loop {
            let p = self.pay(b, programme, &month.to_string());
            if month == m(to) {
                return p;
            }
            month = month.next();
        }
    }
}

fn amounts(lines: &[DueLine]) -> Vec<(String, ItemKind, i64)> {
    lines
        .iter()
        .map(|l| (l.source_month.to_string(), l.kind, l.amount.0))
        .collect()
}

// ---- RULES.md §6 worked examples -------------------------------------------------------

#[test]
fn example_1_and_2_adult_especially_severe_disability_across_july_2024() {
    let mut l = Ledger::all();
    let b = l.enrol("1989-05-10", Programme::Btxh);
    l.grant(b, "btxh.disability_especially_severe", vec![], "2024-06");
    let june = l.pay(b, Programme::Btxh, "2024-06");
    assert_eq!(
        amounts(&june.lines),
        [("2024-06".into(), ItemKind::Regular, 720_000)]
    );
    assert_eq!(
        june.lines[0].rule,
        "btxh.base@btxh-nd20-2021 × btxh.coef.disability_especially_severe.adult@btxh-nd20-2021"
    );
    let july = l.pay(b, Programme::Btxh, "2024-07");
    assert_eq!(
        amounts(&july.lines),
        [("2024-07".into(), ItemKind::Regular, 1_000_000)]
    );
    assert_eq!(july.lines[0].schedule, "btxh-nd76-2024");
}

#[test]
fn example_5_aged_82_no_pension() {
    let mut l = Ledger::all();
    let b = l.enrol("1941-12-01", Programme::Btxh);
    l.grant(b, "btxh.elderly_80_no_pension", vec![], "2024-03");
    assert_eq!(l.pay(b, Programme::Btxh, "2024-03").amount, Vnd(360_000));
}

#[test]
fn example_9_elderly_and_severely_disabled_gets_the_highest_only() {
    let mut l = Ledger::all();
    let b = l.enrol("1942-02-01", Programme::Btxh);
    l.grant(b, "btxh.elderly_80_no_pension", vec![], "2024-11");
    let disability = l.grant(b, "btxh.disability_severe", vec![], "2024-11");
    let p = l.pay(b, Programme::Btxh, "2024-11");
    assert_eq!(
        p.amount,
        Vnd(1_000_000),
        "2.0 for an elderly person with severe disability, not 1.0 + 1.5"
    );
    assert_eq!(p.lines.len(), 1);
    assert_eq!(p.lines[0].entitlement, disability);
    assert!(p.lines[0]
        .rule
        .contains("btxh.coef.disability_severe.child_or_elderly"));
}

#[test]
fn example_10_single_parent_who_is_disabled_gets_both() {
    let mut l = Ledger::all();
    let b = l.enrol("1990-01-01", Programme::Btxh);
    l.grant(
        b,
        "btxh.single_parent_poor",
        vec![SchemeParam::Children(2)],
        "2024-12",
    );
    l.grant(b, "btxh.disability_severe", vec![], "2024-12");
    let p = l.pay(b, Programme::Btxh, "2024-12");
    assert_eq!(
        p.amount,
        Vnd(1_750_000),
        "(1.0 + 1.0) + 1.5 = 3.5 × 500,000"
    );
    let mut each: Vec<i64> = p.lines.iter().map(|l| l.amount.0).collect();
    each.sort();
    assert_eq!(each, [750_000, 1_000_000]);
}

#[test]
fn example_13_war_invalid_61_percent_before_and_after_nd77() {
    let mut l = Ledger::all();
    let b = l.enrol("1950-01-01", Programme::Ncc);
    l.grant(
        b,
        "ncc.war_invalid",
        vec![SchemeParam::InjuryRatePct(61)],
        "2024-06",
    );
    let june = l.pay(b, Programme::Ncc, "2024-06");
    assert_eq!(june.amount, Vnd(4_016_000));
    assert_eq!(june.lines[0].rule, "ncc.annex2.61@ncc-nd55-2023");
    l.pay(b, Programme::Ncc, "2024-07");
    let aug = l.pay(b, Programme::Ncc, "2024-08");
    assert_eq!(
        amounts(&aug.lines),
        [("2024-08".into(), ItemKind::Regular, 5_450_000)]
    );
    assert_eq!(aug.lines[0].rule, "ncc.annex2.61@ncc-nd77-2024");
    assert_eq!(aug.lines[0].clause, "ND 75/2021 Annex I 6.1, Annex II");
    assert_eq!(aug.lines[0].decision, "1/QĐ");
}

#[test]
fn example_16_mother_of_one_martyr_living_alone() {
    let mut l = Ledger::all();
    let b = l.enrol("1935-01-01", Programme::Ncc);
    l.grant(
        b,
        "ncc.martyr_relative",
        vec![SchemeParam::Martyrs(1), SchemeParam::LivingAlone],
        "2024-08",
    );
    let p = l.pay(b, Programme::Ncc, "2024-08");
    assert_eq!(p.amount, Vnd(5_020_000));
    let rules: Vec<&str> = p.lines.iter().map(|l| l.rule.as_str()).collect();
    assert_eq!(
        rules,
        [
            "ncc.annex1.3.1@ncc-nd77-2024",
            "ncc.annex1.extra_care@ncc-nd77-2024"
        ]
    );
}

#[test]
fn example_19_nd55_arrears_for_july_and_august_2023() {
    // ND 55/2023 was in force on 2023-09-05 with levels from 2023-07-01: July and August had
    // been paid at the ND 75 rate when it was recorded.
    let mut l = Ledger::with(&["btxh-nd20-2021", "ncc-nd75-2021"]);
    let b = l.enrol("1950-01-01", Programme::Ncc);
    l.grant(
        b,
        "ncc.war_invalid",
        vec![SchemeParam::InjuryRatePct(61)],
        "2023-01",
    );
    let aug = l.pay_through(b, Programme::Ncc, "2023-01", "2023-08");
    assert_eq!(aug.amount, Vnd(3_174_000));
    l.enact("ncc-nd55-2023");
    let sep = l.pay(b, Programme::Ncc, "2023-09");
    assert_eq!(
        amounts(&sep.lines),
        [
            ("2023-07".into(), ItemKind::Arrears, 842_000),
            ("2023-08".into(), ItemKind::Arrears, 842_000),
            ("2023-09".into(), ItemKind::Regular, 4_016_000),
        ]
    );
    let arrears: i64 = sep
        .lines
        .iter()
        .filter(|l| l.kind == ItemKind::Arrears)
        .map(|l| l.amount.0)
        .sum();
    assert_eq!(arrears, 1_684_000);
    assert_eq!(
        sep.lines[0].rule,
        "ncc.annex2.61@ncc-nd55-2023 − paid 3,174,000"
    );
    // Nothing is owed twice: the next month is regular only.
    assert_eq!(
        amounts(&l.pay(b, Programme::Ncc, "2023-10").lines),
        [("2023-10".into(), ItemKind::Regular, 4_016_000)]
    );
}

// ---- retroactive decrees --------------------------------------------------------------

#[test]
fn july_2024_arrears_when_nd76_and_nd77_are_recorded_after_july_was_paid() {
    let mut l = Ledger::with(&["btxh-nd20-2021", "ncc-nd75-2021", "ncc-nd55-2023"]);
    let elderly = l.enrol("1940-01-01", Programme::Btxh);
    l.grant(elderly, "btxh.elderly_80_no_pension", vec![], "2024-05");
    let relative = l.enrol("1945-01-01", Programme::Ncc);
    l.grant(
        relative,
        "ncc.martyr_relative",
        vec![SchemeParam::Martyrs(1)],
        "2024-05",
    );
    assert_eq!(
        l.pay_through(elderly, Programme::Btxh, "2024-05", "2024-07")
            .amount,
        Vnd(360_000)
    );
    assert_eq!(
        l.pay_through(relative, Programme::Ncc, "2024-05", "2024-07")
            .amount,
        Vnd(2_055_000)
    );
    l.enact("btxh-nd76-2024");
    l.enact("ncc-nd77-2024");
    let btxh = l.pay(elderly, Programme::Btxh, "2024-08");
    assert_eq!(
        amounts(&btxh.lines),
        [
            ("2024-07".into(), ItemKind::Arrears, 140_000),
            ("2024-08".into(), ItemKind::Regular, 500_000)
        ]
    );
    let ncc = l.pay(relative, Programme::Ncc, "2024-08");
    assert_eq!(
        amounts(&ncc.lines),
        [
            ("2024-07".into(), ItemKind::Arrears, 734_000),
            ("2024-08".into(), ItemKind::Regular, 2_789_000)
        ]
    );
    // As known before the decrees were recorded, July was 360,000: the question is bitemporal.
    let before = l.state.applied() - 2;
    let july_then = l.with_person(elderly, |p, r| {
        rules::due(p, r, m("2024-07"), before).unwrap()
    });
    assert_eq!(july_then[0].amount, Vnd(360_000));
}

// ---- life-cycle -------------------------------------------------------------------------

#[test]
fn btxh_death_mid_month_pays_the_month_of_death_in_full_and_stops() {
    let mut l = Ledger::all();
    let b = l.enrol("1940-01-01", Programme::Btxh);
    l.grant(b, "btxh.elderly_80_no_pension", vec![], "2024-07");
    l.pay_through(b, Programme::Btxh, "2024-07", "2024-08");
    l.run(Command::RecordDeath(RecordDeath {
        beneficiary: b,
        date_of_death: d("2024-08-15"),
        decision: None,
    }))
    .unwrap();
    assert_eq!(
        l.due_total(b, "2024-08"),
        500_000,
        "the month of death is paid in full"
    );
    assert_eq!(l.due_total(b, "2024-09"), 0);
    assert!(l.pay(b, Programme::Btxh, "2024-09").lines.is_empty());
}

#[test]
fn a_late_death_report_is_recovered_without_a_negative_payment() {
    let mut l = Ledger::all();
    let b = l.enrol("1940-01-01", Programme::Btxh);
    l.grant(b, "btxh.elderly_80_no_pension", vec![], "2024-07");
    l.pay_through(b, Programme::Btxh, "2024-07", "2024-10");
    l.run(Command::RecordDeath(RecordDeath {
        beneficiary: b,
        date_of_death: d("2024-08-15"),
        decision: None,
    }))
    .unwrap();
    let nov = l.pay(b, Programme::Btxh, "2024-11");
    assert_eq!(nov.amount, Vnd::ZERO, "never negative");
    assert_eq!(
        nov.outstanding_recovery,
        Vnd(1_000_000),
        "September and October were not due"
    );
    // Funeral support (20 × base at the month of death) is then offset by the overpayment.
    l.one_off(b, "btxh.funeral_support", "2024-12");
    let dec = l.pay(b, Programme::Btxh, "2024-12");
    assert_eq!(
        amounts(&dec.lines),
        [
            ("2024-09".into(), ItemKind::Recovery, -500_000),
            ("2024-10".into(), ItemKind::Recovery, -500_000),
            ("2024-12".into(), ItemKind::OneOff, 10_000_000),
        ]
    );
    assert_eq!(
        (dec.amount, dec.outstanding_recovery),
        (Vnd(9_000_000), Vnd::ZERO)
    );
    assert!(
        dec.lines[0].rule.starts_with("nothing due − paid 500,000"),
        "{}",
        dec.lines[0].rule
    );
}

#[test]
fn ncc_death_lump_sum_and_funeral() {
    let mut l = Ledger::all();
    let b = l.enrol("1950-01-01", Programme::Ncc);
    l.grant(
        b,
        "ncc.war_invalid",
        vec![SchemeParam::InjuryRatePct(85)],
        "2024-07",
    );
    l.grant(b, "ncc.war_invalid_carer", vec![], "2024-07");
    assert_eq!(l.due_total(b, "2024-08"), 7_601_000 + 1_399_000 + 2_789_000);
    l.run(Command::RecordDeath(RecordDeath {
        beneficiary: b,
        date_of_death: d("2024-08-10"),
        decision: None,
    }))
    .unwrap();
    l.one_off(b, "ncc.death_lump_sum", "2024-09");
    l.one_off(b, "ncc.funeral", "2024-09");
    let sep = l.due(b, "2024-09");
    let got: Vec<(&str, i64)> = sep
        .iter()
        .map(|l| (l.scheme.as_str(), l.amount.0))
        .collect();
    assert_eq!(
        got,
        [
            ("ncc.death_lump_sum", 3 * (7_601_000 + 1_399_000)),
            ("ncc.funeral", 23_400_000)
        ]
    );
    assert_eq!(
        sep[0].rule,
        "3 × (ncc.annex2.85@ncc-nd77-2024 + ncc.annex1.6.1.supplement_81@ncc-nd77-2024)"
    );
}

#[test]
fn suspension_and_resumption_with_back_pay() {
    let mut l = Ledger::all();
    let b = l.enrol("1990-01-01", Programme::Btxh);
    let e = l.grant(b, "btxh.hiv_poor", vec![], "2024-07");
    l.pay_through(b, Programme::Btxh, "2024-07", "2024-08");
    l.run(Command::SuspendEntitlement(SuspendEntitlement {
        entitlement: e,
        from: m("2024-09"),
        reason: SuspensionReason::Uncollected,
        decision: decision("S1"),
    }))
    .unwrap();
    for month in ["2024-09", "2024-10", "2024-11"] {
        assert!(
            l.pay(b, Programme::Btxh, month).lines.is_empty(),
            "{month} suspended"
        );
    }
    l.run(Command::ResumeEntitlement(ResumeEntitlement {
        entitlement: e,
        from: m("2024-12"),
        back_pay_from: Some(m("2024-10")),
        decision: decision("R1"),
    }))
    .unwrap();
    let dec = l.pay(b, Programme::Btxh, "2024-12");
    assert_eq!(
        amounts(&dec.lines),
        [
            ("2024-10".into(), ItemKind::Arrears, 750_000),
            ("2024-11".into(), ItemKind::Arrears, 750_000),
            ("2024-12".into(), ItemKind::Regular, 750_000),
        ]
    );
}

#[test]
fn resumption_without_back_pay_pays_only_from_resumption() {
    let mut l = Ledger::all();
    let b = l.enrol("1990-01-01", Programme::Btxh);
    let e = l.grant(b, "btxh.hiv_poor", vec![], "2024-07");
    l.pay(b, Programme::Btxh, "2024-07");
    l.run(Command::SuspendEntitlement(SuspendEntitlement {
        entitlement: e,
        from: m("2024-08"),
        reason: SuspensionReason::Detention,
        decision: decision("S1"),
    }))
    .unwrap();
    l.run(Command::ResumeEntitlement(ResumeEntitlement {
        entitlement: e,
        from: m("2024-10"),
        back_pay_from: None,
        decision: decision("R1"),
    }))
    .unwrap();
    let oct = l.pay(b, Programme::Btxh, "2024-10");
    assert_eq!(
        amounts(&oct.lines),
        [("2024-10".into(), ItemKind::Regular, 750_000)]
    );
}

#[test]
fn a_move_between_provinces_stops_after_the_last_month() {
    let mut l = Ledger::all();
    let b = l.enrol("1950-01-01", Programme::Ncc);
    let e = l.grant(
        b,
        "ncc.war_invalid",
        vec![SchemeParam::InjuryRatePct(41)],
        "2024-07",
    );
    l.pay_through(b, Programme::Ncc, "2024-07", "2024-09");
    // The transfer slip is recorded late: October was already paid by the old province.
    l.pay(b, Programme::Ncc, "2024-10");
    l.run(Command::TerminateEntitlement(TerminateEntitlement {
        entitlement: e,
        last_month: m("2024-09"),
        reason: TerminationReason::MovedOut {
            to_province: ProvinceCode::parse("79").unwrap(),
        },
        decision: decision("T1"),
    }))
    .unwrap();
    assert_eq!(l.due_total(b, "2024-09"), 3_667_000);
    assert_eq!(l.due_total(b, "2024-10"), 0);
    let nov = l.pay(b, Programme::Ncc, "2024-11");
    assert_eq!(
        (nov.amount, nov.outstanding_recovery),
        (Vnd::ZERO, Vnd(3_667_000))
    );
    assert!(nov.lines.is_empty());
}

#[test]
fn a_backdated_adjustment_pays_the_difference_as_arrears() {
    let mut l = Ledger::all();
    let b = l.enrol("1950-01-01", Programme::Ncc);
    let e = l.grant(
        b,
        "ncc.war_invalid",
        vec![SchemeParam::InjuryRatePct(61)],
        "2024-07",
    );
    l.pay_through(b, Programme::Ncc, "2024-07", "2024-08");
    l.run(Command::AdjustEntitlement(AdjustEntitlement {
        entitlement: e,
        effective_from: m("2024-08"),
        scheme: None,
        params: Some(vec![SchemeParam::InjuryRatePct(62)]),
        decision: decision("A1"),
    }))
    .unwrap();
    let sep = l.pay(b, Programme::Ncc, "2024-09");
    assert_eq!(
        amounts(&sep.lines),
        [
            ("2024-08".into(), ItemKind::Arrears, 95_000),
            ("2024-09".into(), ItemKind::Regular, 5_545_000)
        ]
    );
    assert_eq!(sep.lines[1].decision, "A1");
}

// ---- age bands and combinations -------------------------------------------------------

#[test]
fn a_child_turning_4_changes_band_in_the_birthday_month() {
    let mut l = Ledger::all();
    let b = l.enrol("2020-09-10", Programme::Btxh);
    l.grant(b, "btxh.child_no_support", vec![], "2024-07");
    assert_eq!(l.due_total(b, "2024-08"), 1_250_000);
    assert_eq!(l.due_total(b, "2024-09"), 750_000);
    assert!(l.due(b, "2024-09")[0]
        .rule
        .contains("btxh.coef.child_no_support.4_to_16"));
}

#[test]
fn an_elderly_poor_person_with_especially_severe_disability_gets_the_highest_only() {
    let mut l = Ledger::all();
    let b = l.enrol("1950-01-01", Programme::Btxh);
    l.grant(
        b,
        "btxh.elderly_poor_alone",
        vec![SchemeParam::PoorHousehold],
        "2024-07",
    );
    l.grant(b, "btxh.disability_especially_severe", vec![], "2024-07");
    assert_eq!(l.due_total(b, "2024-07"), 1_250_000, "2.5, not 1.5 + 2.5");
}

#[test]
fn relatives_of_two_and_three_or_more_martyrs() {
    let mut l = Ledger::all();
    for (n, expected) in [(2, 5_578_000), (3, 8_367_000), (5, 8_367_000)] {
        let b = l.enrol("1940-01-01", Programme::Ncc);
        l.grant(
            b,
            "ncc.martyr_relative",
            vec![SchemeParam::Martyrs(n)],
            "2024-07",
        );
        assert_eq!(l.due_total(b, "2024-08"), expected, "{n} martyrs");
    }
}

#[test]
fn supplements_at_81_percent_are_alternatives() {
    let mut l = Ledger::all();
    let plain = l.enrol("1950-01-01", Programme::Ncc);
    l.grant(
        plain,
        "ncc.war_invalid",
        vec![SchemeParam::InjuryRatePct(85)],
        "2024-07",
    );
    assert_eq!(l.due_total(plain, "2024-08"), 7_601_000 + 1_399_000);
    let severe = l.enrol("1950-01-01", Programme::Ncc);
    l.grant(
        severe,
        "ncc.war_invalid",
        vec![
            SchemeParam::InjuryRatePct(85),
            SchemeParam::EspeciallySevere,
        ],
        "2024-07",
    );
    assert_eq!(
        l.due_total(severe, "2024-08"),
        7_601_000 + 2_867_000,
        "especially severe replaces the ≥81% supplement"
    );
    let below = l.enrol("1950-01-01", Programme::Ncc);
    l.grant(
        below,
        "ncc.war_invalid_b",
        vec![SchemeParam::InjuryRatePct(80)],
        "2024-07",
    );
    assert_eq!(
        l.due_total(below, "2024-08"),
        5_936_000,
        "no supplement under 81%"
    );
}

#[test]
fn ncc_categories_add_but_extra_care_and_carer_are_single() {
    let mut l = Ledger::all();
    let b = l.enrol("1950-01-01", Programme::Ncc);
    l.grant(
        b,
        "ncc.war_invalid",
        vec![SchemeParam::InjuryRatePct(81)],
        "2024-07",
    );
    l.grant(
        b,
        "ncc.agent_orange",
        vec![SchemeParam::InjuryRatePct(81)],
        "2024-07",
    );
    l.grant(
        b,
        "ncc.war_invalid_carer",
        vec![SchemeParam::EspeciallySevere],
        "2024-07",
    );
    l.grant(b, "ncc.agent_orange_carer", vec![], "2024-07");
    let total = 7_240_000 + 1_399_000 + 6_358_000 + 1_399_000 + 3_582_000;
    assert_eq!(
        l.due_total(b, "2024-08"),
        total,
        "both categories, one (the highest) carer allowance"
    );
    let s = l.enrol("1930-01-01", Programme::Ncc);
    l.grant(
        s,
        "ncc.martyr_relative",
        vec![SchemeParam::Martyrs(1), SchemeParam::LivingAlone],
        "2024-07",
    );
    l.grant(
        s,
        "ncc.invalid_survivor",
        vec![SchemeParam::LivingAlone],
        "2024-07",
    );
    assert_eq!(
        l.due_total(s, "2024-08"),
        2_789_000 + 1_565_000 + 2_231_000,
        "one extra care allowance"
    );
}

#[test]
fn activist_with_seniority_units_and_convalescence_rounding() {
    let mut l = Ledger::all();
    let b = l.enrol("1925-01-01", Programme::Ncc);
    l.grant(
        b,
        "ncc.activist_pre1945",
        vec![SchemeParam::SeniorityUnits(3)],
        "2024-07",
    );
    l.one_off(b, "ncc.convalescence_home", "2024-09");
    let sep = l.due(b, "2024-09");
    let got: Vec<(&str, i64)> = sep.iter().map(|l| (l.rule.as_str(), l.amount.0)).collect();
    assert_eq!(
        got,
        [
            ("ncc.annex1.1.1.full_time@ncc-nd77-2024", 3_117_000),
            ("ncc.annex1.1.1.seniority_unit@ncc-nd77-2024 × 3", 1_587_000),
            ("ncc.standard@ncc-nd77-2024 × ncc.annex4.convalescence_home@ncc-nd77-2024, rounded to the thousand", 2_510_000),
        ]
    );
}

#[test]
fn social_pension_or_btxh_allowance_whichever_is_higher() {
    let mut l = Ledger::all();
    let poor = l.enrol("1940-01-01", Programme::Btxh);
    l.grant(poor, "btxh.elderly_poor_alone", vec![], "2025-07");
    l.grant(poor, "htxh.social_pension", vec![], "2025-07");
    let lines = l.due(poor, "2025-08");
    assert_eq!(
        (lines.len(), lines[0].scheme.as_str(), lines[0].amount.0),
        (1, "btxh.elderly_poor_alone", 1_000_000)
    );
    let tie = l.enrol("1940-01-01", Programme::Btxh);
    l.grant(tie, "btxh.elderly_80_no_pension", vec![], "2025-07");
    l.grant(tie, "htxh.social_pension", vec![], "2025-07");
    assert_eq!(
        l.due(tie, "2025-08")[0].scheme,
        "btxh.elderly_80_no_pension",
        "a tie keeps the BTXH allowance"
    );
    let only = l.enrol("1948-01-01", Programme::Htxh);
    l.grant(only, "htxh.social_pension", vec![], "2025-07");
    let p = l.pay(only, Programme::Htxh, "2025-07");
    assert_eq!(
        (p.amount, p.lines[0].rule.as_str()),
        (Vnd(500_000), "htxh.social_pension@htxh-nd176-2025")
    );
    // The pensioner with a higher BTXH allowance gets nothing from HTXH.
    assert!(l.pay(poor, Programme::Htxh, "2025-07").lines.is_empty());
}

#[test]
fn a_missing_rate_is_an_error_not_a_zero() {
    let mut l = Ledger::with(&["btxh-nd20-2021", "ncc-nd75-2021"]);
    let b = l.enrol("1950-01-01", Programme::Ncc);
    l.run(Command::RecordDeath(RecordDeath {
        beneficiary: b,
        date_of_death: d("2022-03-01"),
        decision: None,
    }))
    .unwrap();
    l.one_off(b, "ncc.funeral", "2022-04");
    let err = l.with_person(b, |p, r| {
        rules::due(p, r, m("2022-04"), u64::MAX).unwrap_err()
    });
    assert_eq!(
        err.to_string(),
        "no rate ncc.funeral.base_salary_multiple is recorded for 2022-03"
    );
}

// ---- validation wired into decide -------------------------------------------------------

#[test]
fn decide_refuses_invalid_entitlement_decisions() {
    let mut l = Ledger::all();
    let b = l.enrol("1950-01-01", Programme::Ncc);
    let grant = |scheme: &str, params| {
        Command::GrantEntitlement(GrantEntitlement {
            beneficiary: b,
            entitlement: NewEntitlement {
                programme: Programme::Ncc,
                scheme: scheme.into(),
                params,
                kind: EntitlementKind::Monthly,
                effective_from: m("2024-07"),
                decision: decision("1"),
                payee: None,
            },
        })
    };
    let err = l.run(grant("ncc.war_invalid", vec![])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "params: ncc.war_invalid needs the injury rate: InjuryRatePct(21-100)"
    );
    assert!(l
        .run(grant("ncc.warinvalid", vec![]))
        .unwrap_err()
        .to_string()
        .contains("unknown scheme"));
    let e = {
        l.run(grant(
            "ncc.war_invalid",
            vec![SchemeParam::InjuryRatePct(30)],
        ))
        .unwrap();
        EntitlementId(l.state.entitlements().len() as u64)
    };
    let adjust = Command::AdjustEntitlement(AdjustEntitlement {
        entitlement: e,
        effective_from: m("2024-09"),
        scheme: None,
        params: Some(vec![SchemeParam::InjuryRatePct(15)]),
        decision: decision("2"),
    });
    let err = l.run(adjust).unwrap_err().to_string();
    assert!(
        err.contains("injury rate 15% is out of range for ncc.war_invalid (21-100%)"),
        "{err}"
    );
    let to_btxh = Command::AdjustEntitlement(AdjustEntitlement {
        entitlement: e,
        effective_from: m("2024-09"),
        scheme: Some("btxh.hiv_poor".into()),
        params: Some(vec![]),
        decision: decision("3"),
    });
    assert!(l
        .run(to_btxh)
        .unwrap_err()
        .to_string()
        .contains("is a BTXH scheme, not NCC"));
}
