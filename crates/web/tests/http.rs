//! The foundation's HTTP surface against the real server on port 0, on SQLite and PostgreSQL.

mod support;

use bureau_app::access::Actor;
use bureau_app::register::{import, ImportKind};
use serde_json::{json, Value};
use support::app::TestApp;

/// A second county bureau with one customer, to prove that staff see only their own bureau.
async fn add_other_bureau(app: &TestApp) -> anyhow::Result<()> {
    let store = &app.db.store;
    let org = "id,parent_id,level,name_zh,name_en\nXH,HLJ-SH,county,兴和县供电局,Xinghe County Bureau\n";
    let r = import(store, &Actor::system(), ImportKind::Org, org.as_bytes()).await?;
    assert!(r.rejected.is_empty(), "{r:?}");
    let customers =
        "id,bureau_id,name,address,class,area\n2399990001,XH,外县用户,兴和县某街1号,residential,rural\n";
    let r = import(store, &Actor::system(), ImportKind::Customers, customers.as_bytes()).await?;
    assert!(r.rejected.is_empty(), "{r:?}");
    Ok(())
}

#[tokio::test]
async fn api_logins_roles_scope_and_errors() -> anyhow::Result<()> {
    for app in TestApp::each_with_demo().await? {
        add_other_bureau(&app).await?;

        // No login: 401 with the stable error shape, never data.
        let r = app.client.get(app.url("/api/v1/customers?q=张")).send().await?;
        assert_eq!(r.status(), 401);
        let body: Value = r.json().await?;
        assert_eq!(body["error"]["code"], "unauthorized");
        let r = app.get("/api/v1/customers/2300000001", "not-a-token").await?;
        assert_eq!(r.status(), 401);

        // A wrong password: 422 naming the field, in the caller's language.
        let r = app
            .client
            .post(app.url("/api/v1/login"))
            .header("accept-language", "en")
            .json(&json!({"username": "clerk", "password": "wrong"}))
            .send()
            .await?;
        assert_eq!(r.status(), 422);
        let body: Value = r.json().await?;
        assert_eq!(body["error"]["field"], "password");
        assert_eq!(body["error"]["fields"][0]["message"], "wrong user name or password");
        let r = app
            .client
            .post(app.url("/api/v1/login"))
            .json(&json!({"username": "nobody", "password": "demo2026"}))
            .send()
            .await?;
        let body: Value = r.json().await?;
        assert_eq!(
            body["error"]["fields"][0]["message"], "用户名或密码错误",
            "same answer for an unknown name, Chinese by default"
        );
        let r = app
            .client
            .post(app.url("/api/v1/login"))
            .header("content-type", "application/json")
            .body("{oops")
            .send()
            .await?;
        assert_eq!(r.status(), 422);

        let clerk = app.login("clerk").await?;
        let me: Value = app.get("/api/v1/me", &clerk).await?.json().await?;
        assert_eq!(me["roles"], json!(["counter_clerk"]));
        assert_eq!(me["scope"], json!(["AP"]));

        // Search by account, name prefix, phone prefix and address fragment.
        let found: Vec<Value> = app.get("/api/v1/customers?q=2300000001", &clerk).await?.json().await?;
        assert_eq!(found[0]["id"], "2300000001");
        assert_eq!(found[0]["name"], "安平水泥厂");
        let found: Vec<Value> = app.get("/api/v1/customers?q=城关镇&limit=5", &clerk).await?.json().await?;
        assert_eq!(found.len(), 5);
        assert!(found.iter().all(|c| c["address"].as_str().unwrap().contains("城关镇")));

        // The record: meters, contracts, readings (13 monthly readings, newest first).
        let rec: Value = app.get("/api/v1/customers/2300000001", &clerk).await?.json().await?;
        assert_eq!(rec["contracts"][0]["tariff_id"], "example-two-part");
        assert_eq!(rec["readings"].as_array().unwrap().len(), 13);
        assert_eq!(rec["readings"][0]["read_on"], "2026-10-01");

        // Another bureau's customer is invisible: not in search, 404 on the record.
        let found: Vec<Value> = app.get("/api/v1/customers?q=外县用户", &clerk).await?.json().await?;
        assert!(found.is_empty());
        assert_eq!(app.get("/api/v1/customers/2399990001", &clerk).await?.status(), 404);

        // A missing role: 403. The clerk may not list staff; the repair crew may not open accounts.
        assert_eq!(app.get("/api/v1/staff", &clerk).await?.status(), 403);
        let crew = app.login("crew").await?;
        let new = json!({"id": "2300999999", "bureau_id": "AP", "name": "新户", "address": "安平县城关镇新街1号",
                         "class": "residential", "area": "urban"});
        let r = app.post_json("/api/v1/customers", &crew, &new).await?;
        assert_eq!(r.status(), 403);
        assert_eq!(r.json::<Value>().await?["error"]["code"], "forbidden");

        // Opening an account: created, then a duplicate is a conflict; bad fields are named.
        let r = app.post_json("/api/v1/customers", &clerk, &new).await?;
        assert_eq!(r.status(), 201);
        let r = app.post_json("/api/v1/customers", &clerk, &new).await?;
        assert_eq!(r.status(), 409);
        assert_eq!(r.json::<Value>().await?["error"]["field"], "id");
        let bad = json!({"id": "1", "bureau_id": "AP", "name": "", "address": "x", "class": "villa", "area": "urban",
                         "phone": "abc"});
        let r = app.post_json("/api/v1/customers", &clerk, &bad).await?;
        assert_eq!(r.status(), 422);
        let fields: Vec<String> = r.json::<Value>().await?["error"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(fields, vec!["id", "name", "phone", "class"]);
        let other = json!({"id": "2300999998", "bureau_id": "XH", "name": "越权", "address": "x", "class": "residential", "area": "urban"});
        assert_eq!(app.post_json("/api/v1/customers", &clerk, &other).await?.status(), 403);

        // Import through the API: good rows kept, bad rows listed with line and field.
        let csv = "id,bureau_id,name,address,phone,class,area,supply_point,book_id\n\
                   2300888801,AP,赵一,安平县城关镇文化街1号,,residential,urban,F01-T11,AP-B0001\n\
                   2300888802,AP,赵二,安平县城关镇文化街2号,,residential,urban,F01-T11,NO-BOOK\n";
        let r =
            app.client.post(app.url("/api/v1/import/customers")).bearer_auth(&clerk).body(csv).send().await?;
        assert_eq!(r.status(), 200);
        let report: Value = r.json().await?;
        assert_eq!(report["written"], 1);
        assert_eq!(report["rejected"][0]["line"], 3);
        assert_eq!(report["rejected"][0]["field"], "book_id");
        let r =
            app.client.post(app.url("/api/v1/import/widgets")).bearer_auth(&clerk).body(csv).send().await?;
        assert_eq!(r.status(), 422);
        assert_eq!(r.json::<Value>().await?["error"]["field"], "kind");

        // Export: the clerk's bureau only.
        let text = app.get("/api/v1/export/customers", &clerk).await?.text().await?;
        assert_eq!(text.lines().count(), 1 + 300 + 2, "header, demo, created, imported");
        assert!(!text.contains("2399990001"));

        // A meter exchange: the old meter ends, the new one starts, the history keeps both.
        let rec: Value = app.get("/api/v1/customers/2300000002", &clerk).await?.json().await?;
        let old = rec["meters"][0]["meter_id"].as_str().unwrap().to_string();
        let exchange = json!({"old_meter_id": old, "old_final_reading": "99999",
            "new_meter": {"meter_id": "NEW0001", "multiplier": "1", "digits": "6", "tou": "yes",
                          "installed_on": "2026-11-20", "initial_reading": "0"}});
        let r = app.post_json("/api/v1/customers/2300000002/meter-exchange", &clerk, &exchange).await?;
        assert_eq!(r.status(), 201, "{}", r.text().await?);
        let rec: Value = app.get("/api/v1/customers/2300000002", &clerk).await?.json().await?;
        assert_eq!(rec["meters"][0]["meter_id"], "NEW0001");
        assert_eq!(rec["meters"][0]["removed_on"], Value::Null);
        assert_eq!(rec["meters"][1]["meter_id"], json!(old));
        assert_eq!(rec["meters"][1]["removed_on"], "2026-11-20");
        assert_eq!(rec["meters"][1]["final_reading"], "99999");
        // The old meter is no longer active: exchanging it again is refused, naming the field.
        let r = app.post_json("/api/v1/customers/2300000002/meter-exchange", &clerk, &exchange).await?;
        assert_eq!(r.status(), 422);
        let body: Value = r.json().await?;
        let fields: Vec<&str> = body["error"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, vec!["old_meter_id"]);
        let bad = json!({"old_meter_id": "NEW0001", "old_final_reading": "-1",
            "new_meter": {"meter_id": "N2", "multiplier": "0", "digits": "6", "installed_on": "2026-13-01"}});
        let r = app.post_json("/api/v1/customers/2300000002/meter-exchange", &clerk, &bad).await?;
        let body: Value = r.json().await?;
        let fields: Vec<&str> = body["error"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, vec!["old_final_reading", "new_meter.multiplier", "new_meter.installed_on"]);

        // Malformed queries and unknown addresses answer in the same JSON shape.
        let r = app.get("/api/v1/customers?q=x&limit=lots", &clerk).await?;
        assert_eq!(r.status(), 422);
        assert_eq!(r.json::<Value>().await?["error"]["field"], "query");
        let r = app.get("/api/v1/nothing-here", &clerk).await?;
        assert_eq!(r.status(), 404);
        assert_eq!(r.json::<Value>().await?["error"]["code"], "not_found");
        let found: Vec<Value> = app.get("/api/v1/customers", &clerk).await?.json().await?;
        assert!(found.is_empty(), "no query, no customers");

        // Logout ends the token at once.
        let r = app.client.post(app.url("/api/v1/logout")).bearer_auth(&clerk).send().await?;
        assert_eq!(r.status(), 204);
        assert_eq!(app.get("/api/v1/me", &clerk).await?.status(), 401);
        app.stop().await?;
    }
    Ok(())
}

#[tokio::test]
async fn health_metrics_and_an_openapi_document_covering_every_endpoint() -> anyhow::Result<()> {
    let db = bureau_store_tests::TestDb::sqlite().await?;
    support::app::demo_county(&db).await?;
    let app = TestApp::start(db).await?;
    let health: Value = app.client.get(app.url("/healthz")).send().await?.json().await?;
    assert_eq!(health, json!({"status": "ok", "database": "sqlite"}));

    let doc: Value = app.client.get(app.url("/api/openapi.json")).send().await?.json().await?;
    let paths = doc["paths"].as_object().unwrap();
    // Every route under /api/v1 that the server answers is documented, and every documented one answers.
    let expected = [
        ("post", "/api/v1/login"),
        ("post", "/api/v1/logout"),
        ("get", "/api/v1/me"),
        ("get", "/api/v1/customers"),
        ("post", "/api/v1/customers"),
        ("get", "/api/v1/customers/{id}"),
        ("post", "/api/v1/customers/{id}/meter-exchange"),
        ("get", "/api/v1/books"),
        ("get", "/api/v1/staff"),
        ("get", "/api/v1/org-units"),
        ("post", "/api/v1/import/{kind}"),
        ("get", "/api/v1/export/{kind}"),
    ];
    for (method, path) in expected {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing from the OpenAPI document"
        );
    }
    for (path, ops) in paths {
        for method in ops.as_object().unwrap().keys() {
            let url = app.url(&path.replace("{id}", "2300000001").replace("{kind}", "customers"));
            let r = app.client.request(method.to_uppercase().parse()?, url).send().await?;
            assert_ne!(r.status(), 404, "{method} {path} is documented but not served");
            assert_ne!(r.status(), 405, "{method} {path} is documented but not served");
        }
    }

    let metrics = app.client.get(app.url("/metrics")).send().await?.text().await?;
    assert!(
        metrics.contains("bureau_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("route=\"/api/v1/customers/{id}\""), "route patterns, not raw paths");
    app.stop().await
}

#[tokio::test]
async fn pages_require_a_login_and_switch_language() -> anyhow::Result<()> {
    let db = bureau_store_tests::TestDb::sqlite().await?;
    support::app::demo_county(&db).await?;
    let app = TestApp::start(db).await?;
    let r = app.client.get(app.url("/customers?q=1")).send().await?;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login?next=/customers%3Fq%3D1");

    let login = app.client.get(app.url("/login")).send().await?.text().await?;
    assert!(login.contains("员工登录"));
    let r = app.client.get(app.url("/login")).header("cookie", "bureau_lang=en").send().await?.text().await?;
    assert!(r.contains("Staff login"));

    let r = app
        .client
        .post(app.url("/login"))
        .form(&[("username", "clerk"), ("password", "wrong"), ("next", "/")])
        .send()
        .await?;
    assert_eq!(r.status(), 422);
    assert!(r.text().await?.contains("用户名或密码错误"));
    let r = app
        .client
        .post(app.url("/login"))
        .form(&[("username", "clerk"), ("password", "demo2026"), ("next", "https://evil.example/")])
        .send()
        .await?;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/", "never redirect off-site");
    let cookie = r.headers()["set-cookie"].to_str()?.split(';').next().unwrap().to_string();

    let page = app
        .client
        .get(app.url("/customers?q=安平水泥厂"))
        .header("cookie", &cookie)
        .send()
        .await?
        .text()
        .await?;
    assert!(page.contains("2300000001"), "{page}");
    let page = app
        .client
        .get(app.url("/customers/2300000001"))
        .header("cookie", &cookie)
        .send()
        .await?
        .text()
        .await?;
    assert!(page.contains("电能表") && page.contains("example-two-part"));
    let r = app.client.get(app.url("/customers/9999999999")).header("cookie", &cookie).send().await?;
    assert_eq!(r.status(), 404);

    let r = app
        .client
        .get(app.url("/lang/en?next=/customers/2300000001"))
        .header("cookie", &cookie)
        .send()
        .await?;
    assert_eq!(r.status(), 303);
    let page = app
        .client
        .get(app.url("/customers/2300000001"))
        .header("cookie", &cookie)
        .send()
        .await?
        .text()
        .await?;
    assert!(page.contains("Meters") && page.contains("Contracts"), "the session now speaks English");
    let staff = app.client.get(app.url("/staff")).header("cookie", &cookie).send().await?;
    assert_eq!(staff.status(), 403, "a counter clerk does not manage staff");
    app.stop().await
}
