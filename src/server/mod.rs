//! The IO side: sockets, timeouts and shutdown, around the sans-IO protocol.
//!
//! [`crate::http`] knows what bytes mean; this module knows where bytes come
//! from and when to give up waiting for them. Reading order:
//! 1. [`listener`]: accept connections, cap how many are open, shut down
//!    gracefully.
//! 2. [`conn`]: one connection's life: read a head, maybe a body, call the
//!    service, write the response, and decide whether to go round again.
//! 3. [`service`]: the seam between the server and the application.
//! 4. [`stream`]: a response body fed piece by piece from another task.
//! 5. [`date`]: the `Date` header, formatted once a second.
//! 6. [`access_log`]: one event per answered request, with its request id.

pub mod access_log;
pub mod conn;
pub mod date;
pub mod listener;
pub mod service;
pub mod stream;

pub use listener::Server;
pub use service::Service;
