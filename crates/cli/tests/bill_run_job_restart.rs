//! A bill run job started from the API survives the death of its server: `bureau serve` is killed
//! (SIGKILL) in the middle of the job, started again, takes the job over once its lease has run
//! out, and finishes it with exactly one bill per customer (or an open exception instead) and one
//! ledger charge per bill; the dead server's run record ends as taken over, not running forever; on
//! SQLite and on PostgreSQL.

use bureau_app::demo::{generate, DemoOptions};
use bureau_store::{BillRunEnd, Scope};
use bureau_store_tests::TestDb;
use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CUSTOMERS: u64 = 3000;
const PERIOD: &str = "2026-10";

fn serve(url: &str, port: u16) -> anyhow::Result<Child> {
    Ok(Command::new(env!("CARGO_BIN_EXE_bureau"))
        .arg("--db")
        .arg(url)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--arrears-pass-at", "off"])
        .env("BUREAU_LOG", "warn")
        .env("BUREAU_BILL_RUN_LEASE_SECS", "2")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

async fn wait_up(client: &reqwest::Client, base: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await {
            if r.status().is_success() {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anyhow::bail!("the server at {base} did not come up")
}

async fn login(client: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    let r = client
        .post(format!("{base}/api/v1/login"))
        .json(&serde_json::json!({"username": "manager", "password": "demo2026"}))
        .send()
        .await?;
    anyhow::ensure!(r.status() == 200, "login answered {}", r.status());
    let body: serde_json::Value = r.json().await?;
    Ok(body["token"].as_str().unwrap_or_default().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_of_a_killed_server_is_finished_by_the_restarted_one() -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    for db in TestDb::each().await? {
        let backend = db.store.backend();
        let mut opts = DemoOptions::new(jiff::civil::date(2026, 11, 15));
        opts.customers = CUSTOMERS;
        opts.months = 2;
        generate(&db.store, &opts).await?;
        assert_eq!(db.store.period_totals(&Scope::All, PERIOD).await?.bills, 0);

        let port = free_port()?;
        let base = format!("http://127.0.0.1:{port}");
        let mut first = serve(&db.url, port)?;
        wait_up(&client, &base).await?;
        let token = login(&client, &base).await?;
        // Small chunks so that the run commits many transactions; the server dies after the first.
        let r = client
            .post(format!("{base}/api/v1/bill-runs"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"period": PERIOD, "chunk": 50}))
            .send()
            .await?;
        assert_eq!(r.status(), 202, "{backend}");
        let job: serde_json::Value = r.json().await?;
        let id = job["id"].as_str().expect("job id").to_string();
        // A second start of the period while the job runs is refused.
        let again = client
            .post(format!("{base}/api/v1/bill-runs"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"period": PERIOD}))
            .send()
            .await?;
        assert_eq!(again.status(), 409, "{backend}");

        let deadline = Instant::now() + Duration::from_secs(120);
        let mut seen = 0;
        while seen == 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
            seen = db.store.period_totals(&Scope::All, PERIOD).await?.bills;
        }
        first.kill()?; // SIGKILL on Unix
        first.wait()?;
        let partial = db.store.period_totals(&Scope::All, PERIOD).await?;
        assert!(partial.bills > 0, "killed after some bills were written ({backend})");
        assert!(
            partial.bills + partial.open_exceptions < CUSTOMERS,
            "killed before the end: {partial:?} ({backend})"
        );
        let orphan = db.store.get_bill_run_job(&id).await?;
        assert_eq!(orphan.state, "running", "the dead server's job is left running ({backend})");

        // The restarted server takes the job over once its lease (2 s here) has run out.
        let mut second = serve(&db.url, port)?;
        wait_up(&client, &base).await?;
        let token = login(&client, &base).await?;
        let deadline = Instant::now() + Duration::from_secs(240);
        let status = loop {
            let r =
                client.get(format!("{base}/api/v1/bill-runs/jobs/{id}")).bearer_auth(&token).send().await?;
            assert_eq!(r.status(), 200, "{backend}");
            let s: serde_json::Value = r.json().await?;
            if s["state"] != "running" || Instant::now() > deadline {
                break s;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        second.kill()?;
        second.wait()?;
        assert_eq!(status["state"], "done", "{backend}: {status}");
        assert!(status["takeovers"].as_u64() >= Some(1), "{backend}: {status}");

        let done = db.store.period_totals(&Scope::All, PERIOD).await?;
        assert_eq!(done.bills + done.open_exceptions, CUSTOMERS, "{backend} {done:?}");
        assert_eq!(status["period_bills"].as_u64(), Some(done.bills), "{backend}");
        let mut ids = HashSet::new();
        let mut after: Option<String> = None;
        loop {
            let page = db.store.list_bills(&Scope::All, PERIOD, after.as_deref(), 1000).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.customer_id.clone());
            for b in &page {
                assert!(ids.insert(b.customer_id.clone()), "two bills for {}", b.customer_id);
                assert_eq!(b.revision, 0);
            }
        }
        assert_eq!(ids.len() as u64, done.bills);
        // One ledger charge per bill: none lost, none doubled.
        let (mut charges, mut charged) = (0u64, bureau_domain::money::Fen::ZERO);
        let mut after: Option<String> = None;
        loop {
            let page = db.store.ledgers_page(&Scope::All, after.as_deref(), 500).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.customer_id.clone());
            for l in &page {
                for e in &l.entries {
                    if let bureau_domain::ledger::EntryKind::Charge { bill, amount, .. } = &e.kind {
                        if bill.0 == PERIOD {
                            charges += 1;
                            charged += *amount;
                        }
                    }
                }
            }
        }
        assert_eq!((charges, charged), (done.bills, done.total), "{backend}");
        // The run history: the killed server's run ended at the takeover, the restarted server's
        // run finished; none is left running.
        let runs: Vec<_> = db
            .store
            .list_bill_runs(1000)
            .await?
            .into_iter()
            .filter(|r| r.job_id.as_deref() == Some(&id))
            .collect();
        let ends: Vec<_> = runs.iter().map(|r| r.ended).collect();
        assert!(runs.iter().all(|r| r.finished_at.is_some()), "{backend}: {runs:?}");
        assert_eq!(
            ends.iter().filter(|e| **e == Some(BillRunEnd::Finished)).count(),
            1,
            "{backend}: {runs:?}"
        );
        assert_eq!(
            ends.iter().filter(|e| **e == Some(BillRunEnd::TakenOver)).count() as u64,
            status["takeovers"].as_u64().unwrap_or_default(),
            "{backend}: one interrupted run per takeover: {runs:?}"
        );
        db.destroy().await?;
    }
    Ok(())
}
