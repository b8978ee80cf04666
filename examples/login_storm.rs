//! The login storm for `benches/run`: many clients, each from its own loopback address, logging
//! in with wrong passwords at once, while a few real users log in and `/health` is polled.
//!
//! ```text
//! login_storm ADDR CLIENTS SECONDS WORKERS
//! ```
//!
//! - **The storm**: CLIENTS tasks, the n-th bound to source address 127.20.x.y (any 127.x.y.z is
//!   a local address on loopback), connect, wait on one barrier, then log in as a new unknown
//!   account each time, on a kept-alive connection, for SECONDS. A `401` (the password was
//!   checked) is followed at once by the next attempt; a refusal (`429`, `503`) by a pause of
//!   0.5 to 1.5 s, whatever `Retry-After` says: a bot that backs off a little, not one that
//!   floods the socket, which would be a different test (of the HTTP layer, not of hashing).
//!   The pause is drawn at random for each refusal, so the clients do not come back in one
//!   wave a second after the first refusals.
//! - **Real users**: [`REAL_USERS`] accounts, registered first, each from its own address. Each
//!   logs in with the right password, following `Retry-After` on a `503` or `429`, and records
//!   how long it took from its first try to its `200`; then waits a second and logs in again.
//! - **`/health`** is asked every 100 ms on a connection of its own; every answer must be `200`.
//!
//! The ideal rate is WORKERS ÷ the time of one hash, which this program measures itself: the
//! fastest of seven Argon2id hashes at groundup's parameters before the storm and seven after,
//! on the core it runs on (the fastest, because interference on a shared machine only ever adds
//! time); the harness passes the number of cores the server may use. Prints one line:
//!
//! ```text
//! STORM clients=… seconds=… checked=… refused_503=… refused_429=… checked_per_s=… hash_ms=…
//!       ideal_per_s=… real_logins=… real_p50_ms=… real_p99_ms=… health=… health_p99_ms=…
//! ```
//!
//! `checked` counts the storm's `401`s and the real users' `200`s: the password checks done.
//! Exits with status 1, saying why, if any answer is not one of those statuses, `/health` fails,
//! or a real user never gets in.

use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use groundup::session::password::Workspace;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Barrier;

/// Accounts that log in for real during the storm.
const REAL_USERS: usize = 8;
const PASSWORD: &str = "correct horse battery staple";

/// Counts shared by the storm's tasks.
#[derive(Default)]
struct Counts {
    checked: AtomicU64,
    refused_503: AtomicU64,
    refused_429: AtomicU64,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("login_storm: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<String, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, clients, seconds, workers] = args.as_slice() else {
        return Err("usage: login_storm ADDR CLIENTS SECONDS WORKERS".into());
    };
    let addr: SocketAddr = addr
        .parse()
        .map_err(|_| format!("not an address: {addr}"))?;
    let number = |text: &str| {
        text.parse::<u64>()
            .map_err(|_| format!("not a whole number: {text}"))
    };
    let clients = usize::try_from(number(clients)?).map_err(|e| e.to_string())?;
    let seconds = number(seconds)?;
    let workers = number(workers)?;
    if clients > 250 * 250 {
        return Err("at most 62 500 clients (one address each)".into());
    }

    for user in 0..REAL_USERS {
        register(addr, &format!("real{user}")).await?;
    }
    let before = hash_time()?;

    let counts = Arc::new(Counts::default());
    let deadline = Instant::now() + Duration::from_secs(seconds) + Duration::from_millis(500);
    let barrier = Arc::new(Barrier::new(clients + REAL_USERS + 1));
    let mut storm = Vec::with_capacity(clients);
    for n in 0..clients {
        let source = Ipv4Addr::new(127, 20, (n / 250) as u8, (n % 250 + 1) as u8);
        let (counts, barrier) = (Arc::clone(&counts), Arc::clone(&barrier));
        storm.push(tokio::spawn(attacker(
            addr, source, n, counts, barrier, deadline,
        )));
    }
    let mut real = Vec::with_capacity(REAL_USERS);
    for user in 0..REAL_USERS {
        let source = Ipv4Addr::new(127, 21, 0, user as u8 + 1);
        let barrier = Arc::clone(&barrier);
        real.push(tokio::spawn(real_user(
            addr, source, user, barrier, deadline,
        )));
    }
    let health = tokio::spawn(health(addr, Arc::clone(&barrier), deadline));
    let started = Instant::now();

    for task in storm {
        task.await.map_err(|e| e.to_string())??;
    }
    let mut latencies = Vec::new();
    for task in real {
        let mine = task.await.map_err(|e| e.to_string())??;
        if mine.is_empty() {
            return Err("a real user never got in".into());
        }
        latencies.extend(mine);
    }
    let health = health.await.map_err(|e| e.to_string())??;
    let elapsed = started.elapsed().as_secs_f64();
    let hash_ms = before.min(hash_time()?).as_secs_f64() * 1000.0;

    let checked = counts.checked.load(Ordering::Relaxed) + latencies.len() as u64;
    let percentile = |samples: &mut Vec<f64>, p: f64| {
        samples.sort_by(f64::total_cmp);
        let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
        samples.get(index).copied().unwrap_or(0.0)
    };
    let mut health_ms = health;
    Ok(format!(
        "STORM clients={clients} seconds={elapsed:.1} checked={checked} refused_503={} \
         refused_429={} checked_per_s={:.1} hash_ms={hash_ms:.1} ideal_per_s={:.1} \
         real_logins={} real_p50_ms={:.0} real_p99_ms={:.0} health={} health_p99_ms={:.1}",
        counts.refused_503.load(Ordering::Relaxed),
        counts.refused_429.load(Ordering::Relaxed),
        checked as f64 / elapsed,
        workers as f64 * 1000.0 / hash_ms,
        latencies.len(),
        percentile(&mut latencies, 0.5),
        percentile(&mut latencies, 0.99),
        health_ms.len(),
        percentile(&mut health_ms, 0.99),
    ))
}

/// The fastest of seven Argon2id hashes at groundup's parameters, on this core (the first
/// allocates the workspace, so it is the slowest).
fn hash_time() -> Result<Duration, String> {
    let mut workspace = Workspace::new().map_err(|e| format!("{e:?}"))?;
    (0..7)
        .map(|_| {
            let start = Instant::now();
            let _ = workspace.hash("a password to time");
            start.elapsed()
        })
        .min()
        .ok_or_else(|| "no hash was timed".to_owned())
}

async fn register(addr: SocketAddr, name: &str) -> Result<(), String> {
    let body = format!(r#"{{"username":"{name}","password":"{PASSWORD}"}}"#);
    for _ in 0..30 {
        let mut connection = Connection::open(Ipv4Addr::LOCALHOST, addr).await?;
        match connection.post("/api/register", &body).await?.0 {
            201 => return Ok(()),
            503 => tokio::time::sleep(Duration::from_secs(1)).await,
            other => return Err(format!("registering {name}: {other}")),
        }
    }
    Err(format!("registering {name}: still 503 after 30 tries"))
}

fn login_body(identifier: &str, password: &str) -> String {
    format!(r#"{{"identifier":"{identifier}","password":"{password}"}}"#)
}

async fn attacker(
    addr: SocketAddr,
    source: Ipv4Addr,
    n: usize,
    counts: Arc<Counts>,
    barrier: Arc<Barrier>,
    deadline: Instant,
) -> Result<(), String> {
    let mut connection = Connection::open(source, addr).await?;
    barrier.wait().await;
    let mut pause = Jitter(n as u64 * 2 + 1);
    let mut attempt = 0u64;
    while Instant::now() < deadline {
        attempt += 1;
        let body = login_body(&format!("storm{n}x{attempt}"), "not the password");
        let (status, _, closed) = match connection.post("/api/login", &body).await {
            Ok(answer) => answer,
            // The server closed a kept-alive connection between requests: open another.
            Err(_) => {
                connection = Connection::open(source, addr).await?;
                connection.post("/api/login", &body).await?
            }
        };
        match status {
            401 => {
                counts.checked.fetch_add(1, Ordering::Relaxed);
            }
            429 | 503 => {
                let counter = if status == 503 {
                    &counts.refused_503
                } else {
                    &counts.refused_429
                };
                counter.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(pause.between_half_and_one_and_a_half_seconds()).await;
            }
            other => return Err(format!("a storm login got {other}")),
        }
        if closed {
            connection = Connection::open(source, addr).await?;
        }
    }
    Ok(())
}

/// A small xorshift generator: enough to spread the pauses, no crate needed.
struct Jitter(u64);

impl Jitter {
    fn between_half_and_one_and_a_half_seconds(&mut self) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        Duration::from_millis(500 + self.0 % 1000)
    }
}

/// Logs in again and again until the deadline; returns how long each login took, in ms,
/// from its first try to its `200`.
async fn real_user(
    addr: SocketAddr,
    source: Ipv4Addr,
    user: usize,
    barrier: Arc<Barrier>,
    deadline: Instant,
) -> Result<Vec<f64>, String> {
    // Kept alive, as a browser keeps its connection: a new connection for each try would
    // start behind every kept-alive one, since it must be accepted before it is read.
    let mut connection = Connection::open(source, addr).await?;
    barrier.wait().await;
    let body = login_body(&format!("real{user}"), PASSWORD);
    let mut latencies = Vec::new();
    // Logins that began before the deadline are finished, however long they take: a real
    // user still waiting when the storm ends is the figure that matters most.
    while Instant::now() < deadline {
        let began = Instant::now();
        loop {
            let (status, retry_after, closed) = connection.post("/api/login", &body).await?;
            if closed {
                connection = Connection::open(source, addr).await?;
            }
            match status {
                200 => break,
                429 | 503 => {
                    let wait = retry_after.ok_or(format!("{status} without Retry-After"))?;
                    tokio::time::sleep(Duration::from_secs(wait)).await;
                }
                other => return Err(format!("a real login got {other}")),
            }
        }
        latencies.push(began.elapsed().as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Ok(latencies)
}

/// Asks `/health` every 100 ms; returns each answer's time in ms.
async fn health(
    addr: SocketAddr,
    barrier: Arc<Barrier>,
    deadline: Instant,
) -> Result<Vec<f64>, String> {
    let mut connection = Connection::open(Ipv4Addr::new(127, 22, 0, 1), addr).await?;
    barrier.wait().await;
    let mut times = Vec::new();
    while Instant::now() < deadline {
        let began = Instant::now();
        let (status, _, _) = connection.get("/health").await?;
        if status != 200 {
            return Err(format!("/health answered {status} during the storm"));
        }
        times.push(began.elapsed().as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(times)
}

/// One kept-alive client connection, reading just enough of each response.
struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Connection {
    async fn open(source: Ipv4Addr, addr: SocketAddr) -> Result<Connection, String> {
        let socket = TcpSocket::new_v4().map_err(|e| e.to_string())?;
        socket
            .bind(SocketAddr::new(source.into(), 0))
            .map_err(|e| format!("binding {source}: {e}"))?;
        let stream = socket
            .connect(addr)
            .await
            .map_err(|e| format!("connecting from {source}: {e}"))?;
        Ok(Connection {
            stream,
            buffer: Vec::new(),
        })
    }

    async fn post(&mut self, path: &str, json: &str) -> Result<(u16, Option<u64>, bool), String> {
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{json}",
            json.len()
        );
        self.exchange(request.as_bytes()).await
    }

    async fn get(&mut self, path: &str) -> Result<(u16, Option<u64>, bool), String> {
        let request = format!("GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n");
        self.exchange(request.as_bytes()).await
    }

    /// Sends a request and reads its response: the status, `Retry-After` in seconds, and
    /// whether the server will close the connection.
    async fn exchange(&mut self, request: &[u8]) -> Result<(u16, Option<u64>, bool), String> {
        self.stream
            .write_all(request)
            .await
            .map_err(|e| e.to_string())?;
        loop {
            let mut fields = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut fields);
            let parsed = response.parse(&self.buffer).map_err(|e| e.to_string())?;
            if let httparse::Status::Complete(head) = parsed {
                let value = |name: &str| {
                    response
                        .headers
                        .iter()
                        .find(|field| field.name.eq_ignore_ascii_case(name))
                        .and_then(|field| std::str::from_utf8(field.value).ok())
                };
                let length: usize = value("content-length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let retry_after = value("retry-after").and_then(|v| v.parse().ok());
                let closed = value("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
                let status = response.code.unwrap_or(0);
                while self.buffer.len() < head + length {
                    self.fill().await?;
                }
                self.buffer.drain(..head + length);
                return Ok((status, retry_after, closed));
            }
            self.fill().await?;
        }
    }

    async fn fill(&mut self) -> Result<(), String> {
        let mut chunk = [0u8; 4096];
        let read = tokio::time::timeout(Duration::from_secs(120), self.stream.read(&mut chunk))
            .await
            .map_err(|_| "no answer within 120 s".to_string())?
            .map_err(|e| e.to_string())?;
        if read == 0 {
            return Err("the server closed the connection".into());
        }
        self.buffer.extend_from_slice(&chunk[..read]);
        Ok(())
    }
}
