//! The rules of the trade of a power supply bureau (供电局), as pure types and functions.
//!
//! Nothing in this crate does I/O: no database, no clock, no network. Every rule that comes from a
//! regulation names its source in a doc comment, so that a reviewer can check the code against it.
//! Rules that change by date or by province are loaded from data files (see `data/` at the top of
//! the repository) and validated on load; the defaults ship with the program.

pub mod arrears;
pub mod bill;
pub mod calendar;
pub mod collection;
pub mod error;
pub mod i18n;
pub mod late_fee;
pub mod ledger;
pub mod money;
pub mod org;
pub mod outage_cause;
pub mod reading;
pub mod register;
pub mod service;
pub mod tariff;
