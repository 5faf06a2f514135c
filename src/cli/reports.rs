//! The department's commands of issue 12: identity checks against the population database
//! (`chitra identity-check import FILE`, `chitra identity-check mode PROGRAMME hold|warn-only`)
//! the department's figures (`chitra figures [--as-of DATE] [--programme P]`) and funds
//! (`chitra funds allocate ...`, `chitra funds status`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Subcommand;

use super::{open_ledger, print_json, submit, Session};
use crate::domain::identity::{IdentityCheckMode, IdentityCheckModeSet, RecordIdentityCheck};
use crate::domain::types::{Date, Programme};
use crate::domain::Command;
use crate::formats::identity_check::parse_answers;

#[derive(Subcommand, Debug)]
pub enum IdentityCheckCommand {
    /// Record the answer file of a check against the population database (format:
    /// docs/identity-check-csv.md). Any bad row refuses the whole file.
    Import {
        file: PathBuf,
        /// The check's reference (default: the file name).
        #[arg(long)]
        reference: Option<String>,
        /// The day the database answered, YYYY-MM-DD (default: today).
        #[arg(long, value_parser = parse_date)]
        answered_on: Option<Date>,
    },
    /// Whether a finding holds the programme's payments (`hold`, the default) or is only shown
    /// (`warn-only`). A reported death always holds.
    Mode {
        #[arg(value_parser = parse_programme)]
        programme: Programme,
        #[arg(value_parser = parse_mode)]
        mode: IdentityCheckMode,
    },
}

pub(super) fn parse_date(text: &str) -> Result<Date, String> {
    Date::parse(text).map_err(|e| e.to_string())
}

fn parse_programme(text: &str) -> Result<Programme, String> {
    Programme::parse(text).map_err(|e| e.to_string())
}

fn parse_mode(text: &str) -> Result<IdentityCheckMode, String> {
    match text {
        "hold" => Ok(IdentityCheckMode::Hold),
        "warn-only" => Ok(IdentityCheckMode::WarnOnly),
        _ => Err(format!("{text:?}: expected hold or warn-only")),
    }
}

pub fn identity_check(s: &Session, c: IdentityCheckCommand) -> anyhow::Result<ExitCode> {
    match c {
        IdentityCheckCommand::Import {
            file,
            reference,
            answered_on,
        } => import(s, &file, reference, answered_on),
        IdentityCheckCommand::Mode { programme, mode } => {
            let ledger = open_ledger(s)?;
            let command = Command::SetIdentityCheckMode(IdentityCheckModeSet { programme, mode });
            let receipt = submit(&ledger, s, command)?;
            if s.json {
                print_json(
                    &serde_json::json!({ "programme": programme, "mode": mode, "receipt": receipt }),
                )?;
            } else {
                println!("{programme} identity checks: {}", super::word(&mode));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn import(
    s: &Session,
    file: &Path,
    reference: Option<String>,
    answered_on: Option<Date>,
) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let rows = match parse_answers(&bytes) {
        Ok(rows) => rows,
        Err(rejected) => {
            eprintln!(
                "{}: the answer file was refused, nothing was recorded:",
                file.display()
            );
            for e in &rejected.errors {
                eprintln!("  {e}");
            }
            return Ok(ExitCode::from(super::EXIT_FAILURE));
        }
    };
    let reference = match reference {
        Some(r) => r,
        None => file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .context("the file has no name: give --reference")?,
    };
    let today = crate::ledger::local_date((crate::ledger::system_clock())());
    let answers = rows.len();
    let ledger = open_ledger(s)?;
    let command = Command::RecordIdentityCheck(RecordIdentityCheck {
        reference: reference.clone(),
        answered_on: answered_on.unwrap_or(today),
        source_digest: *blake3::hash(&bytes).as_bytes(),
        rows,
    });
    let receipt = submit(&ledger, s, command)?;
    let summary = ledger.read(|st| summary(st, &reference))?;
    if s.json {
        print_json(&serde_json::json!({
            "reference": reference,
            "answers": answers,
            "outcomes": summary,
            "receipt": receipt,
        }))?;
    } else {
        println!("recorded identity check {reference}: {answers} answers");
        for (k, n) in &summary {
            println!("  {k}: {n}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// How many people of this check fell in each outcome, as printed.
fn summary(st: &crate::domain::State, reference: &str) -> Vec<(&'static str, u64)> {
    let o = crate::app::reports::check_outcomes(st, reference);
    vec![
        ("verified", o.verified),
        ("differs", o.differs),
        ("not found", o.not_found),
        ("reported dead", o.reported_dead),
    ]
}

/// `chitra figures`: the department's figures as of a day, per province, commune and programme.
pub fn figures(
    s: &Session,
    as_of: Option<Date>,
    programme: Option<Programme>,
) -> anyhow::Result<ExitCode> {
    let ledger = open_ledger(s)?;
    let mut f = crate::app::reports::figures(&ledger, as_of)?;
    if let Some(p) = programme {
        f.people.retain(|r| r.programme == p);
        f.payments.retain(|r| r.programme == p);
    }
    if s.json {
        print_json(&f)?;
        return Ok(ExitCode::SUCCESS);
    }
    print_figures(&f);
    Ok(ExitCode::SUCCESS)
}

/// The figures as a department reports them: every people figure of the JSON
/// (`app::reports::PEOPLE_FIGURES`), in totals and per province, commune and programme.
pub fn print_figures(f: &crate::app::reports::Figures) {
    use crate::app::reports::PEOPLE_FIGURES;
    let when = f.as_of.map_or("now".to_owned(), |d| d.to_string());
    println!(
        "the department's figures as of {when} (records before {}):",
        f.known_at
    );
    let t = &f.totals;
    let totals: Vec<String> = PEOPLE_FIGURES
        .iter()
        .map(|p| match p.of_enrolled {
            true => format!("{} {} of {}", p.label, (p.value)(t), t.enrolled),
            false => format!("{} {}", p.label, (p.value)(t)),
        })
        .collect();
    println!("  {}", totals.join("; "));
    for (why, n) in &t.held {
        println!("  held: {n} ({why})");
    }
    let columns: Vec<&str> = PEOPLE_FIGURES.iter().map(|p| p.column).collect();
    println!("  province commune programme: {}", columns.join(" "));
    for r in &f.people {
        let province = r.province.map_or("?".to_owned(), |p| p.to_string());
        let values: Vec<String> = PEOPLE_FIGURES
            .iter()
            .map(|p| (p.value)(&r.figures).to_string())
            .collect();
        println!(
            "  {province} {} {}: {}",
            r.commune,
            r.programme,
            values.join(" ")
        );
    }
    println!("  month programme: bank (count, VND) | cash (count, VND) | returned (count, VND)");
    for p in &f.payments {
        println!(
            "  {} {}: {} {} | {} {} | {} {}{}",
            p.month,
            p.programme,
            p.bank.count,
            p.bank.sum,
            p.cash.count,
            p.cash.sum,
            p.returned.count,
            p.returned.sum,
            if p.report_late {
                " | payment report LATE"
            } else {
                ""
            }
        );
    }
}

#[derive(Subcommand, Debug)]
pub enum FundsCommand {
    /// Record the State Treasury's allocation to a programme for a period of months (as a
    /// checker). A top-up names the same period.
    Allocate {
        #[arg(long, value_parser = parse_programme)]
        programme: Programme,
        /// First month, YYYY-MM.
        #[arg(long, value_parser = parse_month)]
        from: crate::domain::types::Month,
        /// Last month, YYYY-MM (inclusive).
        #[arg(long, value_parser = parse_month)]
        to: crate::domain::types::Month,
        /// Whole VND.
        #[arg(long)]
        amount: i64,
        /// The allocation decision's number, date (YYYY-MM-DD) and signer.
        #[arg(long)]
        decision: String,
        #[arg(long, value_parser = parse_date)]
        decision_date: Date,
        #[arg(long)]
        signer: String,
    },
    /// Every period: allocated, reserved by approved batches, paid, returned, remaining, and
    /// whether it is closed (no batch of it still open). With --from/--to: the periods that
    /// overlap those months (the close of a period).
    Status {
        /// First month, YYYY-MM (alone: that month).
        #[arg(long, value_parser = parse_month)]
        from: Option<crate::domain::types::Month>,
        /// Last month, YYYY-MM (inclusive).
        #[arg(long, value_parser = parse_month)]
        to: Option<crate::domain::types::Month>,
    },
}

fn parse_month(text: &str) -> Result<crate::domain::types::Month, String> {
    crate::domain::types::Month::parse(text).map_err(|e| e.to_string())
}

pub fn funds(s: &Session, c: FundsCommand) -> anyhow::Result<ExitCode> {
    let ledger = open_ledger(s)?;
    if let FundsCommand::Allocate {
        programme,
        from,
        to,
        amount,
        decision,
        decision_date,
        signer,
    } = &c
    {
        let (programme, from, to) = (*programme, *from, *to);
        let (decision, signer) = (decision.clone(), signer.clone());
        let (amount, decision_date) = (*amount, *decision_date);
        let command = Command::AllocateFunds(crate::domain::event::FundsAllocated {
            programme,
            from,
            to,
            decision: crate::domain::event::Decision {
                number: decision,
                date: decision_date,
                signer,
            },
            amount: crate::domain::types::Vnd(amount),
        });
        submit(&ledger, s, command)?;
    }
    let range = match c {
        FundsCommand::Status { from, to } => match (from, to) {
            (None, None) => None,
            (Some(f), Some(t)) if t < f => anyhow::bail!("--to {t} is before --from {f}"),
            (f, t) => {
                let (f, t) = (f.or(t), t.or(f));
                f.zip(t)
            }
        },
        FundsCommand::Allocate { .. } => None,
    };
    let balances = ledger.read(|st| match range {
        Some((f, t)) => crate::domain::funds::period(st, f, t),
        None => crate::domain::funds::balances(st),
    })?;
    if s.json {
        print_json(&balances)?;
        return Ok(ExitCode::SUCCESS);
    }
    for b in &balances {
        println!(
            "{} {}..{}: allocated {} (decisions {}), reserved {}, paid {}, returned {}, remaining {}; {}",
            b.programme,
            b.from,
            b.to,
            b.allocated,
            b.decisions.join(", "),
            b.reserved,
            b.paid,
            b.returned,
            b.remaining,
            match b.batches_open {
                0 => "closed".to_owned(),
                n => format!("{n} batch(es) still open"),
            }
        );
    }
    if balances.is_empty() {
        println!("no allocation recorded");
    }
    Ok(ExitCode::SUCCESS)
}

/// After `batch status`: the arrears each batch carries (people not paid in an earlier month,
/// with their source month), and per programme what is due next and what is overdue.
pub fn print_calendar(
    ledger: &crate::ledger::Ledger,
    batches: &[crate::app::views::BatchView],
) -> anyhow::Result<()> {
    let today = crate::ledger::local_date((crate::ledger::system_clock())());
    let mut programmes: Vec<Programme> = batches.iter().map(|b| b.programme).collect();
    programmes.sort();
    programmes.dedup();
    let ids: Vec<_> = batches.iter().map(|b| b.id).collect();
    let carried: Vec<_> = ledger.read(|st| {
        ids.iter()
            .map(|id| (*id, crate::domain::calendar::arrears_carried(st, *id)))
            .collect()
    })?;
    let calendars = crate::app::reports::calendar(ledger, &programmes, today)?;
    for (id, lines) in carried.iter().filter(|(_, l)| !l.is_empty()) {
        let parts: Vec<String> = lines
            .iter()
            .map(|(m, t)| format!("{m}: {} lines, {} VND", t.count, t.sum))
            .collect();
        println!(
            "{id} carries arrears from earlier months: {}",
            parts.join("; ")
        );
    }
    for c in &calendars {
        if let Some(n) = &c.next {
            println!(
                "{} next due: {} for {} by {}",
                c.programme,
                super::word(&n.kind),
                n.month,
                n.due_on
            );
        }
        print_late(c);
        for o in &c.overdue {
            println!(
                "{} OVERDUE: {} for {} was due {}",
                c.programme,
                super::word(&o.kind),
                o.month,
                o.due_on
            );
        }
    }
    Ok(())
}

/// The deadlines of a programme met late, one line each, naming the late channels.
pub fn print_late(c: &crate::domain::calendar::CalendarStatus) {
    use crate::domain::event::Channel;
    for l in &c.late {
        let channels: Vec<String> = l
            .late_channels
            .iter()
            .map(|ch| match ch {
                Channel::Bank(bin) => format!("bank {bin}"),
                Channel::Cash => "the cash pay points".to_owned(),
            })
            .collect();
        println!(
            "{} LATE: {} for {} was due {}, {}{}",
            c.programme,
            super::word(&l.kind),
            l.month,
            l.due_on,
            l.done_on
                .map_or("not complete yet".to_owned(), |d| format!("in on {d}")),
            match channels.is_empty() {
                true => String::new(),
                false => format!(" (late: {})", channels.join(", ")),
            }
        );
    }
}
