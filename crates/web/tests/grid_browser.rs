//! The dispatcher's outage board in headless Chromium: three trouble calls at one transformer become
//! an outage predicted at its fuse, shown on the feeder tree; the dispatcher confirms it.

mod support;

use std::time::Duration;
use support::app::TestApp;
use support::browser::Browser;

const WAIT: Duration = Duration::from_secs(10);

/// Waits until the page source satisfies `ok` (the page reloads itself after each action).
async fn until(b: &Browser, ok: impl Fn(&str) -> bool) -> anyhow::Result<String> {
    let start = std::time::Instant::now();
    loop {
        let src = b.page_source().await?;
        if ok(&src) {
            return Ok(src);
        }
        anyhow::ensure!(start.elapsed() < WAIT, "the page never showed what was expected:\n{src}");
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

#[tokio::test]
async fn dispatcher_sees_a_predicted_outage_and_confirms_it() -> anyhow::Result<()> {
    let db = bureau_store_tests::TestDb::sqlite().await?;
    support::app::demo_county(&db).await?;
    let app = TestApp::start(db).await?;
    let b = Browser::start().await?;

    b.goto(&app.url("/grid/outages")).await?;
    b.wait_for("#login-form", WAIT).await?;
    b.find("#username").await?.send_keys("dispatcher").await?;
    b.find("#password").await?.send_keys("demo2026").await?;
    b.find("#login-submit").await?.click().await?;
    b.wait_for("#tree", WAIT).await?;
    assert!(b.find_all("#no-outages").await?.len() == 1);

    for k in 1..=3 {
        b.find("#call-load").await?.send_keys("F01-T11").await?;
        b.find("#call-form button").await?.click().await?;
        until(&b, |s| s.contains(&format!("<td class=\"num\">{k}</td>"))).await?;
    }
    let src = until(&b, |s| s.contains("F01-FU11")).await?;
    assert!(src.contains("研判中"));
    assert!(
        src.contains("class=\"st-predicted\" data-id=\"F01-T11\""),
        "the load point is coloured as predicted"
    );
    b.screenshot("grid-01-predicted").await?;

    b.find("#outages button[data-act=confirm]").await?.click().await?;
    let src = until(&b, |s| s.contains("class=\"st-confirmed\" data-id=\"F01-T11\"")).await?;
    assert!(src.contains("已确认"));
    b.screenshot("grid-02-confirmed").await?;
    drop(b);
    app.stop().await
}
