//! Prints what groundup's sans-IO parser makes of one raw request, as JSON:
//! the oracle side of `tests/oracle/h11_diff.py`, which compares it with h11.
//!
//! ```text
//! printf 'GET / HTTP/1.1\r\nHost: a\r\n\r\n' | cargo run --example parse_dump
//! {"verdict":"accept","method":"GET","target":"/","version":"HTTP/1.1",
//!  "headers":[["Host","a"]],"body":"","trailers":[]}
//! ```
//!
//! `verdict` is `accept` (a whole request, body included), `reject` (with the
//! `status` and `error` the server would answer), or `incomplete` (the bytes
//! end before the request does). Byte strings are printed as JSON strings with
//! every byte mapped to the code point of the same value (Latin-1), so nothing
//! is lost and both sides compare the same way.

use std::io::Read;

use groundup::http::{BodyDecoder, Headers, Limits, ParseError, Parsed, parse_head};
use serde_json::{Value, json};

fn main() {
    let mut input = Vec::new();
    std::io::stdin()
        .read_to_end(&mut input)
        .expect("stdin is readable");
    println!("{}", verdict(&input));
}

fn verdict(input: &[u8]) -> Value {
    let limits = Limits::default();
    let (head, used) = match parse_head(input, &limits) {
        Ok(Parsed::Complete(head, used)) => (head, used),
        Ok(Parsed::Partial) => return json!({ "verdict": "incomplete" }),
        Err(error) => return reject(error),
    };
    let mut decoder = BodyDecoder::new(head.framing, &limits);
    let mut body = Vec::new();
    let mut rest = &input[used..];
    while !decoder.is_done() {
        match decoder.decode(rest, &mut body) {
            Ok(0) => return json!({ "verdict": "incomplete" }),
            Ok(taken) => rest = &rest[taken..],
            Err(error) => return reject(error),
        }
    }
    json!({
        "verdict": "accept",
        "method": head.method.as_str(),
        "target": head.target,
        "version": head.version.as_str(),
        "headers": pairs(&head.headers),
        "body": latin1(&body),
        "trailers": pairs(decoder.trailers()),
    })
}

fn reject(error: ParseError) -> Value {
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
