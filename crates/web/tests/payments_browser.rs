//! The counter and the customer portal in headless Chromium, against the real server over the small
//! demo county.
//!
//! Counter: a clerk finds a customer by name, sees the balance the ledger gives, takes the amount
//! that clears the account, prints the receipt, and the counter and the store then agree on the new
//! balance. Portal: a customer logs in by password, reads the overview, the bills, a printable bill
//! and the payments; another customer's ids in addresses show nothing of theirs; changing the
//! password ends the customer's other sessions. Screenshots (and the printed PDFs) go to
//! artifacts/screenshots/.

mod support;

use bureau_domain::calendar::beijing;
use bureau_domain::late_fee::LateFeeRules;
use bureau_domain::ledger::EntryKind;
use bureau_domain::money::Fen;
use bureau_store::Scope;
use serde_json::{json, Value};
use std::time::Duration;
use support::app::TestApp;
use support::browser::Browser;

const WAIT: Duration = Duration::from_secs(10);
const PDF_SIGNATURE: &[u8] = b"%PDF-";

fn today() -> jiff::civil::Date {
    beijing::date_of(jiff::Timestamp::now())
}

async fn account_of(app: &TestApp, id: &str) -> anyhow::Result<bureau_app::payments::Account> {
    let c = app.db.store.get_customer(&Scope::All, id).await?;
    Ok(bureau_app::payments::load_account(&app.db.store, c, LateFeeRules::builtin(), today()).await?)
}

async fn text(b: &Browser, css: &str) -> anyhow::Result<String> {
    Ok(b.find(css).await?.text().await?.trim().to_string())
}

fn assert_pdf(path: &std::path::Path) -> anyhow::Result<()> {
    let pdf = std::fs::read(path)?;
    anyhow::ensure!(pdf.starts_with(PDF_SIGNATURE), "{} is not a PDF", path.display());
    anyhow::ensure!(pdf.len() > 1000, "{} is suspiciously small", path.display());
    Ok(())
}

#[tokio::test]
async fn clerk_takes_a_payment_at_the_counter_and_prints_the_receipt() -> anyhow::Result<()> {
    let db = bureau_store_tests::TestDb::sqlite().await?;
    support::app::demo_county(&db).await?;
    let app = TestApp::start(db).await?;

    // A customer who owes money today, to be found by name.
    let mut found = None;
    for c in app.db.store.list_customers(&Scope::All, None, 300).await? {
        let a = account_of(&app, c.id.as_str()).await?;
        if a.to_clear > Fen::ZERO && !a.open_bills.is_empty() {
            found = Some(a);
            break;
        }
    }
    let before = found.expect("the demo county has customers with open bills");
    let account = before.customer.id.as_str().to_string();
    let payments_before =
        before.entries.iter().filter(|e| matches!(e.kind, EntryKind::Payment { .. })).count();

    let b = Browser::start().await?;
    b.goto(&app.url("/counter")).await?;
    b.wait_for("#login-form", WAIT).await?;
    b.find("#username").await?.send_keys("clerk").await?;
    b.find("#password").await?.send_keys("demo2026").await?;
    b.find("#login-submit").await?.click().await?;

    // Find by name: the list of matches links to the account.
    b.wait_for("#q", WAIT).await?.send_keys(&before.customer.name).await?;
    b.find("#find").await?.click().await?;
    let link = format!("#matches a[href='/counter?q={account}']");
    b.wait_for(&link, WAIT).await?;
    b.screenshot("counter-01-matches").await?;
    b.find(&link).await?.click().await?;
    b.wait_for("#account", WAIT).await?;

    // What the ledger says, to the fen.
    assert_eq!(text(&b, "#account-no").await?, account);
    assert_eq!(text(&b, "#balance").await?, before.balance.to_string());
    assert_eq!(text(&b, "#arrears").await?, before.arrears.to_string());
    assert_eq!(text(&b, "#late-fee").await?, before.late_fee_to_date.to_string());
    assert_eq!(text(&b, "#to-clear").await?, before.to_clear.to_string());
    assert_eq!(b.find_all("#open-bills tbody tr").await?.len(), before.open_bills.len());
    // The amount offered is what clears the account.
    let amount = b.find("#amount").await?;
    assert_eq!(amount.attribute("value").await?.as_deref(), Some(before.to_clear.to_string().as_str()));
    b.screenshot("counter-02-account").await?;

    // Take it: the receipt.
    b.find("#method option[value='card']").await?.click().await?;
    b.find("#take").await?.click().await?;
    b.wait_for("#receipt", WAIT).await?;
    let receipt_no = text(&b, "#receipt-no").await?;
    assert_eq!(text(&b, "#receipt-amount").await?, before.to_clear.to_string());
    assert_eq!(text(&b, "#receipt-balance").await?, "0.00", "the account is cleared");
    assert!(b.current_url().await?.ends_with(&format!("/counter/receipts/{account}/{receipt_no}")));
    b.screenshot("counter-03-receipt").await?;

    // Print: the button opens the browser's print dialog (stubbed here to see it called), and the
    // page prints (to PDF here) as the paper receipt.
    b.execute("window.__printed = 0; window.print = () => { window.__printed += 1; };", &[]).await?;
    b.find("#print").await?.click().await?;
    assert_eq!(b.execute("return window.__printed;", &[]).await?, json!(1));
    assert_pdf(&b.print_pdf("counter-04-receipt").await?)?;

    // The store has the payment once, with its late fees, and the balance the receipt says.
    let after = account_of(&app, &account).await?;
    let payments: Vec<_> =
        after.entries.iter().filter(|e| matches!(e.kind, EntryKind::Payment { .. })).collect();
    assert_eq!(payments.len(), payments_before + 1);
    let paid =
        payments.iter().find(|e| e.id.0 == receipt_no).expect("the receipt's payment is in the ledger");
    assert!(matches!(paid.kind, EntryKind::Payment { amount, .. } if amount == before.to_clear));
    assert_eq!(paid.by, "clerk");
    assert!(paid.reason.contains("刷卡"), "{}", paid.reason);
    let late_fees: Fen = after
        .entries
        .iter()
        .skip(before.entries.len())
        .filter_map(|e| match e.kind {
            EntryKind::LateFee { amount, .. } => Some(amount),
            _ => None,
        })
        .fold(Fen::ZERO, |s, f| s + f);
    assert_eq!(late_fees, before.late_fee_to_date, "the late fee to date was posted with the payment");
    assert_eq!(after.balance, Fen::ZERO);
    assert_eq!(after.balance, before.balance + late_fees - before.to_clear);
    let sums = app.db.store.ledger_balances_of(std::slice::from_ref(&account)).await?;
    assert_eq!(sums[0].balance, after.balance, "the store's own sum agrees");

    // Back at the counter, the page shows the store's account after the payment.
    b.find("a[href^='/counter?q=']").await?.click().await?;
    b.wait_for("#account", WAIT).await?;
    assert_eq!(text(&b, "#balance").await?, after.balance.to_string());
    assert_eq!(text(&b, "#arrears").await?, after.arrears.to_string());
    assert_eq!(text(&b, "#to-clear").await?, after.to_clear.to_string());
    assert_eq!(b.find_all("#no-open").await?.len(), 1, "no open bill is left");
    let receipt_link = format!("#entries a[href='/counter/receipts/{account}/{receipt_no}']");
    assert_eq!(b.find_all(&receipt_link).await?.len(), 1, "the ledger lists the payment with its receipt");
    b.screenshot("counter-05-after").await?;

    // Bad input leaves the balance alone: a negative amount is refused with the field named.
    b.find("#amount").await?.clear().await?;
    b.find("#amount").await?.send_keys("-5").await?;
    b.find("#take").await?.click().await?;
    let err = b.wait_for("p.error", WAIT).await?.text().await?;
    assert!(err.starts_with("amount"), "{err}");
    assert_eq!(account_of(&app, &account).await?.balance, after.balance);
    b.screenshot("counter-06-bad-amount").await?;

    drop(b);
    app.stop().await
}

const PASSWORD: &str = "portal-pass-2026";
const NEW_PASSWORD: &str = "a-new-pass-2027";

async fn portal_login(b: &Browser, app: &TestApp, account: &str, password: &str) -> anyhow::Result<()> {
    b.goto(&app.url("/portal")).await?;
    b.wait_for("#login-form", WAIT).await?;
    b.find("#account").await?.send_keys(account).await?;
    b.find("#password").await?.send_keys(password).await?;
    b.find("#login-submit").await?.click().await?;
    b.wait_for("#who", WAIT).await?;
    Ok(())
}

async fn api_login(app: &TestApp, account: &str, password: &str) -> anyhow::Result<reqwest::Response> {
    Ok(app
        .client
        .post(app.url("/api/v1/portal/login"))
        .json(&json!({"account": account, "password": password}))
        .send()
        .await?)
}

#[tokio::test]
async fn customer_reads_their_own_account_on_the_portal() -> anyhow::Result<()> {
    let db = bureau_store_tests::TestDb::sqlite().await?;
    support::app::demo_county(&db).await?;
    let app = TestApp::start(db).await?;

    // Two customers with bills, payments and outages at their supply point in the last year; a
    // clerk gives both a portal password.
    let year_ago = jiff::Timestamp::now().as_second() - 366 * 86_400;
    let mut two = Vec::new();
    for c in app.db.store.list_customers(&Scope::All, None, 300).await? {
        let Some(point) = c.supply_point.clone() else { continue };
        if app.db.store.outages_at_point(&point, year_ago, 1).await?.is_empty() {
            continue;
        }
        let a = account_of(&app, c.id.as_str()).await?;
        let paid = a.entries.iter().any(|e| matches!(e.kind, EntryKind::Payment { .. }));
        if paid && app.db.store.live_bills(c.id.as_str(), 3).await?.len() == 3 {
            two.push(a);
        }
        if two.len() == 2 {
            break;
        }
    }
    anyhow::ensure!(two.len() == 2, "the demo has customers with bills and payments");
    let (mine, theirs) = (two.remove(0), two.remove(0));
    let (a_id, b_id) = (mine.customer.id.as_str().to_string(), theirs.customer.id.as_str().to_string());
    let clerk = app.login("clerk").await?;
    for id in [&a_id, &b_id] {
        let r = app
            .client
            .put(app.url(&format!("/api/v1/customers/{id}/portal-password")))
            .bearer_auth(&clerk)
            .json(&json!({"password": PASSWORD}))
            .send()
            .await?;
        assert_eq!(r.status(), 204);
    }
    // B has a service request of their own.
    let agent = app.login("agent").await?;
    let r = app
        .post_json(
            "/api/v1/work-orders",
            &agent,
            &json!({"kind": "consultation", "customer_id": b_id, "description": "乙户的咨询内容"}),
        )
        .await?;
    assert_eq!(r.status(), 201);
    let b_order = r.json::<Value>().await?["order"]["id"].as_str().unwrap_or_default().to_string();

    let b = Browser::start().await?;

    // A wrong password is refused on the login page.
    b.goto(&app.url("/portal")).await?;
    b.wait_for("#login-form", WAIT).await?;
    assert!(b.page_source().await?.contains("客户登录"));
    b.find("#account").await?.send_keys(&a_id).await?;
    b.find("#password").await?.send_keys("not-my-password").await?;
    b.find("#login-submit").await?.click().await?;
    assert_eq!(b.wait_for("#login-error", WAIT).await?.text().await?, "户号或密码错误");
    b.screenshot("portal-01-login-refused").await?;

    // Log in: the overview shows the ledger's figures.
    portal_login(&b, &app, &a_id, PASSWORD).await?;
    assert!(text(&b, "#who").await?.contains(&a_id));
    let owed = if mine.balance.is_negative() { &mine.credit } else { &mine.balance };
    assert_eq!(text(&b, "#balance b").await?, owed.to_string());
    assert_eq!(text(&b, "#to-clear").await?, mine.to_clear.to_string());
    let latest = app.db.store.latest_bill(&a_id).await?.expect("a latest bill");
    assert!(b.find("#latest-bill").await?.text().await?.contains(&latest.period));
    assert!(!b.find_all("svg").await?.is_empty(), "the consumption chart");
    b.screenshot("portal-02-overview").await?;

    // Bills, newest first, as the store has them; one opens as the printable bill.
    b.find("#nav-bills").await?.click().await?;
    b.wait_for("#bills", WAIT).await?;
    let want: Vec<String> = app.db.store.live_bills(&a_id, 36).await?.into_iter().map(|x| x.period).collect();
    let mut periods = Vec::new();
    for l in b.find_all("#bills a.bill-link").await? {
        periods.push(l.text().await?);
    }
    assert_eq!(periods, want);
    b.screenshot("portal-03-bills").await?;
    b.find(&format!("#bills a[href='/portal/bills/{}']", want[1])).await?.click().await?;
    b.wait_for("#bill", WAIT).await?;
    let bill = app.db.store.get_bill(&a_id, &want[1], None).await?;
    assert_eq!(text(&b, "#bill-account").await?, a_id);
    assert_eq!(text(&b, "#bill-total").await?, bill.total.to_string());
    assert_eq!(b.find_all("#bill-lines tbody tr").await?.len(), bill.lines.len());
    b.screenshot("portal-04-bill").await?;
    assert_pdf(&b.print_pdf("portal-04-bill").await?)?;

    // Payments: every payment of the ledger, none of B's.
    b.goto(&app.url("/portal/payments")).await?;
    b.wait_for("#payments", WAIT).await?;
    let paid: Vec<&bureau_domain::ledger::Entry> =
        mine.entries.iter().filter(|e| matches!(e.kind, EntryKind::Payment { .. })).collect();
    assert_eq!(b.find_all("#payments tbody tr").await?.len(), paid.len());
    b.screenshot("portal-05-payments").await?;

    // Outages at A's supply point: kind, state and cause in words, never codes; in English after
    // the language switch.
    let point = mine.customer.supply_point.clone().unwrap_or_default();
    let outages = app.db.store.outages_at_point(&point, year_ago, 50).await?;
    b.goto(&app.url("/portal/outages")).await?;
    b.wait_for("#outages", WAIT).await?;
    let cells = |css: &'static str| {
        let b = &b;
        async move {
            let mut v = Vec::new();
            for e in b.find_all(css).await? {
                v.push(e.text().await?.trim().to_string());
            }
            anyhow::Ok(v)
        }
    };
    let causes = cells("#outages .outage-cause").await?;
    let want: Vec<String> = outages.iter().map(|o| bureau_domain::outage_cause::label(&o.cause).zh).collect();
    assert_eq!(causes, want);
    assert!(outages.iter().any(|o| bureau_domain::outage_cause::is_code(&o.cause)), "the demo records codes");
    assert!(causes.iter().all(|c| !bureau_domain::outage_cause::is_code(c)), "{causes:?}");
    assert!(cells("#outages .outage-class")
        .await?
        .iter()
        .all(|c| c.ends_with("停电") || c.ends_with("限电")));
    assert!(cells("#outages .outage-state").await?.iter().all(|s| s == "已恢复" || s == "停电中"));
    b.screenshot("portal-06-outages").await?;
    b.find("#lang-switch").await?.click().await?;
    b.wait_for("#outages", WAIT).await?;
    let want: Vec<String> = outages.iter().map(|o| bureau_domain::outage_cause::label(&o.cause).en).collect();
    assert_eq!(cells("#outages .outage-cause").await?, want);
    assert!(cells("#outages .outage-state").await?.iter().all(|s| s == "Restored" || s == "Out"));
    b.screenshot("portal-07-outages-en").await?;
    b.find("#lang-switch").await?.click().await?;
    b.wait_for("#outages", WAIT).await?;

    // B's ids in the address: B's order is not found, and a bill period shows A's own bill.
    b.goto(&app.url(&format!("/portal/orders/{b_order}"))).await?;
    b.wait_for("#error-message", WAIT).await?;
    let page = b.page_source().await?;
    assert!(!page.contains("乙户的咨询内容") && !page.contains(&b_id), "B's order leaked");
    b.screenshot("portal-08-other-order").await?;
    let b_latest = app.db.store.latest_bill(&b_id).await?.expect("B has bills").period;
    b.goto(&app.url(&format!("/portal/bills/{b_latest}?customer_id={b_id}&account={b_id}"))).await?;
    b.wait_for("#bill", WAIT).await?;
    assert_eq!(text(&b, "#bill-account").await?, a_id, "the period is looked up among A's bills only");
    assert!(!b.page_source().await?.contains(&b_id));
    for path in ["/portal", "/portal/bills", "/portal/payments", "/portal/outages", "/portal/orders"] {
        b.goto(&app.url(&format!("{path}?customer_id={b_id}&account={b_id}&id={b_id}"))).await?;
        b.wait_for("#who", WAIT).await?;
        let page = b.page_source().await?;
        assert!(!page.contains(&b_id), "{path} with B's id in the address showed B's account");
        assert!(page.contains(&a_id), "{path} is A's");
    }

    // Another session of A elsewhere (a phone): it ends when A changes the password here.
    let r = api_login(&app, &a_id, PASSWORD).await?;
    assert_eq!(r.status(), 200);
    let phone = r.json::<Value>().await?["token"].as_str().unwrap_or_default().to_string();
    assert_eq!(app.get("/api/v1/portal/summary", &phone).await?.status(), 200);
    b.goto(&app.url("/portal/password")).await?;
    b.wait_for("#password-form", WAIT).await?;
    b.find("#new-password").await?.send_keys(NEW_PASSWORD).await?;
    b.find("#password-submit").await?.click().await?;
    b.wait_for("#password-saved", WAIT).await?;
    b.screenshot("portal-09-password-changed").await?;
    assert_eq!(app.get("/api/v1/portal/summary", &phone).await?.status(), 401, "the other session ended");
    // This one goes on; the old password no longer works, the new one does.
    b.goto(&app.url("/portal/bills")).await?;
    b.wait_for("#bills", WAIT).await?;
    assert_eq!(api_login(&app, &a_id, PASSWORD).await?.status(), 422);
    assert_eq!(api_login(&app, &a_id, NEW_PASSWORD).await?.status(), 200);
    // B's sessions are B's business.
    assert_eq!(api_login(&app, &b_id, PASSWORD).await?.status(), 200);

    // Log out: the portal pages lead to the login page again.
    b.find("#logout").await?.click().await?;
    b.wait_for("#login-form", WAIT).await?;
    b.goto(&app.url("/portal/payments")).await?;
    b.wait_for("#login-form", WAIT).await?;

    drop(b);
    app.stop().await
}
