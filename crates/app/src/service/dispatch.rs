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

/// Puts shifts on the duty roster (production leaders, dispatchers, managers). Every row is
/// checked; errors name `shifts[i].field`.
pub async fn set_roster(store: &DynStore, actor: &Actor, shifts: &[ShiftInput]) -> AppResult<u64> {
    actor.require_any(&[Role::ProductionLeader, Role::Dispatcher, Role::Manager])?;
    let mut errors = Vec::new();
    let mut rows = Vec::new();
    for (i, s) in shifts.iter().enumerate() {
        let f = |name: &str| format!("shifts[{i}].{name}");
        let bureau_id =
            s.bureau_id.clone().filter(|b| !b.is_empty()).unwrap_or_else(|| actor.bureau_id.clone());
        if bureau_id.is_empty() {
            errors.push(FieldError::required(&f("bureau_id")));
        } else if !actor.scope.allows(&bureau_id) {
            return Err(AppError::Forbidden);
        }
        match store.get_staff(&s.staff_id).await {
            Ok(_) => {}
            Err(StoreError::NotFound) => errors.push(FieldError::new(
                &f("staff_id"),
                "not_found",
                format!("员工 {} 不存在", s.staff_id),
                format!("no staff member {}", s.staff_id),
            )),
            Err(e) => return Err(e.into()),
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
        rows.push(DutyShift {
            id: s.id.clone().filter(|x| !x.is_empty()).unwrap_or_else(|| outbox::new_id("D")),
            bureau_id,
            staff_id: s.staff_id.clone(),
            duty: s.duty.clone(),
            level: s.level,
            crew_name: s.crew_name.clone(),
            vehicle: s.vehicle.clone(),
            starts_at: starts.map_or(0, |t| t.as_second()),
            ends_at: ends.map_or(0, |t| t.as_second()),
            phone: None,
        });
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    Ok(store.upsert_duty(&rows).await?)
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
