//! The department's writes of issue 12 and the funds it reads: the Treasury's allocations
//! (`POST /v1/funds/allocations`, a checker) and the funds per programme and period
//! (`GET /v1/funds?from=&to=`, the close of a period); identity checks against the population
//! database (`POST /v1/identity-checks`, an officer uploading the answer file of
//! docs/identity-check-csv.md, all or nothing) and each programme's hold-or-warn setting
//! (`POST /v1/identity-checks/mode`, an admin). The same parser and commands as the CLI.

use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::support::{self, ok, read, submit, written, IdemKey, JsonBody, StrictQuery, Who};
use super::{AppState, Problem};
use crate::app::reports::CheckOutcomes;
use crate::domain::event::{Decision, FundsAllocated};
use crate::domain::funds::FundsBalance;
use crate::domain::identity::{IdentityCheckMode, IdentityCheckModeSet, RecordIdentityCheck};
use crate::domain::types::{Date, Month, Programme, Vnd};
use crate::domain::Command;
use crate::formats::identity_check::parse_answers;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllocationBody {
    pub programme: Programme,
    /// The first month of the period, `YYYY-MM`.
    pub from: Month,
    /// The last month of the period (inclusive); a top-up names the same period.
    pub to: Month,
    /// Whole VND.
    pub amount: Vnd,
    pub decision: super::beneficiaries::DecisionBody,
}

/// Records the State Treasury's allocation to a programme for a period of months.
#[utoipa::path(
    post,
    path = "/v1/funds/allocations",
    summary = "Record the Treasury's allocation to a programme for a period (docs/rules.md §4c)",
    params(IdemKey),
    request_body = AllocationBody,
    responses(
        (
            status = 200,
            description = "written: the receipt and the events appended",
            body = super::support::Written,
        ),
    ),
)]
pub async fn allocate(
    State(state): State<AppState>,
    Who(who): Who,
    IdemKey(key): IdemKey,
    JsonBody(b): JsonBody<AllocationBody>,
) -> Result<Response, Problem> {
    let decision: Decision = b.decision.into();
    let command = Command::AllocateFunds(FundsAllocated {
        programme: b.programme,
        from: b.from,
        to: b.to,
        decision,
        amount: b.amount,
    });
    written(&state, submit(&state, &who, key, command).await?).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FundsQuery {
    /// Only periods that overlap the months from `from` (`YYYY-MM`)...
    #[serde(default)]
    pub from: Option<String>,
    /// ...to `to` (inclusive); either alone names one month.
    #[serde(default)]
    pub to: Option<String>,
}

/// `GET /v1/funds`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FundsList {
    pub items: Vec<FundsBalance>,
}

/// Every period of every programme (or those overlapping `from..to`): allocated, reserved,
/// paid, returned, remaining, and how many of its batches are still open.
#[utoipa::path(
    get,
    path = "/v1/funds",
    summary = "Funds per programme and period: allocated, reserved, paid, returned, remaining",
    params(FundsQuery),
    responses((status = 200, description = "per programme and period", body = FundsList)),
)]
pub async fn funds(
    State(state): State<AppState>,
    StrictQuery(q): StrictQuery<FundsQuery>,
) -> Result<Response, Problem> {
    let month = |name: &str, v: Option<String>| {
        v.as_deref()
            .map(Month::parse)
            .transpose()
            .map_err(|e| Problem::bad_request(format!("{name}: {e}")))
    };
    let (from, to) = (month("from", q.from)?, month("to", q.to)?);
    let range = match (from, to) {
        (None, None) => None,
        (Some(f), None) => Some((f, f)),
        (None, Some(t)) => Some((t, t)),
        (Some(f), Some(t)) if t < f => {
            return Err(Problem::bad_request("to: before from"));
        }
        (Some(f), Some(t)) => Some((f, t)),
    };
    let items = read(&state, move |st| match range {
        Some((f, t)) => crate::domain::funds::period(st, f, t),
        None => crate::domain::funds::balances(st),
    })
    .await?;
    Ok(ok(FundsList { items }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CheckQuery {
    /// The check's reference (the request's number or the answer file's name); once only.
    pub reference: String,
    /// The day the database answered, `YYYY-MM-DD` (default: today, Vietnam time).
    #[serde(default)]
    pub answered_on: Option<String>,
}

/// What a recorded check says.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CheckResult {
    pub reference: String,
    /// Rows of the answer file.
    pub answers: usize,
    /// How the people answered fell (answers naming nobody enrolled are not counted).
    pub outcomes: CheckOutcomes,
    pub receipt: super::support::ReceiptView,
}

/// Records the answer file of a check against the population database. The file is checked
/// first and refused with every problem listed, each naming its line and column (422
/// `invalid-identity-check`), nothing recorded; then it goes to the ledger as one command.
#[utoipa::path(
    post,
    path = "/v1/identity-checks",
    summary = "Record a population-database answer file (docs/identity-check-csv.md; heavy job)",
    params(CheckQuery, IdemKey),
    request_body(
        content = String,
        content_type = "text/csv",
        description = "the answer file (docs/identity-check-csv.md)",
    ),
    responses((status = 200, description = "the check recorded", body = CheckResult)),
)]
pub async fn record_check(
    State(state): State<AppState>,
    Who(who): Who,
    IdemKey(key): IdemKey,
    StrictQuery(q): StrictQuery<CheckQuery>,
    req: axum::extract::Request,
) -> Result<Response, Problem> {
    support::require_csv(&req, "the answer file", "docs/identity-check-csv.md")?;
    let answered_on = match q.answered_on.as_deref() {
        Some(d) => Date::parse(d).map_err(|e| Problem::bad_request(format!("answered_on: {e}")))?,
        None => crate::ledger::local_date((crate::ledger::system_clock())()),
    };
    let bytes = support::body_bytes(req, &(), "identity_check_bytes_max").await?;
    let ledger = state.ledger().clone();
    let (who2, key2, reference) = (who.clone(), key.clone(), q.reference);
    let result = support::job(&state, &who, key.as_ref(), move || {
        let rows = parse_answers(&bytes).map_err(|rejected| {
            support::upload_refused(
                "invalid-identity-check",
                "the answer file",
                &rejected.errors,
            )
        })?;
        let answers = rows.len();
        let command = Command::RecordIdentityCheck(RecordIdentityCheck {
            reference: reference.clone(),
            answered_on,
            source_digest: *blake3::hash(&bytes).as_bytes(),
            rows,
        });
        let receipt = ledger
            .submit(crate::ledger::Submission {
                principal: who2.principal.clone(),
                idempotency_key: key2,
                command,
            })
            .map_err(|e| Problem::from_submit(&e))?;
        let outcomes = ledger
            .read(|st| crate::app::reports::check_outcomes(st, &reference))
            .map_err(|e| Problem::unavailable(&e))?;
        Ok::<_, Problem>(CheckResult {
            reference,
            answers,
            outcomes,
            receipt: super::support::ReceiptView::from(&receipt),
        })
    })
    .await??;
    Ok(ok(result))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModeBody {
    pub programme: Programme,
    /// `hold` (the default: a finding leaves the person out of batches) or `warn_only`. Read
    /// as text first: serde reads a non-string where an enum is expected as a syntax error,
    /// and a wrong value must be a 422 naming the field.
    #[schema(value_type = IdentityCheckMode)]
    pub mode: String,
}

/// Whether a finding of the population database holds the programme's payments or is only
/// shown. A reported death always holds.
#[utoipa::path(
    post,
    path = "/v1/identity-checks/mode",
    summary = "Set a programme's identity-check mode: hold or warn only",
    params(IdemKey),
    request_body = ModeBody,
    responses(
        (
            status = 200,
            description = "written: the receipt and the events appended",
            body = super::support::Written,
        ),
    ),
)]
pub async fn set_mode(
    State(state): State<AppState>,
    Who(who): Who,
    IdemKey(key): IdemKey,
    JsonBody(b): JsonBody<ModeBody>,
) -> Result<Response, Problem> {
    let mode: IdentityCheckMode = serde_json::from_value(serde_json::Value::String(b.mode))
        .map_err(|_| Problem::invalid_body("mode", "expected hold or warn_only"))?;
    let command = Command::SetIdentityCheckMode(IdentityCheckModeSet {
        programme: b.programme,
        mode,
    });
    written(&state, submit(&state, &who, key, command).await?).await
}
