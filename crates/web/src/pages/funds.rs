//! The government-fund remittance page (政府性基金及附加解缴) for managers: per fund and rate the kWh
//! and the amount to remit, per tariff and per month, and the reconciliation against the bills' own
//! funds, with a CSV link to the API.

use super::{error_page, here, render, view, UserView};
use crate::api::billing::tariffs;
use crate::auth::PageStaff;
use crate::i18n::Tr;
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use bureau_app::remittance::{self, Remittance};
use bureau_app::AppError;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new().route("/billing/funds", get(funds_page))
}

/// (key, 中文, English)
pub const TEXTS: &[(&str, &str, &str)] = &[
    ("nav.funds", "政府性基金", "Government funds"),
    ("funds.title", "政府性基金及附加解缴报表", "Government funds and surcharges: remittance report"),
    ("funds.period", "电费年月（起）", "Billing month (from)"),
    ("funds.to", "至（可选）", "To (optional)"),
    ("funds.show", "查询", "Show"),
    ("funds.csv", "导出CSV", "Export CSV"),
    (
        "funds.basis",
        "口径：有效账单（作废账单不计，退补后的新账单计入）的电量 × 计费期间执行的电价版本所含基金费率；期间内电价调整的，按天数分摊电量，与账单计算相同。每月、每个电价版本、每项基金四舍五入到分一次，合计为各行之和。",
        "Basis: the kWh of live bills (a cancelled bill does not count, its replacement does) × the fund rate of the tariff version in force over the consumption days; when the version changes inside them, the kWh are split by days exactly as on the bill. Each line (month, tariff version, fund) is rounded half-up to the fen once; totals are sums of lines.",
    ),
    ("funds.by_fund", "按基金项目", "By fund"),
    ("funds.by_tariff", "按电价", "By tariff"),
    ("funds.by_month", "按月", "By month"),
    ("funds.code", "编码", "Code"),
    ("funds.name", "基金项目", "Fund"),
    ("funds.rate", "征收标准（元/kWh）", "Rate (yuan/kWh)"),
    ("funds.kwh", "计费电量（kWh）", "kWh subject"),
    ("funds.amount", "应解缴（元）", "To remit (yuan)"),
    ("funds.tariff", "电价", "Tariff"),
    ("funds.version", "电价版本", "Tariff version"),
    ("funds.month", "月份", "Month"),
    ("funds.bills", "账单数", "Bills"),
    ("funds.billed", "账单基金合计（元）", "Bills' own funds (yuan)"),
    ("funds.difference", "舍入差额（元）", "Rounding difference (yuan)"),
    ("funds.total", "合计", "Total"),
    ("funds.unverified", "费率未核实", "rate unverified"),
    (
        "funds.reconcile",
        "对账：本表合计与各账单自身基金之和的差额来自逐张账单分别四舍五入，如实列示，不作分摊。",
        "Reconciliation: the difference between this report and the sum of the bills' own funds comes from rounding each bill on its own; it is shown, not spread.",
    ),
    ("funds.unpriced", "未能计价的账单", "Bills that could not be priced"),
    ("funds.unpriced_funds", "其中未能计价账单的基金", "of which unpriced bills' funds"),
    ("funds.dates", "计费期间", "Consumption days"),
    ("funds.reason", "原因", "Reason"),
    ("funds.none", "所选月份没有有效账单", "No live bills in these months"),
];

#[derive(Template)]
#[template(path = "bill_funds.html")]
struct FundsPage {
    t: Tr,
    user: Option<UserView>,
    here: String,
    period: String,
    to: String,
    report: Option<Remittance>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
struct FundsQuery {
    period: Option<String>,
    to: Option<String>,
}

fn last_month() -> String {
    let d = jiff::Zoned::now().date().first_of_month().yesterday().expect("a date after year -9999");
    format!("{:04}-{:02}", d.year(), d.month())
}

async fn funds_page(
    State(state): State<AppState>,
    PageStaff(user): PageStaff,
    uri: Uri,
    Query(q): Query<FundsQuery>,
) -> Response {
    let nonempty = |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let period = nonempty(q.period).unwrap_or_else(last_month);
    let to = nonempty(q.to).unwrap_or_default();
    let mut page = FundsPage {
        t: Tr::new(user.lang),
        user: view(&user),
        here: here(&uri),
        period: period.clone(),
        to: to.clone(),
        report: None,
        error: None,
    };
    let result: Result<Remittance, AppError> = async {
        let (f, t) = remittance::parse_periods(&period, Some(&to)).map_err(AppError::Invalid)?;
        remittance::fund_remittance(&state.store, &user.actor, tariffs(), f, t).await
    }
    .await;
    match result {
        Ok(r) => {
            page.report = Some(r);
            render(page, StatusCode::OK)
        }
        Err(AppError::Invalid(errs)) => {
            page.error = Some(
                errs.iter()
                    .map(|f| format!("{}: {}", f.field, f.message(user.lang)))
                    .collect::<Vec<_>>()
                    .join("; "),
            );
            render(page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => error_page(&e, user.lang),
    }
}

impl FundsPage {
    /// A name in the page's language.
    fn name<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        if self.t.is_zh() || en.is_empty() {
            zh
        } else {
            en
        }
    }

    /// The API's CSV of the same months.
    fn csv_href(&self) -> String {
        if self.to.is_empty() {
            format!("/api/v1/billing/funds?period={}&format=csv", self.period)
        } else {
            format!("/api/v1/billing/funds?period={}&to={}&format=csv", self.period, self.to)
        }
    }
}
