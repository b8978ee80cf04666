//! What can be wrong with the bytes a client sent, and which status says so.
//!
//! One enum for every way a request can break the protocol, and one function,
//! [`ParseError::status`], that maps each to its response status. Keeping the
//! mapping in one place is what makes "the right 4xx" checkable: a reader can
//! see every decision at once.
//!
//! "Not enough bytes yet" is deliberately *not* an error: the parsers return
//! [`Parsed::Partial`](crate::http::Parsed::Partial) for that, because on a
//! socket it is the normal case, not an exceptional one.
//!
//! Every `ParseError` ends the connection after its response. Once a parser
//! has rejected a message we no longer know where the next one starts, and
//! guessing is exactly how request smuggling happens.

use std::fmt;

use crate::http::status::Status;

/// A request that breaks HTTP/1.1, or one of our limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// The head (request line plus header fields) is over `max_head_bytes`.
    HeadTooLarge,
    /// The request-target is over `max_target_bytes`.
    TargetTooLong,
    /// More header fields than `max_headers`.
    TooManyHeaders,
    /// The declared or decoded body is over `max_body_bytes`.
    BodyTooLarge,
    /// The trailer section of a chunked body is over its limits.
    TrailerTooLarge,
    /// The request line is not `method SP request-target SP HTTP-version`.
    BadRequestLine,
    /// A well-formed version we do not speak (`HTTP/2.0`, `HTTP/1.2`, …).
    UnsupportedVersion,
    /// The request-target is not a form this method may use.
    BadTarget,
    /// A header field name is not a token, or has whitespace before the colon.
    BadHeaderName,
    /// A header field value holds a control byte (NUL, bare CR, …).
    BadHeaderValue,
    /// A line folded onto the next one (obs-fold), which RFC 9112 §5.2 lets a
    /// server reject and which proxies have disagreed about.
    ObsFold,
    /// A line ended with LF alone, or a CR stood without its LF. We require
    /// CRLF throughout: see [`crate::http::request`] for why.
    BadLineEnding,
    /// HTTP/1.1 without a Host field (RFC 9112 §3.2).
    MissingHost,
    /// More than one Host field.
    DuplicateHost,
    /// A Host value that is not `host[:port]`.
    BadHost,
    /// Content-Length is not a plain decimal number that fits in 64 bits.
    BadContentLength,
    /// Content-Length given more than once (even with equal values).
    DuplicateContentLength,
    /// Both Transfer-Encoding and Content-Length: the classic smuggling pair.
    TransferEncodingWithContentLength,
    /// Transfer-Encoding on an HTTP/1.0 request, which cannot carry it.
    TransferEncodingOnHttp10,
    /// Transfer-Encoding whose final coding is not `chunked`: the body's end
    /// cannot be found.
    ChunkedNotFinal,
    /// A transfer coding other than `chunked` (gzip, identity, …), which we
    /// do not decode.
    UnsupportedTransferCoding,
    /// `chunked` applied more than once (RFC 9112 §6.1 forbids it).
    RepeatedChunked,
    /// A chunk-size line that is not hex digits, or holds junk.
    BadChunkSize,
    /// A chunk size that does not fit in 64 bits.
    ChunkSizeOverflow,
    /// Chunk extensions longer than `max_chunk_extension_bytes`.
    ChunkExtensionTooLong,
    /// Chunk extensions that do not follow `;name=value` (RFC 9112 §7.1.1).
    BadChunkExtension,
    /// Chunk data not followed by exactly CRLF.
    MissingChunkCrlf,
    /// A trailer field that is not a valid header field line.
    BadTrailer,
}

impl ParseError {
    /// The status of the response that reports this error.
    ///
    /// # Example
    ///
    /// ```
    /// use groundup::http::{ParseError, Status};
    ///
    /// assert_eq!(ParseError::TargetTooLong.status(), Status::URI_TOO_LONG);
    /// ```
    pub fn status(self) -> Status {
        use ParseError::*;
        match self {
            HeadTooLarge | TooManyHeaders | TrailerTooLarge => {
                Status::REQUEST_HEADER_FIELDS_TOO_LARGE
            }
            TargetTooLong => Status::URI_TOO_LONG,
            BodyTooLarge => Status::CONTENT_TOO_LARGE,
            UnsupportedVersion => Status::HTTP_VERSION_NOT_SUPPORTED,
            UnsupportedTransferCoding => Status::NOT_IMPLEMENTED,
            BadRequestLine
            | BadTarget
            | BadHeaderName
            | BadHeaderValue
            | ObsFold
            | BadLineEnding
            | MissingHost
            | DuplicateHost
            | BadHost
            | BadContentLength
            | DuplicateContentLength
            | TransferEncodingWithContentLength
            | TransferEncodingOnHttp10
            | ChunkedNotFinal
            | RepeatedChunked
            | BadChunkSize
            | ChunkSizeOverflow
            | ChunkExtensionTooLong
            | BadChunkExtension
            | MissingChunkCrlf
            | BadTrailer => Status::BAD_REQUEST,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ParseError::*;
        let text = match self {
            HeadTooLarge => "request head too large",
            TargetTooLong => "request-target too long",
            TooManyHeaders => "too many header fields",
            BodyTooLarge => "request body too large",
            TrailerTooLarge => "trailer section too large",
            BadRequestLine => "malformed request line",
            UnsupportedVersion => "HTTP version not supported",
            BadTarget => "invalid request-target",
            BadHeaderName => "invalid header field name",
            BadHeaderValue => "invalid header field value",
            ObsFold => "obsolete line folding is not accepted",
            BadLineEnding => "lines must end with CRLF",
            MissingHost => "missing Host header",
            DuplicateHost => "more than one Host header",
            BadHost => "invalid Host header",
            BadContentLength => "invalid Content-Length",
            DuplicateContentLength => "more than one Content-Length",
            TransferEncodingWithContentLength => {
                "both Transfer-Encoding and Content-Length were sent"
            }
            TransferEncodingOnHttp10 => "Transfer-Encoding is not allowed in HTTP/1.0",
            ChunkedNotFinal => "chunked must be the final transfer coding",
            RepeatedChunked => "chunked applied more than once",
            UnsupportedTransferCoding => "transfer coding not implemented",
            BadChunkSize => "invalid chunk size",
            ChunkSizeOverflow => "chunk size too large",
            ChunkExtensionTooLong => "chunk extensions too long",
            BadChunkExtension => "invalid chunk extension",
            MissingChunkCrlf => "chunk data not followed by CRLF",
            BadTrailer => "invalid trailer field",
        };
        f.write_str(text)
    }
}

impl std::error::Error for ParseError {}
