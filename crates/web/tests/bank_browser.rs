//! The bank batch page in headless Chromium: a clerk uploads a bank's file with one bad line, sees
//! the counts and the rejected line with its reason, and the batch in the list of batches.
//! Screenshots go to artifacts/screenshots/.

mod support;

use std::time::Duration;
use support::app::TestApp;
use support::browser::Browser;

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn a_clerk_posts_a_bank_file_on_the_page() -> anyhow::Result<()> {
    let db = bureau_store_tests::TestDb::sqlite().await?;
    support::app::demo_county(&db).await?;
    let app = TestApp::start(db).await?;
    let b = Browser::start().await?;
    let file = std::env::temp_dir().join(format!("bureau-bank-browser-{}.csv", std::process::id()));
    std::fs::write(
        &file,
        "户号,金额,交易时间,银行流水号,业务类型\n\
         2300000120,88.00,2026-11-26 09:00:00,BR-0001,代扣\n\
         2300000121,12.5,2026-11-26,BR-0002,代收\n\
         2300000122,-3.00,2026-11-26,BR-0003,代扣\n",
    )?;

    b.goto(&app.url("/counter/bank")).await?;
    b.wait_for("#login-form", WAIT).await?;
    b.find("#username").await?.send_keys("clerk").await?;
    b.find("#password").await?.send_keys("demo2026").await?;
    b.find("#login-submit").await?.click().await?;
    b.wait_for("#bank-form", WAIT).await?;
    assert!(b.page_source().await?.contains("银行批量代扣/代收"));
    b.find("#bank").await?.send_keys("ICBC").await?;
    b.find("#file").await?.send_keys(&file.display().to_string()).await?;
    b.find("#post-file").await?.click().await?;
    b.wait_for("#bank-result", WAIT).await?;
    assert_eq!(b.find("#posted").await?.text().await?, "2");
    assert_eq!(b.find("#rejected").await?.text().await?, "1");
    assert_eq!(b.find("#posted-amount").await?.text().await?, "100.50");
    let rejected = b.find("#rejected-lines").await?.text().await?;
    assert!(rejected.contains("BR-0003") && rejected.contains("amount"), "{rejected}");
    let link = b.find("#download").await?.attribute("href").await?.unwrap_or_default();
    assert!(link.starts_with("data:text/csv"), "{link}");
    assert!(b.find("#bank-history").await?.text().await?.contains("ICBC"));
    b.screenshot("bank-01-posted").await?;

    drop(b);
    let _ = std::fs::remove_file(&file);
    app.stop().await
}
