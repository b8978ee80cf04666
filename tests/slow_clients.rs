//! Many clients at once, most of them useless: slowloris connections that
//! trickle a header one byte every few seconds, idle keep-alive connections
//! that sent one request and then nothing, and more connections than the
//! server allows.
//!
//! A slowloris client tries to exhaust a server by holding connections open
//! for as long as the server lets it, each one mid-request. The defence is the
//! head deadline: from the first byte of a request, its whole head must arrive
//! within `header_read_timeout`, however steadily the bytes trickle in. An idle
//! keep-alive connection is a different case: it is between requests, costs
//! little, and is allowed the longer `idle_timeout`.
//!
//! One scenario, in order:
//! 1. [`IDLE`] keep-alive connections each make a request and then wait;
//! 2. [`SLOW`] slowloris connections start trickling;
//! 3. while they trickle, ordinary requests on new connections are served;
//! 4. with the server near its connection cap, a burst of new connections
//!    gets at most the remaining capacity, and 503 + close for the rest;
//! 5. every slowloris connection gets 408 and is closed, no sooner than the
//!    head deadline;
//! 6. every idle connection is still open and answers a second request, and
//!    new connections are served again.

mod common;

use std::time::{Duration, Instant};

use common::{Client, TestServer};
use groundup::app::AppConfig;
use groundup::http::Limits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const IDLE: usize = 1000;
const SLOW: usize = 1000;
/// Room left under the cap once the idle and slow connections are in.
const SPARE: usize = 50;
const HEAD_DEADLINE: Duration = Duration::from_secs(5);
/// A slowloris client's pause between header bytes.
const TRICKLE: Duration = Duration::from_secs(2);
/// Bound on how late after its deadline a slow connection may be cut before
/// the test calls it hanging; lateness is scheduling, not the deadline.
const LATENESS_BOUND: Duration = Duration::from_secs(10);
const BURST: usize = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_and_idle_connections_do_not_starve_real_clients() {
    // Each connection is two descriptors here: the client's and the server's.
    let needed = 2 * (IDLE + SLOW + BURST) as u64 + 256;
    let limit = rlimit::increase_nofile_limit(needed).expect("can read the descriptor limit");
    assert!(
        limit >= needed,
        "this test needs {needed} file descriptors, the hard limit allows {limit}"
    );

    let limits = Limits {
        header_read_timeout: HEAD_DEADLINE,
        max_connections: IDLE + SLOW + SPARE,
        ..Limits::default()
    };
    let server = TestServer::app(AppConfig::new().unwrap(), limits).await;

    // 1. Idle keep-alive connections, each served once.
    let mut idle = Vec::with_capacity(IDLE);
    for _ in 0..IDLE {
        let mut client = server.connect().await;
        client.assert_usable().await;
        idle.push(client);
    }

    // 2. Slowloris connections. They connect one after another, as the idle
    // ones did: a thousand simultaneous handshakes can overflow the listen
    // backlog, and a connection the kernel has not queued yet would let the
    // burst below slip under the cap ahead of it.
    let mut slow = Vec::with_capacity(SLOW);
    for _ in 0..SLOW {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        // Taken before the write: the server's deadline starts when it
        // reads these bytes, which cannot be earlier.
        let started = Instant::now();
        stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: t\r\nX-Slow: ")
            .await
            .unwrap();
        slow.push(tokio::spawn(slowloris(stream, started)));
    }

    // 3. Ordinary clients are served meanwhile.
    let mut served = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let mut client = server.connect().await;
        client.assert_usable().await;
        served.push(started.elapsed());
    }
    served.sort();

    // 4. The cap: idle + slow + SPARE connections at most, the rest refused.
    let mut burst = Vec::with_capacity(BURST);
    for _ in 0..BURST {
        let mut client = server.connect().await;
        client
            .send(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
            .await;
        burst.push(client);
    }
    let (mut answered, mut refused) = (0, 0);
    for client in &mut burst {
        match client.response().await.status {
            200 => answered += 1,
            503 => {
                assert!(client.is_closed().await, "a refused connection is closed");
                refused += 1;
            }
            other => panic!("over the cap: {other}"),
        }
    }
    assert!(
        answered <= SPARE,
        "{answered} served past a cap with room for {SPARE}"
    );
    assert!(answered > 0, "the room under the cap is used");
    assert_eq!(answered + refused, BURST);
    drop(burst);

    // 5. Every slowloris connection is cut at the head deadline.
    let mut cut_after = Vec::with_capacity(SLOW);
    for task in slow {
        let (status, after) = tokio::time::timeout(HEAD_DEADLINE + LATENESS_BOUND, task)
            .await
            .expect("a slowloris connection is still open")
            .unwrap();
        assert_eq!(status, 408, "a slow head gets 408 Request Timeout");
        assert!(after >= HEAD_DEADLINE, "cut before its deadline: {after:?}");
        assert!(
            after <= HEAD_DEADLINE + LATENESS_BOUND,
            "cut only after {after:?}"
        );
        cut_after.push(after);
    }
    cut_after.sort();

    // 6. The idle connections are still there, and there is room again.
    for client in &mut idle {
        client.assert_usable().await;
    }
    for _ in 0..20 {
        server.connect().await.assert_usable().await;
    }

    println!(
        "{IDLE} idle + {SLOW} slowloris connections: ordinary requests served in \
         p50 {:?} / max {:?}; burst of {BURST} at the cap: {answered} served, {refused} refused; \
         slowloris cut after min {:?} / p50 {:?} / max {:?} (deadline {HEAD_DEADLINE:?})",
        served[served.len() / 2],
        served[served.len() - 1],
        cut_after[0],
        cut_after[SLOW / 2],
        cut_after[SLOW - 1],
    );
}

/// A slowloris client, after its request line and a partial header went out
/// at `started`: one more header byte every [`TRICKLE`] until the server
/// answers. Returns the status it got and how long after its first byte the
/// server closed the connection.
async fn slowloris(mut stream: TcpStream, started: Instant) -> (u16, Duration) {
    let mut first = [0u8; 1];
    loop {
        tokio::select! {
            read = stream.read(&mut first) => {
                assert_eq!(read.unwrap(), 1, "closed without a response");
                break;
            }
            () = tokio::time::sleep(TRICKLE) => {
                // The server may close between our check and this write.
                let _ = stream.write_all(b"a").await;
            }
        }
    }
    let mut client = Client::from_stream(stream);
    let mut rest = first.to_vec();
    tokio::time::timeout(common::PATIENCE, client.stream.read_to_end(&mut rest))
        .await
        .expect("closed after the response")
        .unwrap();
    let after = started.elapsed();
    let status = std::str::from_utf8(&rest[9..12]).unwrap().parse().unwrap();
    (status, after)
}
