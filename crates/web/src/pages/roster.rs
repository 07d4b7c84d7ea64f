//! The repair duty roster page (抢修值班表): who is on duty, the escalation chain, the shifts of
//! the coming week with their leaders, crews and vehicles; production leaders, dispatchers and
//! managers add shifts and end them. Ending keeps the planned times (the roster's history).

use super::{error_page, here, render, view, UserView};
use crate::auth::{PageStaff, StaffUser};
use crate::i18n::Tr;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use bureau_app::service::dispatch::{self, DispatchConfig, ShiftInput};
use bureau_app::AppError;
use bureau_domain::org::Role;
use bureau_store::DutyShift;
use serde::Deserialize;
use std::collections::HashMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/service/roster", get(roster_page).post(add_post))
        .route("/service/roster/{id}/end", post(end_post))
}

/// (key, 中文, English)
pub const TEXTS: &[(&str, &str, &str)] = &[
    ("nav.roster", "值班表", "Duty roster"),
    ("roster.title", "抢修值班表", "Repair duty roster"),
    ("roster.now", "当前值班", "On duty now"),
    ("roster.chain", "升级链", "Escalation chain"),
    ("roster.level", "升级级别", "Escalation level"),
    ("roster.level0", "受理即通知", "notified at acceptance"),
    ("roster.after", "无人接单后通知，分钟：", "notified if nobody takes the order, after minutes:"),
    ("roster.shifts", "班次（前1天至后7天）", "Shifts (from a day ago to a week ahead)"),
    ("roster.staff", "值班人员", "Staff member"),
    ("roster.duty", "职责", "Duty"),
    ("roster.crew", "抢修班组", "Crew"),
    ("roster.vehicle", "车辆", "Vehicle"),
    ("roster.starts", "开始（北京时间）", "Starts (Beijing time)"),
    ("roster.ends", "计划结束（北京时间）", "Planned end (Beijing time)"),
    ("roster.ended", "实际结束", "Ended"),
    ("roster.state", "状态", "State"),
    ("roster.on", "在岗", "On duty"),
    ("roster.upcoming", "未开始", "Upcoming"),
    ("roster.over", "已结束", "Over"),
    ("roster.cancelled", "已提前结束", "Ended early"),
    ("roster.end", "结束班次", "End shift"),
    ("roster.add", "新增班次", "Add a shift"),
    (
        "roster.nobody",
        "当前无人值班：故障报修将无人接到通知",
        "Nobody is on duty: a fault repair would page no one",
    ),
    ("duty.leader", "生产领导", "Production leader"),
    ("duty.crew", "抢修队", "Repair crew"),
    ("duty.supervisor", "值班长", "Duty supervisor"),
];

/// A shift as the page shows it.
struct ShiftRow {
    id: String,
    staff: String,
    duty: &'static str,
    level: i64,
    crew: String,
    vehicle: String,
    starts: String,
    ends: String,
    ended: String,
    /// `on`, `upcoming`, `over` or `cancelled`.
    state: &'static str,
    can_end: bool,
}

#[derive(Template)]
#[template(path = "service_roster.html")]
struct RosterPage {
    t: Tr,
    user: Option<UserView>,
    here: String,
    now: Vec<ShiftRow>,
    /// (level, minutes after acceptance)
    chain: Vec<(i64, i64)>,
    shifts: Vec<ShiftRow>,
    staff: Vec<(String, String)>,
    can_edit: bool,
    form: ShiftForm,
    errors: Vec<String>,
}

#[derive(Deserialize, Default, Clone)]
struct ShiftForm {
    #[serde(default)]
    staff_id: String,
    #[serde(default)]
    duty: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    crew_name: String,
    #[serde(default)]
    vehicle: String,
    /// `YYYY-MM-DDTHH:MM` from a datetime-local input, Beijing time.
    #[serde(default)]
    starts_at: String,
    #[serde(default)]
    ends_at: String,
}

fn duty_key(duty: &str) -> &'static str {
    match duty {
        "leader" => "duty.leader",
        "crew" => "duty.crew",
        _ => "duty.supervisor",
    }
}

/// A member of staff as the roster shows them: the name with the id, or the id alone when the
/// staff list in the viewer's scope does not hold them.
fn who(names: &HashMap<String, String>, id: &str) -> String {
    match names.get(id) {
        Some(name) => format!("{name} ({id})"),
        None => id.to_string(),
    }
}

fn row(s: &DutyShift, t: &Tr, now: i64, names: &HashMap<String, String>) -> ShiftRow {
    let state = match s.ended_at {
        Some(e) if e < s.ends_at && e <= now => "cancelled",
        _ if s.starts_at > now => "upcoming",
        _ if s.ends_at <= now => "over",
        _ => "on",
    };
    ShiftRow {
        id: s.id.clone(),
        staff: who(names, &s.staff_id),
        duty: t.t(duty_key(&s.duty)),
        level: s.level,
        crew: s.crew_name.clone().unwrap_or_default(),
        vehicle: s.vehicle.clone().unwrap_or_default(),
        starts: super::beijing_short(s.starts_at),
        ends: super::beijing_short(s.ends_at),
        ended: s
            .ended_at
            .map(|e| {
                format!(
                    "{} {}",
                    super::beijing_short(e),
                    s.ended_by.as_deref().map(|b| who(names, b)).unwrap_or_default()
                )
            })
            .unwrap_or_default(),
        state,
        can_end: s.ended_at.is_none() && s.ends_at > now,
    }
}

/// A datetime-local value (Beijing time, no offset) as RFC 3339; anything else is passed on as
/// written, for the use case to name the field if it is wrong.
fn beijing_rfc3339(v: &str) -> String {
    let v = v.trim();
    match v.len() {
        16 => format!("{v}:00+08:00"),
        19 => format!("{v}+08:00"),
        _ => v.to_string(),
    }
}

async fn screen(
    state: &AppState,
    user: &StaffUser,
    uri: &Uri,
    form: ShiftForm,
    errors: Vec<String>,
) -> Result<RosterPage, AppError> {
    let t = Tr::new(user.lang);
    let now = bureau_app::auth::now_unix();
    let shifts = dispatch::roster(&state.store, &user.actor, None, now - 86_400, now + 7 * 86_400).await?;
    let on_now = dispatch::on_duty(&state.store, &user.actor, now).await?;
    let take = DispatchConfig::from_env().take_timeout_secs / 60;
    let mut levels: Vec<i64> = on_now.iter().map(|s| s.level).collect();
    levels.dedup();
    let all_staff = state.store.list_staff(&user.actor.scope).await?;
    let names: HashMap<String, String> = all_staff.iter().map(|s| (s.id.clone(), s.name.clone())).collect();
    let staff = all_staff
        .into_iter()
        .filter(|s| {
            s.active
                && s.roles.iter().any(|r| {
                    matches!(r, Role::RepairCrew | Role::ProductionLeader | Role::Manager | Role::Dispatcher)
                })
        })
        .map(|s| (s.id, s.name))
        .collect();
    let can_edit = user.actor.require_any(&[Role::ProductionLeader, Role::Dispatcher, Role::Manager]).is_ok();
    Ok(RosterPage {
        now: on_now.iter().map(|s| row(s, &t, now, &names)).collect(),
        chain: levels.into_iter().map(|l| (l, l * take)).collect(),
        shifts: shifts.iter().map(|s| row(s, &t, now, &names)).collect(),
        staff,
        can_edit,
        form,
        errors,
        t,
        user: view(user),
        here: here(uri),
    })
}

async fn roster_page(State(state): State<AppState>, PageStaff(user): PageStaff, uri: Uri) -> Response {
    match screen(&state, &user, &uri, ShiftForm { level: "0".into(), ..ShiftForm::default() }, Vec::new())
        .await
    {
        Ok(p) => render(p, StatusCode::OK),
        Err(e) => error_page(&e, user.lang),
    }
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

async fn add_post(
    State(state): State<AppState>,
    PageStaff(user): PageStaff,
    uri: Uri,
    Form(f): Form<ShiftForm>,
) -> Response {
    // An unreadable level is passed on as out of range, for the use case to name the field.
    let level = f.level.trim().parse::<i64>().unwrap_or(-1);
    let input = ShiftInput {
        id: None,
        bureau_id: None,
        staff_id: f.staff_id.clone(),
        duty: f.duty.clone(),
        level,
        crew_name: Some(f.crew_name.clone()),
        vehicle: Some(f.vehicle.clone()),
        starts_at: beijing_rfc3339(&f.starts_at),
        ends_at: beijing_rfc3339(&f.ends_at),
    };
    match dispatch::add_shift(&state.store, &user.actor, &input, bureau_app::auth::now_unix()).await {
        Ok(_) => Redirect::to("/service/roster").into_response(),
        Err(e) => match messages(&e, user.lang) {
            Some(errors) => match screen(&state, &user, &uri, f, errors).await {
                Ok(p) => render(p, StatusCode::UNPROCESSABLE_ENTITY),
                Err(e) => error_page(&e, user.lang),
            },
            None => error_page(&e, user.lang),
        },
    }
}

async fn end_post(
    State(state): State<AppState>,
    PageStaff(user): PageStaff,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    match dispatch::end_shift(&state.store, &user.actor, &id, bureau_app::auth::now_unix()).await {
        Ok(_) => Redirect::to("/service/roster").into_response(),
        Err(e) => match messages(&e, user.lang) {
            Some(errors) => match screen(&state, &user, &uri, ShiftForm::default(), errors).await {
                Ok(p) => render(p, StatusCode::CONFLICT),
                Err(e) => error_page(&e, user.lang),
            },
            None => error_page(&e, user.lang),
        },
    }
}
