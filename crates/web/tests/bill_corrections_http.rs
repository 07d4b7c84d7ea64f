//! The counter's bill corrections through the customer's bills page, over HTTP against the real
//! server on port 0, on SQLite and PostgreSQL: 退补 through the form issues the recomputed revision;
//! 作废 leaves the period without a live bill and offers 重新发行, which brings one back; a blank
//! reason and a reissue of a live period are refused on the page naming the field, in the user's
//! language, with nothing changed; a role without the right sees no form and is refused.

mod support;

use serde_json::Value;
use support::app::TestApp;

const ID: &str = "2300000100";
/// The demo county has bills up to 2026-09.
const PERIOD: &str = "2026-09";

/// The customer's bills of `PERIOD` through the API, newest revision first.
async fn revisions(app: &TestApp, token: &str) -> anyhow::Result<Vec<Value>> {
    let bills: Value = app.get(&format!("/api/v1/customers/{ID}/bills"), token).await?.json().await?;
    Ok(bills.as_array().cloned().unwrap_or_default().into_iter().filter(|b| b["period"] == PERIOD).collect())
}

async fn page(app: &TestApp, token: &str) -> anyhow::Result<String> {
    let r = app.get(&format!("/customers/{ID}/bills"), token).await?;
    anyhow::ensure!(r.status() == 200, "the bills page answered {}", r.status());
    Ok(r.text().await?)
}

async fn post_form(
    app: &TestApp,
    token: &str,
    action: &str,
    form: &[(&str, &str)],
) -> anyhow::Result<reqwest::Response> {
    let url = app.url(&format!("/customers/{ID}/bills/{PERIOD}/{action}"));
    Ok(app.client.post(url).bearer_auth(token).form(form).send().await?)
}

fn cancel_forms(html: &str) -> usize {
    html.matches(&format!("action=\"/customers/{ID}/bills/{PERIOD}/cancel\"")).count()
}

fn reissue_forms(html: &str) -> usize {
    html.matches(&format!("action=\"/customers/{ID}/bills/{PERIOD}/reissue\"")).count()
}

/// The page's refusal: (field, text).
fn refusal(html: &str) -> (String, String) {
    let p = &html[html.find("id=\"error\"").unwrap_or_else(|| panic!("no refusal on {html}"))..];
    let field = p.split("data-field=\"").nth(1).and_then(|s| s.split('"').next()).unwrap_or_default();
    let text = p[p.find('>').unwrap() + 1..p.find("</p>").unwrap()].to_string();
    (field.to_string(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebill_cancel_and_reissue_from_the_bills_page() -> anyhow::Result<()> {
    for app in TestApp::each_with_demo().await? {
        let backend = app.db.store.backend();
        let clerk = app.login("clerk").await?;
        let first = revisions(&app, &clerk).await?;
        assert_eq!(first.len(), 1, "{backend}: one bill of {PERIOD}: {first:?}");
        assert_ne!(first[0]["state"], "cancelled");

        // The live bill offers 退补 and 作废 (one form, on its latest revision), no reissue.
        let html = page(&app, &clerk).await?;
        assert_eq!((cancel_forms(&html), reissue_forms(&html)), (1, 0), "{backend}");
        assert!(html.contains("退补（重新计算）") && html.contains(">作废<"), "{backend}");

        // A blank reason is refused naming the field, and nothing changes.
        let r = post_form(&app, &clerk, "cancel", &[("reason", "  "), ("rebill", "1")]).await?;
        assert_eq!(r.status(), 422, "{backend}");
        let (field, text) = refusal(&r.text().await?);
        assert_eq!(field, "reason");
        assert!(text.contains("reason") && text.contains("不能为空"), "{text}");
        assert_eq!(revisions(&app, &clerk).await?, first, "{backend}: a refused cancel changes nothing");

        // 退补 through the form: back to the list, which shows the recomputed revision 1 as live and
        // revision 0 cancelled; the correction moves to the new revision.
        let r = post_form(&app, &clerk, "cancel", &[("reason", "抄表员录入错误"), ("rebill", "1")]).await?;
        assert_eq!(r.status(), 303, "{backend}");
        let to = r.headers()["location"].to_str()?.to_string();
        assert_eq!(to, format!("/customers/{ID}/bills?done=rebill&period={PERIOD}"));
        let html = page(&app, &clerk).await?;
        let after = app.get(&to, &clerk).await?.text().await?;
        assert!(after.contains("id=\"done\""), "{backend}: the list says what was done");
        assert!(
            html.contains(&format!(
                "data-period=\"{PERIOD}\" data-revision=\"1\" data-state=\"{}\"",
                first[0]["state"].as_str().unwrap()
            )),
            "{backend}: {html}"
        );
        assert!(
            html.contains(&format!("data-period=\"{PERIOD}\" data-revision=\"0\" data-state=\"cancelled\""))
        );
        assert_eq!((cancel_forms(&html), reissue_forms(&html)), (1, 0), "{backend}");
        let revs = revisions(&app, &clerk).await?;
        assert_eq!(revs.len(), 2);
        assert_eq!(
            (revs[0]["revision"].clone(), revs[0]["total"].clone()),
            (1.into(), first[0]["total"].clone())
        );
        assert_eq!(revs[1]["cancel_reason"], "抄表员录入错误");

        // 作废 only: the period has no live bill, and the page offers 重新发行 instead.
        let r = post_form(&app, &clerk, "cancel", &[("reason", "误发行"), ("rebill", "0")]).await?;
        assert_eq!(r.status(), 303, "{backend}");
        let revs = revisions(&app, &clerk).await?;
        assert_eq!(revs.len(), 2, "{backend}: cancel only issues nothing");
        assert!(revs.iter().all(|b| b["state"] == "cancelled"), "{revs:?}");
        let html = page(&app, &clerk).await?;
        assert_eq!((cancel_forms(&html), reissue_forms(&html)), (0, 1), "{backend}");
        assert!(html.contains("重新发行"));

        // Reissue with a blank reason: refused, in English for an English session.
        let en = en_login(&app, "clerk").await?;
        let r = post_form(&app, &en, "reissue", &[("reason", "")]).await?;
        assert_eq!(r.status(), 422, "{backend}");
        let (field, text) = refusal(&r.text().await?);
        assert_eq!((field.as_str(), text.contains("reason is required")), ("reason", true), "{text}");
        assert_eq!(revisions(&app, &clerk).await?, revs, "{backend}: a refused reissue changes nothing");

        // 重新发行: revision 2 live again, recomputed from the same readings.
        let r = post_form(&app, &clerk, "reissue", &[("reason", "作废有误")]).await?;
        assert_eq!(r.status(), 303, "{backend}");
        let revs = revisions(&app, &clerk).await?;
        assert_eq!(
            (revs[0]["revision"].clone(), revs[0]["total"].clone()),
            (2.into(), first[0]["total"].clone())
        );
        assert_ne!(revs[0]["state"], "cancelled");
        let html = page(&app, &clerk).await?;
        assert_eq!((cancel_forms(&html), reissue_forms(&html)), (1, 0), "{backend}");

        // Reissuing a live period is the use case's conflict, shown on the page with its field.
        let r = post_form(&app, &clerk, "reissue", &[("reason", "再发一次")]).await?;
        assert_eq!(r.status(), 409, "{backend}");
        let (field, text) = refusal(&r.text().await?);
        assert_eq!(field, "state");
        assert!(text.contains("本期账单未作废"), "{text}");
        assert_eq!(revisions(&app, &clerk).await?, revs);

        // The 95598 agent may read the bills but not correct them: no form, and a post is refused.
        let agent = app.login("agent").await?;
        let html = page(&app, &agent).await?;
        assert!(html.contains("id=\"bills\""));
        assert_eq!((cancel_forms(&html), reissue_forms(&html)), (0, 0), "{backend}");
        assert!(!html.contains("退补（重新计算）"));
        let r = post_form(&app, &agent, "cancel", &[("reason", "试试"), ("rebill", "0")]).await?;
        assert_eq!(r.status(), 403, "{backend}");
        assert_eq!(revisions(&app, &clerk).await?, revs, "{backend}: a refused role changes nothing");
        // A manager has the right.
        let manager = app.login("manager").await?;
        assert_eq!(cancel_forms(&page(&app, &manager).await?), 1, "{backend}");
        app.stop().await?;
    }
    Ok(())
}

/// Logs in with an English browser: the session's language is English.
async fn en_login(app: &TestApp, user: &str) -> anyhow::Result<String> {
    let r = app
        .client
        .post(app.url("/api/v1/login"))
        .header("accept-language", "en")
        .json(&serde_json::json!({"username": user, "password": "demo2026"}))
        .send()
        .await?;
    anyhow::ensure!(r.status() == 200, "login of {user} answered {}", r.status());
    Ok(r.json::<Value>().await?["token"].as_str().unwrap_or_default().to_string())
}
