//! Bill run jobs (migration 0015) on both databases: one running job per period, heartbeats held by
//! their owner, takeover of a job whose process stopped, and the end of a job; the run record a
//! dead process left unfinished ends as taken over (migration 0018).

use bureau_domain::i18n::Text;
use bureau_store::*;

fn job(id: &str, period: &str, owner: &str, at: i64) -> BillRunJob {
    BillRunJob {
        job_id: id.into(),
        period: period.into(),
        book_id: None,
        started_by: "clerk1".into(),
        estimate_missing: true,
        issue_on: "2026-11-05".into(),
        chunk: 50,
        state: "running".into(),
        owner: owner.into(),
        started_at: at,
        heartbeat_at: at,
        finished_at: None,
        customers_done: 0,
        customers_total: 300,
        takeovers: 0,
        summary_json: None,
        error: None,
    }
}

fn run_record(run_id: &str, job_id: Option<&str>, started_at: i64) -> BillRunRecord {
    BillRunRecord {
        run_id: run_id.into(),
        period: "2036-01".into(),
        book_id: None,
        started_at,
        finished_at: None,
        bills: 0,
        kwh: rust_decimal::Decimal::ZERO,
        total: bureau_domain::money::Fen(0),
        exceptions: 0,
        started_by: "clerk1".into(),
        job_id: job_id.map(str::to_string),
        ended: None,
    }
}

async fn run_of(store: &DynStore, run_id: &str) -> anyhow::Result<BillRunRecord> {
    let runs = store.list_bill_runs(1000).await?;
    runs.into_iter().find(|r| r.run_id == run_id).ok_or_else(|| anyhow::anyhow!("no run record {run_id}"))
}

pub async fn bill_run_jobs(store: &DynStore) -> anyhow::Result<()> {
    let t = 1_790_000_000;
    let lease = 30;
    let a = job("2036-01-a", "2036-01", "p1", t);
    assert_eq!(store.claim_bill_run_job(&a, t - lease).await?, None, "the first job of a period is claimed");
    assert_eq!(store.get_bill_run_job("2036-01-a").await?, a, "stored as given");

    // A second job of the period while the first is alive: refused, the running one answered.
    let mut b = job("2036-01-b", "2036-01", "p2", t + 5);
    b.book_id = Some("B01".into());
    let busy = store.claim_bill_run_job(&b, t + 5 - lease).await?.expect("refused");
    assert_eq!((busy.job_id.as_str(), busy.owner.as_str()), ("2036-01-a", "p1"));
    assert!(
        matches!(store.get_bill_run_job("2036-01-b").await, Err(StoreError::NotFound)),
        "nothing written"
    );
    // Another period runs meanwhile.
    let c = job("2036-02-c", "2036-02", "p2", t + 5);
    assert_eq!(store.claim_bill_run_job(&c, t + 5 - lease).await?, None);

    // Heartbeats are the owner's only.
    assert!(store.heartbeat_bill_run_job("2036-01-a", "p1", t + 10, 120).await?);
    assert!(!store.heartbeat_bill_run_job("2036-01-a", "p2", t + 11, 999).await?);
    let now = store.get_bill_run_job("2036-01-a").await?;
    assert_eq!((now.heartbeat_at, now.customers_done), (t + 10, 120));

    // The run records: p1's run of job a (left unfinished when p1 dies), an earlier run of job a
    // that finished, a run of job c, and a run from the command line (no job).
    let mut earlier = run_record("run-a0", Some("2036-01-a"), t - 100);
    earlier.finished_at = Some(t - 90);
    earlier.ended = Some(BillRunEnd::Finished);
    earlier.bills = 7;
    for r in [
        run_record("run-a1", Some("2036-01-a"), t + 1),
        earlier.clone(),
        run_record("run-c1", Some("2036-02-c"), t + 6),
        run_record("run-cli", None, t + 2),
    ] {
        store.save_bill_run(&r).await?;
    }
    assert_eq!(run_of(store, "run-a0").await?, earlier, "stored as given");

    // A live job is not taken over, and its run record stays open; a stale one is, once, and its
    // old owner loses it.
    assert!(!store.take_over_bill_run_job("2036-01-a", "p2", t + 20, t + 20 - lease).await?);
    assert_eq!(run_of(store, "run-a1").await?.ended, None, "a refused takeover closes nothing");
    assert!(store.take_over_bill_run_job("2036-01-a", "p2", t + 50, t + 50 - lease).await?);
    // The dead process's run ends at the takeover, taken over; nothing else changes.
    let closed = run_of(store, "run-a1").await?;
    assert_eq!((closed.finished_at, closed.ended), (Some(t + 50), Some(BillRunEnd::TakenOver)));
    assert_eq!(run_of(store, "run-a0").await?, earlier, "a finished run keeps its end");
    assert_eq!(run_of(store, "run-c1").await?.ended, None, "another job's run is not touched");
    assert_eq!(run_of(store, "run-cli").await?.finished_at, None, "a run without a job is not touched");
    // The new holder's run of the job finishes as usual.
    let mut again = run_record("run-a2", Some("2036-01-a"), t + 50);
    store.save_bill_run(&again).await?;
    assert!(!store.take_over_bill_run_job("2036-01-a", "p3", t + 50, t + 50 - lease).await?, "taken already");
    let taken = store.get_bill_run_job("2036-01-a").await?;
    assert_eq!((taken.owner.as_str(), taken.takeovers, taken.heartbeat_at), ("p2", 1, t + 50));
    assert_eq!(taken.customers_done, 120, "progress kept across the takeover");
    assert!(!store.heartbeat_bill_run_job("2036-01-a", "p1", t + 51, 130).await?, "the old owner lost it");

    // The end: only the holder ends it; then the period is free again.
    let mut end = BillRunJobEnd {
        job_id: "2036-01-a".into(),
        owner: "p1".into(),
        state: "done".into(),
        finished_at: t + 60,
        customers_done: 300,
        summary_json: Some(r#"{"bills":290}"#.into()),
        error: None,
    };
    again.finished_at = Some(t + 60);
    again.ended = Some(BillRunEnd::Finished);
    again.bills = 290;
    store.save_bill_run(&again).await?;
    assert_eq!(run_of(store, "run-a2").await?, again);
    assert!(!store.finish_bill_run_job(&end).await?, "not p1's any more");
    end.owner = "p2".into();
    assert!(store.finish_bill_run_job(&end).await?);
    assert!(!store.finish_bill_run_job(&end).await?, "ended once");
    let done = store.get_bill_run_job("2036-01-a").await?;
    assert_eq!(done.state, "done");
    assert_eq!((done.finished_at, done.customers_done), (Some(t + 60), 300));
    assert_eq!(done.summary_json.as_deref(), Some(r#"{"bills":290}"#));
    assert!(
        !store.take_over_bill_run_job("2036-01-a", "p3", t + 500, t + 500 - lease).await?,
        "a done job stays done"
    );
    b.started_at = t + 61;
    b.heartbeat_at = t + 61;
    assert_eq!(store.claim_bill_run_job(&b, t + 61 - lease).await?, None, "the period is free again");

    // A job of a dead process (heartbeat older than the lease) gives way to a new start.
    let d = job("2036-02-d", "2036-02", "p4", t + 100);
    assert_eq!(store.claim_bill_run_job(&d, t + 100 - lease).await?, None);
    let c = store.get_bill_run_job("2036-02-c").await?;
    assert_eq!((c.state.as_str(), c.finished_at), ("failed", Some(t + 100)));
    let why = c.error.expect("why it failed");
    assert!(why.en.contains("superseded by 2036-02-d"), "{}", why.en);
    assert!(why.zh.contains("2036-02-d"), "{}", why.zh);
    // The superseded job's unfinished run ends as taken over, at the new start.
    let closed = run_of(store, "run-c1").await?;
    assert_eq!((closed.finished_at, closed.ended), (Some(t + 100), Some(BillRunEnd::TakenOver)));
    assert_eq!(run_of(store, "run-cli").await?.finished_at, None);

    // A failed end keeps its reason in both languages.
    let fail = BillRunJobEnd {
        job_id: "2036-02-d".into(),
        owner: "p4".into(),
        state: "failed".into(),
        finished_at: t + 120,
        customers_done: 10,
        summary_json: None,
        error: Some(Text::new("数据库不可用", "the database is unavailable")),
    };
    assert!(store.finish_bill_run_job(&fail).await?);
    assert_eq!(store.get_bill_run_job("2036-02-d").await?.error, fail.error);

    let running: Vec<String> =
        store.list_bill_run_jobs(true, 10).await?.into_iter().map(|j| j.job_id).collect();
    assert_eq!(running, vec!["2036-01-b".to_string()]);
    let all: Vec<String> = store.list_bill_run_jobs(false, 10).await?.into_iter().map(|j| j.job_id).collect();
    assert_eq!(all, ["2036-02-d", "2036-01-b", "2036-02-c", "2036-01-a"], "newest first");
    assert!(matches!(store.get_bill_run_job("nope").await, Err(StoreError::NotFound)));
    // Leave no running job behind for later checks.
    end.job_id = "2036-01-b".into();
    assert!(store.finish_bill_run_job(&end).await?);
    Ok(())
}
