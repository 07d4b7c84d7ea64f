//! Planned work without outages (不停电检修 / 转供电): the switching plan that isolates the work and
//! keeps the most customers supplied through normally-open ties (the pure `plan_transfer`), the
//! customers still affected, their 7-day advance notice through the outbox, and the plan's execution
//! recorded switch by switch.
//!
//! 供电营业规则 (1996) Art. 67: a planned interruption is announced to the customers seven days
//! ahead. The notice period is [`NOTICE_DAYS`].

use super::notify;
use super::ops::{self, new_id, GridCache};
use super::{OPERATORS, READERS};
use crate::access::Actor;
use crate::error::{AppError, AppResult};
use bureau_domain::error::FieldError;
use bureau_grid::switching::{Action, SwitchingPlan, TransferOptions};
use bureau_store::{DynStore, Outage, OutageLogEntry, OutagePoint, SwitchingPlanRow};
use serde::Serialize;
use std::collections::HashMap;

/// Days of advance notice for planned interruptions (供电营业规则 Art. 67).
pub const NOTICE_DAYS: i64 = 7;

pub struct PlanInput {
    pub work_branch: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub feeder_limits_kw: HashMap<String, f64>,
}

/// A recorded plan with the plan itself decoded.
#[derive(Clone, Debug, Serialize)]
pub struct PlanView {
    #[serde(flatten)]
    pub row: SwitchingPlanRow,
    pub plan: SwitchingPlan,
    /// The last moment to send the advance notice.
    pub notice_by: i64,
    /// When the switch-back steps were operated after the work, and by whom.
    pub switched_back_at: Option<i64>,
    pub switched_back_by: Option<String>,
}

/// What `plan_json` holds: the plan and, once done, the switch-back record (kept beside the plan so
/// that the plan's state stays one of those the schema knows: the work is `executed`).
#[derive(Serialize, serde::Deserialize)]
struct StoredPlan {
    #[serde(flatten)]
    plan: SwitchingPlan,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    switched_back_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    switched_back_by: Option<String>,
}

fn view(row: SwitchingPlanRow) -> AppResult<PlanView> {
    let s: StoredPlan = serde_json::from_str(&row.plan_json)
        .map_err(|e| AppError::Store(bureau_store::StoreError::Corrupt(format!("plan {}: {e}", row.id))))?;
    Ok(PlanView {
        notice_by: row.starts_at - NOTICE_DAYS * 86_400,
        plan: s.plan,
        switched_back_at: s.switched_back_at,
        switched_back_by: s.switched_back_by,
        row,
    })
}

/// Computes and records the switching plan for work on a branch.
pub async fn create(
    store: &DynStore,
    cache: &GridCache,
    actor: &Actor,
    bureau_id: &str,
    input: PlanInput,
    now: i64,
) -> AppResult<PlanView> {
    actor.require_any(OPERATORS)?;
    actor.require_bureau(bureau_id)?;
    let mut errors = Vec::new();
    if input.starts_at < now {
        errors.push(FieldError::invalid("starts_at", "开工时间已过", "the work would start in the past"));
    }
    if input.ends_at <= input.starts_at {
        errors.push(FieldError::invalid(
            "ends_at",
            "完工时间应晚于开工时间",
            "the work must end after it starts",
        ));
    }
    for (f, kw) in &input.feeder_limits_kw {
        if !(kw.is_finite() && *kw >= 0.0) {
            errors.push(FieldError::invalid(
                "feeder_limits_kw",
                format!("线路{f}的容量{kw}应为不小于0的数"),
                format!("the limit {kw} of feeder {f} must be a number ≥ 0"),
            ));
        }
    }
    let net = cache.network(store, bureau_id).await?;
    let net = net.lock().await;
    let work = input.work_branch.trim();
    if net.branch(work).is_none() {
        errors.push(FieldError::new(
            "work_branch",
            "unknown",
            format!("设备“{work}”不存在"),
            format!("no branch '{work}'"),
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    // The stored feeder limits, unless the request names its own for a feeder.
    let mut feeder_limits_kw = super::limits::limits_kw(store, bureau_id).await?;
    feeder_limits_kw.extend(input.feeder_limits_kw);
    let plan = net.plan_transfer(work, &TransferOptions { feeder_limits_kw }).map_err(|e| {
        AppError::Invalid(vec![FieldError::invalid("work_branch", e.to_string(), e.to_string())])
    })?;
    let row = SwitchingPlanRow {
        id: new_id("PL", now),
        bureau_id: bureau_id.into(),
        work_branch: work.into(),
        starts_at: input.starts_at,
        ends_at: input.ends_at,
        state: "planned".into(),
        plan_json: serde_json::to_string(&plan).expect("plans serialise"),
        affected: (plan.customers_in_zone + plan.customers_unsupplied) as i64,
        created_by: actor.staff_id.clone(),
        created_at: now,
        notified_at: None,
        executed_at: None,
        executed_by: None,
    };
    store.save_plan(&row).await?;
    Ok(PlanView {
        notice_by: row.starts_at - NOTICE_DAYS * 86_400,
        plan,
        switched_back_at: None,
        switched_back_by: None,
        row,
    })
}

pub async fn list(store: &DynStore, actor: &Actor) -> AppResult<Vec<PlanView>> {
    actor.require_any(READERS)?;
    store.list_plans(&actor.scope, 200).await?.into_iter().map(view).collect()
}

pub async fn get(store: &DynStore, actor: &Actor, id: &str) -> AppResult<PlanView> {
    actor.require_any(READERS)?;
    view(store.get_plan(&actor.scope, id).await.map_err(|e| AppError::or_not_found(e, "plan", id))?)
}

fn wrong_state(row: &SwitchingPlanRow, want: &str) -> AppError {
    AppError::Conflict(FieldError::new(
        "state",
        "state",
        format!("方案处于“{}”状态，应为“{want}”", row.state),
        format!("the plan is {}, it must be {want}", row.state),
    ))
}

/// What a notice run did.
#[derive(Clone, Debug, Serialize)]
pub struct NoticeReport {
    pub plan: PlanView,
    /// SMS notices enqueued (customers with a phone on record).
    pub notices: u64,
}

/// Sends the advance notice to every customer still affected (load points left unsupplied, the work
/// zone included). Refused when fewer than [`NOTICE_DAYS`] days remain before the work.
pub async fn notify(store: &DynStore, actor: &Actor, id: &str, now: i64) -> AppResult<NoticeReport> {
    actor.require_any(OPERATORS)?;
    let mut p = get(store, actor, id).await?;
    if p.row.state != "planned" {
        return Err(wrong_state(&p.row, "planned"));
    }
    if p.row.starts_at - now < NOTICE_DAYS * 86_400 {
        return Err(FieldError::invalid(
            "starts_at",
            format!("计划停电须提前{NOTICE_DAYS}天通知（供电营业规则第六十七条），请推迟开工时间"),
            format!("planned interruptions are announced {NOTICE_DAYS} days ahead: move the work later"),
        )
        .into());
    }
    let (from, to) = (notify::local_time(p.row.starts_at), notify::local_time(p.row.ends_at));
    let body = format!(
        "【供电公司】因设备检修，您所在台区将于{from}至{to}停电，请提前做好准备。转供电后仍受影响的用户方收到本通知。"
    );
    let notices = notify::sms_to_customers_at(
        store,
        &p.row.bureau_id,
        &p.plan.unsupplied_loads,
        &format!("plan:{id}:notice"),
        "计划停电通知",
        &body,
        None,
        now,
    )
    .await?;
    p.row.state = "notified".into();
    p.row.notified_at = Some(now);
    store.save_plan(&p.row).await?;
    Ok(NoticeReport { plan: p, notices })
}

/// What an execution did.
#[derive(Clone, Debug, Serialize)]
pub struct Execution {
    pub plan: PlanView,
    pub switched: Vec<ops::SwitchResult>,
    /// The planned outage recorded for the customers still affected, if any.
    pub outage_id: Option<String>,
}

/// Operates the plan's steps in order (each recorded with who and when) and records the planned
/// interruption of the customers left without supply. A plan that leaves customers without supply
/// must have been notified first.
pub async fn execute(
    store: &DynStore,
    cache: &GridCache,
    actor: &Actor,
    id: &str,
    now: i64,
) -> AppResult<Execution> {
    actor.require_any(OPERATORS)?;
    let mut p = get(store, actor, id).await?;
    let ok_state =
        p.row.state == "notified" || (p.row.state == "planned" && p.plan.unsupplied_loads.is_empty());
    if !ok_state {
        return Err(wrong_state(&p.row, "notified"));
    }
    let bureau = p.row.bureau_id.clone();
    let mut switched = Vec::new();
    for step in &p.plan.steps {
        let open = step.action == Action::Open;
        let r = ops::operate(store, cache, actor, &bureau, &step.branch, open, "plan", Some(id), now).await?;
        switched.push(r);
    }
    // The customers still without supply have a planned interruption from now to the planned end.
    let outage_id = if p.plan.unsupplied_loads.is_empty() {
        None
    } else {
        let net = cache.network(store, &bureau).await?;
        let net = net.lock().await;
        let oid = new_id("OT", now);
        let points: Vec<OutagePoint> = p
            .plan
            .unsupplied_loads
            .iter()
            .filter_map(|l| net.node(l))
            .map(|n| OutagePoint {
                outage_id: oid.clone(),
                load_id: n.id.clone(),
                customers: n.customers as i64,
                out_at: now,
                restored_at: None,
            })
            .collect();
        let o = Outage {
            id: oid.clone(),
            bureau_id: bureau.clone(),
            class: "planned".into(),
            state: "confirmed".into(),
            device: Some(p.row.work_branch.clone()),
            load_point: None,
            started_at: now,
            confirmed_at: Some(now),
            restored_at: None,
            closed_at: None,
            etr: Some(p.row.ends_at.max(now)),
            crew: None,
            cause: "planned_maintenance".into(),
            customers: points.iter().map(|x| x.customers).sum(),
            mv_users: points.len() as i64,
            calls: 0,
            plan_id: Some(id.into()),
            created_by: actor.staff_id.clone(),
        };
        let entry = OutageLogEntry {
            outage_id: oid.clone(),
            seq: 0,
            at: now,
            by_staff: actor.staff_id.clone(),
            state: o.state.clone(),
            note: format!("planned interruption of plan {id}"),
        };
        store.save_outage(&o, &points, &entry).await?;
        Some(oid)
    };
    p.row.state = "executed".into();
    p.row.executed_at = Some(now);
    p.row.executed_by = Some(actor.staff_id.clone());
    store.save_plan(&p.row).await?;
    Ok(Execution { plan: p, switched, outage_id })
}

/// What switching back did.
#[derive(Clone, Debug, Serialize)]
pub struct SwitchBack {
    pub plan: PlanView,
    pub switched: Vec<ops::SwitchResult>,
    /// The plan's planned interruption, now restored.
    pub outage_id: Option<String>,
}

/// After the work: operates the plan's switch-back steps in order (each recorded with who and when),
/// so that the grid returns to the switch states the plan started from, and restores the plan's
/// planned interruption (its customers are told). Once only, and only after the plan was executed.
pub async fn switch_back(
    store: &DynStore,
    cache: &GridCache,
    actor: &Actor,
    id: &str,
    now: i64,
) -> AppResult<SwitchBack> {
    actor.require_any(OPERATORS)?;
    let mut p = get(store, actor, id).await?;
    if p.row.state != "executed" {
        return Err(wrong_state(&p.row, "executed"));
    }
    if p.switched_back_at.is_some() {
        return Err(AppError::Conflict(FieldError::new(
            "state",
            "state",
            "方案已恢复正常运行方式",
            "the plan has been switched back already",
        )));
    }
    let bureau = p.row.bureau_id.clone();
    let mut switched = Vec::new();
    for step in &p.plan.switch_back {
        let open = step.action == Action::Open;
        let r = ops::operate(store, cache, actor, &bureau, &step.branch, open, "plan", Some(id), now).await?;
        switched.push(r);
    }
    let scope = bureau_store::Scope::Bureaus(vec![bureau.clone()]);
    let outage = store.active_outages(&scope).await?.into_iter().find(|o| {
        o.plan_id.as_deref() == Some(id) && matches!(o.state.as_str(), "confirmed" | "partly_restored")
    });
    let outage_id = match outage {
        Some(o) => Some(super::outage::restore(store, actor, &o.id, &[], now.max(o.started_at)).await?.id),
        None => None,
    };
    p.switched_back_at = Some(now);
    p.switched_back_by = Some(actor.staff_id.clone());
    p.row.plan_json = serde_json::to_string(&StoredPlan {
        plan: p.plan.clone(),
        switched_back_at: p.switched_back_at,
        switched_back_by: p.switched_back_by.clone(),
    })
    .expect("plans serialise");
    store.save_plan(&p.row).await?;
    Ok(SwitchBack { plan: p, switched, outage_id })
}
