//! The government-fund remittance report over HTTP against the real server on port 0, on SQLite
//! and PostgreSQL, over the small demo county (the figures themselves are worked by hand in
//! bureau-app's tests/remittance.rs and the domain's tariff::remittance tests).

mod support;

use bureau_store::Scope;
use serde_json::{json, Value};
use support::app::TestApp;

fn fen(v: &Value) -> i64 {
    let s = v.as_str().unwrap_or_else(|| panic!("money is a string: {v}"));
    let (y, f) = s.split_once('.').unwrap();
    let sign = if y.starts_with('-') { -1 } else { 1 };
    sign * (y.trim_start_matches('-').parse::<i64>().unwrap() * 100 + f.parse::<i64>().unwrap())
}

fn fields(e: &Value) -> Vec<String> {
    e["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fund_report_over_http() -> anyhow::Result<()> {
    for app in TestApp::each_with_demo().await? {
        let manager = app.login("manager").await?;
        let clerk = app.login("clerk").await?;
        let crew = app.login("crew").await?;
        let totals = app.db.store.period_totals(&Scope::All, "2026-09").await?;
        assert!(totals.bills > 200, "the demo billed 2026-09: {totals:?}");

        // One month: every live bill counted; the tables add up; the difference is amount − billed.
        let r = app.get("/api/v1/billing/funds?period=2026-09", &manager).await?;
        assert_eq!(r.status(), 200);
        let rep: Value = r.json().await?;
        assert_eq!(rep["from"], "2026-09");
        assert_eq!(rep["to"], "2026-09");
        assert_eq!(rep["bills"].as_u64(), Some(totals.bills));
        let amount = fen(&rep["amount"]);
        assert!(amount > 0, "{rep}");
        let by_fund: i64 = rep["funds"].as_array().unwrap().iter().map(|f| fen(&f["amount"])).sum();
        assert_eq!(by_fund, amount);
        let tariffs = rep["tariffs"].as_array().unwrap();
        assert_eq!(tariffs.iter().map(|t| fen(&t["amount"])).sum::<i64>(), amount);
        assert_eq!(tariffs.iter().map(|t| t["bills"].as_u64().unwrap()).sum::<u64>(), totals.bills);
        let billed = fen(&rep["billed_funds"]);
        assert_eq!(fen(&rep["difference"]), amount - billed);
        assert!(rep["unpriced"].as_array().unwrap().is_empty(), "{rep}");
        // Rounding per bill against per line: a few fen per line at most, never a silent gap.
        assert!((amount - billed).abs() < totals.bills as i64, "{amount} vs {billed}");

        // A cancelled bill (no replacement) leaves the report; clerks read it too.
        let id = "2300000100";
        let b: Value =
            app.get(&format!("/api/v1/customers/{id}/bills/2026-09"), &clerk).await?.json().await?;
        let r = app
            .post_json(
                &format!("/api/v1/customers/{id}/bills/2026-09/cancel"),
                &clerk,
                &json!({"reason": "测试作废", "rebill": false}),
            )
            .await?;
        assert_eq!(r.status(), 200);
        let after: Value = app.get("/api/v1/billing/funds?period=2026-09", &clerk).await?.json().await?;
        assert_eq!(after["bills"].as_u64(), Some(totals.bills - 1));
        assert_eq!(fen(&after["billed_funds"]), billed - fen(&b["funds"]));

        // A range of months, one row per month; the CSV.
        let range: Value =
            app.get("/api/v1/billing/funds?period=2026-07&to=2026-09", &manager).await?.json().await?;
        let months: Vec<&str> =
            range["months"].as_array().unwrap().iter().map(|m| m["period"].as_str().unwrap()).collect();
        assert_eq!(months, ["2026-07", "2026-08", "2026-09"]);
        let csv = app.get("/api/v1/billing/funds?period=2026-09&format=csv", &manager).await?;
        assert_eq!(csv.status(), 200);
        assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
        let text = csv.text().await?;
        assert!(text.starts_with("row,period,fund_code,fund_name_zh,fund_name_en,rate,"), "{text}");
        assert!(text
            .lines()
            .last()
            .unwrap()
            .starts_with(&format!("total,2026-09,,,,,,,{},", totals.bills - 1)));

        // Bad input names the field, in the caller's language; roles as the other billing reports.
        let r = app.get("/api/v1/billing/funds?period=2026-13", &manager).await?;
        assert_eq!(r.status(), 422);
        let e: Value = r.json().await?;
        assert_eq!(fields(&e), ["period"]);
        assert!(e["error"]["message"].as_str().unwrap().contains("YYYY-MM"), "{e}");
        let r = app.get("/api/v1/billing/funds", &manager).await?;
        assert_eq!(r.status(), 422);
        assert_eq!(fields(&r.json().await?), ["period"]);
        let r = app.get("/api/v1/billing/funds?period=2026-09&to=2026-08", &manager).await?;
        assert_eq!(r.status(), 422);
        assert_eq!(fields(&r.json().await?), ["to"]);
        let r = app.get("/api/v1/billing/funds?period=2026-09&format=xls", &manager).await?;
        assert_eq!(r.status(), 422);
        assert_eq!(app.get("/api/v1/billing/funds?period=2026-09", &crew).await?.status(), 403);
        let anon = app.client.get(app.url("/api/v1/billing/funds?period=2026-09")).send().await?;
        assert_eq!(anon.status(), 401);

        // The page, linked from the bill run page.
        let run = app.get("/billing/run", &manager).await?.text().await?;
        assert!(run.contains("href=\"/billing/funds\""), "the bill run page links the report");
        let page = app.get("/billing/funds?period=2026-09", &manager).await?;
        assert_eq!(page.status(), 200);
        let html = page.text().await?;
        assert!(html.contains("政府性基金及附加解缴报表") && html.contains("可再生能源电价附加"));
        assert!(html.contains(&format!(
            "<dd id=\"funds-difference\">{}</dd>",
            after["difference"].as_str().unwrap()
        )));
        assert_eq!(app.get("/billing/funds?period=nonsense", &manager).await?.status(), 422);
        assert_eq!(app.get("/billing/funds?period=2026-09", &crew).await?.status(), 403);
        // The API document lists the endpoint.
        let doc: Value = app.client.get(app.url("/api/openapi.json")).send().await?.json().await?;
        assert!(doc["paths"]["/api/v1/billing/funds"]["get"].is_object());
        app.stop().await?;
    }
    Ok(())
}
