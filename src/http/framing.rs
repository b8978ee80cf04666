//! What a head says about its body and its connection: the framing rules of RFC 9112 §6.3,
//! where request smuggling lives, and persistence (§9.3) and `Expect` (RFC 9110 §10.1.1).
//!
//! Two servers that read one request's length differently disagree about where the next
//! request starts, and the bytes between become a request nobody checked. So every field
//! that bears on the length is gathered in one pass, and the rules below (RFC 9112 §6.3's
//! steps, numbered in `body_framing`) refuse every combination that two honest parsers could
//! read two ways.

use crate::http::error::ParseError;
use crate::http::host::is_valid_host;
use crate::http::limits::Limits;
use crate::http::version::Version;

/// How the body of a request is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body at all.
    None,
    /// Exactly this many bytes follow the head.
    Length(u64),
    /// A chunked body follows; its end is the zero-size chunk.
    Chunked,
}

/// What the client's `Expect` field asks of us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Expectation {
    /// No expectation.
    #[default]
    None,
    /// `100-continue`: the client waits for `100 Continue` before it sends the
    /// body, so we can refuse a body (413, 404, …) before it is uploaded.
    Continue,
    /// Anything else: answered with 417.
    Unsupported,
}

/// What a head's fields mean, worked out.
pub(crate) struct Semantics {
    /// How the body is delimited.
    pub(crate) framing: Framing,
    /// Whether the connection persists after this exchange.
    pub(crate) keep_alive: bool,
    /// What the client expects before it sends the body.
    pub(crate) expect: Expectation,
}

/// Works out what the fields of a `version` request mean (the module docs say why each
/// rule is there).
///
/// # Errors
///
/// The [`ParseError`] for a Host missing or repeated, a Content-Length that is not one valid
/// number or is over the limit, or a Transfer-Encoding the rules refuse.
pub(crate) fn semantics(
    fields: &[httparse::Header<'_>],
    version: Version,
    limits: &Limits,
) -> Result<Semantics, ParseError> {
    let meaning = read_fields(fields, version)?;
    let framing = body_framing(&meaning, version, limits)?;
    // Persistence (RFC 9112 §9.3): HTTP/1.1 persists unless told `close`;
    // HTTP/1.0 closes unless told `keep-alive`.
    let keep_alive =
        !meaning.connection_close && (version == Version::Http11 || meaning.connection_keep_alive);
    // RFC 9110 §10.1.1: a 100-continue expectation in an HTTP/1.0 request
    // must be ignored, since 1.0 clients cannot have meant it.
    let expect = match (meaning.expect, version) {
        (Expectation::Continue, Version::Http10) => Expectation::None,
        (expect, _) => expect,
    };
    Ok(Semantics {
        framing,
        keep_alive,
        expect,
    })
}

/// What the header fields say about framing and the connection, gathered in
/// one pass over them.
#[derive(Default)]
struct FieldMeaning {
    host_count: usize,
    content_length: Option<u64>,
    content_length_count: usize,
    /// Transfer codings, in order, across every Transfer-Encoding field.
    transfer_codings: Vec<String>,
    has_transfer_encoding: bool,
    connection_close: bool,
    connection_keep_alive: bool,
    expect: Expectation,
}

fn read_fields(
    fields: &[httparse::Header<'_>],
    version: Version,
) -> Result<FieldMeaning, ParseError> {
    let mut meaning = FieldMeaning::default();
    for field in fields {
        let name = field.name;
        let value = field.value;
        if name.eq_ignore_ascii_case("host") {
            meaning.host_count += 1;
            if !is_valid_host(value) {
                return Err(ParseError::BadHost);
            }
        } else if name.eq_ignore_ascii_case("content-length") {
            meaning.content_length_count += 1;
            meaning.content_length = Some(parse_content_length(value)?);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            meaning.has_transfer_encoding = true;
            for coding in list_elements(value) {
                meaning.transfer_codings.push(coding.to_ascii_lowercase());
            }
        } else if name.eq_ignore_ascii_case("connection") {
            for option in list_elements(value) {
                if option.eq_ignore_ascii_case("close") {
                    meaning.connection_close = true;
                } else if option.eq_ignore_ascii_case("keep-alive") {
                    meaning.connection_keep_alive = true;
                }
            }
        } else if name.eq_ignore_ascii_case("expect") {
            for expectation in list_elements(value) {
                meaning.expect = match (
                    meaning.expect,
                    expectation.eq_ignore_ascii_case("100-continue"),
                ) {
                    (Expectation::Unsupported, _) | (_, false) => Expectation::Unsupported,
                    (_, true) => Expectation::Continue,
                };
            }
        }
    }
    match (meaning.host_count, version) {
        (0, Version::Http11) => return Err(ParseError::MissingHost),
        (2.., _) => return Err(ParseError::DuplicateHost),
        _ => {}
    }
    if meaning.content_length_count > 1 {
        return Err(ParseError::DuplicateContentLength);
    }
    Ok(meaning)
}

/// The body framing rules of RFC 9112 §6.3, in the order the RFC gives them
/// (steps 1 and 2 concern responses and CONNECT tunnels, which we never parse):
///
/// 3. Transfer-Encoding and Content-Length together: the RFC lets a server
///    drop Content-Length and go on; we reject the request, because the pair
///    only ever appears when someone is trying to make two servers disagree.
///    Transfer-Encoding in HTTP/1.0 is also rejected (§6.1).
/// 4. Transfer-Encoding whose final coding is chunked: read chunks. If the
///    final coding is anything else, the length cannot be known: 400.
/// 5. A Content-Length that is not a single valid number: 400.
/// 6. A valid Content-Length: read exactly that many bytes.
/// 7. Neither: a request has no body.
fn body_framing(
    meaning: &FieldMeaning,
    version: Version,
    limits: &Limits,
) -> Result<Framing, ParseError> {
    if meaning.has_transfer_encoding {
        if version == Version::Http10 {
            return Err(ParseError::TransferEncodingOnHttp10);
        }
        if meaning.content_length_count > 0 {
            return Err(ParseError::TransferEncodingWithContentLength);
        }
        let Some((last, earlier)) = meaning.transfer_codings.split_last() else {
            return Err(ParseError::ChunkedNotFinal);
        };
        if last != "chunked" {
            return Err(ParseError::ChunkedNotFinal);
        }
        if earlier.iter().any(|coding| coding == "chunked") {
            return Err(ParseError::RepeatedChunked);
        }
        if !earlier.is_empty() {
            return Err(ParseError::UnsupportedTransferCoding);
        }
        return Ok(Framing::Chunked);
    }
    match meaning.content_length {
        Some(length) if length > limits.max_body_bytes => Err(ParseError::BodyTooLarge),
        Some(0) | None => Ok(Framing::None),
        Some(length) => Ok(Framing::Length(length)),
    }
}

/// `Content-Length = 1*DIGIT`: no sign, no spaces, no list, and a value
/// that fits in 64 bits (checked, never wrapped).
fn parse_content_length(value: &[u8]) -> Result<u64, ParseError> {
    if value.is_empty() {
        return Err(ParseError::BadContentLength);
    }
    value.iter().try_fold(0u64, |length, &byte| {
        if !byte.is_ascii_digit() {
            return Err(ParseError::BadContentLength);
        }
        length
            .checked_mul(10)
            .and_then(|length| length.checked_add(u64::from(byte - b'0')))
            .ok_or(ParseError::BadContentLength)
    })
}

/// The elements of a comma-separated field value (RFC 9110 §5.6.1), trimmed,
/// with empty elements skipped as the RFC asks. Non-UTF-8 elements are kept
/// as an empty-never-matching marker so they cannot be mistaken for a known
/// token.
fn list_elements(value: &[u8]) -> impl Iterator<Item = &str> {
    value
        .split(|&b| b == b',')
        .map(|element| {
            std::str::from_utf8(element)
                .unwrap_or("\u{fffd}")
                .trim_matches([' ', '\t'])
        })
        .filter(|element| !element.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_parsing_is_checked() {
        assert_eq!(parse_content_length(b"18446744073709551615"), Ok(u64::MAX));
        assert_eq!(
            parse_content_length(b"18446744073709551616"),
            Err(ParseError::BadContentLength)
        );
        assert_eq!(parse_content_length(b"007"), Ok(7));
        assert_eq!(
            parse_content_length(b" 7"),
            Err(ParseError::BadContentLength)
        );
    }
}
