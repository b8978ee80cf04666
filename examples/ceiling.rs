//! The ceiling peer for `benches/run`: a canned-response server that does the least an HTTP/1.1
//! server can and still be one, so its numbers are the cost of the runtime and the kernel alone.
//!
//! It parses nothing. It reads, counts the complete requests in its buffer by their `\r\n\r\n`
//! ends (no request bodies, which the benchmark never sends), and answers all of them with one
//! write of the same fixed response repeated. Whatever groundup or hyper spend per request above
//! this is parsing, routing, framing and formatting. The response has the same header fields as
//! the hyper peer's, with a frozen `date`, so each server puts as many bytes on the wire.
//!
//! With `--close` every response says `connection: close` and the connection is closed after the
//! first one: the `Connection: close` run is then what a server does when the client asks for it,
//! without the ceiling having to read the request to find out.
//!
//! With `--body FILE` the keep-alive response carries that file as an `application/json` body
//! instead of `ok`: the posts scenario gives it the very page groundup answered, so the ceiling
//! pays the kernel for as many bytes as groundup does and the difference is what groundup
//! spends finding and writing the posts.
//!
//! It runs on multi-thread tokio like groundup; pinned to one core by the harness, that is one
//! worker.
//!
//! Usage: `ceiling [ADDR] [--close] [--body FILE]` (default `127.0.0.1:8082`).

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const KEEP_ALIVE: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 3\r\n\
date: Thu, 01 Jan 2026 00:00:00 GMT\r\n\r\nok\n";
const CLOSE: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 3\r\n\
connection: close\r\ndate: Thu, 01 Jan 2026 00:00:00 GMT\r\n\r\nok\n";

/// A client that sends this much without ending a request is not the benchmark's; drop it.
const MAX_BUFFERED: usize = 64 * 1024;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut addr = "127.0.0.1:8082".to_owned();
    let mut close = false;
    let mut response: &'static [u8] = KEEP_ALIVE;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--close" => close = true,
            "--body" => {
                let path = args.next().expect("--body takes a file");
                let body = std::fs::read(&path)?;
                let mut canned = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                     date: Thu, 01 Jan 2026 00:00:00 GMT\r\n\r\n",
                    body.len()
                )
                .into_bytes();
                canned.extend_from_slice(&body);
                // Served for the life of the process.
                response = Vec::leak(canned);
            }
            _ => addr = arg,
        }
    }
    let listener = TcpListener::bind(&addr).await?;
    eprintln!(
        "ceiling listening on {}{}",
        listener.local_addr()?,
        if close { " (connection: close)" } else { "" }
    );
    loop {
        // An accept error is a connection reset before it was taken (common in the
        // `Connection: close` run); it must not end the server mid-benchmark.
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        stream.set_nodelay(true)?;
        tokio::spawn(async move {
            // Errors are the client going away, which ends the connection either way.
            let _ = if close {
                serve_one(stream).await
            } else {
                serve(stream, response).await
            };
        });
    }
}

/// Keep-alive: answer every complete request in each read with a single write.
async fn serve(mut stream: TcpStream, response: &[u8]) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(16 * 1024);
    let mut out = Vec::with_capacity(16 * response.len());
    // Bytes of `buf` already known to hold no request end, so a request split across reads is
    // not scanned twice.
    let mut scanned = 0;
    loop {
        if stream.read_buf(&mut buf).await? == 0 {
            return Ok(());
        }
        let mut consumed = 0;
        while let Some(end) = find_end(&buf[scanned..]) {
            scanned += end;
            consumed = scanned;
            out.extend_from_slice(response);
        }
        if !out.is_empty() {
            stream.write_all(&out).await?;
            out.clear();
        }
        buf.drain(..consumed);
        if buf.len() > MAX_BUFFERED {
            return Ok(());
        }
        // The last three bytes may be the start of a `\r\n\r\n` that the next read completes.
        scanned = buf.len().saturating_sub(3);
    }
}

/// `Connection: close`: answer the first request, then close.
async fn serve_one(mut stream: TcpStream) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    loop {
        let scanned = buf.len().saturating_sub(3);
        if stream.read_buf(&mut buf).await? == 0 || buf.len() > MAX_BUFFERED {
            return Ok(());
        }
        if find_end(&buf[scanned..]).is_some() {
            stream.write_all(CLOSE).await?;
            return stream.shutdown().await;
        }
    }
}

/// The offset just past the first `\r\n\r\n` in `bytes`.
fn find_end(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
}
