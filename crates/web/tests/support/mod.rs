//! Shared helpers for the integration tests of `bureau-web`.
//!
//! A test file pulls them in with `mod support;`. Not every test uses every helper.
#![allow(dead_code)]

pub mod app;
pub mod browser;
