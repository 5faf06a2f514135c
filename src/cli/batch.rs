//! CLI commands for finance staff and banks: the batch life-cycle, payment files and bank
//! status reports. `--as` names who acts, so the maker/checker rule holds here too.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context as _};

use super::{mib, open_ledger, print_json, step, submit, word, Session};
use crate::app::batches;
use crate::app::views;
use crate::chain::hex;
use crate::chain::record::parse_hash_hex;
use crate::domain::batch::review::{review, Anomaly, Reason};
use crate::domain::command::*;
use crate::domain::event::{BatchKind, Channel};
use crate::domain::types::{BankBin, BatchId, FileId, Month, Programme};
use crate::domain::Command;

pub fn open(
    s: &Session,
    programme: Programme,
    month: Month,
    funding_account: String,
    supplementary_of: Option<BatchId>,
) -> anyhow::Result<ExitCode> {
    let ledger = open_ledger(s)?;
    let kind = supplementary_of.map_or(BatchKind::Regular, |of| BatchKind::Supplementary { of });
    let receipt = submit(
        &ledger,
        s,
        Command::OpenBatch(OpenBatch {
            programme,
            month,
            funding_account,
            kind,
        }),
    )?;
    let batch = ledger.read(|st| BatchId(st.next_batch_id().0 - 1))?;
    if s.json {
        print_json(&serde_json::json!({ "batch": batch, "receipt": receipt }))?;
    } else {
        println!(
            "opened {batch}: {programme} {month} ({}), seq {}",
            word(&kind),
            receipt.first_seq
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn compute(s: &Session, batch: BatchId) -> anyhow::Result<ExitCode> {
    let ledger = open_ledger(s)?;
    let who = s.who()?;
    let started = std::time::Instant::now();
    let done = step(&format!("computing {batch}"), || {
        batches::compute(&ledger, who, None, batch)
    })?;
    let view = ledger
        .read(|st| views::batch(st, batch))?
        .context("batch vanished")?;
    if s.json {
        print_json(&serde_json::json!({
            "batch": view,
            "not_computable": done.plan.not_computable,
            "held": done.plan.held,
            "identity_held": done.plan.identity_held,
            "without_route": done.plan.without_route,
            "outstanding_recovery": done.plan.outstanding_recovery,
            "receipt": done.receipt,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let totals = view.totals.unwrap_or_default();
    println!(
        "computed {batch} in {:.2} s: {} payments, {} VND (content hash {})",
        started.elapsed().as_secs_f64(),
        totals.count,
        totals.sum,
        view.content_hash.unwrap_or_default()
    );
    print_channels(&view.by_channel);
    if !done.plan.held.is_empty() {
        println!("  held for review, left out: {}", done.plan.held.len());
    }
    for (who, why) in &done.plan.identity_held {
        println!("  HELD {who}: {why}");
    }
    if !done.plan.without_route.is_empty() {
        println!(
            "  owed money but no payment route, left out: {}",
            done.plan.without_route.len()
        );
    }
    for (who, why) in done.plan.not_computable.iter().take(20) {
        println!("  NOT COMPUTABLE {who}: {why}");
    }
    if done.plan.not_computable.len() > 20 {
        println!(
            "  ... and {} more not computable",
            done.plan.not_computable.len() - 20
        );
    }
    println!("next: a different person reviews (`chitra batch review {batch}`) and approves it");
    Ok(ExitCode::SUCCESS)
}

fn print_channels(by_channel: &[(Channel, crate::domain::event::ControlTotals)]) {
    for (channel, t) in by_channel {
        let name = match channel {
            Channel::Bank(bin) => crate::formats::reference::Reference::embedded()
                .bank(*bin)
                .map_or(bin.to_string(), |b| format!("{} ({bin})", b.short_name)),
            Channel::Cash => "cash at pay points".into(),
        };
        println!(
            "  {name:<40} {:>8} payments {:>18} VND",
            t.count,
            t.sum.to_string()
        );
    }
}

pub fn show_review(s: &Session, batch: BatchId) -> anyhow::Result<ExitCode> {
    let ledger = open_ledger(s)?;
    let r = ledger
        .read(|st| review(st, batch))?
        .with_context(|| format!("no batch {batch}"))?;
    let view = ledger
        .read(|st| views::batch(st, batch))?
        .context("batch vanished")?;
    if s.json {
        print_json(&serde_json::json!({ "batch": view, "review": r }))?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{batch} {} {} — {}, {} payments, {} VND (last month {} payments, {} VND)",
        view.programme,
        view.month,
        word(&view.status),
        r.totals.count,
        r.totals.sum,
        r.previous_totals.count,
        r.previous_totals.sum
    );
    if let Some(h) = &view.content_hash {
        println!("content hash {h}");
    }
    println!("by bank:");
    print_channels(&r.by_channel);
    println!("by item kind:");
    for (k, t) in &r.by_kind {
        println!(
            "  {k:<40?} {:>8} items {:>18} VND",
            t.count,
            t.sum.to_string()
        );
    }
    println!("by scheme:");
    for (k, t) in &r.by_scheme {
        println!(
            "  {k:<40} {:>8} items {:>18} VND",
            t.count,
            t.sum.to_string()
        );
    }
    println!("by commune: {} communes", r.by_commune.len());
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for c in &r.changes {
        for reason in &c.reasons {
            *counts.entry(reason_name(reason)).or_default() += 1;
        }
    }
    println!("changes since last month ({} people):", r.changes.len());
    for (k, n) in &counts {
        println!("  {k:<30} {n}");
    }
    for c in r.changes.iter().take(CHANGES_SHOWN) {
        println!(
            "    {} {} -> {} VND: {}",
            c.beneficiary,
            c.previous,
            c.current,
            word(&c.reasons)
        );
    }
    more(r.changes.len(), CHANGES_SHOWN, "changes", "--json");
    println!("anomalies ({}):", r.anomalies.len());
    for a in r.anomalies.iter().take(ANOMALIES_SHOWN) {
        match a {
            Anomaly::AmountFarAboveLastMonth {
                beneficiary,
                previous,
                current,
            } => {
                println!(
                    "  {beneficiary}: {current} VND, more than 3 times last month's {previous}"
                )
            }
            Anomaly::SharedAccount {
                account,
                beneficiaries,
            } => {
                println!("  account {account} receives for {}", word(beneficiaries))
            }
            Anomaly::RouteChangedBeforePayment { beneficiary } => {
                println!("  {beneficiary}: payment route changed since last month")
            }
        }
    }
    more(r.anomalies.len(), ANOMALIES_SHOWN, "anomalies", "--json");
    Ok(ExitCode::SUCCESS)
}

/// How many changes and anomalies `batch review` prints before it says how many more.
const CHANGES_SHOWN: usize = 15;
const ANOMALIES_SHOWN: usize = 20;

/// The line that ends a cut list: how many more there are and where to see them all.
fn more(total: usize, shown: usize, what: &str, how: &str) {
    if total > shown {
        println!(
            "    ... and {} more {what} (all of them with {how})",
            total - shown
        );
    }
}

fn reason_name(r: &Reason) -> &'static str {
    match r {
        Reason::NewEntitlement => "new entitlement",
        Reason::ReturnedLastMonth { .. } => "returned last month",
        Reason::Stopped { .. } => "stopped",
        Reason::RateChange { .. } => "rate change",
        Reason::Arrears { .. } => "arrears",
        Reason::Recovery { .. } => "recovery",
        Reason::RouteChanged => "route changed",
    }
}

/// Approves the batch whose content hash the checker read in the review (the full hash, or its
/// first 16 or more hex digits).
pub fn approve(s: &Session, batch: BatchId, content_hash: &str) -> anyhow::Result<ExitCode> {
    let ledger = open_ledger(s)?;
    let view = ledger
        .read(|st| views::batch(st, batch))?
        .with_context(|| format!("no batch {batch}"))?;
    let (Some(hash), Some(totals)) = (view.content_hash.clone(), view.totals) else {
        bail!("{batch} is not computed yet");
    };
    let given = content_hash.trim().to_ascii_lowercase();
    if given.len() < 16 || !given.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("give at least the first 16 hex digits of the content hash you reviewed");
    }
    // Never say what the right hash is: approval binds what the checker read in the review.
    if !hash.starts_with(&given) {
        bail!(
            "{batch}'s content is not what you reviewed (the content hash differs); \
             review it again with `chitra batch review {batch}`"
        );
    }
    let digest = parse_hash_hex(&hash).expect("a hash we printed parses");
    let receipt = submit(
        &ledger,
        s,
        Command::ApproveBatch(ApproveBatch {
            batch,
            content_hash: digest,
            totals,
        }),
    )?;
    if s.json {
        print_json(&receipt)?;
    } else {
        println!(
            "approved {batch} ({} payments, {} VND) as {}, seq {}",
            totals.count,
            totals.sum,
            s.who()?,
            receipt.first_seq
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn release(s: &Session, batch: BatchId) -> anyhow::Result<ExitCode> {
    let ledger = open_ledger(s)?;
    let (who, settings) = (s.who()?, s.settings()?);
    let released = step(
        &format!("releasing {batch} and writing its payment files"),
        || batches::release(&ledger, &settings, who, None, batch),
    )?;
    let files = released.files;
    if s.json {
        let v = ledger.read(|st| views::batch(st, batch))?;
        print_json(&v)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "released {batch}; {} payment files issued (hashes recorded in the chain):",
        files.len()
    );
    for f in &files {
        println!(
            "  {:<40} {:>6} lines {:>18} VND  {}  blake3 {}",
            f.name,
            f.totals.count,
            f.totals.sum.to_string(),
            mib(f.bytes),
            &hex(&f.digest)[..16]
        );
    }
    println!("banks download them with `chitra files get FILE --as bank:<BIN>`");
    Ok(ExitCode::SUCCESS)
}

pub fn status(s: &Session, batch: Option<BatchId>) -> anyhow::Result<ExitCode> {
    let ledger = open_ledger(s)?;
    let list: Vec<views::BatchView> = ledger.read(|st| match batch {
        Some(b) => views::batch(st, b).into_iter().collect(),
        None => st
            .batches()
            .iter()
            .filter_map(|b| views::batch(st, b.opened.batch))
            .collect(),
    })?;
    if s.json {
        print_json(&list)?;
        return Ok(ExitCode::SUCCESS);
    }
    if list.is_empty() {
        println!("no batches");
    }
    for v in &list {
        let t = v.totals.unwrap_or_default();
        println!(
            "{} {} {} {} {}: {} payments, {} VND",
            v.id,
            v.programme,
            v.month,
            word(&v.kind),
            word(&v.status),
            t.count,
            t.sum
        );
        if let Some(r) = &v.reconciliation {
            println!(
                "    released {} ({} VND) = settled {} ({}) + returned {} ({}) + outstanding {} ({}); breaks {} ({} open)",
                r.released.count, r.released.sum, r.settled.count, r.settled.sum, r.returned.count, r.returned.sum,
                r.outstanding.count, r.outstanding.sum, r.breaks, r.breaks_open
            );
        }
    }
    super::reports::print_calendar(&ledger, &list)?;
    Ok(ExitCode::SUCCESS)
}

pub fn simple(s: &Session, command: Command, done: &str) -> anyhow::Result<ExitCode> {
    let ledger = open_ledger(s)?;
    let receipt = submit(&ledger, s, command)?;
    if s.json {
        print_json(&receipt)?;
    } else {
        println!(
            "{done} (seq {}, hash {})",
            receipt.first_seq,
            &hex(&receipt.hash)[..16]
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn files_list(s: &Session, batch: Option<BatchId>) -> anyhow::Result<ExitCode> {
    let ledger = open_ledger(s)?;
    let only_bin = s.bank_bin();
    let files: Vec<views::FileView> = ledger.read(|st| {
        st.files()
            .iter()
            .filter(|f| batch.is_none_or(|b| f.issued.batch == b))
            .filter(|f| only_bin.is_none_or(|bin| f.issued.channel == Channel::Bank(bin)))
            .filter_map(|f| views::file(st, f.issued.file))
            .collect()
    })?;
    if s.json {
        print_json(&files)?;
        return Ok(ExitCode::SUCCESS);
    }
    for f in &files {
        println!(
            "{:<6} {:<8} {:<40} {:<10} {:>6} lines {:>18} VND  downloads {}  blake3 {}",
            f.id.to_string(),
            f.batch.to_string(),
            f.name,
            word(&f.format),
            f.totals.count,
            f.totals.sum.to_string(),
            f.downloads,
            f.blake3
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `files get` takes a file id (`FILE3`) or the name `files list` prints.
pub fn files_get(s: &Session, file: &str, out: &Path) -> anyhow::Result<ExitCode> {
    let ledger = open_ledger(s)?;
    let file = match FileId::parse(file) {
        Ok(id) => id,
        Err(_) => ledger
            .read(|st| {
                (1..=st.files().len() as u64)
                    .map(FileId)
                    .find(|id| st.file(*id).is_some_and(|f| f.issued.name == file))
            })?
            .ok_or_else(|| {
                anyhow::anyhow!("no file {file} (give its id or name as `files list` prints it)")
            })?,
    };
    if let Some(bin) = s.bank_bin() {
        let channel = ledger.read(|st| st.file(file).map(|f| f.issued.channel))?;
        if channel != Some(Channel::Bank(bin)) {
            bail!("no file {file}");
        }
    }
    let (issued, bytes) = batches::download(&ledger, s.who()?, file)?;
    std::fs::write(out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    println!(
        "wrote {} ({}, {} bytes, blake3 {}); the download is recorded in the chain as {}",
        out.display(),
        issued.issued.name,
        bytes.len(),
        hex(&issued.issued.digest),
        s.who()?
    );
    Ok(ExitCode::SUCCESS)
}

pub fn breaks(s: &Session, batch: Option<BatchId>, only_open: bool) -> anyhow::Result<ExitCode> {
    let ledger = open_ledger(s)?;
    let list: Vec<views::BreakView> = ledger.read(|st| {
        st.breaks()
            .iter()
            .filter(|b| batch.is_none_or(|id| b.recorded.batch == Some(id)))
            .filter(|b| !only_open || b.resolved.is_none())
            .map(views::BreakView::of)
            .collect()
    })?;
    if s.json {
        print_json(&list)?;
        return Ok(ExitCode::SUCCESS);
    }
    if list.is_empty() {
        println!("no breaks");
    }
    for b in &list {
        let batch = b
            .batch
            .map(|id| id.to_string())
            .unwrap_or_else(|| "-".into());
        let state = match &b.resolved {
            Some(note) => format!("resolved: {note}"),
            None => format!(
                "OPEN (resolve: chitra batch resolve-break {} --note ...)",
                b.seq
            ),
        };
        println!("seq {} {batch} {}; {state}", b.seq, word(&b.kind));
    }
    Ok(ExitCode::SUCCESS)
}

pub fn ingest(s: &Session, file: &Path) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let ledger = open_ledger(s)?;
    let who = s.who()?;
    let done = step("ingesting the status report", || {
        batches::ingest_status(&ledger, who, None, &bytes)
    })?;
    if s.json {
        print_json(&serde_json::json!({
            "lines": done.lines,
            "new": done.new,
            "breaks": done.breaks,
            "receipt": done.receipt,
        }))?;
    } else if done.new {
        println!(
            "ingested {} status lines from {} ({} records appended, {} reconciliation breaks opened)",
            done.lines,
            file.display(),
            done.receipt.count,
            done.breaks
        );
    } else {
        println!("{} was ingested before; nothing appended", file.display());
    }
    Ok(ExitCode::SUCCESS)
}

impl Session {
    /// The BIN of a bank principal (`bank:970436`), whose view is limited to its own files.
    pub fn bank_bin(&self) -> Option<BankBin> {
        self.principal.as_ref().and_then(|p| p.bank_bin())
    }
}
