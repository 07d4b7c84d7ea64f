//! The bill run survives SIGKILL: the real `bureau` program is killed in the middle of a run, run
//! again, and the period ends with exactly one bill per customer (or an open exception instead),
//! on SQLite and on PostgreSQL.

use bureau_app::demo::{generate, DemoOptions};
use bureau_store::Scope;
use bureau_store_tests::TestDb;
use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CUSTOMERS: u64 = 3000;

fn bureau(url: &str, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bureau"));
    c.arg("--db").arg(url).args(args).env("BUREAU_LOG", "warn").stdout(Stdio::null()).stderr(Stdio::null());
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_bill_run_rerun_leaves_one_bill_per_customer() -> anyhow::Result<()> {
    for db in TestDb::each().await? {
        let mut opts = DemoOptions::new(jiff::civil::date(2026, 11, 15));
        opts.customers = CUSTOMERS;
        opts.months = 2;
        generate(&db.store, &opts).await?;
        let period = "2026-10";
        assert_eq!(db.store.period_totals(&Scope::All, period).await?.bills, 0);

        // Small chunks so that the run commits many transactions; kill it after the first ones.
        let mut child =
            bureau(&db.url, &["bill", "run", "--period", period, "--chunk", "50", "--json"]).spawn()?;
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut seen = 0;
        while seen == 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
            seen = db.store.period_totals(&Scope::All, period).await?.bills;
        }
        child.kill()?; // SIGKILL on Unix
        let status = child.wait()?;
        assert!(!status.success(), "the run was killed, not finished ({})", db.store.backend());
        let partial = db.store.period_totals(&Scope::All, period).await?;
        assert!(partial.bills > 0, "killed after some bills were written");
        assert!(partial.bills + partial.open_exceptions < CUSTOMERS, "killed before the end: {partial:?}");

        let status = bureau(&db.url, &["bill", "run", "--period", period, "--chunk", "50"]).status()?;
        assert!(status.success());
        let done = db.store.period_totals(&Scope::All, period).await?;
        // Every customer has exactly one bill or is held in the exceptions queue.
        assert_eq!(done.bills + done.open_exceptions, CUSTOMERS, "{} {done:?}", db.store.backend());
        let mut ids = HashSet::new();
        let mut after: Option<String> = None;
        loop {
            let page = db.store.list_bills(&Scope::All, period, after.as_deref(), 1000).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.customer_id.clone());
            for b in &page {
                assert!(ids.insert(b.customer_id.clone()), "two bills for {}", b.customer_id);
                assert_eq!(b.revision, 0);
                if ids.len() % 97 == 1 {
                    let full = db.store.get_bill(&b.customer_id, period, None).await?;
                    assert_eq!(full.total, full.lines.iter().map(|l| l.amount).sum(), "lines add up");
                }
            }
        }
        assert_eq!(ids.len() as u64, done.bills);
        // The ledger holds exactly one charge per bill, written with it: none lost, none doubled.
        let (mut charges, mut charged) = (0u64, bureau_domain::money::Fen::ZERO);
        let mut after: Option<String> = None;
        loop {
            let page = db.store.ledgers_page(&Scope::All, after.as_deref(), 500).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.customer_id.clone());
            for l in &page {
                for e in &l.entries {
                    if let bureau_domain::ledger::EntryKind::Charge { bill, amount, .. } = &e.kind {
                        if bill.0 == period {
                            charges += 1;
                            charged += *amount;
                        }
                    }
                }
            }
        }
        assert_eq!((charges, charged), (done.bills, done.total), "{}", db.store.backend());

        // A third run issues nothing.
        let before = db.store.period_totals(&Scope::All, period).await?;
        assert!(bureau(&db.url, &["bill", "run", "--period", period]).status()?.success());
        assert_eq!(db.store.period_totals(&Scope::All, period).await?, before);
        db.destroy().await?;
    }
    Ok(())
}
