//! Forwarding headers over TCP: believed from a trusted proxy only, and then what the login
//! throttle counts; from anyone else, ignored.
//!
//! The server trusts 127.0.0.1/32 (the proxy). Clients that are not the proxy connect from
//! other loopback addresses (any 127.x.y.z is local on loopback), so both kinds of peer are
//! real TCP peers here.

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use common::{Client, TestServer, store_support};
use groundup::app::{App, AppConfig};
use groundup::http::{Limits, TrustedProxies};
use groundup::server::Server;
use groundup::session::throttle::LoginLimits;
use tokio::net::TcpSocket;

const PROXY: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// The real application on a fresh embedded store, trusting `127.0.0.1/32`, with the
/// per-address limit (50) and without the pace, so that limit is what the cases meet.
async fn behind_a_proxy() -> (SocketAddr, TestServer, store_support::TempDir) {
    let (store, dir) = store_support::embedded_store().await;
    let config = AppConfig {
        logins: LoginLimits {
            per_account: 1000,
            address_pace: 1000,
            ..LoginLimits::default()
        },
        ..AppConfig::new().unwrap()
    };
    let app = App::new(Arc::new(store), config).unwrap();
    let server = Server::bind("127.0.0.1:0".parse().unwrap(), app, Limits::default())
        .await
        .unwrap()
        .trust_proxies(TrustedProxies::new(vec!["127.0.0.1/32".parse().unwrap()]));
    let server = TestServer::serve(server);
    (server.addr, server, dir)
}

async fn connect_from(source: Ipv4Addr, server: SocketAddr) -> Client {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(source.into(), 0)).unwrap();
    Client::from_stream(socket.connect(server).await.unwrap())
}

/// One wrong login from `source`, saying it forwards for `forwarded` (when given).
async fn wrong_login(server: SocketAddr, source: Ipv4Addr, forwarded: Option<&str>) -> u16 {
    let body = r#"{"identifier":"nobody","password":"not the password"}"#;
    let via = forwarded.map_or_else(String::new, |f| format!("X-Forwarded-For: {f}\r\n"));
    let request = format!(
        "POST /api/login HTTP/1.1\r\nHost: t\r\n{via}Content-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut client = connect_from(source, server).await;
    client.send(request.as_bytes()).await;
    client.response().await.status
}

async fn echo(server: SocketAddr, source: Ipv4Addr, fields: &str) -> serde_json::Value {
    let mut client = connect_from(source, server).await;
    let request = format!("GET /echo HTTP/1.1\r\nHost: t\r\n{fields}Connection: close\r\n\r\n");
    client.send(request.as_bytes()).await;
    client.response().await.json()
}

#[tokio::test]
async fn the_51st_failure_from_one_forwarded_address_is_refused_and_another_is_not() {
    let (server, _running, _dir) = behind_a_proxy().await;
    for n in 1..=50 {
        let status = wrong_login(server, PROXY, Some("203.0.113.7")).await;
        assert_eq!(status, 401, "failure {n}");
    }
    assert_eq!(wrong_login(server, PROXY, Some("203.0.113.7")).await, 429);
    assert_eq!(
        wrong_login(server, PROXY, Some("203.0.113.8")).await,
        401,
        "another client behind the same proxy is not refused"
    );
    // The client wrote its own X-Forwarded-For; the proxy appended what it saw.
    assert_eq!(
        wrong_login(server, PROXY, Some("198.51.100.1, 203.0.113.7")).await,
        429,
        "the rightmost address counts, not the one the client made up"
    );
}

#[tokio::test]
async fn x_forwarded_for_from_an_untrusted_peer_changes_nothing() {
    let (server, _running, _dir) = behind_a_proxy().await;
    let stranger = Ipv4Addr::new(127, 40, 0, 1);
    // Fifty failures from the stranger, each claiming another address.
    for n in 0..50 {
        let claimed = format!("198.51.100.{}", n + 1);
        assert_eq!(wrong_login(server, stranger, Some(&claimed)).await, 401);
    }
    assert_eq!(
        wrong_login(server, stranger, Some("192.0.2.200")).await,
        429,
        "the stranger is counted as itself, whatever it claims"
    );
    let seen = echo(
        server,
        stranger,
        "X-Forwarded-For: 192.0.2.1\r\nX-Forwarded-Proto: https\r\n",
    )
    .await;
    assert_eq!(seen["client"]["address"], "127.40.0.1");
    assert_eq!(seen["client"]["scheme"], "http");
}

#[tokio::test]
async fn echo_shows_the_peer_and_the_client_it_forwarded_for() {
    let (server, _running, _dir) = behind_a_proxy().await;
    let seen = echo(
        server,
        PROXY,
        "Forwarded: for=\"[2001:db8::7]:4711\";proto=https\r\n",
    )
    .await;
    assert!(
        seen["peer"].as_str().unwrap().starts_with("127.0.0.1:"),
        "{seen}"
    );
    assert_eq!(seen["client"]["address"], "2001:db8::7");
    assert_eq!(seen["client"]["scheme"], "https");
    // A header the proxy garbled falls back to the proxy itself, not an error page.
    let garbled = echo(server, PROXY, "X-Forwarded-For: not-an-address\r\n").await;
    assert_eq!(garbled["client"]["address"], "127.0.0.1");
}
