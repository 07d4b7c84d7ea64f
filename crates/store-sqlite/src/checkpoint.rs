//! The WAL checkpointer: copies committed pages from the write-ahead log back into the database file
//! on a thread of its own, so that no commit ever does it.
//!
//! Why: SQLite's automatic checkpoint (`wal_autocheckpoint`, 1,000 pages by default) runs inside the
//! connection whose commit pushed the log past the limit, right after that commit: it copies the
//! log's pages into the database file and fsyncs the log and the file. Our writes go through one
//! writer connection, so every order queued behind that commit waited for the copy and two fsyncs.
//! Under 95598 intake that happened about 11 times a second (`strace -f -T -e trace=fsync` of
//! `bureau serve` during bench/intake.lua: 453 fsyncs in 20 s, all on the writer's thread, up to
//! 16 ms each; docs/performance.md).
//!
//! So every connection of the store sets `wal_autocheckpoint = 0`, and this thread runs a PASSIVE
//! checkpoint every [`INTERVAL`]: PASSIVE never takes the write lock and never waits, so writers keep
//! appending to the log while it copies. The log is reset (written again from its start) by the
//! first write after a checkpoint that copied everything; under a steady stream of commits a
//! checkpoint may end a few frames short of the end of the log, so while the log is longer than
//! [`CATCH_UP_FRAMES`] the thread checkpoints again at once: each round has less to copy, and one
//! ends in a pause between commits. When the database has been idle for a tick, a log file grown
//! past [`TRUNCATE_BYTES`] is truncated (a TRUNCATE checkpoint that does not wait: with nothing to
//! copy it only takes the write lock for the truncation). See SQLite's documentation of
//! `sqlite3_wal_checkpoint_v2` and of WAL mode (sqlite.org/wal.html, "Checkpointing").

use crate::bill_run::err;
use bureau_store::StoreResult;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

/// Time between two checkpoints of a log that is not growing fast.
pub(crate) const INTERVAL: Duration = Duration::from_millis(500);
/// A log longer than this (4 KiB pages: 16 MiB) is checkpointed again at once until it is reset.
pub(crate) const CATCH_UP_FRAMES: i64 = 4_000;
/// Pause between catch-up rounds, so that a writer gets in between them.
const CATCH_UP_PAUSE: Duration = Duration::from_millis(5);
/// An idle log file larger than this is truncated.
pub(crate) const TRUNCATE_BYTES: u64 = 64 << 20;

/// What one checkpoint saw: the frames in the log and how many of them are in the database file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalState {
    /// Another checkpoint was running, or (TRUNCATE) a reader or writer was in the way.
    pub busy: bool,
    pub log_frames: i64,
    pub checkpointed_frames: i64,
}

/// Runs one checkpoint of the given mode (`PASSIVE` or `TRUNCATE`) on `conn`.
pub(crate) fn checkpoint(conn: &Connection, mode: &str) -> StoreResult<WalState> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
        Ok(WalState { busy: r.get::<_, i64>(0)? != 0, log_frames: r.get(1)?, checkpointed_frames: r.get(2)? })
    })
    .map_err(err)
}

/// Opens a connection to `path` for checkpoints: no busy wait, so a TRUNCATE never holds up writers.
pub(crate) fn open(path: &Path) -> StoreResult<Connection> {
    let c = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
    )
    .map_err(err)?;
    c.busy_timeout(Duration::ZERO).map_err(err)?;
    c.execute_batch("PRAGMA wal_autocheckpoint = 0;").map_err(err)?;
    Ok(c)
}

/// The background checkpointer of one database file; the thread ends when this is dropped.
pub(crate) struct Checkpointer {
    _stop: mpsc::Sender<()>,
    #[cfg_attr(not(test), expect(dead_code, reason = "read by the tests"))]
    rounds: Arc<AtomicU64>,
}

impl Checkpointer {
    /// Starts the thread on a connection opened here (an error if the file cannot be opened, so a
    /// store never runs with automatic checkpoints off and nobody checkpointing).
    pub(crate) fn start(path: PathBuf, interval: Duration) -> StoreResult<Checkpointer> {
        let conn = open(&path)?;
        let (stop, rx) = mpsc::channel::<()>();
        let rounds = Arc::new(AtomicU64::new(0));
        let counter = rounds.clone();
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(conn, &path, interval, rx, &counter))
            .map_err(|e| bureau_store::StoreError::Database(format!("cannot start the checkpointer: {e}")))?;
        Ok(Checkpointer { _stop: stop, rounds })
    }

    /// Checkpoints run so far (for tests that wait for one).
    #[cfg(test)]
    pub(crate) fn rounds(&self) -> u64 {
        self.rounds.load(Ordering::Acquire)
    }
}

fn run(conn: Connection, path: &Path, interval: Duration, rx: mpsc::Receiver<()>, rounds: &AtomicU64) {
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    let mut wait = interval;
    let mut last: Option<WalState> = None;
    loop {
        match rx.recv_timeout(wait) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        let state = match checkpoint(&conn, "PASSIVE") {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("WAL checkpoint of {} failed: {e}", path.display());
                wait = interval;
                continue;
            }
        };
        let idle = last == Some(state) && state.log_frames == state.checkpointed_frames;
        if idle && state.log_frames > 0 && std::fs::metadata(&wal).is_ok_and(|m| m.len() > TRUNCATE_BYTES) {
            if let Err(e) = checkpoint(&conn, "TRUNCATE") {
                tracing::debug!("WAL truncation of {} skipped: {e}", path.display());
            }
        }
        rounds.fetch_add(1, Ordering::Release);
        wait = if state.log_frames > CATCH_UP_FRAMES && state.checkpointed_frames < state.log_frames {
            CATCH_UP_PAUSE
        } else {
            interval
        };
        last = Some(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn temp(name: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("bureau-ckpt-{name}-{}.db", std::process::id()));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
        }
        p
    }

    fn cleanup(p: &Path) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
        }
    }

    fn writer(p: &Path) -> Connection {
        let c = Connection::open(p).unwrap();
        c.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0;
             CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v BLOB);",
        )
        .unwrap();
        c
    }

    fn wal_len(p: &Path) -> u64 {
        std::fs::metadata(format!("{}-wal", p.display())).map_or(0, |m| m.len())
    }

    fn insert(c: &Connection, n: usize) {
        for _ in 0..n {
            c.execute("INSERT INTO t (v) VALUES (zeroblob(3000))", []).unwrap();
        }
    }

    /// Waits (without a time limit in the assertion) until the checkpointer has run `n` more rounds.
    fn wait_rounds(ck: &Checkpointer, n: u64) {
        let target = ck.rounds() + n;
        let start = Instant::now();
        while ck.rounds() < target {
            assert!(start.elapsed() < Duration::from_secs(120), "the checkpointer never ran");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    #[test]
    fn without_a_checkpointer_the_log_only_grows() {
        // The control for the test below: with automatic checkpoints off and no checkpointer, 6,000
        // commits of a 3,000-byte row leave every frame in the log (three pages a commit: the new
        // leaf, its parent and page 1 with the file size; well over 12,000 frames).
        let p = temp("control");
        let c = writer(&p);
        insert(&c, 6_000);
        assert!(wal_len(&p) > 12_000 * 4096, "log of {} bytes", wal_len(&p));
        drop(c);
        cleanup(&p);
    }

    #[test]
    fn the_checkpointer_keeps_the_log_bounded_and_the_rows_reach_the_file() {
        let p = temp("bounded");
        let c = writer(&p);
        let ck = Checkpointer::start(p.clone(), Duration::from_millis(1)).unwrap();
        for _ in 0..6 {
            insert(&c, 1_000);
            // Two rounds: the first may start before the last commit; the second copies the rest,
            // and the next commit then writes the log from its start again.
            wait_rounds(&ck, 2);
        }
        // About 18,000 frames went through the log; it was reset after every 1,000 commits, so the
        // file never held more than one round's frames (about 3,000 of 4,120 bytes, and the header).
        assert!(wal_len(&p) < 4_000 * 4096, "log of {} bytes", wal_len(&p));
        wait_rounds(&ck, 2);
        let state = checkpoint(&open(&p).unwrap(), "PASSIVE").unwrap();
        assert_eq!(state.log_frames, state.checkpointed_frames, "{state:?}");
        // The rows are in the database file itself: read it with the log set aside.
        drop(c);
        drop(ck);
        let copy = temp("bounded-copy");
        std::fs::copy(&p, &copy).unwrap();
        let n: i64 =
            Connection::open(&copy).unwrap().query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 6_000);
        cleanup(&copy);
        cleanup(&p);
    }

    #[test]
    fn an_idle_large_log_is_truncated() {
        let p = temp("truncate");
        let c = writer(&p);
        // About 80 MiB of log, more than TRUNCATE_BYTES.
        c.execute_batch("BEGIN").unwrap();
        insert(&c, 22_000);
        c.execute_batch("COMMIT").unwrap();
        assert!(wal_len(&p) > TRUNCATE_BYTES);
        let ck = Checkpointer::start(p.clone(), Duration::from_millis(1)).unwrap();
        // Round 1 copies the log, round 2 sees it unchanged and fully copied, and truncates it.
        wait_rounds(&ck, 3);
        assert_eq!(wal_len(&p), 0);
        let n: i64 = c.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 22_000);
        drop(ck);
        drop(c);
        cleanup(&p);
    }
}

#[cfg(test)]
mod store_tests {
    #[tokio::test]
    async fn no_connection_of_the_store_checkpoints_on_commit() {
        let p = std::env::temp_dir().join(format!("bureau-ckpt-store-{}.db", std::process::id()));
        let store = crate::SqlStore::open(&format!("sqlite://{}", p.display())).await.unwrap();
        for pool in [&store.writer, &store.pool] {
            let n: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint").fetch_one(pool).await.unwrap();
            assert_eq!(n, 0);
        }
        let direct = store.direct.clone().unwrap();
        let n: i64 = direct
            .with_reader(|c| c.query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0)).map_err(super::err))
            .unwrap();
        assert_eq!(n, 0);
        assert!(store._checkpointer.is_some());
        drop(direct);
        drop(store);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
        }
    }
}
