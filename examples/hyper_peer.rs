//! The hyper peer for `benches/run`: the smallest server a user would write on hyper 1.x to
//! answer `GET /health` with `200`, `content-type: text/plain` and `ok\n`, and so the yardstick
//! groundup's CPU time per request is measured against.
//!
//! It is set up the way a careful user would for this load: `TCP_NODELAY` on every connection
//! and `pipeline_flush(true)`, so a batch of pipelined responses goes out in one write instead of
//! one per response. It runs on the same runtime as groundup, multi-thread tokio, so neither side
//! gets a scheduler the other lacks; the harness pins it to one core with `taskset`, and tokio
//! sizes its worker pool from that affinity mask, so it runs one worker there just as groundup
//! does.
//!
//! Usage: `hyper_peer [ADDR]` (default `127.0.0.1:8081`).

use std::convert::Infallible;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut res = if req.method() == Method::GET && req.uri().path() == "/health" {
        Response::new(Full::new(Bytes::from_static(b"ok\n")))
    } else {
        let mut res = Response::new(Full::new(Bytes::from_static(b"not found\n")));
        *res.status_mut() = StatusCode::NOT_FOUND;
        res
    };
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    Ok(res)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8081".to_owned());
    let listener = TcpListener::bind(&addr).await?;
    eprintln!("hyper_peer listening on {}", listener.local_addr()?);
    loop {
        // An accept error is a connection reset before it was taken (common in the
        // `Connection: close` run); it must not end the server mid-benchmark.
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        stream.set_nodelay(true)?;
        tokio::spawn(async move {
            // Errors here are the client's doing (reset, early close), which a load generator
            // stopping mid-request causes by design; the connection is simply dropped.
            let _ = http1::Builder::new()
                .pipeline_flush(true)
                .serve_connection(TokioIo::new(stream), service_fn(handle))
                .await;
        });
    }
}
