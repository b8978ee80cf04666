//! Accepting connections, capping them, and shutting down gracefully.
//!
//! The accept loop hands each connection to its own tokio task running
//! [`crate::server::conn::serve`]. Around that loop:
//!
//! - **A connection cap.** Each connection holds a semaphore permit. When none
//!   is left, the new connection gets a one-line `503` written without
//!   waiting (`try_write`) and is closed: the accept loop never blocks on a
//!   client it cannot serve, and an overloaded server says so instead of
//!   letting connections pile up unanswered in the kernel's backlog.
//! - **Back-off on accept errors.** Running out of file descriptors makes
//!   `accept` fail at once, again and again; retrying in a tight loop would
//!   burn a core. We sleep, doubling the pause up to a second, and carry on
//!   when descriptors free up.
//! - **Graceful shutdown.** When the shutdown future completes we stop
//!   accepting, tell every connection through a `watch` channel (idle ones
//!   close at once, busy ones finish their request and answer it with
//!   `connection: close`), and wait until the last permit is back or the
//!   grace period ends.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

use crate::http::{Limits, Response, Status, TrustedProxies, Version};
use crate::server::service::Service;
use crate::server::{conn, date};

/// The longest pause between failed `accept` calls.
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// A bound listening socket and the service it serves.
pub struct Server<S> {
    listener: TcpListener,
    service: Arc<S>,
    limits: Arc<Limits>,
    /// Whose forwarding headers are believed; nobody's unless configured.
    proxies: Arc<TrustedProxies>,
}

impl<S: Service> Server<S> {
    /// Binds `addr` (port 0 picks a free port; see [`local_addr`](Self::local_addr)).
    ///
    /// # Errors
    ///
    /// When the address cannot be bound (in use, no permission, …).
    pub async fn bind(addr: SocketAddr, service: S, limits: Limits) -> io::Result<Server<S>> {
        let listener = TcpListener::bind(addr).await?;
        Ok(Server {
            listener,
            service: Arc::new(service),
            limits: Arc::new(limits),
            proxies: Arc::default(),
        })
    }

    /// Believes `Forwarded` / `X-Forwarded-*` from these proxies (and only these).
    #[must_use]
    pub fn trust_proxies(mut self, proxies: TrustedProxies) -> Server<S> {
        self.proxies = Arc::new(proxies);
        self
    }

    /// The address the server listens on.
    ///
    /// # Errors
    ///
    /// When the operating system cannot report it.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves connections until `shutdown` completes, then shuts down
    /// gracefully and returns.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let permits = Arc::new(Semaphore::new(self.limits.max_connections));
        let (stop_sender, stop_receiver) = watch::channel(false);
        tokio::pin!(shutdown);
        let mut backoff = Duration::from_millis(1);

        loop {
            let accepted = tokio::select! {
                accepted = self.listener.accept() => accepted,
                () = &mut shutdown => break,
            };
            let (stream, peer) = match accepted {
                Ok(accepted) => {
                    backoff = Duration::from_millis(1);
                    accepted
                }
                Err(error) => {
                    tracing::warn!(%error, pause = ?backoff, "accept failed; backing off");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_ACCEPT_BACKOFF);
                    continue;
                }
            };
            let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
                refuse_over_capacity(&stream);
                continue;
            };
            // Responses are written whole, so Nagle's algorithm could only
            // delay them.
            let _ = stream.set_nodelay(true);
            let service = Arc::clone(&self.service);
            let limits = Arc::clone(&self.limits);
            let proxies = Arc::clone(&self.proxies);
            let stop = stop_receiver.clone();
            tokio::spawn(async move {
                conn::serve(stream, peer, service, limits, proxies, stop).await;
                drop(permit);
            });
        }

        tracing::info!("shutting down: no longer accepting connections");
        drop(self.listener);
        let _ = stop_sender.send(true);
        // Every connection task holds one permit; all of them back means
        // every connection is done.
        let all = u32::try_from(self.limits.max_connections).unwrap_or(u32::MAX);
        let grace = self.limits.shutdown_grace;
        if tokio::time::timeout(grace, permits.acquire_many(all))
            .await
            .is_err()
        {
            tracing::warn!(?grace, "connections still open after the grace period");
        }
    }
}

/// Writes a `503` to a connection over the cap and lets it drop. `try_write`
/// never waits: if the socket cannot take the bytes right now, the client
/// gets a plain close instead, which is the best an overloaded server can do.
fn refuse_over_capacity(stream: &TcpStream) {
    let response = Response::error(Status::SERVICE_UNAVAILABLE, "too many connections");
    let mut bytes = Vec::new();
    date::with_now(|now| response.encode_head(&mut bytes, Version::Http11, false, now));
    if let crate::http::Body::Full(body) = &response.body {
        bytes.extend_from_slice(body);
    }
    let _ = stream.try_write(&bytes);
}
