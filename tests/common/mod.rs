//! A raw HTTP client for tests: bytes go out exactly as written, and responses
//! are read back with an independent little parser, so a bug in the server's
//! own encoder cannot hide itself.

#![allow(dead_code)] // each test file uses its own subset of these helpers

pub mod binary;
pub mod fixture;
pub mod mongo_process;
pub mod store_support;

use std::any::Any;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use groundup::app::{App, AppConfig};
use groundup::http::Limits;
use groundup::server::{Server, Service};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// How long a test waits for a response (or a close) before failing. Only a
/// bound against hanging, never a performance check.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A server running in the background of a test; dropping it shuts it down.
pub struct TestServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    pub finished: Option<tokio::task::JoinHandle<()>>,
    /// Whatever must outlive the server (its store's scratch directory).
    _keep: Option<Box<dyn Any + Send>>,
}

impl TestServer {
    /// Starts `service` on a free port with `limits`.
    pub async fn start<S: Service>(service: S, limits: Limits) -> TestServer {
        let server = Server::bind("127.0.0.1:0".parse().unwrap(), service, limits)
            .await
            .unwrap();
        TestServer::serve(server)
    }

    /// Runs a server bound and set up by the caller.
    pub fn serve<S: Service>(server: Server<S>) -> TestServer {
        let addr = server.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel();
        let finished = tokio::spawn(server.run(async {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            stop: Some(stop),
            finished: Some(finished),
            _keep: None,
        }
    }

    /// Starts the real application on a fresh embedded store.
    pub async fn app(config: AppConfig, limits: Limits) -> TestServer {
        let (store, dir) = store_support::embedded_store().await;
        let mut server =
            TestServer::start(App::new(Arc::new(store), config).unwrap(), limits).await;
        server._keep = Some(Box::new(dir));
        server
    }

    /// Opens a raw connection.
    pub async fn connect(&self) -> Client {
        Client {
            stream: TcpStream::connect(self.addr).await.unwrap(),
            buffer: Vec::new(),
        }
    }

    /// Begins graceful shutdown and returns the task to await.
    pub fn shut_down(&mut self) -> tokio::task::JoinHandle<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.finished.take().unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A response as read off the wire.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub version: u8,
    /// Field names lowercased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Whether the body was sent chunked.
    pub chunked: bool,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|error| panic!("body is not JSON ({error}): {}", self.text()))
    }
}

/// One raw connection.
pub struct Client {
    pub stream: TcpStream,
    buffer: Vec<u8>,
}

/// How a response's body is delimited, for the reader below.
pub enum BodyKind {
    /// By its framing fields.
    Normal,
    /// Not at all: the response to a HEAD request.
    None,
}

impl Client {
    pub fn from_stream(stream: TcpStream) -> Client {
        Client {
            stream,
            buffer: Vec::new(),
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// Reads one response (to a request other than HEAD).
    pub async fn response(&mut self) -> RawResponse {
        self.read_response(BodyKind::Normal).await
    }

    /// Reads one response to a HEAD request: a head and no body.
    pub async fn head_response(&mut self) -> RawResponse {
        self.read_response(BodyKind::None).await
    }

    pub async fn read_response(&mut self, kind: BodyKind) -> RawResponse {
        tokio::time::timeout(PATIENCE, self.read_response_now(kind))
            .await
            .expect("no response in time")
    }

    async fn read_response_now(&mut self, kind: BodyKind) -> RawResponse {
        let (status, version, headers, head_len) = loop {
            let mut fields = [httparse::EMPTY_HEADER; 64];
            let mut parsed = httparse::Response::new(&mut fields);
            if let httparse::Status::Complete(head_len) = parsed.parse(&self.buffer).unwrap() {
                let headers = parsed
                    .headers
                    .iter()
                    .map(|field| {
                        (
                            field.name.to_ascii_lowercase(),
                            String::from_utf8_lossy(field.value).into_owned(),
                        )
                    })
                    .collect::<Vec<_>>();
                break (
                    parsed.code.unwrap(),
                    parsed.version.unwrap(),
                    headers,
                    head_len,
                );
            }
            self.fill()
                .await
                .expect("connection closed before a full head");
        };
        self.buffer.drain(..head_len);
        let mut response = RawResponse {
            status,
            version,
            headers,
            body: Vec::new(),
            chunked: false,
        };
        if matches!(kind, BodyKind::None) || status < 200 || status == 204 || status == 304 {
            return response;
        }
        if let Some(length) = response.header("content-length") {
            let length: usize = length.parse().unwrap();
            while self.buffer.len() < length {
                self.fill().await.expect("connection closed inside a body");
            }
            response.body = self.buffer.drain(..length).collect();
        } else if response.header("transfer-encoding") == Some("chunked") {
            response.chunked = true;
            response.body = self.read_chunked().await;
        } else {
            // Delimited by close.
            while self.fill().await.is_some() {}
            response.body = std::mem::take(&mut self.buffer);
        }
        response
    }

    async fn read_chunked(&mut self) -> Vec<u8> {
        let mut body = Vec::new();
        loop {
            let line = self.line().await;
            let size = usize::from_str_radix(line.split(';').next().unwrap(), 16).unwrap();
            if size == 0 {
                while !self.line().await.is_empty() {}
                return body;
            }
            while self.buffer.len() < size + 2 {
                self.fill().await.expect("closed inside a chunk");
            }
            body.extend(self.buffer.drain(..size));
            assert_eq!(self.buffer.drain(..2).collect::<Vec<_>>(), b"\r\n");
        }
    }

    async fn line(&mut self) -> String {
        loop {
            if let Some(end) = self.buffer.windows(2).position(|pair| pair == b"\r\n") {
                let line = String::from_utf8(self.buffer.drain(..end).collect()).unwrap();
                self.buffer.drain(..2);
                return line;
            }
            self.fill().await.expect("closed inside a line");
        }
    }

    /// Reads more; `None` at EOF or reset.
    async fn fill(&mut self) -> Option<usize> {
        let mut chunk = [0u8; 8192];
        match self.stream.read(&mut chunk).await {
            Ok(0) | Err(_) => None,
            Ok(read) => {
                self.buffer.extend_from_slice(&chunk[..read]);
                Some(read)
            }
        }
    }

    /// Whether the server closed the connection: EOF (or a reset) arrives
    /// with no further bytes.
    pub async fn is_closed(&mut self) -> bool {
        match tokio::time::timeout(PATIENCE, self.fill()).await {
            Ok(None) => self.buffer.is_empty(),
            Ok(Some(_)) => panic!(
                "unexpected bytes: {:?}",
                String::from_utf8_lossy(&self.buffer)
            ),
            Err(_) => false,
        }
    }

    /// Proves the connection is still in step with the server: one more
    /// request gets its proper answer.
    pub async fn assert_usable(&mut self) {
        self.send(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n").await;
        let response = self.response().await;
        assert_eq!(response.status, 200, "connection no longer usable");
        assert_eq!(response.body, b"ok\n");
    }
}
