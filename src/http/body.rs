//! Reading a request body: Content-Length and chunked framing.
//!
//! The head says how the body is framed ([`Framing`]); a [`BodyDecoder`]
//! then eats bytes until the body ends, copying the body's own bytes out and
//! leaving everything after it (the next pipelined request) untouched.
//!
//! Content-Length is simple: count down. Chunked is a little language:
//!
//! ```text
//! 5;name=value\r\n     chunk-size in hex, optional extensions, CRLF
//! hello\r\n            exactly that many bytes, then CRLF
//! 0\r\n                the last chunk has size zero
//! Checksum: abc\r\n    optional trailer fields
//! \r\n                 an empty line ends the body
//! ```
//!
//! The chunked decoder is a state machine with one small function per state,
//! fed any number of bytes at a time, so a body split across reads at any
//! byte boundary decodes to the same result as one that arrives whole. Every
//! place that could grow without bound has a limit: hex digits in a size,
//! extension bytes, trailer bytes, and the total decoded body.

use crate::http::error::ParseError;
use crate::http::framing::Framing;
use crate::http::headers::Headers;
use crate::http::limits::{Limits, MAX_HEADERS_CAP};
use crate::http::tchar::is_tchar;

/// The most hex digits a chunk size may have. Sixteen digits hold any
/// `u64`; leading zeros past that are not a size anyone needs, and without a
/// cap a client could send zeros forever.
const MAX_CHUNK_SIZE_DIGITS: usize = 16;

/// Decodes one request body, whatever its framing.
///
/// # Example
///
/// ```
/// use groundup::http::{BodyDecoder, Framing, Limits};
///
/// let mut decoder = BodyDecoder::new(Framing::Chunked, &Limits::default());
/// let mut body = Vec::new();
/// let wire = b"3\r\nabc\r\n0\r\n\r\nGET /next";
/// let used = decoder.decode(wire, &mut body).unwrap();
/// assert!(decoder.is_done());
/// assert_eq!(body, b"abc");
/// assert_eq!(&wire[used..], b"GET /next");
/// ```
#[derive(Debug, Clone)]
pub struct BodyDecoder {
    kind: Kind,
    /// Body bytes produced so far, checked against `max_body_bytes`.
    decoded: u64,
    max_body_bytes: u64,
    max_extension_bytes: usize,
    max_trailer_bytes: usize,
    max_trailer_fields: usize,
    trailers: Headers,
}

#[derive(Debug, Clone)]
enum Kind {
    Length { remaining: u64 },
    Chunked(ChunkedState),
    Done,
}

/// Where the chunked decoder is within the chunked grammar.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ChunkedState {
    /// Reading the hex digits of a chunk size.
    Size { size: u64, digits: usize },
    /// Whitespace after the size, which may only lead to `;` (RFC 9112 §7.1.1 BWS).
    SizeWhitespace { size: u64, extension_bytes: usize },
    /// Inside `;name=value` extensions, which we check and skip.
    Extension {
        size: u64,
        extension_bytes: usize,
        part: ExtensionPart,
    },
    /// After the CR that ends the size line.
    SizeLf { size: u64 },
    /// Inside chunk data.
    Data { remaining: u64 },
    /// After chunk data: the CR must come next.
    DataCr,
    /// After that CR: the LF must come next.
    DataLf,
    /// After the last chunk: trailer lines, collected until an empty line.
    Trailer { section: Vec<u8> },
}

/// Where the decoder is inside the chunk extensions of a size line
/// (RFC 9112 §7.1.1):
///
/// ```text
/// chunk-ext     = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )
/// ext-val       = token / quoted-string
/// ```
///
/// We use no extension, but we read them by their grammar rather than
/// skipping to the next CR: a quoted string may hold a `;` or a `"`, and a
/// reader that ignores quotes ends the line somewhere else than a reader that
/// honours them. Anything off-grammar is an error instead of a guess.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExtensionPart {
    /// After `;`: optional whitespace, then the name's first character.
    NameStart,
    /// Inside the name.
    Name,
    /// After the name and whitespace: `=`, another `;`, or the line's end.
    AfterName,
    /// After `=`: optional whitespace, then a token or an opening quote.
    ValueStart,
    /// Inside a token value.
    Token,
    /// Inside a quoted value.
    Quoted,
    /// After a backslash inside a quoted value.
    QuotedEscape,
    /// After a value: whitespace, another `;`, or the line's end.
    AfterValue,
}

impl BodyDecoder {
    /// A decoder for a body framed as `framing`, bounded by `limits`.
    pub fn new(framing: Framing, limits: &Limits) -> BodyDecoder {
        let kind = match framing {
            Framing::None | Framing::Length(0) => Kind::Done,
            Framing::Length(length) => Kind::Length { remaining: length },
            Framing::Chunked => Kind::Chunked(ChunkedState::Size { size: 0, digits: 0 }),
        };
        BodyDecoder {
            kind,
            decoded: 0,
            max_body_bytes: limits.max_body_bytes,
            max_extension_bytes: limits.max_chunk_extension_bytes,
            max_trailer_bytes: limits.max_trailer_bytes,
            max_trailer_fields: limits.max_headers.min(MAX_HEADERS_CAP),
            trailers: Headers::default(),
        }
    }

    /// Whether the whole body has been read.
    pub fn is_done(&self) -> bool {
        matches!(self.kind, Kind::Done)
    }

    /// The trailer fields of a chunked body, once it is done.
    pub fn trailers(&self) -> &Headers {
        &self.trailers
    }

    /// Takes the trailer fields out of the decoder.
    pub fn take_trailers(&mut self) -> Headers {
        std::mem::take(&mut self.trailers)
    }

    /// Decodes as much of `input` as belongs to the body, appending the
    /// body's bytes to `out`.
    ///
    /// # Returns
    ///
    /// How many bytes of `input` were used. When [`is_done`](Self::is_done)
    /// is false afterwards, all of `input` was used and more is needed; when
    /// it is true, `input[used..]` is whatever follows the body.
    ///
    /// # Errors
    ///
    /// A [`ParseError`] when the chunked framing is broken or a limit is
    /// passed. The decoder must not be used after an error.
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, ParseError> {
        let mut used = 0;
        while used < input.len() {
            let rest = &input[used..];
            used += match &mut self.kind {
                Kind::Done => break,
                Kind::Length { remaining } => {
                    let take = clamp(*remaining, rest.len());
                    out.extend_from_slice(&rest[..take]);
                    *remaining -= take as u64;
                    if *remaining == 0 {
                        self.kind = Kind::Done;
                    }
                    take
                }
                Kind::Chunked(_) => self.step_chunked(rest, out)?,
            };
        }
        Ok(used)
    }

    /// Advances the chunked state machine over the start of `input`; returns
    /// how many bytes it used (at least one).
    fn step_chunked(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, ParseError> {
        let Kind::Chunked(state) = &mut self.kind else {
            return Ok(0);
        };
        // Chunk data is copied in bulk; every other state reads one byte.
        if let ChunkedState::Data { remaining } = state {
            let take = clamp(*remaining, input.len());
            out.extend_from_slice(&input[..take]);
            *remaining -= take as u64;
            if *remaining == 0 {
                *state = ChunkedState::DataCr;
            }
            return Ok(take);
        }
        let Some(&byte) = input.first() else {
            return Ok(0);
        };
        let next = match std::mem::replace(state, ChunkedState::DataCr) {
            ChunkedState::Size { size, digits } => read_size(size, digits, byte)?,
            ChunkedState::SizeWhitespace {
                size,
                extension_bytes,
            } => read_size_whitespace(size, extension_bytes, byte, self.max_extension_bytes)?,
            ChunkedState::Extension {
                size,
                extension_bytes,
                part,
            } => read_extension(size, extension_bytes, part, byte, self.max_extension_bytes)?,
            ChunkedState::SizeLf { size } => self.read_size_lf(size, byte)?,
            ChunkedState::DataCr => expect_byte(byte, b'\r', ChunkedState::DataLf)?,
            ChunkedState::DataLf => {
                expect_byte(byte, b'\n', ChunkedState::Size { size: 0, digits: 0 })?
            }
            ChunkedState::Trailer { section } => {
                return self.read_trailer(section, byte).map(|()| 1);
            }
            ChunkedState::Data { .. } => unreachable!("handled above"),
        };
        self.kind = Kind::Chunked(next);
        Ok(1)
    }

    /// The LF that ends a size line: the chunk's data comes next, or for
    /// the zero-size chunk, the trailer section.
    fn read_size_lf(&mut self, size: u64, byte: u8) -> Result<ChunkedState, ParseError> {
        if byte != b'\n' {
            return Err(ParseError::BadChunkSize);
        }
        if size == 0 {
            return Ok(ChunkedState::Trailer {
                section: Vec::new(),
            });
        }
        // Refuse an over-long body before reading its data, not after.
        self.decoded = self
            .decoded
            .checked_add(size)
            .filter(|&total| total <= self.max_body_bytes)
            .ok_or(ParseError::BodyTooLarge)?;
        Ok(ChunkedState::Data { remaining: size })
    }

    /// One byte of the trailer section. The section ends at an empty line:
    /// at once (`0\r\n\r\n`, no trailers) or after the last field.
    fn read_trailer(&mut self, mut section: Vec<u8>, byte: u8) -> Result<(), ParseError> {
        if byte == b'\n' && section.last() != Some(&b'\r') {
            return Err(ParseError::BadLineEnding);
        }
        section.push(byte);
        if section.len() > self.max_trailer_bytes {
            return Err(ParseError::TrailerTooLarge);
        }
        if section == b"\r\n" {
            self.kind = Kind::Done;
        } else if section.ends_with(b"\r\n\r\n") {
            self.trailers = parse_trailers(&section, self.max_trailer_fields)?;
            self.kind = Kind::Done;
        } else {
            self.kind = Kind::Chunked(ChunkedState::Trailer { section });
        }
        Ok(())
    }
}

/// A hex digit extends the size; after at least one digit, `;` starts the
/// extensions, whitespace may precede them, and CR ends the line.
fn read_size(size: u64, digits: usize, byte: u8) -> Result<ChunkedState, ParseError> {
    if let Some(value) = hex_value(byte) {
        if digits == MAX_CHUNK_SIZE_DIGITS {
            return Err(ParseError::ChunkSizeOverflow);
        }
        // Sixteen digits always fit: the digit cap above is the overflow check.
        let size = (size << 4) | u64::from(value);
        return Ok(ChunkedState::Size {
            size,
            digits: digits + 1,
        });
    }
    if digits == 0 {
        return Err(ParseError::BadChunkSize);
    }
    match byte {
        b';' => Ok(ChunkedState::Extension {
            size,
            extension_bytes: 0,
            part: ExtensionPart::NameStart,
        }),
        b' ' | b'\t' => Ok(ChunkedState::SizeWhitespace {
            size,
            extension_bytes: 1,
        }),
        b'\r' => Ok(ChunkedState::SizeLf { size }),
        _ => Err(ParseError::BadChunkSize),
    }
}

fn read_size_whitespace(
    size: u64,
    extension_bytes: usize,
    byte: u8,
    max: usize,
) -> Result<ChunkedState, ParseError> {
    if extension_bytes >= max {
        return Err(ParseError::ChunkExtensionTooLong);
    }
    match byte {
        b' ' | b'\t' => Ok(ChunkedState::SizeWhitespace {
            size,
            extension_bytes: extension_bytes + 1,
        }),
        b';' => Ok(ChunkedState::Extension {
            size,
            extension_bytes: extension_bytes + 1,
            part: ExtensionPart::NameStart,
        }),
        _ => Err(ParseError::BadChunkSize),
    }
}

/// One byte of chunk extensions, by the grammar in [`ExtensionPart`]. A CR
/// ends the size line wherever a value may end; their total length is capped.
fn read_extension(
    size: u64,
    extension_bytes: usize,
    part: ExtensionPart,
    byte: u8,
    max: usize,
) -> Result<ChunkedState, ParseError> {
    use ExtensionPart::*;
    let whitespace = byte == b' ' || byte == b'\t';
    let ends_line = byte == b'\r' && matches!(part, Name | AfterName | Token | AfterValue);
    if ends_line {
        return Ok(ChunkedState::SizeLf { size });
    }
    if extension_bytes >= max {
        return Err(ParseError::ChunkExtensionTooLong);
    }
    let next = match (part, byte) {
        (NameStart | AfterName | ValueStart | AfterValue, _) if whitespace => part,
        (Name, _) if whitespace => AfterName,
        (Token, _) if whitespace => AfterValue,
        (NameStart | Name, _) if is_tchar(byte) => Name,
        (Name | AfterName | Token | AfterValue, b';') => NameStart,
        (Name | AfterName, b'=') => ValueStart,
        (ValueStart, b'"') => Quoted,
        (ValueStart | Token, _) if is_tchar(byte) => Token,
        (Quoted, b'"') => AfterValue,
        (Quoted, b'\\') => QuotedEscape,
        // qdtext, and after a backslash any visible character or whitespace.
        (Quoted, b'\t' | b' ' | 0x21 | 0x23..=0x5b | 0x5d..=0x7e | 0x80..=0xff)
        | (QuotedEscape, b'\t' | b' '..=b'~' | 0x80..=0xff) => Quoted,
        _ => return Err(ParseError::BadChunkExtension),
    };
    Ok(ChunkedState::Extension {
        size,
        extension_bytes: extension_bytes + 1,
        part: next,
    })
}

fn expect_byte(byte: u8, expected: u8, next: ChunkedState) -> Result<ChunkedState, ParseError> {
    if byte == expected {
        Ok(next)
    } else {
        Err(ParseError::MissingChunkCrlf)
    }
}

/// Trailer fields follow the same grammar as header fields, so httparse
/// checks them the same way.
fn parse_trailers(section: &[u8], max_fields: usize) -> Result<Headers, ParseError> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS_CAP];
    let slots = &mut slots[..max_fields];
    match httparse::parse_headers(section, slots) {
        Ok(httparse::Status::Complete((_, fields))) => {
            let mut trailers = Headers::default();
            for field in fields {
                trailers.push(field.name, field.value);
            }
            Ok(trailers)
        }
        Err(httparse::Error::TooManyHeaders) => Err(ParseError::TrailerTooLarge),
        Ok(httparse::Status::Partial) | Err(_) => Err(ParseError::BadTrailer),
    }
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// The smaller of a 64-bit remaining count and an in-memory length.
fn clamp(remaining: u64, available: usize) -> usize {
    usize::try_from(remaining).map_or(available, |remaining| remaining.min(available))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(framing: Framing, wire: &[u8]) -> Result<(Vec<u8>, usize, bool), ParseError> {
        let mut decoder = BodyDecoder::new(framing, &Limits::default());
        let mut body = Vec::new();
        let used = decoder.decode(wire, &mut body)?;
        Ok((body, used, decoder.is_done()))
    }

    fn decode_bytewise(
        framing: Framing,
        wire: &[u8],
    ) -> Result<(Vec<u8>, usize, bool), ParseError> {
        let mut decoder = BodyDecoder::new(framing, &Limits::default());
        let mut body = Vec::new();
        let mut used = 0;
        for byte in wire.chunks(1) {
            if decoder.is_done() {
                break;
            }
            used += decoder.decode(byte, &mut body)?;
        }
        Ok((body, used, decoder.is_done()))
    }

    #[test]
    fn content_length_stops_at_length() {
        let (body, used, done) = decode_all(Framing::Length(3), b"abcdef").unwrap();
        assert_eq!((body.as_slice(), used, done), (&b"abc"[..], 3, true));
    }

    #[test]
    fn chunked_with_extensions_and_trailers() {
        let wire = b"4;a=b\r\nWiki\r\n5 ;q=\"x\"\r\npedia\r\n0\r\nChecksum: 1\r\n\r\nnext";
        for decode in [decode_all, decode_bytewise] {
            let (body, used, done) = decode(Framing::Chunked, wire).unwrap();
            assert_eq!(body, b"Wikipedia");
            assert!(done);
            assert_eq!(&wire[used..], b"next");
        }
        let mut decoder = BodyDecoder::new(Framing::Chunked, &Limits::default());
        decoder.decode(wire, &mut Vec::new()).unwrap();
        assert_eq!(decoder.trailers().get("checksum"), Some(&b"1"[..]));
    }

    #[test]
    fn chunk_size_of_sixteen_digits_is_accepted_and_seventeen_is_not() {
        let limits = Limits {
            max_body_bytes: u64::MAX,
            ..Limits::default()
        };
        let mut decoder = BodyDecoder::new(Framing::Chunked, &limits);
        assert!(
            decoder
                .decode(b"000000000000000a\r\n", &mut Vec::new())
                .is_ok()
        );
        let mut decoder = BodyDecoder::new(Framing::Chunked, &limits);
        assert_eq!(
            decoder.decode(b"0000000000000000a\r\n", &mut Vec::new()),
            Err(ParseError::ChunkSizeOverflow)
        );
    }

    #[test]
    fn chunk_data_without_crlf_is_rejected() {
        assert_eq!(
            decode_all(Framing::Chunked, b"3\r\nabcX\r\n0\r\n\r\n"),
            Err(ParseError::MissingChunkCrlf)
        );
    }

    #[test]
    fn chunk_size_with_bare_lf_is_rejected() {
        assert_eq!(
            decode_all(Framing::Chunked, b"3\nabc\r\n0\r\n\r\n"),
            Err(ParseError::BadChunkSize)
        );
    }

    #[test]
    fn chunk_extension_at_limit_is_accepted_and_over_is_not() {
        let limits = Limits {
            max_chunk_extension_bytes: 4,
            ..Limits::default()
        };
        let mut decoder = BodyDecoder::new(Framing::Chunked, &limits);
        assert!(decoder.decode(b"1;abc\r\n", &mut Vec::new()).is_ok());
        let mut decoder = BodyDecoder::new(Framing::Chunked, &limits);
        assert_eq!(
            decoder.decode(b"1;abcde\r\n", &mut Vec::new()),
            Err(ParseError::ChunkExtensionTooLong)
        );
    }

    #[test]
    fn chunked_body_over_limit_is_refused_before_its_data() {
        let limits = Limits {
            max_body_bytes: 4,
            ..Limits::default()
        };
        let mut decoder = BodyDecoder::new(Framing::Chunked, &limits);
        let mut body = Vec::new();
        assert!(decoder.decode(b"4\r\nabcd\r\n", &mut body).is_ok());
        assert_eq!(
            decoder.decode(b"1\r\n", &mut body),
            Err(ParseError::BodyTooLarge)
        );
    }

    #[test]
    fn trailer_section_over_limit_is_431() {
        let limits = Limits {
            max_trailer_bytes: 8,
            ..Limits::default()
        };
        let mut decoder = BodyDecoder::new(Framing::Chunked, &limits);
        assert_eq!(
            decoder.decode(b"0\r\nLong-Trailer: x\r\n\r\n", &mut Vec::new()),
            Err(ParseError::TrailerTooLarge)
        );
    }

    #[test]
    fn trailer_with_space_before_colon_is_rejected() {
        assert_eq!(
            decode_all(Framing::Chunked, b"0\r\nBad : x\r\n\r\n"),
            Err(ParseError::BadTrailer)
        );
    }

    proptest::proptest! {
        /// h11's discipline: a body decodes the same whole, byte by byte, or
        /// split anywhere.
        #[test]
        fn any_split_decodes_the_same(
            chunks in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 1..40), 0..6),
            split in 0usize..400,
        ) {
            let mut wire = Vec::new();
            let mut expected = Vec::new();
            for chunk in &chunks {
                wire.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                wire.extend_from_slice(chunk);
                wire.extend_from_slice(b"\r\n");
                expected.extend_from_slice(chunk);
            }
            wire.extend_from_slice(b"0\r\n\r\n");
            let split = split.min(wire.len());
            let mut decoder = BodyDecoder::new(Framing::Chunked, &Limits::default());
            let mut body = Vec::new();
            let first = decoder.decode(&wire[..split], &mut body).unwrap();
            proptest::prop_assert_eq!(first, split);
            let second = decoder.decode(&wire[split..], &mut body).unwrap();
            proptest::prop_assert_eq!(first + second, wire.len());
            proptest::prop_assert!(decoder.is_done());
            proptest::prop_assert_eq!(body, expected);
        }
    }
}
