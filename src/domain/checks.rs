//! `decide` for identity checks against the population database (`identity` holds the events
//! and the projection): recording an answer file, and each programme's hold-or-warn setting.

use super::command::Rejection;
use super::context::{Context, Emitted};
use super::event::Event;
use super::identity::{
    FieldCheck, IdentityAnswer, IdentityCheckModeSet, IdentityCheckRecorded, RecordIdentityCheck,
};
use super::state::State;
use super::text;

/// The most answers one check may carry: a province's caseload, like a roster.
pub const IDENTITY_CHECK_ROWS_MAX: usize = 250_000;

/// Resolves every answer's citizen ID to the person enrolled under it; answers naming nobody
/// are counted. Refused: a reference used before, an answer dated in the future, a death after
/// the answer, a citizen ID answered twice, a found flag that disagrees with the fields.
pub fn record(
    state: &State,
    ctx: &Context<'_>,
    c: RecordIdentityCheck,
) -> Result<Vec<Emitted>, Rejection> {
    text::check(&c.reference, 1).map_err(|e| Rejection::invalid("reference", e.to_string()))?;
    if state.identity().has_reference(&c.reference) {
        return Err(Rejection::conflict(format!(
            "identity check {:?} was recorded already",
            c.reference
        )));
    }
    if c.answered_on > ctx.today {
        return Err(Rejection::invalid("answered_on", "is in the future"));
    }
    if c.rows.is_empty() {
        return Err(Rejection::invalid("rows", "the answer file has no answers"));
    }
    if c.rows.len() > IDENTITY_CHECK_ROWS_MAX {
        return Err(Rejection::invalid(
            "rows",
            format!("more than {IDENTITY_CHECK_ROWS_MAX} answers (identity_check_rows_max)"),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    let mut answers = Vec::new();
    let mut unmatched = 0u32;
    for (i, row) in c.rows.iter().enumerate() {
        let line = i + 1;
        if !seen.insert(row.citizen_id) {
            return Err(Rejection::invalid(
                "rows",
                format!(
                    "answer {line}: citizen ID {} is answered twice",
                    row.citizen_id.masked()
                ),
            ));
        }
        let fields = [row.full_name, row.birth_date, row.sex];
        if !row.found && fields.iter().any(|f| *f != FieldCheck::NotFound) {
            return Err(Rejection::invalid(
                "rows",
                format!("answer {line}: a citizen ID not found has no matched or differing fields"),
            ));
        }
        if row.died_on.is_some_and(|d| d > c.answered_on) {
            return Err(Rejection::invalid(
                "rows",
                format!("answer {line}: the date of death is after the answer"),
            ));
        }
        let Some(beneficiary) = state.by_citizen(&row.citizen_id) else {
            unmatched += 1;
            continue;
        };
        answers.push(IdentityAnswer {
            beneficiary,
            citizen_id: if row.found {
                FieldCheck::Matched
            } else {
                FieldCheck::NotFound
            },
            full_name: row.full_name,
            birth_date: row.birth_date,
            sex: row.sex,
            died_on: row.died_on,
        });
    }
    answers.sort_by_key(|a| a.beneficiary);
    Ok(vec![Emitted::plain(Event::IdentityCheckRecorded(
        Box::new(IdentityCheckRecorded {
            reference: c.reference,
            answered_on: c.answered_on,
            source_digest: c.source_digest,
            answers,
            unmatched,
        }),
    ))])
}

/// A programme's setting; setting what is already set is refused (nothing would change).
pub fn set_mode(state: &State, c: IdentityCheckModeSet) -> Result<Vec<Emitted>, Rejection> {
    if state.identity().mode(c.programme) == c.mode {
        return Err(Rejection::conflict(format!(
            "{} identity checks are already set to {:?}",
            c.programme, c.mode
        )));
    }
    Ok(vec![Emitted::plain(Event::IdentityCheckModeSet(c))])
}
