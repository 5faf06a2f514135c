//! Who may do what. A principal is a person (or a bank's system) acting in one role; this module
//! owns the roles and the one table of which role may issue which command. `decide` consults it
//! before anything else, so the command line, the HTTP API and any later interface obey the same
//! table (`docs/http.md` prints it) and none of them can forget a check.
//!
//! Four eyes compares persons, not role labels: `maker:hoa` and `checker:hoa` are one person.

use super::command::Command;
use super::types::CitizenId;

pub use super::types::Role;

use Role::*;

/// The roles that may issue a command: the write half of the table in `docs/http.md`.
pub fn roles_for(command: &Command) -> &'static [Role] {
    roles_for_name(command.name())
}

/// The roles that may issue the command of this name (`Command::name`). The HTTP route table
/// takes its write routes' roles from here. A name not listed may be issued by nobody, so a new
/// command is refused until someone decides who may issue it.
pub fn roles_for_name(command: &str) -> &'static [Role] {
    match command {
        "enrol"
        | "import_roster"
        | "correct_details"
        | "set_payment_route"
        | "record_death"
        | "hold_for_review"
        | "clear_review"
        | "grant_entitlement"
        | "adjust_entitlement"
        | "suspend_entitlement"
        | "resume_entitlement"
        | "terminate_entitlement"
        | "record_identity_check" => &[Officer],
        // Whether a finding holds payments is the department's policy.
        "set_identity_check_mode" => &[Admin],
        // The finance office records the Treasury's allocation decision.
        "allocate_funds" => &[Checker],
        // Erasure ends a retention period: the case officer or the data-protection admin.
        "erase_personal_data" => &[Officer, Admin],
        "enact_rate_schedule" => &[Admin],
        "open_batch" | "compute_batch" => &[Maker],
        "cancel_batch" => &[Maker, Checker],
        "approve_batch" | "release_batch" | "close_batch" | "resolve_break" => &[Checker],
        // An auditor's download is a read and records nothing.
        "record_file_download" => &[Maker, Checker, Bank],
        "ingest_status_report" => &[Checker, Bank],
        // The writer signs checkpoints itself (`domain::checkpoints::CHECKPOINT_PRINCIPAL`).
        "record_checkpoint" => &[Admin],
        _ => &[],
    }
}

/// Whether a role reads citizen IDs whole: the officers who enrol and correct people need
/// them; finance staff, auditors, admins and banks identify a person by the ledger's id and
/// read the masked form (`001******123`). The dashboard and the API both follow this.
pub fn sees_citizen_ids(role: Role) -> bool {
    role == Officer
}

/// A citizen ID as `role` may read it: whole, or masked.
pub fn citizen_id_as_seen(role: Role, id: &CitizenId) -> String {
    match sees_citizen_ids(role) {
        true => id.expose().to_owned(),
        false => id.masked(),
    }
}

/// What a refusal says: "only a checker may approve_batch".
pub fn who_may(command: &Command) -> String {
    let names: Vec<&str> = roles_for(command).iter().map(|r| r.name()).collect();
    let article = |name: &str| match name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        true => "an",
        false => "a",
    };
    let who = match names.as_slice() {
        [] => "nobody".to_owned(),
        [first, ..] => format!("{} {}", article(first), names.join(" or ")),
    };
    format!("only {who} may {}", command.name().replace('_', " "))
}
