//! Clearing the reading exceptions queue over HTTP, on SQLite and PostgreSQL: a jump confirmed and
//! billed at once, a reverse reading corrected and left to the next bill run, a missing reading
//! estimated (Art. 83); the queue shows a resolution until the bill is issued; bad requests name the
//! field; a billed period refuses a second resolution; the page lists and resolves.

mod support;

use serde_json::{json, Value};
use support::app::TestApp;

fn sum_lines(b: &Value) -> String {
    let sum: rust_decimal::Decimal = b["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["amount"].as_str().unwrap().parse::<rust_decimal::Decimal>().unwrap())
        .sum();
    format!("{:.2}", sum)
}

/// hlj-residential by hand: 0–170 kWh at 0.51, 171–260 at 0.56, above at 0.81, each line rounded.
fn hlj_residential(kwh: f64) -> String {
    let fen = |q: f64, p: f64| (q * p * 100.0).round() as i64;
    let t1 = kwh.min(170.0);
    let t2 = (kwh - 170.0).clamp(0.0, 90.0);
    let t3 = (kwh - 260.0).max(0.0);
    let total = fen(t1, 0.51) + fen(t2, 0.56) + fen(t3, 0.81);
    format!("{}.{:02}", total / 100, total % 100)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirm_correct_and_estimate_held_readings() -> anyhow::Result<()> {
    for app in TestApp::each_with_demo().await? {
        let backend = app.db.store.backend();
        let clerk = app.login("clerk").await?;
        // The demo has bills up to 2026-09; bill 2026-10, then give three households readings for
        // 2026-11: one far above its history (a jump), one below October's (a reverse), one none.
        let job = app.bill_run(&clerk, &json!({"period": "2026-10"})).await?;
        assert_eq!(job["state"], "done", "{backend}: {job}");
        let mut octobers = Vec::new();
        for n in 100..200 {
            let id = format!("23000{n:05}");
            let r = app.get(&format!("/api/v1/customers/{id}/bills/2026-10"), &clerk).await?;
            if r.status() == 200 {
                let b: Value = r.json().await?;
                let reading: f64 = b["curr_reading"].as_str().unwrap().parse()?;
                if b["multiplier"] == 1 && reading > 50.0 && b["tariff_id"] == "hlj-residential" {
                    octobers.push((id, b));
                }
            }
            if octobers.len() == 3 {
                break;
            }
        }
        assert_eq!(octobers.len(), 3, "{backend}: three households billed in October");
        let (jump_id, jump_oct) = &octobers[0];
        let (rev_id, rev_oct) = &octobers[1];
        let (miss_id, miss_oct) = &octobers[2];
        let reading = |b: &Value| b["curr_reading"].as_str().unwrap().parse::<f64>().unwrap();
        let csv = format!(
            "customer_id,meter_id,read_on,total\n{jump_id},{},2026-11-20,{}\n{rev_id},{},2026-11-20,{}\n",
            jump_oct["meter_id"].as_str().unwrap(),
            reading(jump_oct) + 5000.0,
            rev_oct["meter_id"].as_str().unwrap(),
            reading(rev_oct) - 10.0,
        );
        let r = app.client.post(app.url("/api/v1/readings")).bearer_auth(&clerk).body(csv).send().await?;
        assert_eq!(r.status(), 200);
        let job = app.bill_run(&clerk, &json!({"period": "2026-11"})).await?;
        assert_eq!(job["state"], "done", "{backend}: {job}");
        let queue: Value = app
            .get("/api/v1/reading-exceptions/queue?period=2026-11&limit=1000", &clerk)
            .await?
            .json()
            .await?;
        let kind_of = |id: &str| {
            queue
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["customer_id"] == id)
                .map(|e| e["kind"].as_str().unwrap().to_string())
        };
        assert_eq!(kind_of(jump_id).as_deref(), Some("jump"), "{backend}");
        assert_eq!(kind_of(rev_id).as_deref(), Some("reverse"), "{backend}");
        assert_eq!(kind_of(miss_id).as_deref(), Some("missing"), "{backend}");

        let resolve = |id: &str| format!("/api/v1/customers/{id}/exceptions/2026-11/resolve");
        // Bad requests name the field; a reverse reading cannot be confirmed as real.
        let r =
            app.post_json(&resolve(jump_id), &clerk, &json!({"action": "approve", "reason": "x"})).await?;
        assert_eq!(r.status(), 422);
        assert_eq!(r.json::<Value>().await?["error"]["field"], "action");
        let r =
            app.post_json(&resolve(jump_id), &clerk, &json!({"action": "confirm", "reason": " "})).await?;
        assert_eq!(r.json::<Value>().await?["error"]["field"], "reason");
        let r = app.post_json(&resolve(rev_id), &clerk, &json!({"action": "confirm", "reason": "x"})).await?;
        assert_eq!(r.status(), 422);
        assert_eq!(r.json::<Value>().await?["error"]["field"], "action");
        let r = app
            .post_json(&resolve(rev_id), &clerk, &json!({"action": "correct", "reason": "x", "total": "abc"}))
            .await?;
        assert_eq!(
            (r.status().as_u16(), r.json::<Value>().await?["error"]["field"].clone()),
            (422, json!("total"))
        );
        let agent = app.login("agent").await?;
        let r =
            app.post_json(&resolve(jump_id), &agent, &json!({"action": "confirm", "reason": "x"})).await?;
        assert_eq!(r.status(), 403);

        // (a) The jump is real (a new electric heater): confirmed and billed at once, 5,000 kWh.
        let r = app
            .post_json(
                &resolve(jump_id),
                &clerk,
                &json!({"action": "confirm", "reason": "现场核实：新装电采暖"}),
            )
            .await?;
        assert_eq!(r.status(), 200, "{backend}");
        let done: Value = r.json().await?;
        assert_eq!(done["resolution"]["action"], "confirm");
        assert_eq!(done["resolution"]["resolved_by"], "clerk");
        let bill = &done["bill"];
        assert_eq!(bill["kwh"], "5000", "{done}");
        assert_eq!(sum_lines(bill), bill["total"].as_str().unwrap(), "{bill}");
        // 170 × 0.51 + 90 × 0.56 + 4,740 × 0.81 = 86.70 + 50.40 + 3,839.40 = 3,976.50 yuan.
        assert_eq!(bill["total"], "3976.50");
        let again =
            app.post_json(&resolve(jump_id), &clerk, &json!({"action": "confirm", "reason": "x"})).await?;
        assert_eq!(again.status(), 409, "a billed period is corrected by cancel-and-rebill");

        // (b) The reverse reading was mistyped: corrected to October's reading plus October's
        // consumption, and left to the next run.
        let oct_kwh: f64 = rev_oct["kwh"].as_str().unwrap().parse()?;
        let corrected = reading(rev_oct) + oct_kwh;
        let r = app
            .post_json(
                &resolve(rev_id),
                &clerk,
                &json!({"action": "correct", "reason": "抄表员录错", "total": format!("{corrected:.2}"), "bill_now": false}),
            )
            .await?;
        assert_eq!(r.status(), 200, "{backend}");
        let done: Value = r.json().await?;
        assert!(done["bill"].is_null());
        let queue: Value = app
            .get("/api/v1/reading-exceptions/queue?period=2026-11&limit=1000", &clerk)
            .await?
            .json()
            .await?;
        let item = queue.as_array().unwrap().iter().find(|e| e["customer_id"] == rev_id.as_str()).unwrap();
        assert_eq!(item["resolution"]["action"], "correct", "{item}");
        assert_eq!(item["resolution"]["reading_kind"], "actual");
        let s = app.bill_run(&clerk, &json!({"period": "2026-11"})).await?["summary"].clone();
        assert_eq!(s["bills"], 1, "{backend}: the next run bills the corrected customer: {s}");
        let b: Value =
            app.get(&format!("/api/v1/customers/{rev_id}/bills/2026-11"), &clerk).await?.json().await?;
        assert_eq!(b["kwh"], rev_oct["kwh"], "{b}");
        assert_eq!(b["total"], hlj_residential(oct_kwh), "{b}");
        // The original reading is kept as read, the correction beside it.
        let readings = app.db.store.readings_of(rev_id, 1).await?;
        assert_eq!(readings[0].total.to_string().parse::<f64>()?, reading(rev_oct) - 10.0);
        let history: Value = app
            .get(&format!("/api/v1/customers/{rev_id}/exceptions/2026-11/resolutions"), &clerk)
            .await?
            .json()
            .await?;
        assert_eq!(history.as_array().unwrap().len(), 1);
        assert_eq!(history[0]["reason"], "抄表员录错");

        // (c) Missing: estimated from October's consumption (Art. 83) and billed as an estimate.
        let r = app
            .post_json(&resolve(miss_id), &clerk, &json!({"action": "estimate", "reason": "门闭，无法入户"}))
            .await?;
        assert_eq!(r.status(), 200, "{backend}");
        let done: Value = r.json().await?;
        assert_eq!(done["resolution"]["reading_kind"], "estimated");
        assert_eq!(done["bill"]["estimated"], true);
        assert_eq!(done["bill"]["kwh"], miss_oct["kwh"], "{done}");
        let queue: Value = app
            .get("/api/v1/reading-exceptions/queue?period=2026-11&limit=1000", &clerk)
            .await?
            .json()
            .await?;
        for id in [jump_id, rev_id, miss_id] {
            assert!(
                !queue.as_array().unwrap().iter().any(|e| e["customer_id"] == id.as_str()),
                "{backend}: {id} left the queue once billed"
            );
        }

        // The page lists the queue in Chinese and resolves through its form.
        let page = app.get("/billing/exceptions?period=2026-11", &clerk).await?;
        assert_eq!(page.status(), 200);
        let html = page.text().await?;
        assert!(html.contains("抄表异常处理") && html.contains("确认属实"), "{backend}");
        let next = queue.as_array().unwrap().iter().find(|e| e["kind"] == "missing").unwrap();
        let next_id = next["customer_id"].as_str().unwrap();
        let r = app
            .client
            .post(app.url(&format!("/billing/exceptions/{next_id}/2026-11/resolve")))
            .bearer_auth(&clerk)
            .form(&[("action", "estimate"), ("reason", "门闭"), ("kind", "missing")])
            .send()
            .await?;
        assert!(r.status().is_success() || r.status().is_redirection(), "{}", r.status());
        let history: Value = app
            .get(&format!("/api/v1/customers/{next_id}/exceptions/2026-11/resolutions"), &clerk)
            .await?
            .json()
            .await?;
        assert_eq!(history.as_array().map(Vec::len), Some(1), "{backend}: the form recorded a resolution");
        app.stop().await?;
    }
    Ok(())
}
