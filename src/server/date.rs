//! The `Date` header field, which every response carries (RFC 9110 §6.6.1).
//!
//! Its value changes once a second but a busy server sends thousands of
//! responses a second, so each worker thread formats it once per second, into
//! the same string each time, and reuses the text in between: a response
//! costs at most a clock read, never a format or an allocation. (A connection
//! reads the clock once for all the responses it sends in one write; see
//! `Connection::respond`.)

use std::cell::RefCell;
use std::fmt::Write;
use std::time::{SystemTime, UNIX_EPOCH};

thread_local! {
    /// The second the cached text is for, and the text.
    static CACHED: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

/// Calls `with` with the current date as an IMF-fixdate
/// (`Tue, 24 Nov 2026 12:00:00 GMT`).
pub fn with_now<T>(with: impl FnOnce(&str) -> T) -> T {
    with_time(SystemTime::now(), with)
}

/// Calls `with` with `now` as an IMF-fixdate.
pub fn with_time<T>(now: SystemTime, with: impl FnOnce(&str) -> T) -> T {
    let second = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since_epoch| since_epoch.as_secs());
    CACHED.with(|cached| {
        let mut cached = cached.borrow_mut();
        if cached.0 != second {
            cached.0 = second;
            cached.1.clear();
            // Writing to a String cannot fail.
            let _ = write!(cached.1, "{}", httpdate::HttpDate::from(now));
        }
        with(&cached.1)
    })
}
