//! Data the grid keeps beside its model: the capacity limit of each feeder (used by every
//! ring-transfer plan) and the reliability parameters of `params.toml` as dated data.

use super::ops::GridCache;
use super::{OPERATORS, READERS};
use crate::access::Actor;
use crate::error::{AppError, AppResult};
use bureau_domain::error::FieldError;
use bureau_grid::{NodeKind, Params};
use bureau_store::{DynStore, FeederLimit, GridParamsRow};
use std::collections::HashMap;

/// Sets the capacity of a feeder, named by its head branch (the branch leaving a source).
pub async fn set_feeder_limit(
    store: &DynStore,
    cache: &GridCache,
    actor: &Actor,
    bureau_id: &str,
    branch_id: &str,
    capacity_kw: f64,
    now: i64,
) -> AppResult<FeederLimit> {
    actor.require_any(OPERATORS)?;
    actor.require_bureau(bureau_id)?;
    let mut errors = Vec::new();
    if !(capacity_kw.is_finite() && capacity_kw > 0.0) {
        errors.push(FieldError::invalid(
            "capacity_kw",
            format!("容量{capacity_kw}应为大于0的千瓦数"),
            format!("the capacity {capacity_kw} must be a number of kW above 0"),
        ));
    }
    let net = cache.network(store, bureau_id).await?;
    let net = net.lock().await;
    match net.branch_idx(branch_id) {
        Err(_) => errors.push(FieldError::new(
            "branch",
            "unknown",
            format!("设备“{branch_id}”不存在"),
            format!("no branch '{branch_id}'"),
        )),
        Ok(bi) => {
            let (a, b) = net.branch_ends(bi);
            if net.nodes()[a].kind != NodeKind::Source && net.nodes()[b].kind != NodeKind::Source {
                errors.push(FieldError::invalid(
                    "branch",
                    format!("“{branch_id}”不是线路的出线设备（应与电源母线相连）"),
                    format!("'{branch_id}' is not the head of a feeder (it must leave a source)"),
                ));
            }
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let limit = FeederLimit {
        bureau_id: bureau_id.into(),
        branch_id: branch_id.into(),
        capacity_kw,
        updated_at: now,
        updated_by: actor.staff_id.clone(),
    };
    store.set_feeder_limit(&limit).await?;
    Ok(limit)
}

/// Removes a feeder's limit (it becomes unlimited).
pub async fn remove_feeder_limit(
    store: &DynStore,
    actor: &Actor,
    bureau_id: &str,
    branch_id: &str,
) -> AppResult<()> {
    actor.require_any(OPERATORS)?;
    actor.require_bureau(bureau_id)?;
    if !store.delete_feeder_limit(bureau_id, branch_id).await? {
        return Err(AppError::not_found("feeder limit", branch_id));
    }
    Ok(())
}

pub async fn feeder_limits(store: &DynStore, actor: &Actor, bureau_id: &str) -> AppResult<Vec<FeederLimit>> {
    actor.require_any(READERS)?;
    actor.require_bureau(bureau_id)?;
    Ok(store.feeder_limits(bureau_id).await?)
}

/// The stored limits by head branch, for a transfer plan.
pub async fn limits_kw(store: &DynStore, bureau_id: &str) -> AppResult<HashMap<String, f64>> {
    Ok(store.feeder_limits(bureau_id).await?.into_iter().map(|l| (l.branch_id, l.capacity_kw)).collect())
}

/// Stores a model's reliability parameters as in force from `effective_from` (`YYYY-MM-DD`).
/// Returns false when the same values were stored for that date already.
pub async fn save_params(
    store: &DynStore,
    actor: &Actor,
    bureau_id: &str,
    params: &Params,
    effective_from: &str,
    source: &str,
    now: i64,
) -> AppResult<bool> {
    actor.require_any(OPERATORS)?;
    actor.require_bureau(bureau_id)?;
    if effective_from.parse::<jiff::civil::Date>().is_err() {
        return Err(FieldError::invalid(
            "effective_from",
            format!("日期“{effective_from}”无效，应为YYYY-MM-DD"),
            format!("date '{effective_from}' is invalid: use YYYY-MM-DD"),
        )
        .into());
    }
    let row = GridParamsRow {
        bureau_id: bureau_id.into(),
        effective_from: effective_from.into(),
        switching_h: params.switching_h,
        hours_per_year: params.hours_per_year,
        source: source.into(),
        created_at: now,
    };
    Ok(store.upsert_grid_params(&row).await?)
}

/// The parameters in force on `date` (`YYYY-MM-DD`): the latest set from that date or before, else
/// the defaults (`switching_h` 1.0, `hours_per_year` 8760).
pub fn params_on(rows: &[GridParamsRow], date: &str) -> Params {
    rows.iter()
        .filter(|r| r.effective_from.as_str() <= date)
        .max_by(|a, b| a.effective_from.cmp(&b.effective_from))
        .map(|r| Params { switching_h: r.switching_h, hours_per_year: r.hours_per_year })
        .unwrap_or_default()
}

/// Today's date in Beijing, `YYYY-MM-DD`.
pub fn today() -> String {
    super::notify::local_time(super::ops::now()).chars().take(10).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(from: &str, sw: f64) -> GridParamsRow {
        GridParamsRow {
            bureau_id: "AP".into(),
            effective_from: from.into(),
            switching_h: sw,
            hours_per_year: 8784.0,
            source: "t".into(),
            created_at: 0,
        }
    }

    #[test]
    fn the_latest_set_on_or_before_the_date_is_in_force() {
        let rows = [row("2026-01-01", 0.5), row("2025-01-01", 1.5), row("2027-01-01", 0.25)];
        assert_eq!(params_on(&rows, "2026-06-30").switching_h, 0.5);
        assert_eq!(params_on(&rows, "2026-01-01").switching_h, 0.5);
        assert_eq!(params_on(&rows, "2025-12-31").switching_h, 1.5);
        assert_eq!(params_on(&rows, "2024-12-31"), Params::default());
        assert_eq!(params_on(&[], "2026-01-01"), Params::default());
    }
}
