//! The 95598 service centre over HTTP against the real server on port 0, on SQLite and PostgreSQL.

mod support;

use serde_json::{json, Value};
use support::app::TestApp;

#[tokio::test]
async fn work_orders_deadlines_roster_lookup_and_report_over_http() -> anyhow::Result<()> {
    for app in TestApp::each_with_demo().await? {
        let agent = app.login("agent").await?;
        let crew = app.login("crew").await?;
        let manager = app.login("manager").await?;

        // Deadlines: the same schedule as the CLI; bad input is a 422 naming each field.
        let r = app
            .get("/api/v1/sla/deadlines?kind=complaint&accepted=2026-09-30T16:00:00%2B08:00", &agent)
            .await?;
        assert_eq!(r.status(), 200);
        let s: Value = r.json().await?;
        assert_eq!(s["stages"][1]["stage"], "reply");
        assert_eq!(s["stages"][1]["due"], "2026-10-13T16:00:00+08:00");
        let r = app.get("/api/v1/sla/deadlines?kind=billing&area=mars&accepted=x", &agent).await?;
        assert_eq!(r.status(), 422);
        let e: Value = r.json().await?;
        let fields: Vec<&str> =
            e["error"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["kind", "area", "accepted"]);
        let r = app
            .get("/api/v1/sla/deadlines?kind=opinion&accepted=2026-10-09T09:30:00%2B08:00", &agent)
            .await?;
        assert_eq!(r.status(), 422, "no rule for opinions");

        // A customer calls: the lookup finds them by phone; a fault repair is accepted.
        let c = app.db.store.list_customers(&bureau_store::Scope::All, None, 1).await?.remove(0);
        let account = c.id.as_str().to_string();
        let r = app
            .post_json(
                "/api/v1/work-orders",
                &agent,
                &json!({"kind": "fault_repair", "customer_id": account, "description": "家里停电"}),
            )
            .await?;
        assert_eq!(r.status(), 201);
        let a: Value = r.json().await?;
        let id = a["order"]["id"].as_str().unwrap().to_string();
        assert_eq!(a["order"]["status"], "accepted");
        assert!(a["deadlines"].as_array().unwrap().iter().any(|d| d["stage"] == "arrival"));
        let l: Value = app.get(&format!("/api/v1/service/lookup?q={account}"), &agent).await?.json().await?;
        assert_eq!(l["customers"][0]["customer"]["id"], account.as_str());
        assert_eq!(l["customers"][0]["open_orders"][0]["id"], id.as_str());

        // Bad intake: 422 naming the fields.
        let r = app.post_json("/api/v1/work-orders", &agent, &json!({"kind": "nonsense"})).await?;
        assert_eq!(r.status(), 422);
        let r = app.post_json("/api/v1/work-orders", &agent, &json!({"oops": 1})).await?;
        assert_eq!(r.status(), 422, "a body without kind");

        // Crew takes it; out of order is a 422 naming `event`; the agent may not take it (403).
        let ev = |e: &str| json!({"event": e});
        let url = format!("/api/v1/work-orders/{id}/events");
        assert_eq!(app.post_json(&url, &agent, &ev("dispatch")).await?.status(), 200);
        assert_eq!(app.post_json(&url, &agent, &ev("take")).await?.status(), 403);
        let r = app.post_json(&url, &crew, &ev("restore")).await?;
        assert_eq!(r.status(), 422);
        let e: Value = r.json().await?;
        assert_eq!(e["error"]["field"], "event");
        assert_eq!(app.post_json(&url, &crew, &ev("take")).await?.status(), 200);
        let mine: Value = app.get("/api/v1/work-orders?taken_by=me", &crew).await?.json().await?;
        assert_eq!(mine[0]["id"], id.as_str());
        let v: Value = app.get(&format!("/api/v1/work-orders/{id}"), &agent).await?.json().await?;
        assert_eq!(v["order"]["status"], "taken");
        assert_eq!(v["events"].as_array().unwrap().len(), 3, "accept, dispatch, take");
        assert_eq!(v["allowed"], json!(["arrive", "pause"]));
        assert_eq!(app.get("/api/v1/work-orders/W-none", &agent).await?.status(), 404);

        // The queue, nearest deadline first, and warnings.
        let q: Value = app.get("/api/v1/work-orders?sort=due", &agent).await?.json().await?;
        assert!(q.as_array().unwrap().iter().any(|o| o["id"] == id.as_str()));
        assert_eq!(app.get("/api/v1/work-orders?sort=sideways", &agent).await?.status(), 422);
        let w: Value =
            app.get("/api/v1/work-orders/warnings?within_minutes=600", &agent).await?.json().await?;
        assert!(w.as_array().unwrap().iter().any(|o| o["id"] == id.as_str()), "{w}");

        // Screen pop: the phone system posts the number; the agent's screen picks it up.
        let r = app.post_json("/api/v1/service/screen-pop", &agent, &json!({"phone": "13900001111"})).await?;
        assert_eq!(r.status(), 200);
        let call: Value = app.get("/api/v1/service/screen-pop", &agent).await?.json().await?;
        assert_eq!(call["phone"], "13900001111");
        assert_eq!(
            app.post_json("/api/v1/service/screen-pop", &agent, &json!({"phone": "abc"})).await?.status(),
            422
        );

        // The report and its CSV export.
        let month =
            bureau_domain::calendar::beijing::date_of(jiff::Timestamp::now()).strftime("%Y-%m").to_string();
        let r = app.get(&format!("/api/v1/service/report?from={month}"), &manager).await?;
        assert_eq!(r.status(), 200);
        let rows: Value = r.json().await?;
        assert!(rows.as_array().unwrap().iter().any(|r| r["stage"] == "dispatch" && r["met"] == 1), "{rows}");
        let r = app.get(&format!("/api/v1/service/report?from={month}&format=csv"), &manager).await?;
        assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
        assert!(r.text().await?.starts_with("month,kind,department_id,stage,due,met,percent_met"));
        assert_eq!(app.get("/api/v1/service/report?from=2026-13", &manager).await?.status(), 422);

        // The roster: bad rows name their field.
        let r = app.post_json("/api/v1/duty-roster", &manager, &json!([{"staff_id": "crew", "duty": "crew", "starts_at": "x", "ends_at": "2026-01-01T00:00:00+08:00"}])).await?;
        assert_eq!(r.status(), 422);
        let e: Value = r.json().await?;
        assert_eq!(e["error"]["field"], "shifts[0].starts_at");

        // Pages: the intake screen shows the screen pop and the queue; a form intake redirects to
        // the new order, a bad one answers 422 with the errors; the crew's page works the job.
        let html = app.get("/service", &agent).await?.text().await?;
        assert!(html.contains("13900001111"), "the screen pop fills the intake screen");
        assert!(html.contains(&id), "the order is in the queue");
        let form = |pairs: &[(&str, &str)]| {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>()
        };
        let r = app
            .client
            .post(app.url("/service"))
            .bearer_auth(&agent)
            .form(&form(&[
                ("kind", "complaint"),
                ("subtype", "service"),
                ("caller_phone", "13900002222"),
                ("description", "态度差"),
            ]))
            .send()
            .await?;
        assert_eq!(r.status(), 303);
        assert!(r.headers()["location"].to_str()?.starts_with("/service/orders/W"));
        let r = app
            .client
            .post(app.url("/service"))
            .bearer_auth(&agent)
            .form(&form(&[("kind", "complaint")]))
            .send()
            .await?;
        assert_eq!(r.status(), 422);
        assert!(r.text().await?.contains("description"));
        let html = app.get("/crew", &crew).await?.text().await?;
        assert!(html.contains(&format!("crew-arrive-{id}")), "the crew can mark arrival");
        let r = app
            .client
            .post(app.url(&format!("/service/orders/{id}/act")))
            .bearer_auth(&crew)
            .form(&form(&[("event", "arrive"), ("back", "/crew")]))
            .send()
            .await?;
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], "/crew");
        let html = app.get(&format!("/service/orders/{id}"), &agent).await?.text().await?;
        assert!(html.contains("act-restore"), "restore is offered next");

        // The OpenAPI document lists the service endpoints.
        let doc: Value = app.client.get(app.url("/api/openapi.json")).send().await?.json().await?;
        for p in [
            "/api/v1/work-orders",
            "/api/v1/work-orders/{id}/events",
            "/api/v1/sla/deadlines",
            "/api/v1/service/screen-pop",
        ] {
            assert!(doc["paths"][p].is_object(), "{p} missing from the OpenAPI document");
        }
        app.stop().await?;
    }
    Ok(())
}
