//! The managers' outbox page over HTTP against the real server on port 0, on SQLite and
//! PostgreSQL: the messages a fault repair leaves, the status filter, who may look, and the warning
//! when no gateway delivers them. Its own test binary, because the page reads the delivery
//! configuration from the environment, which this test changes.

mod support;

use serde_json::json;
use support::app::TestApp;

fn between<'a>(page: &'a str, from: &str, to: &str) -> &'a str {
    let s = &page[page.find(from).unwrap_or_else(|| panic!("{from} in {page}"))..];
    &s[..s.find(to).unwrap()]
}

#[tokio::test]
async fn outbox_page_shows_messages_and_missing_gateways() -> anyhow::Result<()> {
    for app in TestApp::each_with_demo().await? {
        let agent = app.login("agent").await?;
        let manager = app.login("manager").await?;
        let crew = app.login("crew").await?;
        // A fault repair of a known customer notifies the duty roster by SMS and hands the call to
        // the grid.
        let r = app
            .post_json(
                "/api/v1/work-orders",
                &agent,
                &json!({"kind": "fault_repair", "customer_id": "2300000100", "description": "家里停电"}),
            )
            .await?;
        assert_eq!(r.status(), 201);

        std::env::remove_var("BUREAU_WEBHOOK_URL");
        std::env::remove_var("BUREAU_WEBHOOK_URL_SMS");
        std::env::remove_var("BUREAU_WEBHOOK_URL_PAGER");
        let r = app.get("/service/outbox", &manager).await?;
        assert_eq!(r.status(), 200);
        let page = r.text().await?;
        assert!(page.contains("id=\"no-gateway\""), "no webhook at all: the warning");
        let table = between(&page, "id=\"outbox\"", "</table>");
        assert!(table.contains("<td>sms</td>") && table.contains("<td>grid_intake</td>"), "{table}");
        assert!(table.contains("待发送"), "{table}");

        // The status filter: only the messages of that status.
        let page = app.get("/service/outbox?status=cancelled", &manager).await?.text().await?;
        assert!(!page.contains("<td>待发送</td>"), "a filtered page shows no pending message");
        let page = app.get("/service/outbox?status=nonsense", &manager).await?.text().await?;
        assert!(page.contains("id=\"outbox\""), "an unknown status shows all");

        // A gateway for SMS: no warning (the grid hand-over is delivered inside the server).
        std::env::set_var("BUREAU_WEBHOOK_URL_SMS", "http://127.0.0.1:9/sms");
        let page = app.get("/service/outbox?lang=en", &manager).await?.text().await?;
        assert!(!page.contains("id=\"no-gateway\"") && !page.contains("id=\"undelivered\""), "{page}");
        // A gateway for another channel only: SMS is named as undelivered.
        std::env::remove_var("BUREAU_WEBHOOK_URL_SMS");
        std::env::set_var("BUREAU_WEBHOOK_URL_PAGER", "http://127.0.0.1:9/pager");
        let page = app.get("/service/outbox", &manager).await?.text().await?;
        assert!(!page.contains("id=\"no-gateway\""));
        assert_eq!(between(&page, "id=\"undelivered\"", "</p>").matches("sms").count(), 1, "{page}");
        std::env::remove_var("BUREAU_WEBHOOK_URL_PAGER");

        // Messages hold customers' phone numbers: managers only.
        assert_eq!(app.get("/service/outbox", &crew).await?.status(), 403);
        assert_eq!(app.get("/service/outbox", &agent).await?.status(), 403);
        app.stop().await?;
    }
    Ok(())
}
