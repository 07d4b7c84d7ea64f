//! The arrears pass and the fee-collection reports over HTTP against the real server on port 0, on
//! SQLite and PostgreSQL, over the small demo county (its bills are posted to the ledger; the
//! figures themselves are worked by hand in bureau-app's tests/collection.rs and tests/arrears.rs).

mod support;

use serde_json::{json, Value};
use support::app::TestApp;

fn fen(v: &Value) -> i64 {
    let s = v.as_str().unwrap_or_else(|| panic!("money is a string: {v}"));
    let (y, f) = s.split_once('.').unwrap();
    let sign = if y.starts_with('-') { -1 } else { 1 };
    sign * (y.trim_start_matches('-').parse::<i64>().unwrap() * 100 + f.parse::<i64>().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collection_reports_and_the_arrears_pass_over_http() -> anyhow::Result<()> {
    for app in TestApp::each_with_demo().await? {
        let manager = app.login("manager").await?;
        let crew = app.login("crew").await?;

        // The collection rate by month: the rows add up to the total.
        let r = app.get("/api/v1/collection/rates?from=2026-01&to=2026-10", &manager).await?;
        assert_eq!(r.status(), 200);
        let rates: Value = r.json().await?;
        let rows = rates["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 10);
        let billed: i64 = rows.iter().map(|r| fen(&r["billed"])).sum();
        assert!(billed > 0);
        assert_eq!(billed, fen(&rates["total"]["billed"]));
        assert_eq!(rates["cut_off"], "2026-11-01T00:00:00+08:00");
        for by in ["department", "book"] {
            let r: Value = app
                .get(&format!("/api/v1/collection/rates?from=2026-01&to=2026-10&by={by}"), &manager)
                .await?
                .json()
                .await?;
            let sum: i64 = r["rows"].as_array().unwrap().iter().map(|r| fen(&r["billed"])).sum();
            assert_eq!(sum, billed, "{by}");
        }
        let csv = app.get("/api/v1/collection/rates?from=2026-01&to=2026-10&format=csv", &manager).await?;
        assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
        let text = csv.text().await?;
        assert!(text.starts_with("key,name,bills,billed,collected,outstanding,percent,"), "{text}");
        assert_eq!(text.lines().count(), 12, "header, ten months, total");

        // Bad input names the field; a repair crew may not read the reports.
        let r = app.get("/api/v1/collection/rates?from=2026-13&by=week", &manager).await?;
        assert_eq!(r.status(), 422);
        let e: Value = r.json().await?;
        let fields: Vec<&str> =
            e["error"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["from", "to"]);
        let r = app.get("/api/v1/collection/rates?from=2026-01&by=week", &manager).await?;
        assert_eq!(r.status(), 422);
        let r = app.get("/api/v1/collection/rates?from=2026-01&format=xls", &manager).await?;
        assert_eq!(r.status(), 422);
        assert_eq!(app.get("/api/v1/collection/rates?from=2026-01", &crew).await?.status(), 403);

        // Aged receivables add up; the customers in arrears export as CSV.
        let a: Value = app.get("/api/v1/collection/aging?on=2026-11-27", &manager).await?.json().await?;
        let sum: i64 = a["buckets"].as_array().unwrap().iter().map(|b| fen(&b["amount"])).sum();
        assert_eq!(sum, fen(&a["total"]));
        let list: Value = app.get("/api/v1/collection/arrears?on=2026-11-27", &manager).await?.json().await?;
        let owing = list.as_array().unwrap().len();
        assert!(owing > 0);
        let csv =
            app.get("/api/v1/collection/arrears?on=2026-11-27&format=csv", &manager).await?.text().await?;
        assert_eq!(csv.lines().count(), owing + 1);
        assert_eq!(app.get("/api/v1/collection/aging?on=2026-11-31", &manager).await?.status(), 422);

        // The demo played the workflow over its last weeks: there are cases already, at several
        // stages. The pass on the demo's day leaves every customer in arrears with an open case;
        // run again the same day it does nothing.
        let before: Value = app.get("/api/v1/arrears/cases", &manager).await?.json().await?;
        assert!(!before["cases"].as_array().unwrap().is_empty(), "the demo has arrears cases");
        let r = app.post_json("/api/v1/arrears/run", &manager, &json!({"on": "2026-11-27"})).await?;
        assert_eq!(r.status(), 200);
        let again: Value = app
            .post_json("/api/v1/arrears/run", &manager, &json!({"on": "2026-11-27"}))
            .await?
            .json()
            .await?;
        assert_eq!((again["opened"].as_u64(), again["taken"].as_array().unwrap().len()), (Some(0), 0));
        let cases: Value = app.get("/api/v1/arrears/cases", &manager).await?.json().await?;
        assert_eq!(cases["cases"].as_array().unwrap().len(), owing);
        let r = app.post_json("/api/v1/arrears/run", &manager, &json!({"on": "2026-02-30"})).await?;
        assert_eq!(r.status(), 422);
        assert_eq!(app.post_json("/api/v1/arrears/run", &crew, &json!({})).await?.status(), 403);

        // A case without an open disconnection order: reporting one done is refused.
        let open_cut = |c: &Value| {
            c["steps"].as_array().unwrap().iter().any(|s| s["step"] == "disconnect" && s["done_at"].is_null())
        };
        let case = cases["cases"].as_array().unwrap().iter().find(|c| !open_cut(c)).expect("such a case");
        let who = case["customer_id"].as_str().unwrap().to_string();
        let r = app
            .post_json(&format!("/api/v1/arrears/{who}/orders/disconnect/done"), &crew, &json!({}))
            .await?;
        assert_eq!(r.status(), 409);
        let r =
            app.post_json(&format!("/api/v1/arrears/{who}/orders/explode/done"), &crew, &json!({})).await?;
        assert_eq!(r.status(), 422);

        // The pages.
        let page = app.get("/arrears", &manager).await?;
        assert_eq!(page.status(), 200);
        let html = page.text().await?;
        assert!(html.contains("欠费催收、停电与复电") && html.contains(&who), "the case list shows the case");
        let page = app.get("/collection?from=2026-01&to=2026-10&on=2026-11-27", &manager).await?;
        assert_eq!(page.status(), 200);
        let html = page.text().await?;
        assert!(html.contains("电费回收报表") && html.contains("2026-10") && html.contains("应收账款账龄"));
        assert_eq!(app.get("/collection?from=nonsense", &manager).await?.status(), 422);
        app.stop().await?;
    }
    Ok(())
}
