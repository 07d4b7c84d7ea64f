//! The 95598 service centre: what a work order is, its time limits, and its lifecycle.
//!
//! - [`taxonomy`]: the six business categories, their sub-types, complaint grades, channels;
//! - [`sla`]: dated service-level rule sets (the ten commitments and the 95598 time limits) and
//!   the deadlines of an order;
//! - [`pause`]: stopping the clock while waiting for the customer or a third party;
//! - [`lifecycle`]: the work-order state machine; [`repeat`]: repeat detection.
//!
//! Everything is pure: the caller passes the time of acceptance and the events; nothing here reads
//! the clock. The one exception to "no I/O" is [`RuleBook::load_dir`] (like
//! [`crate::calendar::Calendar::load_dir`]), which reads an operator's directory when asked. Sources are listed in reference/service-rules.md and named in each module.

pub mod lifecycle;
pub mod pause;
pub mod repeat;
pub mod sla;
pub mod taxonomy;

pub use lifecycle::{replay, Action, Event, OrderState, Satisfaction, Status, Trail};
pub use pause::{apply_pauses, Pause, PauseReason};
pub use repeat::{check_repeat, OrderRef, RepeatCheck, RepeatPolicy};
pub use sla::{Basis, Clock, DeadlineQuery, RuleBook, RuleSet, Schedule, Stage, StageDeadline};
pub use taxonomy::{Channel, ComplaintGrade, OrderKind, SubType};
