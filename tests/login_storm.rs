//! Logins under a storm, tested the way an attacker sends them: all at once
//! (every client connects, waits on one barrier, then sends), and from many
//! addresses (any 127.x.y.z is a local address on loopback, so each client
//! can have its own).
//!
//! What must hold, whatever the interleaving:
//! - parallel guesses cannot outrun the throttle: N guesses for one account
//!   get at most `limit` password checks, the rest `429` at once;
//! - the hashing queue is bounded: past it, `503` with `Retry-After`, and no
//!   Argon2 work for the refused;
//! - every request is answered, `/health` answers throughout, and a real
//!   user who follows `Retry-After` gets in.
//!
//! Work is counted in Argon2 blocks filled (process-wide), so the cases in
//! this file take turns ([`SERIAL`]). No case measures time: memory and speed
//! under a storm are the benchmark's (`benches/run`, scenario `storm`).

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use common::fixture::Fixture;
use common::{Client, RawResponse};
use groundup::app::AppConfig;
use groundup::session::hash_pool::HashLimits;
use groundup::session::password::{BLOCKS_PER_HASH, blocks_filled};
use groundup::session::throttle::LoginLimits;
use tokio::net::TcpSocket;
use tokio::sync::{Barrier, Mutex};

/// The cases here count process-wide Argon2 work, so they run one at a time.
static SERIAL: Mutex<()> = Mutex::const_new(());

const PASSWORD: &str = "correct horse battery";

/// Limits for a case; the per-address pace is left out of the way (set to
/// the per-address limit) except where a case is about it.
fn config(per_account: usize, per_address: usize, workers: usize, queue: usize) -> AppConfig {
    AppConfig {
        logins: LoginLimits {
            per_account,
            per_address,
            address_pace: per_address,
            ..LoginLimits::default()
        },
        hashing: HashLimits { workers, queue },
        ..AppConfig::new().unwrap()
    }
}

/// The `n`-th client address: 127.10.0.1, 127.10.0.2, … (250 per third byte).
fn address(n: usize) -> Ipv4Addr {
    let third = u8::try_from(n / 250).unwrap();
    let fourth = u8::try_from(n % 250 + 1).unwrap();
    Ipv4Addr::new(127, 10, third, fourth)
}

/// A connection whose source address is `source`.
async fn connect_from(source: Ipv4Addr, server: SocketAddr) -> Client {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(source.into(), 0)).unwrap();
    Client::from_stream(socket.connect(server).await.unwrap())
}

fn json_post(path: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn login(path: &str, identifier: &str, password: &str) -> Vec<u8> {
    let body = format!(r#"{{"identifier":"{identifier}","password":"{password}"}}"#);
    json_post(path, &body)
}

async fn register(fixture: &Fixture, name: &str) {
    let body = format!(r#"{{"username":"{name}","password":"{PASSWORD}"}}"#);
    let mut client = fixture.server.connect().await;
    client.send(&json_post("/api/register", &body)).await;
    let response = client.response().await;
    assert_eq!(response.status, 201, "{}", response.text());
}

/// Sends every request at the same moment, each on its own connection from
/// its own source address, and returns the responses in order.
async fn storm(server: SocketAddr, requests: Vec<(Ipv4Addr, Vec<u8>)>) -> Vec<RawResponse> {
    let barrier = Arc::new(Barrier::new(requests.len()));
    let clients: Vec<_> = requests
        .into_iter()
        .map(|(source, request)| {
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                let mut client = connect_from(source, server).await;
                barrier.wait().await;
                client.send(&request).await;
                client.response().await
            })
        })
        .collect();
    let mut responses = Vec::with_capacity(clients.len());
    for client in clients {
        responses.push(client.await.expect("every request is answered"));
    }
    responses
}

/// How many responses had each status; every 429 and 503 must say when to
/// come back.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    ok: usize,
    unauthorized: usize,
    throttled: usize,
    busy: usize,
}

fn tally(responses: &[RawResponse]) -> Tally {
    let mut tally = Tally::default();
    for response in responses {
        match response.status {
            200 => tally.ok += 1,
            401 => tally.unauthorized += 1,
            429 => tally.throttled += 1,
            503 => tally.busy += 1,
            other => panic!("unexpected {other}: {}", response.text()),
        }
        if matches!(response.status, 429 | 503) {
            retry_after(response);
        }
    }
    tally
}

/// The `Retry-After` seconds of a 429 or 503, which must be there and be at
/// least 1.
fn retry_after(response: &RawResponse) -> u64 {
    let seconds: u64 = response
        .header("retry-after")
        .unwrap_or_else(|| panic!("{} without Retry-After", response.status))
        .parse()
        .expect("Retry-After in seconds");
    assert!(seconds >= 1, "Retry-After: {seconds}");
    seconds
}

/// Password checks done since `before` (each one full Argon2 hash).
fn checks_since(before: u64) -> u64 {
    let blocks = blocks_filled() - before;
    assert_eq!(
        blocks % BLOCKS_PER_HASH,
        0,
        "only whole hashes at our parameters"
    );
    blocks / BLOCKS_PER_HASH
}

on_both_stores! {
    parallel_guesses_for_one_account_get_at_most_the_limit_checked(
        config(5, 1000, 2, 64),
        |fixture| {
            let _serial = SERIAL.lock().await;
            register(&fixture, "ada").await;
            let before = blocks_filled();
            // 200 wrong guesses from one address, through both doors that
            // check a password: the session login and the token endpoint.
            let guesses = (0..200)
                .map(|n| {
                    let path = if n % 2 == 0 { "/api/login" } else { "/api/token" };
                    (Ipv4Addr::LOCALHOST, login(path, "ada", &format!("guess number {n}")))
                })
                .collect();
            let responses = storm(fixture.server.addr, guesses).await;
            let counts = tally(&responses);
            assert_eq!(
                counts,
                Tally { unauthorized: 5, throttled: 195, ..Tally::default() },
                "five guesses checked, the rest refused"
            );
            assert_eq!(checks_since(before), 5, "the 429s cost no Argon2");
            // Even the right password waits now: the five failures count.
            let mut client = fixture.server.connect().await;
            client.send(&login("/api/login", "ada", PASSWORD)).await;
            assert_eq!(client.response().await.status, 429);
        }
    )

    parallel_guesses_from_many_addresses_for_one_account_are_limited_too(
        config(5, 1000, 2, 64),
        |fixture| {
            let _serial = SERIAL.lock().await;
            register(&fixture, "ada").await;
            let before = blocks_filled();
            let guesses = (0..200)
                .map(|n| (address(n), login("/api/login", "ada", &format!("guess number {n}"))))
                .collect();
            let counts = tally(&storm(fixture.server.addr, guesses).await);
            assert_eq!(counts, Tally { unauthorized: 5, throttled: 195, ..Tally::default() });
            assert_eq!(checks_since(before), 5);
        }
    )

    parallel_logins_from_one_address_stop_at_the_address_limit(
        config(5, 50, 2, 256),
        |fixture| {
            let _serial = SERIAL.lock().await;
            let before = blocks_filled();
            // One address, 200 accounts (none of them real): the per-account
            // limit never bites, the per-address one does.
            let guesses = (0..200)
                .map(|n| (Ipv4Addr::LOCALHOST, login("/api/login", &format!("user{n}"), "guess guess")))
                .collect();
            let counts = tally(&storm(fixture.server.addr, guesses).await);
            assert_eq!(counts, Tally { unauthorized: 50, throttled: 150, ..Tally::default() });
            assert_eq!(checks_since(before), 50);
            // Another address is not affected.
            let mut other = connect_from(address(0), fixture.server.addr).await;
            other.send(&login("/api/login", "user0", "guess guess")).await;
            assert_eq!(other.response().await.status, 401);
        }
    )

    one_address_is_held_to_its_pace(
        AppConfig::new().unwrap(),
        |fixture| {
            let _serial = SERIAL.lock().await;
            let defaults = LoginLimits::default();
            let guesses = (0..20)
                .map(|n| (Ipv4Addr::LOCALHOST, login("/api/login", &format!("user{n}"), "guess guess")))
                .collect();
            let responses = storm(fixture.server.addr, guesses).await;
            let counts = tally(&responses);
            assert_eq!(
                counts,
                Tally {
                    unauthorized: defaults.address_pace,
                    throttled: 20 - defaults.address_pace,
                    ..Tally::default()
                }
            );
            for refused in responses.iter().filter(|r| r.status == 429) {
                assert!(retry_after(refused) <= defaults.pace_window.as_secs());
            }
        }
    )

    a_storm_from_400_addresses_is_answered_while_a_real_user_gets_in(
        // Room for ten logins at a time (two hashing, eight waiting), so
        // 400 at once must overflow it.
        config(5, 50, 2, 8),
        |fixture| {
            let _serial = SERIAL.lock().await;
            register(&fixture, "ada").await;
            let server = fixture.server.addr;
            let before = blocks_filled();

            // /health on a kept-alive connection, polled until the storm ends.
            let (storm_over, mut over) = tokio::sync::watch::channel(false);
            let health = tokio::spawn(async move {
                let mut client = connect_from(address(1000), server).await;
                let mut answered = 0;
                while !*over.borrow_and_update() {
                    client.send(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n").await;
                    assert_eq!(client.response().await.status, 200, "/health during the storm");
                    answered += 1;
                    tokio::select! {
                        _ = over.changed() => {}
                        () = tokio::time::sleep(Duration::from_millis(5)) => {}
                    }
                }
                answered
            });

            // The real user: starts with the storm, follows Retry-After.
            let user = tokio::spawn(async move {
                for attempt in 1..=30 {
                    let mut client = connect_from(address(1001), server).await;
                    client.send(&login("/api/login", "ada", PASSWORD)).await;
                    let response = client.response().await;
                    match response.status {
                        200 => return attempt,
                        503 => {
                            let wait = retry_after(&response);
                            tokio::time::sleep(Duration::from_secs(wait)).await;
                        }
                        other => panic!("the real user got {other}: {}", response.text()),
                    }
                }
                panic!("the real user did not get in within 30 tries");
            });

            let logins = (0..400)
                .map(|n| (address(n), login("/api/login", &format!("storm{n}"), "guess guess")))
                .collect();
            let responses = storm(server, logins).await;
            let counts = tally(&responses);
            let user_attempts = user.await.expect("the real user got in");
            storm_over.send(true).unwrap();
            let health_answers = health.await.unwrap();

            assert_eq!(counts.unauthorized + counts.busy, 400, "{counts:?}");
            assert!(counts.busy > 0, "400 at once overflow room for 10: {counts:?}");
            assert_eq!(
                checks_since(before),
                u64::try_from(counts.unauthorized + 1).unwrap(),
                "one hash per 401 and one for the real user; none for a 503"
            );
            assert!(user_attempts >= 1);
            assert!(health_answers >= 1);
        }
    )

    registrations_past_the_queue_are_refused_with_retry_after(
        config(5, 1000, 1, 0),
        |fixture| {
            let _serial = SERIAL.lock().await;
            let registrations = (0..40)
                .map(|n| {
                    let body = format!(r#"{{"username":"new{n}","password":"{PASSWORD}"}}"#);
                    (address(n), json_post("/api/register", &body))
                })
                .collect();
            let responses = storm(fixture.server.addr, registrations).await;
            let mut created = 0;
            for response in &responses {
                match response.status {
                    201 => created += 1,
                    503 => {
                        retry_after(response);
                    }
                    other => panic!("unexpected {other}: {}", response.text()),
                }
            }
            assert!(created >= 1, "the one worker hashed something");
            assert!(created < 40, "one worker and no queue cannot take 40 at once");
        }
    )
}
