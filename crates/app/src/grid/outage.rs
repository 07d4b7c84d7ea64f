//! Outage management (停电管理): trouble calls grouped into outages at the predicted device (rules as
//! data, [`super::ops::default_rules`]), and each outage's life: predicted → confirmed → (partly)
//! restored → closed, with its calls, load points, crew, estimated restoration time and call-backs.
//!
//! Prediction works on the live model: all calls of the bureau in the last few windows that are not
//! yet part of a confirmed outage are grouped again on every new call, so that a growing storm moves
//! predictions up (several fuses under one breaker become the breaker) and merges events. A call at a
//! load point already cut off by a confirmed outage joins that outage directly.

use super::notify;
use super::ops::{new_id, GridCache};
use super::{OPERATORS, READERS};
use crate::access::Actor;
use crate::error::{AppError, AppResult};
use bureau_domain::error::FieldError;
use bureau_domain::org::Role;
use bureau_domain::register::Customer;
use bureau_grid::indices::OutageClass;
use bureau_grid::predict::{Call, Evidence};
use bureau_grid::{Network, NodeKind};
use bureau_store::{DynStore, Outage, OutageLogEntry, OutagePoint, OutageSave, Scope, TroubleCall};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Roles that take trouble calls.
pub const CALL_TAKERS: &[Role] = &[Role::Agent, Role::Dispatcher, Role::RepairCrew, Role::ProductionLeader];

/// Where calls come from.
pub const SOURCES: &[&str] = &["api", "ami", "work_order"];

/// A trouble call as reported.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct CallInput {
    /// The caller's account, when known; their supply point is the load point.
    pub customer_id: Option<String>,
    /// The load point, when no account is given (e.g. an AMI last gasp of a transformer meter).
    pub load_id: Option<String>,
    /// `api`, `ami` or `work_order`.
    pub source: String,
    /// When (Unix seconds); now when absent.
    pub at: Option<i64>,
    pub note: Option<String>,
    /// The caller's own id (e.g. the work order number); generated when absent.
    pub id: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CallOutcome {
    pub call: TroubleCall,
    /// The outage the call now belongs to.
    pub outage: Option<Outage>,
}

/// An outage with everything that hangs on it.
#[derive(Clone, Debug, Serialize)]
pub struct OutageRecord {
    pub outage: Outage,
    pub points: Vec<OutagePoint>,
    pub calls: Vec<TroubleCall>,
    pub log: Vec<OutageLogEntry>,
}

fn log(o: &Outage, actor: &Actor, at: i64, note: impl Into<String>) -> OutageLogEntry {
    OutageLogEntry {
        outage_id: o.id.clone(),
        seq: 0,
        at,
        by_staff: actor.staff_id.clone(),
        state: o.state.clone(),
        note: note.into(),
    }
}

fn conflict(field: &str, zh: String, en: String) -> AppError {
    AppError::Conflict(FieldError::new(field, "state", zh, en))
}

fn state_zh(s: &str) -> &'static str {
    match s {
        "predicted" => "研判中",
        "confirmed" => "已确认",
        "partly_restored" => "部分恢复",
        "restored" => "已恢复",
        "closed" => "已关闭",
        "merged" => "已合并",
        _ => "未知",
    }
}

/// The load points a device feeds now (or the device's far side when it is already open).
fn points_below(net: &Network, device: &str, at: i64, outage_id: &str) -> Vec<OutagePoint> {
    let Ok(bi) = net.branch_idx(device) else { return Vec::new() };
    let mut loads = net.downstream_idx(bi).loads;
    if loads.is_empty() {
        // Already open (e.g. a tripped breaker that the model knows of): what it would feed if closed.
        let mut sim = net.clone();
        sim.set_open_idx(bi, false);
        loads = sim.downstream_idx(bi).loads;
    }
    let mut out: Vec<OutagePoint> = loads
        .into_iter()
        .map(|v| OutagePoint {
            outage_id: outage_id.into(),
            load_id: net.nodes()[v].id.clone(),
            customers: net.nodes()[v].customers as i64,
            out_at: at,
            restored_at: None,
        })
        .collect();
    out.sort_by(|a, b| a.load_id.cmp(&b.load_id));
    out
}

fn point_at(net: &Network, load: &str, at: i64, outage_id: &str) -> Vec<OutagePoint> {
    net.node(load)
        .map(|n| OutagePoint {
            outage_id: outage_id.into(),
            load_id: n.id.clone(),
            customers: n.customers as i64,
            out_at: at,
            restored_at: None,
        })
        .into_iter()
        .collect()
}

fn totals(o: &mut Outage, points: &[OutagePoint]) {
    o.customers = points.iter().map(|p| p.customers).sum();
    o.mv_users = points.len() as i64;
}

/// Tells the customers cut off by a confirmed outage, with the estimated restoration time.
async fn tell_out(store: &DynStore, o: &Outage, points: &[OutagePoint], now: i64) -> AppResult<u64> {
    let loads: Vec<String> =
        points.iter().filter(|p| p.restored_at.is_none()).map(|p| p.load_id.clone()).collect();
    let etr = o.etr.map_or("尽快".to_string(), |e| format!("预计{}", notify::local_time(e)));
    let body = format!(
        "【供电公司】您所在台区因{}停电，{}恢复供电。给您带来不便，敬请谅解。",
        if o.class == "planned" { "计划检修" } else { "故障" },
        etr
    );
    notify::sms_to_customers_at(
        store,
        &o.bureau_id,
        &loads,
        &format!("outage:{}:notice", o.id),
        "停电通知",
        &body,
        None,
        now,
    )
    .await
}

/// Takes a trouble call, groups it with the other open calls and returns the outage it belongs to.
pub async fn report_call(
    store: &DynStore,
    cache: &GridCache,
    actor: &Actor,
    bureau_id: &str,
    input: CallInput,
    now: i64,
) -> AppResult<CallOutcome> {
    actor.require_any(CALL_TAKERS)?;
    actor.require_bureau(bureau_id)?;
    let net = cache.network(store, bureau_id).await?;
    let guard = net.lock().await;
    let call = checked_call(store, &guard, actor, bureau_id, input, now).await?;
    let id = call.id.clone();
    let Some(call) = file_calls(store, cache, &guard, actor, bureau_id, vec![call], now).await?.pop() else {
        return Err(duplicate_call(&id));
    };
    let outage = match &call.outage_id {
        Some(id) => Some(store.get_outage(&Scope::Bureaus(vec![bureau_id.into()]), id).await?),
        None => None,
    };
    Ok(CallOutcome { call, outage })
}

/// Takes a batch of trouble calls of one bureau (e.g. the hand-overs of the 95598 centre waiting in
/// the outbox): each is checked as [`report_call`] checks it, and the good ones are filed together,
/// so the bureau's open calls are grouped again once for the batch instead of once per call.
/// Returns, for each input in order, `Ok(true)` when filed, `Ok(false)` when a call with its id is
/// already stored (a redelivery: nothing done), or the reason it was refused. The outer error is one
/// that stops the whole batch (the database, or the bureau's grid model).
pub async fn report_calls(
    store: &DynStore,
    cache: &GridCache,
    actor: &Actor,
    bureau_id: &str,
    inputs: Vec<CallInput>,
    now: i64,
) -> AppResult<Vec<AppResult<bool>>> {
    actor.require_any(CALL_TAKERS)?;
    actor.require_bureau(bureau_id)?;
    let net = cache.network(store, bureau_id).await?;
    let guard = net.lock().await;
    let mut results = Vec::with_capacity(inputs.len());
    let mut calls = Vec::new();
    let mut slots = Vec::new();
    // The callers' customer records in one read for the batch (not one read per call).
    let ids: Vec<String> = inputs.iter().filter_map(|i| caller_account(i).map(str::to_string)).collect();
    let customers: HashMap<String, Customer> = if ids.is_empty() {
        HashMap::new()
    } else {
        store
            .customers_by_ids(&ids)
            .await?
            .into_iter()
            .filter(|c| actor.scope.allows(&c.bureau_id))
            .map(|c| (c.id.as_str().to_string(), c))
            .collect()
    };
    for (i, input) in inputs.into_iter().enumerate() {
        let customer = caller_account(&input).and_then(|c| customers.get(c));
        match check_call(&guard, bureau_id, input, customer, now) {
            Ok(call) => {
                slots.push((i, call.id.clone()));
                calls.push(call);
                results.push(Ok(false));
            }
            Err(e) => results.push(Err(e)),
        }
    }
    if calls.is_empty() {
        return Ok(results);
    }
    let filed: HashSet<String> = file_calls(store, cache, &guard, actor, bureau_id, calls, now)
        .await?
        .into_iter()
        .map(|c| c.id)
        .collect();
    for (i, id) in slots {
        results[i] = Ok(filed.contains(&id));
    }
    Ok(results)
}

/// The account a call names, if any (blank is none).
fn caller_account(input: &CallInput) -> Option<&str> {
    input.customer_id.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Checks one reported call against the customer record and the bureau's grid model and builds it.
async fn checked_call(
    store: &DynStore,
    net: &Network,
    actor: &Actor,
    bureau_id: &str,
    input: CallInput,
    now: i64,
) -> AppResult<TroubleCall> {
    let customer = match caller_account(&input) {
        Some(c) => match store.get_customer(&actor.scope, c).await {
            Ok(cust) => Some(cust),
            Err(bureau_store::StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    check_call(net, bureau_id, input, customer.as_ref(), now)
}

/// Checks one reported call and builds it: `customer` is the record of the account it names, as
/// found in the caller's scope (`None` when it names none or no such customer is in scope).
fn check_call(
    net: &Network,
    bureau_id: &str,
    input: CallInput,
    customer: Option<&Customer>,
    now: i64,
) -> AppResult<TroubleCall> {
    let mut errors = Vec::new();
    if !SOURCES.contains(&input.source.as_str()) {
        errors.push(FieldError::invalid(
            "source",
            format!("来源“{}”无效，应为：{}", input.source, SOURCES.join(", ")),
            format!("unknown source '{}', expected one of: {}", input.source, SOURCES.join(", ")),
        ));
    }
    let customer_id = caller_account(&input).map(str::to_string);
    let mut load = input.load_id.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    if let Some(c) = customer_id.as_deref() {
        match customer {
            Some(cust) => match &cust.supply_point {
                Some(sp) if load.is_none() => load = Some(sp.clone()),
                Some(_) => {}
                None => errors.push(FieldError::invalid(
                    "customer_id",
                    format!("客户{c}没有登记供电点（台区）"),
                    format!("customer {c} has no supply point on record"),
                )),
            },
            None => errors.push(FieldError::new(
                "customer_id",
                "unknown",
                format!("客户“{c}”不存在"),
                format!("no customer '{c}'"),
            )),
        }
    }
    let at = input.at.unwrap_or(now);
    if at > now + 300 || at < now - 30 * 86_400 {
        errors.push(FieldError::invalid(
            "at",
            "时间应在过去30天内，且不晚于现在",
            "the time must be within the last 30 days and not in the future",
        ));
    }
    match &load {
        None if customer_id.is_none() => errors.push(FieldError::new(
            "load_id",
            "required",
            "请给出客户户号或供电点（台区）",
            "give the customer's account or the load point",
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
        return Err(AppError::Invalid(errors));
    }
    let load = load.expect("checked above");
    let call = TroubleCall {
        id: input.id.filter(|s| !s.trim().is_empty()).unwrap_or_else(|| new_id("TC", at)),
        bureau_id: bureau_id.into(),
        source: input.source,
        customer_id,
        load_id: load,
        at,
        note: input.note.unwrap_or_default(),
        outage_id: None,
        callback_at: None,
        callback_result: None,
    };
    Ok(call)
}

/// Files checked calls of one bureau: a call at a load point cut off by a confirmed outage joins
/// that outage; the others are stored and the bureau's open calls grouped again, once for the lot.
/// Returns the calls stored, each with its outage; a call whose id is already stored is left out.
pub(crate) async fn file_calls(
    store: &DynStore,
    cache: &GridCache,
    net: &Network,
    actor: &Actor,
    bureau_id: &str,
    calls: Vec<TroubleCall>,
    now: i64,
) -> AppResult<Vec<TroubleCall>> {
    let scope = Scope::Bureaus(vec![bureau_id.into()]);
    // Load points cut off by a confirmed outage (not yet restored there).
    let mut cut_off: HashMap<String, String> = HashMap::new();
    let mut confirmed: HashMap<String, Outage> = HashMap::new();
    for o in store.active_outages(&scope).await? {
        if matches!(o.state.as_str(), "confirmed" | "partly_restored") {
            for p in store.outage_points(&o.id).await? {
                if p.restored_at.is_none() {
                    cut_off.entry(p.load_id).or_insert_with(|| o.id.clone());
                }
            }
            confirmed.insert(o.id.clone(), o);
        }
    }
    let mut calls = calls;
    for call in &mut calls {
        call.outage_id = cut_off.get(&call.load_id).cloned();
    }
    // Stored in one transaction for the lot (one writer turn, not one per call, so that 95598
    // intake does not queue behind a batch of hand-overs); an id stored before is left out.
    let stored: HashSet<String> = store.insert_trouble_calls(&calls).await?.into_iter().collect();
    let mut filed = Vec::with_capacity(calls.len());
    let mut joined: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut to_group = false;
    for call in calls {
        if !stored.contains(&call.id) {
            continue;
        }
        match &call.outage_id {
            Some(o) => joined.entry(o.clone()).or_default().push(call.id.clone()),
            None => to_group = true,
        }
        filed.push(call);
    }
    for (id, ids) in joined {
        let mut o = confirmed.remove(&id).expect("a confirmed outage");
        o.calls += ids.len() as i64;
        let points = store.outage_points(&o.id).await?;
        let note = format!("call{} {} joined", if ids.len() > 1 { "s" } else { "" }, ids.join(", "));
        let at = filed.iter().filter(|c| ids.contains(&c.id)).map(|c| c.at).max().unwrap_or(now);
        store.save_outage(&o, &points, &log(&o, actor, at, note)).await?;
    }
    if to_group {
        let at = filed.iter().map(|c| c.at).max().unwrap_or(now);
        let owner = regroup(store, cache, net, actor, bureau_id, at).await?;
        for c in filed.iter_mut().filter(|c| c.outage_id.is_none()) {
            c.outage_id = owner.get(&c.id).cloned();
        }
    }
    Ok(filed)
}

fn duplicate_call(id: &str) -> AppError {
    AppError::Conflict(FieldError::new(
        "id",
        "duplicate",
        format!("报修“{id}”已经登记"),
        format!("call '{id}' was already reported"),
    ))
}

/// Groups the bureau's open calls again and brings the predicted outages in line: returns the outage
/// of each call.
pub(crate) async fn regroup(
    store: &DynStore,
    cache: &GridCache,
    net: &Network,
    actor: &Actor,
    bureau_id: &str,
    now: i64,
) -> AppResult<HashMap<String, String>> {
    let lookback = (cache.rules.window_min * 60.0 * 4.0) as i64;
    let t0 = std::time::Instant::now();
    let calls = store.open_trouble_calls(bureau_id, now - lookback).await?;
    let t_read = t0.elapsed();
    let input: Vec<Call> =
        calls.iter().map(|c| Call { id: c.id.clone(), load: c.load_id.clone(), time_s: c.at }).collect();
    let evidence = meter_evidence(store, net, bureau_id, now - lookback, &calls).await?;
    let groups = net
        .predict_outages(&input, &evidence, &cache.rules)
        .map_err(|e| AppError::Invalid(vec![FieldError::invalid("load_id", e.to_string(), e.to_string())]))?;
    let t_pred = t0.elapsed();
    let ngroups = groups.len();
    let mut nattached = 0usize;
    let mut saves: Vec<OutageSave> = Vec::new();
    let scope = Scope::Bureaus(vec![bureau_id.into()]);
    let predicted: HashMap<String, Outage> = store
        .active_outages(&scope)
        .await?
        .into_iter()
        .filter(|o| o.state == "predicted")
        .map(|o| (o.id.clone(), o))
        .collect();
    let call_outage: HashMap<&str, &str> =
        calls.iter().filter_map(|c| c.outage_id.as_deref().map(|o| (c.id.as_str(), o))).collect();
    let mut used: HashSet<String> = HashSet::new();
    let mut owner = HashMap::new();
    for g in groups {
        // Reuse the earliest predicted outage that already holds one of these calls.
        let reuse = g
            .calls
            .iter()
            .filter_map(|c| call_outage.get(c.as_str()))
            .filter(|o| !used.contains(**o))
            .filter_map(|o| predicted.get(*o))
            .min_by_key(|o| (o.started_at, o.id.clone()))
            .cloned();
        let mut o = reuse.clone().unwrap_or_else(|| Outage {
            id: new_id("OT", g.first_call_s),
            bureau_id: bureau_id.into(),
            class: OutageClass::Fault.code().into(),
            state: "predicted".into(),
            device: None,
            load_point: None,
            started_at: g.first_call_s,
            confirmed_at: None,
            restored_at: None,
            closed_at: None,
            etr: None,
            crew: None,
            cause: String::new(),
            customers: 0,
            mv_users: 0,
            calls: 0,
            plan_id: None,
            created_by: actor.staff_id.clone(),
        });
        // Only the calls that move need writing: those not yet in this outage.
        let attach: Vec<String> =
            g.calls.iter().filter(|c| call_outage.get(c.as_str()) != Some(&o.id.as_str())).cloned().collect();
        let unchanged = attach.is_empty()
            && reuse.as_ref().is_some_and(|r| {
                r.device == g.device && r.load_point == g.load && r.calls == g.calls.len() as i64
            });
        used.insert(o.id.clone());
        for c in &g.calls {
            owner.insert(c.clone(), o.id.clone());
        }
        if unchanged {
            continue;
        }
        o.device = g.device.clone();
        o.load_point = g.load.clone();
        o.started_at = o.started_at.min(g.first_call_s);
        o.calls = g.calls.len() as i64;
        let points = match (&g.device, &g.load) {
            (Some(d), _) => points_below(net, d, o.started_at, &o.id),
            (None, Some(l)) => point_at(net, l, o.started_at, &o.id),
            _ => Vec::new(),
        };
        totals(&mut o, &points);
        let note = match &g.device {
            Some(d) => format!("predicted at device {d} from {} call(s)", g.calls.len()),
            None => format!(
                "service-level outage at {} from {} call(s)",
                g.load.clone().unwrap_or_default(),
                g.calls.len()
            ),
        };
        nattached += attach.len();
        let entry = log(&o, actor, now, note);
        saves.push(OutageSave { outage: o, points: Some(points), log: entry, attach });
    }
    for (id, mut o) in predicted {
        if !used.contains(&id) {
            o.state = "merged".into();
            let entry = log(&o, actor, now, "merged into a wider prediction");
            saves.push(OutageSave { outage: o, points: None, log: entry, attach: Vec::new() });
        }
    }
    // The whole regrouping in one short transaction: only the outages that changed and the calls
    // that moved are written, so that the single writer is not held for the calls already in place
    // (at a storm's thousands of open calls, writing them all again on every batch held 95598
    // intake up for 100-200 ms).
    let nsaved = saves.len();
    store.save_outages(&saves).await?;
    tracing::debug!(
        calls = calls.len(),
        groups = ngroups,
        saved = nsaved,
        moved = nattached,
        read_ms = t_read.as_secs_f64() * 1e3,
        predict_ms = (t_pred - t_read).as_secs_f64() * 1e3,
        total_ms = t0.elapsed().as_secs_f64() * 1e3,
        "open calls regrouped"
    );
    Ok(owner)
}

/// What AMI says for prediction: the load points whose latest meter event since `since` is `on` and
/// no older than the last call there. A meter that answers proves every device above it closed, so
/// the prediction moves below it (the move-down rule of `bureau_grid::predict`).
pub async fn meter_evidence(
    store: &DynStore,
    net: &Network,
    bureau_id: &str,
    since: i64,
    calls: &[TroubleCall],
) -> AppResult<Evidence> {
    let events = store.meter_events_since(bureau_id, since).await?;
    // Oldest first: the last event of a load point wins.
    let mut latest: HashMap<&str, (i64, bool)> = HashMap::new();
    for e in &events {
        latest.insert(e.load_id.as_str(), (e.at, e.state == "on"));
    }
    let mut last_call: HashMap<&str, i64> = HashMap::new();
    for c in calls {
        let t = last_call.entry(c.load_id.as_str()).or_insert(c.at);
        *t = (*t).max(c.at);
    }
    let mut meters_on: Vec<String> = latest
        .into_iter()
        .filter(|(load, (at, on))| *on && last_call.get(load).is_none_or(|c| at >= c))
        .filter(|(load, _)| net.node(load).is_some())
        .map(|(load, _)| load.to_string())
        .collect();
    meters_on.sort();
    Ok(Evidence { meters_on, known_closed: Vec::new() })
}

async fn get(store: &DynStore, actor: &Actor, id: &str) -> AppResult<Outage> {
    store.get_outage(&actor.scope, id).await.map_err(|e| AppError::or_not_found(e, "outage", id))
}

/// The outage with its points, calls and history.
pub async fn record(store: &DynStore, actor: &Actor, id: &str) -> AppResult<OutageRecord> {
    actor.require_any(READERS)?;
    let outage = get(store, actor, id).await?;
    Ok(OutageRecord {
        points: store.outage_points(id).await?,
        calls: store.calls_of_outage(id).await?,
        log: store.outage_log(id).await?,
        outage,
    })
}

pub async fn active(store: &DynStore, actor: &Actor) -> AppResult<Vec<Outage>> {
    actor.require_any(READERS)?;
    Ok(store.active_outages(&actor.scope).await?)
}

/// What the dispatcher or crew found.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ConfirmInput {
    /// The device actually found open, when it differs from the prediction.
    pub device: Option<String>,
    pub crew: Option<String>,
    /// Estimated restoration (Unix seconds).
    pub etr: Option<i64>,
    pub cause: Option<String>,
    /// `fault` (default) or `fault_external`.
    pub class: Option<String>,
}

fn check_device(net: &Network, device: &str) -> AppResult<()> {
    if net.branch(device).is_none() {
        return Err(FieldError::new(
            "device",
            "unknown",
            format!("设备“{device}”不存在"),
            format!("no device '{device}'"),
        )
        .into());
    }
    Ok(())
}

fn check_etr(etr: Option<i64>, now: i64) -> AppResult<()> {
    if etr.is_some_and(|e| e < now - 3600) {
        return Err(FieldError::invalid(
            "etr",
            "预计恢复时间不能早于现在",
            "the estimated restoration is in the past",
        )
        .into());
    }
    Ok(())
}

fn parse_class(c: Option<&str>, default: OutageClass) -> AppResult<OutageClass> {
    match c.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(s) => OutageClass::parse(s).ok_or_else(|| {
            let codes: Vec<&str> = OutageClass::ALL.iter().map(|c| c.code()).collect();
            FieldError::invalid(
                "class",
                format!("停电性质“{s}”无效，应为：{}", codes.join(", ")),
                format!("unknown class '{s}', expected one of: {}", codes.join(", ")),
            )
            .into()
        }),
    }
}

/// Predicted → confirmed (a crew or SCADA saw the device open).
pub async fn confirm(
    store: &DynStore,
    cache: &GridCache,
    actor: &Actor,
    id: &str,
    input: ConfirmInput,
    now: i64,
) -> AppResult<Outage> {
    actor.require_any(OPERATORS)?;
    let mut o = get(store, actor, id).await?;
    if o.state != "predicted" {
        return Err(conflict(
            "state",
            format!("停电事件处于“{}”状态，不能确认", state_zh(&o.state)),
            format!("the outage is {}, only a predicted outage can be confirmed", o.state),
        ));
    }
    check_etr(input.etr, now)?;
    let class = parse_class(input.class.as_deref(), OutageClass::Fault)?;
    let net = cache.network(store, &o.bureau_id).await?;
    let net = net.lock().await;
    let mut points = store.outage_points(id).await?;
    if let Some(d) = input.device.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        check_device(&net, d)?;
        o.device = Some(d.to_string());
        o.load_point = None;
        points = points_below(&net, d, o.started_at, id);
    }
    o.state = "confirmed".into();
    o.class = class.code().into();
    o.confirmed_at = Some(now);
    o.crew = input.crew.or(o.crew);
    o.etr = input.etr.or(o.etr);
    o.cause = input.cause.unwrap_or(o.cause);
    totals(&mut o, &points);
    let note = format!("confirmed{}", o.device.as_ref().map(|d| format!(" at {d}")).unwrap_or_default());
    store.save_outage(&o, &points, &log(&o, actor, now, note)).await?;
    tell_out(store, &o, &points, now).await?;
    Ok(o)
}

/// An outage the dispatcher knows of without calls (a breaker trip seen by SCADA, planned work).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct DeclareInput {
    pub device: String,
    pub class: Option<String>,
    pub started_at: Option<i64>,
    pub crew: Option<String>,
    pub etr: Option<i64>,
    pub cause: Option<String>,
    pub plan_id: Option<String>,
}

/// Records a confirmed outage at a device.
pub async fn declare(
    store: &DynStore,
    cache: &GridCache,
    actor: &Actor,
    bureau_id: &str,
    input: DeclareInput,
    now: i64,
) -> AppResult<Outage> {
    actor.require_any(OPERATORS)?;
    actor.require_bureau(bureau_id)?;
    let class = parse_class(input.class.as_deref(), OutageClass::Fault)?;
    check_etr(input.etr, now)?;
    let net = cache.network(store, bureau_id).await?;
    let net = net.lock().await;
    let device = input.device.trim();
    if device.is_empty() {
        return Err(FieldError::required("device").into());
    }
    check_device(&net, device)?;
    let started = input.started_at.unwrap_or(now);
    let mut o = Outage {
        id: new_id("OT", started),
        bureau_id: bureau_id.into(),
        class: class.code().into(),
        state: "confirmed".into(),
        device: Some(device.into()),
        load_point: None,
        started_at: started,
        confirmed_at: Some(now),
        restored_at: None,
        closed_at: None,
        etr: input.etr,
        crew: input.crew,
        cause: input.cause.unwrap_or_default(),
        customers: 0,
        mv_users: 0,
        calls: 0,
        plan_id: input.plan_id,
        created_by: actor.staff_id.clone(),
    };
    let points = points_below(&net, device, started, &o.id);
    totals(&mut o, &points);
    store.save_outage(&o, &points, &log(&o, actor, now, format!("declared at {device}"))).await?;
    tell_out(store, &o, &points, now).await?;
    Ok(o)
}

/// Sets the crew and the estimated restoration time.
pub async fn update(
    store: &DynStore,
    actor: &Actor,
    id: &str,
    crew: Option<String>,
    etr: Option<i64>,
    now: i64,
) -> AppResult<Outage> {
    actor.require_any(&[Role::Dispatcher, Role::RepairCrew, Role::ProductionLeader])?;
    check_etr(etr, now)?;
    let mut o = get(store, actor, id).await?;
    if matches!(o.state.as_str(), "closed" | "merged" | "restored") {
        return Err(conflict(
            "state",
            format!("停电事件处于“{}”状态，不能修改", state_zh(&o.state)),
            format!("the outage is {}", o.state),
        ));
    }
    o.crew = crew.or(o.crew);
    o.etr = etr.or(o.etr);
    let points = store.outage_points(id).await?;
    let note = format!(
        "crew {} · ETR {}",
        o.crew.clone().unwrap_or_default(),
        o.etr.map_or(String::new(), |e| e.to_string())
    );
    store.save_outage(&o, &points, &log(&o, actor, now, note)).await?;
    Ok(o)
}

/// Restores some load points (or all when `loads` is empty): confirmed → partly restored → restored.
pub async fn restore(
    store: &DynStore,
    actor: &Actor,
    id: &str,
    loads: &[String],
    at: i64,
) -> AppResult<Outage> {
    actor.require_any(&[Role::Dispatcher, Role::RepairCrew])?;
    let mut o = get(store, actor, id).await?;
    if !matches!(o.state.as_str(), "confirmed" | "partly_restored") {
        return Err(conflict(
            "state",
            format!("停电事件处于“{}”状态，须先确认才能恢复", state_zh(&o.state)),
            format!("the outage is {}: confirm it before restoring", o.state),
        ));
    }
    if at < o.started_at {
        return Err(FieldError::invalid(
            "at",
            "恢复时间早于停电开始时间",
            "restoration before the outage began",
        )
        .into());
    }
    let mut points = store.outage_points(id).await?;
    for l in loads {
        if !points.iter().any(|p| &p.load_id == l) {
            return Err(FieldError::new(
                "loads",
                "unknown",
                format!("“{l}”不在本次停电范围内"),
                format!("'{l}' is not cut off by this outage"),
            )
            .into());
        }
    }
    for p in points.iter_mut() {
        if p.restored_at.is_none() && (loads.is_empty() || loads.contains(&p.load_id)) {
            p.restored_at = Some(at);
        }
    }
    let all = points.iter().all(|p| p.restored_at.is_some());
    o.state = if all { "restored" } else { "partly_restored" }.into();
    if all {
        o.restored_at = Some(at);
    }
    let note =
        if loads.is_empty() { "restored".to_string() } else { format!("restored {}", loads.join(", ")) };
    store.save_outage(&o, &points, &log(&o, actor, at, note)).await?;
    let back: Vec<String> =
        points.iter().filter(|p| p.restored_at == Some(at)).map(|p| p.load_id.clone()).collect();
    let body =
        format!("【供电公司】您所在台区已于{}恢复供电。如仍未来电，请拨打95598。", notify::local_time(at));
    let key = format!("outage:{}:restored", o.id);
    notify::sms_to_customers_at(store, &o.bureau_id, &back, &key, "恢复供电通知", &body, None, at).await?;
    Ok(o)
}

/// Restored → closed (call-backs done, the record complete).
pub async fn close(store: &DynStore, actor: &Actor, id: &str, now: i64) -> AppResult<Outage> {
    actor.require_any(OPERATORS)?;
    let mut o = get(store, actor, id).await?;
    if o.state != "restored" {
        return Err(conflict(
            "state",
            format!("停电事件处于“{}”状态，须全部恢复后才能关闭", state_zh(&o.state)),
            format!("the outage is {}: only a restored outage can be closed", o.state),
        ));
    }
    o.state = "closed".into();
    o.closed_at = Some(now);
    let points = store.outage_points(id).await?;
    store.save_outage(&o, &points, &log(&o, actor, now, "closed")).await?;
    Ok(o)
}

/// Results of a call-back (回访) after restoration.
pub const CALLBACK_RESULTS: &[&str] = &["restored", "still_out", "no_answer"];

/// Records a call-back to a caller. `still_out` opens a new service-level outage at the caller's
/// load point, back-dated to the call (the original outage did not cover them).
pub async fn callback(
    store: &DynStore,
    actor: &Actor,
    outage_id: &str,
    call_id: &str,
    result: &str,
    now: i64,
) -> AppResult<Option<Outage>> {
    actor.require_any(CALL_TAKERS)?;
    if !CALLBACK_RESULTS.contains(&result) {
        return Err(FieldError::invalid(
            "result",
            format!("回访结果“{result}”无效，应为：{}", CALLBACK_RESULTS.join(", ")),
            format!("unknown result '{result}', expected one of: {}", CALLBACK_RESULTS.join(", ")),
        )
        .into());
    }
    let o = get(store, actor, outage_id).await?;
    if !matches!(o.state.as_str(), "restored" | "partly_restored" | "closed") {
        return Err(conflict(
            "state",
            "停电尚未恢复，不能回访".into(),
            format!("the outage is {}: call back after restoration", o.state),
        ));
    }
    let calls = store.calls_of_outage(outage_id).await?;
    let Some(call) = calls.iter().find(|c| c.id == call_id) else {
        return Err(AppError::not_found("call", call_id));
    };
    store.record_callback(call_id, now, result).await?;
    if result != "still_out" {
        return Ok(None);
    }
    let mut nested = Outage {
        id: new_id("OT", call.at),
        state: "predicted".into(),
        device: None,
        load_point: Some(call.load_id.clone()),
        started_at: call.at,
        confirmed_at: None,
        restored_at: None,
        closed_at: None,
        etr: None,
        crew: None,
        cause: String::new(),
        calls: 1,
        plan_id: None,
        created_by: actor.staff_id.clone(),
        ..o.clone()
    };
    let points = store
        .outage_points(outage_id)
        .await?
        .into_iter()
        .filter(|p| p.load_id == call.load_id)
        .map(|p| OutagePoint { outage_id: nested.id.clone(), out_at: call.at, restored_at: None, ..p })
        .collect::<Vec<_>>();
    totals(&mut nested, &points);
    store
        .save_outage(
            &nested,
            &points,
            &log(&nested, actor, now, format!("caller of {call_id} still out after {outage_id}")),
        )
        .await?;
    Ok(Some(nested))
}
