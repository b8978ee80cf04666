//! `/echo`: shows a request back as the server understood it.
//!
//! This is the tool for the curl and netcat experiments in the README: send
//! anything, and see the method, the target split into path and query, the
//! header fields in the order they arrived, the cookies split into pairs, the body after
//! its framing (Content-Length or chunked) was taken off, and who sent it: the TCP peer,
//! and the client, which differ when the peer is a trusted proxy (`--trusted-proxy`).
//!
//! ```text
//! POST /echo?q=1 HTTP/1.1                  HTTP/1.1 200 OK
//! Host: localhost                          content-type: application/json
//! Content-Length: 5                        …
//!
//! hello                                    {"method":"POST","target":"/echo?q=1",
//!                                           "path":"/echo","query":[["q","1"]],
//!                                           "version":"HTTP/1.1",
//!                                           "headers":[["Host","localhost"],…],
//!                                           "cookies":[],"trailers":[],
//!                                           "body_length":5,"body":"hello",
//!                                           "peer":"127.0.0.1:50312",
//!                                           "client":{"address":"127.0.0.1",
//!                                                     "scheme":"http"}}
//! ```

use serde::Serialize;

use crate::http::Request;
use crate::http::cookie;
use crate::http::{Headers, Response, Status};

/// The JSON shape of an echoed request.
#[derive(Serialize)]
struct Echo<'a> {
    method: &'a str,
    target: &'a str,
    path: &'a str,
    /// Percent-decoded `name=value` pairs, in order, repeats kept.
    query: Vec<(String, String)>,
    version: &'static str,
    headers: Vec<(&'a str, String)>,
    /// The `Cookie` fields, split into name/value pairs (invalid pairs skipped).
    cookies: Vec<(&'a str, &'a str)>,
    trailers: Vec<(&'a str, String)>,
    body_length: usize,
    /// The body when it is UTF-8 text; `null` otherwise.
    body: Option<&'a str>,
    /// The other end of the TCP connection.
    peer: String,
    /// Who the request is from, as the throttle and the logs see it.
    client: EchoClient,
}

#[derive(Serialize)]
struct EchoClient {
    address: String,
    scheme: &'static str,
}

/// Answers with the request as JSON.
pub fn show(request: &Request) -> Response {
    let head = &request.head;
    let cookies = match cookie::parse_all(head.headers.get_all("cookie")) {
        Ok(cookies) => cookies.iter().map(|c| (c.name(), c.value())).collect(),
        Err(error) => {
            return Response::error(Status::REQUEST_HEADER_FIELDS_TOO_LARGE, &error.to_string());
        }
    };
    let echo = Echo {
        method: head.method.as_str(),
        target: &head.target,
        path: head.path(),
        query: form_urlencoded::parse(head.query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect(),
        version: head.version.as_str(),
        headers: fields(&head.headers),
        cookies,
        trailers: fields(&request.trailers),
        body_length: request.body.len(),
        body: std::str::from_utf8(&request.body).ok(),
        peer: request.peer.to_string(),
        client: EchoClient {
            address: request.client.address.to_string(),
            scheme: request.client.scheme.as_str(),
        },
    };
    match serde_json::to_vec(&echo) {
        Ok(json) => Response::json_bytes(Status::OK, json),
        Err(_) => Response::error(Status::INTERNAL_SERVER_ERROR, "could not encode the echo"),
    }
}

/// Field values as text; bytes that are not UTF-8 (legal as obs-text) show
/// as U+FFFD.
fn fields(headers: &Headers) -> Vec<(&str, String)> {
    headers
        .iter()
        .map(|field| {
            (
                field.name,
                String::from_utf8_lossy(field.value).into_owned(),
            )
        })
        .collect()
}
