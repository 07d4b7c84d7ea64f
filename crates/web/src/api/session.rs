//! Logging in and out through the API.

use super::dto::{LoginRequest, LoginResponse, Me};
use crate::auth::{request_lang, ApiStaff};
use crate::error::{ApiError, ApiResult, ErrorResponse};
use crate::AppState;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use bureau_domain::i18n::Lang;
use bureau_store::Scope;

/// The caller's language, for handlers that run before a login.
pub struct RequestLang(pub Lang);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RequestLang {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestLang(request_lang(parts)))
    }
}

/// Logs a member of staff in and returns a bearer token.
#[utoipa::path(post, path = "/api/v1/login", tag = "session", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse),
              (status = 422, description = "missing or wrong user name or password", body = ErrorResponse)))]
pub async fn login(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    body: Result<Json<LoginRequest>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<LoginResponse>> {
    let Json(req) = body.map_err(|e| super::register::bad_json(e, lang))?;
    let lang = req.lang.as_deref().and_then(Lang::parse).unwrap_or(lang);
    let token = bureau_app::auth::login_staff(&state.store, &req.username, &req.password, lang.code())
        .await
        .map_err(|e| ApiError::new(e, lang))?;
    Ok(Json(LoginResponse { token, expires_in_seconds: bureau_app::auth::SESSION_SECONDS }))
}

/// Ends the session of the token used.
#[utoipa::path(post, path = "/api/v1/logout", tag = "session", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorResponse)))]
pub async fn logout(State(state): State<AppState>, ApiStaff(user): ApiStaff) -> ApiResult<StatusCode> {
    state.actors.forget(&user.token);
    bureau_app::auth::logout(&state.store, &user.token).await.map_err(|e| ApiError::new(e, user.lang))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who the token belongs to, their roles and the bureaus they may see.
#[utoipa::path(get, path = "/api/v1/me", tag = "session", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = ErrorResponse)))]
pub async fn me(ApiStaff(user): ApiStaff) -> Json<Me> {
    let a = &user.actor;
    Json(Me {
        id: a.staff_id.clone(),
        name: a.name.clone(),
        bureau_id: a.bureau_id.clone(),
        roles: a.roles.iter().map(|r| r.code().to_string()).collect(),
        scope: match &a.scope {
            Scope::All => None,
            Scope::Bureaus(b) => Some(b.clone()),
        },
        lang: user.lang.code().into(),
    })
}
