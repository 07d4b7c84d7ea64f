//! The knowledge base (知识库): answers agents read out for consultations and queries.

use crate::access::Actor;
use crate::error::{AppError, AppResult};
use bureau_domain::error::FieldError;
use bureau_domain::org::Role;
use bureau_domain::service::{OrderKind, SubType};
use bureau_store::{DynStore, KnowledgeArticle};

/// Finds articles containing every word of `q` (title, body or tags), optionally of one kind.
pub async fn search(
    store: &DynStore,
    actor: &Actor,
    q: &str,
    kind: Option<&str>,
    limit: u32,
) -> AppResult<Vec<KnowledgeArticle>> {
    actor.require_any(&[Role::Agent, Role::CounterClerk, Role::Dispatcher, Role::Manager])?;
    let kind = kind.filter(|k| !k.is_empty()).map(OrderKind::parse).transpose()?;
    if q.chars().count() > 200 {
        return Err(FieldError::invalid("q", "检索词过长", "the search text is too long").into());
    }
    Ok(store.search_articles(q, kind, limit.clamp(1, 100)).await?)
}

/// Adds or replaces articles (managers).
pub async fn save(store: &DynStore, actor: &Actor, articles: &[KnowledgeArticle]) -> AppResult<u64> {
    actor.require_any(&[Role::Manager])?;
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
