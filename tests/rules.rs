//! The benefit rules end to end, through the pure harness: commands through `decide` and
//! `apply`, rates from the real data files in `ledger-data/rates/`, payments made by real
//! batches (opened, computed by `batch::compute`, approved and released), and amounts asked of
//! `rules::due`. Every worked example of `docs/rules.md` §7 is one row of `EXAMPLES`, run by
//! one test that compares every amount to the dong; another test keeps the document and the
//! table in agreement.

mod common;

use std::collections::BTreeSet;

use chitra::domain::batch::compute::BatchPlan;
use chitra::domain::command::*;
use chitra::domain::event::ItemKind::{self, Arrears, OneOff, Recovery, Regular};
use chitra::domain::event::SchemeParam::{self, *};
use chitra::domain::event::{SuspensionReason, TerminationReason};
use chitra::domain::rules::DueLine;
use chitra::domain::types::*;
use chitra::domain::{Command, Rejection};
use common::fixtures::{cash, d, decision, enrolment, m, monthly, one_off, thousands};
use common::given::{due, World};

// ---- the table -------------------------------------------------------------------------

/// A worked example: a history, what is paid and due along it, and every amount expected.
struct Example {
    /// Its id in `docs/rules.md` §7.
    id: &'static str,
    /// The schedules enacted before anything else, in this order; `None`: every schedule of
    /// `ledger-data/rates/`, in the order they were enacted.
    schedules: Option<&'static [&'static str]>,
    steps: &'static [Step],
}

/// People and entitlements are numbered from 0 in the order the example enrols and grants
/// them.
enum Step {
    /// Enrols a person born on this date in a programme, paid in cash.
    Enrol(&'static str, Programme),
    /// A monthly entitlement for a person: scheme, parameters, first month.
    Grant(usize, &'static str, &'static [SchemeParam], &'static str),
    /// A one-off entitlement for a person, paid for the month given.
    GrantOneOff(usize, &'static str, &'static str),
    Enact(&'static str),
    /// The person died on this date.
    Death(usize, &'static str),
    /// An entitlement is suspended from a month.
    Suspend(usize, &'static str, SuspensionReason),
    /// An entitlement resumes from a month, with back pay from another.
    Resume(usize, &'static str, Option<&'static str>),
    /// An entitlement ends after a month: the person moved to the province with this code.
    MovedOut(usize, &'static str, &'static str),
    /// An entitlement's parameters change from a month, by decision `A1`.
    Adjust(usize, &'static str, &'static [SchemeParam]),
    /// The batch of a programme for every month from the first to the second: computed,
    /// approved and released.
    Pay(Programme, &'static str, &'static str),
    /// The batch just paid gave the person exactly these lines (none: no payment) and left
    /// this much to recover.
    Paid(usize, &'static [Line], i64),
    /// Remembers "now" under a name, for a question about what was known then.
    Mark(&'static str),
    /// What is due to the person for a month as now known: these lines, in order.
    Due(usize, &'static str, &'static [Owed]),
    /// The same as known at a mark.
    DueAsKnownAt(usize, &'static str, &'static str, &'static [Owed]),
    /// The total due to the person for a month as now known.
    DueTotal(usize, &'static str, i64),
}

use Step::*;

/// A payment line: source month, kind, amount, and when given its rule and entitlement.
#[derive(Clone, Copy, Debug)]
struct Line {
    month: &'static str,
    kind: ItemKind,
    amount: i64,
    rule: &'static str,
    entitlement: Option<usize>,
}

const fn line(month: &'static str, kind: ItemKind, amount: i64) -> Line {
    Line {
        month,
        kind,
        amount,
        rule: "",
        entitlement: None,
    }
}

impl Line {
    const fn rule(self, rule: &'static str) -> Line {
        Line { rule, ..self }
    }

    const fn of(self, entitlement: usize) -> Line {
        Line {
            entitlement: Some(entitlement),
            ..self
        }
    }
}

/// A line due: its amount, and when given its scheme, rule, schedule, clause and decision.
#[derive(Clone, Copy, Debug)]
struct Owed {
    amount: i64,
    scheme: &'static str,
    rule: &'static str,
    schedule: &'static str,
    clause: &'static str,
    decision: &'static str,
}

const fn owed(amount: i64) -> Owed {
    Owed {
        amount,
        scheme: "",
        rule: "",
        schedule: "",
        clause: "",
        decision: "",
    }
}

impl Owed {
    const fn scheme(self, scheme: &'static str) -> Owed {
        Owed { scheme, ..self }
    }
    const fn rule(self, rule: &'static str) -> Owed {
        Owed { rule, ..self }
    }
    const fn schedule(self, schedule: &'static str) -> Owed {
        Owed { schedule, ..self }
    }
    const fn clause(self, clause: &'static str) -> Owed {
        Owed { clause, ..self }
    }
    const fn decision(self, decision: &'static str) -> Owed {
        Owed { decision, ..self }
    }
}

const BTXH: Programme = Programme::Btxh;
const NCC: Programme = Programme::Ncc;
const HTXH: Programme = Programme::Htxh;

static EXAMPLES: &[Example] = &[
    Example {
        id: "W1",
        schedules: None,
        steps: &[
            Enrol("1989-05-10", BTXH),
            Grant(0, "btxh.disability_especially_severe", &[], "2024-06"),
            Pay(BTXH, "2024-06", "2024-06"),
            Paid(0, &[line("2024-06", Regular, 720_000).rule(
                "btxh.base@btxh-nd20-2021 × btxh.coef.disability_especially_severe.adult@btxh-nd20-2021",
            )], 0),
            Pay(BTXH, "2024-07", "2024-07"),
            Paid(0, &[line("2024-07", Regular, 1_000_000)], 0),
            Due(0, "2024-07", &[owed(1_000_000).schedule("btxh-nd76-2024")]),
        ],
    },
    Example {
        id: "W2",
        schedules: None,
        steps: &[
            Enrol("1941-12-01", BTXH),
            Grant(0, "btxh.elderly_80_no_pension", &[], "2024-03"),
            Pay(BTXH, "2024-03", "2024-03"),
            Paid(0, &[line("2024-03", Regular, 360_000)], 0),
        ],
    },
    Example {
        id: "W3",
        schedules: None,
        steps: &[
            Enrol("1942-02-01", BTXH),
            Grant(0, "btxh.elderly_80_no_pension", &[], "2024-11"),
            Grant(0, "btxh.disability_severe", &[], "2024-11"),
            Pay(BTXH, "2024-11", "2024-11"),
            // 2.0 for an elderly person with severe disability, not 1.0 + 1.5.
            Paid(0, &[line("2024-11", Regular, 1_000_000).of(1).rule(
                "btxh.base@btxh-nd76-2024 × btxh.coef.disability_severe.child_or_elderly@btxh-nd20-2021",
            )], 0),
        ],
    },
    Example {
        id: "W4",
        schedules: None,
        steps: &[
            Enrol("1990-01-01", BTXH),
            Grant(0, "btxh.single_parent_poor", &[Children(2)], "2024-12"),
            Grant(0, "btxh.disability_severe", &[], "2024-12"),
            Pay(BTXH, "2024-12", "2024-12"),
            // (1.0 + 1.0) + 1.5 = 3.5 × 500,000
            Paid(0, &[
                line("2024-12", Regular, 1_000_000).of(0),
                line("2024-12", Regular, 750_000).of(1),
            ], 0),
        ],
    },
    Example {
        id: "W5",
        schedules: None,
        steps: &[
            Enrol("1950-01-01", NCC),
            Grant(0, "ncc.war_invalid", &[InjuryRatePct(61)], "2024-06"),
            Pay(NCC, "2024-06", "2024-06"),
            Paid(0, &[line("2024-06", Regular, 4_016_000).rule("ncc.annex2.61@ncc-nd55-2023")], 0),
            Pay(NCC, "2024-07", "2024-08"),
            Paid(0, &[line("2024-08", Regular, 5_450_000).rule("ncc.annex2.61@ncc-nd77-2024")], 0),
            Due(0, "2024-08", &[owed(5_450_000)
                .clause("ND 75/2021 Annex I 6.1, Annex II")
                .decision("1/QĐ")]),
        ],
    },
    Example {
        id: "W6",
        schedules: None,
        steps: &[
            Enrol("1935-01-01", NCC),
            Grant(0, "ncc.martyr_relative", &[Martyrs(1), LivingAlone], "2024-08"),
            Pay(NCC, "2024-08", "2024-08"),
            Paid(0, &[
                line("2024-08", Regular, 2_789_000).rule("ncc.annex1.3.1@ncc-nd77-2024"),
                line("2024-08", Regular, 2_231_000).rule("ncc.annex1.extra_care@ncc-nd77-2024"),
            ], 0),
        ],
    },
    Example {
        id: "W7",
        // ND 55/2023 was in force on 2023-09-05 with levels from 2023-07-01: July and August
        // had been paid at the ND 75 rate when it was recorded.
        schedules: Some(&["btxh-nd20-2021", "ncc-nd75-2021"]),
        steps: &[
            Enrol("1950-01-01", NCC),
            Grant(0, "ncc.war_invalid", &[InjuryRatePct(61)], "2023-01"),
            Pay(NCC, "2023-01", "2023-08"),
            Paid(0, &[line("2023-08", Regular, 3_174_000)], 0),
            Enact("ncc-nd55-2023"),
            Pay(NCC, "2023-09", "2023-09"),
            Paid(0, &[
                line("2023-07", Arrears, 842_000).rule("ncc.annex2.61@ncc-nd55-2023 − paid 3,174,000"),
                line("2023-08", Arrears, 842_000),
                line("2023-09", Regular, 4_016_000),
            ], 0),
            // Nothing is owed twice: the next month is regular only.
            Pay(NCC, "2023-10", "2023-10"),
            Paid(0, &[line("2023-10", Regular, 4_016_000)], 0),
        ],
    },
    Example {
        id: "W8",
        schedules: Some(&["btxh-nd20-2021", "ncc-nd75-2021", "ncc-nd55-2023"]),
        steps: &[
            Enrol("1940-01-01", BTXH),
            Grant(0, "btxh.elderly_80_no_pension", &[], "2024-05"),
            Enrol("1945-01-01", NCC),
            Grant(1, "ncc.martyr_relative", &[Martyrs(1)], "2024-05"),
            Pay(BTXH, "2024-05", "2024-07"),
            Paid(0, &[line("2024-07", Regular, 360_000)], 0),
            Pay(NCC, "2024-05", "2024-07"),
            Paid(1, &[line("2024-07", Regular, 2_055_000)], 0),
            Mark("before the decrees"),
            Enact("btxh-nd76-2024"),
            Enact("ncc-nd77-2024"),
            Pay(BTXH, "2024-08", "2024-08"),
            Paid(0, &[line("2024-07", Arrears, 140_000), line("2024-08", Regular, 500_000)], 0),
            Pay(NCC, "2024-08", "2024-08"),
            Paid(1, &[line("2024-07", Arrears, 734_000), line("2024-08", Regular, 2_789_000)], 0),
            // As known before the decrees were recorded, July was 360,000: the question is
            // bitemporal.
            DueAsKnownAt(0, "2024-07", "before the decrees", &[owed(360_000)]),
            Due(0, "2024-07", &[owed(500_000)]),
        ],
    },
    Example {
        id: "W9",
        schedules: None,
        steps: &[
            Enrol("1940-01-01", BTXH),
            Grant(0, "btxh.elderly_80_no_pension", &[], "2024-07"),
            Pay(BTXH, "2024-07", "2024-08"),
            Death(0, "2024-08-15"),
            // The month of death is paid in full, nothing after.
            DueTotal(0, "2024-08", 500_000),
            DueTotal(0, "2024-09", 0),
            Pay(BTXH, "2024-09", "2024-09"),
            Paid(0, &[], 0),
        ],
    },
    Example {
        id: "W10",
        schedules: None,
        steps: &[
            Enrol("1940-01-01", BTXH),
            Grant(0, "btxh.elderly_80_no_pension", &[], "2024-07"),
            Pay(BTXH, "2024-07", "2024-10"),
            Death(0, "2024-08-15"),
            // Never negative: September and October were not due.
            Pay(BTXH, "2024-11", "2024-11"),
            Paid(0, &[], 1_000_000),
            // Funeral support (20 × base at the month of death) is offset by the overpayment.
            GrantOneOff(0, "btxh.funeral_support", "2024-12"),
            Pay(BTXH, "2024-12", "2024-12"),
            Paid(0, &[
                line("2024-09", Recovery, -500_000).rule("nothing due − paid 500,000"),
                line("2024-10", Recovery, -500_000),
                line("2024-12", OneOff, 10_000_000),
            ], 0),
        ],
    },
    Example {
        id: "W11",
        schedules: None,
        steps: &[
            Enrol("1950-01-01", NCC),
            Grant(0, "ncc.war_invalid", &[InjuryRatePct(85)], "2024-07"),
            Grant(0, "ncc.war_invalid_carer", &[], "2024-07"),
            DueTotal(0, "2024-08", 7_601_000 + 1_399_000 + 2_789_000),
            Death(0, "2024-08-10"),
            GrantOneOff(0, "ncc.death_lump_sum", "2024-09"),
            GrantOneOff(0, "ncc.funeral", "2024-09"),
            Due(0, "2024-09", &[
                owed(3 * (7_601_000 + 1_399_000)).scheme("ncc.death_lump_sum").rule(
                    "3 × (ncc.annex2.85@ncc-nd77-2024 + ncc.annex1.6.1.supplement_81@ncc-nd77-2024)",
                ),
                owed(23_400_000).scheme("ncc.funeral"),
            ]),
        ],
    },
    Example {
        id: "W12",
        schedules: None,
        steps: &[
            Enrol("1990-01-01", BTXH),
            Grant(0, "btxh.hiv_poor", &[], "2024-07"),
            Pay(BTXH, "2024-07", "2024-08"),
            Suspend(0, "2024-09", SuspensionReason::Uncollected),
            Pay(BTXH, "2024-09", "2024-09"),
            Paid(0, &[], 0),
            Pay(BTXH, "2024-10", "2024-10"),
            Paid(0, &[], 0),
            Pay(BTXH, "2024-11", "2024-11"),
            Paid(0, &[], 0),
            Resume(0, "2024-12", Some("2024-10")),
            Pay(BTXH, "2024-12", "2024-12"),
            Paid(0, &[
                line("2024-10", Arrears, 750_000),
                line("2024-11", Arrears, 750_000),
                line("2024-12", Regular, 750_000),
            ], 0),
        ],
    },
    Example {
        id: "W13",
        schedules: None,
        steps: &[
            Enrol("1990-01-01", BTXH),
            Grant(0, "btxh.hiv_poor", &[], "2024-07"),
            Pay(BTXH, "2024-07", "2024-07"),
            Suspend(0, "2024-08", SuspensionReason::Detention),
            Resume(0, "2024-10", None),
            Pay(BTXH, "2024-10", "2024-10"),
            Paid(0, &[line("2024-10", Regular, 750_000)], 0),
        ],
    },
    Example {
        id: "W14",
        schedules: None,
        steps: &[
            Enrol("1950-01-01", NCC),
            Grant(0, "ncc.war_invalid", &[InjuryRatePct(41)], "2024-07"),
            // The transfer slip is recorded late: October was already paid by the old province.
            Pay(NCC, "2024-07", "2024-10"),
            MovedOut(0, "2024-09", "79"),
            DueTotal(0, "2024-09", 3_667_000),
            DueTotal(0, "2024-10", 0),
            Pay(NCC, "2024-11", "2024-11"),
            Paid(0, &[], 3_667_000),
        ],
    },
    Example {
        id: "W15",
        schedules: None,
        steps: &[
            Enrol("1950-01-01", NCC),
            Grant(0, "ncc.war_invalid", &[InjuryRatePct(61)], "2024-07"),
            Pay(NCC, "2024-07", "2024-08"),
            Adjust(0, "2024-08", &[InjuryRatePct(62)]),
            Pay(NCC, "2024-09", "2024-09"),
            Paid(0, &[line("2024-08", Arrears, 95_000), line("2024-09", Regular, 5_545_000)], 0),
            Due(0, "2024-09", &[owed(5_545_000).decision("A1")]),
        ],
    },
    Example {
        id: "W16",
        schedules: None,
        steps: &[
            Enrol("2020-09-10", BTXH),
            Grant(0, "btxh.child_no_support", &[], "2024-07"),
            DueTotal(0, "2024-08", 1_250_000),
            Due(0, "2024-09", &[owed(750_000).rule(
                "btxh.base@btxh-nd76-2024 × btxh.coef.child_no_support.4_to_16@btxh-nd20-2021",
            )]),
        ],
    },
    Example {
        id: "W17",
        schedules: None,
        steps: &[
            Enrol("1950-01-01", BTXH),
            Grant(0, "btxh.elderly_poor_alone", &[PoorHousehold], "2024-07"),
            Grant(0, "btxh.disability_especially_severe", &[], "2024-07"),
            // 2.5, not 1.5 + 2.5.
            DueTotal(0, "2024-07", 1_250_000),
        ],
    },
    Example {
        id: "W18",
        schedules: None,
        steps: &[
            Enrol("1940-01-01", NCC),
            Grant(0, "ncc.martyr_relative", &[Martyrs(2)], "2024-07"),
            Enrol("1940-01-01", NCC),
            Grant(1, "ncc.martyr_relative", &[Martyrs(3)], "2024-07"),
            Enrol("1940-01-01", NCC),
            Grant(2, "ncc.martyr_relative", &[Martyrs(5)], "2024-07"),
            DueTotal(0, "2024-08", 5_578_000),
            DueTotal(1, "2024-08", 8_367_000),
            DueTotal(2, "2024-08", 8_367_000),
        ],
    },
    Example {
        id: "W19",
        schedules: None,
        steps: &[
            Enrol("1950-01-01", NCC),
            Grant(0, "ncc.war_invalid", &[InjuryRatePct(85)], "2024-07"),
            DueTotal(0, "2024-08", 7_601_000 + 1_399_000),
            Enrol("1950-01-01", NCC),
            Grant(1, "ncc.war_invalid", &[InjuryRatePct(85), EspeciallySevere], "2024-07"),
            // Especially severe replaces the ≥ 81% supplement.
            DueTotal(1, "2024-08", 7_601_000 + 2_867_000),
            Enrol("1950-01-01", NCC),
            Grant(2, "ncc.war_invalid_b", &[InjuryRatePct(80)], "2024-07"),
            // No supplement under 81%.
            DueTotal(2, "2024-08", 5_936_000),
        ],
    },
    Example {
        id: "W20",
        schedules: None,
        steps: &[
            Enrol("1950-01-01", NCC),
            Grant(0, "ncc.war_invalid", &[InjuryRatePct(81)], "2024-07"),
            Grant(0, "ncc.agent_orange", &[InjuryRatePct(81)], "2024-07"),
            Grant(0, "ncc.war_invalid_carer", &[EspeciallySevere], "2024-07"),
            Grant(0, "ncc.agent_orange_carer", &[], "2024-07"),
            // Both categories, one (the highest) carer allowance.
            DueTotal(0, "2024-08", 7_240_000 + 1_399_000 + 6_358_000 + 1_399_000 + 3_582_000),
            Enrol("1930-01-01", NCC),
            Grant(1, "ncc.martyr_relative", &[Martyrs(1), LivingAlone], "2024-07"),
            Grant(1, "ncc.invalid_survivor", &[LivingAlone], "2024-07"),
            // One extra care allowance.
            DueTotal(1, "2024-08", 2_789_000 + 1_565_000 + 2_231_000),
        ],
    },
    Example {
        id: "W21",
        schedules: None,
        steps: &[
            Enrol("1925-01-01", NCC),
            Grant(0, "ncc.activist_pre1945", &[SeniorityUnits(3)], "2024-07"),
            GrantOneOff(0, "ncc.convalescence_home", "2024-09"),
            Due(0, "2024-09", &[
                owed(3_117_000).rule("ncc.annex1.1.1.full_time@ncc-nd77-2024"),
                owed(1_587_000).rule("ncc.annex1.1.1.seniority_unit@ncc-nd77-2024 × 3"),
                owed(2_510_000).rule(
                    "ncc.standard@ncc-nd77-2024 × ncc.annex4.convalescence_home@ncc-nd77-2024, rounded to the thousand",
                ),
            ]),
        ],
    },
    Example {
        id: "W22",
        schedules: None,
        steps: &[
            Enrol("1940-01-01", BTXH),
            Grant(0, "btxh.elderly_poor_alone", &[], "2025-07"),
            Grant(0, "htxh.social_pension", &[], "2025-07"),
            Due(0, "2025-08", &[owed(1_000_000).scheme("btxh.elderly_poor_alone")]),
            Enrol("1940-01-01", BTXH),
            Grant(1, "btxh.elderly_80_no_pension", &[], "2025-07"),
            Grant(1, "htxh.social_pension", &[], "2025-07"),
            // A tie keeps the BTXH allowance.
            Due(1, "2025-08", &[owed(500_000).scheme("btxh.elderly_80_no_pension")]),
            Enrol("1948-01-01", HTXH),
            Grant(2, "htxh.social_pension", &[], "2025-07"),
            Pay(HTXH, "2025-07", "2025-07"),
            Paid(2, &[line("2025-07", Regular, 500_000).rule("htxh.social_pension@htxh-nd176-2025")], 0),
            // The pensioner with a higher BTXH allowance gets nothing from HTXH.
            Paid(0, &[], 0),
        ],
    },
];

// ---- running the table ------------------------------------------------------------------

/// One example being run: the world, and the ids behind its numbers.
struct Run {
    world: World,
    people: Vec<BeneficiaryId>,
    entitlements: Vec<EntitlementId>,
    marks: Vec<(&'static str, u64)>,
    /// The last batch paid, and what its computation left out.
    last: Option<(BatchId, BatchPlan)>,
}

impl Run {
    fn new(schedules: Option<&[&str]>) -> Run {
        Run {
            world: match schedules {
                Some(ids) => World::with_schedules(ids),
                None => World::with_all_schedules(),
            },
            people: Vec::new(),
            entitlements: Vec::new(),
            marks: Vec::new(),
            last: None,
        }
    }

    fn grant(&mut self, who: usize, entitlement: NewEntitlement) {
        let id = self.world.grant(self.people[who], entitlement);
        self.entitlements.push(id);
    }

    fn step(&mut self, step: &Step) -> Result<(), String> {
        match step {
            Enrol(born, programme) => {
                // A citizen ID of the birth year's century and sex digit, unique per person.
                let year: u16 = born[..4].parse().unwrap();
                let century = if year >= 2000 { 2 } else { 0 };
                let serial = self.people.len() + 1;
                let id = format!("001{century}{}{serial:06}", &born[2..4]);
                let mut e = enrolment(&id, "Nguyễn Văn A", born, Some(cash()), vec![]);
                e.programme = *programme;
                self.people.push(self.world.enrol(e));
            }
            Grant(who, scheme, params, from) => {
                self.grant(*who, monthly(scheme, params.to_vec(), from));
            }
            GrantOneOff(who, scheme, month) => self.grant(*who, one_off(scheme, month)),
            Enact(id) => self.world.enact(&[id]),
            Death(who, date) => {
                self.world.run(Command::RecordDeath(RecordDeath {
                    beneficiary: self.people[*who],
                    date_of_death: d(date),
                    decision: None,
                }));
            }
            Suspend(e, from, reason) => {
                self.world
                    .run(Command::SuspendEntitlement(SuspendEntitlement {
                        entitlement: self.entitlements[*e],
                        from: m(from),
                        reason: reason.clone(),
                        decision: decision("S1"),
                    }));
            }
            Resume(e, from, back_pay_from) => {
                self.world
                    .run(Command::ResumeEntitlement(ResumeEntitlement {
                        entitlement: self.entitlements[*e],
                        from: m(from),
                        back_pay_from: back_pay_from.map(m),
                        decision: decision("R1"),
                    }));
            }
            MovedOut(e, last_month, province) => {
                self.world
                    .run(Command::TerminateEntitlement(TerminateEntitlement {
                        entitlement: self.entitlements[*e],
                        last_month: m(last_month),
                        reason: TerminationReason::MovedOut {
                            to_province: ProvinceCode::parse(province).unwrap(),
                        },
                        decision: decision("T1"),
                    }));
            }
            Adjust(e, from, params) => {
                self.world
                    .run(Command::AdjustEntitlement(AdjustEntitlement {
                        entitlement: self.entitlements[*e],
                        effective_from: m(from),
                        scheme: None,
                        params: Some(params.to_vec()),
                        decision: decision("A1"),
                    }));
            }
            Pay(programme, from, to) => {
                let mut month = m(from);
                while month <= m(to) {
                    self.last = Some(self.world.pay(*programme, month));
                    month = month.next();
                }
            }
            Paid(who, lines, outstanding) => self.paid(*who, lines, *outstanding)?,
            Mark(name) => self.marks.push((name, self.world.records())),
            Due(who, month, lines) => self.due(*who, month, u64::MAX, lines)?,
            DueAsKnownAt(who, month, mark, lines) => {
                let (_, seq) = self.marks.iter().find(|(n, _)| n == mark).unwrap();
                self.due(*who, month, *seq, lines)?
            }
            DueTotal(who, month, total) => {
                let got: i64 = self
                    .due_lines(*who, month, u64::MAX)?
                    .iter()
                    .map(|l| l.amount.0)
                    .sum();
                if got != *total {
                    return Err(format!("due {month}: {got}, expected {total}"));
                }
            }
        }
        Ok(())
    }

    fn paid(&self, who: usize, expected: &[Line], outstanding: i64) -> Result<(), String> {
        let (batch, plan) = self.last.as_ref().ok_or("nothing was paid yet")?;
        let person = self.people[who];
        let items = self
            .world
            .payment_of(*batch, person)
            .map(|p| p.items)
            .unwrap_or_default();
        let got: Vec<(String, ItemKind, i64)> = items
            .iter()
            .map(|i| (i.source_month.to_string(), i.kind, i.amount.0))
            .collect();
        let want: Vec<(String, ItemKind, i64)> = expected
            .iter()
            .map(|l| (l.month.to_owned(), l.kind, l.amount))
            .collect();
        if got != want {
            return Err(format!("{batch} paid {got:?}, expected {want:?}"));
        }
        for (item, l) in items.iter().zip(expected) {
            if !l.rule.is_empty() && item.rule != l.rule {
                return Err(format!(
                    "{} rule {:?}, expected {:?}",
                    l.month, item.rule, l.rule
                ));
            }
            if let Some(e) = l.entitlement {
                if item.entitlement != self.entitlements[e] {
                    return Err(format!(
                        "{} paid {}, expected entitlement {e}",
                        l.month, item.entitlement
                    ));
                }
            }
        }
        let left = plan
            .outstanding_recovery
            .iter()
            .find(|(b, _)| *b == person)
            .map_or(0, |(_, v)| v.0);
        if left != outstanding {
            return Err(format!("{left} left to recover, expected {outstanding}"));
        }
        Ok(())
    }

    fn due_lines(&self, who: usize, month: &str, known_at: u64) -> Result<Vec<DueLine>, String> {
        due(self.world.state(), self.people[who], m(month), known_at).map_err(|e| e.to_string())
    }

    fn due(&self, who: usize, month: &str, known_at: u64, expected: &[Owed]) -> Result<(), String> {
        let lines = self.due_lines(who, month, known_at)?;
        let amounts: Vec<i64> = lines.iter().map(|l| l.amount.0).collect();
        let want: Vec<i64> = expected.iter().map(|o| o.amount).collect();
        if amounts != want {
            return Err(format!("due {month}: {amounts:?}, expected {want:?}"));
        }
        for (l, o) in lines.iter().zip(expected) {
            for (what, got, want) in [
                ("scheme", l.scheme.as_str(), o.scheme),
                ("rule", l.rule.as_str(), o.rule),
                ("schedule", l.schedule.as_str(), o.schedule),
                ("clause", l.clause, o.clause),
                ("decision", l.decision.as_str(), o.decision),
            ] {
                if !want.is_empty() && got != want {
                    return Err(format!("due {month}: {what} {got:?}, expected {want:?}"));
                }
            }
        }
        Ok(())
    }
}

#[test]
fn every_worked_example_of_the_rules_pays_to_the_dong() {
    let mut failures = Vec::new();
    for example in EXAMPLES {
        let mut run = Run::new(example.schedules);
        for (i, step) in example.steps.iter().enumerate() {
            if let Err(e) = run.step(step) {
                failures.push(format!("{} step {}: {e}", example.id, i + 1));
                break;
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---- the table and docs/rules.md agree ----------------------------------------------------

/// Every amount an example states, as `docs/rules.md` writes it (`1,234,000`): each line, what
/// a payment comes to, what is left to recover, each total.
fn amounts(example: &Example) -> BTreeSet<i64> {
    let mut out = BTreeSet::new();
    for step in example.steps {
        match step {
            Paid(_, lines, outstanding) => {
                out.extend(lines.iter().map(|l| l.amount.abs()));
                out.insert(lines.iter().map(|l| l.amount).sum::<i64>());
                out.insert(*outstanding);
            }
            Due(_, _, lines) | DueAsKnownAt(_, _, _, lines) => {
                out.extend(lines.iter().map(|o| o.amount));
            }
            DueTotal(_, _, total) => {
                out.insert(*total);
            }
            _ => {}
        }
    }
    out.remove(&0);
    out
}

/// The rows of the worked-examples table of `docs/rules.md`: (id, the row's text).
fn documented_examples() -> Vec<(String, String)> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/rules.md"))
        .expect("docs/rules.md");
    let section = doc
        .split("\n## ")
        .find(|s| s.starts_with("7. Worked examples"))
        .expect("docs/rules.md has §7 Worked examples");
    section
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let id = cells.get(1)?;
            let is_id =
                id.len() > 1 && id.starts_with('W') && id[1..].chars().all(|c| c.is_ascii_digit());
            is_id.then(|| (id.to_string(), l.to_owned()))
        })
        .collect()
}

#[test]
fn docs_rules_lists_every_example_of_the_table_with_its_amounts() {
    let documented = documented_examples();
    let doc_ids: Vec<&str> = documented.iter().map(|(id, _)| id.as_str()).collect();
    let table_ids: Vec<&str> = EXAMPLES.iter().map(|e| e.id).collect();
    assert_eq!(
        doc_ids, table_ids,
        "docs/rules.md §7 and EXAMPLES list the same examples"
    );
    for (example, (_, row)) in EXAMPLES.iter().zip(&documented) {
        let row = row.replace('−', "-");
        for amount in amounts(example) {
            let text = thousands(amount.unsigned_abs());
            assert!(
                row.contains(&text),
                "docs/rules.md row {} does not state {text}: {row}",
                example.id
            );
        }
    }
}

// ---- outside the table --------------------------------------------------------------------

#[test]
fn a_missing_rate_is_an_error_not_a_zero() {
    let mut w = World::with_schedules(&["btxh-nd20-2021", "ncc-nd75-2021"]);
    let b = w.enrol(enrolment(
        "001050000001",
        "Nguyễn Văn A",
        "1950-01-01",
        Some(cash()),
        vec![],
    ));
    w.run(Command::RecordDeath(RecordDeath {
        beneficiary: b,
        date_of_death: d("2022-03-01"),
        decision: None,
    }));
    w.grant(b, one_off("ncc.funeral", "2022-04"));
    let err = due(w.state(), b, m("2022-04"), u64::MAX).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no rate ncc.funeral.base_salary_multiple is recorded for 2022-03"
    );
}

#[test]
fn decide_refuses_invalid_entitlement_decisions() {
    let mut w = World::with_all_schedules();
    let b = w.enrol(enrolment(
        "001050000001",
        "Nguyễn Văn A",
        "1950-01-01",
        Some(cash()),
        vec![],
    ));
    let grant = |scheme: &str, params| {
        Command::GrantEntitlement(GrantEntitlement {
            beneficiary: b,
            entitlement: monthly(scheme, params, "2024-07"),
        })
    };
    let w = w
        .when("officer:lan", grant("ncc.war_invalid", vec![]))
        .then_rejected(|r| {
            r.to_string() == "params: ncc.war_invalid needs the injury rate: InjuryRatePct(21-100)"
        })
        .when("officer:lan", grant("ncc.warinvalid", vec![]))
        .then_rejected(|r| r.to_string().contains("unknown scheme"));
    let e = EntitlementId(1);
    let adjust = |scheme: Option<&str>, params: Vec<SchemeParam>| {
        Command::AdjustEntitlement(AdjustEntitlement {
            entitlement: e,
            effective_from: m("2024-09"),
            scheme: scheme.map(str::to_owned),
            params: Some(params),
            decision: decision("2"),
        })
    };
    w.when(
        "officer:lan",
        grant("ncc.war_invalid", vec![InjuryRatePct(30)]),
    )
    .then_accepted(|events| assert_eq!(events.len(), 1))
    .when("officer:lan", adjust(None, vec![InjuryRatePct(15)]))
    .then_rejected(|r| {
        let err = r.to_string();
        err.contains("injury rate 15% is out of range for ncc.war_invalid (21-100%)")
    })
    .when("officer:lan", adjust(Some("btxh.hiv_poor"), vec![]))
    .then_rejected(|r| {
        matches!(r, Rejection::Invalid { .. })
            && r.to_string().contains("is a BTXH scheme, not NCC")
    });
}
