//! Bill runs started from the web run in the background (a bill run of a county takes minutes, of a
//! province much longer: no HTTP request should wait on it). A job records who started it, the
//! customers done out of the customers to bill, and at the end the run's summary or its error; the
//! page polls it. One job per period at a time: a second start of a period while one runs is
//! refused (two runs of a period would still leave one bill per customer — the store keeps the first
//! — but they would fight over the same rows for nothing).
//!
//! Jobs live in the process (the web server). A job whose process dies leaves its bills written
//! chunk by chunk; starting the period again finishes the rest, as with the CLI.

use super::{run, RunOptions, RunSummary};
use crate::access::Actor;
use crate::error::{AppError, AppResult};
use bureau_domain::error::FieldError;
use bureau_domain::tariff::TariffBook;
use bureau_store::DynStore;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

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
    /// The run's summary once done.
    pub summary: Option<RunSummary>,
    /// Why it failed, in both languages.
    pub error: Option<bureau_domain::i18n::Text>,
}

impl JobStatus {
    pub fn is_running(&self) -> bool {
        self.state == JobState::Running
    }
}

struct Job {
    status: Mutex<JobStatus>,
    done: AtomicU64,
}

impl Job {
    fn snapshot(&self) -> JobStatus {
        let mut s = self.status.lock().expect("job lock").clone();
        if s.state == JobState::Running {
            s.customers_done = self.done.load(Ordering::Relaxed);
        }
        s
    }
}

/// The jobs of this process, newest last.
#[derive(Default)]
pub struct BillRunJobs {
    jobs: Mutex<Vec<Arc<Job>>>,
    seq: AtomicU64,
}

impl BillRunJobs {
    /// Starts a run of `opts.period` in the background and returns its first snapshot; refused with
    /// a conflict while another job of the same period runs.
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
        let job = self.claim(
            &period,
            opts.book_id.clone(),
            &actor.staff_id,
            customers.saturating_sub(totals.bills),
        )?;
        let first = job.snapshot();
        let (store, actor, tariffs) = (store.clone(), actor.clone(), tariffs.clone());
        let worker = job.clone();
        tokio::spawn(async move {
            let progress = |n: u64| {
                worker.done.fetch_add(n, Ordering::Relaxed);
            };
            let result = run(&store, &actor, &tariffs, &opts, &progress).await;
            let mut s = worker.status.lock().expect("job lock");
            s.finished_at = Some(jiff::Timestamp::now().as_second());
            s.customers_done = worker.done.load(Ordering::Relaxed);
            match result {
                Ok(summary) => {
                    s.state = JobState::Done;
                    s.customers_total = s.customers_total.max(s.customers_done);
                    s.summary = Some(summary);
                }
                Err(e) => {
                    tracing::error!(error = %e, job = %s.id, "bill run failed");
                    s.state = JobState::Failed;
                    s.error = Some(match &e {
                        AppError::Invalid(errs) => bureau_domain::i18n::Text::new(
                            errs.iter().map(|f| format!("{}: {}", f.field, f.message.zh)).collect::<Vec<_>>().join("; "),
                            errs.iter().map(|f| format!("{}: {}", f.field, f.message.en)).collect::<Vec<_>>().join("; "),
                        ),
                        other => bureau_domain::i18n::Text::new(
                            format!("电费发行失败，已写入的账单保留，重新发行可续完：{other}"),
                            format!("the bill run failed; bills written are kept and a new run finishes the rest: {other}"),
                        ),
                    });
                }
            }
        });
        Ok(first)
    }

    /// Registers a running job of `period`, unless one is running already (then a conflict naming
    /// who started it and when).
    fn claim(&self, period: &str, book_id: Option<String>, by: &str, total: u64) -> AppResult<Arc<Job>> {
        let mut jobs = self.jobs.lock().expect("jobs lock");
        if let Some(running) =
            jobs.iter().map(|j| j.snapshot()).find(|s| s.period == period && s.state == JobState::Running)
        {
            let at = jiff::Timestamp::from_second(running.started_at)
                .map(|t| {
                    t.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
                        .strftime("%H:%M:%S")
                        .to_string()
                })
                .unwrap_or_default();
            return Err(AppError::Conflict(FieldError::new(
                "period",
                "running",
                format!("{period} 的电费发行正在进行（{} 于 {at} 开始），请等待其结束", running.started_by),
                format!(
                    "a bill run of {period} is in progress (started by {} at {at}); wait for it to end",
                    running.started_by
                ),
            )));
        }
        let n = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let started_at = jiff::Timestamp::now().as_second();
        let job = Arc::new(Job {
            status: Mutex::new(JobStatus {
                id: format!("{period}-{started_at}-{n}"),
                period: period.to_string(),
                book_id,
                state: JobState::Running,
                started_by: by.to_string(),
                started_at,
                finished_at: None,
                customers_done: 0,
                customers_total: total,
                summary: None,
                error: None,
            }),
            done: AtomicU64::new(0),
        });
        jobs.push(job.clone());
        // Keep the last few dozen finished jobs for the page.
        while jobs.len() > 50 {
            match jobs.iter().position(|j| j.snapshot().state != JobState::Running) {
                Some(i) => {
                    jobs.remove(i);
                }
                None => break,
            }
        }
        Ok(job)
    }

    /// A job by id.
    pub fn get(&self, id: &str) -> Option<JobStatus> {
        self.jobs.lock().expect("jobs lock").iter().map(|j| j.snapshot()).find(|s| s.id == id)
    }

    /// The jobs of this process, newest first.
    pub fn list(&self) -> Vec<JobStatus> {
        self.jobs.lock().expect("jobs lock").iter().rev().map(|j| j.snapshot()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finish(job: &Job) {
        job.status.lock().unwrap().state = JobState::Done;
    }

    #[test]
    fn a_second_start_of_a_running_period_is_refused() {
        let jobs = BillRunJobs::default();
        let first = jobs.claim("2026-10", None, "clerk", 300).unwrap();
        let Err(AppError::Conflict(e)) = jobs.claim("2026-10", Some("B01".into()), "manager", 300) else {
            panic!("a second run of the period while one runs must be refused");
        };
        assert_eq!((e.field.as_str(), e.code), ("period", "running"));
        assert!(e.message.en.contains("started by clerk"), "{}", e.message.en);
        // Another period may run meanwhile; the same period again once the first has ended.
        assert!(jobs.claim("2026-11", None, "clerk", 300).is_ok());
        finish(&first);
        assert!(jobs.claim("2026-10", None, "manager", 300).is_ok());
        assert_eq!(jobs.list().len(), 3);
        assert_eq!(jobs.list()[0].started_by, "manager", "newest first");
    }

    #[test]
    fn progress_is_read_while_running() {
        let jobs = BillRunJobs::default();
        let job = jobs.claim("2026-10", None, "clerk", 300).unwrap();
        job.done.fetch_add(120, Ordering::Relaxed);
        let s = jobs.get(&job.snapshot().id).unwrap();
        assert_eq!((s.customers_done, s.customers_total, s.state), (120, 300, JobState::Running));
        assert!(jobs.get("nope").is_none());
    }
}
