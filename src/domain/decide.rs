//! `decide`: given the state and a command, the events to append or the reason not to.
//! Pure: no IO, no clock (the caller passes what time it is in `Context`), no randomness.

use super::command::*;
use super::event::*;
use super::rules;
use super::state::State;
use super::types::{BeneficiaryId, CitizenId, Date, EntitlementId, Month, Sex};

/// What the writer knows about a command besides its content.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub principal: &'a str,
    /// Today's date by the writer's clock, for checks such as "no decision dated in the future".
    pub today: Date,
}

/// One event to append, with its personal-data attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emitted {
    pub event: Event,
    pub personal: Option<PersonalData>,
}

impl Emitted {
    fn plain(event: Event) -> Emitted {
        Emitted {
            event,
            personal: None,
        }
    }
}

/// The longest free-text field accepted (names, reasons, decision numbers).
pub const TEXT_CHARS_MAX: usize = 200;

pub fn decide(state: &State, ctx: &Context<'_>, command: &Command) -> Result<Vec<Emitted>, Rejection> {
    match command {
        Command::Enrol(c) => enrol(state, ctx, c),
        Command::CorrectDetails(c) => correct_details(state, c),
        Command::SetPaymentRoute(c) => {
            beneficiary_alive(state, c.beneficiary)?;
            text("reason", &c.reason, 0)?;
            let route = route_request(&c.route)?;
            Ok(vec![Emitted {
                event: Event::PaymentRouteSet(PaymentRouteSet {
                    beneficiary: c.beneficiary,
                    route: route.route(),
                    reason: c.reason.clone(),
                }),
                personal: route.account().map(|account| PersonalData {
                    identity: None,
                    account: Some(account),
                }),
            }])
        }
        Command::RecordDeath(c) => record_death(state, ctx, c),
        Command::HoldForReview(c) => {
            known_beneficiary(state, c.beneficiary)?;
            Ok(vec![Emitted::plain(Event::BeneficiaryHeldForReview(BeneficiaryHeldForReview {
                beneficiary: c.beneficiary,
                reason: c.reason.clone(),
            }))])
        }
        Command::ClearReview(c) => {
            let b = known_beneficiary(state, c.beneficiary)?;
            if b.hold.is_none() {
                return Err(Rejection::conflict(format!("{} is not held for review", c.beneficiary)));
            }
            decision(ctx, &c.decision)?;
            Ok(vec![Emitted::plain(Event::BeneficiaryReviewCleared(BeneficiaryReviewCleared {
                beneficiary: c.beneficiary,
                decision: c.decision.clone(),
                note: c.note.clone(),
            }))])
        }
        Command::EnactRateSchedule(c) => enact_schedule(state, c),
        Command::GrantEntitlement(c) => grant(state, ctx, c),
        Command::AdjustEntitlement(c) => {
            let ent = state.entitlement(c.entitlement).ok_or(Rejection::UnknownEntitlement(c.entitlement))?;
            not_terminated_before(ent, c.effective_from)?;
            decision(ctx, &c.decision)?;
            if let Some(s) = &c.scheme {
                text("scheme", s, 1)?;
            }
            adjusted_terms_valid(ent, c)?;
            Ok(vec![Emitted::plain(Event::EntitlementAdjusted(EntitlementAdjusted {
                entitlement: c.entitlement,
                effective_from: c.effective_from,
                scheme: c.scheme.clone(),
                params: c.params.clone(),
                decision: c.decision.clone(),
            }))])
        }
        Command::SuspendEntitlement(c) => {
            let ent = state.entitlement(c.entitlement).ok_or(Rejection::UnknownEntitlement(c.entitlement))?;
            not_terminated_before(ent, c.from)?;
            decision(ctx, &c.decision)?;
            Ok(vec![Emitted::plain(Event::EntitlementSuspended(EntitlementSuspended {
                entitlement: c.entitlement,
                from: c.from,
                reason: c.reason.clone(),
                decision: c.decision.clone(),
            }))])
        }
        Command::ResumeEntitlement(c) => {
            let ent = state.entitlement(c.entitlement).ok_or(Rejection::UnknownEntitlement(c.entitlement))?;
            not_terminated_before(ent, c.from)?;
            decision(ctx, &c.decision)?;
            if c.back_pay_from.is_some_and(|m| m > c.from) {
                return Err(Rejection::invalid("back_pay_from", "back pay must start no later than the resumption"));
            }
            Ok(vec![Emitted::plain(Event::EntitlementResumed(EntitlementResumed {
                entitlement: c.entitlement,
                from: c.from,
                back_pay_from: c.back_pay_from,
                decision: c.decision.clone(),
            }))])
        }
        Command::TerminateEntitlement(c) => {
            let ent = state.entitlement(c.entitlement).ok_or(Rejection::UnknownEntitlement(c.entitlement))?;
            if let Some(t) = ent.terminated() {
                return Err(Rejection::conflict(format!(
                    "{} was already terminated after {}",
                    c.entitlement, t.last_month
                )));
            }
            decision(ctx, &c.decision)?;
            Ok(vec![Emitted::plain(Event::EntitlementTerminated(EntitlementTerminated {
                entitlement: c.entitlement,
                last_month: c.last_month,
                reason: c.reason.clone(),
                decision: c.decision.clone(),
            }))])
        }
    }
}

fn enrol(state: &State, ctx: &Context<'_>, c: &Enrol) -> Result<Vec<Emitted>, Rejection> {
    if let Some(existing) = state.by_citizen(&c.citizen_id) {
        return Err(Rejection::AlreadyEnrolled {
            citizen: c.citizen_id.masked(),
            existing,
        });
    }
    text("full_name", &c.full_name, 1)?;
    text("address_line", &c.address_line, 0)?;
    if c.birth_date > ctx.today {
        return Err(Rejection::invalid("birth_date", "is in the future"));
    }
    if let Some(d) = &c.decision {
        decision(ctx, d)?;
    }
    let route = c.route.as_ref().map(route_request).transpose()?;
    let beneficiary = state.next_beneficiary_id();
    let mut out = vec![Emitted {
        event: Event::BeneficiaryEnrolled(BeneficiaryEnrolled {
            beneficiary,
            programme: c.programme,
            commune: c.commune,
            route: route.map(RouteRequest::route),
            decision: c.decision.clone(),
            warnings: citizen_id_warnings(&c.citizen_id, c.birth_date, c.sex),
        }),
        personal: Some(PersonalData {
            identity: Some(Identity {
                citizen_id: c.citizen_id,
                full_name: c.full_name.clone(),
                birth_date: c.birth_date,
                sex: c.sex,
                address_line: c.address_line.clone(),
            }),
            account: route.and_then(RouteRequest::account),
        }),
    }];
    let mut next_entitlement = state.next_entitlement_id();
    for spec in &c.entitlements {
        new_entitlement(ctx, spec, None)?;
        out.push(Emitted::plain(Event::EntitlementGranted(granted(
            next_entitlement,
            beneficiary,
            spec,
        ))));
        next_entitlement.0 += 1;
    }
    Ok(out)
}

fn granted(entitlement: EntitlementId, beneficiary: BeneficiaryId, spec: &NewEntitlement) -> EntitlementGranted {
    EntitlementGranted {
        entitlement,
        beneficiary,
        programme: spec.programme,
        scheme: spec.scheme.clone(),
        params: spec.params.clone(),
        kind: spec.kind,
        effective_from: spec.effective_from,
        decision: spec.decision.clone(),
        payee: spec.payee,
    }
}

/// Checks an entitlement decision; `died` is the beneficiary's date of death, if recorded.
fn new_entitlement(ctx: &Context<'_>, spec: &NewEntitlement, died: Option<Date>) -> Result<(), Rejection> {
    text("scheme", &spec.scheme, 1)?;
    rules::validate(spec.programme, &spec.scheme, &spec.params, spec.kind)?;
    decision(ctx, &spec.decision)?;
    if let (Some(death), EntitlementKind::Monthly) = (died, spec.kind) {
        if spec.effective_from > death.month() {
            return Err(Rejection::invalid("effective_from", "is after the beneficiary's death"));
        }
    }
    Ok(())
}

/// Structural checks of a citizen ID against the birth date and sex: warnings, not errors,
/// because the published structure rules lapsed in 2024 (see `reference/vn/CCCD.md`).
pub fn citizen_id_warnings(id: &CitizenId, birth_date: Date, sex: Sex) -> Vec<EnrolmentWarning> {
    let mut out = Vec::new();
    let g = id.century_sex_digit();
    let century_start = 1900 + u16::from(g / 2) * 100;
    let year = birth_date.year();
    if !(century_start..century_start + 100).contains(&year) {
        out.push(EnrolmentWarning::CitizenIdCenturyDisagrees);
    }
    let id_sex = if g % 2 == 0 { Sex::Male } else { Sex::Female };
    if id_sex != sex {
        out.push(EnrolmentWarning::CitizenIdSexDisagrees);
    }
    if u16::from(id.year_digits()) != year % 100 {
        out.push(EnrolmentWarning::CitizenIdYearDisagrees);
    }
    out
}

fn correct_details(state: &State, c: &CorrectDetails) -> Result<Vec<Emitted>, Rejection> {
    let b = known_beneficiary(state, c.beneficiary)?;
    text("reason", &c.reason, 1)?;
    let changes_identity =
        c.full_name.is_some() || c.birth_date.is_some() || c.sex.is_some() || c.address_line.is_some();
    if !changes_identity && c.commune.is_none() {
        return Err(Rejection::invalid("correction", "changes nothing"));
    }
    let mut warnings = b.warnings.clone();
    let personal = if changes_identity {
        let old = b.identity.known().ok_or_else(|| {
            Rejection::conflict(format!("personal data of {} was erased", c.beneficiary))
        })?;
        let identity = Identity {
            citizen_id: old.citizen_id,
            full_name: c.full_name.clone().unwrap_or_else(|| old.full_name.clone()),
            birth_date: c.birth_date.unwrap_or(old.birth_date),
            sex: c.sex.unwrap_or(old.sex),
            address_line: c.address_line.clone().unwrap_or_else(|| old.address_line.clone()),
        };
        text("full_name", &identity.full_name, 1)?;
        text("address_line", &identity.address_line, 0)?;
        warnings = citizen_id_warnings(&identity.citizen_id, identity.birth_date, identity.sex);
        Some(PersonalData {
            identity: Some(identity),
            account: None,
        })
    } else {
        None
    };
    Ok(vec![Emitted {
        event: Event::BeneficiaryDetailsCorrected(BeneficiaryDetailsCorrected {
            beneficiary: c.beneficiary,
            commune: c.commune,
            reason: c.reason.clone(),
            warnings,
        }),
        personal,
    }])
}

fn record_death(state: &State, ctx: &Context<'_>, c: &RecordDeath) -> Result<Vec<Emitted>, Rejection> {
    let b = known_beneficiary(state, c.beneficiary)?;
    if let Some(d) = b.date_of_death {
        return Err(Rejection::conflict(format!("{} was already recorded as died on {d}", c.beneficiary)));
    }
    if c.date_of_death > ctx.today {
        return Err(Rejection::invalid("date_of_death", "is in the future"));
    }
    if let Some(d) = &c.decision {
        decision(ctx, d)?;
    }
    Ok(vec![Emitted::plain(Event::BeneficiaryDeathRecorded(BeneficiaryDeathRecorded {
        beneficiary: c.beneficiary,
        date_of_death: c.date_of_death,
        decision: c.decision.clone(),
    }))])
}

fn enact_schedule(state: &State, c: &RateScheduleEnacted) -> Result<Vec<Emitted>, Rejection> {
    text("schedule", &c.schedule, 1)?;
    text("instrument", &c.instrument, 1)?;
    if state.has_schedule(&c.schedule) {
        // Loading the same schedule again is not an error: it appends nothing.
        return Ok(Vec::new());
    }
    if c.entries.is_empty() {
        return Err(Rejection::invalid("entries", "a rate schedule needs at least one rate"));
    }
    for entry in &c.entries {
        if let RateValue::Amount(a) = entry.value {
            if a.is_negative() {
                return Err(Rejection::invalid(format!("entries.{}", entry.key), "negative amount"));
            }
        }
    }
    Ok(vec![Emitted::plain(Event::RateScheduleEnacted(c.clone()))])
}

fn grant(state: &State, ctx: &Context<'_>, c: &GrantEntitlement) -> Result<Vec<Emitted>, Rejection> {
    let b = beneficiary_alive(state, c.beneficiary)?;
    if let Some(payee) = c.entitlement.payee {
        beneficiary_alive(state, payee)?;
    }
    new_entitlement(ctx, &c.entitlement, b.date_of_death)?;
    Ok(vec![Emitted::plain(Event::EntitlementGranted(granted(
        state.next_entitlement_id(),
        c.beneficiary,
        &c.entitlement,
    )))])
}

fn known_beneficiary(
    state: &State,
    id: BeneficiaryId,
) -> Result<&super::state::Beneficiary, Rejection> {
    state.beneficiary(id).ok_or(Rejection::UnknownBeneficiary(id))
}

fn beneficiary_alive(
    state: &State,
    id: BeneficiaryId,
) -> Result<&super::state::Beneficiary, Rejection> {
    let b = known_beneficiary(state, id)?;
    if b.identity.known().is_none() {
        return Err(Rejection::conflict(format!("personal data of {id} was erased")));
    }
    Ok(b)
}

/// An adjustment changes the scheme, the parameters or both; what results must be a valid
/// decision of the entitlement's programme and kind.
fn adjusted_terms_valid(ent: &super::state::Entitlement, c: &AdjustEntitlement) -> Result<(), Rejection> {
    let current = rules::lifecycle::latest_terms(ent);
    let scheme = c.scheme.as_deref().unwrap_or(current.scheme);
    let params = c.params.as_deref().unwrap_or(current.params);
    rules::validate(ent.grant.programme, scheme, params, ent.grant.kind)
}

fn not_terminated_before(ent: &super::state::Entitlement, month: Month) -> Result<(), Rejection> {
    match ent.terminated() {
        Some(t) if month > t.last_month => Err(Rejection::conflict(format!(
            "{} ended after {}",
            ent.id(),
            t.last_month
        ))),
        _ => Ok(()),
    }
}

fn route_request(r: &RouteRequest) -> Result<&RouteRequest, Rejection> {
    if let RouteRequest::Bank { holder_name, .. } = r {
        text("holder_name", holder_name, 1)?;
    }
    Ok(r)
}

fn decision(ctx: &Context<'_>, d: &Decision) -> Result<(), Rejection> {
    text("decision.number", &d.number, 1)?;
    text("decision.signer", &d.signer, 1)?;
    if d.date > ctx.today {
        return Err(Rejection::invalid("decision.date", "is in the future"));
    }
    Ok(())
}

fn text(field: &str, value: &str, min_chars: usize) -> Result<(), Rejection> {
    let chars = value.chars().count();
    if chars < min_chars {
        return Err(Rejection::invalid(field, "must not be empty"));
    }
    if chars > TEXT_CHARS_MAX {
        return Err(Rejection::invalid(field, format!("is longer than {TEXT_CHARS_MAX} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(Rejection::invalid(field, "contains control characters"));
    }
    Ok(())
}
