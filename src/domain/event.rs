//! The domain events: everything that ever happens to a beneficiary, an entitlement, a rate
//! schedule, a batch, a payment file or a payment is one of these, appended to the chain.
//!
//! Events never carry personal data. A citizen ID, a name, a birth date, an address line or an
//! account number travels beside its event as a `PersonalData` attachment, which the chain
//! commits to by a salted hash and keeps in an erasable store (see `docs/chain-format.md`,
//! "Personal data"). Events refer to people by `BeneficiaryId`.
//!
//! Stored payloads are versioned: the chain records `payload_version` with every record, and
//! `crate::ledger::codec` decodes each version it has ever written. This enum is the *current* version
//! (1). Changing a variant's fields means freezing this enum as `EventV1` in `codec` and bumping
//! the version; appending a new variant at the end does not (bincode numbers variants in order).

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use super::types::{
    AccountNumber, BankBin, BatchId, BeneficiaryId, CitizenId, CommuneCode, Date, EntitlementId,
    FileId, Month, PaymentId, Programme, ProvinceCode, Sex, Vnd,
};

/// The State Treasury's allocation of funds to a programme for a period of months (issue 12,
/// `domain::funds`).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FundsAllocated {
    pub programme: Programme,
    pub from: Month,
    pub to: Month,
    /// The allocation decision (its number, date and signer).
    pub decision: Decision,
    pub amount: Vnd,
}

/// A 32-byte blake3 digest (content hashes of batches, files and status reports).
pub type Digest = [u8; 32];

/// One domain event. Variants larger than a payment line are boxed: a national batch holds a
/// million events at once while they are appended (and a bank's report hundreds of thousands),
/// so every event costs the size of the largest variant. Boxing changes neither the stored
/// bytes (bincode) nor the JSON (serde): a `Box<T>` encodes as its `T`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    BeneficiaryEnrolled(Box<BeneficiaryEnrolled>),
    BeneficiaryDetailsCorrected(BeneficiaryDetailsCorrected),
    PaymentRouteSet(PaymentRouteSet),
    BeneficiaryDeathRecorded(Box<BeneficiaryDeathRecorded>),
    BeneficiaryHeldForReview(BeneficiaryHeldForReview),
    BeneficiaryReviewCleared(Box<BeneficiaryReviewCleared>),
    RateScheduleEnacted(Box<RateScheduleEnacted>),
    EntitlementGranted(Box<EntitlementGranted>),
    EntitlementAdjusted(Box<EntitlementAdjusted>),
    EntitlementSuspended(Box<EntitlementSuspended>),
    EntitlementResumed(Box<EntitlementResumed>),
    EntitlementTerminated(Box<EntitlementTerminated>),
    BatchOpened(BatchOpened),
    PaymentScheduled(PaymentScheduled),
    BatchComputed(Box<BatchComputed>),
    BatchApproved(BatchApproved),
    BatchReleased(BatchReleased),
    BatchCancelled(BatchCancelled),
    BatchClosed(BatchClosed),
    PaymentFileIssued(Box<PaymentFileIssued>),
    PaymentFileDownloaded(PaymentFileDownloaded),
    StatusReportIngested(Box<StatusReportIngested>),
    PaymentSettled(PaymentSettled),
    PaymentReturned(PaymentReturned),
    ReconciliationBreakRecorded(Box<ReconciliationBreakRecorded>),
    CheckpointRecorded(Box<CheckpointRecorded>),
    PersonalDataErased(PersonalDataErased),
    ReconciliationBreakResolved(ReconciliationBreakResolved),
    // Issue 12 (appended: bincode numbers variants in order).
    IdentityCheckRecorded(Box<super::identity::IdentityCheckRecorded>),
    IdentityCheckModeSet(super::identity::IdentityCheckModeSet),
    FundsAllocated(Box<FundsAllocated>),
}

/// The most bytes one `Event` may take in memory: a `PaymentScheduled` and its tag. A variant
/// that grows past it is boxed (see `Event`).
pub const EVENT_BYTES_MAX: usize = 72;
const _: () = assert!(std::mem::size_of::<Event>() <= EVENT_BYTES_MAX);

impl Event {
    /// A short stable name, used in listings, metrics and the OpenAPI document.
    pub fn name(&self) -> &'static str {
        match self {
            Event::BeneficiaryEnrolled(_) => "beneficiary_enrolled",
            Event::BeneficiaryDetailsCorrected(_) => "beneficiary_details_corrected",
            Event::PaymentRouteSet(_) => "payment_route_set",
            Event::BeneficiaryDeathRecorded(_) => "beneficiary_death_recorded",
            Event::BeneficiaryHeldForReview(_) => "beneficiary_held_for_review",
            Event::BeneficiaryReviewCleared(_) => "beneficiary_review_cleared",
            Event::RateScheduleEnacted(_) => "rate_schedule_enacted",
            Event::EntitlementGranted(_) => "entitlement_granted",
            Event::EntitlementAdjusted(_) => "entitlement_adjusted",
            Event::EntitlementSuspended(_) => "entitlement_suspended",
            Event::EntitlementResumed(_) => "entitlement_resumed",
            Event::EntitlementTerminated(_) => "entitlement_terminated",
            Event::BatchOpened(_) => "batch_opened",
            Event::PaymentScheduled(_) => "payment_scheduled",
            Event::BatchComputed(_) => "batch_computed",
            Event::BatchApproved(_) => "batch_approved",
            Event::BatchReleased(_) => "batch_released",
            Event::BatchCancelled(_) => "batch_cancelled",
            Event::BatchClosed(_) => "batch_closed",
            Event::PaymentFileIssued(_) => "payment_file_issued",
            Event::PaymentFileDownloaded(_) => "payment_file_downloaded",
            Event::StatusReportIngested(_) => "status_report_ingested",
            Event::PaymentSettled(_) => "payment_settled",
            Event::PaymentReturned(_) => "payment_returned",
            Event::ReconciliationBreakRecorded(_) => "reconciliation_break_recorded",
            Event::CheckpointRecorded(_) => "checkpoint_recorded",
            Event::PersonalDataErased(_) => "personal_data_erased",
            Event::ReconciliationBreakResolved(_) => "reconciliation_break_resolved",
            Event::IdentityCheckRecorded(_) => "identity_check_recorded",
            Event::IdentityCheckModeSet(_) => "identity_check_mode_set",
            Event::FundsAllocated(_) => "funds_allocated",
        }
    }
}

/// Personal data that travels beside an event, never inside it: the personal fields of one
/// record. An enrolment carries the identity (and the account of a bank route), a route change
/// the account, a correction the new identity. Versioned by the first byte of its stored form
/// (see `codec::encode_personal`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Encode, Decode, Serialize, Deserialize)]
pub struct PersonalData {
    pub identity: Option<Identity>,
    pub account: Option<BankAccountDetails>,
}

/// Who a beneficiary is. Kept only in the erasable personal-data store.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Identity {
    pub citizen_id: CitizenId,
    pub full_name: String,
    pub birth_date: Date,
    pub sex: Sex,
    /// Street, hamlet or village; the commune is the (non-personal) `CommuneCode` on the event.
    pub address_line: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct BankAccountDetails {
    pub account_number: AccountNumber,
    pub holder_name: String,
}

/// The signed decision behind a record: its number, date and signer.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Decision {
    pub number: String,
    pub date: Date,
    pub signer: String,
}

/// A check the enrolment made that did not hold but does not block enrolment.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EnrolmentWarning {
    /// The citizen ID's first three digits are not a known province-of-registration code.
    CitizenIdPrefixUnknown { prefix: String },
    /// The century digit does not agree with the birth year.
    CitizenIdCenturyDisagrees,
    /// The sex digit does not agree with the recorded sex.
    CitizenIdSexDisagrees,
    /// The year digits do not agree with the birth year.
    CitizenIdYearDisagrees,
    /// A pre-2025 commune code was given and mapped to its 2025 successor.
    CommuneCodeMapped { from: CommuneCode },
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BeneficiaryEnrolled {
    pub beneficiary: BeneficiaryId,
    pub programme: Programme,
    pub commune: CommuneCode,
    /// The payment route, when the enrolment gives one (its account details are personal data).
    pub route: Option<Route>,
    pub decision: Option<Decision>,
    pub warnings: Vec<EnrolmentWarning>,
}

/// New details for a beneficiary; the old values stay in the earlier events.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BeneficiaryDetailsCorrected {
    pub beneficiary: BeneficiaryId,
    /// A new commune, when the correction moves the address within the province.
    pub commune: Option<CommuneCode>,
    pub reason: String,
    pub warnings: Vec<EnrolmentWarning>,
}

/// How a beneficiary is paid.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Encode,
    Decode,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Route {
    /// Credit transfer to an account at the bank with this NAPAS BIN; the account number and
    /// holder name are the event's personal-data attachment.
    Bank { bin: BankBin },
    /// Cash at the pay point of this commune.
    Cash { pay_point: CommuneCode },
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PaymentRouteSet {
    pub beneficiary: BeneficiaryId,
    pub route: Route,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BeneficiaryDeathRecorded {
    pub beneficiary: BeneficiaryId,
    pub date_of_death: Date,
    pub decision: Option<Decision>,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HoldReason {
    /// The bank returned a payment as "beneficiary deceased" (ISO reason MD07).
    DeceasedReturn {
        payment: PaymentId,
    },
    Other {
        note: String,
    },
}

/// Keeps a beneficiary out of batches until a decision clears the hold.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BeneficiaryHeldForReview {
    pub beneficiary: BeneficiaryId,
    pub reason: HoldReason,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BeneficiaryReviewCleared {
    pub beneficiary: BeneficiaryId,
    pub decision: Decision,
    pub note: String,
}

/// One value of a rate schedule: an amount, or a coefficient of a base level in thousandths
/// (BTXH coefficients are multiples of 0.5, so 2.5 is 2500).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(tag = "unit", content = "value", rename_all = "snake_case")]
pub enum RateValue {
    Amount(Vnd),
    CoefficientMilli(u32),
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RateEntry {
    /// Stable key of the rate, e.g. `btxh.base`, `ncc.annex1.3.1`, `ncc.annex2.61`.
    pub key: String,
    pub value: RateValue,
}

/// A rate schedule as enacted: bitemporal, with the month its levels apply from and the date the
/// instrument came into force (often later, which creates arrears).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RateScheduleEnacted {
    /// Stable identifier of the schedule, e.g. `ncc-nd77-2024`.
    pub schedule: String,
    pub programme: Programme,
    /// The instrument, e.g. `ND 77/2024/NĐ-CP`.
    pub instrument: String,
    pub applies_from: Month,
    pub enacted_on: Date,
    /// A provincial schedule (a People's Council top-up) or `None` for the national one.
    pub province: Option<ProvinceCode>,
    pub entries: Vec<RateEntry>,
    /// blake3 of the data file the schedule was loaded from.
    #[schema(value_type = Vec<u8>)]
    pub source_digest: Digest,
}

/// A parameter of an entitlement decision that the rules read. New kinds are appended at the end.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "param", content = "value", rename_all = "snake_case")]
pub enum SchemeParam {
    /// Body-injury rate of a war invalid, sick soldier or Agent Orange victim, 1-100.
    InjuryRatePct(u8),
    /// Especially severe wound or especially severe disability.
    EspeciallySevere,
    /// Number of children (single-parent per-child allowance).
    Children(u8),
    /// Seniority units (thâm niên) of a pre-1945 activist, from the decision letter.
    SeniorityUnits(u16),
    /// Number of martyrs (relative of martyrs).
    Martyrs(u8),
    /// A survivor living alone or a full orphan (extra care allowance).
    LivingAlone,
    /// The person is paid as a carer of another beneficiary.
    CarerOf(BeneficiaryId),
    /// Poor or near-poor household.
    PoorHousehold,
    /// Resident of an especially difficult ethnic-minority or mountain commune.
    DifficultArea,
    /// Still studying (ages 16-22).
    Studying,
    /// The person has a pension or monthly social-insurance benefit.
    HasPension,
    /// Cared for in a social-protection facility.
    InFacility,
    /// A disabled woman who is pregnant (ND 20/2021 Art 20(2)(a)). Appended: bincode encodes
    /// the variant index.
    Pregnant,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EntitlementKind {
    /// Due every month from `effective_from` until suspended or terminated.
    Monthly,
    /// Due once, in the given month (funeral support, NCC three-month death lump sum, ...).
    OneOff { month: Month },
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EntitlementGranted {
    pub entitlement: EntitlementId,
    pub beneficiary: BeneficiaryId,
    pub programme: Programme,
    /// Scheme code understood by the rules, e.g. `btxh.disability_especially_severe`,
    /// `ncc.war_invalid`.
    pub scheme: String,
    pub params: Vec<SchemeParam>,
    pub kind: EntitlementKind,
    pub effective_from: Month,
    pub decision: Decision,
    /// Who receives the money when it is not the subject (a carer or guardian).
    pub payee: Option<BeneficiaryId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EntitlementAdjusted {
    pub entitlement: EntitlementId,
    pub effective_from: Month,
    pub scheme: Option<String>,
    pub params: Option<Vec<SchemeParam>>,
    pub decision: Decision,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SuspensionReason {
    /// Not collected for three or more consecutive months.
    Uncollected,
    RefusedReassessment,
    Detention,
    Imprisonment,
    Missing,
    /// Payment stopped while a suspected fraud is verified.
    FraudInvestigation,
    Other {
        note: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EntitlementSuspended {
    pub entitlement: EntitlementId,
    /// First month not paid.
    pub from: Month,
    pub reason: SuspensionReason,
    pub decision: Decision,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EntitlementResumed {
    pub entitlement: EntitlementId,
    /// First month paid again as a regular month.
    pub from: Month,
    /// With back pay, the suspended months from this one on become due again (as arrears).
    pub back_pay_from: Option<Month>,
    pub decision: Decision,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TerminationReason {
    Death {
        date: Date,
    },
    /// Moved to another province; the new place pays from the month after `last_month`.
    MovedOut {
        to_province: ProvinceCode,
    },
    LostEligibility,
    /// Fraud confirmed: everything paid from `recover_from` on is recovered.
    Fraud {
        recover_from: Month,
    },
    Other {
        note: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EntitlementTerminated {
    pub entitlement: EntitlementId,
    /// The last month due; nothing is due after it.
    pub last_month: Month,
    pub reason: TerminationReason,
    pub decision: Decision,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BatchKind {
    Regular,
    /// Late additions to a month whose regular batch was already released.
    Supplementary {
        of: BatchId,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BatchOpened {
    pub batch: BatchId,
    pub programme: Programme,
    pub month: Month,
    pub funding_account: String,
    pub kind: BatchKind,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    Regular,
    Arrears,
    Recovery,
    OneOff,
}

/// One itemised line of a payment: what it pays for (entitlement and source month) and why.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PaymentItem {
    pub entitlement: EntitlementId,
    pub source_month: Month,
    pub kind: ItemKind,
    pub amount: Vnd,
    /// The rule and rate entry behind the amount, e.g. `ncc.annex2.61@ncc-nd77-2024`.
    pub rule: String,
}

/// One payment line of a computed batch: one person, one route.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PaymentScheduled {
    pub payment: PaymentId,
    pub batch: BatchId,
    pub beneficiary: BeneficiaryId,
    pub route: Route,
    pub amount: Vnd,
    pub items: Vec<PaymentItem>,
}

/// Count and sum of a set of payment lines.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Encode,
    Decode,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
pub struct ControlTotals {
    pub count: u64,
    pub sum: Vnd,
}

impl ControlTotals {
    pub fn add(&mut self, amount: Vnd) {
        self.count += 1;
        self.sum = self.sum + amount;
    }
}

/// Where a payment goes: a bank (by BIN) or the cash channel.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Encode,
    Decode,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(tag = "kind", content = "bin", rename_all = "snake_case")]
pub enum Channel {
    Bank(BankBin),
    Cash,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BatchComputed {
    pub batch: BatchId,
    /// The sequence number of the last record the computation read.
    pub basis_seq: u64,
    /// blake3 over the batch's payment lines in order (see docs/batches.md).
    #[schema(value_type = Vec<u8>)]
    pub content_hash: Digest,
    pub totals: ControlTotals,
    pub by_channel: Vec<(Channel, ControlTotals)>,
}

/// A checker's approval of exactly one computed content.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BatchApproved {
    pub batch: BatchId,
    #[schema(value_type = Vec<u8>)]
    pub content_hash: Digest,
    pub totals: ControlTotals,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BatchReleased {
    pub batch: BatchId,
    #[schema(value_type = Vec<u8>)]
    pub content_hash: Digest,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BatchCancelled {
    pub batch: BatchId,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BatchClosed {
    pub batch: BatchId,
    pub released: ControlTotals,
    pub settled: ControlTotals,
    pub returned: ControlTotals,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Encode,
    Decode,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    /// ISO 20022 pain.001.001.09 customer credit transfer initiation.
    Pain001V09,
    /// The CSV alternative with a count-and-sum trailer.
    Csv,
    /// The cash list of one pay point.
    CashList,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PaymentFileIssued {
    pub file: FileId,
    pub batch: BatchId,
    pub channel: Channel,
    /// The pay point of a cash list.
    pub pay_point: Option<CommuneCode>,
    pub format: FileFormat,
    pub name: String,
    #[schema(value_type = Vec<u8>)]
    pub digest: Digest,
    pub bytes: u64,
    pub totals: ControlTotals,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PaymentFileDownloaded {
    pub file: FileId,
    #[schema(value_type = Vec<u8>)]
    pub digest: Digest,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum StatusFormat {
    Pain002V10,
    Csv,
}

/// A bank status report was read; its lines follow as settled, returned or break events.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatusReportIngested {
    #[schema(value_type = Vec<u8>)]
    pub digest: Digest,
    /// The bank whose payments the report is about, or the cash channel (a pay agent's report).
    pub channel: Channel,
    pub format: StatusFormat,
    pub message_id: String,
    pub lines: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PaymentSettled {
    pub payment: PaymentId,
    #[schema(value_type = Vec<u8>)]
    pub report: Digest,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PaymentReturned {
    pub payment: PaymentId,
    /// ISO 20022 status reason code, e.g. AC01, AC04, MD07.
    pub reason_code: String,
    #[schema(value_type = Vec<u8>)]
    pub report: Digest,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BreakKind {
    /// The report names an EndToEndId the ledger never issued.
    UnknownEndToEndId { end_to_end_id: String },
    AmountMismatch {
        payment: PaymentId,
        expected: Vnd,
        reported: Vnd,
    },
    /// The payment was already reported with a different outcome.
    ConflictingStatus { payment: PaymentId },
    /// The payment belongs to another bank than the report's.
    WrongBank {
        payment: PaymentId,
        payment_bank: Channel,
    },
    /// The payment's batch was never released.
    NotReleased { payment: PaymentId },
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReconciliationBreakRecorded {
    pub batch: Option<BatchId>,
    #[schema(value_type = Vec<u8>)]
    pub report: Digest,
    pub kind: BreakKind,
}

/// A signed statement of the chain's Merkle root at a size (C6).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckpointRecorded {
    pub tree_size: u64,
    #[schema(value_type = Vec<u8>)]
    pub root: Digest,
    pub key_name: String,
    pub signature: Vec<u8>,
}

/// Personal data of these records was erased from the personal-data store; the records still
/// verify, because the chain holds only salted commitments.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PersonalDataErased {
    pub beneficiary: BeneficiaryId,
    pub records: Vec<u64>,
    pub legal_basis: String,
}

/// A reconciliation break was explained (for example, the bank corrected its report) by a
/// named person; a batch closes only when every break of it is resolved.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReconciliationBreakResolved {
    /// The sequence number of the break's record.
    pub break_seq: u64,
    pub note: String,
}
