//! Streamed (chunked) responses and graceful shutdown, with a test service
//! whose handlers take their time.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::TestServer;
use groundup::http::Request;
use groundup::http::{BodyAborted, Limits, RequestHead, Response, Status};
use groundup::server::{Service, stream};
use tokio::sync::Notify;

/// `/stream` sends three pieces with pauses between them; `/slow` answers
/// after a pause, and says when it has started.
#[derive(Default)]
struct Slow {
    started: Arc<Notify>,
}

impl Service for Slow {
    type Route = ();

    fn check_head(&self, _head: &RequestHead) -> Result<(), Response> {
        Ok(())
    }

    async fn call(&self, (): (), request: &Request) -> Response {
        if request.head.path() == "/stream" {
            let (sender, body) = stream::channel(1);
            tokio::spawn(async move {
                for piece in ["one,", "two,", "three"] {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    if sender.send(Ok(piece.as_bytes().to_vec())).await.is_err() {
                        return;
                    }
                }
            });
            Response::new(Status::OK).stream(body)
        } else if request.head.path() == "/broken" {
            let (sender, body) = stream::channel(1);
            tokio::spawn(async move {
                let _ = sender.send(Ok(b"half a bo".to_vec())).await;
                let _ = sender.send(Err(BodyAborted)).await;
            });
            Response::new(Status::OK).stream(body)
        } else {
            self.started.notify_one();
            tokio::time::sleep(Duration::from_millis(300)).await;
            Response::text(Status::OK, "done")
        }
    }
}

async fn start() -> TestServer {
    TestServer::start(Slow::default(), Limits::default()).await
}

#[tokio::test]
async fn stream_is_sent_chunked_on_http11() {
    let server = start().await;
    let mut client = server.connect().await;
    client
        .send(b"GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
        .await;
    let response = client.response().await;
    assert!(response.chunked);
    assert_eq!(response.header("content-length"), None);
    assert_eq!(response.body, b"one,two,three");
    // The zero-size chunk ended the body; the connection goes on.
    client
        .send(b"GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
        .await;
    assert_eq!(client.response().await.body, b"one,two,three");
}

#[tokio::test]
async fn stream_to_http10_is_delimited_by_close() {
    let server = start().await;
    let mut client = server.connect().await;
    client
        .send(b"GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        .await;
    let response = client.response().await;
    assert!(!response.chunked);
    assert_eq!(response.header("connection"), Some("close"));
    assert_eq!(response.body, b"one,two,three");
}

#[tokio::test]
async fn head_of_a_stream_has_no_body() {
    let server = start().await;
    let mut client = server.connect().await;
    client
        .send(b"HEAD /stream HTTP/1.1\r\nHost: t\r\n\r\n")
        .await;
    let response = client.head_response().await;
    assert_eq!(response.header("transfer-encoding"), Some("chunked"));
    client.send(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n").await;
    assert_eq!(client.response().await.body, b"done");
}

#[tokio::test]
async fn shutdown_finishes_the_request_in_flight_then_closes() {
    let slow = Slow::default();
    let started = Arc::clone(&slow.started);
    let mut server = TestServer::start(slow, Limits::default()).await;
    let mut client = server.connect().await;
    client.send(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n").await;
    // Shut down once the handler is under way: the request is then in flight.
    tokio::time::timeout(common::PATIENCE, started.notified())
        .await
        .expect("the handler started");
    let finished = server.shut_down();
    let response = client.response().await;
    assert_eq!(
        (response.status, response.body.as_slice()),
        (200, &b"done"[..])
    );
    assert_eq!(response.header("connection"), Some("close"));
    assert!(client.is_closed().await);
    tokio::time::timeout(common::PATIENCE, finished)
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn shutdown_refuses_new_connections() {
    let mut server = start().await;
    let addr = server.addr;
    tokio::time::timeout(common::PATIENCE, server.shut_down())
        .await
        .unwrap()
        .unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn aborted_stream_cuts_the_connection_without_the_last_chunk() {
    let server = start().await;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stream, b"GET /broken HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    let mut received = Vec::new();
    tokio::time::timeout(
        common::PATIENCE,
        tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut received),
    )
    .await
    .unwrap()
    .unwrap();
    let text = String::from_utf8(received).unwrap();
    assert!(text.contains("transfer-encoding: chunked"));
    assert!(
        text.ends_with("9\r\nhalf a bo\r\n"),
        "no terminating chunk: {text:?}"
    );
}
