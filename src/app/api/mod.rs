//! The JSON API: what a program talks to. Every handler here returns a
//! [`Reply`](crate::app::reply::Reply), and every refusal is a JSON body,
//! `{"error": "...", "field": "..."}`, with the status that says why.
//!
//! - [`accounts`]: register, log in, who am I, log out, change the password, tokens.
//! - [`posts`]: the seed's MongoDB operations over HTTP.
//! - [`openapi`]: all of the above described in OpenAPI, served.

pub mod accounts;
pub mod openapi;
pub mod posts;
