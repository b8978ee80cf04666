//! One connection's life: read → parse → dispatch → write, then again.
//!
//! ```text
//!           ┌──────────── keep-alive ◄─────────────┐
//!           ▼                                      │
//!   read head ──► check head ──► [100 Continue] ──► read body ──► call ──► write
//!       │              │                                │
//!  idle/EOF: close   refused: respond, then drain the   bad framing: 4xx, close
//!  bad head: 4xx,    body (small) or close (large)
//!  close
//! ```
//!
//! The loop owns two buffers. Bytes read from the socket go into `read_buf`
//! and the sans-IO parsers take what they can from its front; whatever they
//! leave is the start of the next (pipelined) request. Responses are encoded
//! into `write_buf`, which is flushed when there is no further request already
//! waiting in `read_buf`, so sixteen pipelined requests get their sixteen
//! responses in one write.
//!
//! Three clocks bound a client: the idle timeout between requests, the head
//! deadline from a request's first byte to its blank line (slowloris ends
//! here with 408), and the body deadline. Writes have their own timeout, so a
//! client that stops reading cannot hold a task forever.
//!
//! When we cannot trust the framing any more (a parse error, a timeout, a body
//! we will not read), the response says `connection: close` and we close:
//! first our sending side, then we read and discard for a moment so the
//! client gets our response instead of a TCP reset.

use std::future::Future;
use std::io::IoSlice;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{Instant, Sleep, timeout, timeout_at};

use crate::http::response::{encode_chunk, encode_continue, encode_last_chunk};
use crate::http::{
    Body, BodyAborted, BodyDecoder, BodyStream, Client, Expectation, Framing, Headers, Limits,
    Method, ParseError, Parsed, Request, RequestHead, Response, ResponseFraming, Status,
    TrustedProxies, Version, parse_head_into,
};
use crate::server::access_log::{self, Answered};
use crate::server::date;
use crate::server::service::Service;

/// A connection's first read has this much room: enough for nearly every
/// request head (a browser's, cookies and all, is under a kilobyte), and small
/// because each open connection keeps its buffers, and ten thousand idle
/// keep-alive connections should not hold ten thousand 8 KiB buffers.
const FIRST_READ: usize = 1024;

/// Whenever a read fills all the room it had, the next gets twice as much
/// (an upload, a deep pipeline), up to this.
const READ_CHUNK: usize = 8 * 1024;

/// Responses pile up in the write buffer while pipelined requests are waiting
/// to be answered; past this size they are sent anyway.
const WRITE_BATCH: usize = 64 * 1024;

/// A body at least this long is not copied behind its head in the write buffer: the head
/// (and whatever responses wait before it) and the body go out together in one vectored
/// write. A body this size fills a write of its own, so nothing is lost by not batching it.
const DIRECT_BODY: usize = 16 * 1024;

/// After deciding to close, how long and how much we keep reading (and
/// discarding) so the client can see our last response. Closing a socket with
/// unread data makes the kernel send a reset, which can destroy the response
/// in flight.
const LINGER_TIME: Duration = Duration::from_secs(1);
const LINGER_BYTES: usize = 64 * 1024;

/// The connection reuses its request body buffer from one request to the
/// next, unless it has grown past this: one large upload must not pin its
/// memory for as long as the connection lives.
const KEEP_BODY_CAPACITY: usize = 64 * 1024;

/// Serves one accepted connection until it closes.
pub async fn serve<S: Service>(
    stream: TcpStream,
    peer: SocketAddr,
    service: Arc<S>,
    limits: Arc<Limits>,
    proxies: Arc<TrustedProxies>,
    shutdown: watch::Receiver<bool>,
) {
    // A peer that is not a trusted proxy is the client of every request on
    // the connection; only a proxy's requests each say whom they are for.
    let proxies = proxies.trusts(peer.ip()).then_some(proxies);
    let mut connection = Connection {
        stream,
        peer,
        service,
        limits,
        proxies,
        shutdown,
        read_buf: Vec::new(),
        read_pos: 0,
        read_room: FIRST_READ,
        unread_input: false,
        // Room for a typical response head and a small body; a bigger
        // response grows it, and the grown buffer is reused.
        write_buf: Vec::with_capacity(FIRST_READ),
        // Asked once per connection: tracing's check costs more than the rest of the
        // access log's work on a request when the log is off.
        access_log: access_log::enabled(),
        written: 0,
        write_time: None,
    };
    connection.run().await;
}

struct Connection<S> {
    stream: TcpStream,
    peer: SocketAddr,
    service: Arc<S>,
    limits: Arc<Limits>,
    /// The trusted proxies, when the peer is one of them.
    proxies: Option<Arc<TrustedProxies>>,
    /// Turns true when the server starts shutting down: we finish the request
    /// in hand, say `connection: close`, and stop.
    shutdown: watch::Receiver<bool>,
    /// Bytes read from the socket; those before `read_pos` are parsed.
    read_buf: Vec<u8>,
    read_pos: usize,
    /// The room the next read gets: from [`FIRST_READ`] up to [`READ_CHUNK`].
    read_room: usize,
    write_buf: Vec<u8>,
    /// Whether answers are logged (see [`access_log`]).
    access_log: bool,
    /// Bytes handed to the socket so far, for the access log.
    written: u64,
    /// The time the responses in `write_buf` are dated with, read when the
    /// first of them is encoded.
    write_time: Option<SystemTime>,
    /// Whether the client may have sent bytes we will never read (a body we
    /// refused, a request we rejected). Closing then needs a linger; see
    /// the module docs.
    unread_input: bool,
}

/// What the connection does after an exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// Read the next request.
    KeepAlive,
    /// Close, lingering so the last response arrives.
    Close,
    /// Close at once: the peer is gone or broke the connection.
    Abort,
}

/// Why reading stopped before the bytes we wanted arrived.
enum ReadError {
    /// The peer closed its side.
    Eof,
    /// The deadline passed.
    TimedOut,
    /// The socket failed.
    Io,
}

impl<S: Service> Connection<S> {
    async fn run(&mut self) {
        // One wait for shutdown serves the whole connection: created and
        // registered once, then polled beside every idle read. A fresh wait
        // per read would register and unregister a waiter each time, which
        // measured as a fifth of the CPU of a keep-alive request.
        let mut shutdown = self.shutdown.clone();
        let stopping = shutdown.wait_for(|&stopping| stopping);
        tokio::pin!(stopping);
        // The same goes for the idle timeout: one timer for the connection,
        // moved only when it goes off early (see `read_when_idle`).
        let idle = tokio::time::sleep(self.limits.idle_timeout);
        tokio::pin!(idle);
        // One request for the connection's whole life. Each new request is
        // parsed into it, so its buffers (target, fields, body) are reused,
        // and once they have grown to fit, a request costs no allocation.
        let mut request = Request {
            head: RequestHead::default(),
            body: Vec::new(),
            trailers: Headers::default(),
            peer: self.peer,
            client: Client::direct(self.peer.ip()),
        };
        // The paths a connection takes at most once, or only when something
        // is wrong (reject, refuse, linger, a streamed body), are boxed where
        // they are awaited. Unboxed, each would be a state of this future,
        // which is as large as its largest state and is held for as long as
        // the connection is open: 5.2 KiB per idle connection, where boxed
        // the whole future is 1.6 KiB.
        let next = loop {
            let waits = (stopping.as_mut(), idle.as_mut());
            let next = match self.read_head(&mut request.head, waits).await {
                Ok(true) => {
                    if let Some(proxies) = &self.proxies {
                        request.client = forwarded_client(proxies, self.peer, &request.head);
                    }
                    self.exchange(&mut request).await
                }
                Ok(false) => Next::Abort,
                Err(error) => Box::pin(self.reject(error.status(), &error.to_string())).await,
            };
            if next != Next::KeepAlive {
                break next;
            }
        };
        if next == Next::Close {
            if self.unread_input || self.read_pos < self.read_buf.len() {
                Box::pin(self.close_lingering()).await;
            } else {
                // The client asked to close (or we are shutting down) and sent
                // nothing more: a plain close loses nothing.
                let _ = self.flush().await;
            }
        }
    }

    /// Reads until a whole head is buffered, and parses it into `head`.
    ///
    /// `Ok(true)` means `head` holds the next request. `Ok(false)` means the
    /// connection ended without a request to answer: the client closed it
    /// between requests, it sat idle too long, or the server is shutting down.
    ///
    /// `waits` are the connection's shutdown signal and idle timer, for the
    /// wait before a request's first byte.
    async fn read_head(
        &mut self,
        head: &mut RequestHead,
        (mut stopping, mut idle): (Pin<&mut impl Future>, Pin<&mut Sleep>),
    ) -> Result<bool, HeadError> {
        // The head deadline starts once part of a request is here, not when
        // the connection went idle: an idle keep-alive connection is fine,
        // a request that takes ten seconds to send its header is not. (A
        // head that arrives whole in one read never needs a deadline, so
        // the clock is only read when one does.)
        let mut deadline = None;
        loop {
            if self.read_pos < self.read_buf.len() {
                match parse_head_into(&self.read_buf[self.read_pos..], &self.limits, head) {
                    Ok(Parsed::Complete((), used)) => {
                        self.read_pos += used;
                        return Ok(true);
                    }
                    Ok(Parsed::Partial) => {
                        deadline.get_or_insert_with(|| {
                            Instant::now() + self.limits.header_read_timeout
                        });
                    }
                    Err(error) => return Err(HeadError::Parse(error)),
                }
            }
            // Anything already answered goes out before we wait for more.
            if self.flush().await.is_err() {
                return Ok(false);
            }
            let read = match deadline {
                Some(deadline) => self.read_more_until(deadline).await,
                None => self.read_when_idle(stopping.as_mut(), idle.as_mut()).await,
            };
            match read {
                Ok(()) => {}
                Err(ReadError::TimedOut) if deadline.is_some() => return Err(HeadError::TimedOut),
                Err(_) => return Ok(false),
            }
        }
    }

    /// Waits for the first byte of a request, for at most the idle timeout,
    /// and not at all once shutdown has begun.
    ///
    /// The idle timer is not set afresh for each wait: filing a timer in the
    /// runtime's timer wheel and taking it out again cost more, per keep-alive
    /// request, than parsing the request. It stays set at some earlier wait's
    /// deadline, which is never later than this wait's. When it goes off, the
    /// connection has been idle for the whole timeout, or the timer is moved
    /// on to this wait's deadline and the wait goes on: a timer per
    /// connection, moved about once per timeout, and a clock read per wait.
    async fn read_when_idle(
        &mut self,
        mut stopping: Pin<&mut impl Future>,
        mut idle: Pin<&mut Sleep>,
    ) -> Result<(), ReadError> {
        if self.stopping() {
            return Err(ReadError::Eof);
        }
        let deadline = Instant::now() + self.limits.idle_timeout;
        loop {
            tokio::select! {
                // In this order, without the random start select! would pick:
                // the read is what a wait is for, and the others seldom fire.
                biased;
                read = self.read_more() => return read,
                _ = stopping.as_mut() => return Err(ReadError::Eof),
                () = idle.as_mut() => {
                    if Instant::now() >= deadline {
                        return Err(ReadError::TimedOut);
                    }
                    idle.as_mut().reset(deadline);
                }
            }
        }
    }

    /// Whether the server has begun shutting down. The only value ever sent
    /// on the channel is `true`, so "changed" means "stopping", and asking
    /// that is an atomic load where reading the value would take a lock. It
    /// holds because every connection's receiver is cloned before `true` is
    /// sent (the listener stops accepting first) and is never marked seen.
    fn stopping(&self) -> bool {
        self.shutdown.has_changed().unwrap_or(true)
    }

    /// Reads more bytes into `read_buf`, or fails at `deadline`.
    async fn read_more_until(&mut self, deadline: Instant) -> Result<(), ReadError> {
        timeout_at(deadline, self.read_more())
            .await
            .unwrap_or(Err(ReadError::TimedOut))
    }

    /// Reads more bytes into `read_buf`, however long that takes.
    async fn read_more(&mut self) -> Result<(), ReadError> {
        // Drop the bytes already parsed before reading more. Doing it here,
        // rather than after each request, moves the unparsed rest once per
        // read instead of once per pipelined request.
        self.read_buf.drain(..self.read_pos);
        self.read_pos = 0;
        if self.read_buf.capacity() - self.read_buf.len() < self.read_room / 2 {
            self.read_buf.reserve(self.read_room);
        }
        let room = self.read_buf.capacity() - self.read_buf.len();
        match self.stream.read_buf(&mut self.read_buf).await {
            Err(_) => Err(ReadError::Io),
            Ok(0) => Err(ReadError::Eof),
            Ok(read) => {
                if read == room {
                    self.read_room = (self.read_room * 2).min(READ_CHUNK);
                }
                Ok(())
            }
        }
    }

    /// Everything after the head: refuse early, or read the body, call the
    /// service and write its response.
    async fn exchange(&mut self, request: &mut Request) -> Next {
        // The clock for the access log, read only when it is on.
        let started = self.access_log.then(Instant::now);
        let head = &request.head;
        let checked = if head.expect == Expectation::Unsupported {
            Err(Response::error(
                Status::EXPECTATION_FAILED,
                "only Expect: 100-continue is supported",
            ))
        } else {
            self.service.check_head(head)
        };
        let route = match checked {
            Ok(route) => route,
            Err(response) => return Box::pin(self.refuse(request, response, started)).await,
        };

        if head.expect == Expectation::Continue && head.framing != Framing::None {
            encode_continue(&mut self.write_buf, head.version);
            if self.flush().await.is_err() {
                return Next::Abort;
            }
        }

        let mut decoder = BodyDecoder::new(head.framing, &self.limits);
        match self.read_body(&mut decoder, &mut request.body).await {
            Ok(()) => {}
            Err(BodyError::Parse(error)) => {
                return Box::pin(self.reject(error.status(), &error.to_string())).await;
            }
            Err(BodyError::Read(ReadError::TimedOut)) => {
                return Box::pin(self.reject(Status::REQUEST_TIMEOUT, "request body timed out"))
                    .await;
            }
            Err(BodyError::Read(_)) => return Next::Abort,
        };

        request.trailers = decoder.take_trailers();
        let response = self.service.call(route, request).await;
        let keep_alive = request.head.keep_alive && !self.stopping();
        self.answer(request, response, keep_alive, started).await
    }

    /// Sends the answer to `request`; with the access log on (`started` is when the
    /// exchange began), tags it with its request id and logs it.
    async fn answer(
        &mut self,
        request: &Request,
        response: Response,
        keep_alive: bool,
        started: Option<Instant>,
    ) -> Next {
        let head = &request.head;
        let head_only = head.method == Method::Head;
        let Some(started) = started else {
            return self
                .respond(response, head.version, head_only, keep_alive)
                .await;
        };
        let request_id = access_log::request_id(head, self.proxies.is_some());
        let status = response.status;
        let response = response.header("x-request-id", request_id.clone());
        let before = self.queued();
        let next = self
            .respond(response, head.version, head_only, keep_alive)
            .await;
        access_log::record(&Answered {
            head,
            client: &request.client,
            status,
            took: started.elapsed(),
            bytes: self.queued() - before,
            request_id: &request_id,
        });
        next
    }

    /// Bytes of responses so far: sent, or waiting in `write_buf`.
    fn queued(&self) -> u64 {
        self.written + self.write_buf.len() as u64
    }

    /// Answers a request whose body we decided not to read. A small body is
    /// read and thrown away so the connection can carry on; a large one, or
    /// one the client is holding back for a `100 Continue` that will never
    /// come, means we close instead.
    async fn refuse(
        &mut self,
        request: &mut Request,
        response: Response,
        started: Option<Instant>,
    ) -> Next {
        let head = &request.head;
        let drainable = match head.framing {
            Framing::None => true,
            _ if head.expect == Expectation::Continue => false,
            Framing::Length(length) => length <= self.limits.max_drain_bytes,
            // A chunked body's size is unknown until it is read; try, and
            // close if it turns out too large.
            Framing::Chunked => true,
        };
        self.unread_input = !drainable;
        let keep_alive = head.keep_alive && drainable && !self.stopping();
        let next = self.answer(request, response, keep_alive, started).await;
        if next != Next::KeepAlive {
            return next;
        }
        let head = &request.head;
        let drain_limits = Limits {
            max_body_bytes: self.limits.max_drain_bytes,
            ..Limits::clone(&self.limits)
        };
        let mut decoder = BodyDecoder::new(head.framing, &drain_limits);
        match self.read_body(&mut decoder, &mut request.body).await {
            Ok(()) => Next::KeepAlive,
            Err(_) => {
                self.unread_input = true;
                Next::Close
            }
        }
    }

    /// Reads the body the decoder describes into `body` (emptied first),
    /// within the body deadline.
    async fn read_body(
        &mut self,
        decoder: &mut BodyDecoder,
        body: &mut Vec<u8>,
    ) -> Result<(), BodyError> {
        if body.capacity() > KEEP_BODY_CAPACITY {
            *body = Vec::new();
        } else {
            body.clear();
        }
        // A request without a body is done before it starts.
        if decoder.is_done() {
            return Ok(());
        }
        // Set at the first read: a body already buffered needs no clock.
        let mut deadline = None;
        loop {
            let used = decoder
                .decode(&self.read_buf[self.read_pos..], body)
                .map_err(BodyError::Parse)?;
            self.read_pos += used;
            if decoder.is_done() {
                return Ok(());
            }
            // Responses already answered (earlier requests of a pipeline) go out before we
            // wait for the rest of this body, as they do before waiting for a head: a client
            // that sent them together may be waiting for them before it sends more.
            if self.flush().await.is_err() {
                return Err(BodyError::Read(ReadError::Io));
            }
            let deadline =
                *deadline.get_or_insert_with(|| Instant::now() + self.limits.body_read_timeout);
            self.read_more_until(deadline)
                .await
                .map_err(BodyError::Read)?;
        }
    }

    /// Answers a request that broke the protocol, and closes.
    async fn reject(&mut self, status: Status, message: &str) -> Next {
        tracing::debug!(peer = %self.peer, %status, message, "rejecting request");
        self.unread_input = true;
        // We may not even know the client's version; 1.1 is what we speak,
        // and every 1.x client reads it.
        let response = Response::error(status, message);
        match self.respond(response, Version::Http11, false, false).await {
            Next::Abort => Next::Abort,
            Next::KeepAlive | Next::Close => Next::Close,
        }
    }

    /// Encodes and (at the right moment) sends a response.
    async fn respond(
        &mut self,
        response: Response,
        version: Version,
        head_only: bool,
        keep_alive: bool,
    ) -> Next {
        let framing = response.framing(version);
        let keep_alive = keep_alive && framing != ResponseFraming::UntilClose;
        // One clock read for all the responses that go out in one write (a
        // pipelined batch is encoded within microseconds); the next write's
        // responses read it afresh. `Date` has whole seconds, and RFC 9110
        // §6.6.1 asks for the best available approximation of the time.
        let now = *self.write_time.get_or_insert_with(SystemTime::now);
        date::with_time(now, |date| {
            response.encode_head(&mut self.write_buf, version, keep_alive, date);
        });
        if !head_only && framing != ResponseFraming::NoBody {
            match response.body {
                Body::Empty => {}
                Body::Full(bytes) if bytes.len() >= DIRECT_BODY => {
                    if self.flush_with(&bytes).await.is_err() {
                        return Next::Abort;
                    }
                }
                Body::Full(bytes) => self.write_buf.extend_from_slice(&bytes),
                Body::Stream(stream) => {
                    let chunked = framing == ResponseFraming::Chunked;
                    if Box::pin(self.write_stream(stream, chunked)).await.is_err() {
                        return Next::Abort;
                    }
                }
            }
        }
        // Hold the response back while another request is already buffered:
        // its response will go out in the same write.
        let more_waiting =
            self.read_pos < self.read_buf.len() && self.write_buf.len() < WRITE_BATCH;
        if (!keep_alive || !more_waiting) && self.flush().await.is_err() {
            return Next::Abort;
        }
        if keep_alive {
            Next::KeepAlive
        } else {
            Next::Close
        }
    }

    /// Sends a streamed body as its pieces arrive. Pieces that are ready at
    /// once are batched; whenever the stream has to wait, what we have goes
    /// out, so a slow producer never holds back bytes already produced.
    async fn write_stream(&mut self, mut stream: BodyStream, chunked: bool) -> Result<(), ()> {
        loop {
            let polled =
                std::future::poll_fn(|cx| Poll::Ready(stream.as_mut().poll_next(cx))).await;
            let piece = match polled {
                Poll::Ready(piece) => piece,
                Poll::Pending => {
                    self.flush().await?;
                    std::future::poll_fn(|cx| stream.as_mut().poll_next(cx)).await
                }
            };
            let piece = match piece {
                None => break,
                Some(Ok(piece)) => piece,
                Some(Err(BodyAborted)) => {
                    tracing::warn!(peer = %self.peer, "streamed body aborted by its producer");
                    return Err(());
                }
            };
            if chunked {
                encode_chunk(&mut self.write_buf, &piece);
            } else {
                self.write_buf.extend_from_slice(&piece);
            }
            if self.write_buf.len() >= WRITE_BATCH {
                self.flush().await?;
            }
        }
        if chunked {
            encode_last_chunk(&mut self.write_buf);
        }
        Ok(())
    }

    /// Writes out everything in `write_buf`, within the write timeout.
    async fn flush(&mut self) -> Result<(), ()> {
        self.flush_with(&[]).await
    }

    /// Writes out everything in `write_buf` and then `body`, within the write timeout.
    async fn flush_with(&mut self, body: &[u8]) -> Result<(), ()> {
        let total = self.write_buf.len() + body.len();
        if total == 0 {
            return Ok(());
        }
        // Nearly always the socket's send buffer has room and the bytes go
        // out in one write that does not wait. Only a write that has to wait
        // needs the clock and a timer, so those come after the first try.
        let pieces = [IoSlice::new(&self.write_buf), IoSlice::new(body)];
        let written = match self.stream.try_write_vectored(&pieces) {
            Ok(written) => Ok(written),
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => Ok(0),
            Err(_) => Err(()),
        };
        let result = match written {
            Ok(written) if written == total => Ok(()),
            Ok(written) => {
                let head = self.write_buf.get(written..).unwrap_or_default();
                let body = &body[written.saturating_sub(self.write_buf.len())..];
                let stream = &mut self.stream;
                let rest = async {
                    stream.write_all(head).await?;
                    stream.write_all(body).await
                };
                match timeout(self.limits.write_timeout, rest).await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(_)) | Err(_) => Err(()),
                }
            }
            Err(()) => Err(()),
        };
        self.written += total as u64;
        self.write_buf.clear();
        self.write_time = None;
        result
    }

    /// Sends what is left, closes our side, and reads (discarding) until the
    /// client closes too, for a bounded time and amount.
    async fn close_lingering(&mut self) {
        if self.flush().await.is_err() {
            return;
        }
        if self.stream.shutdown().await.is_err() {
            return;
        }
        let mut discarded = 0;
        let mut scratch = [0u8; 4096];
        let deadline = Instant::now() + LINGER_TIME;
        while discarded < LINGER_BYTES {
            match timeout_at(deadline, self.stream.read(&mut scratch)).await {
                Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
                Ok(Ok(read)) => discarded += read,
            }
        }
    }
}

/// Why a head could not be read.
enum HeadError {
    /// The bytes broke HTTP or a limit.
    Parse(ParseError),
    /// The head did not arrive within the head deadline.
    TimedOut,
}

impl HeadError {
    fn status(&self) -> Status {
        match self {
            HeadError::Parse(error) => error.status(),
            HeadError::TimedOut => Status::REQUEST_TIMEOUT,
        }
    }
}

impl std::fmt::Display for HeadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeadError::Parse(error) => error.fmt(f),
            HeadError::TimedOut => f.write_str("request head timed out"),
        }
    }
}

/// The client a trusted proxy forwarded a request for; the proxy itself, with a debug
/// line, when its headers cannot be read (an odd header is not the client's fault).
fn forwarded_client(proxies: &TrustedProxies, peer: SocketAddr, head: &RequestHead) -> Client {
    proxies
        .client(peer.ip(), &head.headers)
        .unwrap_or_else(|(client, error)| {
            tracing::debug!(%peer, %error, "unreadable forwarding header from a trusted proxy");
            client
        })
}

/// Why a body could not be read.
enum BodyError {
    /// The framing was broken or over a limit.
    Parse(ParseError),
    /// The socket gave out.
    Read(ReadError),
}
