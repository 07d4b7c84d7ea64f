//! The knowledge base (知识库): answers agents read out for consultations and queries.
//!
//! Managers add, edit and retire answers; nothing is edited in place: each change is a new
//! revision appended to the answer's history (who, when, the text as it then read), and a retired
//! answer stays with its history but is no longer found. Two managers editing one answer at once
//! cannot overwrite each other: an edit names the revision it was made on, and the second is told
//! to reload.

use crate::access::Actor;
use crate::error::{AppError, AppResult};
use crate::outbox::new_id;
use bureau_domain::error::FieldError;
use bureau_domain::org::Role;
use bureau_domain::service::{OrderKind, SubType};
use bureau_store::{ArticleRevision, DynStore, KnowledgeArticle, StoreError, ARTICLE_CONFLICT};

/// Who may change the knowledge base.
const EDITORS: &[Role] = &[Role::Manager];
/// Who may read it.
const READERS: &[Role] = &[Role::Agent, Role::CounterClerk, Role::Dispatcher, Role::Manager];

/// Finds articles containing every word of `q` (title, body or tags), optionally of one kind.
pub async fn search(
    store: &DynStore,
    actor: &Actor,
    q: &str,
    kind: Option<&str>,
    limit: u32,
) -> AppResult<Vec<KnowledgeArticle>> {
    actor.require_any(READERS)?;
    let kind = kind.filter(|k| !k.is_empty()).map(OrderKind::parse).transpose()?;
    if q.chars().count() > 200 {
        return Err(FieldError::invalid("q", "检索词过长", "the search text is too long").into());
    }
    Ok(store.search_articles(q, kind, limit.clamp(1, 100)).await?)
}

/// Adds the articles whose ids are not yet in the base (seeding; managers). An id already there
/// is left as it is: edits go through [`edit`], which keeps the history.
pub async fn save(store: &DynStore, actor: &Actor, articles: &[KnowledgeArticle]) -> AppResult<u64> {
    actor.require_any(EDITORS)?;
    let mut errors = Vec::new();
    for (i, a) in articles.iter().enumerate() {
        if a.title.trim().is_empty() {
            errors.push(FieldError::required(&format!("articles[{i}].title")));
        }
        if a.body.trim().is_empty() {
            errors.push(FieldError::required(&format!("articles[{i}].body")));
        }
        if let (Some(k), Some(s)) = (a.kind, a.subtype) {
            if let Err(e) = SubType::check_kind(s, k) {
                errors.push(FieldError { field: format!("articles[{i}].subtype"), ..e });
            }
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    Ok(store.upsert_articles(articles).await?)
}

/// An answer as a manager writes it.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ArticleInput {
    /// The kind of order it answers (empty: any).
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub subtype: Option<String>,
    pub title: String,
    pub body: String,
    /// Words to find it by, separated by spaces.
    #[serde(default)]
    pub tags: String,
}

/// An answer with every revision of it, oldest first.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ArticleHistory {
    pub article: KnowledgeArticle,
    pub revisions: Vec<ArticleRevision>,
}

fn text_limit(errors: &mut Vec<FieldError>, field: &str, value: &str, max: usize) {
    if value.chars().count() > max {
        errors.push(FieldError::invalid(
            field,
            format!("不能超过{max}个字符"),
            format!("must be at most {max} characters"),
        ));
    }
}

/// Checks an answer; errors name the field.
fn check(input: &ArticleInput) -> AppResult<(Option<OrderKind>, Option<SubType>)> {
    let mut errors = Vec::new();
    let kind = match input.kind.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
        Some(k) => OrderKind::parse(k).map_err(|e| errors.push(e)).ok(),
        None => None,
    };
    let subtype = match (input.subtype.as_deref().map(str::trim).filter(|s| !s.is_empty()), kind) {
        (Some(s), Some(k)) => SubType::parse_for(k, s).map_err(|e| errors.push(e)).ok(),
        (Some(_), None) if errors.is_empty() => {
            errors.push(FieldError::invalid(
                "subtype",
                "填写子类时须选择业务类型",
                "a sub-type needs a kind",
            ));
            None
        }
        _ => None,
    };
    if input.title.trim().is_empty() {
        errors.push(FieldError::required("title"));
    }
    if input.body.trim().is_empty() {
        errors.push(FieldError::required("body"));
    }
    text_limit(&mut errors, "title", input.title.trim(), 200);
    text_limit(&mut errors, "body", input.body.trim(), 10_000);
    text_limit(&mut errors, "tags", input.tags.trim(), 500);
    if errors.is_empty() {
        Ok((kind, subtype))
    } else {
        Err(AppError::Invalid(errors))
    }
}

fn changed_meanwhile() -> AppError {
    AppError::Conflict(FieldError::new(
        "revision",
        "conflict",
        "该答案已被他人修改或已停用，请刷新后重试",
        "someone else changed or retired this answer since you opened it; reload and try again",
    ))
}

/// Every answer, by title (retired ones too when asked); managers and agents.
pub async fn list(
    store: &DynStore,
    actor: &Actor,
    include_retired: bool,
) -> AppResult<Vec<KnowledgeArticle>> {
    actor.require_any(READERS)?;
    Ok(store.list_articles(include_retired, 1000).await?)
}

/// An answer with its history.
pub async fn history(store: &DynStore, actor: &Actor, id: &str) -> AppResult<ArticleHistory> {
    actor.require_any(READERS)?;
    let article =
        store.get_article(id).await.map_err(|e| AppError::or_not_found(e, "knowledge article", id))?;
    let revisions = store.article_revisions(id).await?;
    Ok(ArticleHistory { article, revisions })
}

/// Adds an answer at `now` (revision 1).
pub async fn add(
    store: &DynStore,
    actor: &Actor,
    input: &ArticleInput,
    now: i64,
) -> AppResult<KnowledgeArticle> {
    actor.require_any(EDITORS)?;
    let (kind, subtype) = check(input)?;
    let a = KnowledgeArticle {
        id: new_id("KB"),
        kind,
        subtype,
        title: input.title.trim().to_string(),
        body: input.body.trim().to_string(),
        tags: input.tags.trim().to_string(),
        updated_at: now,
        updated_by: actor.staff_id.clone(),
        revision: 1,
        retired_at: None,
    };
    store.upsert_articles(std::slice::from_ref(&a)).await?;
    Ok(store.get_article(&a.id).await?)
}

/// Writes a new revision of answer `id`, made on revision `revision`.
pub async fn edit(
    store: &DynStore,
    actor: &Actor,
    id: &str,
    revision: i64,
    input: &ArticleInput,
    now: i64,
) -> AppResult<KnowledgeArticle> {
    actor.require_any(EDITORS)?;
    let (kind, subtype) = check(input)?;
    let current =
        store.get_article(id).await.map_err(|e| AppError::or_not_found(e, "knowledge article", id))?;
    let next = KnowledgeArticle {
        kind,
        subtype,
        title: input.title.trim().to_string(),
        body: input.body.trim().to_string(),
        tags: input.tags.trim().to_string(),
        updated_at: now.max(current.updated_at),
        updated_by: actor.staff_id.clone(),
        revision,
        ..current
    };
    revise(store, &next, "edit").await
}

/// Retires answer `id` (seen at revision `revision`): it stays with its history but is no longer
/// found by the search.
pub async fn retire(
    store: &DynStore,
    actor: &Actor,
    id: &str,
    revision: i64,
    now: i64,
) -> AppResult<KnowledgeArticle> {
    actor.require_any(EDITORS)?;
    let current =
        store.get_article(id).await.map_err(|e| AppError::or_not_found(e, "knowledge article", id))?;
    let next = KnowledgeArticle {
        updated_at: now.max(current.updated_at),
        updated_by: actor.staff_id.clone(),
        revision,
        ..current
    };
    revise(store, &next, "retire").await
}

async fn revise(store: &DynStore, next: &KnowledgeArticle, change: &str) -> AppResult<KnowledgeArticle> {
    match store.revise_article(next, change).await {
        Ok(a) => Ok(a),
        Err(StoreError::Constraint { constraint }) if constraint == ARTICLE_CONFLICT => {
            Err(changed_meanwhile())
        }
        Err(e) => Err(e.into()),
    }
}
