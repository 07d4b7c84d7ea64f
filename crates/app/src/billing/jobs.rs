//! Bill runs started from the web run in the background (a bill run of a county takes minutes, of a
//! province much longer: no HTTP request should wait on it). A job records who started it, the
//! customers done out of the customers to bill, and at the end the run's summary or its error; the
//! page polls it.
//!
//! Jobs are rows in the database (`bill_run_jobs`, migration 0015), so that they outlive the
//! process running them:
//! - one running job per period, across processes: a second start of a period while one runs is
//!   refused (two runs of a period would still leave one bill per customer — the store keeps the
//!   first — but they would fight over the same rows for nothing);
//! - the process running a job renews its heartbeat every third of the lease; a running job whose
//!   heartbeat is older than the lease belongs to a dead process (killed, crashed, the machine
//!   restarted), and every server looks for such jobs at start and then every half lease, takes
//!   them over and finishes them. The run itself is idempotent and resumable (insert unless
//!   present), so a job taken over ends with exactly one bill per customer and period;
//! - the run records (`bill_runs`) carry their job's id, and the takeover closes the record the dead
//!   process left unfinished as taken over, at the time of the takeover (migration 0018), so that
//!   the run history shows no run running forever.

use super::{run, RunOptions, RunSummary};
use crate::access::Actor;
use crate::error::{AppError, AppResult};
use bureau_domain::error::FieldError;
use bureau_domain::i18n::Text;
use bureau_domain::tariff::{BillPeriod, TariffBook};
use bureau_store::{BillRunJob, BillRunJobEnd, DynStore, StoreError};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The default lease of a job, in seconds: a job whose process has not renewed it for this long is
/// taken over.
pub const DEFAULT_LEASE_SECS: i64 = 30;

/// Where a job stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Running,
    Done,
    Failed,
}

/// A snapshot of a job, for the page and the API.
#[derive(Clone, Debug, Serialize)]
pub struct JobStatus {
    pub id: String,
    pub period: String,
    pub book_id: Option<String>,
    pub state: JobState,
    pub started_by: String,
    /// Unix seconds.
    pub started_at: i64,
    pub finished_at: Option<i64>,
    /// Customers computed so far (those without a bill when the run started).
    pub customers_done: u64,
    /// Customers without a bill for the period when the job started (all books; a run of one book
    /// ends below it).
    pub customers_total: u64,
    /// How many times a server took the job over from a process that died.
    pub takeovers: u64,
    /// The run's summary once done.
    pub summary: Option<RunSummary>,
    /// Why it failed, in both languages.
    pub error: Option<Text>,
}

impl JobStatus {
    pub fn is_running(&self) -> bool {
        self.state == JobState::Running
    }

    fn of(job: BillRunJob, live_done: Option<u64>) -> JobStatus {
        let state = match job.state.as_str() {
            "running" => JobState::Running,
            "done" => JobState::Done,
            _ => JobState::Failed,
        };
        let summary = job.summary_json.as_deref().and_then(|s| serde_json::from_str::<RunSummary>(s).ok());
        JobStatus {
            id: job.job_id,
            period: job.period,
            book_id: job.book_id,
            state,
            started_by: job.started_by,
            started_at: job.started_at,
            finished_at: job.finished_at,
            customers_done: live_done.filter(|_| state == JobState::Running).unwrap_or(job.customers_done),
            customers_total: job.customers_total,
            takeovers: job.takeovers,
            summary,
            error: job.error,
        }
    }
}

/// This process's side of the jobs: who it is (the owner written on the jobs it runs), the lease,
/// and the live progress of the jobs it runs.
pub struct BillRunJobs {
    owner: String,
    lease_secs: i64,
    local: Mutex<HashMap<String, Arc<AtomicU64>>>,
}

impl Default for BillRunJobs {
    fn default() -> Self {
        BillRunJobs::new(DEFAULT_LEASE_SECS)
    }
}

fn now_unix() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn unique_suffix() -> String {
    let nanos = jiff::Timestamp::now().subsec_nanosecond();
    format!("{:x}{:x}", std::process::id(), nanos)
}

impl BillRunJobs {
    /// `lease_secs` (at least 1): how long a job may go without a heartbeat before another process
    /// takes it over.
    pub fn new(lease_secs: i64) -> BillRunJobs {
        BillRunJobs {
            owner: format!("pid{}-{}", std::process::id(), unique_suffix()),
            lease_secs: lease_secs.max(1),
            local: Mutex::default(),
        }
    }

    pub fn lease_secs(&self) -> i64 {
        self.lease_secs
    }

    /// Starts a run of `opts.period` in the background and returns its first snapshot; refused with
    /// a conflict while another job of the same period runs (in this process or another).
    pub async fn start(
        self: &Arc<Self>,
        store: &DynStore,
        actor: &Actor,
        tariffs: &TariffBook,
        opts: RunOptions,
    ) -> AppResult<JobStatus> {
        actor.require_any(super::BILLING_ROLES)?;
        let period = opts.period.to_string();
        if let Some(book) = &opts.book_id {
            if !store.book_exists(book).await? {
                return Err(AppError::Invalid(vec![FieldError::new(
                    "book",
                    "unknown",
                    format!("没有这个抄表段：{book}"),
                    format!("no such reading book: {book}"),
                )]));
            }
        }
        let totals = store.period_totals(&actor.scope, &period).await?;
        let customers = store.count_customers(&actor.scope).await?;
        let now = now_unix();
        let job = BillRunJob {
            job_id: format!("{period}-{now}-{}", unique_suffix()),
            period: period.clone(),
            book_id: opts.book_id.clone(),
            started_by: actor.staff_id.clone(),
            estimate_missing: opts.estimate_missing,
            issue_on: opts.today.to_string(),
            chunk: opts.chunk,
            state: "running".into(),
            owner: self.owner.clone(),
            started_at: now,
            heartbeat_at: now,
            finished_at: None,
            customers_done: 0,
            customers_total: customers.saturating_sub(totals.bills),
            takeovers: 0,
            summary_json: None,
            error: None,
        };
        if let Some(running) = store.claim_bill_run_job(&job, now - self.lease_secs).await? {
            return Err(busy(&running));
        }
        let first = JobStatus::of(job.clone(), None);
        let mut opts = opts;
        opts.job_id = Some(job.job_id.clone());
        self.spawn_worker(store.clone(), actor.clone(), tariffs.clone(), opts, job.job_id, 0);
        Ok(first)
    }

    /// Runs a claimed job: the run, and beside it the heartbeat; ends the job with the run's
    /// summary or error. Stops (leaving the job to its new holder) if the job was taken over.
    fn spawn_worker(
        self: &Arc<Self>,
        store: DynStore,
        actor: Actor,
        tariffs: TariffBook,
        opts: RunOptions,
        job_id: String,
        done_before: u64,
    ) {
        let done = Arc::new(AtomicU64::new(done_before));
        self.local.lock().expect("jobs lock").insert(job_id.clone(), done.clone());
        let this = self.clone();
        tokio::spawn(async move {
            let progress = |n: u64| {
                done.fetch_add(n, Ordering::Relaxed);
            };
            let every = Duration::from_secs((this.lease_secs / 3).max(1) as u64);
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            let work = run(&store, &actor, &tariffs, &opts, &progress);
            tokio::pin!(work);
            let result = loop {
                tokio::select! {
                    r = &mut work => break Some(r),
                    _ = tick.tick() => {
                        let n = done.load(Ordering::Relaxed);
                        match store.heartbeat_bill_run_job(&job_id, &this.owner, now_unix(), n).await {
                            Ok(true) => {}
                            Ok(false) => {
                                tracing::warn!(job = %job_id, "bill run job taken over by another process; stopping here");
                                break None;
                            }
                            Err(e) => tracing::warn!(job = %job_id, error = %e, "bill run job heartbeat failed"),
                        }
                    }
                }
            };
            this.local.lock().expect("jobs lock").remove(&job_id);
            let Some(result) = result else { return };
            let mut end = BillRunJobEnd {
                job_id: job_id.clone(),
                owner: this.owner.clone(),
                state: "done".into(),
                finished_at: now_unix(),
                customers_done: done.load(Ordering::Relaxed),
                summary_json: None,
                error: None,
            };
            match result {
                Ok(summary) => {
                    end.summary_json = serde_json::to_string(&summary).ok();
                }
                Err(e) => {
                    tracing::error!(error = %e, job = %job_id, "bill run failed");
                    end.state = "failed".into();
                    end.error = Some(failure_text(&e));
                }
            }
            // A store error here leaves the job running without heartbeat: another server (or
            // this one's resumer) takes it over and ends it, issuing nothing new.
            if let Err(e) = store.finish_bill_run_job(&end).await {
                tracing::error!(error = %e, job = %job_id, "could not record the end of the bill run job");
            }
        });
    }

    /// A job by id.
    pub async fn get(&self, store: &DynStore, id: &str) -> AppResult<Option<JobStatus>> {
        match store.get_bill_run_job(id).await {
            Ok(j) => Ok(Some(self.status(j))),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The latest jobs, newest first.
    pub async fn list(&self, store: &DynStore, limit: u32) -> AppResult<Vec<JobStatus>> {
        let jobs = store.list_bill_run_jobs(false, limit).await?;
        Ok(jobs.into_iter().map(|j| self.status(j)).collect())
    }

    fn status(&self, job: BillRunJob) -> JobStatus {
        let live = self.local.lock().expect("jobs lock").get(&job.job_id).map(|d| d.load(Ordering::Relaxed));
        JobStatus::of(job, live)
    }

    /// Takes over the running jobs whose process died (no heartbeat within the lease) and finishes
    /// them in the background; answers their ids.
    pub async fn resume_abandoned(
        self: &Arc<Self>,
        store: &DynStore,
        tariffs: &TariffBook,
    ) -> AppResult<Vec<String>> {
        let now = now_unix();
        let stale_before = now - self.lease_secs;
        let mut resumed = Vec::new();
        for job in store.list_bill_run_jobs(true, 1000).await? {
            if job.heartbeat_at >= stale_before
                || self.local.lock().expect("jobs lock").contains_key(&job.job_id)
            {
                continue;
            }
            // The takeover also closes the run record the dead process left unfinished.
            if !store.take_over_bill_run_job(&job.job_id, &self.owner, now, stale_before).await? {
                continue; // another server was quicker
            }
            tracing::warn!(job = %job.job_id, period = %job.period, "resuming a bill run job whose process stopped");
            match self.resume_options(store, &job).await {
                Ok((actor, opts)) => {
                    self.spawn_worker(
                        store.clone(),
                        actor,
                        tariffs.clone(),
                        opts,
                        job.job_id.clone(),
                        job.customers_done,
                    );
                }
                Err(e) => {
                    let end = BillRunJobEnd {
                        job_id: job.job_id.clone(),
                        owner: self.owner.clone(),
                        state: "failed".into(),
                        finished_at: now_unix(),
                        customers_done: job.customers_done,
                        summary_json: None,
                        error: Some(failure_text(&e)),
                    };
                    store.finish_bill_run_job(&end).await?;
                }
            }
            resumed.push(job.job_id);
        }
        Ok(resumed)
    }

    /// Who ran the job, and its options, to run it again.
    async fn resume_options(&self, store: &DynStore, job: &BillRunJob) -> AppResult<(Actor, RunOptions)> {
        let actor = if job.started_by == Actor::system().staff_id {
            Actor::system()
        } else {
            let staff = store
                .get_staff(&job.started_by)
                .await
                .map_err(|e| AppError::or_not_found(e, "staff", &job.started_by))?;
            if !staff.active {
                return Err(AppError::Forbidden);
            }
            Actor::for_staff(&staff, &store.list_org_units().await?)
        };
        let period = BillPeriod::parse("period", &job.period)?;
        let today: jiff::civil::Date = job.issue_on.parse().map_err(|_| {
            AppError::Store(StoreError::Corrupt(format!("bill_run_jobs.issue_on: {}", job.issue_on)))
        })?;
        let mut opts = RunOptions::new(period, today);
        opts.book_id = job.book_id.clone();
        opts.estimate_missing = job.estimate_missing;
        opts.chunk = job.chunk.max(1);
        opts.job_id = Some(job.job_id.clone());
        Ok((actor, opts))
    }

    /// Looks for abandoned jobs now and then every half lease, until aborted (the server's life).
    pub fn spawn_resumer(
        self: Arc<Self>,
        store: DynStore,
        tariffs: TariffBook,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let every = Duration::from_secs((self.lease_secs / 2).max(1) as u64);
            loop {
                if let Err(e) = self.resume_abandoned(&store, &tariffs).await {
                    tracing::warn!(error = %e, "looking for abandoned bill run jobs failed");
                }
                tokio::time::sleep(every).await;
            }
        })
    }
}

/// The conflict of a second start while `running` runs, naming who started it and when.
fn busy(running: &BillRunJob) -> AppError {
    let at = jiff::Timestamp::from_second(running.started_at)
        .map(|t| t.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8))).strftime("%H:%M:%S").to_string())
        .unwrap_or_default();
    let period = &running.period;
    AppError::Conflict(FieldError::new(
        "period",
        "running",
        format!("{period} 的电费发行正在进行（{} 于 {at} 开始），请等待其结束", running.started_by),
        format!(
            "a bill run of {period} is in progress (started by {} at {at}); wait for it to end",
            running.started_by
        ),
    ))
}

fn failure_text(e: &AppError) -> Text {
    match e {
        AppError::Invalid(errs) => Text::new(
            errs.iter().map(|f| format!("{}: {}", f.field, f.message.zh)).collect::<Vec<_>>().join("; "),
            errs.iter().map(|f| format!("{}: {}", f.field, f.message.en)).collect::<Vec<_>>().join("; "),
        ),
        AppError::Forbidden => Text::new(
            "发起该电费发行的员工已无权限（停用或角色变更），任务未续完",
            "the staff member who started this bill run may no longer run bills; the job was not resumed",
        ),
        other => Text::new(
            format!("电费发行失败，已写入的账单保留，重新发行可续完：{other}"),
            format!("the bill run failed; bills written are kept and a new run finishes the rest: {other}"),
        ),
    }
}
