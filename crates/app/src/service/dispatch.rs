//! Repair-dispatch linkage (报修服务联动): when a fault repair is accepted, everyone on level 0 of
//! the duty roster (the on-duty production leaders and the 24-hour crew) is notified at once
//! through the outbox; notifications for level 1, 2... are enqueued for `take timeout × level`
//! later and withdrawn as soon as a crew takes the order. So if nobody takes it in time, the next
//! in the escalation chain hears of it — even if this process restarts in between, since the
//! pending notifications are in the database.
//!
//! Configuration (environment): `BUREAU_DISPATCH_CHANNEL` (the outbox channel, default `sms`) and
//! `BUREAU_DISPATCH_TAKE_TIMEOUT_MIN` (default 10 minutes: our choice, no rule was found; the
//! dispatch limit itself is 5 minutes from the end of the call).

use crate::access::Actor;
use crate::error::{AppError, AppResult};
use crate::outbox::{self, Notification};
use bureau_domain::calendar::beijing;
use bureau_domain::error::FieldError;
use bureau_domain::org::Role;
use bureau_domain::service::Stage;
use bureau_store::{DutyShift, DynStore, NewOutboxMessage, OrderDeadline, StoreError, WorkOrder};
use jiff::Timestamp;

/// Which channel dispatch notifications use and how long a crew has to take an order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DispatchConfig {
    pub channel: String,
    pub take_timeout_secs: i64,
}

impl DispatchConfig {
    pub fn from_env() -> DispatchConfig {
        let channel = std::env::var("BUREAU_DISPATCH_CHANNEL")
            .ok()
            .filter(|c| outbox::valid_channel(c))
            .unwrap_or_else(|| "sms".into());
        let minutes = std::env::var("BUREAU_DISPATCH_TAKE_TIMEOUT_MIN")
            .ok()
            .and_then(|m| m.trim().parse::<i64>().ok())
            .filter(|m| *m > 0)
            .unwrap_or(10);
        DispatchConfig { channel, take_timeout_secs: minutes * 60 }
    }
}

fn fmt_time(secs: i64) -> String {
    Timestamp::from_second(secs).map(beijing::format_rfc3339).unwrap_or_default()
}

/// The duty roster's notifications about a new fault repair, to be written with the order in
/// one transaction; and the staff notified at once (level 0).
pub struct FaultNotices {
    pub messages: Vec<NewOutboxMessage>,
    pub at_once: Vec<String>,
}

/// [`fault_notices_with`] with the configuration from the environment.
pub async fn fault_notices(
    store: &DynStore,
    order: &WorkOrder,
    deadlines: &[OrderDeadline],
    now: i64,
) -> AppResult<FaultNotices> {
    fault_notices_with(store, order, deadlines, now, &DispatchConfig::from_env()).await
}

/// Reads who is on duty (with their phones, in one query) and writes the page for each: level 0
/// at once, level n after `take timeout × n` unless a crew takes the order first.
pub async fn fault_notices_with(
    store: &DynStore,
    order: &WorkOrder,
    deadlines: &[OrderDeadline],
    now: i64,
    cfg: &DispatchConfig,
) -> AppResult<FaultNotices> {
    let shifts = store.on_duty(&order.bureau_id, now).await?;
    if shifts.is_empty() {
        tracing::warn!(order = %order.id, bureau = %order.bureau_id, "fault repair accepted with nobody on the duty roster");
    }
    let arrival = deadlines.iter().find(|d| d.stage == Stage::Arrival).map(|d| d.due_at);
    let mut out = FaultNotices { messages: Vec::with_capacity(shifts.len()), at_once: Vec::new() };
    for s in &shifts {
        let phone = s.phone.clone().unwrap_or_else(|| s.staff_id.clone());
        let (key, due, subject) = if s.level == 0 {
            (format!("wo:{}:dispatch:{}", order.id, s.staff_id), now, "【抢修派单】")
        } else {
            (
                format!("wo:{}:esc:{}:{}", order.id, s.level, s.staff_id),
                now + cfg.take_timeout_secs * s.level,
                "【抢修升级】无人接单",
            )
        };
        let body = format!(
            "{subject}工单{} {} {} 来电{} 受理{}{}",
            order.id,
            order.address,
            order.description,
            order.caller_phone,
            fmt_time(order.accepted_at),
            arrival.map(|a| format!(" 到达时限{}", fmt_time(a))).unwrap_or_default()
        );
        let n = Notification::new(key, cfg.channel.clone(), phone, subject, body)
            .with_data(serde_json::json!({
                "order_id": order.id,
                "kind": order.kind.code(),
                "area": order.area.code(),
                "address": order.address,
                "caller_phone": order.caller_phone,
                "staff_id": s.staff_id,
                "duty": s.duty,
                "level": s.level,
                "crew": s.crew_name,
                "vehicle": s.vehicle,
                "arrival_due": arrival.map(fmt_time),
            }))
            .not_before(due);
        out.messages.push(outbox::message(n, now)?);
        if s.level == 0 {
            out.at_once.push(s.staff_id.clone());
        }
    }
    Ok(out)
}

/// Withdraws the escalations of an order that a crew has taken.
pub async fn cancel_escalation(store: &DynStore, order_id: &str) -> AppResult<u64> {
    outbox::cancel(store, &format!("wo:{order_id}:esc:")).await
}

/// A shift to put on the roster.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ShiftInput {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub bureau_id: Option<String>,
    pub staff_id: String,
    /// leader, crew or supervisor.
    pub duty: String,
    #[serde(default)]
    pub level: i64,
    #[serde(default)]
    pub crew_name: Option<String>,
    #[serde(default)]
    pub vehicle: Option<String>,
    /// RFC 3339.
    pub starts_at: String,
    pub ends_at: String,
}

/// Who may change the duty roster.
const ROSTER_ROLES: &[Role] = &[Role::ProductionLeader, Role::Dispatcher, Role::Manager];

/// Checks one shift to put on the roster; errors name `{prefix}field`.
async fn check_shift(
    store: &DynStore,
    actor: &Actor,
    prefix: &str,
    s: &ShiftInput,
    errors: &mut Vec<FieldError>,
) -> AppResult<DutyShift> {
    let f = |name: &str| format!("{prefix}{name}");
    let bureau_id = s.bureau_id.clone().filter(|b| !b.is_empty()).unwrap_or_else(|| actor.bureau_id.clone());
    if bureau_id.is_empty() {
        errors.push(FieldError::required(&f("bureau_id")));
    } else if !actor.scope.allows(&bureau_id) {
        return Err(AppError::Forbidden);
    }
    let staff_id = s.staff_id.trim();
    if staff_id.is_empty() {
        errors.push(FieldError::required(&f("staff_id")));
    } else {
        match store.get_staff(staff_id).await {
            Ok(_) => {}
            Err(StoreError::NotFound) => errors.push(FieldError::new(
                &f("staff_id"),
                "not_found",
                format!("员工 {staff_id} 不存在"),
                format!("no staff member {staff_id}"),
            )),
            Err(e) => return Err(e.into()),
        }
    }
    if !matches!(s.duty.as_str(), "leader" | "crew" | "supervisor") {
        errors.push(FieldError::invalid(
            &f("duty"),
            "值班类别应为 leader（生产领导）、crew（抢修队）或 supervisor（值班长）",
            "duty must be leader, crew or supervisor",
        ));
    }
    if !(0..=5).contains(&s.level) {
        errors.push(FieldError::invalid(
            &f("level"),
            "升级级别应在0到5之间",
            "level must be between 0 and 5",
        ));
    }
    let text = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_string);
    for (name, v) in [("crew_name", &s.crew_name), ("vehicle", &s.vehicle)] {
        if text(v).is_some_and(|v| v.chars().count() > 50) {
            errors.push(FieldError::invalid(&f(name), "不能超过50个字符", "must be at most 50 characters"));
        }
    }
    let starts = beijing::parse_rfc3339(&f("starts_at"), &s.starts_at).map_err(|e| errors.push(e)).ok();
    let ends = beijing::parse_rfc3339(&f("ends_at"), &s.ends_at).map_err(|e| errors.push(e)).ok();
    if let (Some(a), Some(b)) = (starts, ends) {
        if b <= a {
            errors.push(FieldError::invalid(
                &f("ends_at"),
                "班次结束应晚于开始",
                "a shift must end after it starts",
            ));
        }
    }
    Ok(DutyShift {
        id: s.id.clone().filter(|x| !x.is_empty()).unwrap_or_else(|| outbox::new_id("D")),
        bureau_id,
        staff_id: staff_id.to_string(),
        duty: s.duty.clone(),
        level: s.level,
        crew_name: text(&s.crew_name),
        vehicle: text(&s.vehicle),
        starts_at: starts.map_or(0, |t| t.as_second()),
        ends_at: ends.map_or(0, |t| t.as_second()),
        created_at: None,
        created_by: None,
        ended_at: None,
        ended_by: None,
        phone: None,
    })
}

/// Puts shifts on the duty roster (production leaders, dispatchers, managers): a whole roster at
/// once, a shift given with the id of one already there replacing it (the import path; the pages
/// use [`add_shift`] and [`end_shift`], which keep what was planned). Every row is checked; errors
/// name `shifts[i].field`.
pub async fn set_roster(store: &DynStore, actor: &Actor, shifts: &[ShiftInput]) -> AppResult<u64> {
    actor.require_any(ROSTER_ROLES)?;
    let mut errors = Vec::new();
    let mut rows = Vec::new();
    for (i, s) in shifts.iter().enumerate() {
        rows.push(check_shift(store, actor, &format!("shifts[{i}]."), s, &mut errors).await?);
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    Ok(store.upsert_duty(&rows).await?)
}

/// Adds one shift to the roster at `now`, recording who added it. The shift gets a new id.
pub async fn add_shift(store: &DynStore, actor: &Actor, s: &ShiftInput, now: i64) -> AppResult<DutyShift> {
    actor.require_any(ROSTER_ROLES)?;
    let mut errors = Vec::new();
    let input = ShiftInput { id: None, ..s.clone() };
    let mut shift = check_shift(store, actor, "", &input, &mut errors).await?;
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    shift.created_at = Some(now);
    shift.created_by = Some(actor.staff_id.clone());
    store.add_shift(&shift).await?;
    Ok(store.get_shift(&shift.id).await?)
}

/// Ends a shift at `now`: someone goes off duty early, or a planned shift is called off. The
/// planned times stay on the roster; a shift already over or ended is a `conflict` naming `id`.
pub async fn end_shift(store: &DynStore, actor: &Actor, id: &str, now: i64) -> AppResult<DutyShift> {
    actor.require_any(ROSTER_ROLES)?;
    let shift = store.get_shift(id).await.map_err(|e| AppError::or_not_found(e, "shift", id))?;
    actor.require_bureau(&shift.bureau_id)?;
    match store.end_shift(id, now, &actor.staff_id).await {
        Ok(()) => Ok(store.get_shift(id).await?),
        Err(StoreError::Constraint { .. }) => Err(AppError::Conflict(FieldError::new(
            "id",
            "conflict",
            "该班次已结束，无需再结束",
            "the shift is already over or ended",
        ))),
        Err(e) => Err(e.into()),
    }
}

/// The roster of the actor's bureau (or `bureau_id` in their scope) overlapping `[from, to)`,
/// ended shifts included, for the roster page.
pub async fn roster(
    store: &DynStore,
    actor: &Actor,
    bureau_id: Option<&str>,
    from: i64,
    to: i64,
) -> AppResult<Vec<DutyShift>> {
    actor.require_any(&[
        Role::ProductionLeader,
        Role::Dispatcher,
        Role::Manager,
        Role::Agent,
        Role::RepairCrew,
    ])?;
    let bureau = bureau_id.filter(|b| !b.is_empty()).unwrap_or(&actor.bureau_id);
    actor.require_bureau(bureau)?;
    if to <= from || to - from > 92 * 86_400 {
        return Err(FieldError::invalid(
            "to",
            "查询区间应晚于开始且不超过92天",
            "'to' must be after 'from' and at most 92 days later",
        )
        .into());
    }
    Ok(store.roster(bureau, from, to).await?)
}

/// Who is on duty in the actor's bureau at `now`.
pub async fn on_duty(store: &DynStore, actor: &Actor, now: i64) -> AppResult<Vec<DutyShift>> {
    actor.require_any(&[
        Role::ProductionLeader,
        Role::Dispatcher,
        Role::Manager,
        Role::Agent,
        Role::RepairCrew,
    ])?;
    Ok(store.on_duty(&actor.bureau_id, now).await?)
}
