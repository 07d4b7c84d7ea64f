//! The customer portal over HTTP against the real server on port 0, on SQLite and PostgreSQL:
//! logins (password set by a clerk, one-time code received on a real local HTTP listener), every
//! customer-facing route tried with another customer's ids, tokens of one kind refused on the
//! other's routes, the SMS/IVR text query, bad input, and the rate limits (429 + Retry-After).

mod support;

#[path = "../../app/tests/support/listener.rs"]
mod listener;

use bureau_app::outbox::{Outbox, OutboxConfig, WebhookRoute};
use bureau_domain::ledger::{Channel, Entry, EntryId, EntryKind, IdempotencyKey};
use bureau_domain::money::Fen;
use bureau_store::Scope;
use serde_json::{json, Value};
use support::app::TestApp;

const PASSWORD: &str = "portal-pass-2026";

async fn customer_login(app: &TestApp, account: &str, password: &str) -> anyhow::Result<reqwest::Response> {
    Ok(app
        .client
        .post(app.url("/api/v1/portal/login"))
        .json(&json!({"account": account, "password": password}))
        .send()
        .await?)
}

async fn customer_token(app: &TestApp, account: &str) -> anyhow::Result<String> {
    let r = customer_login(app, account, PASSWORD).await?;
    anyhow::ensure!(r.status() == 200, "customer login of {account}: {}", r.status());
    let v: Value = r.json().await?;
    Ok(v["token"].as_str().unwrap_or_default().to_string())
}

/// Two customers of the demo with bills and phones; a clerk gives both a portal password.
async fn two_customers(
    app: &TestApp,
) -> anyhow::Result<(bureau_domain::register::Customer, bureau_domain::register::Customer)> {
    let mut with_bills = Vec::new();
    for c in app.db.store.list_customers(&Scope::All, None, 40).await? {
        if c.phone.is_some() && app.db.store.latest_bill(c.id.as_str()).await?.is_some() {
            with_bills.push(c);
        }
        if with_bills.len() == 2 {
            break;
        }
    }
    anyhow::ensure!(with_bills.len() == 2, "the demo has customers with bills and phones");
    let b = with_bills.pop().unwrap();
    let a = with_bills.pop().unwrap();
    let clerk = app.login("clerk").await?;
    for c in [&a, &b] {
        let r = app
            .client
            .put(app.url(&format!("/api/v1/customers/{}/portal-password", c.id.as_str())))
            .bearer_auth(&clerk)
            .json(&json!({"password": PASSWORD}))
            .send()
            .await?;
        assert_eq!(r.status(), 204);
    }
    Ok((a, b))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portal_api_isolation_codes_query_and_limits() -> anyhow::Result<()> {
    for app in TestApp::each_with_demo().await? {
        let backend = app.db.store.backend();
        let (a, b) = two_customers(&app).await?;
        let (a_id, b_id) = (a.id.as_str().to_string(), b.id.as_str().to_string());
        let clerk = app.login("clerk").await?;

        // A clerk's bad input: a short password names the field; an unknown customer is 404; a 95598
        // agent may not set passwords.
        let put = |id: &str, tok: &str, pw: &str| {
            app.client
                .put(app.url(&format!("/api/v1/customers/{id}/portal-password")))
                .bearer_auth(tok.to_string())
                .json(&json!({"password": pw}))
                .send()
        };
        let r = put(&a_id, &clerk, "short").await?;
        assert_eq!(r.status(), 422);
        assert_eq!(r.json::<Value>().await?["error"]["field"], "password");
        assert_eq!(put("9999999999", &clerk, PASSWORD).await?.status(), 404);
        let agent = app.login("agent").await?;
        assert_eq!(put(&a_id, &agent, PASSWORD).await?.status(), 403);

        // Wrong password and unknown account get the same answer.
        let r = customer_login(&app, &a_id, "wrong-password").await?;
        assert_eq!(r.status(), 422);
        let wrong: Value = r.json().await?;
        assert_eq!(wrong["error"]["code"], "wrong_credentials");
        let r = customer_login(&app, "9999999999", "wrong-password").await?;
        assert_eq!(r.json::<Value>().await?["error"]["code"], "wrong_credentials");
        let r = customer_login(&app, "12", PASSWORD).await?;
        assert_eq!(r.json::<Value>().await?["error"]["field"], "account");

        let ta = customer_token(&app, &a_id).await?;

        // B has an order of their own that A must never see.
        let r = app
            .post_json(
                "/api/v1/work-orders",
                &agent,
                &json!({"kind": "consultation", "customer_id": b_id, "description": "B的咨询"}),
            )
            .await?;
        assert_eq!(r.status(), 201);
        let b_order = r.json::<Value>().await?["order"]["id"].as_str().unwrap().to_string();
        let b_period = app.db.store.latest_bill(&b_id).await?.unwrap().period;

        // B paid 12.34 yuan at the counter: B's payment, B's balance, never A's.
        let before: Value = app.get("/api/v1/portal/summary", &ta).await?.json().await?;
        let ledger = app.db.store.ledger_of(&b_id).await?;
        let pay = Entry {
            id: EntryId(format!("P-portal-test-{b_id}")),
            at: jiff::Timestamp::now(),
            by: "clerk".into(),
            channel: Channel::Counter,
            reason: "portal test".into(),
            kind: EntryKind::Payment {
                amount: Fen(1234),
                key: IdempotencyKey::parse("key", &format!("portal-test-{b_id}"))?,
            },
        };
        let posted = app.db.store.post_entries(&b_id, ledger.version, &[pay]).await?;
        assert!(matches!(posted, bureau_store::Posted::Done { .. }), "{posted:?}");
        let after: Value = app.get("/api/v1/portal/summary", &ta).await?.json().await?;
        assert_eq!(before["balance"], after["balance"], "A's balance does not move with B's payment");
        let pays: Value = app.get("/api/v1/portal/payments", &ta).await?.json().await?;
        assert!(pays.as_array().unwrap().iter().all(|p| p["amount"] != "12.34"), "{pays}");

        // Every customer-facing API route (from the OpenAPI document: all of /api/v1/portal/), with
        // B's ids wherever an id can go, answered with A's token: never a byte of B's.
        let doc: Value = app.client.get(app.url("/api/openapi.json")).send().await?.json().await?;
        let mut tried = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            if !path.starts_with("/api/v1/portal/") {
                continue;
            }
            for method in item.as_object().unwrap().keys() {
                let url = format!(
                    "{}?customer_id={b_id}&account={b_id}&id={b_id}",
                    path.replace("{period}", &b_period).replace("{id}", &b_order)
                );
                let req = match method.as_str() {
                    "get" => app.client.get(app.url(&url)),
                    "post" => app.client.post(app.url(&url)),
                    "put" => app.client.put(app.url(&url)),
                    other => panic!("unexpected method {other} on {path}"),
                };
                let body =
                    json!({"account": b_id, "customer_id": b_id, "password": PASSWORD, "code": "000000"});
                if path.ends_with("/logout") || !item[method]["security"].is_array() {
                    continue; // logout is tried last (it ends A's session); logins take no token
                }
                let r = req.bearer_auth(&ta).json(&body).send().await?;
                let status = r.status().as_u16();
                let text = r.text().await?;
                assert!(!text.contains(&b_id), "{backend} {method} {url} answered B's data: {text}");
                if path.contains("{id}") {
                    assert_eq!(status, 404, "{backend} {url}: B's order");
                }
                tried += 1;
            }
        }
        assert!(tried >= 8, "the portal routes were found in the OpenAPI document ({tried})");
        // The login endpoints above were called with B's account and a wrong password or code; B's
        // password still works and A's own bill of the same period is A's.
        let tb = customer_token(&app, &b_id).await?;
        let mine: Value = app.get(&format!("/api/v1/portal/bills/{b_period}"), &ta).await?.json().await?;
        assert_eq!(mine["customer_id"], a_id.as_str());
        let s: Value = app.get("/api/v1/portal/summary", &tb).await?.json().await?;
        assert_eq!(s["account"], b_id.as_str());
        let pays: Value = app.get("/api/v1/portal/payments", &tb).await?.json().await?;
        assert_eq!(pays[0]["amount"], "12.34", "{pays}");
        assert_eq!(pays[0]["channel"], "counter");
        // The summary's balance is the ledger's, the account's fold agrees with it.
        let acct: Value = app.get("/api/v1/portal/account", &tb).await?.json().await?;
        assert_eq!(acct["balance"], s["balance"], "{acct} {s}");
        let sums = app.db.store.ledger_balances_of(std::slice::from_ref(&b_id)).await?;
        assert_eq!(s["balance"], sums[0].balance.to_string());
        let o: Value = app.get(&format!("/api/v1/portal/orders/{b_order}"), &tb).await?.json().await?;
        assert_eq!(o["order"]["description"], "B的咨询");
        assert!(o["steps"].as_array().is_some_and(|s| !s.is_empty()));

        // Tokens never cross: a customer token on staff routes and a staff token on portal routes.
        for staff_path in ["/api/v1/me", &format!("/api/v1/customers/{a_id}"), "/api/v1/work-orders"] {
            assert_eq!(app.get(staff_path, &ta).await?.status(), 401, "{staff_path}");
        }
        assert_eq!(app.get("/api/v1/portal/summary", &clerk).await?.status(), 401);
        assert_eq!(app.get("/api/v1/portal/summary", "nonsense").await?.status(), 401);

        // Bad input on the customer's own routes.
        let r = app.get("/api/v1/portal/bills/2026-13", &ta).await?;
        assert_eq!(r.status(), 422);
        assert_eq!(r.json::<Value>().await?["error"]["field"], "period");
        assert_eq!(app.get("/api/v1/portal/bills/1999-01", &ta).await?.status(), 404);
        let r = app
            .client
            .put(app.url("/api/v1/portal/password"))
            .bearer_auth(&ta)
            .json(&json!({"password": "x"}))
            .send()
            .await?;
        assert_eq!(r.status(), 422);

        // The consumption chart's data: months oldest first, tier positions for residential tariffs.
        let m: Value = app.get("/api/v1/portal/consumption", &ta).await?.json().await?;
        let months = m.as_array().unwrap();
        assert!(!months.is_empty());
        assert!(months.windows(2).all(|w| w[0]["period"].as_str() < w[1]["period"].as_str()));
        assert_eq!(app.get("/api/v1/portal/outages", &ta).await?.status(), 200);

        // The one-time code: asked for B, it arrives on a real local HTTP listener as the SMS
        // gateway would receive it, to B's registered phone.
        let hook = listener::Listener::start(&[]).await;
        let r =
            app.client.post(app.url("/api/v1/portal/code")).json(&json!({"account": b_id})).send().await?;
        assert_eq!(r.status(), 202);
        // An unknown account is answered the same (nothing is sent).
        let r = app
            .client
            .post(app.url("/api/v1/portal/code"))
            .json(&json!({"account": "9999999999"}))
            .send()
            .await?;
        assert_eq!(r.status(), 202);
        let cfg = OutboxConfig {
            webhooks: vec![WebhookRoute { channel: "sms".into(), url: hook.url.clone() }],
            ..OutboxConfig::default()
        };
        let worker = Outbox::new(app.db.store.clone(), cfg)?;
        let report = worker.run_once(bureau_app::auth::now_unix()).await?;
        assert!(report.sent >= 1, "{report:?}");
        let got = hook.received();
        let sms = got.iter().find(|m| m.body["data"]["account"] == b_id.as_str()).expect("the code's SMS");
        assert_eq!(sms.body["recipient"], b.phone.as_deref().unwrap());
        let text = sms.body["body"].as_str().unwrap();
        let code: String = text.chars().filter(char::is_ascii_digit).take(6).collect();
        assert_eq!(code.len(), 6, "{text}");
        // A wrong code, then the right one; the code is used up.
        let code_login = |c: String| {
            app.client
                .post(app.url("/api/v1/portal/code-login"))
                .json(&json!({"account": b_id, "code": c}))
                .send()
        };
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let r = code_login(wrong.into()).await?;
        assert_eq!(r.status(), 422);
        assert_eq!(r.json::<Value>().await?["error"]["field"], "code");
        let r = code_login("12ab".into()).await?;
        assert_eq!(r.status(), 422);
        let r = code_login(code.clone()).await?;
        assert_eq!(r.status(), 200, "{backend}");
        let tc = r.json::<Value>().await?["token"].as_str().unwrap().to_string();
        assert_eq!(
            app.get("/api/v1/portal/summary", &tc).await?.json::<Value>().await?["account"],
            b_id.as_str()
        );
        assert_eq!(code_login(code).await?.status(), 422, "a code works once");
        // With the code's session B sets a new password, which then works.
        let r = app
            .client
            .put(app.url("/api/v1/portal/password"))
            .bearer_auth(&tc)
            .json(&json!({"password": "b-new-password"}))
            .send()
            .await?;
        assert_eq!(r.status(), 204);
        assert_eq!(customer_login(&app, &b_id, "b-new-password").await?.status(), 200);

        // The SMS/IVR query: gateway token and the registered phone, in Chinese or English.
        let (_, gw) = bureau_app::portal::query::create_gateway(
            &app.db.store,
            &bureau_app::access::Actor::system(),
            &a.bureau_id,
            "短信平台",
        )
        .await?;
        let q = |account: &str, phone: &str, lang: &str, token: Option<&str>| {
            let mut r = app
                .client
                .get(app.url(&format!("/api/v1/query/bill?account={account}&phone={phone}&lang={lang}")));
            if let Some(t) = token {
                r = r.bearer_auth(t);
            }
            r.send()
        };
        let a_phone = a.phone.clone().unwrap();
        let r = q(&a_id, &a_phone, "zh", Some(&gw)).await?;
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-type"].to_str()?.starts_with("text/plain"));
        let t = r.text().await?;
        assert!(t.starts_with(&format!("户号{a_id}")) && t.contains("电费") && t.contains("元"), "{t}");
        let q_sum: Value = app.get("/api/v1/portal/summary", &ta).await?.json().await?;
        let bal = q_sum["balance"].as_str().unwrap().trim_start_matches('-').to_string();
        assert!(bal == "0.00" || t.contains(&format!("{bal}元")), "the balance {bal} is in {t}");
        let t = q(&a_id, &a_phone, "en", Some(&gw)).await?.text().await?;
        assert!(t.starts_with(&format!("Account {a_id}")) && t.contains("yuan"), "{t}");
        // B's account from A's phone, an unknown account, no token, a wrong token, bad input.
        let r = q(&b_id, &a_phone, "zh", Some(&gw)).await?;
        assert_eq!(r.status(), 404);
        assert!(!r.text().await?.contains("电费"));
        assert_eq!(q("9999999999", &a_phone, "zh", Some(&gw)).await?.status(), 404);
        assert_eq!(q(&a_id, &a_phone, "zh", None).await?.status(), 401);
        assert_eq!(
            q(&a_id, &a_phone, "zh", Some(&ta)).await?.status(),
            401,
            "a customer token is not a gateway's"
        );
        assert_eq!(q("x", &a_phone, "zh", Some(&gw)).await?.status(), 422);
        assert_eq!(q(&a_id, "", "zh", Some(&gw)).await?.status(), 422);

        // Every portal page, with B's ids wherever an id can go, as A (cookie): never B's data.
        let page =
            |path: String, cookie: String| app.client.get(app.url(&path)).header("cookie", cookie).send();
        for p in bureau_web::pages::portal::PAGES {
            let path = format!(
                "{}?customer_id={b_id}&account={b_id}",
                p.replace("{period}", &b_period).replace("{id}", &b_order)
            );
            let r = page(path.clone(), format!("bureau_customer={ta}")).await?;
            let status = r.status().as_u16();
            let html = r.text().await?;
            assert!(!html.contains(&b_id), "{backend} {path} showed B's data");
            if p.contains("{id}") {
                assert_eq!(status, 404, "{backend} {path}");
            } else {
                assert_eq!(status, 200, "{backend} {path}");
                assert!(html.contains(&a_id), "{backend} {path} shows A's account");
            }
            // Without a login, or with a staff session, the page sends to the portal's login.
            for cookie in [String::new(), format!("bureau_session={clerk}")] {
                let r = page(path.clone(), cookie).await?;
                assert_eq!(r.status(), 303, "{path}");
                assert!(r.headers()["location"].to_str()?.starts_with("/portal/login"));
            }
        }
        // A customer cookie opens no staff page.
        let r = page("/customers".into(), format!("bureau_customer={ta}")).await?;
        assert_eq!(r.status(), 303);
        assert!(r.headers()["location"].to_str()?.starts_with("/login"));
        // The login form: a wrong password is a 422 page naming the problem; the right one sets
        // the portal cookie.
        let form = |pw: &str| {
            app.client
                .post(app.url("/portal/login"))
                .form(&[("account", a_id.as_str()), ("password", pw), ("next", "/portal/bills")])
                .send()
        };
        let r = form("wrong-password").await?;
        assert_eq!(r.status(), 422);
        assert!(r.text().await?.contains("户号或密码错误"));
        let r = form(PASSWORD).await?;
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], "/portal/bills");
        assert!(r.headers()["set-cookie"].to_str()?.starts_with("bureau_customer="));

        // Logout ends the session at once.
        let r = app.client.post(app.url("/api/v1/portal/logout")).bearer_auth(&ta).send().await?;
        assert_eq!(r.status(), 204);
        assert_eq!(app.get("/api/v1/portal/summary", &ta).await?.status(), 401);

        // Rate limits: a second code request within the minute is refused with Retry-After; after
        // the account's burst of logins, even the right password waits.
        let r =
            app.client.post(app.url("/api/v1/portal/code")).json(&json!({"account": b_id})).send().await?;
        assert_eq!(r.status(), 429);
        let retry: u64 = r.headers()["retry-after"].to_str()?.parse()?;
        assert!((1..=60).contains(&retry), "{retry}");
        let e: Value = r.json().await?;
        assert_eq!(e["error"]["code"], "too_many_requests");
        let r = app
            .client
            .post(app.url("/api/v1/portal/code"))
            .header("accept-language", "en")
            .json(&json!({"account": b_id}))
            .send()
            .await?;
        assert!(r.json::<Value>().await?["error"]["message"].as_str().unwrap().contains("try again"));
        let mut limited = false;
        for _ in 0..6 {
            let r = customer_login(&app, &a_id, "wrong-password").await?;
            if r.status() == 429 {
                assert!(r.headers().contains_key("retry-after"));
                limited = true;
                break;
            }
        }
        assert!(limited, "{backend}: logins of one account are limited");
        assert_eq!(customer_login(&app, &a_id, PASSWORD).await?.status(), 429);
        app.stop().await?;
    }
    Ok(())
}
