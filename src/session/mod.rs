//! Sessions: who is logged in, remembered across requests by a cookie.
//!
//! HTTP forgets the client between requests. A session is the server's
//! memory of a login: at login the server draws a random id, stores a record
//! under it, and hands the id to the browser in a cookie that comes back on
//! every request. Reading order:
//!
//! 1. [`id`]: the id (256 random bits) and why the store keeps only its hash;
//! 2. [`password`]: Argon2id in memory allocated once, and the dummy
//!    verification for unknown users;
//! 3. [`hash_pool`]: password hashing as a bounded resource: fixed workers,
//!    a bounded queue, 503 past it;
//! 4. [`throttle`]: login attempts counted per account and per address,
//!    reserved before the password is checked, over [`sliding_window`];
//! 5. [`manager`]: start, resolve and end a session; the cookie's attributes;
//! 6. [`jwt`]: the stateless alternative, a signed token nobody stores, and
//!    what it cannot do (be revoked); signed with [`hmac`], written out here.
//!
//! And [`constant_time`], how secrets (a CSRF token, a signature) are
//! compared without the time it takes telling how close a guess came.

pub mod constant_time;
pub mod hash_pool;
pub mod hmac;
pub mod id;
pub mod jwt;
pub mod manager;
pub mod password;
pub mod sliding_window;
pub mod throttle;
