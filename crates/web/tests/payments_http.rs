//! Payments over HTTP against the real server on port 0, on SQLite and PostgreSQL: the counter's
//! account, a payment sent twice and concurrently (posted once), bad input that leaves every balance
//! unchanged, the receipt, a reversal with a second person's approval that restores the balances,
//! and the late-fee trial calculation.

mod support;

use serde_json::{json, Value};
use support::app::TestApp;

async fn account(app: &TestApp, token: &str, id: &str) -> anyhow::Result<Value> {
    let r = app.get(&format!("/api/v1/accounts/{id}"), token).await?;
    anyhow::ensure!(r.status() == 200, "account {id}: {}", r.status());
    Ok(r.json().await?)
}

/// What must not move: balance, credit, arrears, version and the number of entries.
fn money(a: &Value) -> (Value, Value, Value, Value, usize) {
    (
        a["balance"].clone(),
        a["credit"].clone(),
        a["arrears"].clone(),
        a["version"].clone(),
        a["entries"].as_array().unwrap().len(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counter_payments_over_http() -> anyhow::Result<()> {
    for app in TestApp::each_with_demo().await? {
        let backend = app.db.store.backend();
        let clerk = app.login("clerk").await?;
        let id = "2300000100";
        let before = account(&app, &clerk, id).await?;
        assert_eq!(before["account_no"], id);
        assert!(!before["entries"].as_array().unwrap().is_empty(), "the bill run's charges: {before}");

        // Bad input: a clear error naming the field, and nothing moves.
        let cases = [
            (json!({"account_no": id, "amount": "-5", "idempotency_key": "h1"}), "amount", "negative"),
            (json!({"account_no": id, "amount": "12.345", "idempotency_key": "h1"}), "amount", "invalid"),
            (json!({"account_no": id, "amount": "十元", "idempotency_key": "h1"}), "amount", "invalid"),
            (json!({"account_no": id, "amount": 12.345, "idempotency_key": "h1"}), "amount", "invalid"),
            (json!({"account_no": id, "amount": "10.00"}), "idempotency_key", "required"),
            (
                json!({"account_no": "2399999999", "amount": "10.00", "idempotency_key": "h1"}),
                "account_no",
                "unknown",
            ),
            (
                json!({"account_no": id, "amount": "10.00", "idempotency_key": "h1", "method": "gold"}),
                "method",
                "invalid",
            ),
        ];
        for (body, field, code) in cases {
            let r = app.post_json("/api/v1/payments", &clerk, &body).await?;
            assert_eq!(r.status(), 422, "{body}");
            let e: Value = r.json().await?;
            let fields = e["error"]["fields"].as_array().unwrap();
            assert!(fields.iter().any(|f| f["field"] == field && f["code"] == code), "{body}: {e}");
            assert!(!e["error"]["message"].as_str().unwrap().is_empty());
        }
        let r = app
            .client
            .post(app.url("/api/v1/payments"))
            .bearer_auth(&clerk)
            .body("{not json")
            .header("content-type", "application/json")
            .send()
            .await?;
        assert_eq!(r.status(), 422);
        assert_eq!(
            money(&account(&app, &clerk, id).await?),
            money(&before),
            "{backend}: bad input moved money"
        );

        // A payment; the same key again answers the first result; a number amount is read exactly.
        let body = json!({"account_no": id, "amount": 20.5, "idempotency_key": "counter-001"});
        let r = app.post_json("/api/v1/payments", &clerk, &body).await?;
        assert_eq!(r.status(), 201);
        let first: Value = r.json().await?;
        assert_eq!(first["payment"]["amount"], "20.50");
        assert_eq!(first["receipt"]["amount"], "20.50");
        let r = app.post_json("/api/v1/payments", &clerk, &body).await?;
        assert_eq!(r.status(), 200);
        let again: Value = r.json().await?;
        assert_eq!(again["duplicate"], true);
        assert_eq!(again["payment"]["id"], first["payment"]["id"]);
        let r = app
            .post_json(
                "/api/v1/payments",
                &clerk,
                &json!({"account_no": id, "amount": "20.51", "idempotency_key": "counter-001"}),
            )
            .await?;
        assert_eq!(r.status(), 409);

        // Six at once with one key (the header form): one 201, five 200, one payment.
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let req = app
                .client
                .post(app.url("/api/v1/payments"))
                .bearer_auth(&clerk)
                .header("Idempotency-Key", "counter-002")
                .json(&json!({"account_no": id, "amount": "7.00"}));
            tasks.push(tokio::spawn(async move { req.send().await }));
        }
        let mut statuses = Vec::new();
        for t in tasks {
            statuses.push(t.await??.status().as_u16());
        }
        statuses.sort();
        assert_eq!(statuses, [200, 200, 200, 200, 200, 201], "{backend}");
        let now = account(&app, &clerk, id).await?;
        let pays = now["entries"].as_array().unwrap().iter().filter(|e| e["kind"] == "payment").count();
        let pays_before =
            before["entries"].as_array().unwrap().iter().filter(|e| e["kind"] == "payment").count();
        assert_eq!(pays, pays_before + 2);

        // The receipt.
        let pid = first["payment"]["id"].as_str().unwrap();
        let r = app.get(&format!("/api/v1/accounts/{id}/payments/{pid}/receipt"), &clerk).await?;
        assert_eq!(r.status(), 200);
        let rc: Value = r.json().await?;
        assert_eq!(rc["amount"], "20.50");
        assert_eq!(
            app.get(&format!("/api/v1/accounts/{id}/payments/nope/receipt"), &clerk).await?.status(),
            404
        );

        // Reversal: the agent may not; without a second person it is refused; approved it restores.
        let agent = app.login("agent").await?;
        let rev = |approver: &str, pw: &str| json!({"account_no": id, "entry_id": pid, "reason": "收错金额", "approver": approver, "approver_password": pw});
        assert_eq!(
            app.post_json("/api/v1/reversals", &agent, &rev("manager", "demo2026")).await?.status(),
            403
        );
        let r = app.post_json("/api/v1/reversals", &clerk, &rev("clerk", "demo2026")).await?;
        assert_eq!(r.status(), 422);
        let e: Value = r.json().await?;
        assert_eq!(e["error"]["field"], "approver");
        let r = app.post_json("/api/v1/reversals", &clerk, &rev("manager", "demo2026")).await?;
        assert_eq!(r.status(), 201);
        let r = app.post_json("/api/v1/reversals", &clerk, &rev("manager", "demo2026")).await?;
        assert_eq!(r.status(), 422, "a second reversal of the same entry");
        let mid = app.post_json("/api/v1/reversals", &clerk, &json!({"account_no": id})).await?;
        assert_eq!(mid.status(), 422);

        // The late-fee trial calculation.
        let r = app
            .get(
                "/api/v1/late-fees/quote?class=residential&due=2026-03-10&on=2026-03-25&arrears=100.00",
                &clerk,
            )
            .await?;
        assert_eq!(r.status(), 200);
        let q: Value = r.json().await?;
        assert_eq!((q["days"].as_i64(), q["fee"].as_str()), (Some(15), Some("1.50")), "{q}");
        let r = app
            .get("/api/v1/late-fees/quote?class=x&due=2026-03-10&on=2026-03-05&arrears=-1", &clerk)
            .await?;
        assert_eq!(r.status(), 422);
        let e: Value = r.json().await?;
        let fields: Vec<&str> =
            e["error"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["class", "arrears", "on"], "{e}");
        assert_eq!(app.client.get(app.url("/api/v1/accounts/2300000100")).send().await?.status(), 401);

        // The counter pages: the account, a payment by form (sent twice: one receipt), the receipt,
        // a bad amount, and the late-fee trial page.
        let page = app.get(&format!("/counter?q={id}"), &clerk).await?;
        assert_eq!(page.status(), 200);
        let html = page.text().await?;
        assert!(html.contains("id=\"to-clear\"") && html.contains("name=\"idempotency_key\""), "{html}");
        let pay = |amount: &str| {
            app.client.post(app.url("/counter/pay")).bearer_auth(&clerk).form(&[
                ("account_no", id),
                ("amount", amount),
                ("idempotency_key", "page-001"),
                ("method", "card"),
            ])
        };
        let r = pay("3.00").send().await?;
        assert_eq!(r.status(), 303);
        let to = r.headers()["location"].to_str()?.to_string();
        assert!(to.starts_with(&format!("/counter/receipts/{id}/pay-")), "{to}");
        let r = pay("3.00").send().await?;
        assert_eq!(r.headers()["location"].to_str()?, to, "the same form twice: the same receipt");
        let html = app.get(&to, &clerk).await?.text().await?;
        assert!(html.contains("id=\"receipt-amount\"><strong>3.00</strong>"), "{html}");
        assert!(html.contains("window.print()"));
        let r = app
            .client
            .post(app.url("/counter/pay"))
            .bearer_auth(&clerk)
            .form(&[("account_no", id), ("amount", "-1"), ("idempotency_key", "page-002")])
            .send()
            .await?;
        assert_eq!(r.status(), 422);
        assert!(r.text().await?.contains("class=\"error\""));
        let html = app
            .get("/counter/late-fee?class=residential&due=2026-03-10&on=2026-03-25&arrears=100.00", &clerk)
            .await?
            .text()
            .await?;
        assert!(html.contains("id=\"fee\"><strong>1.50</strong>"), "{html}");
        app.stop().await?;
    }
    Ok(())
}
