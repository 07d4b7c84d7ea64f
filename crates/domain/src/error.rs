//! Validation errors that name the field and the reason in both languages.

use crate::i18n::{Lang, Text};
use serde::Serialize;

/// Bad input: which field, a stable machine code, and the reason in Chinese and English.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{field}: {}", message.en)]
pub struct FieldError {
    /// The input field, as the user or the file names it (e.g. `phone`, `tariff_id`).
    pub field: String,
    /// A stable code for programs, e.g. `invalid`, `required`, `unknown`, `duplicate`.
    pub code: &'static str,
    pub message: Text,
}

impl FieldError {
    pub fn new(field: &str, code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        FieldError { field: field.to_string(), code, message: Text::new(zh, en) }
    }

    pub fn required(field: &str) -> Self {
        FieldError::new(field, "required", format!("{field} 不能为空"), format!("{field} is required"))
    }

    pub fn invalid(field: &str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        FieldError::new(field, "invalid", zh, en)
    }

    pub fn message(&self, lang: Lang) -> &str {
        self.message.get(lang)
    }
}

/// Returns the trimmed value, or a `required` error when it is empty.
pub fn required<'a>(field: &str, value: &'a str) -> Result<&'a str, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        Err(FieldError::required(field))
    } else {
        Ok(v)
    }
}
