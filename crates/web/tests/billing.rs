//! Billing over HTTP against the real server on port 0, on SQLite and PostgreSQL: the quote, the
//! bill run (twice: nothing new the second time), a bill and its lines, cancel-and-rebill, the
//! exceptions queue, reading imports with row errors, and the printable bill page.

mod support;

use serde_json::{json, Value};
use support::app::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quote_run_bill_rebill_and_readings() -> anyhow::Result<()> {
    for app in TestApp::each_with_demo().await? {
        let backend = app.db.store.backend();
        let clerk = app.login("clerk").await?;

        // 电费试算: the worked example.
        let r = app
            .post_json(
                "/api/v1/bills/quote",
                &clerk,
                &json!({"tariff": "hlj-residential", "period": "2026-01", "kwh": "300"}),
            )
            .await?;
        assert_eq!(r.status(), 200);
        let q: Value = r.json().await?;
        assert_eq!(q["total"], "169.50", "{q}");
        assert_eq!(q["lines"][0]["amount"], "86.70");
        let r = app
            .post_json(
                "/api/v1/bills/quote",
                &clerk,
                &json!({"tariff": "nope", "period": "2026-01", "kwh": "1"}),
            )
            .await?;
        assert_eq!(r.status(), 422);
        let e: Value = r.json().await?;
        assert_eq!(e["error"]["field"], "tariff");

        // The demo has bills up to 2026-09; the newcomer runs 2026-10.
        // The run goes to the background (202) and its job is polled to the end.
        let job = app.bill_run(&clerk, &json!({"period": "2026-10"})).await?;
        assert_eq!(job["state"], "done", "{backend}: {job}");
        assert_eq!(job["customers_done"], job["customers_total"], "{job}");
        let s = job["summary"].clone();
        let issued = s["bills"].as_u64().unwrap();
        assert!(issued > 200, "{s}");
        assert_eq!(s["period_bills"].as_u64().unwrap() + s["open_exceptions"].as_u64().unwrap(), 300, "{s}");
        let again = app.bill_run(&clerk, &json!({"period": "2026-10"})).await?["summary"].clone();
        assert_eq!(again["bills"], 0, "a second run issues nothing");
        // The run page follows a job: its summary once done.
        let page = app
            .get(&format!("/billing/run?period=2026-10&job={}", job["id"].as_str().unwrap()), &clerk)
            .await?;
        let page = page.text().await?;
        assert!(page.contains("id=\"run-summary\""), "{backend}");
        // And lists the background runs, newest first: both jobs, done, each linking to itself.
        let jobs = &page[page.find("id=\"jobs\"").expect("the jobs table")..];
        let jobs = &jobs[..jobs.find("</table>").unwrap()];
        assert_eq!(jobs.matches("<tr data-job=").count(), 2, "{backend}: {jobs}");
        assert_eq!(jobs.matches("已完成").count(), 2, "{backend}: {jobs}");
        assert!(jobs.contains(&format!("job={}", job["id"].as_str().unwrap())), "{jobs}");
        // The run history (the demo's runs and these): every run finished, none shown as running.
        let runs = &page[page.find("id=\"runs\"").expect("the runs table")..];
        let runs = &runs[..runs.find("</table>").unwrap()];
        assert_eq!(runs.matches("data-ended=\"finished\"").count(), runs.matches("<tr data-run=").count());
        assert!(runs.contains("<td>2026-10</td>"), "{backend}: {runs}");
        assert!(!runs.contains("data-ended=\"\""), "{backend}: {runs}");
        let r =
            app.post_json("/api/v1/bill-runs", &clerk, &json!({"period": "2026-10", "book": "NOPE"})).await?;
        assert_eq!(r.status(), 422, "an unknown book is refused before anything starts");
        assert_eq!(again["period_bills"], s["period_bills"]);
        let r = app.post_json("/api/v1/bill-runs", &clerk, &json!({"period": "2026-13"})).await?;
        assert_eq!(r.status(), 422);
        // The 95598 agent may not run bills.
        let agent = app.login("agent").await?;
        assert_eq!(
            app.post_json("/api/v1/bill-runs", &agent, &json!({"period": "2026-10"})).await?.status(),
            403
        );

        // A household's bill: lines add up, history of twelve months.
        let id = "2300000100";
        let bills: Value = app.get(&format!("/api/v1/customers/{id}/bills"), &clerk).await?.json().await?;
        let list = bills.as_array().unwrap();
        assert!(list.len() >= 11, "{backend}: {} bills", list.len());
        let b: Value =
            app.get(&format!("/api/v1/customers/{id}/bills/2026-10"), &clerk).await?.json().await?;
        let sum: f64 = b["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["amount"].as_str().unwrap().parse::<f64>().unwrap())
            .sum();
        assert_eq!(format!("{sum:.2}"), b["total"].as_str().unwrap(), "{b}");
        assert_eq!(b["state"], "issued");

        // 退补: cancel and rebill keeps the cancelled revision readable.
        let r = app
            .post_json(
                &format!("/api/v1/customers/{id}/bills/2026-10/cancel"),
                &clerk,
                &json!({"reason": "抄表员录入错误"}),
            )
            .await?;
        assert_eq!(r.status(), 200, "{backend}");
        let new: Value = r.json().await?;
        assert_eq!(new["revision"], 1);
        assert_eq!(new["total"], b["total"], "same readings, same bill");
        let bills: Value = app.get(&format!("/api/v1/customers/{id}/bills"), &clerk).await?.json().await?;
        let oct: Vec<&Value> =
            bills.as_array().unwrap().iter().filter(|x| x["period"] == "2026-10").collect();
        assert_eq!(oct.len(), 2);
        assert_eq!(oct[0]["revision"], 1);
        assert_eq!(oct[1]["state"], "cancelled");
        assert_eq!(oct[1]["cancel_reason"], "抄表员录入错误");
        let r = app
            .post_json(
                &format!("/api/v1/customers/{id}/bills/2026-10/cancel"),
                &clerk,
                &json!({"reason": ""}),
            )
            .await?;
        assert_eq!(r.status(), 422);
        // 作废后重新发行: refused (409) while the period has a live bill; after a cancellation
        // without a rebill, the next revision.
        let reissue = |reason: &'static str| {
            let (app, clerk) = (&app, &clerk);
            async move {
                app.post_json(
                    &format!("/api/v1/customers/{id}/bills/2026-10/reissue"),
                    clerk,
                    &json!({"reason": reason}),
                )
                .await
            }
        };
        let r = reissue("重发").await?;
        assert_eq!(r.status(), 409, "{backend}");
        let e: Value = r.json().await?;
        assert_eq!(e["error"]["field"], "state", "{e}");
        let r = app
            .post_json(
                &format!("/api/v1/customers/{id}/bills/2026-10/cancel"),
                &clerk,
                &json!({"reason": "误发行", "rebill": false}),
            )
            .await?;
        assert_eq!(r.status(), 200);
        let r = reissue("作废有误").await?;
        assert_eq!(r.status(), 200, "{backend}");
        let re: Value = r.json().await?;
        assert_eq!((re["revision"].clone(), re["total"].clone()), (json!(2), b["total"].clone()), "{re}");

        // Reading import: a good row, a row for a meter the customer does not have, a bad date.
        let meter = b["meter_id"].as_str().unwrap();
        let csv = format!(
            "customer_id,meter_id,read_on,total,source\n{id},{meter},2026-11-20,{},ami\n{id},NOPE,2026-11-20,1,ami\n{id},{meter},2026-13-01,1,ami\n",
            b["curr_reading"].as_str().unwrap().parse::<f64>().unwrap() + 100.0
        );
        let r = app.client.post(app.url("/api/v1/readings")).bearer_auth(&clerk).body(csv).send().await?;
        assert_eq!(r.status(), 200);
        let rep: Value = r.json().await?;
        assert_eq!(rep["written"], 1, "{rep}");
        let rejected = rep["rejected"].as_array().unwrap();
        assert_eq!(
            (rejected[0]["line"].as_u64(), rejected[0]["field"].as_str()),
            (Some(3), Some("meter_id")),
            "{rep}"
        );
        assert_eq!(
            (rejected[1]["line"].as_u64(), rejected[1]["field"].as_str()),
            (Some(4), Some("read_on")),
            "{rep}"
        );

        // The exceptions queue lists held customers with a reason.
        let exc: Value = app.get("/api/v1/reading-exceptions?period=2026-10", &clerk).await?.json().await?;
        assert_eq!(exc.as_array().unwrap().len() as u64, s["open_exceptions"].as_u64().unwrap(), "{exc}");

        // Pages: the printable bill in Chinese, the quote page, the run page.
        let page = app.get(&format!("/customers/{id}/bills/2026-10"), &clerk).await?;
        assert_eq!(page.status(), 200);
        let html = page.text().await?;
        assert!(html.contains("电费通知单") && html.contains("@page { size: A4"), "{backend}");
        assert!(html.contains(b["total"].as_str().unwrap()));
        let page = app.get("/billing/quote?tariff=hlj-residential&period=2026-01&kwh=300", &clerk).await?;
        assert_eq!(page.status(), 200);
        assert!(page.text().await?.contains("169.50"));
        let page = app.get("/billing/quote?tariff=hlj-residential&period=2026-01&kwh=abc", &clerk).await?;
        assert_eq!(page.status(), 422);
        assert_eq!(app.get("/billing/run?period=2026-10", &clerk).await?.status(), 200);
        let doc: Value = app.client.get(app.url("/api/openapi.json")).send().await?.json().await?;
        assert!(doc["paths"]["/api/v1/bill-runs"]["post"].is_object());
        app.db.destroy().await?;
    }
    Ok(())
}
