//! The 95598 pages in headless Chromium: the agent looks a caller up (their latest bills and their
//! balance in view), accepts a fault repair, finds it in the queue and dispatches it; the crew, on
//! the mobile page, takes it, arrives, restores supply and replies. Screenshots go to
//! artifacts/screenshots/ for people to look at.

mod support;

use bureau_domain::late_fee::LateFeeRules;
use bureau_domain::service::Status;
use bureau_store::Scope;
use std::time::Duration;
use support::app::TestApp;
use support::browser::Browser;

const WAIT: Duration = Duration::from_secs(10);

/// Waits until the page source satisfies `ok` (each action reloads the page).
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

#[tokio::test]
async fn agent_accepts_a_fault_repair_and_the_crew_works_it_on_the_mobile_page() -> anyhow::Result<()> {
    let db = bureau_store_tests::TestDb::sqlite().await?;
    support::app::demo_county(&db).await?;
    // A caller with a bill history: what the agent should see read out from the ledger.
    let mut caller = None;
    for c in db.store.list_customers(&Scope::All, None, 50).await? {
        let bills = db.store.bills_of(c.id.as_str(), 3).await?;
        if bills.len() == 3 {
            caller = Some((c, bills));
            break;
        }
    }
    let (customer, bills) = caller.expect("the demo county has customers with three bills");
    let account = customer.id.as_str().to_string();
    let today = bureau_domain::calendar::beijing::date_of(jiff::Timestamp::now());
    let expected =
        bureau_app::payments::load_account(&db.store, customer.clone(), LateFeeRules::builtin(), today)
            .await?;
    let app = TestApp::start(db).await?;
    let b = Browser::start().await?;

    // The agent looks the caller up by account number.
    login(&b, &app, "/service", "agent").await?;
    b.wait_for("#lookup-form", WAIT).await?;
    b.find("#lookup-q").await?.send_keys(&account).await?;
    b.find("#lookup-form button").await?.click().await?;
    let card = format!(".caller[data-account='{account}']");
    b.wait_for(&card, WAIT).await?;
    // Their latest three bills, newest first, and the balance as the ledger stands.
    let periods: Vec<String> = {
        let mut v = Vec::new();
        for row in b.find_all(&format!("{card} table.bills tbody tr td:first-child")).await? {
            v.push(row.text().await?);
        }
        v
    };
    let want: Vec<String> = bills.iter().map(|b| b.period.clone()).collect();
    assert_eq!(periods, want);
    assert_eq!(b.find(&format!("{card} .balance")).await?.text().await?, expected.balance.to_string());
    assert_eq!(b.find(&format!("{card} .arrears")).await?.text().await?, expected.arrears.to_string());
    assert_eq!(b.find(&format!("{card} .to-clear")).await?.text().await?, expected.to_clear.to_string());
    b.screenshot("service-01-lookup").await?;

    // A fault repair for this customer: the service area comes from the register.
    b.find("#kind option[value='fault_repair']").await?.click().await?;
    b.find("#customer_id").await?.send_keys(&account).await?;
    b.find("#description").await?.send_keys("家中停电，邻居家有电").await?;
    b.find("#intake-submit").await?.click().await?;
    let id = b.wait_for("#order-id", WAIT).await?.text().await?;
    assert_eq!(b.find("#order-status").await?.text().await?, "已受理");
    assert!(b.find_all("#deadlines tbody tr").await?.len() >= 3, "dispatch, arrival and restoration limits");
    b.screenshot("service-02-accepted").await?;

    // It is in the queue, nearest deadline first; and in the caller's open orders.
    b.goto(&app.url(&format!("/service?q={account}"))).await?;
    b.wait_for("#queue", WAIT).await?;
    let queued: Vec<String> = {
        let mut v = Vec::new();
        for a in b.find_all("#queue tbody tr td:first-child a").await? {
            v.push(a.text().await?);
        }
        v
    };
    assert!(queued.contains(&id), "{id} in the queue {queued:?}");
    assert_eq!(b.find_all(&format!("{card} .open-orders a[href='/service/orders/{id}']")).await?.len(), 1);
    b.screenshot("service-03-queue").await?;

    // The agent dispatches it.
    b.goto(&app.url(&format!("/service/orders/{id}"))).await?;
    b.find("#act-dispatch").await?.click().await?;
    until(&b, "the dispatched status", |s| s.contains("已派单")).await?;
    b.find("#logout").await?.click().await?;
    // Logged out only once the login page is back (else the next page load races the logout).
    b.wait_for("#login-form", WAIT).await?;

    // The crew, on the mobile page: take, arrive, restore, reply.
    login(&b, &app, "/crew", "crew").await?;
    b.wait_for(&format!("#take-{id}"), WAIT).await?.click().await?;
    b.wait_for(&format!("#crew-arrive-{id}"), WAIT).await?.click().await?;
    b.screenshot("service-04-crew-taken").await?;
    b.wait_for(&format!("#crew-restore-{id}"), WAIT).await?.click().await?;
    b.wait_for(&format!("#crew-reply-{id}"), WAIT).await?;
    b.find(&format!("#job-{id} input[name='fault_cause']")).await?.send_keys("表箱内空开跳闸").await?;
    b.find(&format!("#job-{id} textarea[name='repair_record']"))
        .await?
        .send_keys("合上空开，恢复供电")
        .await?;
    b.screenshot("service-05-crew-reply").await?;
    b.find(&format!("#crew-reply-{id}")).await?.click().await?;
    until(&b, "the job without actions left", |s| !s.contains(&format!("crew-reply-{id}"))).await?;

    // The order went the whole way, each step by the right person, in order.
    let o = app.db.store.get_work_order(&id).await?;
    assert_eq!(o.status, Status::Replied);
    assert_eq!(o.taken_by.as_deref(), Some("crew"));
    let trail: Vec<(String, String)> = app
        .db
        .store
        .work_order_events(&id)
        .await?
        .into_iter()
        .map(|e| (e.event.code().to_string(), e.actor))
        .collect();
    let expect: Vec<(String, String)> = [
        ("accept", "agent"),
        ("dispatch", "agent"),
        ("take", "crew"),
        ("arrive", "crew"),
        ("restore", "crew"),
        ("reply", "crew"),
    ]
    .iter()
    .map(|(e, a)| (e.to_string(), a.to_string()))
    .collect();
    assert_eq!(trail, expect);
    let reply = app.db.store.work_order_events(&id).await?.pop().and_then(|e| e.detail).unwrap_or_default();
    assert!(reply.contains("表箱内空开跳闸") && reply.contains("供电公司"), "{reply}");

    drop(b);
    app.stop().await
}
