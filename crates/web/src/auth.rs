//! Who is calling: the session cookie (pages) or a bearer token (API), and the language.
//!
//! An API request without a valid login gets 401, a page request is sent to the login page; a
//! logged-in user without the role gets 403. Nothing is read before these checks.

use crate::error::ApiError;
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use bureau_app::access::Actor;
use bureau_app::AppError;
use bureau_domain::i18n::Lang;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const SESSION_COOKIE: &str = "bureau_session";
pub const LANG_COOKIE: &str = "bureau_lang";

/// Reads one cookie from the `Cookie` headers.
pub fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The language of a request before login: the language cookie, then `Accept-Language`, then Chinese.
pub fn request_lang(parts: &Parts) -> Lang {
    if let Some(l) = cookie(parts, LANG_COOKIE).and_then(|c| Lang::parse(&c)) {
        return l;
    }
    parts
        .headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(Lang::from_accept_language)
        .unwrap_or_default()
}

fn bearer(parts: &Parts) -> Option<String> {
    let h = parts.headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let token = h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer "))?;
    Some(token.trim().to_string())
}

/// A logged-in member of staff.
#[derive(Clone, Debug)]
pub struct StaffUser {
    pub actor: Actor,
    pub lang: Lang,
    pub token: String,
}

/// Logins checked in the last few seconds, so that a busy counter screen costs one lookup, not three
/// queries, per request. A logout removes the entry at once; other changes to a member of staff
/// (roles, deactivation) take effect within `TTL`.
#[derive(Default)]
pub struct ActorCache {
    entries: Mutex<HashMap<String, (Actor, Lang, Instant)>>,
}

impl ActorCache {
    const TTL: Duration = Duration::from_secs(30);

    fn get(&self, token: &str) -> Option<(Actor, Lang)> {
        let map = self.entries.lock().expect("actor cache lock");
        map.get(token).filter(|(_, _, at)| at.elapsed() < Self::TTL).map(|(a, l, _)| (a.clone(), *l))
    }

    fn put(&self, token: &str, actor: &Actor, lang: Lang) {
        let mut map = self.entries.lock().expect("actor cache lock");
        if map.len() > 10_000 {
            map.retain(|_, (_, _, at)| at.elapsed() < Self::TTL);
        }
        map.insert(token.to_string(), (actor.clone(), lang, Instant::now()));
    }

    pub fn forget(&self, token: &str) {
        self.entries.lock().expect("actor cache lock").remove(token);
    }
}

async fn resolve(parts: &Parts, state: &AppState) -> Result<StaffUser, AppError> {
    let token = bearer(parts).or_else(|| cookie(parts, SESSION_COOKIE)).ok_or(AppError::Unauthorized)?;
    if let Some((actor, lang)) = state.actors.get(&token) {
        return Ok(StaffUser { actor, lang, token });
    }
    let (actor, lang) = bureau_app::auth::staff_for_token(&state.store, &token).await?;
    let lang = Lang::parse(&lang).unwrap_or_default();
    state.actors.put(&token, &actor, lang);
    Ok(StaffUser { actor, lang, token })
}

/// For JSON endpoints: 401 without a valid login.
pub struct ApiStaff(pub StaffUser);

impl FromRequestParts<AppState> for ApiStaff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let lang = request_lang(parts);
        resolve(parts, state).await.map(ApiStaff).map_err(|e| ApiError::new(e, lang))
    }
}

/// For pages: to the login page without a valid login.
pub struct PageStaff(pub StaffUser);

impl FromRequestParts<AppState> for PageStaff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match resolve(parts, state).await {
            Ok(u) => Ok(PageStaff(u)),
            Err(AppError::Unauthorized) => {
                let next = parts.uri.path_and_query().map_or("/", |p| p.as_str());
                Err(Redirect::to(&format!("/login?next={}", urlencode(next))).into_response())
            }
            Err(e) => Err(crate::pages::error_page(&e, request_lang(parts))),
        }
    }
}

/// Percent-encodes a value for a query string.
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Only same-site paths may be a redirect target after login, never another site.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/customers?q=1")), "/customers?q=1");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(None), "/");
        assert_eq!(urlencode("/a b?x=张"), "/a%20b%3Fx%3D%E5%BC%A0");
    }
}
