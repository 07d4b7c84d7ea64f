//! The knowledge-base editing pages (知识库维护): every answer with its state, a form to add one,
//! and each answer's page with the edit form, the retire button and its history. Nothing is
//! edited in place: an edit or a retirement is a new revision and the old ones stay readable.

use super::{error_page, here, render, view, UserView};
use crate::auth::{PageStaff, StaffUser};
use crate::i18n::Tr;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use bureau_app::service::knowledge::{self, ArticleInput};
use bureau_app::AppError;
use bureau_domain::org::Role;
use bureau_domain::service::OrderKind;
use bureau_store::KnowledgeArticle;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/service/knowledge", get(list_page).post(add_post))
        .route("/service/knowledge/{id}", get(article_page).post(edit_post))
        .route("/service/knowledge/{id}/retire", post(retire_post))
}

/// (key, 中文, English)
pub const TEXTS: &[(&str, &str, &str)] = &[
    ("nav.knowledge", "知识库", "Knowledge base"),
    ("kb.title", "知识库维护", "Knowledge base"),
    ("kb.answers", "答案", "Answers"),
    ("kb.show_retired", "显示已停用", "Show retired"),
    ("kb.add", "新增答案", "Add an answer"),
    ("kb.kind", "适用业务类型", "Kind of order"),
    ("kb.any", "（全部）", "(any)"),
    ("kb.subtype", "子类", "Sub-type"),
    ("kb.heading", "标题", "Title"),
    ("kb.body", "答案内容", "Answer"),
    ("kb.tags", "关键词（空格分隔）", "Keywords (space separated)"),
    ("kb.revision", "版本", "Revision"),
    ("kb.updated", "最后修改", "Last changed"),
    ("kb.retired", "已停用", "Retired"),
    ("kb.active", "在用", "In use"),
    ("kb.save", "保存为新版本", "Save as a new revision"),
    ("kb.retire", "停用", "Retire"),
    ("kb.history", "修改历史", "History"),
    ("kb.change", "变更", "Change"),
    ("kb.by", "修改人", "By"),
    ("kb.back", "返回知识库", "Back to the knowledge base"),
    ("kb.change.add", "新增", "added"),
    ("kb.change.edit", "修改", "edited"),
    ("kb.change.retire", "停用", "retired"),
];

fn is_editor(user: &StaffUser) -> bool {
    user.actor.require_any(&[Role::Manager]).is_ok()
}

fn kinds(t: &Tr) -> Vec<(&'static str, &'static str)> {
    OrderKind::ALL.iter().map(|k| (k.code(), k.name(t.lang))).collect()
}

fn messages(e: &AppError, lang: bureau_domain::i18n::Lang) -> Option<Vec<String>> {
    match e {
        AppError::Invalid(errs) => {
            Some(errs.iter().map(|e| format!("{}: {}", e.field, e.message(lang))).collect())
        }
        AppError::Conflict(e) => Some(vec![e.message(lang).to_string()]),
        _ => None,
    }
}

#[derive(Deserialize, Default, Clone)]
struct ArticleForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    subtype: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    revision: String,
}

impl ArticleForm {
    fn of(a: &KnowledgeArticle) -> ArticleForm {
        ArticleForm {
            kind: a.kind.map(|k| k.code().to_string()).unwrap_or_default(),
            subtype: a.subtype.map(|s| s.code().to_string()).unwrap_or_default(),
            title: a.title.clone(),
            body: a.body.clone(),
            tags: a.tags.clone(),
            revision: a.revision.to_string(),
        }
    }

    fn input(&self) -> ArticleInput {
        let opt = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
        ArticleInput {
            kind: opt(&self.kind),
            subtype: opt(&self.subtype),
            title: self.title.clone(),
            body: self.body.clone(),
            tags: self.tags.clone(),
        }
    }

    /// The revision the form was opened at; a missing or garbled one can only conflict.
    fn revision(&self) -> i64 {
        self.revision.trim().parse().unwrap_or(-1)
    }
}

/// An answer in the list.
struct Item {
    id: String,
    title: String,
    kind: String,
    revision: i64,
    updated: String,
    retired: bool,
}

#[derive(Template)]
#[template(path = "service_knowledge.html")]
struct ListPage {
    t: Tr,
    user: Option<UserView>,
    here: String,
    items: Vec<Item>,
    retired: bool,
    can_edit: bool,
    kinds: Vec<(&'static str, &'static str)>,
    form: ArticleForm,
    errors: Vec<String>,
}

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    retired: Option<String>,
}

async fn list_screen(
    state: &AppState,
    user: &StaffUser,
    uri: &Uri,
    retired: bool,
    form: ArticleForm,
    errors: Vec<String>,
) -> Result<ListPage, AppError> {
    let t = Tr::new(user.lang);
    let items = knowledge::list(&state.store, &user.actor, retired)
        .await?
        .into_iter()
        .map(|a| Item {
            kind: a.kind.map(|k| k.name(t.lang).to_string()).unwrap_or_else(|| t.t("kb.any").to_string()),
            updated: format!("{} {}", super::beijing_minute(a.updated_at), a.updated_by),
            retired: a.retired_at.is_some(),
            id: a.id,
            title: a.title,
            revision: a.revision,
        })
        .collect();
    Ok(ListPage {
        items,
        retired,
        can_edit: is_editor(user),
        kinds: kinds(&t),
        form,
        errors,
        t,
        user: view(user),
        here: here(uri),
    })
}

async fn list_page(
    State(state): State<AppState>,
    PageStaff(user): PageStaff,
    uri: Uri,
    Query(q): Query<ListQuery>,
) -> Response {
    let retired = q.retired.is_some_and(|r| !r.is_empty() && r != "0");
    match list_screen(&state, &user, &uri, retired, ArticleForm::default(), Vec::new()).await {
        Ok(p) => render(p, StatusCode::OK),
        Err(e) => error_page(&e, user.lang),
    }
}

async fn add_post(
    State(state): State<AppState>,
    PageStaff(user): PageStaff,
    uri: Uri,
    Form(f): Form<ArticleForm>,
) -> Response {
    match knowledge::add(&state.store, &user.actor, &f.input(), bureau_app::auth::now_unix()).await {
        Ok(a) => Redirect::to(&format!("/service/knowledge/{}", a.id)).into_response(),
        Err(e) => match messages(&e, user.lang) {
            Some(errors) => match list_screen(&state, &user, &uri, false, f, errors).await {
                Ok(p) => render(p, StatusCode::UNPROCESSABLE_ENTITY),
                Err(e) => error_page(&e, user.lang),
            },
            None => error_page(&e, user.lang),
        },
    }
}

#[derive(Template)]
#[template(path = "service_article.html")]
struct ArticlePage {
    t: Tr,
    user: Option<UserView>,
    here: String,
    id: String,
    retired: bool,
    can_edit: bool,
    kinds: Vec<(&'static str, &'static str)>,
    form: ArticleForm,
    /// (revision, change key, when, by, title, body)
    history: Vec<(i64, String, String, String, String, String)>,
    errors: Vec<String>,
}

async fn article_screen(
    state: &AppState,
    user: &StaffUser,
    uri: &Uri,
    id: &str,
    form: Option<ArticleForm>,
    errors: Vec<String>,
) -> Result<ArticlePage, AppError> {
    let t = Tr::new(user.lang);
    let h = knowledge::history(&state.store, &user.actor, id).await?;
    Ok(ArticlePage {
        id: h.article.id.clone(),
        retired: h.article.retired_at.is_some(),
        can_edit: is_editor(user),
        kinds: kinds(&t),
        form: form.unwrap_or_else(|| ArticleForm::of(&h.article)),
        history: h
            .revisions
            .iter()
            .rev()
            .map(|r| {
                (
                    r.revision,
                    format!("kb.change.{}", r.change),
                    super::beijing_minute(r.at),
                    r.by.clone(),
                    r.title.clone(),
                    r.body.clone(),
                )
            })
            .collect(),
        errors,
        t,
        user: view(user),
        here: here(uri),
    })
}

async fn article_page(
    State(state): State<AppState>,
    PageStaff(user): PageStaff,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    match article_screen(&state, &user, &uri, &id, None, Vec::new()).await {
        Ok(p) => render(p, StatusCode::OK),
        Err(e) => error_page(&e, user.lang),
    }
}

async fn after_change(
    state: &AppState,
    user: &StaffUser,
    uri: &Uri,
    id: &str,
    r: Result<KnowledgeArticle, AppError>,
    form: Option<ArticleForm>,
) -> Response {
    match r {
        Ok(_) => Redirect::to(&format!("/service/knowledge/{id}")).into_response(),
        Err(e) => match messages(&e, user.lang) {
            Some(errors) => {
                let status = if matches!(e, AppError::Conflict(_)) {
                    StatusCode::CONFLICT
                } else {
                    StatusCode::UNPROCESSABLE_ENTITY
                };
                match article_screen(state, user, uri, id, form, errors).await {
                    Ok(p) => render(p, status),
                    Err(e) => error_page(&e, user.lang),
                }
            }
            None => error_page(&e, user.lang),
        },
    }
}

async fn edit_post(
    State(state): State<AppState>,
    PageStaff(user): PageStaff,
    uri: Uri,
    Path(id): Path<String>,
    Form(f): Form<ArticleForm>,
) -> Response {
    let r = knowledge::edit(
        &state.store,
        &user.actor,
        &id,
        f.revision(),
        &f.input(),
        bureau_app::auth::now_unix(),
    )
    .await;
    // After a conflict the form shows the answer as it now stands (what the other manager wrote).
    let keep = if matches!(r, Err(AppError::Invalid(_))) { Some(f) } else { None };
    after_change(&state, &user, &uri, &id, r, keep).await
}

async fn retire_post(
    State(state): State<AppState>,
    PageStaff(user): PageStaff,
    uri: Uri,
    Path(id): Path<String>,
    Form(f): Form<ArticleForm>,
) -> Response {
    let r =
        knowledge::retire(&state.store, &user.actor, &id, f.revision(), bureau_app::auth::now_unix()).await;
    after_change(&state, &user, &uri, &id, r, None).await
}
