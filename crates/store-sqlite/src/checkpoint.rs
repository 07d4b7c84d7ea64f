//! Copying the write-ahead log into the database file beside the direct writer instead of after
//! each of its commits.
//!
//! Why: SQLite's WAL grows with every commit and a checkpoint copies it back into the database
//! file. By default (`wal_autocheckpoint` = 1,000 pages) the connection that commits runs that
//! checkpoint itself, right after its commit, once the WAL holds 1,000 pages. A bank-file chunk of
//! 2,000 payments dirties about 4,000 pages (a ledger-entry leaf and a ledger-version leaf per
//! payment: 850 MB of WAL for 100,000 payments), so every commit of the direct writer was followed
//! by a checkpoint of all of it, with its two `fsync`s, on the writer's thread: a third of the
//! writer's time, and the writer is what bounds a bank file's speed (docs/performance.md, issue 4).
//!
//! How: after each commit of the direct writer, a thread of its own runs a `PASSIVE` checkpoint on
//! a connection of its own while the writer goes on with its next transaction (SQLite lets one
//! checkpoint run beside one writer; it copies only frames committed before it began, and never
//! waits for readers or the writer). A passive checkpoint never starts the WAL over, though: the
//! WAL is reused from its beginning only when a write transaction begins with every frame already
//! copied, which never happens while the writer keeps appending. So the writer keeps an automatic
//! checkpoint of its own at a higher mark ([`WRITER_AUTOCHECKPOINT_PAGES`]); when it is reached it
//! copies the little the thread has not copied yet and its next transaction starts the WAL over,
//! which keeps the file's size bounded. Durability is unchanged: it comes from the commit (WAL with
//! `synchronous = NORMAL`), and a checkpoint only moves committed pages.

use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard};

/// The WAL size (in pages of 4 KiB) at which the direct writer checkpoints after its commit: a
/// mark for starting the WAL over (see the module's comment), 64 MiB, well above what the thread
/// leaves behind between two commits.
pub(crate) const WRITER_AUTOCHECKPOINT_PAGES: u32 = 16_384;

/// The background checkpoint thread of one database file, started on the first commit.
pub(crate) struct Checkpointer {
    path: PathBuf,
    /// Wakes the thread; `None` until it is started (or after it stopped). A channel of one slot: a
    /// commit while a wake-up is already pending adds nothing, the pending checkpoint copies its
    /// frames too.
    wake: Mutex<Option<SyncSender<()>>>,
    /// Held by the thread while it checkpoints. SQLite answers `SQLITE_BUSY` at once, without
    /// waiting, to a checkpoint asked for while another runs; a caller that needs its own
    /// checkpoint to run ([`crate::bill_run::Direct::sync`]) holds this first ([`Checkpointer::hold`]).
    running: Arc<Mutex<()>>,
}

impl Checkpointer {
    pub(crate) fn new(path: PathBuf) -> Checkpointer {
        Checkpointer { path, wake: Mutex::new(None), running: Arc::new(Mutex::new(())) }
    }

    /// Called after a commit of the direct writer: asks the thread for a checkpoint, starting the
    /// thread if needed. Never blocks and never fails the commit: if the thread cannot be started
    /// the writer's own automatic checkpoint still keeps the WAL bounded, only slower.
    pub(crate) fn committed(&self) {
        let Ok(mut wake) = self.wake.lock() else { return };
        if wake.is_none() {
            let (tx, rx) = sync_channel(1);
            let (path, running) = (self.path.clone(), self.running.clone());
            match std::thread::Builder::new()
                .name("sqlite-checkpoint".into())
                .spawn(move || run(path, rx, running))
            {
                Ok(_) => *wake = Some(tx),
                Err(e) => {
                    tracing::warn!(error = %e, "the WAL checkpoint thread could not be started");
                    return;
                }
            }
        }
        if let Some(tx) = wake.as_ref() {
            if let Err(TrySendError::Disconnected(())) = tx.try_send(()) {
                *wake = None;
            }
        }
    }

    /// Waits until no background checkpoint runs, and keeps the thread from starting one while the
    /// guard lives.
    pub(crate) fn hold(&self) -> MutexGuard<'_, ()> {
        self.running.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The thread: one passive checkpoint per wake-up, until the [`Checkpointer`] is dropped (which
/// drops the only sender). Its connection is opened on the first wake-up and closed at the end.
fn run(path: PathBuf, wake: Receiver<()>, running: Arc<Mutex<()>>) {
    let mut conn: Option<rusqlite::Connection> = None;
    while wake.recv().is_ok() {
        let _running = running.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if conn.is_none() {
            match crate::bill_run::open(&path) {
                Ok(c) => conn = Some(c),
                Err(e) => {
                    tracing::warn!(error = %e, "the WAL checkpoint thread could not open the database");
                    continue;
                }
            }
        }
        if let Some(c) = &conn {
            // Busy (another checkpoint running, e.g. a connection's automatic one) is not an error:
            // the frames are copied by that one or by the next wake-up.
            if let Err(e) = c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                tracing::debug!(error = %e, "background WAL checkpoint");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::WRITER_AUTOCHECKPOINT_PAGES;
    use crate::bill_run::Direct;
    use rusqlite::Connection;
    use std::time::{Duration, Instant};

    #[test]
    fn the_thread_copies_a_commit_of_the_direct_writer_into_the_file() {
        let path = std::env::temp_dir().join(format!("bureau-checkpoint-{}.db", std::process::id()));
        let remove = || {
            for ext in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
            }
        };
        remove();
        // This connection stays open, so that no close checkpoints the WAL behind the test's back.
        let c = Connection::open(&path).unwrap();
        c.execute_batch(
            "PRAGMA journal_mode = WAL; CREATE TABLE t (x BLOB); PRAGMA wal_checkpoint(TRUNCATE);",
        )
        .unwrap();
        // The file's size by `stat`, never by opening it: closing a descriptor of the database
        // file would drop this process's locks on it (see `Direct::sync`).
        let size = || std::fs::metadata(&path).unwrap().len();
        let before = size();

        // About 500 pages: far below the writer's own automatic checkpoint, so only the thread
        // can copy them into the file.
        let rows = 500;
        assert!(rows < WRITER_AUTOCHECKPOINT_PAGES);
        let direct = Direct::new(path.clone());
        direct
            .with_writer(|w| {
                w.execute_batch(&format!(
                    "BEGIN IMMEDIATE;
                     WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})
                     INSERT INTO t SELECT randomblob(3000) FROM n;
                     COMMIT;"
                ))
                .map_err(crate::bill_run::err)
            })
            .unwrap();

        let deadline = Instant::now() + Duration::from_secs(30);
        while size() < before + 1_000_000 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            size() >= before + 1_000_000,
            "the commit's pages are in the database file ({} bytes)",
            size()
        );
        let n: i64 = c.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(n, i64::from(rows));
        // A full checkpoint after it (the bill run's end) still succeeds: it waits for the thread.
        direct.sync().unwrap();
        drop((c, direct));
        remove();
    }
}
