//! Password hashing as a bounded resource: a fixed set of workers, a queue
//! with a bound, and a quick refusal past it.
//!
//! Every login, registration, password change and token costs one or two
//! Argon2id hashes: 19 MiB and tens of milliseconds of a core each (see
//! [`password`](super::password)). Run each on a thread of its own, as the usual recipe does
//! (`spawn_blocking`), and N logins at once take N × 19 MiB: a few hundred
//! anonymous requests would take gigabytes and, a little past that, the
//! process. So hashing goes through a [`HashPool`]:
//!
//! ```text
//!  login ──► admit? ──no──► 503 + Retry-After (microseconds, no hashing)
//!              │yes: a ticket (running + queued ≤ workers + queue)
//!              ▼
//!          FIFO queue ──► worker 1 │ its own 19 MiB Workspace
//!                     ──► worker 2 │ its own 19 MiB Workspace
//!                     ──► …        │ (`workers` threads, fixed)
//! ```
//!
//! - **Memory** spent on hashing is at most `workers` × 19 MiB, whatever the
//!   load: each worker allocates its 19 MiB at its first hash and reuses them
//!   for every hash after.
//! - **CPU**: at most `workers` cores hash at once; the async workers that
//!   serve connections are never blocked by it, so `/health` and every other
//!   route keep answering during a storm of logins.
//! - **Waiting** is first come, first served, and bounded: a login admitted
//!   behind a full queue waits about `queue` ÷ `workers` hashes. Past the
//!   bound the answer is `503 Service Unavailable` with `Retry-After`, at
//!   once: a refusal costs microseconds; a queue without a bound would cost
//!   memory first and then every waiting client's patience.
//!
//! What a waiting login holds is small on purpose: its connection and request
//! (which the server's own limits bound), a count in an atomic, and its job in
//! the queue (the password and the stored hash, under 2 KiB). It holds no
//! thread, no Argon2 memory and no database connection (the account was read
//! before it queued). If its client goes away, the request is dropped, and
//! the worker that later takes the job sees nobody waits for the answer and
//! skips it: an abandoned login costs no hashing.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::password::{PasswordError, Workspace};

/// How many hashes run at once and how many may wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashLimits {
    /// Worker threads, each with its own Argon2 memory: the hashes that run
    /// at once. Default: the machine's available parallelism, since a hash
    /// is pure CPU work and more workers than cores only adds memory.
    pub workers: usize,
    /// Jobs that may wait for a worker. Default: 32 per worker, so a login at
    /// the back of a full queue waits about 32 hashes (about a second on a
    /// current core) before it starts.
    pub queue: usize,
}

/// The default queue, per worker (see [`HashLimits::queue`]).
pub const QUEUE_PER_WORKER: usize = 32;

impl HashLimits {
    /// `workers` workers and the default queue for them.
    pub fn with_workers(workers: usize) -> HashLimits {
        HashLimits {
            workers,
            queue: QUEUE_PER_WORKER * workers,
        }
    }
}

impl Default for HashLimits {
    fn default() -> Self {
        HashLimits::with_workers(std::thread::available_parallelism().map_or(1, usize::from))
    }
}

/// Why a hashing job did not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashError {
    /// Every worker is busy and the queue is full: answer 503 and ask the
    /// client to come back after this long (at least a second).
    Busy {
        /// The estimated time for the queue to drain.
        retry_after: Duration,
    },
    /// The job could not produce a result: no randomness for a salt, Argon2
    /// failed, or the pool's workers are gone.
    Failed,
}

impl From<PasswordError> for HashError {
    fn from(_: PasswordError) -> HashError {
        HashError::Failed
    }
}

/// A job: the work, given the worker's workspace. It holds its ticket, and
/// gives it back and sends its own answer when done.
type Job = Box<dyn FnOnce(&mut Workspace) + Send>;

/// What the pool, its tickets and its workers share.
#[derive(Debug)]
struct Shared {
    /// Jobs admitted and not yet finished: running plus queued.
    admitted: AtomicUsize,
    /// `workers + queue`: the most `admitted` may reach.
    capacity: usize,
    workers: usize,
    /// A moving average of one job's time, in microseconds, for
    /// `Retry-After`. Starts at a guess until jobs have run.
    average_job_micros: AtomicU64,
}

/// A fixed set of Argon2 workers behind a bounded FIFO queue.
///
/// Dropping the pool closes the queue; each worker finishes the job in hand
/// and exits.
#[derive(Debug)]
pub struct HashPool {
    queue: mpsc::Sender<Job>,
    shared: Arc<Shared>,
}

/// A place in the pool (running or queued), taken by [`HashPool::admit`]
/// before anything else is spent on the request, and given back when its job
/// finishes or the ticket is dropped unused.
#[derive(Debug)]
#[must_use = "a ticket holds a place in the pool until it is used or dropped"]
pub struct Ticket {
    shared: Arc<Shared>,
    queue: mpsc::Sender<Job>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.shared.admitted.fetch_sub(1, Ordering::AcqRel);
    }
}

impl HashPool {
    /// Starts `limits.workers` threads (at least one), each with its own
    /// workspace.
    ///
    /// # Errors
    ///
    /// When a thread cannot be started or the random source fails.
    pub fn start(limits: &HashLimits) -> std::io::Result<HashPool> {
        let workers = limits.workers.max(1);
        let shared = Arc::new(Shared {
            admitted: AtomicUsize::new(0),
            capacity: workers + limits.queue,
            workers,
            // A first guess at one hash: the order of magnitude on a current
            // core, replaced by measurements as soon as jobs run.
            average_job_micros: AtomicU64::new(50_000),
        });
        let (queue, jobs) = mpsc::channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        for index in 0..workers {
            let workspace = Workspace::new()
                .map_err(|_| std::io::Error::other("no random source for the password workers"))?;
            let jobs = Arc::clone(&jobs);
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name(format!("argon2-{index}"))
                .spawn(move || work(&jobs, workspace, &shared))?;
        }
        Ok(HashPool { queue, shared })
    }

    /// Takes a place in the pool, or says how long to wait for one.
    ///
    /// # Errors
    ///
    /// [`HashError::Busy`] when `workers + queue` jobs are already admitted.
    pub fn admit(&self) -> Result<Ticket, HashError> {
        let shared = &self.shared;
        let taken = shared
            .admitted
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |admitted| {
                (admitted < shared.capacity).then_some(admitted + 1)
            });
        match taken {
            Ok(_) => Ok(Ticket {
                shared: Arc::clone(shared),
                queue: self.queue.clone(),
            }),
            Err(admitted) => Err(HashError::Busy {
                retry_after: shared.drain_time(admitted),
            }),
        }
    }

    /// Hashes a new password (registration): [`admit`](Self::admit), then
    /// [`Ticket::hash`].
    ///
    /// # Errors
    ///
    /// [`HashError::Busy`] when the pool is full, `Failed` when hashing fails.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        self.admit()?.hash(password).await
    }
}

impl Ticket {
    /// Queues `job` for the next free worker, behind every job queued
    /// before it, and returns where its answer will arrive.
    fn submit<T: Send + 'static>(
        self,
        job: impl FnOnce(&mut Workspace) -> T + Send + 'static,
    ) -> Result<oneshot::Receiver<T>, HashError> {
        let (answer, answered) = oneshot::channel();
        let queue = self.queue.clone();
        let ticket = self;
        let job: Job = Box::new(move |workspace| {
            // The caller was dropped while queued (its client went away):
            // nobody wants the answer, so the hash is not worth its cost.
            if answer.is_closed() {
                return;
            }
            let result = job(workspace);
            // The place is free before the caller hears back, so whatever
            // it does next finds room.
            drop(ticket);
            let _ = answer.send(result);
        });
        queue.send(job).map_err(|_| HashError::Failed)?;
        Ok(answered)
    }

    /// Runs `job` on the next free worker and waits for its answer.
    async fn run<T: Send + 'static>(
        self,
        job: impl FnOnce(&mut Workspace) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        self.submit(job)?.await.map_err(|_| HashError::Failed)
    }

    /// Hashes a new password into a PHC string.
    ///
    /// # Errors
    ///
    /// [`HashError::Failed`] when hashing fails.
    pub async fn hash(self, password: String) -> Result<String, HashError> {
        Ok(self
            .run(move |workspace| workspace.hash(&password))
            .await??)
    }

    /// Checks a password against the account's stored hash, or, for an
    /// account that does not exist (`None`), against a dummy hash with the
    /// same cost, so the answer takes as long either way.
    ///
    /// # Errors
    ///
    /// [`HashError::Failed`] when the workers are gone.
    pub async fn verify(self, password: String, stored: Option<String>) -> Result<bool, HashError> {
        self.run(move |workspace| match stored {
            Some(stored) => workspace.verify(&password, &stored),
            None => workspace.verify_dummy(&password),
        })
        .await
    }

    /// A password change: checks `current` against `stored` and, only if it
    /// matches, hashes `new`. `None` means the current password was wrong.
    /// One job, so a change never waits in the queue twice.
    ///
    /// # Errors
    ///
    /// [`HashError::Failed`] when hashing fails.
    pub async fn change(
        self,
        current: String,
        stored: String,
        new: String,
    ) -> Result<Option<String>, HashError> {
        let changed = self
            .run(move |workspace| {
                workspace
                    .verify(&current, &stored)
                    .then(|| workspace.hash(&new))
                    .transpose()
            })
            .await??;
        Ok(changed)
    }
}

impl Shared {
    /// How long until a queue holding `admitted` jobs has drained: the time
    /// to tell a refused client, at least one second (`Retry-After` counts
    /// whole seconds).
    fn drain_time(&self, admitted: usize) -> Duration {
        let job = self.average_job_micros.load(Ordering::Relaxed);
        let jobs_per_worker = u64::try_from(admitted.div_ceil(self.workers)).unwrap_or(u64::MAX);
        let seconds = jobs_per_worker.saturating_mul(job).div_ceil(1_000_000);
        Duration::from_secs(seconds.max(1))
    }

    /// Folds one job's time into the moving average (weight 1/8).
    fn record_job(&self, took: Duration) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let _ =
            self.average_job_micros
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |average| {
                    Some(average - average / 8 + micros / 8)
                });
    }
}

/// One worker: take the oldest job and run it in this worker's workspace
/// (the job gives its ticket back), until the pool is dropped.
fn work(jobs: &Mutex<mpsc::Receiver<Job>>, mut workspace: Workspace, shared: &Shared) {
    loop {
        // Only the receive holds the lock: one idle worker waits in `recv`,
        // the others wait for the lock, and each job goes to exactly one.
        // A poisoned lock means a worker panicked while receiving, which
        // leaves the receiver itself intact.
        let next = jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .recv();
        let Ok(job) = next else {
            return; // the pool was dropped
        };
        let started = Instant::now();
        job(&mut workspace);
        shared.record_job(started.elapsed());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(workers: usize, queue: usize) -> HashPool {
        HashPool::start(&HashLimits { workers, queue }).unwrap()
    }

    #[tokio::test]
    async fn hash_then_verify_through_the_pool() {
        let pool = pool(1, 1);
        let stored = pool.hash("correct horse".into()).await.unwrap();
        let ticket = pool.admit().unwrap();
        assert!(
            ticket
                .verify("correct horse".into(), Some(stored.clone()))
                .await
                .unwrap()
        );
        let ticket = pool.admit().unwrap();
        assert!(!ticket.verify("wrong".into(), Some(stored)).await.unwrap());
        let ticket = pool.admit().unwrap();
        assert!(!ticket.verify("anything".into(), None).await.unwrap());
    }

    #[tokio::test]
    async fn admission_stops_at_workers_plus_queue_and_reopens() {
        let pool = pool(2, 3);
        let tickets: Vec<Ticket> = (0..5).map(|_| pool.admit().unwrap()).collect();
        match pool.admit() {
            Err(HashError::Busy { retry_after }) => assert!(retry_after >= Duration::from_secs(1)),
            other => panic!("a sixth ticket with capacity 5: {other:?}"),
        }
        drop(tickets);
        assert!(
            pool.admit().is_ok(),
            "dropped tickets give their places back"
        );
    }

    #[tokio::test]
    async fn a_finished_job_gives_its_place_back() {
        let pool = pool(1, 0);
        let stored = pool.hash("pw pw pw pw".into()).await.unwrap();
        let ticket = pool.admit().unwrap();
        assert!(
            ticket
                .verify("pw pw pw pw".into(), Some(stored))
                .await
                .unwrap()
        );
        assert!(pool.admit().is_ok());
    }

    #[tokio::test]
    async fn change_hashes_only_after_the_current_password_matches() {
        let pool = pool(1, 1);
        let stored = pool.hash("old password".into()).await.unwrap();
        let wrong = pool.admit().unwrap();
        let refused = wrong
            .change("not it".into(), stored.clone(), "new password".into())
            .await
            .unwrap();
        assert_eq!(refused, None);
        let right = pool.admit().unwrap();
        let new = right
            .change("old password".into(), stored, "new password".into())
            .await
            .unwrap()
            .expect("the current password matched");
        let check = pool.admit().unwrap();
        assert!(
            check
                .verify("new password".into(), Some(new))
                .await
                .unwrap()
        );
    }

    #[test]
    fn drain_time_grows_with_the_queue_and_is_at_least_a_second() {
        let shared = Shared {
            admitted: AtomicUsize::new(0),
            capacity: 66,
            workers: 2,
            average_job_micros: AtomicU64::new(40_000),
        };
        assert_eq!(shared.drain_time(0), Duration::from_secs(1));
        assert_eq!(
            shared.drain_time(66),
            Duration::from_secs(2),
            "33 jobs × 40 ms"
        );
        assert_eq!(
            shared.drain_time(200),
            Duration::from_secs(4),
            "100 jobs × 40 ms"
        );
    }

    #[tokio::test]
    async fn jobs_run_in_the_order_they_were_queued() {
        let pool = pool(1, 8);
        let order = Arc::new(Mutex::new(Vec::new()));
        let answers: Vec<_> = (0..8)
            .map(|n| {
                let order = Arc::clone(&order);
                let ticket = pool.admit().unwrap();
                ticket
                    .submit(move |_| order.lock().unwrap().push(n))
                    .unwrap()
            })
            .collect();
        for answer in answers {
            answer.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), (0..8).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_job_nobody_waits_for_is_skipped() {
        let pool = pool(1, 2);
        let (release, hold) = std::sync::mpsc::channel::<()>();
        // Keep the one worker busy until the abandoned job is queued.
        let busy = pool
            .admit()
            .unwrap()
            .submit(move |_| hold.recv().unwrap())
            .unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&ran);
        let abandoned = pool
            .admit()
            .unwrap()
            .submit(move |_| counter.fetch_add(1, Ordering::SeqCst))
            .unwrap();
        drop(abandoned);
        release.send(()).unwrap();
        busy.await.unwrap();
        // A job queued after the abandoned one runs after it was skipped.
        let after = pool.admit().unwrap().run(|_| ()).await;
        assert_eq!(after, Ok(()));
        assert_eq!(ran.load(Ordering::SeqCst), 0, "the abandoned job ran");
    }
}
