//! Fuzz target: the chunked body decoder, whole versus in pieces.
//!
//! The first input byte picks how to cut the rest into pieces; the rest is
//! fed to a chunked [`BodyDecoder`] once whole and once piece by piece, as a
//! socket might deliver it. Both runs must agree exactly: the same error, or
//! the same body, the same number of bytes used, the same "done", and the
//! same trailers. A decoder that depended on where reads happen to split
//! would be a decoder an attacker could steer.
#![no_main]

use groundup::http::{BodyDecoder, Framing, Headers, Limits, ParseError};
use libfuzzer_sys::fuzz_target;

/// What one decoding run ends with.
#[derive(Debug, PartialEq)]
enum Outcome {
    Failed(ParseError),
    Finished {
        body: Vec<u8>,
        used: usize,
        done: bool,
        trailers: Headers,
    },
}

fuzz_target!(|data: &[u8]| {
    let Some((&cut, wire)) = data.split_first() else {
        return;
    };
    let limits = Limits {
        max_body_bytes: 1 << 16,
        max_chunk_extension_bytes: 64,
        max_trailer_bytes: 256,
        ..Limits::default()
    };
    let whole = decode(wire, &[wire.len()], &limits);
    // Piece sizes from 1 to 16 bytes, chosen by the first byte.
    let sizes: Vec<usize> = (0..wire.len())
        .map(|i| usize::from(cut.rotate_left(i as u32) % 16) + 1)
        .collect();
    let pieces = decode(wire, &sizes, &limits);
    assert_eq!(whole, pieces);

    if let Outcome::Finished { body, used, done: true, .. } = whole {
        assert!(body.len() <= used, "a body cannot be longer than its framing");
    }
});

/// Feeds `wire` to a fresh decoder in pieces of the given sizes (cycling),
/// stopping at the first error or when the body ends.
fn decode(wire: &[u8], sizes: &[usize], limits: &Limits) -> Outcome {
    let mut decoder = BodyDecoder::new(Framing::Chunked, limits);
    let mut body = Vec::new();
    let mut used = 0;
    let mut sizes = sizes.iter().cycle();
    while used < wire.len() && !decoder.is_done() {
        let size = sizes.next().copied().unwrap_or(wire.len()).max(1);
        let end = (used + size).min(wire.len());
        match decoder.decode(&wire[used..end], &mut body) {
            Ok(taken) => used += taken,
            Err(error) => return Outcome::Failed(error),
        }
    }
    Outcome::Finished {
        body,
        used,
        done: decoder.is_done(),
        trailers: decoder.take_trailers(),
    }
}
