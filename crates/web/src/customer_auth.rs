//! Who is calling on the customer side: the portal cookie (pages) or a bearer token (API) of a
//! *customer* session, and the client's address for rate limits.
//!
//! Customer and staff logins never mix: the portal's cookie has its own name, the staff resolver
//! refuses customer sessions and [`resolve`] here refuses staff ones, so a token of one kind gets 401
//! (or the login page) on every route of the other.

use crate::auth::{cookie, request_lang, urlencode};
use crate::error::ApiError;
use crate::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use bureau_app::portal::CustomerSession;
use bureau_app::AppError;
use bureau_domain::i18n::Lang;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const CUSTOMER_COOKIE: &str = "bureau_customer";

/// Customer logins checked in the last few seconds, so that the bill query costs one indexed read
/// per request and no session lookup (tokens are random and looked up by their SHA-256 in the
/// database, never by an Argon2 check). A logout removes the entry at once.
#[derive(Default)]
pub struct CustomerCache {
    entries: Mutex<HashMap<String, (CustomerSession, Instant)>>,
}

impl CustomerCache {
    const TTL: Duration = Duration::from_secs(30);

    fn get(&self, token: &str) -> Option<CustomerSession> {
        let map = self.entries.lock().expect("customer cache lock");
        map.get(token).filter(|(_, at)| at.elapsed() < Self::TTL).map(|(s, _)| s.clone())
    }

    fn put(&self, token: &str, s: &CustomerSession) {
        let mut map = self.entries.lock().expect("customer cache lock");
        if map.len() > 100_000 {
            map.retain(|_, (_, at)| at.elapsed() < Self::TTL);
        }
        map.insert(token.to_string(), (s.clone(), Instant::now()));
    }

    pub fn forget(&self, token: &str) {
        self.entries.lock().expect("customer cache lock").remove(token);
    }

    /// Forgets every cached session of the customer except `keep` (after a password change, so
    /// that the ended sessions stop here at once, not when their cache entry would have expired).
    pub fn forget_customer(&self, customer_id: &str, keep: &str) {
        let mut map = self.entries.lock().expect("customer cache lock");
        map.retain(|token, (s, _)| s.customer_id != customer_id || token == keep);
    }
}

/// A logged-in customer and the token used.
#[derive(Clone, Debug)]
pub struct CustomerUser {
    pub session: CustomerSession,
    pub token: String,
}

impl CustomerUser {
    pub fn lang(&self) -> Lang {
        self.session.lang
    }
}

fn bearer(parts: &Parts) -> Option<String> {
    let h = parts.headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let token = h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer "))?;
    Some(token.trim().to_string())
}

async fn resolve(parts: &Parts, state: &AppState, use_cookie: bool) -> Result<CustomerUser, AppError> {
    let token = bearer(parts)
        .or_else(|| if use_cookie { cookie(parts, CUSTOMER_COOKIE) } else { None })
        .ok_or(AppError::Unauthorized)?;
    if let Some(session) = state.customers.get(&token) {
        return Ok(CustomerUser { session, token });
    }
    let session = bureau_app::portal::customer_for_token(&state.store, &token).await?;
    state.customers.put(&token, &session);
    Ok(CustomerUser { session, token })
}

/// For the customer JSON API: 401 without a customer bearer token.
pub struct ApiCustomer(pub CustomerUser);

impl FromRequestParts<AppState> for ApiCustomer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let lang = request_lang(parts);
        resolve(parts, state, false).await.map(ApiCustomer).map_err(|e| ApiError::new(e, lang))
    }
}

/// For portal pages: to the portal's login page without a customer login. The page language is the
/// language cookie (the switch), else the session's.
pub struct PageCustomer(pub CustomerUser);

impl FromRequestParts<AppState> for PageCustomer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match resolve(parts, state, true).await {
            Ok(mut u) => {
                if let Some(l) = cookie(parts, crate::auth::LANG_COOKIE).and_then(|c| Lang::parse(&c)) {
                    u.session.lang = l;
                }
                Ok(PageCustomer(u))
            }
            Err(AppError::Unauthorized) => {
                let next = parts.uri.path_and_query().map_or("/portal", |p| p.as_str());
                Err(Redirect::to(&format!("/portal/login?next={}", urlencode(next))).into_response())
            }
            Err(e) => Err(crate::pages::error_page(&e, request_lang(parts))),
        }
    }
}

/// The client's address, for the per-address rate limits: the TCP peer. (`X-Forwarded-For` is not
/// believed: anyone can send it. A bureau behind a reverse proxy should limit at the proxy too.)
pub struct ClientIp(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(|| "unknown".to_string(), |c| c.0.ip().to_string());
        Ok(ClientIp(ip))
    }
}
