//! CLI commands for case officers and administrators: loading rate schedules, importing a
//! roster, showing a beneficiary, and what is due to them for a month and why.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context as _};

use super::{open_ledger, print_json, submit, word, Session};
use crate::domain::types::{BeneficiaryId, CitizenId, Month, Vnd};
use crate::domain::Command;
use crate::ledger::Ledger;

pub fn rates_load(s: &Session, dir: Option<&Path>) -> anyhow::Result<ExitCode> {
    let schedules = match dir {
        Some(dir) => crate::formats::reference::rates::load_dir(dir)?,
        None => crate::formats::reference::rates::embedded()?,
    };
    let ledger = open_ledger(s)?;
    let (mut added, mut known) = (0, 0);
    for schedule in schedules {
        let id = schedule.schedule.clone();
        let receipt = submit(&ledger, s, Command::EnactRateSchedule(schedule))?;
        if receipt.count == 0 {
            known += 1;
        } else {
            added += 1;
            if !s.json {
                println!("enacted {id} (seq {})", receipt.first_seq);
            }
        }
    }
    if s.json {
        print_json(&serde_json::json!({ "enacted": added, "already_loaded": known }))?;
    } else {
        println!("{added} schedules enacted, {known} already loaded");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn import(s: &Session, file: &Path) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let today = crate::ledger::local_date((crate::ledger::system_clock())());
    let roster = match crate::formats::roster::parse_roster(
        &bytes,
        crate::formats::reference::Reference::embedded(),
        today,
    ) {
        Ok(r) => r,
        Err(rejected) => {
            eprintln!(
                "{}: the roster was refused, nothing was imported:",
                file.display()
            );
            for e in &rejected.errors {
                eprintln!("  {e}");
            }
            for w in &rejected.warnings {
                eprintln!("  warning: line {}: {w}", w.line);
            }
            return Ok(ExitCode::from(super::EXIT_FAILURE));
        }
    };
    for w in &roster.warnings {
        eprintln!("warning: line {}: {w}", w.line);
    }
    let warnings = roster.warnings.len();
    let command = roster.into_command();
    let n = command.rows.len();
    let ledger = open_ledger(s)?;
    let receipt = match submit(&ledger, s, Command::ImportRoster(command)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!(
                "{}: the roster was refused, nothing was imported: {e}",
                file.display()
            );
            return Ok(ExitCode::from(super::EXIT_FAILURE));
        }
    };
    if s.json {
        print_json(
            &serde_json::json!({ "imported": n, "warnings": warnings, "receipt": receipt }),
        )?;
    } else {
        println!(
            "imported {n} beneficiaries ({} records, seq {}..{}), {} warnings",
            receipt.count,
            receipt.first_seq,
            receipt.last_seq().unwrap_or(receipt.first_seq),
            warnings
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A beneficiary named by citizen ID or by ledger id (`B123`).
pub fn find(ledger: &Ledger, who: &str) -> anyhow::Result<BeneficiaryId> {
    if who.starts_with('B') {
        return Ok(BeneficiaryId::parse(who)?);
    }
    let citizen = CitizenId::parse(who)?;
    ledger
        .read(|s| s.by_citizen(&citizen))?
        .with_context(|| format!("no beneficiary has citizen ID {citizen}"))
}

pub fn show(s: &Session, who: &str) -> anyhow::Result<ExitCode> {
    let ledger = open_ledger(s)?;
    let id = find(&ledger, who)?;
    let Some(v) = crate::app::views::beneficiary(&ledger, id)? else {
        bail!("no beneficiary {id}");
    };
    if s.json {
        print_json(&v)?;
        return Ok(ExitCode::SUCCESS);
    }
    match &v.identity {
        Some(i) => println!(
            "{} {} ({}), born {}, {}",
            v.id,
            i.full_name,
            i.citizen_id,
            i.birth_date,
            word(&i.sex)
        ),
        None => println!("{} (personal data erased)", v.id),
    }
    println!("  programme {}, commune {}", v.programme, v.commune);
    println!(
        "  route: {} {}",
        word(&v.route),
        v.account.clone().unwrap_or_default()
    );
    if let Some(d) = v.date_of_death {
        println!("  died {d}");
    }
    if let Some(h) = &v.held_for_review {
        println!("  HELD FOR REVIEW: {}", word(h));
    }
    for w in &v.warnings {
        println!("  warning: {}", word(w));
    }
    for e in &v.entitlements {
        println!(
            "  {} {} ({}) from {} (decision {})",
            e.id,
            e.scheme,
            word(&e.params),
            e.effective_from,
            e.decision.number
        );
        for c in &e.changes {
            println!(
                "      seq {}: {} {} (decision {})",
                c.seq, c.change, c.from, c.decision
            );
        }
        let paid: Vnd = e.paid.iter().map(|(_, v)| *v).sum();
        if !e.paid.is_empty() {
            println!("      paid {} VND over {} months", paid, e.paid.len());
        }
    }
    println!("  history:");
    for h in &v.history {
        println!(
            "    seq {:>8}  {}  {:<16} {}",
            h.seq,
            super::chain::format_ms(h.recorded_at_ms),
            h.principal,
            h.event.name()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn due(s: &Session, who: &str, month: Month) -> anyhow::Result<ExitCode> {
    let ledger = open_ledger(s)?;
    let id = find(&ledger, who)?;
    let view = ledger
        .read(|st| crate::app::views::due(st, id, month))?
        .map_err(anyhow::Error::msg)?;
    if s.json {
        print_json(&view)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{id}, {month}: {} VND due as the ledger knows it now",
        view.total
    );
    for l in &view.lines {
        println!(
            "  {:>12} {} {} {} — {} [{}; decision {}]",
            l.amount.to_string(),
            word(&l.kind),
            l.scheme,
            l.source_month,
            l.rule,
            l.clause,
            l.decision
        );
    }
    for p in &view.payments {
        println!(
            "  the {} payment for {month} would be {} VND:",
            p.programme, p.amount
        );
        for l in &p.lines {
            println!(
                "    {:>12} {} for {} — {}",
                l.amount.to_string(),
                word(&l.kind),
                l.source_month,
                l.rule
            );
        }
        if p.outstanding_recovery.0 > 0 {
            println!(
                "    {} VND of overpayment still to recover later",
                p.outstanding_recovery
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
