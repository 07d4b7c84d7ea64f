//! The staff console in headless Chromium: log in, search a customer, open the record, switch the
//! language. Screenshots go to artifacts/screenshots/ for people to look at.

mod support;

use std::time::Duration;
use support::app::TestApp;
use support::browser::Browser;

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn counter_clerk_journey() -> anyhow::Result<()> {
    let db = bureau_store_tests::TestDb::sqlite().await?;
    support::app::demo_county(&db).await?;
    let app = TestApp::start(db).await?;
    let b = Browser::start().await?;

    // Any page without a login leads to the login page, in Chinese first.
    b.goto(&app.url("/customers")).await?;
    b.wait_for("#login-form", WAIT).await?;
    assert!(b.page_source().await?.contains("员工登录"));
    b.screenshot("foundation-01-login").await?;

    // A wrong password is refused with a message, and nothing else is shown.
    b.find("#username").await?.send_keys("clerk").await?;
    b.find("#password").await?.send_keys("not-the-password").await?;
    b.find("#login-submit").await?.click().await?;
    let err = b.wait_for("#login-error", WAIT).await?;
    assert_eq!(err.text().await?, "用户名或密码错误");

    b.find("#password").await?.send_keys("demo2026").await?;
    b.find("#login-submit").await?.click().await?;
    // Back where the clerk was going: the customer search.
    let search = b.wait_for("#customer-search", WAIT).await?;
    assert!(b.current_url().await?.ends_with("/customers"));

    search.send_keys("建设街").await?;
    b.find("#search-submit").await?.click().await?;
    b.wait_for("#customer-results", WAIT).await?;
    let links = b.find_all("#customer-results a.customer-link").await?;
    assert!(!links.is_empty(), "the demo county has customers on 建设街");
    b.screenshot("foundation-02-search").await?;
    let account = links[0].text().await?;

    links[0].click().await?;
    let detail = b.wait_for("#customer-detail", WAIT).await?;
    assert_eq!(b.find("#account").await?.text().await?, account);
    assert!(detail.text().await?.contains("建设街"));
    assert!(b.page_source().await?.contains("电能表"));
    let readings = b.find_all("#readings tbody tr").await?;
    assert_eq!(readings.len(), 13, "twelve months of readings and the opening read");
    b.screenshot("foundation-03-customer").await?;

    // Switch to English: the same record, in English.
    b.find("#lang-switch").await?.click().await?;
    b.wait_for("#customer-detail", WAIT).await?;
    let source = b.page_source().await?;
    assert!(source.contains("Meters") && source.contains("Meter readings"), "English labels");
    assert!(b.current_url().await?.ends_with(&format!("/customers/{account}")));
    b.screenshot("foundation-04-customer-en").await?;

    // And back to Chinese on the home page.
    b.goto(&app.url("/")).await?;
    b.find("#lang-switch").await?.click().await?;
    b.wait_for(".tiles", WAIT).await?;
    assert!(b.page_source().await?.contains("工作台"));
    b.screenshot("foundation-05-home").await?;

    drop(b);
    app.stop().await
}
