//! Two servers on one MongoDB database, as two instances behind a load balancer are: each
//! with its own store client, its own memory, and the same token key. Whatever one does, the
//! other must see at once: a login, a logout, the login throttle's count, a token.
//!
//! MongoDB only (skipped without `MONGODB_URI`, required with `REQUIRE_MONGODB=1`): the
//! embedded store is one process's file by construction. The same arrangement behind a real
//! nginx, over TLS, is `tests/deploy/run`, in CI.

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use common::{Client, RawResponse, TestServer, store_support};
use groundup::app::{App, AppConfig};
use groundup::http::Limits;
use groundup::session::jwt::TokenKey;
use groundup::store::Store;
use tokio::net::TcpSocket;

const PASSWORD: &str = "correct horse battery";

struct Pair {
    servers: [TestServer; 2],
    first: Arc<Store>,
    database: String,
}

/// Two servers on one scratch database, sharing a token key; `None` when MongoDB tests skip.
async fn two_servers(test: &str) -> Option<Pair> {
    let uri = store_support::mongo_uri(test)?;
    let database = store_support::scratch_name("groundup_test");
    let key = TokenKey::generate().unwrap();
    let mut servers = Vec::new();
    let mut stores = Vec::new();
    for _ in 0..2 {
        let store = Arc::new(store_support::mongo_store_on(&uri, &database).await);
        let config = AppConfig {
            token_key: key.clone(),
            ..AppConfig::new().unwrap()
        };
        let app = App::new(Arc::clone(&store), config).unwrap();
        servers.push(TestServer::start(app, Limits::default()).await);
        stores.push(store);
    }
    let servers: [TestServer; 2] = servers.try_into().ok()?;
    Some(Pair {
        servers,
        first: Arc::clone(&stores[0]),
        database,
    })
}

impl Pair {
    fn addr(&self, n: usize) -> SocketAddr {
        self.servers[n % 2].addr
    }

    async fn finish(self) {
        store_support::drop_database(&self.first, &self.database).await;
    }
}

/// One request on a connection of its own from `source`.
async fn send(
    server: SocketAddr,
    source: Ipv4Addr,
    method: &str,
    path: &str,
    headers: &[String],
    json: Option<&str>,
) -> RawResponse {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n");
    for line in headers {
        head.push_str(line);
        head.push_str("\r\n");
    }
    let body = json.unwrap_or_default();
    if json.is_some() {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(source.into(), 0)).unwrap();
    let mut client = Client::from_stream(socket.connect(server).await.unwrap());
    client.send(format!("{head}{body}").as_bytes()).await;
    client.response().await
}

fn login_body(name: &str, password: &str) -> String {
    format!(r#"{{"identifier":"{name}","password":"{password}"}}"#)
}

/// Registers `name` through the first server and logs in through the second; the cookie.
async fn signed_in(pair: &Pair, name: &str) -> String {
    let account = format!(r#"{{"username":"{name}","password":"{PASSWORD}"}}"#);
    let home = Ipv4Addr::LOCALHOST;
    let registered = send(
        pair.addr(0),
        home,
        "POST",
        "/api/register",
        &[],
        Some(&account),
    )
    .await;
    assert_eq!(registered.status, 201, "{}", registered.text());
    let login = login_body(name, PASSWORD);
    let logged_in = send(pair.addr(1), home, "POST", "/api/login", &[], Some(&login)).await;
    assert_eq!(logged_in.status, 200, "{}", logged_in.text());
    let set_cookie = logged_in.header("set-cookie").unwrap();
    format!("Cookie: {}", set_cookie.split(';').next().unwrap())
}

#[tokio::test]
async fn a_session_from_one_server_works_on_the_other_until_either_ends_it() {
    let Some(pair) = two_servers("a_session_from_one_server_works_on_the_other").await else {
        return;
    };
    let cookie = signed_in(&pair, "ada").await;
    let home = Ipv4Addr::LOCALHOST;
    for n in 0..4 {
        let me = send(
            pair.addr(n),
            home,
            "GET",
            "/api/me",
            std::slice::from_ref(&cookie),
            None,
        )
        .await;
        assert_eq!(me.status, 200, "server {}", n % 2);
        assert_eq!(me.json()["user"]["username"], "ada");
    }
    let origin = "Origin: http://t".to_owned();
    let out = send(
        pair.addr(0),
        home,
        "POST",
        "/api/logout",
        &[cookie.clone(), origin],
        None,
    )
    .await;
    assert_eq!(out.status, 200);
    let other = send(pair.addr(1), home, "GET", "/api/me", &[cookie], None).await;
    assert_eq!(
        other.status, 401,
        "logged out on one, refused by the other at once"
    );
    pair.finish().await;
}

#[tokio::test]
async fn six_guesses_spread_over_both_servers_meet_one_limit() {
    let Some(pair) = two_servers("six_guesses_spread_over_both_servers").await else {
        return;
    };
    signed_in(&pair, "ada").await;
    let guess = login_body("ada", "not the password");
    let mut statuses = Vec::new();
    for n in 0..6 {
        // Each guess from its own address, so only the per-account limit (5) can refuse.
        let source = Ipv4Addr::new(127, 60, 0, 1 + u8::try_from(n).unwrap());
        let answer = send(
            pair.addr(n),
            source,
            "POST",
            "/api/login",
            &[],
            Some(&guess),
        )
        .await;
        statuses.push(answer.status);
    }
    assert_eq!(
        statuses,
        [401, 401, 401, 401, 401, 429],
        "three on each server"
    );
    pair.finish().await;
}

#[tokio::test]
async fn a_token_from_one_server_is_accepted_by_the_other() {
    let Some(pair) = two_servers("a_token_from_one_server_is_accepted_by_the_other").await else {
        return;
    };
    signed_in(&pair, "ada").await;
    let home = Ipv4Addr::LOCALHOST;
    let login = login_body("ada", PASSWORD);
    let issued = send(pair.addr(0), home, "POST", "/api/token", &[], Some(&login)).await;
    assert_eq!(issued.status, 200, "{}", issued.text());
    let token = issued.json()["token"].as_str().unwrap().to_owned();
    let bearer = format!("Authorization: Bearer {token}");
    let post = r#"{"title":"written on the other server"}"#;
    let created = send(
        pair.addr(1),
        home,
        "POST",
        "/api/posts",
        &[bearer],
        Some(post),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text());
    pair.finish().await;
}
