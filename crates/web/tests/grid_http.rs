//! The grid API against the real server on both databases: tracing, switch operations, trouble
//! calls to outages through their life cycle with notices in the outbox, planned work with ring
//! transfer and its 7-day notice, and reliability statistics.

mod support;

use bureau_store::OutboxQuery;
use bureau_store_tests::TestDb;
use serde_json::{json, Value};
use support::app::TestApp;

/// 2,000 customers: 17 transformers on F01 (sections 1 to 4), F02 empty, the tie at their far ends.
async fn apps() -> anyhow::Result<Vec<TestApp>> {
    let mut apps = Vec::new();
    for db in TestDb::each().await? {
        let mut o = bureau_app::demo::DemoOptions::new(jiff::civil::date(2026, 11, 27));
        o.customers = 2000;
        bureau_app::demo::generate(&db.store, &o).await?;
        apps.push(TestApp::start(db).await?);
    }
    Ok(apps)
}

async fn body(r: reqwest::Response) -> anyhow::Result<(u16, Value)> {
    let status = r.status().as_u16();
    let text = r.text().await?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

#[tokio::test]
async fn switching_and_outages_through_the_api() -> anyhow::Result<()> {
    for app in apps().await? {
        let d = app.login("dispatcher").await?;
        let (st, tree) = body(app.get("/api/v1/grid/tree", &d).await?).await?;
        assert_eq!(st, 200);
        let t11 = tree.as_array().unwrap().iter().find(|n| n["id"] == "F01-T11").unwrap();
        assert_eq!((t11["energised"].as_bool(), t11["via"].as_str()), (Some(true), Some("F01-TR11")));

        let (st, r) =
            body(app.post_json("/api/v1/grid/switch", &d, &json!({"branch": "F01-K3", "open": true})).await?)
                .await?;
        assert_eq!(st, 200, "{r}");
        assert!(r["loads_lost"].as_array().unwrap().contains(&json!("F01-T31")));
        assert_eq!(r["op"]["by_staff"], "dispatcher");
        let (st, e) =
            body(app.post_json("/api/v1/grid/switch", &d, &json!({"branch": "F01-K3", "open": true})).await?)
                .await?;
        assert_eq!((st, e["error"]["field"].as_str()), (409, Some("open")));
        let (st, e) =
            body(app.post_json("/api/v1/grid/switch", &d, &json!({"branch": "NOPE", "open": true})).await?)
                .await?;
        assert_eq!((st, e["error"]["field"].as_str()), (422, Some("branch")));
        assert!(e["error"]["message"].as_str().unwrap().contains("不存在"), "Chinese by default: {e}");
        let (st, e) =
            body(app.post_json("/api/v1/grid/switch", &d, &json!({"branch": "F01-K3"})).await?).await?;
        assert_eq!((st, e["error"]["field"].as_str()), (422, Some("body")), "{e}");
        let (st, _) = body(
            app.post_json("/api/v1/grid/switch", &d, &json!({"branch": "F01-K3", "open": false})).await?,
        )
        .await?;
        assert_eq!(st, 200);
        let (_, ops) = body(app.get("/api/v1/grid/switch-ops?branch=F01-K3", &d).await?).await?;
        assert_eq!(ops.as_array().unwrap().len(), 2);
        // A counter clerk may not operate the grid.
        let c = app.login("clerk").await?;
        let (st, _) =
            body(app.post_json("/api/v1/grid/switch", &c, &json!({"branch": "F01-K3", "open": true})).await?)
                .await?;
        assert_eq!(st, 403);

        // Three calls below one fuse: an outage predicted at the fuse.
        let t = now() - 600;
        let mut outage_id = String::new();
        for k in 0..3 {
            let (st, r) = body(
                app.post_json(
                    "/api/v1/outages/calls",
                    &d,
                    &json!({"load_id": "F01-T11", "source": "api", "at": t + k * 30}),
                )
                .await?,
            )
            .await?;
            assert_eq!(st, 201, "{r}");
            outage_id = r["outage"]["id"].as_str().unwrap_or_default().to_string();
        }
        // The dispatcher's page shows it on the feeder tree in the predicted colour.
        let page = app.get("/grid/outages", &d).await?.text().await?;
        assert!(page.contains("class=\"st-predicted\" data-id=\"F01-T11\""), "{page}");
        assert!(page.contains("class=\"live\" data-id=\"F01-T21\""));
        let (_, list) = body(app.get("/api/v1/outages", &d).await?).await?;
        let o = list.as_array().unwrap().iter().find(|o| o["id"] == outage_id.as_str()).unwrap();
        assert_eq!(
            (o["device"].as_str(), o["state"].as_str(), o["calls"].as_i64()),
            (Some("F01-FU11"), Some("predicted"), Some(3))
        );
        let (st, e) = body(
            app.post_json("/api/v1/outages/calls", &d, &json!({"load_id": "F01-T11", "source": "fax"}))
                .await?,
        )
        .await?;
        assert_eq!((st, e["error"]["field"].as_str()), (422, Some("source")));
        let (st, e) = body(
            app.post_json(
                "/api/v1/outages/calls",
                &d,
                &json!({"customer_id": "9999999999", "source": "api"}),
            )
            .await?,
        )
        .await?;
        assert_eq!((st, e["error"]["field"].as_str()), (422, Some("customer_id")), "{e}");

        // Confirm: the customers of F01-T11 with a phone get a notice through the outbox.
        let path = format!("/api/v1/outages/{outage_id}");
        let (st, o) = body(
            app.post_json(&format!("{path}/confirm"), &d, &json!({"crew": "抢修一班", "etr": now() + 7200}))
                .await?,
        )
        .await?;
        assert_eq!((st, o["state"].as_str()), (200, Some("confirmed")), "{o}");
        let q = |p: &str| OutboxQuery {
            status: None,
            key_prefix: Some(p.into()),
            recipient: None,
            limit: 10_000,
        };
        let notices = app.db.store.list_outbox(&q(&format!("outage:{outage_id}:notice"))).await?;
        assert!(!notices.is_empty() && notices.len() as i64 <= o["customers"].as_i64().unwrap());
        assert!(notices[0].body.contains("预计"), "{}", notices[0].body);
        let (st, _) = body(app.post_json(&format!("{path}/confirm"), &d, &json!({})).await?).await?;
        assert_eq!(st, 409);
        let (st, o) = body(app.post_json(&format!("{path}/restore"), &d, &json!({})).await?).await?;
        assert_eq!((st, o["state"].as_str()), (200, Some("restored")));
        assert_eq!(
            app.db.store.list_outbox(&q(&format!("outage:{outage_id}:restored"))).await?.len(),
            notices.len()
        );
        let (_, rec) = body(app.get(&path, &d).await?).await?;
        let call_id = rec["calls"][0]["id"].as_str().unwrap().to_string();
        let (st, _) = body(
            app.post_json(
                &format!("{path}/callbacks"),
                &d,
                &json!({"call_id": call_id, "result": "restored"}),
            )
            .await?,
        )
        .await?;
        assert_eq!(st, 200);
        let (st, o) = body(app.post_json(&format!("{path}/close"), &d, &json!({})).await?).await?;
        assert_eq!((st, o["state"].as_str()), (200, Some("closed")));
        let (st, _) = body(app.get("/api/v1/outages/NOPE", &d).await?).await?;
        assert_eq!(st, 404);
        app.stop().await?;
    }
    Ok(())
}

#[tokio::test]
async fn planned_work_with_ring_transfer_and_statistics() -> anyhow::Result<()> {
    for app in apps().await? {
        let d = app.login("dispatcher").await?;
        // Work on the trunk section F01-L2: sections 3 and 4 are carried over the tie from F02.
        let start = now() + 10 * 86_400;
        let req = json!({"work_branch": "F01-L2", "starts_at": start, "ends_at": start + 4 * 3600});
        let (st, p) = body(app.post_json("/api/v1/grid/plans", &d, &req).await?).await?;
        assert_eq!(st, 201, "{p}");
        assert_eq!(p["plan"]["transfers"][0]["tie"], "TIE-F01-F02");
        assert!(p["plan"]["customers_transferred"].as_u64().unwrap() > 0);
        let unsupplied: Vec<&str> =
            p["plan"]["unsupplied_loads"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert!(unsupplied.contains(&"F01-T11") && !unsupplied.contains(&"F01-T31"), "{unsupplied:?}");
        let id = p["id"].as_str().unwrap().to_string();
        let (st, e) = body(
            app.post_json(
                "/api/v1/grid/plans",
                &d,
                &json!({"work_branch": "X", "starts_at": start, "ends_at": start - 1}),
            )
            .await?,
        )
        .await?;
        assert_eq!(st, 422);
        let fields: Vec<&str> =
            e["error"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["ends_at", "work_branch"]);
        // Too late for the 7-day notice.
        let soon = json!({"work_branch": "F01-L2", "starts_at": now() + 3600, "ends_at": now() + 7200});
        let (_, sp) = body(app.post_json("/api/v1/grid/plans", &d, &soon).await?).await?;
        let (st, e) = body(
            app.post_json(
                &format!("/api/v1/grid/plans/{}/notify", sp["id"].as_str().unwrap()),
                &d,
                &json!({}),
            )
            .await?,
        )
        .await?;
        assert_eq!((st, e["error"]["field"].as_str()), (422, Some("starts_at")));

        let (st, n) =
            body(app.post_json(&format!("/api/v1/grid/plans/{id}/notify"), &d, &json!({})).await?).await?;
        assert_eq!(st, 200, "{n}");
        let sent = app
            .db
            .store
            .list_outbox(&OutboxQuery {
                status: None,
                key_prefix: Some(format!("plan:{id}:notice")),
                recipient: None,
                limit: 10_000,
            })
            .await?;
        assert_eq!(sent.len() as u64, n["notices"].as_u64().unwrap());
        assert!(!sent.is_empty());
        let (st, x) =
            body(app.post_json(&format!("/api/v1/grid/plans/{id}/execute"), &d, &json!({})).await?).await?;
        assert_eq!(st, 200, "{x}");
        assert_eq!(x["plan"]["state"], "executed");
        assert!(x["outage_id"].is_string());
        let (_, tree) = body(app.get("/api/v1/grid/tree", &d).await?).await?;
        let node = |id: &str| tree.as_array().unwrap().iter().find(|n| n["id"] == id).unwrap().clone();
        assert_eq!(node("F01-T31")["energised"], true, "carried by F02 over the tie");
        assert_eq!(node("F01-T11")["energised"], false, "inside the isolated section");
        let (_, ops) = body(app.get("/api/v1/grid/switch-ops?limit=100", &d).await?).await?;
        assert!(ops
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["branch_id"] == "TIE-F01-F02" && o["reason"] == "plan"));
        // The work done: switching back opens the tie, closes the isolation points, restores the
        // planned interruption, and tells its customers.
        let back = format!("/api/v1/grid/plans/{id}/switch-back");
        let (st, b) = body(app.post_json(&back, &d, &json!({})).await?).await?;
        assert_eq!(st, 200, "{b}");
        assert_eq!(b["switched"][0]["op"]["branch_id"], "TIE-F01-F02");
        assert_eq!(b["switched"][0]["op"]["open"], true);
        assert!(b["plan"]["switched_back_at"].is_i64());
        let (_, tree2) = body(app.get("/api/v1/grid/tree", &d).await?).await?;
        let node2 = |id: &str| tree2.as_array().unwrap().iter().find(|n| n["id"] == id).unwrap().clone();
        assert_eq!(
            (node2("F01-T11")["energised"].as_bool(), node2("F01-T31")["energised"].as_bool()),
            (Some(true), Some(true))
        );
        let (_, o) =
            body(app.get(&format!("/api/v1/outages/{}", x["outage_id"].as_str().unwrap()), &d).await?)
                .await?;
        assert_eq!(o["outage"]["state"], "restored");
        let (st, _) = body(app.post_json(&back, &d, &json!({})).await?).await?;
        assert_eq!(st, 409, "once only");

        // Statistics: the planned interruption counts as planned.
        let (st, s) = body(app.get("/api/v1/reliability?from=2026-11-01&to=2030-01-01", &d).await?).await?;
        assert_eq!(st, 200, "{s}");
        assert_eq!(s["bureau"]["ieee"]["fault"]["saifi"], 0.0);
        assert!(s["feeders"].as_array().unwrap().iter().any(|f| f["id"] == "F01-CB"));
        let (st, e) = body(app.get("/api/v1/reliability?from=yesterday&to=2030-01-01", &d).await?).await?;
        assert_eq!((st, e["error"]["field"].as_str()), (422, Some("from")));
        // The pages: the plan with its steps, the manager's statistics with SVG charts.
        let page = app.get("/grid/plans", &d).await?.text().await?;
        assert!(page.contains(&id) && page.contains("合闸 TIE-F01-F02"), "{page}");
        let m = app.login("manager").await?;
        let r = app.get("/grid/reliability?from=2026-01-01&to=2030-01-01", &m).await?;
        assert_eq!(r.status(), 200);
        let page = r.text().await?;
        assert!(
            page.contains("<svg") && page.contains("id=\"indices\"") && page.contains("data-id=\"F01-CB\"")
        );
        let r = app.get("/grid/reliability?from=2026-13-01&to=2030-01-01", &m).await?;
        assert_eq!(r.status(), 422);
        assert!(r.text().await?.contains("from"));
        app.stop().await?;
    }
    Ok(())
}

/// Polls the outage list until `pred` holds for one outage (the grid intake worker runs beside the
/// server every half second).
async fn wait_for_outage(app: &TestApp, token: &str, pred: impl Fn(&Value) -> bool) -> anyhow::Result<Value> {
    for _ in 0..100 {
        let (_, list) = body(app.get("/api/v1/outages", token).await?).await?;
        if let Some(o) = list.as_array().and_then(|l| l.iter().find(|o| pred(o))) {
            return Ok(o.clone());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    anyhow::bail!("no such outage within 10 s")
}

#[tokio::test]
async fn fault_repair_orders_become_trouble_calls_of_an_outage() -> anyhow::Result<()> {
    for app in apps().await? {
        let agent = app.login("agent").await?;
        let d = app.login("dispatcher").await?;
        let scope = bureau_store::Scope::All;
        let at_t11 = app.db.store.customers_at(&scope, &["F01-T11".to_string()]).await?;
        assert!(at_t11.len() >= 3, "the demo puts customers on F01-T11");
        // Three customers of one transformer call 95598: three fault-repair orders.
        let mut orders = Vec::new();
        for c in &at_t11[..3] {
            let (st, r) = body(
                app.post_json(
                    "/api/v1/work-orders",
                    &agent,
                    &json!({"kind": "fault_repair", "customer_id": c.id.as_str(), "description": "家里停电了"}),
                )
                .await?,
            )
            .await?;
            assert_eq!(st, 201, "{r}");
            orders.push(r["order"]["id"].as_str().unwrap().to_string());
        }
        // A consultation and a fault repair without an account are not trouble calls.
        let (st, _) = body(
            app.post_json(
                "/api/v1/work-orders",
                &agent,
                &json!({"kind": "consultation", "customer_id": at_t11[3].id.as_str(), "description": "电价咨询"}),
            )
            .await?,
        )
        .await?;
        assert_eq!(st, 201);
        let (st, r) = body(
            app.post_json(
                "/api/v1/work-orders",
                &agent,
                &json!({"kind": "fault_repair", "caller_phone": "13900000000", "area": "urban",
                        "description": "路灯不亮"}),
            )
            .await?,
        )
        .await?;
        assert_eq!(st, 201, "{r}");
        // The three calls predict the fuse above F01-T11, as three calls through the API would.
        let o = wait_for_outage(&app, &d, |o| o["calls"] == 3 && o["device"] == "F01-FU11").await?;
        assert_eq!(o["state"], "predicted");
        let (_, rec) =
            body(app.get(&format!("/api/v1/outages/{}", o["id"].as_str().unwrap()), &d).await?).await?;
        let mut calls: Vec<(String, String, String)> = rec["calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
                (s("id"), s("source"), s("load_id"))
            })
            .collect();
        calls.sort();
        let mut expected: Vec<(String, String, String)> =
            orders.iter().map(|id| (id.clone(), "work_order".into(), "F01-T11".into())).collect();
        expected.sort();
        assert_eq!(calls, expected);
        // The dispatcher's board shows it at the fuse.
        let page = app.get("/grid/outages", &d).await?.text().await?;
        assert!(page.contains("class=\"st-predicted\" data-id=\"F01-T11\""));
        // Each hand-over was delivered once; nothing else went to the grid.
        let handed = app
            .db
            .store
            .list_outbox(&OutboxQuery {
                status: None,
                key_prefix: Some("wo:".into()),
                recipient: None,
                limit: 1000,
            })
            .await?
            .into_iter()
            .filter(|m| m.channel == bureau_store::GRID_INTAKE_CHANNEL)
            .collect::<Vec<_>>();
        assert_eq!(handed.len(), 3);
        assert!(handed.iter().all(|m| m.status == bureau_store::OutboxStatus::Sent), "{handed:?}");
        app.stop().await?;
    }
    Ok(())
}

#[tokio::test]
async fn ami_meter_events_file_calls_move_predictions_down_and_confirm_restoration() -> anyhow::Result<()> {
    for app in apps().await? {
        let d = app.login("dispatcher").await?;
        let scope = bureau_store::Scope::All;
        let mut events = Vec::new();
        let t = now() - 900;
        for (k, load) in ["F01-T11", "F01-T12"].iter().enumerate() {
            let customers = app.db.store.customers_at(&scope, &[load.to_string()]).await?;
            for (j, c) in customers.iter().take(3).enumerate() {
                let at = t + (k * 3 + j) as i64 * 10;
                events.push(json!({"id": format!("E{k}{j}"), "meter_id": format!("M{k}{j}"),
                                   "customer_id": c.id.as_str(), "state": "off", "at": at}));
            }
        }
        // Six last gasps under two fuses of F01: the prediction moves up to the feeder breaker.
        let (st, r) = body(app.post_json("/api/v1/ami/events", &d, &json!(events)).await?).await?;
        assert_eq!(st, 200, "{r}");
        assert_eq!(
            (r["rows"].as_u64(), r["new"].as_u64(), r["calls"].as_u64()),
            (Some(6), Some(6), Some(6)),
            "{r}"
        );
        let (_, list) = body(app.get("/api/v1/outages", &d).await?).await?;
        let predicted: Vec<(String, i64)> = list
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["state"] == "predicted")
            .map(|o| (o["device"].as_str().unwrap_or("-").to_string(), o["calls"].as_i64().unwrap()))
            .collect();
        assert_eq!(predicted, [("F01-CB".to_string(), 6)]);
        // Resent, nothing changes.
        let (_, r) = body(app.post_json("/api/v1/ami/events", &d, &json!(events)).await?).await?;
        assert_eq!(
            (r["new"].as_u64(), r["duplicates"].as_u64(), r["calls"].as_u64()),
            (Some(0), Some(6), Some(0))
        );

        // A meter on further along the feeder (section 2) proves the breaker closed: the prediction
        // moves down to the two fuses.
        let (st, r) = body(
            app.post_json(
                "/api/v1/ami/events",
                &d,
                &json!({"load_id": "F01-T21", "state": "on", "at": t + 100}),
            )
            .await?,
        )
        .await?;
        assert_eq!((st, r["new"].as_u64()), (200, Some(1)), "{r}");
        let (_, list) = body(app.get("/api/v1/outages", &d).await?).await?;
        let mut predicted: Vec<(String, i64)> = list
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["state"] == "predicted")
            .map(|o| (o["device"].as_str().unwrap_or("-").to_string(), o["calls"].as_i64().unwrap()))
            .collect();
        predicted.sort();
        assert_eq!(predicted, [("F01-FU11".to_string(), 3), ("F01-FU12".to_string(), 3)]);
        let fu11 = list.as_array().unwrap().iter().find(|o| o["device"] == "F01-FU11").unwrap().clone();

        // The crew finds the fuse blown; when it is replaced a meter at F01-T11 answers (CSV from
        // the head-end), which restores the outage there. Bad rows are listed, good ones kept.
        let path = format!("/api/v1/outages/{}", fu11["id"].as_str().unwrap());
        let (st, _) = body(app.post_json(&format!("{path}/confirm"), &d, &json!({})).await?).await?;
        assert_eq!(st, 200);
        let back = jiff::Timestamp::from_second(now() - 60)?.to_string();
        let csv = format!(
            "id,meter_id,customer_id,load_id,state,at\nR1,M00,,F01-T11,on,{back}\nR2,,,F01-T11,maybe,\nR3,,,NOPE,on,\nR4,,,F01-T11,on,yesterday\n"
        );
        let r = app
            .client
            .post(app.url("/api/v1/ami/events"))
            .bearer_auth(&d)
            .header("content-type", "text/csv")
            .header("accept-language", "en")
            .body(csv)
            .send()
            .await?;
        let (st, r) = body(r).await?;
        assert_eq!(st, 200, "{r}");
        let rejected: Vec<(u64, &str)> = r["rejected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| (x["line"].as_u64().unwrap(), x["field"].as_str().unwrap()))
            .collect();
        assert_eq!(rejected, [(3, "state"), (4, "load_id"), (5, "at")], "{r}");
        assert_eq!(r["new"].as_u64(), Some(1));
        assert_eq!(r["restored"][0]["load_id"], "F01-T11");
        let (_, o) = body(app.get(&path, &d).await?).await?;
        assert_eq!(o["outage"]["state"], "restored", "{o}");
        // Customers there are told power is back.
        let told = app
            .db
            .store
            .list_outbox(&OutboxQuery {
                status: None,
                key_prefix: Some(format!("outage:{}:restored", fu11["id"].as_str().unwrap())),
                recipient: None,
                limit: 10_000,
            })
            .await?;
        assert!(!told.is_empty());

        // Bad bodies and roles.
        let (st, e) = body(app.post_json("/api/v1/ami/events", &d, &json!("off")).await?).await?;
        assert_eq!((st, e["error"]["field"].as_str()), (422, Some("body")));
        let c = app.login("clerk").await?;
        let (st, _) = body(app.post_json("/api/v1/ami/events", &c, &json!([])).await?).await?;
        assert_eq!(st, 403);
        app.stop().await?;
    }
    Ok(())
}

#[tokio::test]
async fn a_running_server_sees_a_model_import_without_a_restart() -> anyhow::Result<()> {
    use bureau_grid::{Branch, BranchKind, Network, Node, NodeKind};
    for app in apps().await? {
        let d = app.login("dispatcher").await?;
        let ids = |tree: &Value| -> Vec<String> {
            tree.as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap().to_string()).collect()
        };
        let (_, tree) = body(app.get("/api/v1/grid/tree", &d).await?).await?;
        assert!(!ids(&tree).contains(&"F01-T99".to_string()));
        // What `bureau grid import` does, while the server runs: a new transformer on section 1.
        let scope = bureau_store::Scope::Bureaus(vec!["AP".into()]);
        let (mut nodes, mut branches, params) =
            bureau_app::grid::load(&app.db.store, &scope).await?.into_parts();
        nodes.push(Node {
            id: "F01-T99".into(),
            kind: NodeKind::Load,
            name: "新台区".into(),
            customers: 42,
            avg_kw: 20.0,
            peak_kw: 60.0,
        });
        branches.push(Branch {
            id: "F01-TR99".into(),
            from: "F01-B1".into(),
            to: "F01-T99".into(),
            kind: BranchKind::Transformer,
            normal_open: false,
            open: false,
            length_km: 0.0,
            failure_rate: 0.01,
            repair_h: 8.0,
        });
        let net = Network::new(nodes, branches, params).map_err(|e| anyhow::anyhow!("{e}"))?;
        let counts =
            bureau_app::grid::save(&app.db.store, &bureau_app::access::Actor::system(), "AP", &net).await?;
        assert_eq!(counts.written, 2);
        let (_, tree) = body(app.get("/api/v1/grid/tree", &d).await?).await?;
        let t99 = tree.as_array().unwrap().iter().find(|n| n["id"] == "F01-T99");
        assert_eq!(
            t99.map(|n| (n["via"].as_str(), n["energised"].as_bool())),
            Some((Some("F01-TR99"), Some(true)))
        );
        // Calls at the new transformer are taken at once.
        let (st, r) = body(
            app.post_json("/api/v1/outages/calls", &d, &json!({"load_id": "F01-T99", "source": "api"}))
                .await?,
        )
        .await?;
        assert_eq!(st, 201, "{r}");
        app.stop().await?;
    }
    Ok(())
}

#[tokio::test]
async fn stored_feeder_limits_bound_the_ring_transfer() -> anyhow::Result<()> {
    for app in apps().await? {
        let d = app.login("dispatcher").await?;
        let start = now() + 10 * 86_400;
        let plan = |limits: Value| {
            json!({"work_branch": "F01-L2", "starts_at": start, "ends_at": start + 3600,
                                          "feeder_limits_kw": limits})
        };
        // Without a limit, sections 3 and 4 of F01 go over the tie to F02 (empty in this county).
        let (st, p) = body(app.post_json("/api/v1/grid/plans", &d, &plan(json!({}))).await?).await?;
        assert_eq!(st, 201, "{p}");
        let carried = p["plan"]["customers_transferred"].as_u64().unwrap();
        assert!(carried > 0);
        // F02 limited to 1 kW carries nothing: every transformer's peak is above that.
        let put = |branch: &str, kw: Value| {
            app.client
                .put(app.url(&format!("/api/v1/grid/feeder-limits/{branch}")))
                .bearer_auth(&d)
                .json(&json!({"capacity_kw": kw}))
        };
        let (st, l) = body(put("F02-CB", json!(1.0)).send().await?).await?;
        assert_eq!(
            (st, l["capacity_kw"].as_f64(), l["updated_by"].as_str()),
            (200, Some(1.0), Some("dispatcher")),
            "{l}"
        );
        let (_, list) = body(app.get("/api/v1/grid/feeder-limits", &d).await?).await?;
        assert_eq!(list.as_array().unwrap().len(), 1);
        let (_, p) = body(app.post_json("/api/v1/grid/plans", &d, &plan(json!({}))).await?).await?;
        assert_eq!(p["plan"]["customers_transferred"], 0, "{p}");
        assert!(p["plan"]["transfers"].as_array().unwrap().is_empty());
        // A limit given with the request wins over the stored one.
        let (_, p) =
            body(app.post_json("/api/v1/grid/plans", &d, &plan(json!({"F02-CB": 1.0e6}))).await?).await?;
        assert_eq!(p["plan"]["customers_transferred"].as_u64(), Some(carried));
        // Bad limits name the field; only a feeder's head branch has one.
        let (st, e) = body(put("F01-L2", json!(500.0)).send().await?).await?;
        assert_eq!((st, e["error"]["field"].as_str()), (422, Some("branch")), "{e}");
        let (st, e) = body(put("F02-CB", json!(-5.0)).send().await?).await?;
        assert_eq!((st, e["error"]["field"].as_str()), (422, Some("capacity_kw")), "{e}");
        let del = || app.client.delete(app.url("/api/v1/grid/feeder-limits/F02-CB")).bearer_auth(&d).send();
        assert_eq!(del().await?.status(), 204);
        assert_eq!(del().await?.status(), 404);
        let (_, p) = body(app.post_json("/api/v1/grid/plans", &d, &plan(json!({}))).await?).await?;
        assert_eq!(p["plan"]["customers_transferred"].as_u64(), Some(carried));
        let c = app.login("clerk").await?;
        let r = app
            .client
            .put(app.url("/api/v1/grid/feeder-limits/F02-CB"))
            .bearer_auth(&c)
            .json(&json!({"capacity_kw": 5}))
            .send()
            .await?;
        assert_eq!(r.status(), 403);
        app.stop().await?;
    }
    Ok(())
}
