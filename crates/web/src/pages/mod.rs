//! The staff console: server-rendered pages, Chinese first with an English switch.

use crate::auth::{request_lang, safe_next, urlencode, PageStaff, StaffUser, LANG_COOKIE, SESSION_COOKIE};
use crate::i18n::Tr;
use crate::AppState;
use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use bureau_app::register as reg;
use bureau_app::AppError;
use bureau_domain::i18n::Lang;

use serde::Deserialize;

pub(crate) mod arrears;
pub(crate) mod bank;
pub(crate) mod bill_exceptions;
pub(crate) mod billing;
pub(crate) mod bills;
pub(crate) mod funds;
pub mod grid;
pub(crate) mod knowledge;
pub(crate) mod outbox;
pub(crate) mod payments;
pub mod portal;
mod portal_chart;
pub(crate) mod roster;
pub(crate) mod service;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/lang/{code}", get(switch_lang))
        .route("/customers", get(customers))
        .route("/customers/{id}", get(customer))
        .route("/books", get(books))
        .route("/staff", get(staff))
        .route("/org", get(org))
        .route("/grid", get(grid))
        .route("/import", get(import_form).post(import))
        .route("/static/app.css", get(css))
        .merge(arrears::router())
        .merge(billing::router())
        .merge(bills::router())
        .merge(funds::router())
        .merge(bill_exceptions::router())
        .merge(payments::router())
        .merge(bank::router())
        .merge(grid::router())
        .merge(service::router())
        .merge(roster::router())
        .merge(outbox::router())
        .merge(knowledge::router())
        .merge(portal::router())
}

/// The logged-in user as the layout shows them.
pub struct UserView {
    pub name: String,
    pub staff_id: String,
}

fn view(u: &StaffUser) -> Option<UserView> {
    Some(UserView { name: u.actor.name.clone(), staff_id: u.actor.staff_id.clone() })
}

fn here(uri: &Uri) -> String {
    urlencode(uri.path_and_query().map_or("/", |p| p.as_str()))
}

fn render(t: impl Template, status: StatusCode) -> Response {
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    t: Tr,
    user: Option<UserView>,
    here: String,
    message: String,
}

/// An error as a page, with the status the API would give.
pub fn error_page(e: &AppError, lang: Lang) -> Response {
    if let AppError::Store(inner) = e {
        tracing::error!(error = %inner, "page failed in the store");
    }
    let body = crate::error::body_of(e, lang);
    let mut resp = render(
        ErrorPage { t: Tr::new(lang), user: None, here: "/".into(), message: body.message },
        crate::error::status_of(e),
    );
    crate::error::add_retry_after(e, &mut resp);
    resp
}

async fn css() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "max-age=3600")],
        include_str!("../../static/app.css"),
    )
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    t: Tr,
    user: Option<UserView>,
    here: String,
    next: String,
    username: String,
    error: Option<String>,
}

#[derive(Deserialize)]
struct NextParam {
    next: Option<String>,
}

async fn login_form(headers: HeaderMap, uri: Uri, Query(p): Query<NextParam>) -> Response {
    let lang = lang_of(&headers, &uri);
    render(
        LoginPage {
            t: Tr::new(lang),
            user: None,
            here: here(&uri),
            next: safe_next(p.next.as_deref()),
            username: String::new(),
            error: None,
        },
        StatusCode::OK,
    )
}

fn lang_of(headers: &HeaderMap, uri: &Uri) -> Lang {
    let mut req = axum::http::Request::new(());
    *req.headers_mut() = headers.clone();
    *req.uri_mut() = uri.clone();
    let (parts, _) = req.into_parts();
    request_lang(&parts)
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

fn session_cookie(token: &str, max_age: i64) -> String {
    format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}")
}

async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Form(f): Form<LoginForm>,
) -> Response {
    let lang = lang_of(&headers, &uri);
    match bureau_app::auth::login_staff(&state.store, &f.username, &f.password, lang.code()).await {
        Ok(token) => {
            let next = safe_next(f.next.as_deref());
            (
                StatusCode::SEE_OTHER,
                [
                    (header::SET_COOKIE, session_cookie(&token, bureau_app::auth::SESSION_SECONDS)),
                    (header::LOCATION, next),
                ],
            )
                .into_response()
        }
        Err(AppError::Invalid(errors)) => {
            let message = errors.iter().map(|e| e.message(lang).to_string()).collect::<Vec<_>>().join("; ");
            render(
                LoginPage {
                    t: Tr::new(lang),
                    user: None,
                    here: here(&uri),
                    next: safe_next(f.next.as_deref()),
                    username: f.username,
                    error: Some(message),
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e) => error_page(&e, lang),
    }
}

async fn logout(State(state): State<AppState>, PageStaff(user): PageStaff) -> Response {
    state.actors.forget(&user.token);
    if let Err(e) = bureau_app::auth::logout(&state.store, &user.token).await {
        return error_page(&e, user.lang);
    }
    (
        StatusCode::SEE_OTHER,
        [(header::SET_COOKIE, session_cookie("", 0)), (header::LOCATION, "/login".to_string())],
    )
        .into_response()
}

/// Switches the language: remembered in a cookie, and in the session when logged in.
async fn switch_lang(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(code): Path<String>,
    Query(p): Query<NextParam>,
) -> Response {
    let lang = Lang::parse(&code).unwrap_or_default();
    let mut req = axum::http::Request::new(());
    *req.headers_mut() = headers;
    let (parts, _) = req.into_parts();
    if let Some(token) = crate::auth::cookie(&parts, SESSION_COOKIE) {
        state.actors.forget(&token);
        let _ = state.store.set_session_lang(&bureau_app::auth::token_hash(&token), lang.code()).await;
    }
    let cookie = format!("{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000", lang.code());
    (StatusCode::SEE_OTHER, [(header::SET_COOKIE, cookie), (header::LOCATION, safe_next(p.next.as_deref()))])
        .into_response()
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    t: Tr,
    user: Option<UserView>,
    here: String,
    name: String,
    bureau: String,
    roles: String,
    customers: u64,
    books: usize,
    staff: usize,
    transformers: usize,
}

async fn home(State(state): State<AppState>, PageStaff(user): PageStaff, uri: Uri) -> Response {
    let a = &user.actor;
    let s = &state.store;
    let result = async {
        let customers = s.count_customers(&a.scope).await?;
        let books = s.list_books(&a.scope).await?.len();
        let staff = s.list_staff(&a.scope).await?.len();
        let transformers = s.grid_nodes(&a.scope).await?.iter().filter(|n| n.kind == "load").count();
        let units = s.list_org_units().await?;
        let bureau = units.iter().find(|u| u.id == a.bureau_id).map_or(a.bureau_id.clone(), |u| {
            if user.lang == Lang::Zh {
                u.name_zh.clone()
            } else {
                u.name_en.clone()
            }
        });
        Ok::<_, bureau_store::StoreError>((customers, books, staff, transformers, bureau))
    }
    .await;
    match result {
        Ok((customers, books, staff, transformers, bureau)) => render(
            HomePage {
                t: Tr::new(user.lang),
                user: view(&user),
                here: here(&uri),
                name: a.name.clone(),
                bureau,
                roles: a.roles.iter().map(|r| r.name(user.lang)).collect::<Vec<_>>().join("、"),
                customers,
                books,
                staff,
                transformers,
            },
            StatusCode::OK,
        ),
        Err(e) => error_page(&e.into(), user.lang),
    }
}

#[derive(Template)]
#[template(path = "customers.html")]
struct CustomersPage {
    t: Tr,
    user: Option<UserView>,
    here: String,
    q: String,
    customers: Vec<bureau_domain::register::Customer>,
}

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

async fn customers(
    State(state): State<AppState>,
    PageStaff(user): PageStaff,
    uri: Uri,
    Query(p): Query<SearchQuery>,
) -> Response {
    let q = p.q.unwrap_or_default().trim().to_string();
    let found = if q.is_empty() {
        Ok(Vec::new())
    } else {
        reg::search_customers(&state.store, &user.actor, &q, 50).await
    };
    match found {
        Ok(customers) => render(
            CustomersPage { t: Tr::new(user.lang), user: view(&user), here: here(&uri), q, customers },
            StatusCode::OK,
        ),
        Err(e) => error_page(&e, user.lang),
    }
}

#[derive(Template)]
#[template(path = "customer.html")]
struct CustomerPage {
    t: Tr,
    user: Option<UserView>,
    here: String,
    r: reg::CustomerRecord,
}

async fn customer(
    State(state): State<AppState>,
    PageStaff(user): PageStaff,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    match reg::customer_record(&state.store, &user.actor, &id).await {
        Ok(r) => render(
            CustomerPage { t: Tr::new(user.lang), user: view(&user), here: here(&uri), r },
            StatusCode::OK,
        ),
        Err(e) => error_page(&e, user.lang),
    }
}

#[derive(Template)]
#[template(path = "books.html")]
struct BooksPage {
    t: Tr,
    user: Option<UserView>,
    here: String,
    books: Vec<bureau_domain::register::ReadingBook>,
}

async fn books(State(state): State<AppState>, PageStaff(user): PageStaff, uri: Uri) -> Response {
    if let Err(e) = user.actor.require_any(reg::READERS) {
        return error_page(&e, user.lang);
    }
    match state.store.list_books(&user.actor.scope).await {
        Ok(books) => render(
            BooksPage { t: Tr::new(user.lang), user: view(&user), here: here(&uri), books },
            StatusCode::OK,
        ),
        Err(e) => error_page(&e.into(), user.lang),
    }
}

#[derive(Template)]
#[template(path = "staff.html")]
struct StaffPage {
    t: Tr,
    user: Option<UserView>,
    here: String,
    /// (login, name, unit, roles, phone)
    staff: Vec<(String, String, String, String, String)>,
}

async fn staff(State(state): State<AppState>, PageStaff(user): PageStaff, uri: Uri) -> Response {
    if let Err(e) = user.actor.require_any(&[bureau_domain::org::Role::Manager]) {
        return error_page(&e, user.lang);
    }
    let lang = user.lang;
    let result = async {
        let units = state.store.list_org_units().await?;
        let staff = state.store.list_staff(&user.actor.scope).await?;
        Ok::<_, bureau_store::StoreError>(
            staff
                .into_iter()
                .map(|s| {
                    let unit =
                        units.iter().find(|u| u.id == s.org_unit_id).map_or(s.org_unit_id.clone(), |u| {
                            if lang == Lang::Zh {
                                u.name_zh.clone()
                            } else {
                                u.name_en.clone()
                            }
                        });
                    let roles = s.roles.iter().map(|r| r.name(lang)).collect::<Vec<_>>().join("、");
                    (s.id, s.name, unit, roles, s.phone.unwrap_or_default())
                })
                .collect(),
        )
    }
    .await;
    match result {
        Ok(staff) => {
            render(StaffPage { t: Tr::new(lang), user: view(&user), here: here(&uri), staff }, StatusCode::OK)
        }
        Err(e) => error_page(&e.into(), lang),
    }
}

#[derive(Template)]
#[template(path = "org.html")]
struct OrgPage {
    t: Tr,
    user: Option<UserView>,
    here: String,
    /// (depth, name, level, id) in tree order.
    units: Vec<(usize, String, String, String)>,
}

async fn org(State(state): State<AppState>, PageStaff(user): PageStaff, uri: Uri) -> Response {
    let lang = user.lang;
    let units = match state.store.list_org_units().await {
        Ok(u) => u,
        Err(e) => return error_page(&e.into(), lang),
    };
    let mut rows = Vec::new();
    fn walk(
        units: &[bureau_store::OrgUnit],
        parent: Option<&str>,
        depth: usize,
        lang: Lang,
        rows: &mut Vec<(usize, String, String, String)>,
    ) {
        for u in units.iter().filter(|u| u.parent_id.as_deref() == parent) {
            let name = if lang == Lang::Zh { u.name_zh.clone() } else { u.name_en.clone() };
            rows.push((depth, name, u.level.name(lang).to_string(), u.id.clone()));
            walk(units, Some(&u.id), depth + 1, lang, rows);
        }
    }
    walk(&units, None, 0, lang, &mut rows);
    render(OrgPage { t: Tr::new(lang), user: view(&user), here: here(&uri), units: rows }, StatusCode::OK)
}

#[derive(Template)]
#[template(path = "grid.html")]
struct GridPage {
    t: Tr,
    user: Option<UserView>,
    here: String,
    nodes: usize,
    branches: usize,
    transformers: usize,
    /// (feeder head id, name, transformers, customers)
    feeders: Vec<(String, String, usize, i64)>,
}

async fn grid(State(state): State<AppState>, PageStaff(user): PageStaff, uri: Uri) -> Response {
    let result = async {
        let nodes = state.store.grid_nodes(&user.actor.scope).await?;
        let branches = state.store.grid_branches(&user.actor.scope).await?;
        Ok::<_, bureau_store::StoreError>((nodes, branches))
    }
    .await;
    let (nodes, branches) = match result {
        Ok(x) => x,
        Err(e) => return error_page(&e.into(), user.lang),
    };
    // A feeder is everything fed through a breaker leaving a source bus; count what hangs on it.
    let mut feeders = Vec::new();
    let sources: std::collections::HashSet<&str> =
        nodes.iter().filter(|n| n.kind == "source").map(|n| n.id.as_str()).collect();
    let mut children: std::collections::HashMap<&str, Vec<&str>> = std::collections::HashMap::new();
    for b in branches.iter().filter(|b| !b.normal_open) {
        children.entry(b.from_node.as_str()).or_default().push(b.to_node.as_str());
    }
    let by_id: std::collections::HashMap<&str, &bureau_store::GridNode> =
        nodes.iter().map(|n| (n.id.as_str(), n)).collect();
    for b in branches.iter().filter(|b| sources.contains(b.from_node.as_str()) && b.kind == "breaker") {
        let (mut loads, mut customers) = (0usize, 0i64);
        let mut stack = vec![b.to_node.as_str()];
        let mut seen = std::collections::HashSet::new();
        while let Some(n) = stack.pop() {
            if !seen.insert(n) {
                continue;
            }
            if let Some(node) = by_id.get(n) {
                if node.kind == "load" {
                    loads += 1;
                    customers += node.customers;
                }
            }
            stack.extend(children.get(n).into_iter().flatten());
        }
        let name = by_id.get(b.to_node.as_str()).map_or(String::new(), |n| n.name.clone());
        feeders.push((b.id.clone(), name, loads, customers));
    }
    let transformers = nodes.iter().filter(|n| n.kind == "load").count();
    render(
        GridPage {
            t: Tr::new(user.lang),
            user: view(&user),
            here: here(&uri),
            nodes: nodes.len(),
            branches: branches.len(),
            transformers,
            feeders,
        },
        StatusCode::OK,
    )
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    t: Tr,
    user: Option<UserView>,
    here: String,
    kinds: Vec<&'static str>,
    report: Option<crate::api::ImportReport>,
    error: Option<String>,
}

fn import_page(
    user: &StaffUser,
    uri: &Uri,
    report: Option<crate::api::ImportReport>,
    error: Option<String>,
) -> ImportPage {
    ImportPage {
        t: Tr::new(user.lang),
        user: view(user),
        here: here(uri),
        kinds: reg::ImportKind::ALL.iter().map(|k| k.code()).collect(),
        report,
        error,
    }
}

async fn import_form(PageStaff(user): PageStaff, uri: Uri) -> Response {
    render(import_page(&user, &uri, None, None), StatusCode::OK)
}

async fn import(
    State(state): State<AppState>,
    PageStaff(user): PageStaff,
    uri: Uri,
    mut form: Multipart,
) -> Response {
    let (mut kind, mut file) = (None, None);
    while let Ok(Some(field)) = form.next_field().await {
        match field.name() {
            Some("kind") => kind = field.text().await.ok(),
            Some("file") => file = field.bytes().await.ok(),
            _ => {}
        }
    }
    let lang = user.lang;
    let Some(kind) = kind.as_deref().and_then(reg::ImportKind::parse) else {
        let msg = if lang == Lang::Zh { "请选择数据类型" } else { "choose what the file holds" };
        return render(import_page(&user, &uri, None, Some(msg.into())), StatusCode::UNPROCESSABLE_ENTITY);
    };
    let Some(file) = file else {
        let msg = if lang == Lang::Zh { "请选择文件" } else { "choose a file" };
        return render(import_page(&user, &uri, None, Some(msg.into())), StatusCode::UNPROCESSABLE_ENTITY);
    };
    match reg::import(&state.store, &user.actor, kind, file.as_ref()).await {
        Ok(r) => render(
            import_page(&user, &uri, Some(crate::api::ImportReport::new(&r, lang)), None),
            StatusCode::OK,
        ),
        Err(AppError::Invalid(errors)) => {
            let msg = errors.iter().map(|e| e.message(lang).to_string()).collect::<Vec<_>>().join("; ");
            render(import_page(&user, &uri, None, Some(msg)), StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => error_page(&e, lang),
    }
}

/// A Unix time as Beijing time to the minute ("2026-11-27 14:05"), the way every page shows an
/// instant; empty for a time out of range.
pub(crate) fn beijing_minute(secs: i64) -> String {
    beijing_format(secs, "%Y-%m-%d %H:%M")
}

/// A Unix time as Beijing month, day and minute ("11-27 14:05"), for tables of this year's events.
pub(crate) fn beijing_short(secs: i64) -> String {
    beijing_format(secs, "%m-%d %H:%M")
}

fn beijing_format(secs: i64, format: &str) -> String {
    jiff::Timestamp::from_second(secs)
        .map(|t| bureau_domain::calendar::beijing::local(t).strftime(format).to_string())
        .unwrap_or_default()
}
