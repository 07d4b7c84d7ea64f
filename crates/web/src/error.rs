//! Errors as HTTP answers. JSON errors have one stable shape:
//! `{"error": {"code": "...", "message": "...", "field": "..." | null, "fields": [...]}}`, in the
//! caller's language. Database internals are logged, never sent.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bureau_app::AppError;
use bureau_domain::error::FieldError;
use bureau_domain::i18n::Lang;
use serde::Serialize;

/// One field's problem in an error answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub code: String,
    pub message: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable machine code: `invalid`, `required`, `unknown`, `duplicate`, `not_found`,
    /// `unauthorized`, `forbidden`, `internal`, …
    pub code: String,
    pub message: String,
    /// The first field at fault, if any.
    pub field: Option<String>,
    /// Every field at fault.
    pub fields: Vec<FieldProblem>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorResponse {
    pub error: ErrorBody,
}

/// An error of a JSON endpoint, answered in `lang`.
pub struct ApiError {
    pub error: AppError,
    pub lang: Lang,
}

impl ApiError {
    pub fn new(error: AppError, lang: Lang) -> ApiError {
        ApiError { error, lang }
    }
}

pub fn status_of(e: &AppError) -> StatusCode {
    match e {
        AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        AppError::Conflict(_) => StatusCode::CONFLICT,
        AppError::NotFound { .. } => StatusCode::NOT_FOUND,
        AppError::Unauthorized => StatusCode::UNAUTHORIZED,
        AppError::Forbidden => StatusCode::FORBIDDEN,
        AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
        AppError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn problem(f: &FieldError, lang: Lang) -> FieldProblem {
    FieldProblem { field: f.field.clone(), code: f.code.to_string(), message: f.message(lang).to_string() }
}

/// The body for an error, in a language.
pub fn body_of(e: &AppError, lang: Lang) -> ErrorBody {
    let zh = lang == Lang::Zh;
    let plain = |code: &str, zh_msg: &str, en_msg: &str| ErrorBody {
        code: code.into(),
        message: if zh { zh_msg.into() } else { en_msg.into() },
        field: None,
        fields: vec![],
    };
    match e {
        AppError::Invalid(fields) => {
            let fields: Vec<FieldProblem> = fields.iter().map(|f| problem(f, lang)).collect();
            let first = fields.first();
            ErrorBody {
                code: first.map_or("invalid".into(), |f| f.code.clone()),
                message: fields
                    .iter()
                    .map(|f| format!("{}: {}", f.field, f.message))
                    .collect::<Vec<_>>()
                    .join("; "),
                field: first.map(|f| f.field.clone()),
                fields,
            }
        }
        AppError::Conflict(f) => {
            let p = problem(f, lang);
            ErrorBody {
                code: p.code.clone(),
                message: p.message.clone(),
                field: Some(p.field.clone()),
                fields: vec![p],
            }
        }
        AppError::NotFound { what, id } => ErrorBody {
            code: "not_found".into(),
            message: if zh { format!("未找到{what}：{id}") } else { format!("{what} not found: {id}") },
            field: None,
            fields: vec![],
        },
        AppError::Unauthorized => plain("unauthorized", "请先登录", "please log in"),
        AppError::Forbidden => plain("forbidden", "无权进行此操作", "you are not allowed to do this"),
        AppError::TooManyRequests { retry_after_secs } => ErrorBody {
            code: "too_many_requests".into(),
            message: if zh {
                format!("尝试次数过多，请{retry_after_secs}秒后再试")
            } else {
                format!("too many attempts; please try again in {retry_after_secs} seconds")
            },
            field: None,
            fields: vec![],
        },
        AppError::Store(_) => {
            plain("internal", "系统内部错误，请稍后再试", "internal error, please try again later")
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let AppError::Store(e) = &self.error {
            tracing::error!(error = %e, "request failed in the store");
        }
        let status = status_of(&self.error);
        let mut resp =
            (status, axum::Json(ErrorResponse { error: body_of(&self.error, self.lang) })).into_response();
        add_retry_after(&self.error, &mut resp);
        resp
    }
}

/// A `Retry-After` header (seconds) on a 429 answer, for API and pages alike.
pub fn add_retry_after(e: &AppError, resp: &mut Response) {
    if let AppError::TooManyRequests { retry_after_secs } = e {
        if let Ok(v) = axum::http::HeaderValue::from_str(&retry_after_secs.max(&1).to_string()) {
            resp.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
