//! The duty roster and knowledge-base editing pages in headless Chromium: a production leader adds
//! a crew's shift with its vehicle and ends it (the plan stays on the roster); a manager adds an
//! answer, edits it and retires it, and reads its history. Screenshots go to
//! artifacts/screenshots/.

mod support;

use serde_json::json;
use std::time::Duration;
use support::app::TestApp;
use support::browser::Browser;

const WAIT: Duration = Duration::from_secs(10);

async fn until(b: &Browser, what: &str, ok: impl Fn(&str) -> bool) -> anyhow::Result<String> {
    let start = std::time::Instant::now();
    loop {
        let src = b.page_source().await?;
        if ok(&src) {
            return Ok(src);
        }
        anyhow::ensure!(start.elapsed() < WAIT, "the page never showed {what}:\n{src}");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

async fn login(b: &Browser, app: &TestApp, path: &str, user: &str) -> anyhow::Result<()> {
    b.goto(&app.url(path)).await?;
    b.wait_for("#login-form", WAIT).await?;
    b.find("#username").await?.send_keys(user).await?;
    b.find("#password").await?.send_keys("demo2026").await?;
    b.find("#login-submit").await?.click().await?;
    Ok(())
}

/// A Beijing-time `YYYY-MM-DDTHH:MM`, as a datetime-local input holds it.
fn local(secs: i64) -> String {
    let t = jiff::Timestamp::from_second(secs).unwrap();
    bureau_domain::calendar::beijing::local(t).strftime("%Y-%m-%dT%H:%M").to_string()
}

#[tokio::test]
async fn a_leader_edits_the_roster_and_a_manager_the_knowledge_base() -> anyhow::Result<()> {
    let db = bureau_store_tests::TestDb::sqlite().await?;
    support::app::demo_county(&db).await?;
    let app = TestApp::start(db).await?;
    let b = Browser::start().await?;
    let now = jiff::Timestamp::now().as_second();

    // The leader adds a shift for a crew, on duty from a minute ago for two hours, escalation level 1.
    login(&b, &app, "/service/roster", "leader").await?;
    b.wait_for("#shift-form", WAIT).await?;
    b.find("#shift-staff option[value='crew']").await?.click().await?;
    b.find("#shift-duty option[value='crew']").await?.click().await?;
    b.find("#shift-level option[value='1']").await?.click().await?;
    b.find("#shift-crew").await?.send_keys("抢修9班").await?;
    b.find("#shift-vehicle").await?.send_keys("冀T-D0999").await?;
    b.execute(
        "document.getElementById('shift-starts').value = arguments[0];
         document.getElementById('shift-ends').value = arguments[1];",
        &[json!(local(now - 60)), json!(local(now + 7200))],
    )
    .await?;
    b.find("#shift-add").await?.click().await?;
    until(&b, "the new shift on duty", |s| s.contains("冀T-D0999")).await?;
    let bureau = app.db.store.get_staff("leader").await?.bureau_id;
    let shift = app
        .db
        .store
        .roster(&bureau, now - 86_400, now + 86_400)
        .await?
        .into_iter()
        .find(|s| s.vehicle.as_deref() == Some("冀T-D0999"))
        .expect("the shift is on the roster");
    assert_eq!(
        (shift.staff_id.as_str(), shift.level, shift.created_by.as_deref()),
        ("crew", 1, Some("leader"))
    );
    let row = format!("#shift-{}", shift.id);
    assert!(b.find(&row).await?.attribute("class").await?.unwrap_or_default().contains("on"));
    b.screenshot("roster-01-added").await?;

    // Ending it: off duty now, its planned end kept.
    b.find(&format!("{row} .end-shift button")).await?.click().await?;
    until(&b, "the ended shift", |s| s.contains("已提前结束")).await?;
    let ended = app.db.store.get_shift(&shift.id).await?;
    assert_eq!((ended.ends_at, ended.ended_by.as_deref()), (shift.ends_at, Some("leader")));
    assert!(
        b.find_all(&format!("{row} .end-shift")).await?.is_empty(),
        "an ended shift cannot be ended again"
    );
    b.screenshot("roster-02-ended").await?;
    b.find("#logout").await?.click().await?;
    b.wait_for("#login-form", WAIT).await?;

    // The manager adds an answer, edits it, retires it.
    login(&b, &app, "/service/knowledge", "manager").await?;
    b.wait_for("#article-add", WAIT).await?;
    b.find("#article-kind option[value='consultation']").await?.click().await?;
    b.find("#article-subtype").await?.send_keys("tariff").await?;
    b.find("#article-title").await?.send_keys("峰谷电价时段").await?;
    b.find("#article-body").await?.send_keys("峰时8:00-22:00，谷时22:00-次日8:00。").await?;
    b.find("#article-tags").await?.send_keys("峰谷 分时").await?;
    b.find("#article-add-submit").await?.click().await?;
    b.wait_for("#article-edit", WAIT).await?;
    assert_eq!(b.find("#article-revision").await?.text().await?, "1");
    let body = b.find("#article-body").await?;
    body.clear().await?;
    body.send_keys("峰时8:00-22:00，谷时22:00-次日8:00（2026年起）。").await?;
    b.find("#article-save").await?.click().await?;
    until(&b, "revision 2", |s| s.contains("id=\"article-revision\">2<")).await?;
    b.screenshot("knowledge-01-edited").await?;
    b.find("#article-retire-submit").await?.click().await?;
    b.wait_for("#article-retired", WAIT).await?;
    let revisions = b.find_all("#history tr.revision").await?;
    assert_eq!(revisions.len(), 3, "added, edited, retired");
    let first = b.find("#history tr.revision:last-child").await?.text().await?;
    assert!(first.contains("峰时8:00-22:00，谷时22:00-次日8:00。"), "the first text is kept: {first}");
    b.screenshot("knowledge-02-history").await?;

    // Retired: not in the list of answers in use, nor found by the intake screen's search.
    b.goto(&app.url("/service/knowledge")).await?;
    let src = until(&b, "the list", |s| s.contains("id=\"articles\"")).await?;
    assert!(!src.contains("峰谷电价时段"), "a retired answer is not listed as in use");
    b.goto(&app.url("/service?kb=峰谷")).await?;
    let src = until(&b, "the intake screen", |s| s.contains("id=\"kb\"")).await?;
    assert!(!src.contains("峰谷电价时段"));

    drop(b);
    app.stop().await
}
