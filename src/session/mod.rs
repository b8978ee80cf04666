//! Sessions: who is logged in, remembered across requests by a cookie.

pub mod id;
pub mod manager;
pub mod password;
pub mod throttle;
pub mod token;
