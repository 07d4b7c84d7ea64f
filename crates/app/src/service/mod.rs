//! The 95598 service centre: accepting work orders (工单), moving them through their lifecycle,
//! their deadlines, queues, warnings and the "% of deadlines met" report.
//!
//! Rules live in the domain (`bureau_domain::service`): the taxonomy, the dated service-level rule
//! sets and the holiday calendar, the state machine, pauses and repeat detection. This module reads
//! and writes through the store and links fault repairs to the duty roster ([`dispatch`]).
//!
//! Configuration (environment): `BUREAU_SERVICE_LEVELS_DIR` (an operator's rule-set files, added to
//! the built-in ones), `BUREAU_CALENDAR_DIR` (holiday calendars), `BUREAU_REPEAT_WINDOW_DAYS`
//! (default 30), and for dispatch see [`dispatch::DispatchConfig`].

pub mod dispatch;
pub mod knowledge;
pub mod screen_pop;

use crate::access::Actor;
use crate::error::{AppError, AppResult};
use crate::outbox::new_id;
use bureau_domain::calendar::{beijing, Calendar};
use bureau_domain::error::FieldError;
use bureau_domain::money::Fen;
use bureau_domain::org::Role;
use bureau_domain::register::ServiceArea;
use bureau_domain::service::lifecycle::OrderState;
use bureau_domain::service::{
    check_repeat, Channel, ComplaintGrade, DeadlineQuery, Event, OrderKind, OrderRef, Pause, PauseReason,
    RepeatPolicy, RuleBook, Schedule, Stage, Status, SubType,
};
use bureau_store::{
    CallerHistory, DeadlineTally, DynStore, OrderDeadline, OrderEvent, OrderQuery, StoreError, Transition,
    WorkOrder, VERSION_CONFLICT,
};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// The rule book in force for this process: the built-in rule sets and calendar, plus an
/// operator's files from `BUREAU_SERVICE_LEVELS_DIR` / `BUREAU_CALENDAR_DIR`. Loaded once.
pub fn rules() -> AppResult<&'static RuleBook> {
    static BOOK: OnceLock<Result<RuleBook, FieldError>> = OnceLock::new();
    BOOK.get_or_init(|| {
        let mut book = match std::env::var("BUREAU_SERVICE_LEVELS_DIR") {
            Ok(dir) if !dir.trim().is_empty() => RuleBook::load_dir(dir)?,
            _ => RuleBook::builtin(),
        };
        if let Ok(dir) = std::env::var("BUREAU_CALENDAR_DIR") {
            if !dir.trim().is_empty() {
                book = book.with_calendar(Calendar::load_dir(dir)?);
            }
        }
        Ok(book)
    })
    .as_ref()
    .map_err(|e| AppError::Invalid(vec![e.clone()]))
}

fn repeat_policy() -> RepeatPolicy {
    let days = std::env::var("BUREAU_REPEAT_WINDOW_DAYS").ok().and_then(|d| d.parse::<i64>().ok());
    match days {
        Some(d) if d > 0 => {
            RepeatPolicy { window: SignedDuration::from_hours(d * 24), ..RepeatPolicy::default() }
        }
        _ => RepeatPolicy::default(),
    }
}

fn ts(secs: i64) -> Timestamp {
    Timestamp::from_second(secs).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The deadlines of an order that would be accepted now: `bureau sla deadlines`.
pub fn deadlines(
    kind: &str,
    subtype: Option<&str>,
    area: Option<&str>,
    channel: Option<&str>,
    accepted: &str,
) -> AppResult<Schedule> {
    let mut errors = Vec::new();
    let kind = OrderKind::parse(kind).map_err(|e| errors.push(e)).ok();
    let subtype = match (kind, subtype.filter(|s| !s.trim().is_empty())) {
        (Some(k), Some(s)) => SubType::parse_for(k, s).map_err(|e| errors.push(e)).ok(),
        _ => None,
    };
    let area = area
        .filter(|s| !s.trim().is_empty())
        .and_then(|a| ServiceArea::parse(a).map_err(|e| errors.push(e)).ok());
    let channel = channel
        .filter(|s| !s.trim().is_empty())
        .and_then(|c| Channel::parse(c).map_err(|e| errors.push(e)).ok());
    let accepted = beijing::parse_rfc3339("accepted", accepted).map_err(|e| errors.push(e)).ok();
    let (Some(kind), Some(accepted), true) = (kind, accepted, errors.is_empty()) else {
        return Err(AppError::Invalid(errors));
    };
    Ok(rules()?.schedule(&DeadlineQuery { kind, subtype, area, channel, accepted })?)
}

/// What an agent records when accepting a call (受理).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Intake {
    pub kind: String,
    #[serde(default)]
    pub subtype: Option<String>,
    /// Complaints: special, major, important or ordinary (default ordinary).
    #[serde(default)]
    pub grade: Option<String>,
    /// phone, counter, portal, app, hotline12398, hotline12345 (default phone).
    #[serde(default)]
    pub channel: Option<String>,
    /// The account number when the caller is a known customer.
    #[serde(default)]
    pub customer_id: Option<String>,
    /// urban, rural or remote; taken from the customer when known.
    #[serde(default)]
    pub area: Option<String>,
    /// The caller said they would go above the bureau (越级倾向).
    #[serde(default)]
    pub escalation_intent: bool,
    #[serde(default)]
    pub caller_name: String,
    #[serde(default)]
    pub caller_phone: String,
    #[serde(default)]
    pub address: String,
    /// A key for the matter (e.g. a meter number), for repeat detection.
    #[serde(default)]
    pub matter: Option<String>,
    #[serde(default)]
    pub description: String,
    /// The handling unit, if known at acceptance.
    #[serde(default)]
    pub department_id: Option<String>,
    /// The bureau, when the caller is not a known customer (default: the agent's).
    #[serde(default)]
    pub bureau_id: Option<String>,
}

/// An order with its trail and deadlines.
#[derive(Clone, Debug, Serialize)]
pub struct OrderView {
    pub order: WorkOrder,
    pub deadlines: Vec<OrderDeadline>,
    pub events: Vec<OrderEvent>,
    /// The actions allowed now.
    pub allowed: Vec<&'static str>,
}

/// The result of accepting an order.
#[derive(Clone, Debug, Serialize)]
pub struct Accepted {
    pub order: WorkOrder,
    pub deadlines: Vec<OrderDeadline>,
    /// Earlier orders of the same caller on the same matter.
    pub repeats: Vec<String>,
    /// Staff notified at once (fault repairs).
    pub notified: Vec<String>,
}

const INTAKE_ROLES: &[Role] = &[Role::Agent, Role::CounterClerk, Role::Dispatcher, Role::Manager];
const SERVICE_ROLES: &[Role] = &[
    Role::Agent,
    Role::CounterClerk,
    Role::Dispatcher,
    Role::RepairCrew,
    Role::ProductionLeader,
    Role::Manager,
];

fn text_limit(errors: &mut Vec<FieldError>, field: &str, value: &str, max: usize) {
    if value.chars().count() > max {
        errors.push(FieldError::invalid(
            field,
            format!("不能超过{max}个字符"),
            format!("must be at most {max} characters"),
        ));
    }
}

/// Accepts a work order at `now` (Unix seconds): validates it, works out its deadlines from the
/// rule set in force, links it to earlier orders on the same matter, stores it, and for a fault
/// repair notifies the duty roster.
pub async fn accept(store: &DynStore, actor: &Actor, intake: &Intake, now: i64) -> AppResult<Accepted> {
    accept_with(store, actor, intake, now, true).await
}

/// [`accept`], with the duty roster's notifications only when `notify` (generators of past orders
/// pass false: nobody should be paged about last year's faults).
pub async fn accept_with(
    store: &DynStore,
    actor: &Actor,
    intake: &Intake,
    now: i64,
    notify: bool,
) -> AppResult<Accepted> {
    actor.require_any(INTAKE_ROLES)?;
    let mut errors = Vec::new();
    let kind = OrderKind::parse(&intake.kind).map_err(|e| errors.push(e)).ok();
    let subtype = match (kind, intake.subtype.as_deref().filter(|s| !s.trim().is_empty())) {
        (Some(k), Some(s)) => SubType::parse_for(k, s).map_err(|e| errors.push(e)).ok(),
        _ => None,
    };
    let grade = match intake.grade.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(g) if kind == Some(OrderKind::Complaint) => {
            ComplaintGrade::parse(g).map_err(|e| errors.push(e)).ok()
        }
        Some(_) => {
            errors.push(FieldError::invalid("grade", "只有投诉工单有分级", "only complaints have a grade"));
            None
        }
        None if kind == Some(OrderKind::Complaint) => Some(ComplaintGrade::Ordinary),
        None => None,
    };
    let channel = match intake.channel.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(c) => Channel::parse(c).map_err(|e| errors.push(e)).ok(),
        None => Some(Channel::Phone),
    };
    let mut area = intake
        .area
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .and_then(|a| ServiceArea::parse(a).map_err(|e| errors.push(e)).ok());
    let customer_id = intake.customer_id.as_deref().map(str::trim).filter(|s| !s.is_empty());
    // The customer and the caller's orders within the repeat window, in one read (one round trip
    // to the database: what intake's speed depends on). Without an account number, the orders
    // come from the phone number given.
    let policy = repeat_policy();
    let given_phone = intake.caller_phone.trim();
    let history = if customer_id.is_some() || !given_phone.is_empty() {
        store
            .caller_history(&actor.scope, customer_id, given_phone, now - policy.window.as_secs(), 200)
            .await?
    } else {
        CallerHistory { customer: None, orders: Vec::new() }
    };
    let customer = history.customer;
    if let (Some(id), None) = (customer_id, &customer) {
        errors.push(FieldError::new(
            "customer_id",
            "not_found",
            format!("户号 {id} 不存在"),
            format!("no customer with account number {id}"),
        ));
    }
    if let Some(c) = &customer {
        area = area.or(Some(c.area));
    }
    let caller_phone = intake.caller_phone.trim().to_string();
    let caller_phone = if caller_phone.is_empty() {
        customer.as_ref().and_then(|c| c.phone.clone()).unwrap_or_default()
    } else {
        caller_phone
    };
    if caller_phone.is_empty() && customer.is_none() {
        errors.push(FieldError::new(
            "caller_phone",
            "required",
            "请填写来电号码或户号",
            "give the caller's phone number or their account number",
        ));
    }
    if intake.description.trim().is_empty() {
        errors.push(FieldError::required("description"));
    }
    text_limit(&mut errors, "description", &intake.description, 4000);
    text_limit(&mut errors, "address", &intake.address, 300);
    text_limit(&mut errors, "caller_name", &intake.caller_name, 100);
    let bureau_id = match (&customer, intake.bureau_id.as_deref().filter(|b| !b.is_empty())) {
        (Some(c), _) => c.bureau_id.clone(),
        (None, Some(b)) => b.to_string(),
        (None, None) if !actor.bureau_id.is_empty() => actor.bureau_id.clone(),
        _ => {
            errors.push(FieldError::required("bureau_id"));
            String::new()
        }
    };
    let area = match area {
        Some(a) => Some(a),
        None if kind == Some(OrderKind::FaultRepair) => {
            errors.push(FieldError::new(
                "area",
                "required",
                "故障报修需要供电区域（urban 城区 / rural 农村 / remote 边远），或填写户号",
                "a fault repair needs the service area (urban, rural or remote) or the account number",
            ));
            None
        }
        None => Some(ServiceArea::Urban),
    };
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let (kind, channel, area) = (kind.expect("checked"), channel.expect("checked"), area.expect("checked"));
    if !bureau_id.is_empty() {
        actor.require_bureau(&bureau_id)?;
    }

    let accepted = ts(now);
    let book = rules()?;
    let set = book.set_in_force(accepted)?;
    let deadlines: Vec<OrderDeadline> = match book.schedule(&DeadlineQuery {
        kind,
        subtype,
        area: Some(area),
        channel: Some(channel),
        accepted,
    }) {
        Ok(s) => s
            .stages
            .iter()
            .map(|d| OrderDeadline { stage: d.stage, due_at: d.due.as_second(), done_at: None })
            .collect(),
        // No time limit is set for this kind (e.g. praise): the order has no deadlines.
        Err(e) if e.code == "no_rule" => Vec::new(),
        Err(e) => return Err(e.into()),
    };

    // Repeats and duplicates: the same caller (account, else phone) on the same matter.
    let caller_key = customer_id.map(str::to_string).unwrap_or_else(|| caller_phone.clone());
    let history: Vec<OrderRef> = history
        .orders
        .into_iter()
        .map(|o| OrderRef {
            id: o.id,
            customer: caller_key.clone(),
            kind: o.kind,
            subtype: o.subtype,
            matter: o.matter,
            accepted: ts(o.accepted_at),
            closed: o.closed_at.map(ts),
        })
        .collect();
    let id = new_id("W");
    let matter = intake.matter.as_deref().map(str::trim).filter(|m| !m.is_empty()).map(str::to_string);
    let check = check_repeat(
        &OrderRef {
            id: id.clone(),
            customer: caller_key,
            kind,
            subtype,
            matter: matter.clone(),
            accepted,
            closed: None,
        },
        &history,
        &policy,
    );
    use bureau_domain::service::repeat::Relation;
    let duplicate_of = check.matches.iter().find(|m| m.relation == Relation::Duplicate).map(|m| m.id.clone());
    let repeat_of = check.matches.iter().find(|m| m.relation == Relation::Repeat).map(|m| m.id.clone());

    let mut order = WorkOrder {
        id,
        customer_id: customer_id.map(str::to_string),
        bureau_id,
        kind,
        subtype,
        grade,
        channel,
        area,
        escalation_intent: intake.escalation_intent,
        escalated: channel.is_escalated(),
        caller_name: intake.caller_name.trim().to_string(),
        caller_phone,
        address: if intake.address.trim().is_empty() {
            customer.as_ref().map(|c| c.address.clone()).unwrap_or_default()
        } else {
            intake.address.trim().to_string()
        },
        matter,
        description: intake.description.trim().to_string(),
        status: Status::Accepted,
        paused_reason: None,
        paused_since: None,
        version: 0,
        accepted_at: now,
        accepted_by: actor.staff_id.clone(),
        department_id: intake.department_id.clone().filter(|d| !d.trim().is_empty()),
        taken_by: None,
        rule_set: set.id.clone(),
        next_due_at: None,
        next_due_stage: None,
        repeat_of,
        duplicate_of,
        repeat_count: i64::from(check.repeat_count),
        satisfaction: None,
        reopened: 0,
        updated_at: now,
        closed_at: None,
    };
    set_next_due(&mut order, &deadlines);
    // The order, its deadlines, the duty roster's pages and the hand-over to the grid's outage
    // grouping go in one transaction: a crash between them must not leave a fault repair that
    // nobody was told about.
    let notices = if kind == OrderKind::FaultRepair && notify {
        let mut n = dispatch::fault_notices(store, &order, &deadlines, now).await?;
        if let Some(call) = crate::grid::intake::trouble_call_notice(&order) {
            n.messages.push(crate::outbox::message(call, now)?);
        }
        n
    } else {
        dispatch::FaultNotices { messages: Vec::new(), at_once: Vec::new() }
    };
    store.create_work_order(&order, &deadlines, &notices.messages).await?;
    Ok(Accepted {
        order,
        deadlines,
        repeats: check.matches.iter().map(|m| m.id.clone()).collect(),
        notified: notices.at_once,
    })
}

fn set_next_due(order: &mut WorkOrder, deadlines: &[OrderDeadline]) {
    let next = deadlines.iter().filter(|d| d.done_at.is_none()).min_by_key(|d| (d.due_at, d.stage));
    order.next_due_at = next.map(|d| d.due_at);
    order.next_due_stage = next.map(|d| d.stage);
}

/// How far along the path a status is; a stage is met once the order reaches its rank.
fn rank(s: Status) -> u8 {
    match s {
        Status::Accepted | Status::Paused => 0,
        Status::Dispatched => 1,
        Status::Taken => 2,
        Status::Arrived => 3,
        Status::Restored | Status::Handled => 4,
        Status::Replied => 5,
        Status::CalledBack => 6,
        Status::Archived => 7,
    }
}

/// The status at which a stage's time limit is met. Contacting the customer (complaints) is met
/// when the handling unit takes the order; 办结 (close, 12398/12345) when the reply is given.
fn stage_rank(s: Stage) -> u8 {
    match s {
        Stage::Dispatch => 1,
        Stage::Contact => 2,
        Stage::Arrival => 3,
        Stage::Restoration | Stage::Reconnection => 4,
        Stage::Reply | Stage::Close => 5,
        Stage::CallBack => 6,
    }
}

/// What a member of staff does to an order.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ActRequest {
    /// dispatch, take, arrive, restore, handle, reply, call_back, archive, pause, resume, reopen.
    pub event: String,
    /// call_back: satisfied, fairly_satisfied or dissatisfied.
    #[serde(default)]
    pub satisfaction: Option<String>,
    /// pause: waiting_for_customer or waiting_for_third_party.
    #[serde(default)]
    pub reason: Option<String>,
    /// dispatch: the handling unit.
    #[serde(default)]
    pub department_id: Option<String>,
    /// reply of a fault repair (回单): the fault cause, the asset ownership (customer / bureau /
    /// other), the repair record.
    #[serde(default)]
    pub fault_cause: Option<String>,
    #[serde(default)]
    pub asset_ownership: Option<String>,
    #[serde(default)]
    pub repair_record: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

fn parse_event(req: &ActRequest) -> Result<Event, Vec<FieldError>> {
    use bureau_domain::service::{Action, Satisfaction};
    let action = Action::parse(&req.event).map_err(|e| vec![e])?;
    Ok(match action {
        Action::Accept => {
            return Err(vec![FieldError::new(
                "event",
                "out_of_order",
                "工单已受理；受理只在新建工单时记录",
                "the order is already accepted; acceptance is recorded only when an order is created",
            )])
        }
        Action::Dispatch => Event::Dispatch,
        Action::Take => Event::Take,
        Action::Arrive => Event::Arrive,
        Action::Restore => Event::Restore,
        Action::Handle => Event::Handle,
        Action::Reply => Event::Reply,
        Action::CallBack => {
            let s = req
                .satisfaction
                .as_deref()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| vec![FieldError::required("satisfaction")])?;
            Event::CallBack { satisfaction: Satisfaction::parse(s).map_err(|e| vec![e])? }
        }
        Action::Archive => Event::Archive,
        Action::Pause => {
            let reason = match req.reason.as_deref() {
                Some("waiting_for_customer") | Some("customer") => PauseReason::WaitingForCustomer,
                Some("waiting_for_third_party") | Some("third_party") => PauseReason::WaitingForThirdParty,
                Some(other) => {
                    return Err(vec![FieldError::invalid(
                        "reason",
                        format!("挂起原因“{other}”无效，应为 waiting_for_customer 或 waiting_for_third_party"),
                        format!("pause reason '{other}' is unknown; use waiting_for_customer or waiting_for_third_party"),
                    )])
                }
                None => return Err(vec![FieldError::required("reason")]),
            };
            Event::Pause { reason }
        }
        Action::Resume => Event::Resume,
        Action::Reopen => Event::Reopen,
    })
}

/// Which roles may do what: repair crews work a fault repair in the field (the handling unit's
/// staff any other order); agents and dispatchers route orders, call back and archive.
fn allowed_roles(e: Event, kind: OrderKind) -> &'static [Role] {
    match e {
        Event::Take | Event::Arrive | Event::Restore if kind == OrderKind::FaultRepair => {
            &[Role::RepairCrew, Role::Dispatcher, Role::ProductionLeader]
        }
        Event::Take | Event::Arrive | Event::Restore => SERVICE_ROLES,
        Event::Handle | Event::Reply | Event::Pause { .. } | Event::Resume => SERVICE_ROLES,
        Event::Dispatch | Event::Reopen => {
            &[Role::Agent, Role::Dispatcher, Role::ProductionLeader, Role::Manager]
        }
        Event::CallBack { .. } | Event::Archive => &[Role::Agent, Role::Manager],
    }
}

/// The state machine's view of an order. While paused, the status to go back to is the
/// `from_status` of the event that paused it.
fn state_of(o: &WorkOrder, events: &[OrderEvent]) -> OrderState {
    let back = events
        .iter()
        .rev()
        .find(|e| e.to_status == Status::Paused)
        .map_or(Status::Dispatched, |e| e.from_status);
    OrderState {
        kind: o.kind,
        status: o.status,
        paused: o.paused_reason.map(|r| (r, back)),
        satisfaction: o.satisfaction,
        reopened: o.reopened as u32,
    }
}

/// Applies an action to an order at `now`. A concurrent change to the same order is detected by
/// the version check; the action is then recomputed on what the other agent did (up to 5 times),
/// so both land or the second gets a clear "out of order" error — never a lost transition.
pub async fn act(
    store: &DynStore,
    actor: &Actor,
    order_id: &str,
    req: &ActRequest,
    now: i64,
) -> AppResult<OrderView> {
    actor.require_any(SERVICE_ROLES)?;
    let event = parse_event(req).map_err(AppError::Invalid)?;
    for _ in 0..5 {
        let order = store
            .get_work_order(order_id)
            .await
            .map_err(|e| AppError::or_not_found(e, "work order", order_id))?;
        actor.require_bureau(&order.bureau_id)?;
        actor.require_any(allowed_roles(event, order.kind))?;
        let events = store.work_order_events(order_id).await?;
        match try_act(store, actor, order, &events, event, req, now).await {
            Err(AppError::Store(StoreError::Constraint { constraint })) if constraint == VERSION_CONFLICT => {
                continue
            }
            other => {
                other?;
                return view(store, actor, order_id).await;
            }
        }
    }
    Err(AppError::Conflict(FieldError::new(
        "version",
        "conflict",
        "工单正被多人同时处理，请刷新后重试",
        "the order is being changed by others at this moment; reload and try again",
    )))
}

async fn try_act(
    store: &DynStore,
    actor: &Actor,
    order: WorkOrder,
    events: &[OrderEvent],
    event: Event,
    req: &ActRequest,
    now: i64,
) -> AppResult<()> {
    let next = state_of(&order, events).apply(event)?;
    let mut errors = Vec::new();
    let mut detail = serde_json::Map::new();
    if let Some(n) = req.note.as_deref().filter(|n| !n.trim().is_empty()) {
        text_limit(&mut errors, "note", n, 2000);
        detail.insert("note".into(), n.trim().into());
    }
    match event {
        Event::Reply if order.kind == OrderKind::FaultRepair => {
            for (field, value) in [
                ("fault_cause", &req.fault_cause),
                ("asset_ownership", &req.asset_ownership),
                ("repair_record", &req.repair_record),
            ] {
                match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                    Some(v) => {
                        text_limit(&mut errors, field, v, 2000);
                        detail.insert(field.into(), v.into());
                    }
                    None => errors.push(FieldError::new(
                        field,
                        "required",
                        "故障报修回单须填写故障原因、产权归属和抢修记录",
                        "a fault-repair reply needs the fault cause, the asset ownership and the repair record",
                    )),
                }
            }
        }
        Event::CallBack { satisfaction } => {
            detail.insert("satisfaction".into(), satisfaction.code().into());
        }
        Event::Pause { reason } => {
            detail.insert("reason".into(), serde_json::to_value(reason).unwrap_or_default());
        }
        Event::Dispatch => {
            if let Some(d) = req.department_id.as_deref().filter(|d| !d.trim().is_empty()) {
                detail.insert("department_id".into(), d.trim().into());
            }
        }
        _ => {}
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let at = now.max(order.updated_at);
    let mut o = order.clone();
    o.status = next.status;
    o.satisfaction = next.satisfaction;
    o.reopened = i64::from(next.reopened);
    o.version = order.version + 1;
    o.updated_at = at;
    let mut deadlines = store.work_order_deadlines(&order.id).await?;
    let mut changed: Vec<OrderDeadline> = Vec::new();
    match event {
        Event::Pause { reason } => {
            o.paused_reason = Some(reason);
            o.paused_since = Some(at);
        }
        Event::Resume => {
            o.paused_reason = None;
            o.paused_since = None;
            // Every deadline not yet met moves by all the pauses so far (this one included).
            let mut pauses: Vec<Pause> = Vec::new();
            let mut from = None;
            for e in events {
                if e.to_status == Status::Paused {
                    from = Some(e.at);
                } else if e.from_status == Status::Paused {
                    if let Some(f) = from.take() {
                        pauses.push(Pause { from: ts(f), to: ts(e.at) });
                    }
                }
            }
            if let Some(f) = order.paused_since.or(from) {
                pauses.push(Pause { from: ts(f), to: ts(at) });
            }
            let book = rules()?;
            let q = DeadlineQuery {
                kind: o.kind,
                subtype: o.subtype,
                area: Some(o.area),
                channel: Some(o.channel),
                accepted: ts(o.accepted_at),
            };
            if let Ok(schedule) = book.schedule(&q) {
                let moved = schedule.with_pauses(&pauses, book.calendar())?;
                for d in deadlines.iter_mut().filter(|d| d.done_at.is_none()) {
                    if let Some(m) = moved.stages.iter().find(|s| s.stage == d.stage) {
                        d.due_at = m.due.as_second();
                        changed.push(d.clone());
                    }
                }
            }
        }
        Event::Take => o.taken_by = Some(actor.staff_id.clone()),
        Event::Dispatch => {
            if let Some(d) = req.department_id.as_deref().filter(|d| !d.trim().is_empty()) {
                o.department_id = Some(d.trim().to_string());
            }
        }
        Event::Archive => o.closed_at = Some(at),
        _ => {}
    }
    if next.status != Status::Paused {
        let r = rank(next.status);
        for d in deadlines.iter_mut().filter(|d| d.done_at.is_none() && stage_rank(d.stage) <= r) {
            d.done_at = Some(at);
            changed.retain(|c| c.stage != d.stage);
            changed.push(d.clone());
        }
    }
    set_next_due(&mut o, &deadlines);
    if o.department_id != order.department_id {
        // The report groups deadlines by department: every deadline row follows the order.
        changed = deadlines.clone();
    }
    let ev = OrderEvent {
        seq: o.version,
        at,
        actor: actor.staff_id.clone(),
        event: event.action(),
        from_status: order.status,
        to_status: next.status,
        detail: (!detail.is_empty()).then(|| serde_json::Value::Object(detail).to_string()),
    };
    store
        .transition_work_order(&Transition {
            order: o.clone(),
            expected_version: order.version,
            event: ev,
            deadlines: changed,
        })
        .await?;
    if event == Event::Take && o.kind == OrderKind::FaultRepair {
        dispatch::cancel_escalation(store, &o.id).await?;
    }
    Ok(())
}

/// An order with its trail, its deadlines and the actions allowed now.
pub async fn view(store: &DynStore, actor: &Actor, order_id: &str) -> AppResult<OrderView> {
    actor.require_any(SERVICE_ROLES)?;
    let order = store
        .get_work_order(order_id)
        .await
        .map_err(|e| AppError::or_not_found(e, "work order", order_id))?;
    actor.require_bureau(&order.bureau_id)?;
    let events = store.work_order_events(order_id).await?;
    let deadlines = store.work_order_deadlines(order_id).await?;
    let allowed = state_of(&order, &events).allowed().iter().map(|a| a.code()).collect();
    Ok(OrderView { order, deadlines, events, allowed })
}

/// The queue: open orders of the actor's bureaus (or one customer's / one crew member's), the
/// nearest deadline first.
pub async fn queue(store: &DynStore, actor: &Actor, mut q: OrderQuery) -> AppResult<Vec<WorkOrder>> {
    actor.require_any(SERVICE_ROLES)?;
    q.scope = actor.scope.clone();
    Ok(store.list_work_orders(&q).await?)
}

/// Breach warnings: open orders whose next deadline falls within `within` seconds of `now` (or has
/// passed), soonest first.
pub async fn warnings(
    store: &DynStore,
    actor: &Actor,
    now: i64,
    within: i64,
    limit: u32,
) -> AppResult<Vec<WorkOrder>> {
    actor.require_any(SERVICE_ROLES)?;
    Ok(store.orders_due_before(&actor.scope, now + within.max(0), limit).await?)
}

/// One row of the "% of deadlines met" report.
#[derive(Clone, Debug, Serialize)]
pub struct ReportRow {
    #[serde(flatten)]
    pub tally: DeadlineTally,
    /// Met ÷ due, in percent with one decimal; `None` when nothing was due.
    pub percent_met: Option<f64>,
}

/// Deadlines met by month, kind, department and stage, for orders accepted in `[from, to)`.
pub async fn report(
    store: &DynStore,
    actor: &Actor,
    from: i64,
    to: i64,
    now: i64,
) -> AppResult<Vec<ReportRow>> {
    actor.require_any(&[Role::Manager, Role::Agent, Role::Dispatcher, Role::ProductionLeader])?;
    if to <= from {
        return Err(FieldError::invalid("to", "结束时间应晚于开始时间", "'to' must be after 'from'").into());
    }
    let rows = store.deadline_report(&actor.scope, from, to, now).await?;
    Ok(rows
        .into_iter()
        .map(|t| {
            let percent_met = (t.due > 0).then(|| (t.met as f64 * 1000.0 / t.due as f64).round() / 10.0);
            ReportRow { tally: t, percent_met }
        })
        .collect())
}

/// The report as CSV (UTF-8 with a header row).
pub fn report_csv(rows: &[ReportRow], out: &mut impl std::io::Write) -> std::io::Result<()> {
    writeln!(out, "month,kind,department_id,stage,due,met,percent_met")?;
    for r in rows {
        let t = &r.tally;
        writeln!(
            out,
            "{},{},{},{},{},{},{}",
            t.month,
            t.kind.code(),
            t.department_id.as_deref().unwrap_or(""),
            t.stage.code(),
            t.due,
            t.met,
            r.percent_met.map(|p| format!("{p:.1}")).unwrap_or_default()
        )?;
    }
    Ok(())
}

/// A caller and what is open for them.
#[derive(Clone, Debug, Serialize)]
pub struct CallerMatch {
    pub customer: bureau_domain::register::Customer,
    pub open_orders: Vec<WorkOrder>,
    /// The latest bills, newest first (a bill query is the most common call).
    pub recent_bills: Vec<BillBrief>,
    /// The account as the ledger stands today.
    pub account: AccountBrief,
}

/// How many bills the intake screen shows a caller.
pub const RECENT_BILLS: u32 = 3;

/// A bill as the agent reads it out on the phone.
#[derive(Clone, Debug, Serialize)]
pub struct BillBrief {
    /// `YYYY-MM`.
    pub period: String,
    pub revision: i64,
    pub state: bureau_domain::bill::BillState,
    pub kwh: rust_decimal::Decimal,
    pub total: Fen,
    pub paid: Fen,
    pub due_on: Option<String>,
}

/// The customer's money on the day of the call, folded from the ledger.
#[derive(Clone, Debug, Serialize)]
pub struct AccountBrief {
    /// Positive when owed, negative when in credit.
    pub balance: Fen,
    /// Unpaid on bills past their due date (欠费).
    pub arrears: Fen,
    /// Prepaid or overpaid money (预存余额).
    pub credit: Fen,
    /// Late fees accrued to today and not yet posted.
    pub late_fee_to_date: Fen,
    /// What settles everything today.
    pub to_clear: Fen,
    pub open_bills: usize,
}

/// The intake screen's lookup and the screen pop: customers matching an account number, phone or
/// address, each with their open orders, latest bills and account balance, and the open orders
/// from this phone number.
#[derive(Clone, Debug, Serialize)]
pub struct CallerLookup {
    pub query: String,
    pub customers: Vec<CallerMatch>,
    pub orders_from_phone: Vec<WorkOrder>,
}

pub async fn lookup(store: &DynStore, actor: &Actor, q: &str) -> AppResult<CallerLookup> {
    actor.require_any(INTAKE_ROLES)?;
    let q = q.trim();
    if q.chars().count() > 100 {
        return Err(FieldError::invalid("q", "检索词过长", "the search text is too long").into());
    }
    let mut customers = Vec::new();
    if !q.is_empty() {
        let today = beijing::date_of(Timestamp::now());
        for c in store.search_customers(&actor.scope, q, 10).await? {
            let mut oq = OrderQuery::new(actor.scope.clone());
            oq.customer_id = Some(c.id.as_str().to_string());
            oq.open_only = true;
            oq.by_due = true;
            oq.limit = 20;
            let open_orders = store.list_work_orders(&oq).await?;
            let recent_bills = store
                .bills_of(c.id.as_str(), RECENT_BILLS)
                .await?
                .into_iter()
                .map(|b| BillBrief {
                    period: b.period,
                    revision: b.revision,
                    state: b.state,
                    kwh: b.kwh,
                    total: b.total,
                    paid: b.paid,
                    due_on: b.due_on,
                })
                .collect();
            // The customer was found in the agent's scope; the ledger is read as the counter's is.
            let a = crate::payments::load_account(store, c.clone(), crate::payments::late_fee_rules(), today)
                .await?;
            let account = AccountBrief {
                balance: a.balance,
                arrears: a.arrears,
                credit: a.credit,
                late_fee_to_date: a.late_fee_to_date,
                to_clear: a.to_clear,
                open_bills: a.open_bills.len(),
            };
            customers.push(CallerMatch { customer: c, open_orders, recent_bills, account });
        }
    }
    let orders_from_phone = if q.chars().all(|c| c.is_ascii_digit() || c == '-' || c == '+') && q.len() >= 5 {
        let mut oq = OrderQuery::new(actor.scope.clone());
        oq.caller_phone = Some(q.to_string());
        oq.open_only = true;
        oq.by_due = true;
        oq.limit = 20;
        store.list_work_orders(&oq).await?
    } else {
        Vec::new()
    };
    Ok(CallerLookup { query: q.to_string(), customers, orders_from_phone })
}

/// The first instant of a `YYYY-MM` month in Beijing time; errors name `field`.
pub fn month_start(field: &str, month: &str) -> AppResult<i64> {
    let bad = || {
        AppError::Invalid(vec![FieldError::invalid(
            field,
            format!("月份“{month}”无效，应为YYYY-MM"),
            format!("month '{month}' is invalid; write YYYY-MM"),
        )])
    };
    let (y, m) = month.split_once('-').ok_or_else(bad)?;
    let (y, m): (i16, i8) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    let d = jiff::civil::Date::new(y, m, 1).map_err(|_| bad())?;
    Ok(beijing::start_of(d).map_err(|_| bad())?.as_second())
}
