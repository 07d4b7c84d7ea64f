//! A customer's password change ends their other sessions, over HTTP against the real server on
//! port 0, on SQLite and PostgreSQL: the customer's own change keeps the session it was made in; a
//! clerk's reset at the counter ends them all; other customers' sessions are untouched. And the
//! outage notices of the portal API name kind, state and cause in the session's language.

mod support;

use bureau_store::Scope;
use serde_json::{json, Value};
use support::app::TestApp;

const PASSWORD: &str = "portal-pass-2026";

async fn login(app: &TestApp, account: &str, password: &str) -> anyhow::Result<(u16, String)> {
    let r = app
        .client
        .post(app.url("/api/v1/portal/login"))
        .json(&json!({"account": account, "password": password}))
        .send()
        .await?;
    let status = r.status().as_u16();
    let v: Value = r.json().await?;
    Ok((status, v["token"].as_str().unwrap_or_default().to_string()))
}

async fn summary(app: &TestApp, token: &str) -> anyhow::Result<u16> {
    Ok(app.get("/api/v1/portal/summary", token).await?.status().as_u16())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_ends_the_other_sessions() -> anyhow::Result<()> {
    for app in TestApp::each_with_demo().await? {
        let backend = app.db.store.backend();
        let ids: Vec<String> = app
            .db
            .store
            .list_customers(&Scope::All, None, 2)
            .await?
            .into_iter()
            .map(|c| c.id.as_str().to_string())
            .collect();
        let (a, b) = (&ids[0], &ids[1]);
        let clerk = app.login("clerk").await?;
        let reset = |id: String, pw: &'static str| {
            app.client
                .put(app.url(&format!("/api/v1/customers/{id}/portal-password")))
                .bearer_auth(clerk.clone())
                .json(&json!({"password": pw}))
                .send()
        };
        for id in [a, b] {
            assert_eq!(reset(id.clone(), PASSWORD).await?.status(), 204);
        }

        // A on three devices, B on one; every session reads (and is cached by the server).
        let mut a_tokens = Vec::new();
        for _ in 0..3 {
            let (status, token) = login(&app, a, PASSWORD).await?;
            assert_eq!(status, 200);
            assert_eq!(summary(&app, &token).await?, 200);
            a_tokens.push(token);
        }
        let (_, b_token) = login(&app, b, PASSWORD).await?;
        assert_eq!(summary(&app, &b_token).await?, 200);

        // A changes the password on the first device: the other two are logged out at once.
        let r = app
            .client
            .put(app.url("/api/v1/portal/password"))
            .bearer_auth(&a_tokens[0])
            .json(&json!({"password": "a-new-pass-2027"}))
            .send()
            .await?;
        assert_eq!(r.status(), 204, "{backend}");
        assert_eq!(summary(&app, &a_tokens[0]).await?, 200, "{backend}: the device it was made on");
        for t in &a_tokens[1..] {
            assert_eq!(summary(&app, t).await?, 401, "{backend}: another device of A");
        }
        assert_eq!(summary(&app, &b_token).await?, 200, "{backend}: B is not A");
        // A bad new password changes nothing and ends nothing.
        let (_, second) = login(&app, a, "a-new-pass-2027").await?;
        let r = app
            .client
            .put(app.url("/api/v1/portal/password"))
            .bearer_auth(&a_tokens[0])
            .json(&json!({"password": "short"}))
            .send()
            .await?;
        assert_eq!(r.status(), 422);
        assert_eq!(summary(&app, &second).await?, 200, "{backend}: nothing ended by a refused change");

        // A clerk's reset at the counter ends every session of A.
        assert_eq!(reset(a.clone(), "clerk-set-2027").await?.status(), 204);
        assert_eq!(summary(&app, &a_tokens[0]).await?, 401, "{backend}");
        assert_eq!(summary(&app, &second).await?, 401, "{backend}");
        assert_eq!(summary(&app, &b_token).await?, 200, "{backend}");
        assert_eq!(login(&app, a, "clerk-set-2027").await?.0, 200);
        app.stop().await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_notices_name_their_cause_in_the_customers_language() -> anyhow::Result<()> {
    let db = bureau_store_tests::TestDb::sqlite().await?;
    support::app::demo_county(&db).await?;
    let app = TestApp::start(db).await?;
    // A customer whose supply point had outages.
    let year_ago = jiff::Timestamp::now().as_second() - 366 * 86_400;
    let mut who = None;
    for c in app.db.store.list_customers(&Scope::All, None, 300).await? {
        let Some(point) = c.supply_point.clone() else { continue };
        if !app.db.store.outages_at_point(&point, year_ago, 1).await?.is_empty() {
            who = Some(c.id.as_str().to_string());
            break;
        }
    }
    let who = who.expect("the demo has outages at customers' supply points");
    let clerk = app.login("clerk").await?;
    let r = app
        .client
        .put(app.url(&format!("/api/v1/customers/{who}/portal-password")))
        .bearer_auth(&clerk)
        .json(&json!({"password": PASSWORD}))
        .send()
        .await?;
    assert_eq!(r.status(), 204);
    let (_, token) = login(&app, &who, PASSWORD).await?;
    let zh: Value = app.get("/api/v1/portal/outages", &token).await?.json().await?;
    let list = zh.as_array().expect("a list");
    assert!(!list.is_empty());
    for o in list {
        let cause = o["cause"].as_str().unwrap();
        assert!(bureau_domain::outage_cause::is_code(cause), "the demo records codes: {o}");
        assert_eq!(o["cause_name"], bureau_domain::outage_cause::label(cause).zh, "{o}");
        assert!(["故障停电", "计划停电"].contains(&o["class_name"].as_str().unwrap()), "{o}");
        assert_eq!(o["state_name"], "已恢复", "{o}");
    }
    // The same notices in English for a session opened in English.
    let r = app
        .client
        .post(app.url("/api/v1/portal/login"))
        .json(&json!({"account": who, "password": PASSWORD, "lang": "en"}))
        .send()
        .await?;
    let en_token = r.json::<Value>().await?["token"].as_str().unwrap_or_default().to_string();
    let en: Value = app.get("/api/v1/portal/outages", &en_token).await?.json().await?;
    assert_eq!(en.as_array().unwrap().len(), list.len());
    for o in en.as_array().unwrap() {
        let cause = o["cause"].as_str().unwrap();
        assert_eq!(o["cause_name"], bureau_domain::outage_cause::label(cause).en, "{o}");
        assert_eq!(o["state_name"], "Restored", "{o}");
    }
    app.stop().await
}
