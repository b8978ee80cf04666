//! Prints what groundup's sans-IO parser makes of the bytes a client sends on
//! one connection, as JSON: groundup's side of the differential test in
//! `tests/oracle/differential.py`, which compares it with h11, Node's `http`
//! and Go's `net/http`.
//!
//! ```text
//! printf 'GET / HTTP/1.1\r\nHost: a\r\n\r\n' | cargo run --example parse_dump
//! {"requests":[{"method":"GET","target":"/","version":"HTTP/1.1",
//!   "headers":[["Host","a"]],"body":"","trailers":[]}],"end":{"verdict":"open"}}
//! ```
//!
//! `requests` are the requests read in order, bodies decoded; `end` is what
//! stopped the reading: `open` (the bytes ran out, mid-request or between
//! two; the server would wait for more), `closed` (a request that does not
//! let the connection persist, so the server reads no further), or `reject`
//! with the `status` and `error` the server would answer before it closes.
//! Byte strings are printed as JSON strings with every byte mapped to the code
//! point of the same value (Latin-1), so nothing is lost and every side of
//! the comparison prints them the same way.
//!
//! With `--lines`, each line of stdin is one connection's bytes in hex, and
//! each line of stdout its reading: one process for a whole list of cases.

use std::io::{BufRead, Read, Write};

use groundup::http::{BodyDecoder, Headers, Limits, ParseError, Parsed, parse_head};
use serde_json::{Value, json};

fn main() {
    if std::env::args().nth(1).as_deref() == Some("--lines") {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        for line in std::io::stdin().lock().lines() {
            let bytes =
                hex::decode(line.expect("stdin is readable").trim()).expect("each line is hex");
            writeln!(out, "{}", connection(&bytes)).expect("stdout is writable");
        }
        return;
    }
    let mut input = Vec::new();
    std::io::stdin()
        .read_to_end(&mut input)
        .expect("stdin is readable");
    println!("{}", connection(&input));
}

/// Every request `input` holds, read as the server's connection loop reads
/// them: a head, its body, and the next head right after it.
fn connection(input: &[u8]) -> Value {
    let limits = Limits::default();
    let mut requests = Vec::new();
    let mut rest = input;
    let end = loop {
        let (head, used) = match parse_head(rest, &limits) {
            Ok(Parsed::Complete(head, used)) => (head, used),
            Ok(Parsed::Partial) => break json!({ "verdict": "open" }),
            Err(error) => break reject(&error),
        };
        rest = &rest[used..];
        let mut decoder = BodyDecoder::new(head.framing, &limits);
        let mut body = Vec::new();
        while !decoder.is_done() {
            match decoder.decode(rest, &mut body) {
                Ok(0) => return finish(requests, json!({ "verdict": "open" })),
                Ok(taken) => rest = &rest[taken..],
                Err(error) => return finish(requests, reject(&error)),
            }
        }
        requests.push(json!({
            "method": head.method.as_str(),
            "target": head.target,
            "version": head.version.as_str(),
            "headers": pairs(&head.headers),
            "body": latin1(&body),
            "trailers": pairs(decoder.trailers()),
        }));
        if !head.keep_alive {
            break json!({ "verdict": "closed" });
        }
    };
    finish(requests, end)
}

fn finish(requests: Vec<Value>, end: Value) -> Value {
    json!({ "requests": requests, "end": end })
}

fn reject(error: &ParseError) -> Value {
    json!({
        "verdict": "reject",
        "status": error.status().code(),
        "error": error.to_string(),
    })
}

fn pairs(headers: &Headers) -> Value {
    headers
        .iter()
        .map(|header| json!([header.name, latin1(header.value)]))
        .collect()
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}
