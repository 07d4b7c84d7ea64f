//! AMI meter events (用电信息采集 / 智能电表事件) from a head-end system: `off` is a last gasp (the
//! meter lost power), `on` is a meter that answers (a ping, a power-up message).
//!
//! * An `off` becomes a trouble call (source `ami`, id `AMI-<event id>`) at the meter's load point and
//!   is grouped with the other calls like a customer's call.
//! * An `on` is evidence: a meter known on proves every device above it closed, so the prediction
//!   moves below it (the move-down rule, [`super::outage::meter_evidence`]); and an `on` at a load
//!   point that a confirmed outage still holds cut off confirms its restoration there (the point is
//!   restored at the event's time, and its customers are told).
//!
//! Events come one by one or in batches (JSON or CSV: `id,meter_id,customer_id,load_id,state,at`);
//! every rejected row is reported with its line, field and reason, the good rows are kept, and a
//! resent event (same id) changes nothing.

use super::ops::GridCache;
use super::outage::{self, file_calls, regroup};
use super::OPERATORS;
use crate::access::Actor;
use crate::error::AppResult;
use crate::register::RejectedRow;
use bureau_domain::error::FieldError;
use bureau_grid::{Network, NodeKind};
use bureau_store::{DynStore, MeterEvent, Scope, StoreError, TroubleCall};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One meter event as a head-end system sends it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MeterEventInput {
    /// The head-end's own event id, for idempotency; made from the meter, state and time when absent.
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub meter_id: Option<String>,
    /// The account (户号) of the meter; its supply point is the load point.
    #[serde(default)]
    pub customer_id: Option<String>,
    /// The load point, when no account is given (e.g. a transformer's metering point).
    #[serde(default)]
    pub load_id: Option<String>,
    /// `on` or `off`.
    #[serde(default)]
    pub state: String,
    /// Unix seconds; now when absent.
    #[serde(default)]
    pub at: Option<i64>,
}

/// A load point restored by a meter that answered.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Restored {
    pub outage_id: String,
    pub load_id: String,
    pub at: i64,
}

/// What a batch did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AmiReport {
    /// Events read.
    pub rows: u64,
    /// Events stored now.
    pub new: u64,
    /// Events stored before (same id): nothing done again.
    pub duplicates: u64,
    pub rejected: Vec<RejectedRow>,
    /// Trouble calls filed from last gasps.
    pub calls: u64,
    pub restored: Vec<Restored>,
}

fn reject(r: &mut AmiReport, line: u64, e: FieldError) {
    r.rejected.push(RejectedRow { line, field: e.field, code: e.code.to_string(), message: e.message });
}

/// Reads a CSV batch (`id,meter_id,customer_id,load_id,state,at`; `at` in Unix seconds or RFC 3339).
/// Each row is the event or why it cannot be read, with its line (the header is line 1).
pub fn read_csv(bytes: &[u8]) -> AppResult<Vec<(u64, Result<MeterEventInput, FieldError>)>> {
    let mut rdr = csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(true).from_reader(bytes);
    let headers = rdr
        .headers()
        .map_err(|e| {
            FieldError::invalid("file", format!("无法读取表头：{e}"), format!("cannot read the header: {e}"))
        })?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h.trim_start_matches('\u{feff}') == name);
    let Some(state_col) = col("state") else {
        return Err(
            FieldError::new("state", "required", "缺少列“state”", "the column 'state' is missing").into()
        );
    };
    let (id, meter, customer, load, at) =
        (col("id"), col("meter_id"), col("customer_id"), col("load_id"), col("at"));
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let line = i as u64 + 2;
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                out.push((
                    line,
                    Err(FieldError::invalid("row", format!("无法读取：{e}"), format!("unreadable: {e}"))),
                ));
                continue;
            }
        };
        let get = |c: Option<usize>| c.and_then(|c| rec.get(c)).map(str::to_string).filter(|s| !s.is_empty());
        let at = match get(at) {
            None => Ok(None),
            Some(t) => parse_at(&t).map(Some),
        };
        out.push((
            line,
            at.map(|at| MeterEventInput {
                id: get(id),
                meter_id: get(meter),
                customer_id: get(customer),
                load_id: get(load),
                state: get(Some(state_col)).unwrap_or_default(),
                at,
            }),
        ));
    }
    Ok(out)
}

/// Unix seconds, or an RFC 3339 instant (`2026-11-27T09:30:00+08:00`).
fn parse_at(t: &str) -> Result<i64, FieldError> {
    if let Ok(s) = t.parse::<i64>() {
        return Ok(s);
    }
    t.parse::<jiff::Timestamp>().map(|ts| ts.as_second()).map_err(|_| {
        FieldError::invalid(
            "at",
            format!("时间“{t}”无效：应为Unix秒数或RFC 3339时间"),
            format!("time '{t}' is invalid: give Unix seconds or an RFC 3339 instant"),
        )
    })
}

/// Checks one event and places it on the grid.
async fn check(
    store: &DynStore,
    net: &Network,
    bureau_id: &str,
    e: &MeterEventInput,
    now: i64,
) -> Result<MeterEvent, Vec<FieldError>> {
    let mut errors = Vec::new();
    let state = e.state.trim().to_ascii_lowercase();
    if state != "on" && state != "off" {
        errors.push(FieldError::invalid(
            "state",
            format!("状态“{}”无效，应为 on（有电）或 off（失电）", e.state),
            format!("state '{}' is invalid: expected on or off", e.state),
        ));
    }
    let at = e.at.unwrap_or(now);
    if at > now + 300 || at < now - 30 * 86_400 {
        errors.push(FieldError::invalid(
            "at",
            "时间应在过去30天内，且不晚于现在",
            "the time must be within the last 30 days and not in the future",
        ));
    }
    let trim = |s: &Option<String>| s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let (customer_id, meter_id) = (trim(&e.customer_id), trim(&e.meter_id));
    let mut load = trim(&e.load_id);
    if let Some(c) = &customer_id {
        match store.get_customer(&Scope::Bureaus(vec![bureau_id.into()]), c).await {
            Ok(cust) => match cust.supply_point {
                Some(sp) if load.is_none() => load = Some(sp),
                Some(_) => {}
                None => errors.push(FieldError::invalid(
                    "customer_id",
                    format!("客户{c}没有登记供电点（台区）"),
                    format!("customer {c} has no supply point on record"),
                )),
            },
            Err(StoreError::NotFound) => errors.push(FieldError::new(
                "customer_id",
                "unknown",
                format!("客户“{c}”不存在"),
                format!("no customer '{c}'"),
            )),
            Err(other) => {
                errors.push(FieldError::invalid("customer_id", other.to_string(), other.to_string()))
            }
        }
    }
    match &load {
        None if customer_id.is_none() => errors.push(FieldError::new(
            "load_id",
            "required",
            "请给出户号或供电点（台区）",
            "give the meter's account or its load point",
        )),
        Some(l) if net.node(l).is_none_or(|n| n.kind != NodeKind::Load) => errors.push(FieldError::new(
            "load_id",
            "unknown",
            format!("“{l}”不是本单位电网中的负荷点（台区或专变）"),
            format!("'{l}' is not a load point of this bureau's grid"),
        )),
        _ => {}
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let load_id = load.expect("checked above");
    let id = trim(&e.id).unwrap_or_else(|| {
        let who = meter_id.clone().or_else(|| customer_id.clone()).unwrap_or_else(|| load_id.clone());
        format!("{who}:{state}:{at}")
    });
    if id.chars().count() > 120 {
        return Err(vec![FieldError::invalid(
            "id",
            "事件编号不能超过120个字符",
            "the event id is longer than 120 characters",
        )]);
    }
    Ok(MeterEvent {
        id,
        bureau_id: bureau_id.into(),
        load_id,
        customer_id,
        meter_id,
        state,
        at,
        received_at: now,
    })
}

/// Records a batch of meter events of a bureau (rows with their line numbers, as read), files the
/// last gasps as trouble calls, restores the load points that meters show back on, and groups the
/// open calls again with what the meters now say.
pub async fn record_events(
    store: &DynStore,
    cache: &GridCache,
    actor: &Actor,
    bureau_id: &str,
    rows: Vec<(u64, Result<MeterEventInput, FieldError>)>,
    now: i64,
) -> AppResult<AmiReport> {
    actor.require_any(OPERATORS)?;
    actor.require_bureau(bureau_id)?;
    let mut report = AmiReport { rows: rows.len() as u64, ..AmiReport::default() };
    let net = cache.network(store, bureau_id).await?;
    let guard = net.lock().await;
    let mut events = Vec::with_capacity(rows.len());
    for (line, row) in rows {
        match row {
            Err(e) => reject(&mut report, line, e),
            Ok(input) => match check(store, &guard, bureau_id, &input, now).await {
                Ok(ev) => events.push(ev),
                Err(errs) => errs.into_iter().for_each(|e| reject(&mut report, line, e)),
            },
        }
    }
    // The same event twice in one batch counts once.
    let mut seen = std::collections::HashSet::new();
    events.retain(|e| seen.insert(e.id.clone()));
    let mut fresh = Vec::with_capacity(events.len());
    for e in events {
        if store.insert_meter_events(std::slice::from_ref(&e)).await? == 1 {
            fresh.push(e);
        } else {
            report.duplicates += 1;
        }
    }
    report.new = fresh.len() as u64;

    // Meters back on at points a confirmed outage still holds: restored there.
    let mut on_at: BTreeMap<&str, i64> = BTreeMap::new();
    for e in fresh.iter().filter(|e| e.state == "on") {
        let t = on_at.entry(e.load_id.as_str()).or_insert(e.at);
        *t = (*t).min(e.at);
    }
    if !on_at.is_empty() {
        for o in store.active_outages(&Scope::Bureaus(vec![bureau_id.into()])).await? {
            if !matches!(o.state.as_str(), "confirmed" | "partly_restored") {
                continue;
            }
            for p in store.outage_points(&o.id).await? {
                let Some(&at) = on_at.get(p.load_id.as_str()) else { continue };
                if p.restored_at.is_none() && at >= p.out_at && at >= o.started_at {
                    outage::restore(store, actor, &o.id, std::slice::from_ref(&p.load_id), at).await?;
                    report.restored.push(Restored { outage_id: o.id.clone(), load_id: p.load_id, at });
                }
            }
        }
    }

    // Last gasps are trouble calls; grouping them (or, without any, grouping again) uses the meters on.
    let calls: Vec<TroubleCall> = fresh
        .iter()
        .filter(|e| e.state == "off")
        .map(|e| TroubleCall {
            id: format!("AMI-{}", e.id),
            bureau_id: bureau_id.into(),
            source: "ami".into(),
            customer_id: e.customer_id.clone(),
            load_id: e.load_id.clone(),
            at: e.at,
            note: format!(
                "last gasp{}",
                e.meter_id.as_ref().map(|m| format!(" of meter {m}")).unwrap_or_default()
            ),
            outage_id: None,
            callback_at: None,
            callback_result: None,
        })
        .collect();
    if !calls.is_empty() {
        report.calls = file_calls(store, cache, &guard, actor, bureau_id, calls, now).await?.len() as u64;
    } else if !on_at.is_empty() {
        let at = fresh.iter().map(|e| e.at).max().unwrap_or(now);
        regroup(store, cache, &guard, actor, bureau_id, at).await?;
    }
    Ok(report)
}
