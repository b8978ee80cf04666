//! `--log-format json`: the binary's log read back line by line, each one a JSON object,
//! with one `access` event per answered request that matches the answer the client got.
//!
//! The server trusts 127.0.0.1/32 as its proxy; a client that is not the proxy connects
//! from 127.0.0.2, so both kinds of peer are real TCP peers.

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use common::binary::ServerProcess;
use common::store_support::TempDir;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

const PROXY: Ipv4Addr = Ipv4Addr::LOCALHOST;
const CLIENT: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

/// Sends `request` (which asks to close) from `source` and reads the whole answer.
async fn exchange(server: SocketAddr, source: Ipv4Addr, request: &str) -> Vec<u8> {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(source.into(), 0)).unwrap();
    let mut stream = socket.connect(server).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(common::PATIENCE, stream.read_to_end(&mut answer))
        .await
        .expect("the server answers and closes")
        .unwrap();
    answer
}

/// The value of `name` in an answer's head.
fn header(answer: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(answer);
    let head = text.split("\r\n\r\n").next().unwrap_or_default().to_owned();
    head.lines().skip(1).find_map(|line| {
        let (field, value) = line.split_once(':')?;
        field
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().to_owned())
    })
}

/// The access event for `request_id`, waiting for the log to catch up.
async fn event(server: &ServerProcess, request_id: &str) -> Value {
    for _ in 0..100 {
        let found = server.log.lock().unwrap().iter().find_map(|line| {
            let event: Value = serde_json::from_str(line).ok()?;
            (event["target"] == "access" && event["request_id"] == request_id).then_some(event)
        });
        if let Some(event) = found {
            return event;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no access event for request {request_id}");
}

#[tokio::test]
async fn every_line_is_json_and_every_answer_has_its_event() {
    let data = TempDir::new();
    let server = ServerProcess::start_with(
        data.path(),
        None,
        &["--log-format", "json", "--trusted-proxy", "127.0.0.1/32"],
    );
    let addr = server.addr;

    // A client that is not the proxy: its own id is not believed, the query stays out.
    let answer = exchange(
        addr,
        CLIENT,
        "GET /api/posts?limit=1&title_prefix=secret HTTP/1.1\r\nHost: t\r\n\
         X-Request-Id: forged-by-the-client\r\nConnection: close\r\n\r\n",
    )
    .await;
    let made = header(&answer, "x-request-id").expect("every answer has an id");
    assert_eq!(made.len(), 20, "{made}");
    assert!(made.bytes().all(|b| b.is_ascii_hexdigit()), "{made}");
    let logged = event(&server, &made).await;
    assert_eq!(logged["method"], "GET");
    assert_eq!(logged["path"], "/api/posts");
    assert_eq!(logged["status"], 200);
    assert_eq!(logged["client"], CLIENT.to_string());
    assert_eq!(logged["bytes"], answer.len() as u64);
    assert!(logged["duration_us"].is_u64(), "{logged}");

    // The proxy's id is kept, and so is the client it forwards for.
    let answer = exchange(
        addr,
        PROXY,
        "HEAD /health HTTP/1.1\r\nHost: t\r\nX-Request-Id: edge-42.a_b\r\n\
         X-Forwarded-For: 203.0.113.9\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(
        header(&answer, "x-request-id").as_deref(),
        Some("edge-42.a_b")
    );
    let logged = event(&server, "edge-42.a_b").await;
    assert_eq!(
        (&logged["method"], &logged["path"], &logged["status"]),
        (
            &Value::from("HEAD"),
            &Value::from("/health"),
            &Value::from(200)
        )
    );
    assert_eq!(logged["client"], "203.0.113.9");
    assert_eq!(logged["bytes"], answer.len() as u64);

    // Even from the proxy, an id that is not a short token is replaced, and a refusal by
    // the router is logged like any answer.
    let long = "a".repeat(65);
    for sent in [long.as_str(), "has space", "quote\"d"] {
        let answer = exchange(
            addr,
            PROXY,
            &format!(
                "GET /nothing/here HTTP/1.1\r\nHost: t\r\nX-Request-Id: {sent}\r\n\
                 Connection: close\r\n\r\n"
            ),
        )
        .await;
        let made = header(&answer, "x-request-id").expect("an id");
        assert_ne!(made, sent);
        assert_eq!(made.len(), 20);
        let logged = event(&server, &made).await;
        assert_eq!(
            (&logged["path"], &logged["status"]),
            (&Value::from("/nothing/here"), &Value::from(404))
        );
    }

    let lines = server.log.lock().unwrap().clone();
    assert!(lines.len() > 5, "{lines:?}");
    for line in &lines {
        let parsed: Value =
            serde_json::from_str(line).unwrap_or_else(|error| panic!("not JSON ({error}): {line}"));
        assert!(parsed.is_object() && parsed["level"].is_string(), "{line}");
    }
}

#[tokio::test]
async fn the_text_log_has_no_access_events_and_answers_no_request_id() {
    let data = TempDir::new();
    // RUST_LOG=info (set for every test binary) does not name `access`.
    let server = ServerProcess::start(data.path(), None);
    let answer = exchange(
        server.addr,
        PROXY,
        "GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));
    assert_eq!(header(&answer, "x-request-id"), None);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let lines = server.log.lock().unwrap().clone();
    assert!(
        lines.iter().all(|line| !line.contains("/health")),
        "{lines:?}"
    );
}
