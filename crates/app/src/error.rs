//! The error every use case returns. Adapters map it to an HTTP status or an exit code; internals
//! (database messages) are logged there and never shown to users.

use bureau_domain::error::FieldError;
use bureau_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Bad input: each field and why, in both languages.
    #[error("invalid input: {}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    /// The input is well formed but clashes with what is stored (e.g. a duplicate account).
    #[error("conflict: {0}")]
    Conflict(FieldError),
    #[error("{what} not found: {id}")]
    NotFound { what: &'static str, id: String },
    /// No valid login.
    #[error("not logged in")]
    Unauthorized,
    /// Logged in, but the role or the bureau scope does not allow it.
    #[error("not allowed")]
    Forbidden,
    /// Too many attempts (logins, one-time codes) from this account or address; try again after
    /// `retry_after_secs`.
    #[error("too many requests; retry after {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    #[error(transparent)]
    Store(StoreError),
}

pub type AppResult<T> = Result<T, AppError>;

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::Store(e)
    }
}

impl From<FieldError> for AppError {
    fn from(e: FieldError) -> Self {
        AppError::Invalid(vec![e])
    }
}

impl AppError {
    pub fn not_found(what: &'static str, id: impl Into<String>) -> AppError {
        AppError::NotFound { what, id: id.into() }
    }

    /// Maps a store `NotFound` to a named not-found error, leaving other errors as they are.
    pub fn or_not_found(e: StoreError, what: &'static str, id: &str) -> AppError {
        match e {
            StoreError::NotFound => AppError::not_found(what, id),
            other => AppError::Store(other),
        }
    }
}
