//! The limit for `benches/run`'s MongoDB scenario: a hyper 1.x server that answers every
//! request with one `find_one` by `_id` through the official driver, and nothing else. A
//! cookie-checked request that needs one read of the database cannot cost less than this: an
//! HTTP exchange in hyper plus one driver round trip.
//!
//! At start it stores one document shaped like a groundup session (its user copied in, the
//! expiries, a CSRF token) in `limit_sessions`, and each request reads that document back as
//! raw BSON (no deserialization into a type), and answers `200 ok`. It runs on multi-thread
//! tokio, pinned to one core by the harness, like the other servers.
//!
//! Usage: `MONGODB_URI=mongodb://… [GROUNDUP_DB=name] mongo_find_one [ADDR]` (default
//! `127.0.0.1:8085`).

use std::convert::Infallible;
use std::time::Duration;

use bson::{DateTime, RawDocumentBuf, doc};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use mongodb::options::ClientOptions;
use mongodb::{Client, Collection};
use tokio::net::TcpListener;

/// The one document's `_id`: a session id hash's length.
const ID: &str = "0000000000000000000000000000000000000000000000000000000000000001";

async fn handle(
    sessions: Collection<RawDocumentBuf>,
    _: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (status, body) = match sessions.find_one(doc! { "_id": ID }).await {
        Ok(Some(_)) => (StatusCode::OK, "ok\n"),
        Ok(None) => (StatusCode::NOT_FOUND, "missing\n"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database error\n"),
    };
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    Ok(response)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8085".to_owned());
    let uri = std::env::var("MONGODB_URI").map_err(|_| "MONGODB_URI is not set")?;
    let database = std::env::var("GROUNDUP_DB").unwrap_or_else(|_| "limit".to_owned());
    let mut options = ClientOptions::parse(&uri).await?;
    options.server_selection_timeout = Some(Duration::from_secs(2));
    let client = Client::with_options(options)?;
    let sessions: Collection<RawDocumentBuf> =
        client.database(&database).collection("limit_sessions");
    let now = DateTime::now();
    let session = doc! {
        "_id": ID,
        "user": {
            "_id": bson::oid::ObjectId::new(),
            "username": "bench",
            "created_at": now,
        },
        "created_at": now,
        "last_seen": now,
        "idle_expires_at": now,
        "absolute_expires_at": now,
        "csrf_token": "0".repeat(64),
        "expireAt": now,
    };
    client
        .database(&database)
        .collection("limit_sessions")
        .replace_one(doc! { "_id": ID }, session)
        .upsert(true)
        .await?;

    let listener = TcpListener::bind(&addr).await?;
    eprintln!("mongo_find_one listening on {}", listener.local_addr()?);
    loop {
        // An accept error is a connection reset before it was taken; not the server's end.
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        stream.set_nodelay(true)?;
        let sessions = sessions.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| handle(sessions.clone(), request));
            // Errors here are the client's doing (reset, early close); the connection goes.
            let _ = http1::Builder::new()
                .pipeline_flush(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
