//! The duty roster and knowledge-base editing routes and pages, the acceptance at the head of an
//! order's trail, and the durable screen pop, over HTTP against the real server on port 0, on
//! SQLite and PostgreSQL.

mod support;

use serde_json::{json, Value};
use support::app::TestApp;

fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn rfc3339(secs: i64) -> String {
    bureau_domain::calendar::beijing::format_rfc3339(jiff::Timestamp::from_second(secs).unwrap())
}

#[tokio::test]
async fn roster_knowledge_trail_and_screen_pop_over_http() -> anyhow::Result<()> {
    for app in TestApp::each_with_demo().await? {
        let agent = app.login("agent").await?;
        let leader = app.login("leader").await?;
        let manager = app.login("manager").await?;
        let crew = app.login("crew").await?;
        let now = jiff::Timestamp::now().as_second();

        // --- Intake writes the acceptance as the first entry of the trail: who, when, channel.
        let r = app
            .post_json(
                "/api/v1/work-orders",
                &agent,
                &json!({"kind": "consultation", "subtype": "tariff", "channel": "counter",
                        "caller_phone": "13900002222", "description": "阶梯电价"}),
            )
            .await?;
        assert_eq!(r.status(), 201);
        let a: Value = r.json().await?;
        let id = a["order"]["id"].as_str().unwrap().to_string();
        let v: Value = app.get(&format!("/api/v1/work-orders/{id}"), &agent).await?.json().await?;
        let first = &v["events"][0];
        assert_eq!((first["seq"].as_i64(), first["event"].as_str()), (Some(0), Some("accept")));
        assert_eq!(first["actor"], "agent");
        assert_eq!(first["at"], a["order"]["accepted_at"]);
        assert_eq!(first["detail"], r#"{"channel":"counter"}"#);
        // "accept" is not an action on an existing order.
        let r = app
            .post_json(&format!("/api/v1/work-orders/{id}/events"), &agent, &json!({"event": "accept"}))
            .await?;
        assert_eq!(r.status(), 422);

        // --- The roster: a leader adds a shift for a crew with a vehicle at escalation level 1.
        let body = json!({"staff_id": "crew", "duty": "crew", "level": 1, "crew_name": "抢修9班",
                          "vehicle": "冀T-D0999", "starts_at": rfc3339(now - 600), "ends_at": rfc3339(now + 3600)});
        let r = app.post_json("/api/v1/duty-roster/shifts", &leader, &body).await?;
        assert_eq!(r.status(), 201);
        let shift: Value = r.json().await?;
        let sid = shift["id"].as_str().unwrap().to_string();
        assert_eq!(shift["created_by"], "leader");
        assert_eq!(shift["vehicle"], "冀T-D0999");
        // It is on duty now, and the next fault repair pages it (level 1, after the take timeout).
        let on: Value = app.get("/api/v1/duty-roster", &agent).await?.json().await?;
        assert!(on.as_array().unwrap().iter().any(|s| s["id"] == sid.as_str()), "{on}");
        // Bad shifts: each field named; a crew member may not edit the roster.
        let r = app
            .post_json("/api/v1/duty-roster/shifts", &leader,
                &json!({"staff_id": "nobody", "duty": "driver", "level": 9, "starts_at": "x", "ends_at": "y"}))
            .await?;
        assert_eq!(r.status(), 422);
        let e: Value = r.json().await?;
        let fields: Vec<&str> =
            e["error"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["staff_id", "duty", "level", "starts_at", "ends_at"]);
        assert_eq!(app.post_json("/api/v1/duty-roster/shifts", &crew, &body).await?.status(), 403);
        // Ending it: off duty from now, the planned end kept; ending twice is a 409.
        let r = app.post_json(&format!("/api/v1/duty-roster/shifts/{sid}/end"), &leader, &json!({})).await?;
        assert_eq!(r.status(), 200);
        let ended: Value = r.json().await?;
        assert_eq!(ended["ends_at"], shift["ends_at"], "the plan is kept");
        assert_eq!(ended["ended_by"], "leader");
        assert!(ended["ended_at"].as_i64().unwrap() >= now);
        let on: Value = app.get("/api/v1/duty-roster", &agent).await?.json().await?;
        assert!(!on.as_array().unwrap().iter().any(|s| s["id"] == sid.as_str()), "ended shifts page nobody");
        let r = app.post_json(&format!("/api/v1/duty-roster/shifts/{sid}/end"), &leader, &json!({})).await?;
        assert_eq!(r.status(), 409);
        assert_eq!(
            app.post_json("/api/v1/duty-roster/shifts/D-none/end", &leader, &json!({})).await?.status(),
            404
        );
        // The roster lists it with both its plan and its end.
        let all: Value = app.get("/api/v1/duty-roster/shifts", &agent).await?.json().await?;
        let listed = all.as_array().unwrap().iter().find(|s| s["id"] == sid.as_str()).expect("listed");
        assert_eq!(listed["ended_by"], "leader");
        assert_eq!(app.get("/api/v1/duty-roster/shifts?from=nonsense", &agent).await?.status(), 422);

        // --- The knowledge base: add, edit (a new revision), a stale edit (409), retire.
        let r = app
            .post_json(
                "/api/v1/knowledge/articles",
                &manager,
                &json!({"kind": "consultation", "subtype": "tariff", "title": "峰谷电价时段",
                        "body": "峰时8:00-22:00，谷时22:00-次日8:00。", "tags": "峰谷 分时"}),
            )
            .await?;
        assert_eq!(r.status(), 201);
        let art: Value = r.json().await?;
        let aid = art["id"].as_str().unwrap().to_string();
        assert_eq!(art["revision"], 1);
        let url = format!("/api/v1/knowledge/articles/{aid}");
        let edit = |rev: i64, body: &str| {
            json!({"kind": "consultation", "subtype": "tariff", "title": "峰谷电价时段", "body": body,
                   "tags": "峰谷 分时", "revision": rev})
        };
        let r = app
            .client
            .put(app.url(&url))
            .bearer_auth(&manager)
            .json(&edit(1, "峰时8:00-22:00，谷时22:00-次日8:00（2026年起）。"))
            .send()
            .await?;
        assert_eq!(r.status(), 200);
        assert_eq!(r.json::<Value>().await?["revision"], 2);
        let r = app
            .client
            .put(app.url(&url))
            .bearer_auth(&manager)
            .json(&edit(1, "另一位经理的旧版本"))
            .send()
            .await?;
        assert_eq!(r.status(), 409, "an edit made on revision 1 after revision 2 is refused");
        let r = app
            .client
            .put(app.url(&url))
            .bearer_auth(&manager)
            .json(&json!({"title": "", "body": "x", "kind": "billing", "revision": 2}))
            .send()
            .await?;
        assert_eq!(r.status(), 422);
        assert_eq!(
            app.client.put(app.url(&url)).bearer_auth(&agent).json(&edit(2, "x")).send().await?.status(),
            403
        );
        let found: Value = app.get("/api/v1/knowledge?q=峰谷", &agent).await?.json().await?;
        assert_eq!(found[0]["id"], aid.as_str());
        let r = app.post_json(&format!("{url}/retire"), &manager, &json!({"revision": 2})).await?;
        assert_eq!(r.status(), 200);
        let found: Value = app.get("/api/v1/knowledge?q=峰谷", &agent).await?.json().await?;
        assert!(found.as_array().unwrap().is_empty(), "a retired answer is not found");
        let h: Value = app.get(&url, &agent).await?.json().await?;
        let changes: Vec<(i64, &str)> = h["revisions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["revision"].as_i64().unwrap(), r["change"].as_str().unwrap()))
            .collect();
        assert_eq!(changes, [(1, "add"), (2, "edit"), (3, "retire")]);
        assert_eq!(
            h["revisions"][0]["body"], "峰时8:00-22:00，谷时22:00-次日8:00。",
            "the first text is kept"
        );
        let r = app.post_json(&format!("{url}/retire"), &manager, &json!({"revision": 3})).await?;
        assert_eq!(r.status(), 409, "a retired answer takes no more changes");
        let listed: Value = app.get("/api/v1/knowledge/articles?retired=true", &agent).await?.json().await?;
        assert!(listed
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == aid.as_str() && a["retired_at"].is_i64()));

        // --- The pages: forms post and redirect; errors come back on the page.
        let page = app.client.get(app.url("/service/roster")).bearer_auth(&leader).send().await?;
        assert_eq!(page.status(), 200);
        let html = page.text().await?;
        assert!(html.contains("shift-form") && html.contains(&sid), "the form and the ended shift");
        // The shift shows its member of staff by name (with the id), and who ended it too.
        let names = app.db.store.list_staff(&bureau_store::Scope::All).await?;
        let name_of =
            |id: &str| names.iter().find(|s| s.id == id).map(|s| s.name.clone()).expect("demo staff");
        let (crew_name, leader_name) = (name_of("crew"), name_of("leader"));
        let row = html
            .split(&format!("id=\"shift-{sid}\""))
            .nth(1)
            .and_then(|r| r.split("</tr>").next())
            .expect("the row");
        assert!(row.contains(&format!("{crew_name} (crew)")), "{row}");
        assert!(row.contains(&format!("{leader_name} (leader)")), "ended by: {row}");
        let r = app
            .client
            .post(app.url("/service/roster"))
            .bearer_auth(&leader)
            .form(&form(&[
                ("staff_id", "crew"),
                ("duty", "crew"),
                ("level", "0"),
                ("starts_at", "2026-12-01T08:00"),
                ("ends_at", "2026-12-01T07:00"),
            ]))
            .send()
            .await?;
        assert_eq!(r.status(), 422);
        assert!(r.text().await?.contains("ends_at"));
        let r = app
            .client
            .post(app.url("/service/knowledge"))
            .bearer_auth(&manager)
            .form(&form(&[
                ("kind", ""),
                ("title", "营业厅时间"),
                ("body", "工作日8:30-17:30"),
                ("tags", "营业厅"),
            ]))
            .send()
            .await?;
        assert_eq!(r.status(), 303);
        let to = r.headers()["location"].to_str()?.to_string();
        let html = app.client.get(app.url(&to)).bearer_auth(&manager).send().await?.text().await?;
        assert!(html.contains("article-edit") && html.contains("营业厅时间"));

        // --- The screen pop is in the database: a second server on the same database (another
        // process, or this one after a restart) shows the agent the same call.
        let r = app.post_json("/api/v1/service/screen-pop", &agent, &json!({"phone": "13900003333"})).await?;
        assert_eq!(r.status(), 200);
        let other = bureau_app::db::open(&app.db.url).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let second = tokio::spawn(async move {
            let _ = bureau_web::serve(other, listener).await;
        });
        let call: Value = app
            .client
            .get(format!("{base}/api/v1/service/screen-pop"))
            .bearer_auth(&agent)
            .send()
            .await?
            .json()
            .await?;
        assert_eq!(call["phone"], "13900003333");
        let html = app.client.get(format!("{base}/service")).bearer_auth(&agent).send().await?.text().await?;
        assert!(html.contains("13900003333"), "the second server's intake screen pops the call");
        // A call for an agent who does not exist names the field; another agent has no call.
        let r = app
            .post_json(
                "/api/v1/service/screen-pop",
                &agent,
                &json!({"phone": "13900003333", "agent": "ghost"}),
            )
            .await?;
        assert_eq!(r.status(), 422);
        assert_eq!(r.json::<Value>().await?["error"]["field"], "agent");
        let none: Value = app.get("/api/v1/service/screen-pop", &manager).await?.json().await?;
        assert!(none.is_null());
        second.abort();
        let _ = second.await;

        // The OpenAPI document lists the new routes.
        let doc: Value = app.client.get(app.url("/api/openapi.json")).send().await?.json().await?;
        for p in [
            "/api/v1/duty-roster/shifts",
            "/api/v1/duty-roster/shifts/{id}/end",
            "/api/v1/knowledge/articles",
            "/api/v1/knowledge/articles/{id}",
            "/api/v1/knowledge/articles/{id}/retire",
        ] {
            assert!(doc["paths"][p].is_object(), "{p} missing from the OpenAPI document");
        }
        app.stop().await?;
    }
    Ok(())
}
