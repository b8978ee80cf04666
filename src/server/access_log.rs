//! One log event per answered request, for a log that a machine reads: what was asked,
//! how it was answered, how long that took, and a request id that ties the event to the
//! answer (`X-Request-Id`) and to a proxy's own log.
//!
//! ```text
//! {"timestamp":"2026-12-02T05:04:05.872469Z","level":"INFO","method":"GET",
//!  "path":"/api/posts","status":200,"duration_us":84,"bytes":27431,
//!  "client":"127.0.0.1","request_id":"643e19dd000000000007","target":"access"}
//! ```
//!
//! The events go to tracing under the target `access`: `--log-format json` turns them on
//! (one JSON object per line), the text log leaves them off unless `RUST_LOG` names
//! `access`. When they are off, the connection does none of this work and sends no
//! `X-Request-Id`.
//!
//! - The path goes in without the query, which may carry what a log must not keep.
//! - The request id is made here: this process's random prefix and a counter, so ids
//!   from several instances behind one proxy do not collide. A proxy that makes its own
//!   (nginx's `$request_id`) may send it as `X-Request-Id`, and it is kept, but only from
//!   a trusted proxy and only when it is a short token: from anyone else it could forge
//!   or flood the log.
//! - `bytes` counts what was queued to the socket for the answer, head included.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::http::{Client, RequestHead, Status};

/// The tracing target of the events.
pub const TARGET: &str = "access";

/// The longest incoming request id kept.
const MAX_INCOMING_ID: usize = 64;

/// Whether the events are on; a cached check, nearly free when they are off.
pub fn enabled() -> bool {
    tracing::enabled!(target: TARGET, tracing::Level::INFO)
}

/// The id of a request: the one a trusted proxy sent, when it is a short token, else a
/// new one.
pub fn request_id(head: &RequestHead, from_trusted_proxy: bool) -> String {
    let incoming = head
        .headers
        .get("x-request-id")
        .filter(|_| from_trusted_proxy)
        .filter(|id| is_short_token(id));
    match incoming {
        Some(id) => String::from_utf8_lossy(id).into_owned(),
        None => new_id(),
    }
}

/// 1 to 64 letters, digits, `-`, `_` or `.`: what a log line can hold as it is.
fn is_short_token(id: &[u8]) -> bool {
    (1..=MAX_INCOMING_ID).contains(&id.len())
        && id
            .iter()
            .all(|&byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.'))
}

/// 20 hex digits: this process's 32-bit random prefix, then a 48-bit count.
fn new_id() -> String {
    static PREFIX: OnceLock<u32> = OnceLock::new();
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let prefix = *PREFIX.get_or_init(|| {
        let mut bytes = [0; 4];
        // Without a random source the ids are still unique within this process.
        let _ = getrandom::fill(&mut bytes);
        u32::from_le_bytes(bytes)
    });
    let count = COUNT.fetch_add(1, Ordering::Relaxed) & 0xFFFF_FFFF_FFFF;
    format!("{prefix:08x}{count:012x}")
}

/// What one answer was, for its event.
pub struct Answered<'a> {
    /// The request's head: its method and path.
    pub head: &'a RequestHead,
    /// Whom it was for: the peer, or the client a trusted proxy forwarded for.
    pub client: &'a Client,
    /// The answer's status.
    pub status: Status,
    /// From the head read to the answer queued.
    pub took: Duration,
    /// The answer's bytes, head included.
    pub bytes: u64,
    /// The id sent back in `X-Request-Id`.
    pub request_id: &'a str,
}

/// Logs the event.
pub fn record(answered: &Answered<'_>) {
    tracing::info!(
        target: TARGET,
        method = answered.head.method.as_str(),
        path = answered.head.path(),
        status = answered.status.code(),
        duration_us = u64::try_from(answered.took.as_micros()).unwrap_or(u64::MAX),
        bytes = answered.bytes,
        client = %answered.client.address,
        request_id = answered.request_id,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_tokens_are_kept_as_incoming_ids() {
        for kept in ["a", "0f3e9b2c4d5e6f708192a3b4c5d6e7f8", "edge-1.req_7"] {
            assert!(is_short_token(kept.as_bytes()), "{kept}");
        }
        let long = "a".repeat(65);
        for refused in ["", "a b", "a\"b", "ü", "x\ny", long.as_str()] {
            assert!(!is_short_token(refused.as_bytes()), "{refused:?}");
        }
    }

    #[test]
    fn new_ids_differ_and_share_the_prefix() {
        let (first, second) = (new_id(), new_id());
        assert_ne!(first, second);
        assert_eq!((first.len(), &first[..8]), (20, &second[..8]));
    }
}
