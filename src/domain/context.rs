//! What `decide` is given besides the state and the command, and what it gives back: the
//! `Context` (who acts, what day it is by the writer's clock, the official codes), the
//! `Registry` of reference data it looks codes up in, and `Emitted` events with their
//! personal-data attachments. Apart from `decide` so that the decisions of `batch` can use them
//! without a cycle.

use super::event::{EnrolmentWarning, Event, PersonalData};
use super::types::{BankBin, CitizenId, CommuneCode, Date, Principal};

/// What the writer knows about a command besides its content.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    /// Who acts: a person in a role, which decides what they may do.
    pub principal: &'a Principal,
    /// Today's date by the writer's clock, for checks such as "no decision dated in the future".
    pub today: Date,
    /// The official codes commands are checked against.
    pub registry: &'a dyn Registry,
}

/// Official reference data as `decide` needs it: administrative units, banks and citizen-ID
/// prefixes. Implemented by `reference::Reference`, which loads it at the edge; `decide` only
/// looks things up.
pub trait Registry: Sync {
    /// The 2025 code of a commune given by its 2025 or pre-2025 code, with a warning when a
    /// pre-2025 code was mapped; an error message when the code is unknown or cannot be mapped.
    fn resolve_commune(
        &self,
        code: CommuneCode,
    ) -> Result<(CommuneCode, Option<EnrolmentWarning>), String>;
    /// An error message when no bank has this NAPAS BIN.
    fn check_bank(&self, bin: BankBin) -> Result<(), String>;
    /// A warning when the citizen ID's province prefix is unknown.
    fn citizen_id_prefix_warning(&self, id: &CitizenId) -> Option<EnrolmentWarning>;
}

/// One event to append, with its personal-data attachment (boxed: most events have none, and a
/// national batch's million `Emitted` are held at once while they are appended).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emitted {
    pub event: Event,
    pub personal: Option<Box<PersonalData>>,
}

impl Emitted {
    /// An event without personal data.
    pub fn plain(event: Event) -> Emitted {
        Emitted {
            event,
            personal: None,
        }
    }
}
