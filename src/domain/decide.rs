//! `decide`: given the state and a command, the events to append or the reason not to.
//! Pure: no IO, no clock (the caller passes what time it is in `Context`), no randomness.
//! Commands are taken by value so their strings move into the events instead of being copied.

use super::batch;
use super::command::*;
use super::event::*;
use super::rules;
use super::state::{Beneficiary, Entitlement, State};
use super::types::{BeneficiaryId, CitizenId, CommuneCode, Date, EntitlementId, Month, Sex};

pub use super::context::{Context, Emitted, Registry};

pub use super::text::TEXT_CHARS_MAX;

/// The events `command` appends, or why it may not. The acting role is checked first, against
/// the one table in `access`, so every interface refuses the same commands.
pub fn decide(
    state: &State,
    ctx: &Context<'_>,
    command: Command,
) -> Result<Vec<Emitted>, Rejection> {
    if !super::access::roles_for(&command).contains(&ctx.principal.role()) {
        return Err(Rejection::NotAllowed {
            reason: format!(
                "{} acts as {}; {}",
                ctx.principal,
                ctx.principal.role(),
                super::access::who_may(&command)
            ),
        });
    }
    match command {
        Command::Enrol(c) => enrol(state, ctx, c),
        Command::ImportRoster(c) => import_roster(state, ctx, c),
        Command::CorrectDetails(c) => correct_details(state, ctx, c),
        Command::SetPaymentRoute(c) => set_route(state, ctx, c),
        Command::RecordDeath(c) => record_death(state, ctx, c),
        Command::HoldForReview(c) => hold(state, c),
        Command::ClearReview(c) => clear_review(state, ctx, c),
        Command::ErasePersonalData(c) => erase(state, c),
        Command::EnactRateSchedule(c) => enact_schedule(state, c),
        Command::GrantEntitlement(c) => grant(state, ctx, c),
        Command::AdjustEntitlement(c) => adjust(state, ctx, c),
        Command::SuspendEntitlement(c) => suspend(state, ctx, c),
        Command::ResumeEntitlement(c) => resume(state, ctx, c),
        Command::TerminateEntitlement(c) => terminate(state, ctx, c),
        Command::OpenBatch(c) => batch::open(state, ctx, c),
        Command::ComputeBatch(c) => batch::compute_batch(state, c),
        Command::ApproveBatch(c) => batch::approve(state, ctx, c),
        Command::ReleaseBatch(c) => batch::release(state, ctx, c),
        Command::CancelBatch(c) => batch::cancel(state, c),
        Command::CloseBatch(c) => batch::close(state, c),
        Command::RecordFileDownload(c) => batch::record_download(state, ctx, c),
        Command::IngestStatusReport(c) => batch::reconcile::ingest(state, ctx, c),
        Command::ResolveBreak(c) => batch::resolve_break(state, c),
        Command::RecordIdentityCheck(c) => super::checks::record(state, ctx, c),
        Command::SetIdentityCheckMode(c) => super::checks::set_mode(state, c),
        Command::AllocateFunds(c) => super::funds::allocate(state, ctx, c),
        Command::RecordCheckpoint(c) => super::checkpoints::record(state, c),
    }
}

fn hold(state: &State, c: HoldForReview) -> Result<Vec<Emitted>, Rejection> {
    known_beneficiary(state, c.beneficiary)?;
    one(Event::BeneficiaryHeldForReview(BeneficiaryHeldForReview {
        beneficiary: c.beneficiary,
        reason: c.reason,
    }))
}

fn adjust(
    state: &State,
    ctx: &Context<'_>,
    c: AdjustEntitlement,
) -> Result<Vec<Emitted>, Rejection> {
    let ent = known_entitlement(state, c.entitlement)?;
    not_terminated_before(ent, c.effective_from)?;
    decision(ctx, &c.decision)?;
    if let Some(s) = &c.scheme {
        text("scheme", s, 1)?;
    }
    adjusted_terms_valid(ent, &c)?;
    one(Event::EntitlementAdjusted(Box::new(EntitlementAdjusted {
        entitlement: c.entitlement,
        effective_from: c.effective_from,
        scheme: c.scheme,
        params: c.params,
        decision: c.decision,
    })))
}

fn suspend(
    state: &State,
    ctx: &Context<'_>,
    c: SuspendEntitlement,
) -> Result<Vec<Emitted>, Rejection> {
    let ent = known_entitlement(state, c.entitlement)?;
    not_terminated_before(ent, c.from)?;
    decision(ctx, &c.decision)?;
    one(Event::EntitlementSuspended(Box::new(
        EntitlementSuspended {
            entitlement: c.entitlement,
            from: c.from,
            reason: c.reason,
            decision: c.decision,
        },
    )))
}

fn resume(
    state: &State,
    ctx: &Context<'_>,
    c: ResumeEntitlement,
) -> Result<Vec<Emitted>, Rejection> {
    let ent = known_entitlement(state, c.entitlement)?;
    not_terminated_before(ent, c.from)?;
    decision(ctx, &c.decision)?;
    if c.back_pay_from.is_some_and(|m| m > c.from) {
        return Err(Rejection::invalid(
            "back_pay_from",
            "back pay must start no later than the resumption",
        ));
    }
    one(Event::EntitlementResumed(Box::new(EntitlementResumed {
        entitlement: c.entitlement,
        from: c.from,
        back_pay_from: c.back_pay_from,
        decision: c.decision,
    })))
}

fn terminate(
    state: &State,
    ctx: &Context<'_>,
    c: TerminateEntitlement,
) -> Result<Vec<Emitted>, Rejection> {
    let ent = known_entitlement(state, c.entitlement)?;
    if let Some(t) = ent.terminated() {
        return Err(Rejection::conflict(format!(
            "{} was already terminated after {}",
            c.entitlement, t.last_month
        )));
    }
    decision(ctx, &c.decision)?;
    one(Event::EntitlementTerminated(Box::new(
        EntitlementTerminated {
            entitlement: c.entitlement,
            last_month: c.last_month,
            reason: c.reason,
            decision: c.decision,
        },
    )))
}

fn one(event: Event) -> Result<Vec<Emitted>, Rejection> {
    Ok(vec![Emitted::plain(event)])
}

fn enrol(state: &State, ctx: &Context<'_>, c: Enrol) -> Result<Vec<Emitted>, Rejection> {
    let ids = (state.next_beneficiary_id(), state.next_entitlement_id());
    enrol_as(state, ctx, c, ids)
}

/// A whole roster in one command: every row is checked, and the first bad row (named by its
/// line) refuses the whole file, so an import appends all of its people or none.
fn import_roster(
    state: &State,
    ctx: &Context<'_>,
    c: ImportRoster,
) -> Result<Vec<Emitted>, Rejection> {
    if c.rows.len() > ROSTER_ROWS_MAX {
        return Err(Rejection::invalid(
            "rows",
            format!("more than {ROSTER_ROWS_MAX} rows"),
        ));
    }
    let mut seen = std::collections::HashMap::with_capacity(c.rows.len());
    let mut lines = std::collections::HashMap::with_capacity(c.payees.len());
    let (mut beneficiary, mut entitlement) =
        (state.next_beneficiary_id(), state.next_entitlement_id());
    let mut out = Vec::with_capacity(c.rows.len() * 2);
    for (line, row) in c.rows {
        let enrolled = (beneficiary, row.birth_date);
        if seen.insert(row.citizen_id, enrolled).is_some() {
            return Err(Rejection::invalid(
                format!("line {line}"),
                "the citizen ID appears twice in the file",
            ));
        }
        lines.insert(line, beneficiary);
        let grants = row.entitlements.len() as u64;
        let events =
            enrol_as(state, ctx, row, (beneficiary, entitlement)).map_err(|e| match e {
                Rejection::Invalid { field, reason } => {
                    Rejection::invalid(format!("line {line}: {field}"), reason)
                }
                other => Rejection::invalid(format!("line {line}"), other.to_string()),
            })?;
        out.extend(events);
        beneficiary.0 += 1;
        entitlement.0 += grants;
    }
    for p in c.payees {
        let at = |field: &str| format!("line {}: {field}", p.line);
        let payee = *lines.get(&p.line).ok_or_else(|| {
            Rejection::invalid(format!("line {}", p.line), "is no row of the roster")
        })?;
        let (subject, born, died) = match seen.get(&p.cared_for) {
            Some(&(id, birth)) => (id, Some(birth), None),
            None => {
                let id = state.by_citizen(&p.cared_for).ok_or_else(|| {
                    Rejection::invalid(
                        at("cared_for"),
                        format!(
                            "citizen ID {} is neither in the roster nor enrolled",
                            p.cared_for.masked()
                        ),
                    )
                })?;
                let b = beneficiary_alive(state, id)
                    .map_err(|e| Rejection::invalid(at("cared_for"), e.to_string()))?;
                (
                    id,
                    b.identity.known().map(|i| i.birth_date),
                    b.date_of_death,
                )
            }
        };
        if subject == payee {
            return Err(Rejection::invalid(
                at("cared_for"),
                "names the row's own person",
            ));
        }
        let spec = NewEntitlement {
            payee: Some(payee),
            ..p.entitlement
        };
        new_entitlement(ctx, &spec, born, died).map_err(|e| match e {
            Rejection::Invalid { field, reason } => Rejection::invalid(at(&field), reason),
            other => Rejection::invalid(at("cared_for"), other.to_string()),
        })?;
        out.push(Emitted::plain(Event::EntitlementGranted(Box::new(
            granted(entitlement, subject, spec),
        ))));
        entitlement.0 += 1;
    }
    Ok(out)
}

/// The most rows one roster import may carry.
pub const ROSTER_ROWS_MAX: usize = 250_000;

/// Enrols with the given ids for the person and their first entitlement.
fn enrol_as(
    state: &State,
    ctx: &Context<'_>,
    c: Enrol,
    (beneficiary, first_entitlement): (BeneficiaryId, EntitlementId),
) -> Result<Vec<Emitted>, Rejection> {
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
    let (commune, mapped) = commune(ctx, "commune", c.commune)?;
    let route = c.route.map(|r| route_request(ctx, r)).transpose()?;
    for spec in &c.entitlements {
        new_entitlement(ctx, spec, Some(c.birth_date), None)?;
    }
    let mut warnings = citizen_id_warnings(&c.citizen_id, c.birth_date, c.sex);
    warnings.extend(ctx.registry.citizen_id_prefix_warning(&c.citizen_id));
    warnings.extend(mapped);
    let (route, account) = match route {
        Some(r) => (Some(r.route()), r.into_account()),
        None => (None, None),
    };
    let mut out = Vec::with_capacity(1 + c.entitlements.len());
    out.push(Emitted {
        event: Event::BeneficiaryEnrolled(Box::new(BeneficiaryEnrolled {
            beneficiary,
            programme: c.programme,
            commune,
            route,
            decision: c.decision,
            warnings,
        })),
        personal: Some(Box::new(PersonalData {
            identity: Some(Identity {
                citizen_id: c.citizen_id,
                full_name: c.full_name,
                birth_date: c.birth_date,
                sex: c.sex,
                address_line: c.address_line,
            }),
            account,
        })),
    });
    let first = first_entitlement.0;
    for (i, spec) in c.entitlements.into_iter().enumerate() {
        let id = EntitlementId(first + i as u64);
        out.push(Emitted::plain(Event::EntitlementGranted(Box::new(
            granted(id, beneficiary, spec),
        ))));
    }
    Ok(out)
}

fn granted(
    entitlement: EntitlementId,
    beneficiary: BeneficiaryId,
    spec: NewEntitlement,
) -> EntitlementGranted {
    EntitlementGranted {
        entitlement,
        beneficiary,
        programme: spec.programme,
        scheme: spec.scheme,
        params: spec.params,
        kind: spec.kind,
        effective_from: spec.effective_from,
        decision: spec.decision,
        payee: spec.payee,
    }
}

/// Checks an entitlement decision for a person born on `born` (unknown once erased) and who
/// died on `died`, if recorded. Nobody is owed anything for a month before they were born.
fn new_entitlement(
    ctx: &Context<'_>,
    spec: &NewEntitlement,
    born: Option<Date>,
    died: Option<Date>,
) -> Result<(), Rejection> {
    text("scheme", &spec.scheme, 1)?;
    rules::validate(spec.programme, &spec.scheme, &spec.params, spec.kind)?;
    rules::validate_payee(&spec.scheme, spec.payee.is_some())?;
    decision(ctx, &spec.decision)?;
    if let Some(birth) = born {
        if spec.effective_from < birth.month() {
            return Err(Rejection::invalid(
                "effective_from",
                format!(
                    "{} is before the beneficiary was born ({})",
                    spec.effective_from,
                    birth.month()
                ),
            ));
        }
    }
    if let (Some(death), EntitlementKind::Monthly) = (died, spec.kind) {
        if spec.effective_from > death.month() {
            return Err(Rejection::invalid(
                "effective_from",
                "is after the beneficiary's death",
            ));
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

fn correct_details(
    state: &State,
    ctx: &Context<'_>,
    c: CorrectDetails,
) -> Result<Vec<Emitted>, Rejection> {
    let b = known_beneficiary(state, c.beneficiary)?;
    text("reason", &c.reason, 1)?;
    let changes_identity = c.full_name.is_some()
        || c.birth_date.is_some()
        || c.sex.is_some()
        || c.address_line.is_some();
    if !changes_identity && c.commune.is_none() {
        return Err(Rejection::invalid("correction", "changes nothing"));
    }
    let mut warnings = b.warnings.to_vec();
    let new_commune = c
        .commune
        .map(|code| commune(ctx, "commune", code))
        .transpose()?;
    let personal = if changes_identity {
        let old = b.identity.known().ok_or_else(|| erased(c.beneficiary))?;
        let identity = Identity {
            citizen_id: old.citizen_id,
            full_name: c.full_name.unwrap_or_else(|| old.full_name.clone()),
            birth_date: c.birth_date.unwrap_or(old.birth_date),
            sex: c.sex.unwrap_or(old.sex),
            address_line: c.address_line.unwrap_or_else(|| old.address_line.clone()),
        };
        text("full_name", &identity.full_name, 1)?;
        text("address_line", &identity.address_line, 0)?;
        if c.birth_date.is_some() {
            born_before_decisions(state, b, identity.birth_date, ctx.today)?;
        }
        warnings = citizen_id_warnings(&identity.citizen_id, identity.birth_date, identity.sex);
        warnings.extend(ctx.registry.citizen_id_prefix_warning(&identity.citizen_id));
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
            commune: new_commune.as_ref().map(|(code, _)| *code),
            reason: c.reason,
            warnings: {
                warnings.extend(new_commune.and_then(|(_, w)| w));
                warnings
            },
        }),
        personal: personal.map(Box::new),
    }])
}

/// A corrected birth date must not be in the future nor after the month any of the person's
/// decisions takes effect from: nobody is owed anything for a month before their birth.
fn born_before_decisions(
    state: &State,
    b: &Beneficiary,
    birth: Date,
    today: Date,
) -> Result<(), Rejection> {
    if birth > today {
        return Err(Rejection::invalid("birth_date", "is in the future"));
    }
    let earliest = b
        .entitlements
        .iter()
        .filter_map(|e| state.entitlement(*e))
        .map(|e| e.grant.effective_from)
        .min();
    match earliest {
        Some(from) if from < birth.month() => Err(Rejection::invalid(
            "birth_date",
            format!("is after {from}, from which a decision already pays this person"),
        )),
        _ => Ok(()),
    }
}

fn set_route(
    state: &State,
    ctx: &Context<'_>,
    c: SetPaymentRoute,
) -> Result<Vec<Emitted>, Rejection> {
    beneficiary_alive(state, c.beneficiary)?;
    text("reason", &c.reason, 0)?;
    let request = route_request(ctx, c.route)?;
    let route = request.route();
    let account = request.into_account();
    Ok(vec![Emitted {
        event: Event::PaymentRouteSet(PaymentRouteSet {
            beneficiary: c.beneficiary,
            route,
            reason: c.reason,
        }),
        personal: account.map(|account| {
            Box::new(PersonalData {
                identity: None,
                account: Some(account),
            })
        }),
    }])
}

fn record_death(
    state: &State,
    ctx: &Context<'_>,
    c: RecordDeath,
) -> Result<Vec<Emitted>, Rejection> {
    let b = known_beneficiary(state, c.beneficiary)?;
    if let Some(d) = b.date_of_death {
        return Err(Rejection::conflict(format!(
            "{} was already recorded as died on {d}",
            c.beneficiary
        )));
    }
    if c.date_of_death > ctx.today {
        return Err(Rejection::invalid("date_of_death", "is in the future"));
    }
    if let Some(d) = &c.decision {
        decision(ctx, d)?;
    }
    one(Event::BeneficiaryDeathRecorded(Box::new(
        BeneficiaryDeathRecorded {
            beneficiary: c.beneficiary,
            date_of_death: c.date_of_death,
            decision: c.decision,
        },
    )))
}

fn clear_review(
    state: &State,
    ctx: &Context<'_>,
    c: ClearReview,
) -> Result<Vec<Emitted>, Rejection> {
    let b = known_beneficiary(state, c.beneficiary)?;
    if b.hold.is_none() {
        return Err(Rejection::conflict(format!(
            "{} is not held for review",
            c.beneficiary
        )));
    }
    decision(ctx, &c.decision)?;
    text("note", &c.note, 0)?;
    one(Event::BeneficiaryReviewCleared(Box::new(
        BeneficiaryReviewCleared {
            beneficiary: c.beneficiary,
            decision: c.decision,
            note: c.note,
        },
    )))
}

fn enact_schedule(state: &State, c: RateScheduleEnacted) -> Result<Vec<Emitted>, Rejection> {
    text("schedule", &c.schedule, 1)?;
    text("instrument", &c.instrument, 1)?;
    if state.has_schedule(&c.schedule) {
        // Loading the same schedule again is not an error: it appends nothing.
        return Ok(Vec::new());
    }
    if c.entries.is_empty() {
        return Err(Rejection::invalid(
            "entries",
            "a rate schedule needs at least one rate",
        ));
    }
    for entry in &c.entries {
        if let RateValue::Amount(a) = entry.value {
            if a.is_negative() {
                return Err(Rejection::invalid(
                    format!("entries.{}", entry.key),
                    "negative amount",
                ));
            }
        }
    }
    one(Event::RateScheduleEnacted(Box::new(c)))
}

/// Erasure is for people the ledger no longer pays: dead, or with every entitlement ended.
/// The retention period itself is a legal decision the caller cites in `legal_basis`.
fn erase(state: &State, c: ErasePersonalData) -> Result<Vec<Emitted>, Rejection> {
    let b = beneficiary_alive(state, c.beneficiary)?;
    text("legal_basis", &c.legal_basis, 1)?;
    let all_ended = b.entitlements.iter().all(|e| {
        state
            .entitlement(*e)
            .is_some_and(|e| e.terminated().is_some())
    });
    if b.date_of_death.is_none() && !all_ended {
        return Err(Rejection::NotAllowed {
            reason: format!("{} still has an active entitlement", c.beneficiary),
        });
    }
    one(Event::PersonalDataErased(PersonalDataErased {
        beneficiary: c.beneficiary,
        records: b.personal_records.to_vec(),
        legal_basis: c.legal_basis,
    }))
}

fn grant(state: &State, ctx: &Context<'_>, c: GrantEntitlement) -> Result<Vec<Emitted>, Rejection> {
    let b = beneficiary_alive(state, c.beneficiary)?;
    if let Some(payee) = c.entitlement.payee {
        beneficiary_alive(state, payee)?;
    }
    let born = b.identity.known().map(|i| i.birth_date);
    new_entitlement(ctx, &c.entitlement, born, b.date_of_death)?;
    one(Event::EntitlementGranted(Box::new(granted(
        state.next_entitlement_id(),
        c.beneficiary,
        c.entitlement,
    ))))
}

fn erased(id: BeneficiaryId) -> Rejection {
    Rejection::conflict(format!("personal data of {id} was erased"))
}

fn known_beneficiary(state: &State, id: BeneficiaryId) -> Result<&Beneficiary, Rejection> {
    state
        .beneficiary(id)
        .ok_or(Rejection::UnknownBeneficiary(id))
}

fn known_entitlement(state: &State, id: EntitlementId) -> Result<&Entitlement, Rejection> {
    state
        .entitlement(id)
        .ok_or(Rejection::UnknownEntitlement(id))
}

/// A beneficiary whose personal data still exists (erased people get no new decisions).
fn beneficiary_alive(state: &State, id: BeneficiaryId) -> Result<&Beneficiary, Rejection> {
    let b = known_beneficiary(state, id)?;
    if b.identity.known().is_none() {
        return Err(erased(id));
    }
    Ok(b)
}

/// An adjustment changes the scheme, the parameters or both; what results must be a valid
/// decision of the entitlement's programme and kind.
fn adjusted_terms_valid(ent: &Entitlement, c: &AdjustEntitlement) -> Result<(), Rejection> {
    let current = rules::lifecycle::latest_terms(ent);
    let scheme = c.scheme.as_deref().unwrap_or(current.scheme);
    let params = c.params.as_deref().unwrap_or(current.params);
    rules::validate(ent.grant.programme, scheme, params, ent.grant.kind)?;
    rules::validate_payee(scheme, ent.grant.payee.is_some())
}

fn not_terminated_before(ent: &Entitlement, month: Month) -> Result<(), Rejection> {
    match ent.terminated() {
        Some(t) if month > t.last_month => Err(Rejection::conflict(format!(
            "{} ended after {}",
            ent.id(),
            t.last_month
        ))),
        _ => Ok(()),
    }
}

/// Checks a route against the bank list and the administrative units; a cash pay point given by
/// a pre-2025 commune code comes back as its 2025 code.
fn route_request(ctx: &Context<'_>, r: RouteRequest) -> Result<RouteRequest, Rejection> {
    match r {
        RouteRequest::Bank {
            bin,
            account_number,
            holder_name,
        } => {
            text("holder_name", &holder_name, 1)?;
            ctx.registry
                .check_bank(bin)
                .map_err(|e| Rejection::invalid("bank_bin", e))?;
            Ok(RouteRequest::Bank {
                bin,
                account_number,
                holder_name,
            })
        }
        RouteRequest::Cash { pay_point } => {
            let (pay_point, _) = commune(ctx, "pay_point", pay_point)?;
            Ok(RouteRequest::Cash { pay_point })
        }
    }
}

/// The 2025 code of a commune, with the warning a mapped pre-2025 code raises.
fn commune(
    ctx: &Context<'_>,
    field: &str,
    code: CommuneCode,
) -> Result<(CommuneCode, Option<EnrolmentWarning>), Rejection> {
    ctx.registry
        .resolve_commune(code)
        .map_err(|e| Rejection::invalid(field, e))
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
    super::text::check(value, min_chars).map_err(|p| Rejection::invalid(field, p.to_string()))
}
