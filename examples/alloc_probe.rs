//! Counts the heap allocations groundup makes per request on its plaintext path, `GET /health`.
//!
//! ```text
//! cargo run --release --example alloc_probe [-- REQUESTS]
//! ```
//!
//! The server runs in this process, on the real [`App`] over a scratch embedded store, under a
//! counting global allocator. The client runs as a second process (this same binary, started
//! with `--client`), so its allocations land in another process's counters and the figures are
//! the server's alone. Over one connection the client first warms up (buffers grow to their
//! working size, the `Date` cache fills), then, on this process's signal, sends `REQUESTS`
//! requests (default 20000) one at a time and waits for each answer; then the same number again,
//! sixteen per write. This process reads the allocator's counters just before it signals each
//! phase and just after the client reports the phase done, so nothing but the server runs in
//! between: the tokio worker serving the connection and the pipes that carry the two signals.
//! Last, the client opens `REQUESTS / 100` connections one after another, each with one
//! `Connection: close` request: what a connection costs beyond its requests (its task, its
//! buffers) shows there.
//!
//! `alloc_probe --client ADDR REQUESTS` is that client on its own, for any server at `ADDR`
//! (`benches/callgrind` drives the peers with it): it reads one signal byte at a time on stdin,
//! `w` (warm up), `k` (keep-alive), `p` (pipelined) or `c` (close), runs that phase, and writes
//! the same byte to stdout when the phase is done; any failure ends it with status 1.
//!
//! The requests are the bytes wrk sends in `benches/run`:
//! `GET /health HTTP/1.1\r\nHost: 127.0.0.1:PORT\r\n\r\n`.
//!
//! # Output
//!
//! One line per scenario on stdout, `key=value` pairs separated by spaces, in this order:
//!
//! ```text
//! ALLOC scenario=keepalive requests=20000 allocations=0 reallocations=0 bytes=0 allocations_per_request=0.000 bytes_per_request=0.0
//! ALLOC scenario=pipelined requests=20000 allocations=0 reallocations=0 bytes=0 allocations_per_request=0.000 bytes_per_request=0.0
//! ALLOC scenario=close requests=200 allocations=… reallocations=… bytes=… allocations_per_request=… bytes_per_request=…
//! ```
//!
//! `allocations` counts calls to `alloc`, `reallocations` calls to `realloc` (a growing
//! buffer), `bytes` the bytes those calls asked for (a `realloc` counts its growth);
//! `allocations_per_request` is `(allocations + reallocations) / requests` and
//! `bytes_per_request` is `bytes / requests`. For `close`, each request is also a connection.
//! The exit status is 1 when a response is not `200` with `ok\n`, so a broken server cannot
//! pass for an allocation-free one.

use std::alloc::System;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;

use groundup::app::{App, AppConfig};
use groundup::http::Limits;
use groundup::server::Server;
use groundup::store::{self, Backend, StoreConfig};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Requests per phase unless the command line says otherwise.
const DEFAULT_REQUESTS: usize = 20_000;
/// Requests sent before counting starts, one at a time and then pipelined.
const WARM_UP: usize = 2_000;
/// Requests per write in the pipelined phase, as in `benches/pipeline.lua`.
const DEPTH: usize = 16;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("--client") => client(&args[2..]),
        requests => {
            let requests = match requests.map(str::parse) {
                None => DEFAULT_REQUESTS,
                Some(Ok(requests)) if requests >= DEPTH => requests,
                Some(_) => {
                    eprintln!("usage: alloc_probe [REQUESTS (at least {DEPTH})]");
                    return ExitCode::FAILURE;
                }
            };
            server(requests)
        }
    }
}

/// Runs the server, drives the client process through its phases, and prints the counts.
fn server(requests: usize) -> ExitCode {
    // One worker, as the pinned server in benches/run has.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    let data_dir =
        std::env::temp_dir().join(format!("groundup_alloc_probe_{}", std::process::id()));
    let (addr, stop) = runtime.block_on(async {
        let config = StoreConfig {
            backend: Backend::Embedded {
                data_dir: data_dir.clone(),
            },
            database: "groundup".into(),
        };
        let store = store::open(&config).await.expect("the scratch store opens");
        let app = App::new(Arc::new(store), AppConfig::new().expect("a random source"))
            .expect("password workers");
        let localhost = SocketAddr::from(([127, 0, 0, 1], 0));
        let server = Server::bind(localhost, app, Limits::default())
            .await
            .expect("a free port on localhost");
        let addr = server.local_addr().expect("the bound address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(server.run(async {
            let _ = stopped.await;
        }));
        (addr, stop)
    });

    let exe = std::env::current_exe().expect("the probe knows its own path");
    let mut child = Command::new(exe)
        .args(["--client", &addr.to_string(), &requests.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the client process starts");
    let mut to_client = child.stdin.take().expect("piped stdin");
    let mut from_client = child.stdout.take().expect("piped stdout");

    let mut ok = to_client.write_all(b"w").is_ok() && wait_for(&mut from_client, b'w');
    let mut lines = Vec::new();
    for (signal, scenario, count) in [
        (b'k', "keepalive", requests),
        (b'p', "pipelined", requests / DEPTH * DEPTH),
        (b'c', "close", (requests / 100).max(1)),
    ] {
        if !ok {
            break;
        }
        let region = Region::new(GLOBAL);
        ok = to_client.write_all(&[signal]).is_ok() && wait_for(&mut from_client, signal);
        let change = region.change();
        let calls = change.allocations + change.reallocations;
        let bytes = change.bytes_allocated as f64 + change.bytes_reallocated.max(0) as f64;
        lines.push(format!(
            "ALLOC scenario={scenario} requests={count} allocations={} reallocations={} \
             bytes={bytes:.0} allocations_per_request={:.3} bytes_per_request={:.1}",
            change.allocations,
            change.reallocations,
            calls as f64 / count as f64,
            bytes / count as f64,
        ));
    }
    drop(to_client);
    let client_ok = child.wait().is_ok_and(|status| status.success());
    let _ = stop.send(());
    drop(runtime);
    let _ = std::fs::remove_dir_all(&data_dir);

    if ok && client_ok {
        for line in lines {
            println!("{line}");
        }
        ExitCode::SUCCESS
    } else {
        eprintln!("alloc_probe: the client failed; no figures");
        ExitCode::FAILURE
    }
}

/// Reads one byte from the client and checks it is `expected`.
fn wait_for(from_client: &mut impl Read, expected: u8) -> bool {
    let mut byte = [0u8];
    from_client.read_exact(&mut byte).is_ok() && byte[0] == expected
}

/// The client process: one phase per signal byte on stdin (`w` warm up, `k` keep-alive, `p`
/// pipelined, `c` close), each acknowledged with the same byte on stdout once it is done.
fn client(args: &[String]) -> ExitCode {
    let (Some(addr), Some(Ok(requests))) = (args.first(), args.get(1).map(|n| n.parse::<usize>()))
    else {
        eprintln!("usage: alloc_probe --client ADDR REQUESTS");
        return ExitCode::FAILURE;
    };
    let request = format!("GET /health HTTP/1.1\r\nHost: {addr}\r\n\r\n").into_bytes();
    let close =
        format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").into_bytes();
    let batch = request.repeat(DEPTH);
    let mut conn: Option<Client> = None;
    let mut stdout = std::io::stdout().lock();
    let mut stdin = std::io::stdin().lock();
    let mut signal = [0u8];
    while stdin.read_exact(&mut signal).is_ok() {
        // The keep-alive phases share one connection, opened by the first of them.
        if conn.is_none() && signal[0] != b'c' {
            match TcpStream::connect(addr) {
                Ok(stream) => conn = Some(Client::new(stream)),
                Err(error) => {
                    eprintln!("alloc_probe: cannot connect to {addr}: {error}");
                    return ExitCode::FAILURE;
                }
            }
        }
        let done = match (signal[0], conn.as_mut()) {
            (b'w', Some(conn)) => {
                conn.one_at_a_time(&request, WARM_UP) && conn.pipelined(&batch, WARM_UP / DEPTH)
            }
            (b'k', Some(conn)) => conn.one_at_a_time(&request, requests),
            (b'p', Some(conn)) => conn.pipelined(&batch, requests / DEPTH),
            (b'c', _) => (0..(requests / 100).max(1)).all(|_| {
                TcpStream::connect(addr)
                    .map(Client::new)
                    .is_ok_and(|mut fresh| fresh.one_at_a_time(&close, 1) && fresh.at_eof())
            }),
            _ => false,
        };
        if !done
            || stdout
                .write_all(&signal)
                .and_then(|()| stdout.flush())
                .is_err()
        {
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

/// One client connection, reading responses just well enough to check them.
struct Client {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Client {
    fn new(stream: TcpStream) -> Client {
        // Requests go out whole; Nagle's algorithm could only delay them.
        let _ = stream.set_nodelay(true);
        let reader = BufReader::new(stream.try_clone().expect("a socket can be cloned"));
        Client { stream, reader }
    }

    /// Sends `request` `times` times, each after the previous answer.
    fn one_at_a_time(&mut self, request: &[u8], times: usize) -> bool {
        (0..times).all(|_| self.stream.write_all(request).is_ok() && self.read_response())
    }

    /// Sends `batch` (DEPTH requests) `times` times, each after all the previous answers.
    fn pipelined(&mut self, batch: &[u8], times: usize) -> bool {
        (0..times).all(|_| {
            self.stream.write_all(batch).is_ok() && (0..DEPTH).all(|_| self.read_response())
        })
    }

    /// Reads one response and checks it is `200` with the body `ok\n`.
    fn read_response(&mut self) -> bool {
        let mut line = String::new();
        if self.reader.read_line(&mut line).is_err() || !line.starts_with("HTTP/1.1 200 ") {
            eprintln!("alloc_probe: unexpected status line {line:?}");
            return false;
        }
        let mut length = None;
        loop {
            line.clear();
            if self.reader.read_line(&mut line).is_err() || line.is_empty() {
                return false;
            }
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse::<usize>().ok();
            }
        }
        let mut body = vec![0u8; length.unwrap_or(0)];
        self.reader.read_exact(&mut body).is_ok() && body == b"ok\n"
    }

    /// Whether the server closed the connection after its response.
    fn at_eof(&mut self) -> bool {
        let mut byte = [0u8];
        matches!(self.reader.read(&mut byte), Ok(0))
    }
}
