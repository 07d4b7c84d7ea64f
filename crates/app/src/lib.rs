//! The use cases of the bureau. Each function validates its input, calls the domain rules, and
//! writes through the store; the web and the CLI are thin adapters over these.

pub mod access;
pub mod arrears;
pub mod auth;
pub mod billing;
pub mod collection;
pub mod db;
pub mod demo;
pub mod error;
pub mod grid;
pub mod outbox;
pub mod payments;
pub mod portal;
pub mod register;
pub mod remittance;
pub mod service;

pub use error::{AppError, AppResult};
