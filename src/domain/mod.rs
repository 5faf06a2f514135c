//! The domain core: value types, events, commands, state, `decide` and `apply`.
//! Pure by rule: nothing under `domain` does IO, reads a clock or draws a random number.

pub mod access;
pub mod batch;
pub mod calendar;
pub mod checkpoints;
pub mod checks;
pub mod command;
pub mod context;
pub mod decide;
pub mod drain;
pub mod encoding;
pub mod event;
pub mod funds;
pub mod identity;
pub mod rules;
pub mod slab;
pub mod state;
pub mod text;
pub mod types;

pub use command::{Command, Rejection};
pub use context::{Context, Emitted, Registry};
pub use decide::decide;
pub use event::{Event, PersonalData};
pub use state::{Attachment, State};
