//! Commands: what a caller asks the ledger to do, and the typed reasons it may refuse.
//! A command is already parsed (its citizen ID, months and amounts are valid types); `decide`
//! checks it against the state and either returns the events to append or a `Rejection`.

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use super::event::{
    BankAccountDetails, BatchKind, Channel, ControlTotals, Decision, Digest, EntitlementKind,
    FileFormat, HoldReason, PaymentItem, RateScheduleEnacted, Route, SchemeParam, StatusFormat,
    SuspensionReason, TerminationReason,
};
use super::types::{
    AccountNumber, BatchId, BeneficiaryId, CitizenId, CommuneCode, Date, EntitlementId, FileId,
    Month, Programme, Sex, Vnd,
};

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    Enrol(Enrol),
    CorrectDetails(CorrectDetails),
    SetPaymentRoute(SetPaymentRoute),
    RecordDeath(RecordDeath),
    HoldForReview(HoldForReview),
    ClearReview(ClearReview),
    EnactRateSchedule(RateScheduleEnacted),
    GrantEntitlement(GrantEntitlement),
    AdjustEntitlement(AdjustEntitlement),
    SuspendEntitlement(SuspendEntitlement),
    ResumeEntitlement(ResumeEntitlement),
    TerminateEntitlement(TerminateEntitlement),
    ErasePersonalData(ErasePersonalData),
    OpenBatch(OpenBatch),
    ComputeBatch(ComputeBatch),
    ApproveBatch(ApproveBatch),
    ReleaseBatch(ReleaseBatch),
    CancelBatch(CancelBatch),
    CloseBatch(CloseBatch),
    RecordFileDownload(RecordFileDownload),
    IngestStatusReport(IngestStatusReport),
    ResolveBreak(ResolveBreak),
    ImportRoster(ImportRoster),
    // Issue 12.
    RecordIdentityCheck(super::identity::RecordIdentityCheck),
    SetIdentityCheckMode(super::identity::IdentityCheckModeSet),
    AllocateFunds(super::event::FundsAllocated),
    // Issue 11: the writer's own signed checkpoints (`domain::checkpoints`).
    RecordCheckpoint(super::event::CheckpointRecorded),
}

impl Command {
    /// Commands that can carry a million lines (a batch's payments, a roster, a bank report).
    pub fn is_bulk(&self) -> bool {
        matches!(
            self,
            Command::ComputeBatch(_)
                | Command::ImportRoster(_)
                | Command::IngestStatusReport(_)
                | Command::RecordIdentityCheck(_)
        )
    }

    pub fn name(&self) -> &'static str {
        match self {
            Command::Enrol(_) => "enrol",
            Command::CorrectDetails(_) => "correct_details",
            Command::SetPaymentRoute(_) => "set_payment_route",
            Command::RecordDeath(_) => "record_death",
            Command::HoldForReview(_) => "hold_for_review",
            Command::ClearReview(_) => "clear_review",
            Command::EnactRateSchedule(_) => "enact_rate_schedule",
            Command::GrantEntitlement(_) => "grant_entitlement",
            Command::AdjustEntitlement(_) => "adjust_entitlement",
            Command::SuspendEntitlement(_) => "suspend_entitlement",
            Command::ResumeEntitlement(_) => "resume_entitlement",
            Command::TerminateEntitlement(_) => "terminate_entitlement",
            Command::ErasePersonalData(_) => "erase_personal_data",
            Command::OpenBatch(_) => "open_batch",
            Command::ComputeBatch(_) => "compute_batch",
            Command::ApproveBatch(_) => "approve_batch",
            Command::ReleaseBatch(_) => "release_batch",
            Command::CancelBatch(_) => "cancel_batch",
            Command::CloseBatch(_) => "close_batch",
            Command::RecordFileDownload(_) => "record_file_download",
            Command::IngestStatusReport(_) => "ingest_status_report",
            Command::ResolveBreak(_) => "resolve_break",
            Command::ImportRoster(_) => "import_roster",
            Command::RecordIdentityCheck(_) => "record_identity_check",
            Command::SetIdentityCheckMode(_) => "set_identity_check_mode",
            Command::AllocateFunds(_) => "allocate_funds",
            Command::RecordCheckpoint(_) => "record_checkpoint",
        }
    }
}

/// A payment route as a caller gives it, with the account details for a bank route.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RouteRequest {
    Bank {
        bin: super::types::BankBin,
        account_number: AccountNumber,
        holder_name: String,
    },
    Cash {
        pay_point: CommuneCode,
    },
}

impl RouteRequest {
    pub fn route(&self) -> Route {
        match self {
            RouteRequest::Bank { bin, .. } => Route::Bank { bin: *bin },
            RouteRequest::Cash { pay_point } => Route::Cash {
                pay_point: *pay_point,
            },
        }
    }

    pub fn into_account(self) -> Option<BankAccountDetails> {
        match self {
            RouteRequest::Bank {
                account_number,
                holder_name,
                ..
            } => Some(BankAccountDetails {
                account_number,
                holder_name,
            }),
            RouteRequest::Cash { .. } => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Enrol {
    pub citizen_id: CitizenId,
    pub full_name: String,
    pub birth_date: Date,
    pub sex: Sex,
    pub address_line: String,
    pub commune: CommuneCode,
    pub programme: Programme,
    pub decision: Option<Decision>,
    /// Sets the payment route in the same step, when the roster gives one.
    pub route: Option<RouteRequest>,
    /// Entitlements granted in the same step (a roster row carries its decision).
    pub entitlements: Vec<NewEntitlement>,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct CorrectDetails {
    pub beneficiary: BeneficiaryId,
    pub full_name: Option<String>,
    pub birth_date: Option<Date>,
    pub sex: Option<Sex>,
    pub address_line: Option<String>,
    pub commune: Option<CommuneCode>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct SetPaymentRoute {
    pub beneficiary: BeneficiaryId,
    pub route: RouteRequest,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct RecordDeath {
    pub beneficiary: BeneficiaryId,
    pub date_of_death: Date,
    pub decision: Option<Decision>,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct HoldForReview {
    pub beneficiary: BeneficiaryId,
    pub reason: HoldReason,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct ClearReview {
    pub beneficiary: BeneficiaryId,
    pub decision: Decision,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct GrantEntitlement {
    pub beneficiary: BeneficiaryId,
    pub entitlement: NewEntitlement,
}

/// An entitlement decision as granted, before it has an id.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct NewEntitlement {
    pub programme: Programme,
    pub scheme: String,
    pub params: Vec<SchemeParam>,
    pub kind: EntitlementKind,
    pub effective_from: Month,
    pub decision: Decision,
    pub payee: Option<BeneficiaryId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct AdjustEntitlement {
    pub entitlement: EntitlementId,
    pub effective_from: Month,
    pub scheme: Option<String>,
    pub params: Option<Vec<SchemeParam>>,
    pub decision: Decision,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct SuspendEntitlement {
    pub entitlement: EntitlementId,
    pub from: Month,
    pub reason: SuspensionReason,
    pub decision: Decision,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct ResumeEntitlement {
    pub entitlement: EntitlementId,
    pub from: Month,
    pub back_pay_from: Option<Month>,
    pub decision: Decision,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct TerminateEntitlement {
    pub entitlement: EntitlementId,
    pub last_month: Month,
    pub reason: TerminationReason,
    pub decision: Decision,
}

/// Erase a person's personal data from the personal-data store once the retention period has
/// ended. The chain keeps only salted commitments, so every record still verifies.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct ErasePersonalData {
    pub beneficiary: BeneficiaryId,
    /// The legal basis and retention decision, e.g. a decision number.
    pub legal_basis: String,
}

/// Open a disbursement batch for a programme and month.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct OpenBatch {
    pub programme: Programme,
    pub month: Month,
    /// The programme's funding account at the State Treasury or the paying bank.
    pub funding_account: String,
    pub kind: BatchKind,
}

/// One payment line as computed: who receives it, by which route, and its items.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct NewPayment {
    pub beneficiary: BeneficiaryId,
    pub route: Route,
    pub amount: Vnd,
    pub items: Vec<PaymentItem>,
}

/// The computed lines of an open batch, as of the ledger at `basis_seq` (records below it).
/// Computed by `batch::compute`, never typed in by a person.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct ComputeBatch {
    pub batch: BatchId,
    pub basis_seq: u64,
    pub payments: Vec<NewPayment>,
}

/// A checker approves exactly the content and totals they reviewed.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct ApproveBatch {
    pub batch: BatchId,
    pub content_hash: Digest,
    pub totals: ControlTotals,
}

/// Releases an approved batch together with every payment file it needs, in one step: the
/// files' bytes are kept by the store before this command is submitted, and the batch is
/// released and every file recorded as issued in one group commit, or nothing is recorded and
/// the batch stays approved.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct ReleaseBatch {
    pub batch: BatchId,
    pub files: Vec<NewPaymentFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct CancelBatch {
    pub batch: BatchId,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct CloseBatch {
    pub batch: BatchId,
}

/// One payment file of a release (its bytes are kept by the store under `digest`).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct NewPaymentFile {
    pub channel: Channel,
    pub pay_point: Option<CommuneCode>,
    pub format: FileFormat,
    pub name: String,
    pub digest: Digest,
    pub bytes: u64,
    pub totals: ControlTotals,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct RecordFileDownload {
    pub file: FileId,
    pub digest: Digest,
}

/// What a bank (or pay agent) says happened to one payment.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ReportedOutcome {
    Settled,
    Rejected {
        reason_code: String,
    },
    /// Accepted but not final (ISO ACSP, PDNG, ...): the payment stays outstanding.
    Pending,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct ReportedLine {
    pub end_to_end_id: String,
    pub outcome: ReportedOutcome,
    pub amount: Option<Vnd>,
}

/// A parsed bank status report (pain.002 or CSV) about one of our payment files, with the
/// digest of the report's bytes. A bank's report may touch only payments in files issued to
/// that bank.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct IngestStatusReport {
    /// The payment file the report answers (its original message id).
    pub file: FileId,
    pub format: StatusFormat,
    pub digest: Digest,
    pub message_id: String,
    /// The whole file was rejected (`GrpSts` RJCT) with this reason code, and no line is
    /// listed: every payment of the file comes back.
    pub file_rejected: Option<String>,
    pub lines: Vec<ReportedLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct ResolveBreak {
    pub break_seq: u64,
    pub note: String,
}

/// A roster file's rows, each with its line number: enrolled all together or not at all.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct ImportRoster {
    pub rows: Vec<(u64, Enrol)>,
    /// Rows that enrol a carer or foster household (issue 12): each grants the person it
    /// cares for the row's allowance, paid to the household.
    #[serde(default)]
    pub payees: Vec<PayeeRow>,
}

/// A roster row of a payee (ND 20/2021 Art 20(1), 20(2)(c)-(d)): the row at `line` enrols the
/// household; `entitlement` is granted to the person `cared_for` (a person of the same import
/// or already enrolled) with the household as its payee.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct PayeeRow {
    pub line: u64,
    pub cared_for: CitizenId,
    pub entitlement: NewEntitlement,
}

/// Why a command was refused. Each variant has a stable `code()` that the HTTP layer turns into
/// a problem type; messages name the offending value without leaking personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Rejection {
    #[error("citizen ID {citizen} is already enrolled as {existing}")]
    AlreadyEnrolled {
        citizen: String,
        existing: BeneficiaryId,
    },
    #[error("no beneficiary {0}")]
    UnknownBeneficiary(BeneficiaryId),
    #[error("no entitlement {0}")]
    UnknownEntitlement(EntitlementId),
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("conflicts with the ledger: {reason}")]
    Conflict { reason: String },
    #[error("not allowed: {reason}")]
    NotAllowed { reason: String },
    /// A status report about a file that is not the caller's: the same answer as for a file
    /// that does not exist, so a bank learns nothing about other banks' files.
    #[error("the status report refers to none of your payment files")]
    UnknownReport,
}

impl Rejection {
    /// A stable, machine-readable code for the problem type.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::AlreadyEnrolled { .. } => "already-enrolled",
            Rejection::UnknownBeneficiary(_) => "unknown-beneficiary",
            Rejection::UnknownEntitlement(_) => "unknown-entitlement",
            Rejection::Invalid { .. } => "invalid",
            Rejection::Conflict { .. } => "conflict",
            Rejection::NotAllowed { .. } => "not-allowed",
            Rejection::UnknownReport => "unknown-report",
        }
    }

    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Rejection {
        Rejection::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub fn conflict(reason: impl Into<String>) -> Rejection {
        Rejection::Conflict {
            reason: reason.into(),
        }
    }
}
