//! Bodies too large to copy: a body of 16 KiB or more is not appended to the write
//! buffer behind its head, but written beside it in one vectored write, with whatever
//! pipelined answers were waiting before it. These tests make the socket take such a write
//! a piece at a time (a client that reads slowly through a small receive buffer) and check
//! that every byte arrives once, in order, with the answers before and after it intact; and
//! that a client that stops reading is cut off at the write timeout, not waited on forever.

mod common;

use std::time::Duration;

use common::{Client, PATIENCE, TestServer};
use groundup::http::{Limits, Request, RequestHead, Response, Status};
use groundup::server::Service;
use tokio::io::AsyncReadExt;
use tokio::net::TcpSocket;

/// Past the server's 16 KiB threshold, and more than a socket's send buffer takes at once
/// (Linux grows one to 4 MiB by default), so the vectored write is always cut short.
const LARGE: usize = 8 * 1024 * 1024;

/// `/large` answers [`LARGE`] bytes of [`pattern`]; anything else, `small`.
struct Bodies;

/// Bytes that differ from their neighbours, so a piece lost, doubled or moved shows.
fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|at| (at % 251) as u8 ^ (at / 251) as u8)
        .collect()
}

impl Service for Bodies {
    type Route = ();

    fn check_head(&self, _head: &RequestHead) -> Result<(), Response> {
        Ok(())
    }

    async fn call(&self, (): (), request: &Request) -> Response {
        if request.head.path() == "/large" {
            Response::new(Status::OK).body(pattern(LARGE))
        } else {
            Response::text(Status::OK, "small")
        }
    }
}

/// A connection whose receive buffer is as small as the kernel allows, so the server's
/// writes are taken in pieces.
async fn narrow_client(server: &TestServer) -> Client {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    Client::from_stream(socket.connect(server.addr).await.unwrap())
}

#[tokio::test]
async fn a_large_body_read_slowly_arrives_whole_between_its_neighbours() {
    let server = TestServer::start(Bodies, Limits::default()).await;
    let mut client = narrow_client(&server).await;
    // Pipelined: the small answer waits in the write buffer when the large one is written
    // beside it, and the last comes after.
    client
        .send(
            b"GET /small HTTP/1.1\r\nHost: t\r\n\r\n\
              GET /large HTTP/1.1\r\nHost: t\r\n\r\n\
              GET /small HTTP/1.1\r\nHost: t\r\n\r\n",
        )
        .await;
    // Let the server fill what the socket takes and wait on the rest.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let first = client.response().await;
    assert_eq!((first.status, first.body.as_slice()), (200, &b"small"[..]));
    let large = client.response().await;
    assert_eq!(large.status, 200);
    assert_eq!(large.header("content-length"), Some(&*LARGE.to_string()));
    assert!(
        large.body == pattern(LARGE),
        "the large body arrived changed"
    );
    let last = client.response().await;
    assert_eq!((last.status, last.body.as_slice()), (200, &b"small"[..]));
    // And the connection goes on.
    client.send(b"GET /large HTTP/1.1\r\nHost: t\r\n\r\n").await;
    assert!(client.response().await.body == pattern(LARGE));
}

#[tokio::test]
async fn a_client_that_stops_reading_a_large_body_is_cut_off_at_the_write_timeout() {
    let write_timeout = Duration::from_millis(500);
    let limits = Limits {
        write_timeout,
        ..Limits::default()
    };
    let server = TestServer::start(Bodies, limits).await;
    let mut client = narrow_client(&server).await;
    // Far more than the two sockets' buffers hold, so the server has to wait on this client.
    const REQUESTS: usize = 64;
    client
        .send(&b"GET /large HTTP/1.1\r\nHost: t\r\n\r\n".repeat(REQUESTS))
        .await;
    tokio::time::sleep(write_timeout * 3).await;
    // What the buffers held comes out, then the end: the server gave up and closed.
    let stream = &mut client.stream;
    let mut received = 0usize;
    let mut piece = vec![0; 64 * 1024];
    let ended = tokio::time::timeout(PATIENCE, async {
        loop {
            match stream.read(&mut piece).await {
                Ok(0) | Err(_) => return,
                Ok(read) => received += read,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the server never cut the stalled connection");
    assert!(
        received < REQUESTS * LARGE,
        "all {received} bytes arrived: the server waited instead of timing out"
    );
}
