//! The billing pages in headless Chromium: the bill quote (电费试算) of the 171 kWh boundary case
//! worked by hand, a bill run started from the page and followed to its summary, a printable bill
//! whose lines add up to its total, and a held reading resolved from the exceptions page.
//! Screenshots go to artifacts/screenshots/.

mod support;

use bureau_app::access::Actor;
use bureau_app::billing::{self, RunOptions};
use bureau_domain::money::Fen;
use bureau_domain::tariff::{BillPeriod, TariffBook};
use bureau_store::{Reading, ReadingKind, Scope};
use rust_decimal::Decimal;
use std::time::Duration;
use support::app::TestApp;
use support::browser::Browser;

const WAIT: Duration = Duration::from_secs(30);

async fn login(b: &Browser, app: &TestApp, path: &str, user: &str) -> anyhow::Result<()> {
    b.goto(&app.url(path)).await?;
    b.wait_for("#login-form", WAIT).await?;
    b.find("#username").await?.send_keys(user).await?;
    b.find("#password").await?.send_keys("demo2026").await?;
    b.find("#login-submit").await?.click().await?;
    Ok(())
}

fn yuan(text: &str) -> Fen {
    Fen::parse_yuan("amount", text.trim()).unwrap_or_else(|_| panic!("not an amount: {text}"))
}

#[tokio::test]
async fn quote_run_printable_bill_and_an_exception_resolved() -> anyhow::Result<()> {
    let db = bureau_store_tests::TestDb::sqlite().await?;
    support::app::demo_county(&db).await?;
    let app = TestApp::start(db).await?;
    let b = Browser::start().await?;

    // 电费试算: 171 kWh on hlj-residential is 170 × 0.51 = 86.70 in tier 1 and the 171st kWh at
    // 0.56 in tier 2: 87.26 yuan.
    login(&b, &app, "/billing/quote", "clerk").await?;
    b.wait_for("#quote-form", WAIT).await?;
    b.find("#kwh").await?.send_keys("171").await?;
    b.find("#quote-submit").await?.click().await?;
    b.wait_for("#quote-total", WAIT).await?;
    assert_eq!(b.find("#quote-total").await?.text().await?, "87.26");
    let mut amounts = Vec::new();
    for cell in b.find_all("#quote-result tbody tr td:last-child").await? {
        amounts.push(cell.text().await?);
    }
    assert_eq!(amounts, vec!["86.70", "0.56"]);
    b.screenshot("billing-01-quote-171").await?;

    // The bill run from the page: it runs in the background and the page shows its summary.
    b.goto(&app.url("/billing/run")).await?;
    b.wait_for("#run-form", WAIT).await?;
    let period = b.find("#period").await?;
    period.clear().await?;
    period.send_keys("2026-10").await?;
    b.find("#run-submit").await?.click().await?;
    b.wait_for("#run-summary", WAIT).await?;
    let issued: u64 = b.find("#run-bills").await?.text().await?.parse()?;
    let period_bills: u64 = b.find("#period-bills").await?.text().await?.parse()?;
    assert!(issued > 200, "{issued} bills");
    assert_eq!(issued, period_bills, "the first run of the period issued every bill of it");
    b.screenshot("billing-02-run-summary").await?;

    // A printable bill: its lines add up to its total.
    let bills = app.db.store.list_bills(&Scope::All, "2026-10", None, 5).await?;
    let one = &bills[0];
    b.goto(&app.url(&format!("/customers/{}/bills/2026-10", one.customer_id))).await?;
    b.wait_for("#bill-total", WAIT).await?;
    let mut sum = Fen(0);
    for cell in b.find_all("#bill-lines tbody tr td:last-child").await? {
        sum += yuan(&cell.text().await?);
    }
    let total = yuan(&b.find("#bill-total").await?.text().await?);
    assert_eq!(sum, total);
    assert_eq!(total, one.total);
    b.screenshot("billing-03-printable-bill").await?;

    // A household whose November reading is 5,000 kWh above October's: held as a jump by the
    // November run; confirmed from the exceptions page, and billed at once.
    let mut household = None;
    for bill in app.db.store.list_bills(&Scope::All, "2026-10", None, 300).await? {
        if bill.tariff_id == "hlj-residential" && bill.multiplier == 1 {
            household = Some(bill);
            break;
        }
    }
    let oct = household.expect("a household billed in October");
    app.db
        .store
        .insert_readings(&[Reading {
            customer_id: oct.customer_id.clone(),
            meter_id: oct.meter_id.clone(),
            read_on: "2026-11-20".into(),
            kind: ReadingKind::Actual,
            source: "manual".into(),
            total: oct.curr_total + Decimal::from(5000),
            peak: None,
            flat: None,
            valley: None,
            max_demand: None,
            kvarh: None,
        }])
        .await?;
    let nov = BillPeriod::parse("period", "2026-11")?;
    billing::run(
        &app.db.store,
        &Actor::system(),
        &TariffBook::builtin(),
        &RunOptions::new(nov, nov.last_day()),
        &|_| {},
    )
    .await?;
    b.goto(&app.url("/billing/exceptions?period=2026-11")).await?;
    let row = format!("#exc-{}", oct.customer_id);
    b.wait_for(&row, WAIT).await?;
    assert_eq!(b.find(&row).await?.attribute("data-kind").await?.as_deref(), Some("jump"));
    b.find(&format!("{row} input[name=reason]")).await?.send_keys("现场核实：新装电采暖").await?;
    b.screenshot("billing-04-exception").await?;
    b.find(&format!("{row} button[type=submit]")).await?.click().await?;
    let done = b.wait_for("#done", WAIT).await?.text().await?;
    // 170 × 0.51 + 90 × 0.56 + 4,740 × 0.81 = 86.70 + 50.40 + 3,839.40 = 3,976.50 yuan.
    assert!(done.contains("3976.50"), "{done}");
    let billed = app.db.store.get_bill(&oct.customer_id, "2026-11", None).await?;
    assert_eq!(billed.total, Fen(397_650));
    assert!(b.find_all(&row).await?.is_empty(), "the customer left the queue");
    b.screenshot("billing-05-resolved").await?;
    app.stop().await?;
    Ok(())
}
