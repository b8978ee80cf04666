//! The sweep: expired sessions (and login-attempt counts) deleted in bounded batches, on a
//! schedule.
//!
//! Every read already treats an expired session as missing, so correctness never waits for
//! the sweep. It is about space: without it, the embedded store's sessions table (and a
//! MongoDB-compatible server that refuses TTL indexes, as FerretDB does) grows by one record
//! per login, forever, and MongoDB's `login_attempts` by one per key and window. On MongoDB proper the TTL index deletes them too, about once a minute;
//! the sweep then mostly finds nothing left to do, at the cost of one indexed query a run.
//!
//! ```text
//! run: delete_expired(now, BATCH) ──► BATCH deleted? ──yes──► again (other writes go between)
//!                                          │no
//!                                          ▼
//!                                 wait `every`, then run again
//! ```
//!
//! Each batch is one write transaction (embedded) or one `find` and one `deleteMany`
//! (MongoDB), of at most [`BATCH`] sessions, so no single write holds the store for long; a
//! run goes on batch after batch until one comes back short, so a backlog of any size is
//! gone within one run.
//!
//! The first run starts at once, not after a wait. That is what keeps a restart from losing
//! the schedule's effect: a server restarted more often than its interval would otherwise
//! never sweep, and sessions that expired while it was down go the moment it is back. The
//! schedule needs no memory of its own: what is expired is read from the data (an index on
//! the expiry), not from when the last run was.
//!
//! A failed batch (the database is down) ends the run with a log line; the next run tries
//! again. The task stops when its [`Sweeper`] is dropped, as mini-redis's purge task stops
//! with its drop guard.

use std::sync::Arc;
use std::time::Duration;

use bson::DateTime;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::SessionStore;
use super::attempts::AttemptStore;

/// The most sessions one batch deletes: one write transaction's worth, a few milliseconds.
pub const BATCH: usize = 1000;

/// How often the sweep runs unless told otherwise.
pub const DEFAULT_EVERY: Duration = Duration::from_secs(60);

/// What the sweep has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepRuns {
    /// Runs finished.
    pub runs: u64,
    /// Sessions deleted in all of them.
    pub deleted: u64,
}

/// The running sweep; dropping it stops the task.
#[derive(Debug)]
pub struct Sweeper {
    task: JoinHandle<()>,
    runs: watch::Receiver<SweepRuns>,
}

impl Sweeper {
    /// Starts sweeping `store` now and every `every` after that.
    pub fn start<S>(store: Arc<S>, every: Duration) -> Sweeper
    where
        S: SessionStore + AttemptStore + Send + Sync + 'static,
    {
        let (report, runs) = watch::channel(SweepRuns::default());
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            // After a slow run, wait a whole interval again rather than catching up.
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                ticks.tick().await; // the first tick is immediate
                let deleted = sweep_once(&*store).await;
                report.send_modify(|runs| {
                    runs.runs += 1;
                    runs.deleted += deleted;
                });
            }
        });
        Sweeper { task, runs }
    }

    /// Waits until `run` runs have finished (the first is run 1), and returns the totals.
    pub async fn finished(&mut self, run: u64) -> SweepRuns {
        // An error means the task ended, which only a panic in it does: then report what
        // it got done.
        let _ = self.runs.wait_for(|runs| runs.runs >= run).await;
        *self.runs.borrow()
    }
}

impl Drop for Sweeper {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One run: expired sessions, then expired login-attempt counts, each in batches until one
/// comes back short. Returns how many sessions it deleted.
async fn sweep_once<S: SessionStore + AttemptStore>(store: &S) -> u64 {
    let deleted = batches(|| store.delete_expired(DateTime::now(), BATCH), "sessions").await;
    batches(
        || store.delete_expired_attempts(DateTime::now(), BATCH),
        "login attempt counts",
    )
    .await;
    deleted
}

/// Runs `batch` until one deletes fewer than [`BATCH`]; how many were deleted in all.
async fn batches<F, Fut>(mut batch: F, what: &str) -> u64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<u64, super::StoreError>>,
{
    let mut deleted = 0;
    loop {
        match batch().await {
            Ok(batch) => {
                deleted += batch;
                if batch < BATCH as u64 {
                    break;
                }
            }
            Err(error) => {
                tracing::warn!(%error, "sweeping expired {what} failed; the next run retries");
                break;
            }
        }
        // Let waiting requests run between batches.
        tokio::task::yield_now().await;
    }
    if deleted > 0 {
        tracing::debug!(deleted, "expired {what} swept");
    }
    deleted
}
