//! The grid pages: the dispatcher's outage board on the feeder tree, planned work with ring
//! transfer, and the manager's reliability statistics with charts (inline SVG drawn here, no
//! script library).

use super::{error_page, here, render, view, UserView};
use crate::auth::PageStaff;
use crate::i18n::Tr;
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use bureau_app::grid::{notify::local_time, ops, outage, plans, stats};
use serde::Deserialize;
use std::collections::HashMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/grid/outages", get(outages_page))
        .route("/grid/plans", get(plans_page))
        .route("/grid/reliability", get(reliability_page))
}

/// (key, 中文, English)
pub const TEXTS: &[(&str, &str, &str)] = &[
    ("gridx.outages", "停电管理", "Outages"),
    ("gridx.plans", "检修转供", "Planned work"),
    ("gridx.reliability", "供电可靠性", "Supply reliability"),
    ("gridx.active", "当前停电事件", "Active outages"),
    ("gridx.none", "当前没有停电事件", "No active outage"),
    ("gridx.id", "编号", "Id"),
    ("gridx.state", "状态", "State"),
    ("gridx.class", "性质", "Class"),
    ("gridx.device", "设备/台区", "Device / load point"),
    ("gridx.started", "开始", "Started"),
    ("gridx.customers", "停电户数", "Customers out"),
    ("gridx.calls", "报修数", "Calls"),
    ("gridx.crew", "抢修班组", "Crew"),
    ("gridx.etr", "预计恢复", "ETR"),
    ("gridx.actions", "操作", "Actions"),
    ("gridx.confirm", "确认", "Confirm"),
    ("gridx.restore", "恢复送电", "Restore"),
    ("gridx.close", "关闭", "Close"),
    ("gridx.tree", "馈线树（颜色表示状态）", "Feeder tree (coloured by state)"),
    ("gridx.legend", "图例", "Legend"),
    ("gridx.energised", "带电", "Energised"),
    ("gridx.dead", "失电", "De-energised"),
    ("gridx.st.predicted", "研判中", "Predicted"),
    ("gridx.st.confirmed", "已确认", "Confirmed"),
    ("gridx.st.partly_restored", "部分恢复", "Partly restored"),
    ("gridx.st.restored", "已恢复", "Restored"),
    ("gridx.call", "登记报修", "Report a call"),
    ("gridx.load", "台区（负荷点）", "Load point"),
    ("gridx.submit", "提交", "Submit"),
    ("gridx.switch", "开关操作", "Switch operation"),
    ("gridx.branch", "开关编号", "Switch id"),
    ("gridx.open", "分闸", "Open"),
    ("gridx.closed", "合闸", "Close"),
    ("gridx.new_plan", "新建检修方案", "New work plan"),
    ("gridx.work_branch", "检修设备", "Work on"),
    ("gridx.starts", "开工", "Starts"),
    ("gridx.ends", "完工", "Ends"),
    ("gridx.steps", "操作步骤", "Switching steps"),
    ("gridx.transferred", "转供户数", "Customers transferred"),
    ("gridx.affected", "仍停电户数", "Customers still out"),
    ("gridx.unsupplied", "仍停电台区", "Load points still out"),
    ("gridx.notify", "发送7天停电通知", "Send the 7-day notice"),
    ("gridx.execute", "执行方案", "Execute"),
    ("gridx.no_plans", "还没有检修方案", "No plan yet"),
    ("gridx.period", "统计期间", "Period"),
    ("gridx.from", "起", "From"),
    ("gridx.to", "止（不含）", "To (excl.)"),
    ("gridx.show", "统计", "Show"),
    ("gridx.level", "范围", "Scope"),
    ("gridx.mv_users", "中压用户", "MV users"),
    ("gridx.lv_customers", "低压用户", "LV customers"),
    ("gridx.monthly", "各月平均停电时间（低压用户，小时/户）", "SAIDI by month (LV customers, h)"),
    ("gridx.by_feeder", "各线路平均停电时间（小时/户）", "SAIDI by feeder (h)"),
    ("gridx.fault", "故障", "Fault"),
    ("gridx.planned", "预安排", "Planned"),
    ("gridx.med", "重大事件日（2.5β）", "Major event days (2.5β)"),
    (
        "gridx.med_none",
        "无（历史数据不足或未超过阈值）",
        "None (too little history, or no day above the threshold)",
    ),
    ("gridx.without_med", "剔除重大事件日后", "Without major event days"),
    ("gridx.outage_count", "停电事件数", "Outages"),
    ("gridx.lvl.bureau", "全局", "Bureau"),
    ("gridx.lvl.substation", "变电站母线", "Substation bus"),
    ("gridx.lvl.feeder", "线路", "Feeder"),
];

fn state_class(s: &str) -> &'static str {
    match s {
        "predicted" => "st-predicted",
        "confirmed" => "st-confirmed",
        "partly_restored" => "st-partly",
        "restored" => "st-restored",
        _ => "",
    }
}

pub struct OutageRow {
    pub id: String,
    pub state: String,
    pub state_css: &'static str,
    pub class: String,
    pub device: String,
    pub started: String,
    pub customers: i64,
    pub calls: i64,
    pub crew: String,
    pub etr: String,
}

pub struct TreeRow {
    pub indent: usize,
    pub id: String,
    pub name: String,
    pub kind: String,
    pub via: String,
    pub via_open: bool,
    pub css: &'static str,
    pub customers: u64,
}

#[derive(Template)]
#[template(path = "grid_outages.html")]
struct OutagesPage {
    t: Tr,
    user: Option<UserView>,
    here: String,
    outages: Vec<OutageRow>,
    tree: Vec<TreeRow>,
}

async fn outages_page(State(state): State<AppState>, PageStaff(user): PageStaff, uri: Uri) -> Response {
    let a = &user.actor;
    let result = async {
        let active = outage::active(&state.store, a).await?;
        let tree = ops::feeder_tree(&state.store, &state.grid, a, &a.bureau_id).await?;
        // The state shown on a load point: the most advanced active outage that holds it unrestored.
        let mut point_state: HashMap<String, &'static str> = HashMap::new();
        for o in &active {
            for p in state.store.outage_points(&o.id).await? {
                if p.restored_at.is_none() {
                    point_state.entry(p.load_id).or_insert(state_class(&o.state));
                }
            }
        }
        Ok::<_, bureau_app::AppError>((active, tree, point_state))
    }
    .await;
    let (active, tree, point_state) = match result {
        Ok(x) => x,
        Err(e) => return error_page(&e, user.lang),
    };
    let outages = active
        .into_iter()
        .map(|o| OutageRow {
            state_css: state_class(&o.state),
            device: o.device.or(o.load_point).unwrap_or_default(),
            started: local_time(o.started_at),
            crew: o.crew.unwrap_or_default(),
            etr: o.etr.map(local_time).unwrap_or_default(),
            id: o.id,
            state: o.state,
            class: o.class,
            customers: o.customers,
            calls: o.calls,
        })
        .collect();
    let tree = tree
        .into_iter()
        .filter(|n| {
            n.kind != "bus" || n.via_kind.as_deref().is_some_and(|k| k != "line" && k != "transformer")
        })
        .map(|n| TreeRow {
            indent: n.depth.min(40),
            css: point_state.get(&n.id).copied().unwrap_or(if n.energised { "live" } else { "dead" }),
            via: n.via.unwrap_or_default(),
            via_open: n.via_open,
            id: n.id,
            name: n.name,
            kind: n.kind,
            customers: n.customers,
        })
        .collect();
    render(
        OutagesPage { t: Tr::new(user.lang), user: view(&user), here: here(&uri), outages, tree },
        StatusCode::OK,
    )
}

pub struct PlanRow {
    pub id: String,
    pub work_branch: String,
    pub state: String,
    pub starts: String,
    pub ends: String,
    pub steps: Vec<String>,
    pub transferred: u64,
    pub affected: i64,
    pub unsupplied: String,
}

#[derive(Template)]
#[template(path = "grid_plans.html")]
struct PlansPage {
    t: Tr,
    user: Option<UserView>,
    here: String,
    plans: Vec<PlanRow>,
}

async fn plans_page(State(state): State<AppState>, PageStaff(user): PageStaff, uri: Uri) -> Response {
    let list = match plans::list(&state.store, &user.actor).await {
        Ok(l) => l,
        Err(e) => return error_page(&e, user.lang),
    };
    let zh = user.lang == bureau_domain::i18n::Lang::Zh;
    let plans = list
        .into_iter()
        .map(|p| PlanRow {
            steps: p
                .plan
                .steps
                .iter()
                .map(|s| {
                    let act = match (s.action, zh) {
                        (bureau_grid::switching::Action::Open, true) => "分闸",
                        (bureau_grid::switching::Action::Close, true) => "合闸",
                        (bureau_grid::switching::Action::Open, false) => "open",
                        (bureau_grid::switching::Action::Close, false) => "close",
                    };
                    format!("{act} {}", s.branch)
                })
                .collect(),
            transferred: p.plan.customers_transferred,
            unsupplied: p.plan.unsupplied_loads.join(", "),
            id: p.row.id,
            work_branch: p.row.work_branch,
            state: p.row.state,
            starts: local_time(p.row.starts_at),
            ends: local_time(p.row.ends_at),
            affected: p.row.affected,
        })
        .collect();
    render(PlansPage { t: Tr::new(user.lang), user: view(&user), here: here(&uri), plans }, StatusCode::OK)
}

#[derive(Deserialize)]
struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
}

pub struct IndexRow {
    pub level: String,
    pub level_code: String,
    pub id: String,
    pub name: String,
    pub mv: u64,
    pub lv: u64,
    pub saifi: String,
    pub saidi: String,
    pub caidi: String,
    pub maifi: String,
    pub saidi_fault: String,
    pub saidi_planned: String,
    pub aihc_mv: String,
    pub rs1_mv: String,
    pub rs3_mv: String,
    pub aihc_lv: String,
    pub rs1_lv: String,
}

fn row(g: &stats::GroupStats, t: &Tr) -> IndexRow {
    IndexRow {
        level: match g.level.as_str() {
            "bureau" => t.t("gridx.lvl.bureau"),
            "substation" => t.t("gridx.lvl.substation"),
            _ => t.t("gridx.lvl.feeder"),
        }
        .to_string(),
        level_code: g.level.clone(),
        id: g.id.clone(),
        name: g.name.clone(),
        mv: g.mv_users,
        lv: g.lv_customers,
        saifi: format!("{:.3}", g.ieee.all.saifi),
        saidi: format!("{:.3}", g.ieee.all.saidi),
        caidi: format!("{:.3}", g.ieee.all.caidi),
        maifi: format!("{:.3}", g.ieee.all.maifi),
        saidi_fault: format!("{:.3}", g.ieee.fault.saidi),
        saidi_planned: format!("{:.3}", g.ieee.planned.saidi),
        aihc_mv: format!("{:.3}", g.dlt_mv.aihc_1),
        rs1_mv: format!("{:.4}%", g.dlt_mv.rs_1),
        rs3_mv: format!("{:.4}%", g.dlt_mv.rs_3),
        aihc_lv: format!("{:.3}", g.dlt_lv.aihc_1),
        rs1_lv: format!("{:.4}%", g.dlt_lv.rs_1),
    }
}

#[derive(Template)]
#[template(path = "grid_reliability.html")]
struct ReliabilityPage {
    t: Tr,
    user: Option<UserView>,
    here: String,
    from: String,
    to: String,
    rows: Vec<IndexRow>,
    outages: usize,
    med: String,
    med_days: String,
    without_med: String,
    monthly_svg: String,
    feeder_svg: String,
    error: Option<String>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Vertical stacked bars (one bar per label, two stacks: fault and planned) as an SVG string.
pub fn stacked_bars(bars: &[(String, f64, f64)], legend: (&str, &str)) -> String {
    let (w, h, left, bottom, top) = (720.0, 260.0, 48.0, 40.0, 24.0);
    let max = bars.iter().map(|b| b.1 + b.2).fold(0.0f64, f64::max).max(1e-9);
    let n = bars.len().max(1) as f64;
    let slot = (w - left - 10.0) / n;
    let bw = (slot * 0.7).max(2.0);
    let scale = (h - bottom - top) / max;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"100%\" role=\"img\" class=\"chart\">"
    );
    for k in 0..=4 {
        let v = max * k as f64 / 4.0;
        let y = h - bottom - v * scale;
        s += &format!(
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#d9e2ec\"/><text x=\"{}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"end\">{v:.2}</text>",
            w - 10.0,
            left - 4.0,
            y + 3.0
        );
    }
    for (i, (label, fault, planned)) in bars.iter().enumerate() {
        let x = left + slot * i as f64 + (slot - bw) / 2.0;
        let hf = fault * scale;
        let hp = planned * scale;
        let yf = h - bottom - hf;
        s += &format!(
            "<rect x=\"{x:.1}\" y=\"{yf:.1}\" width=\"{bw:.1}\" height=\"{hf:.1}\" fill=\"#b42318\"><title>{} {fault:.3}</title></rect>",
            esc(label)
        );
        s += &format!(
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{bw:.1}\" height=\"{hp:.1}\" fill=\"#f79009\"><title>{} {planned:.3}</title></rect>",
            yf - hp,
            esc(label)
        );
        s += &format!(
            "<text x=\"{:.1}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">{}</text>",
            x + bw / 2.0,
            h - bottom + 14.0,
            esc(label)
        );
    }
    s += &format!(
        "<rect x=\"{left}\" y=\"4\" width=\"10\" height=\"10\" fill=\"#b42318\"/><text x=\"{}\" y=\"13\" font-size=\"11\">{}</text>\
         <rect x=\"{}\" y=\"4\" width=\"10\" height=\"10\" fill=\"#f79009\"/><text x=\"{}\" y=\"13\" font-size=\"11\">{}</text></svg>",
        left + 14.0,
        esc(legend.0),
        left + 90.0,
        left + 104.0,
        esc(legend.1)
    );
    s
}

async fn reliability_page(
    State(state): State<AppState>,
    PageStaff(user): PageStaff,
    uri: Uri,
    Query(q): Query<PeriodQuery>,
) -> Response {
    let a = &user.actor;
    let t = Tr::new(user.lang);
    // Default: the last twelve whole months.
    let today = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8))).date();
    let to_default = today.first_of_month();
    let from_default = to_default.checked_sub(jiff::Span::new().years(1)).unwrap_or(to_default);
    let from = q.from.filter(|s| !s.is_empty()).unwrap_or_else(|| from_default.to_string());
    let to = q.to.filter(|s| !s.is_empty()).unwrap_or_else(|| to_default.to_string());
    let mut page = ReliabilityPage {
        t,
        user: view(&user),
        here: here(&uri),
        from: from.clone(),
        to: to.clone(),
        rows: Vec::new(),
        outages: 0,
        med: String::new(),
        med_days: String::new(),
        without_med: String::new(),
        monthly_svg: String::new(),
        feeder_svg: String::new(),
        error: None,
    };
    match stats::statistics(&state.store, &state.grid, a, &a.bureau_id, &from, &to, ops::now()).await {
        Ok(s) => {
            page.rows.push(row(&s.bureau, &t));
            page.rows.extend(s.substations.iter().map(|g| row(g, &t)));
            page.rows.extend(s.feeders.iter().map(|g| row(g, &t)));
            page.outages = s.outages;
            page.med = s.med.map_or(String::new(), |m| {
                format!(
                    "T_MED = {:.4} h (α = {:.3}, β = {:.3}, {} days)",
                    m.t_med, m.alpha, m.beta, m.days_used
                )
            });
            page.med_days = s.med_days.join(", ");
            page.without_med =
                format!("SAIFI {:.3} · SAIDI {:.3} h", s.ieee_without_med.saifi, s.ieee_without_med.saidi);
            let legend = (t.t("gridx.fault"), t.t("gridx.planned"));
            let months: Vec<(String, f64, f64)> =
                s.monthly.iter().map(|m| (m.month[2..].to_string(), m.fault_h, m.planned_h)).collect();
            page.monthly_svg = stacked_bars(&months, legend);
            let feeders: Vec<(String, f64, f64)> = s
                .feeders
                .iter()
                .map(|f| (f.id.trim_end_matches("-CB").to_string(), f.ieee.fault.saidi, f.ieee.planned.saidi))
                .collect();
            page.feeder_svg = stacked_bars(&feeders, legend);
            render(page, StatusCode::OK)
        }
        Err(bureau_app::AppError::Invalid(errors)) => {
            page.error = Some(
                errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message(user.lang)))
                    .collect::<Vec<_>>()
                    .join("; "),
            );
            render(page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => error_page(&e, user.lang),
    }
}
