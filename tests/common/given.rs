//! The pure given/when/then harness: the domain core (`decide` and `State::apply`) with no
//! store, no directory and no clock, as the writer drives it. A test states a history, one
//! command and what must follow:
//!
//! ```ignore
//! given([Command::Enrol(person)])
//!     .when("officer:lan", Command::Enrol(person_again))
//!     .then_rejected(|r| matches!(r, Rejection::AlreadyEnrolled { .. }));
//! ```
//!
//! or keeps a `World` and runs commands one after another, each as whoever may issue it
//! (`access::roles_for`), including the batch workflow (open, compute, approve, release with
//! the files the batch needs, bank reports). Events decided are applied exactly as the writer
//! applies them: in order, each at the next sequence number, with its personal data.

use chitra::domain::access::{roles_for, Role};
use chitra::domain::batch::compute::{BatchPlan, Target};
use chitra::domain::command::*;
use chitra::domain::event::*;
use chitra::domain::rules::{self, DueLine, RateBook, RuleError};
use chitra::domain::state::{Attachment, Batch, State};
use chitra::domain::types::*;
use chitra::domain::{decide, Command, Context, Emitted, Event, Rejection};

use super::fixtures::{d, p, schedule, schedules};

/// Today by the harness's clock, unless a test says otherwise: the date the on-disk tests'
/// fixed clock gives (`common::T0_MS`, 2026-11-02 in Hà Nội).
pub const TODAY: &str = "2026-11-02";

/// Who issues a command when a test does not say: one person per role, so that the maker and
/// the checker are different people, as four eyes wants.
pub fn default_principal(role: Role) -> &'static str {
    match role {
        Role::Officer => "officer:lan",
        Role::Maker => "maker:hoa",
        Role::Checker => "checker:tuan",
        Role::Auditor => "auditor:minh",
        Role::Bank => "bank:970436",
        Role::Admin => "admin:thu",
    }
}

/// Whoever may issue `command` (the first role the access table names).
pub fn issuer(command: &Command) -> &'static str {
    let role = roles_for(command)
        .first()
        .unwrap_or_else(|| panic!("nobody may issue {}", command.name()));
    default_principal(*role)
}

/// One step of a history: a command run as whoever may issue it, a command run as someone, or
/// an event applied as it stands (as replay would apply an old record).
#[derive(Debug, Clone)]
pub enum Given {
    Command(Command),
    CommandAs(&'static str, Command),
    Event(Event, Attachment),
}

impl From<Command> for Given {
    fn from(c: Command) -> Given {
        Given::Command(c)
    }
}

impl From<(&'static str, Command)> for Given {
    fn from((who, c): (&'static str, Command)) -> Given {
        Given::CommandAs(who, c)
    }
}

impl From<Event> for Given {
    fn from(e: Event) -> Given {
        Given::Event(e, Attachment::None)
    }
}

impl From<(Event, PersonalData)> for Given {
    fn from((e, personal): (Event, PersonalData)) -> Given {
        Given::Event(e, Attachment::Present(personal))
    }
}

/// The principal recorded with events a history gives directly.
pub const HISTORY_PRINCIPAL: &str = "admin:history";

/// A world in which `history` happened; a command of the history that is refused fails the
/// test.
pub fn given<G: Into<Given>>(history: impl IntoIterator<Item = G>) -> World {
    let mut world = World::new();
    for step in history {
        world.apply_given(step.into());
    }
    world
}

/// The ledger's state and today's date: everything `decide` sees.
pub struct World {
    state: State,
    today: Date,
}

impl Default for World {
    fn default() -> World {
        World::new()
    }
}

impl World {
    /// Nothing recorded; today is `TODAY`.
    pub fn new() -> World {
        World {
            state: State::new(),
            today: d(TODAY),
        }
    }

    /// A world with the named rate schedules enacted, in the order given.
    pub fn with_schedules(ids: &[&str]) -> World {
        let mut w = World::new();
        w.enact(ids);
        w
    }

    /// A world with every rate schedule of `ledger-data/rates/` enacted.
    pub fn with_all_schedules() -> World {
        let mut w = World::new();
        for s in schedules() {
            w.run(Command::EnactRateSchedule(s));
        }
        w
    }

    /// Enacts the named schedules, in the order given, as the administrator.
    pub fn enact(&mut self, ids: &[&str]) {
        for id in ids {
            self.run(Command::EnactRateSchedule(schedule(id)));
        }
    }

    /// Sets today's date (what "in the future" and "a month ahead" are measured from).
    pub fn today(mut self, date: &str) -> World {
        self.today = d(date);
        self
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    /// Records applied so far: the sequence number of the next one.
    pub fn records(&self) -> u64 {
        self.state.applied()
    }

    fn apply_given(&mut self, step: Given) {
        match step {
            Given::Command(c) => {
                self.run(c);
            }
            Given::CommandAs(who, c) => {
                self.run_as(who, c);
            }
            Given::Event(e, attachment) => self.apply(HISTORY_PRINCIPAL, e, attachment),
        }
    }

    fn apply(&mut self, principal: &str, event: Event, attachment: Attachment) {
        let seq = self.state.applied();
        self.state
            .apply(seq, principal, event, attachment)
            .unwrap_or_else(|e| panic!("the event does not apply: {e}"));
    }

    /// Applies decided events as the writer does: in order, each with its personal data.
    /// They must apply: `apply` is total over decided events.
    fn apply_emitted(&mut self, principal: &str, emitted: Vec<Emitted>) {
        for e in emitted {
            let attachment = e
                .personal
                .map_or(Attachment::None, |p| Attachment::Present(*p));
            self.apply(principal, e.event, attachment);
        }
    }

    /// What `decide` answers to `who` issuing `command` now, without applying anything.
    pub fn decide(&self, who: &str, command: Command) -> Result<Vec<Emitted>, Rejection> {
        let principal = p(who);
        let ctx = Context {
            principal: &principal,
            today: self.today,
            registry: chitra::formats::reference::Reference::embedded(),
        };
        decide(&self.state, &ctx, command)
    }

    /// Decides `command` as `who` and, when it is accepted, applies its events as the writer
    /// does. A refusal changes nothing.
    pub fn try_run_as(&mut self, who: &str, command: Command) -> Result<Vec<Event>, Rejection> {
        let emitted = self.decide(who, command)?;
        let events = emitted.iter().map(|e| e.event.clone()).collect();
        self.apply_emitted(who, emitted);
        Ok(events)
    }

    /// `try_run_as` as whoever may issue the command.
    pub fn try_run(&mut self, command: Command) -> Result<Vec<Event>, Rejection> {
        let who = issuer(&command);
        self.try_run_as(who, command)
    }

    /// Runs a command that must be accepted, as `who`; the events it appended.
    pub fn run_as(&mut self, who: &str, command: Command) -> Vec<Event> {
        let name = command.name();
        self.try_run_as(who, command)
            .unwrap_or_else(|r| panic!("{who} {name} was refused: {r}"))
    }

    /// Runs a command that must be accepted, as whoever may issue it.
    pub fn run(&mut self, command: Command) -> Vec<Event> {
        let who = issuer(&command);
        self.run_as(who, command)
    }

    /// The step under test: `who` issues `command`.
    pub fn when(self, who: &str, command: Command) -> Then {
        let outcome = self.decide(who, command.clone());
        Then {
            world: self,
            who: who.to_owned(),
            command,
            outcome,
        }
    }

    // ---- people ----

    /// Enrols a person (as the officer); their id.
    pub fn enrol(&mut self, e: Enrol) -> BeneficiaryId {
        let id = self.state.next_beneficiary_id();
        self.run(Command::Enrol(e));
        id
    }

    /// Grants an entitlement (as the officer); its id.
    pub fn grant(
        &mut self,
        beneficiary: BeneficiaryId,
        entitlement: NewEntitlement,
    ) -> EntitlementId {
        let id = self.state.next_entitlement_id();
        self.run(Command::GrantEntitlement(GrantEntitlement {
            beneficiary,
            entitlement,
        }));
        id
    }

    // ---- the batch workflow, as `app::batches` runs it over a ledger ----

    /// Opens a batch as the maker; its id.
    pub fn open_batch(
        &mut self,
        programme: Programme,
        month: Month,
        kind: BatchKind,
    ) -> Result<BatchId, Rejection> {
        let id = self.state.next_batch_id();
        self.try_run(Command::OpenBatch(OpenBatch {
            programme,
            month,
            funding_account: super::fixtures::FUNDING_ACCOUNT.into(),
            kind,
        }))?;
        Ok(id)
    }

    /// Computes an open batch from the state as it is (`domain::batch::compute`) and records
    /// its lines as the maker; what the computation left out comes back in the plan, and the
    /// recorded lines in `plan.payments`.
    pub fn compute(&mut self, batch: BatchId) -> Result<BatchPlan, Rejection> {
        let target = Target::of(&self.state, batch)
            .ok_or_else(|| Rejection::invalid("batch", format!("no batch {batch}")))?;
        let plan = chitra::domain::batch::compute(&self.state, target);
        self.try_run(Command::ComputeBatch(ComputeBatch {
            batch,
            basis_seq: target.known_at,
            payments: plan.payments.clone(),
        }))?;
        Ok(plan)
    }

    /// Opens the regular batch of `programme` for `month` and computes it; it must be accepted.
    pub fn computed(&mut self, programme: Programme, month: Month) -> BatchId {
        let batch = self
            .open_batch(programme, month, BatchKind::Regular)
            .unwrap_or_else(|r| panic!("opening {programme} {month}: {r}"));
        self.compute(batch)
            .unwrap_or_else(|r| panic!("computing {batch}: {r}"));
        batch
    }

    /// Approves a computed batch as the checker, with the content and totals it was computed
    /// with (what the review showed).
    pub fn approve(&mut self, batch: BatchId) -> Result<(), Rejection> {
        self.approve_as("checker:tuan", batch)
    }

    pub fn approve_as(&mut self, who: &str, batch: BatchId) -> Result<(), Rejection> {
        let computed = self
            .batch(batch)
            .computed
            .clone()
            .ok_or_else(|| Rejection::conflict(format!("{batch} was not computed")))?;
        self.try_run_as(
            who,
            Command::ApproveBatch(ApproveBatch {
                batch,
                content_hash: computed.content_hash,
                totals: computed.totals,
            }),
        )
        .map(drop)
    }

    /// The files a release of `batch` must carry (`batch::files_needed`), each named after
    /// where it goes; their digests stand for bytes the harness never writes.
    pub fn files_for(&self, batch: BatchId) -> Vec<NewPaymentFile> {
        chitra::domain::batch::files_needed(&self.state, self.batch(batch))
            .into_iter()
            .map(|(channel, pay_point, format, totals)| {
                let name = format!("{batch}-{channel:?}-{pay_point:?}-{format:?}");
                NewPaymentFile {
                    channel,
                    pay_point,
                    format,
                    digest: *blake3::hash(name.as_bytes()).as_bytes(),
                    bytes: 1,
                    name,
                    totals,
                }
            })
            .collect()
    }

    /// Releases a batch with the files it needs, as the checker.
    pub fn release(&mut self, batch: BatchId) -> Result<(), Rejection> {
        self.release_as("checker:tuan", batch)
    }

    pub fn release_as(&mut self, who: &str, batch: BatchId) -> Result<(), Rejection> {
        let files = self.files_for(batch);
        self.try_run_as(who, Command::ReleaseBatch(ReleaseBatch { batch, files }))
            .map(drop)
    }

    /// Opens, computes, approves and releases the batch of `programme` for `month`: the
    /// regular one, or a supplementary one when the regular batch was released already.
    pub fn pay(&mut self, programme: Programme, month: Month) -> (BatchId, BatchPlan) {
        let regular = self.state.batches_of(programme, month).iter().find(|id| {
            let b = self.batch(**id);
            b.opened.kind == BatchKind::Regular
                && b.status != chitra::domain::state::BatchStatus::Cancelled
        });
        let kind = match regular {
            Some(of) => BatchKind::Supplementary { of: *of },
            None => BatchKind::Regular,
        };
        let batch = self
            .open_batch(programme, month, kind)
            .unwrap_or_else(|r| panic!("opening {programme} {month} ({kind:?}): {r}"));
        let plan = self
            .compute(batch)
            .unwrap_or_else(|r| panic!("computing {batch}: {r}"));
        self.approve(batch)
            .unwrap_or_else(|r| panic!("approving {batch}: {r}"));
        self.release(batch)
            .unwrap_or_else(|r| panic!("releasing {batch}: {r}"));
        (batch, plan)
    }

    pub fn batch(&self, id: BatchId) -> &Batch {
        self.state
            .batch(id)
            .unwrap_or_else(|| panic!("no batch {id}"))
    }

    /// The payments of a batch, in order.
    pub fn payments(&self, batch: BatchId) -> Vec<PaymentScheduled> {
        self.batch(batch)
            .payments
            .iter()
            .filter_map(|id| self.state.scheduled(id))
            .collect()
    }

    /// The payment of `who` in a batch, if any.
    pub fn payment_of(&self, batch: BatchId, who: BeneficiaryId) -> Option<PaymentScheduled> {
        self.payments(batch)
            .into_iter()
            .find(|pay| pay.beneficiary == who)
    }

    /// The first file of a batch that goes through `channel` (the file a report answers).
    pub fn file_of(&self, batch: BatchId, channel: Channel) -> FileId {
        self.batch(batch)
            .files
            .iter()
            .copied()
            .find(|f| {
                self.state
                    .file(*f)
                    .is_some_and(|f| f.issued.channel == channel)
            })
            .unwrap_or_else(|| panic!("{batch} has no file for {channel:?}"))
    }
}

/// A status report on `file` with these lines, identified by `tag` (its message id, and the
/// digest of its bytes).
pub fn report(file: FileId, tag: &str, lines: Vec<ReportedLine>) -> Command {
    Command::IngestStatusReport(IngestStatusReport {
        file,
        format: StatusFormat::Csv,
        digest: *blake3::hash(tag.as_bytes()).as_bytes(),
        message_id: tag.into(),
        file_rejected: None,
        lines,
    })
}

/// Who posts reports about a channel: the bank itself, or for cash lists the checker.
pub fn reporter(channel: Channel) -> String {
    match channel {
        Channel::Bank(bin) => format!("bank:{bin}"),
        Channel::Cash => "checker:tuan".into(),
    }
}

/// One line of a status report.
pub fn line(end_to_end_id: &str, outcome: ReportedOutcome, amount: Option<Vnd>) -> ReportedLine {
    ReportedLine {
        end_to_end_id: end_to_end_id.into(),
        outcome,
        amount,
    }
}

/// What `decide` answered to the command under test.
pub struct Then {
    world: World,
    who: String,
    command: Command,
    outcome: Result<Vec<Emitted>, Rejection>,
}

impl Then {
    fn accepted(self) -> (World, String, Vec<Emitted>) {
        match self.outcome {
            Ok(emitted) => (self.world, self.who, emitted),
            Err(r) => panic!("{} {} was refused: {r:?}", self.who, self.command.name()),
        }
    }

    /// The command is accepted with exactly these events (personal data aside), which are
    /// then applied; the world goes on.
    pub fn then_events(self, expected: &[Event]) -> World {
        let (world, who, emitted) = self.accepted();
        let events: Vec<&Event> = emitted.iter().map(|e| &e.event).collect();
        let expected: Vec<&Event> = expected.iter().collect();
        assert_eq!(events, expected, "the events decided for {who}");
        apply_all(world, &who, emitted)
    }

    /// The command is accepted; `check` looks at its events before they are applied.
    pub fn then_accepted(self, check: impl FnOnce(&[Event])) -> World {
        let (world, who, emitted) = self.accepted();
        let events: Vec<Event> = emitted.iter().map(|e| e.event.clone()).collect();
        check(&events);
        apply_all(world, &who, emitted)
    }

    /// The command is refused, for a reason `check` accepts; nothing is applied.
    pub fn then_rejected(self, check: impl FnOnce(&Rejection) -> bool) -> World {
        match &self.outcome {
            Ok(emitted) => panic!(
                "{} {} was accepted with {} events; expected a refusal",
                self.who,
                self.command.name(),
                emitted.len()
            ),
            Err(r) => assert!(
                check(r),
                "{} {}: refused for another reason: {r:?}",
                self.who,
                self.command.name()
            ),
        }
        self.world
    }
}

fn apply_all(mut world: World, who: &str, emitted: Vec<Emitted>) -> World {
    world.apply_emitted(who, emitted);
    world
}

/// What is due to `who` for `month` as known at `known_at` (records with a lower sequence
/// number), by the rules a batch computes with: the same `rules::due` over the state.
pub fn due(
    state: &State,
    who: BeneficiaryId,
    month: Month,
    known_at: u64,
) -> Result<Vec<DueLine>, RuleError> {
    due_by(
        state,
        &RateBook::new(state.schedules()),
        who,
        month,
        known_at,
    )
}

/// `due` with the state's rates already indexed, for callers that ask many times.
pub fn due_by(
    state: &State,
    rates: &RateBook<'_>,
    who: BeneficiaryId,
    month: Month,
    known_at: u64,
) -> Result<Vec<DueLine>, RuleError> {
    let b = state
        .beneficiary(who)
        .unwrap_or_else(|| panic!("no beneficiary {who}"));
    let ents = rules::entitlements_of(state, b);
    rules::due(&rules::Person::of(b, &ents), rates, month, known_at)
}
