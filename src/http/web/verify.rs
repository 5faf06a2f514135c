//! A whole verification of the chain started from the auditors' page, with its progress: the
//! chain up to the durable head with the verifier `chitra verify` and `POST /v1/chain/verify`
//! run (`Ledger::verify`), then every checkpoint recorded in it checked against the tree as
//! `chitra verify` checks them (`Ledger::check_checkpoints`, with the data directory's own
//! key), and the report index the figures read (`Ledger::check_report_index`). The page that shows it (`/audit/verification`) refreshes itself every second while it
//! runs (a `<meta http-equiv="refresh">`, no script) and then shows the head's seq and hash and
//! the checkpoints checked, or the first record that fails and why.
//!
//! One verification at a time per server: starting one while another runs shows the running
//! one. It counts as a heavy job (`jobs_concurrent_max`), like the API's.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use askama::Template;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;

use super::format::time;
use super::i18n::Text;
use super::{page, render, CsrfForm, Signed, Web};
use crate::chain::hex;
use crate::ledger::checkpoints::{CheckpointError, CheckpointSummary};
use crate::ledger::report_index::REPORT_INDEX_FILE;
use crate::ledger::verify::VerifyError;
use crate::ledger::Ledger;

/// Where a verification is.
const PHASE_CHAIN: u8 = 0;
const PHASE_CHECKPOINTS: u8 = 1;

/// How a verification ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The chain verified and every recorded checkpoint matched.
    Verified {
        records: u64,
        head: Option<(u64, String)>,
        checkpoints: CheckpointSummary,
        elapsed_ms: u64,
    },
    /// Tampering: the first record that fails (when the fault names one) and why.
    Failed { seq: Option<u64>, why: String },
    /// The store could not be read: not a finding about the chain.
    Unreadable(String),
}

/// One verification: who started it, its progress, and once it is done its outcome.
pub struct Run {
    pub by: String,
    pub started_ms: i64,
    phase: AtomicU8,
    /// Records of the current phase done, and its total.
    checked: AtomicU64,
    total: AtomicU64,
    outcome: OnceLock<Outcome>,
}

impl Run {
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.get()
    }

    /// (records checked, records in all, whole percent) of the current phase.
    pub fn progress(&self) -> (u64, u64, u64) {
        let total = self.total.load(Ordering::Relaxed);
        let checked = self.checked.load(Ordering::Relaxed).min(total);
        let percent = match total {
            0 => 100,
            t => checked * 100 / t,
        };
        (checked, total, percent)
    }

    fn enter(&self, phase: u8, total: u64) {
        self.checked.store(0, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
        self.phase.store(phase, Ordering::Relaxed);
    }
}

/// The server's verification: the one running, else the last one.
#[derive(Default)]
pub struct Verification(Mutex<Option<Arc<Run>>>);

impl Verification {
    /// The running or last verification.
    pub fn current(&self) -> Option<Arc<Run>> {
        self.0.lock().expect("verification lock").clone()
    }

    /// Starts a verification by `by` unless one runs: `Ok` with the new one, `Err` with the
    /// running one.
    pub fn start(
        &self,
        ledger: &Ledger,
        jobs: Arc<tokio::sync::Semaphore>,
        by: String,
    ) -> Result<Arc<Run>, Arc<Run>> {
        let mut current = self.0.lock().expect("verification lock");
        if let Some(run) = current.as_ref().filter(|r| r.outcome().is_none()) {
            return Err(run.clone());
        }
        let total = ledger.head().map_or(0, |h| h.records);
        let run = Arc::new(Run {
            by,
            started_ms: ledger.now_ms(),
            phase: AtomicU8::new(PHASE_CHAIN),
            checked: AtomicU64::new(0),
            total: AtomicU64::new(total),
            outcome: OnceLock::new(),
        });
        *current = Some(run.clone());
        drop(current);
        let (ledger, job) = (ledger.clone(), run.clone());
        tokio::spawn(async move {
            // Waits its turn among the heavy jobs rather than being refused.
            let permit = jobs.acquire_owned().await;
            let done = tokio::task::spawn_blocking(move || {
                let _permit = permit;
                let outcome = verify(&ledger, &job);
                let _ = job.outcome.set(outcome);
            })
            .await;
            if let Err(e) = done {
                tracing::error!(target: "chitra::http::web", "the verification stopped: {e}");
            }
        });
        Ok(run)
    }
}

/// Verifies the chain, then its recorded checkpoints, reporting progress into `run`.
fn verify(ledger: &Ledger, run: &Run) -> Outcome {
    let report = match ledger.verify(None, |n| run.checked.store(n, Ordering::Relaxed)) {
        Ok(r) => r,
        Err(e) if e.is_tampering() => {
            let seq = match &e {
                VerifyError::Fault(f) => Some(f.seq),
                VerifyError::Personal { seq, .. } => Some(*seq),
                _ => None,
            };
            return Outcome::Failed {
                seq,
                why: e.to_string(),
            };
        }
        Err(e) => return Outcome::Unreadable(e.to_string()),
    };
    let records = report.verified.records;
    run.enter(PHASE_CHECKPOINTS, records);
    let key = crate::ledger::keys::load(ledger.dir())
        .ok()
        .flatten()
        .map(|s| s.verifier());
    let checked = ledger.check_checkpoints(key, records, |n| {
        run.checked.store(n, Ordering::Relaxed);
    });
    match checked {
        Ok(checkpoints) => {
            run.checked.store(records, Ordering::Relaxed);
            // The report index the figures read, checked as `chitra verify` checks it.
            match ledger.check_report_index() {
                Ok(check) => {
                    if let Some((seq, why)) = check.tampering(REPORT_INDEX_FILE) {
                        return Outcome::Failed {
                            seq: Some(seq),
                            why,
                        };
                    }
                }
                Err(e) => return Outcome::Unreadable(e.to_string()),
            }
            Outcome::Verified {
                records,
                head: report.verified.head.map(|h| (h.seq, hex(&h.hash))),
                checkpoints,
                elapsed_ms: report.elapsed.as_millis() as u64,
            }
        }
        Err(CheckpointError::Fault(f)) => Outcome::Failed {
            seq: Some(f.seq),
            why: f.to_string(),
        },
        Err(e) => Outcome::Unreadable(e.to_string()),
    }
}

#[derive(Template)]
#[template(path = "web/verification.html")]
struct Body {
    t: &'static Text,
    by: String,
    started: String,
    busy: bool,
    running: bool,
    phase: &'static str,
    checked: u64,
    total: u64,
    percent: u64,
    ok: bool,
    records: u64,
    head_seq: String,
    head_hash: String,
    checkpoints: u64,
    signatures: &'static str,
    elapsed_ms: u64,
    fault_seq: String,
    fault: String,
    unreadable: bool,
}

/// Whether the role may run a verification: the API route's own table.
fn may(who: &Signed) -> bool {
    super::may(who.role(), &Method::POST, "/v1/chain/verify")
}

/// `POST /audit/verify`: starts a verification (or finds the one running) and shows it.
pub async fn start(State(web): State<Web>, who: Signed, Form(f): Form<CsrfForm>) -> Response {
    if let Some(refused) = who.csrf_refusal(&f.csrf) {
        return refused;
    }
    if !may(&who) {
        return who.forbidden();
    }
    let by = who.session.caller.principal.to_string();
    match web
        .verification
        .start(web.app.ledger(), web.app.jobs.clone(), by)
    {
        Ok(_) => Redirect::to("/audit/verification").into_response(),
        Err(_) => Redirect::to("/audit/verification?busy=1").into_response(),
    }
}

#[derive(serde::Deserialize)]
pub struct Busy {
    #[serde(default)]
    busy: Option<String>,
}

/// `GET /audit/verification`: the running verification's progress, or the last one's result.
pub async fn show(
    State(web): State<Web>,
    who: Signed,
    axum::extract::Query(q): axum::extract::Query<Busy>,
) -> Response {
    if !may(&who) {
        return who.forbidden();
    }
    let t = who.t();
    let Some(run) = web.verification.current() else {
        return Redirect::to("/audit").into_response();
    };
    let (checked, total, percent) = run.progress();
    let mut body = Body {
        t,
        by: run.by.clone(),
        started: time(run.started_ms),
        busy: q.busy.is_some() && run.outcome().is_none(),
        running: run.outcome().is_none(),
        phase: match run.phase.load(Ordering::Relaxed) {
            PHASE_CHAIN => t.verify_phase_chain,
            _ => t.verify_phase_checkpoints,
        },
        checked,
        total,
        percent,
        ok: false,
        records: 0,
        head_seq: String::new(),
        head_hash: String::new(),
        checkpoints: 0,
        signatures: "",
        elapsed_ms: 0,
        fault_seq: String::new(),
        fault: String::new(),
        unreadable: false,
    };
    match run.outcome() {
        None => {}
        Some(Outcome::Verified {
            records,
            head,
            checkpoints,
            elapsed_ms,
        }) => {
            body.ok = true;
            body.records = *records;
            (body.head_seq, body.head_hash) = head.clone().map_or_else(
                || ("—".to_owned(), "—".to_owned()),
                |(s, h)| (s.to_string(), h),
            );
            body.checkpoints = checkpoints.recorded;
            body.signatures = match checkpoints.signatures_checked {
                true => t.checkpoints_signed,
                false => t.checkpoints_unsigned,
            };
            body.elapsed_ms = *elapsed_ms;
        }
        Some(Outcome::Failed { seq, why }) => {
            body.fault_seq = seq.map_or_else(|| "—".to_owned(), |s| s.to_string());
            body.fault = why.clone();
        }
        Some(Outcome::Unreadable(why)) => {
            body.unreadable = true;
            body.fault = why.clone();
        }
    }
    let mut l = who.layout();
    l.refresh = body.running;
    let status = StatusCode::OK;
    page(&l, status, t.verification, render(&body))
}
