//! Fuzz target: the request head parser.
//!
//! For any bytes, [`parse_head`] must return a head, "need more", or one of
//! our errors, never panic. Beyond that, when it returns a head:
//!
//! 1. the head re-encodes to bytes that parse to the same head (nothing the
//!    parser keeps is lost or invented);
//! 2. every shorter prefix of the head is "need more": the parser never
//!    decides anything before the blank line that ends the head;
//! 3. the same bytes split across two reads give the same answer, which is
//!    what a socket does to them.
#![no_main]

use groundup::http::{Limits, Parsed, parse_head};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let whole = parse_head(data, &limits);
    let Ok(Parsed::Complete(head, used)) = whole else {
        return;
    };
    assert!(used <= data.len());

    // 1. Re-encode and re-parse.
    let mut encoded = Vec::new();
    head.encode(&mut encoded);
    let again = parse_head(&encoded, &limits);
    assert_eq!(again, Ok(Parsed::Complete(head.clone(), encoded.len())), "{encoded:?}");

    // 2. Prefixes are partial. Checking all of them would be quadratic;
    //    these points move as the fuzzer grows and shrinks the input.
    for end in [0, used / 3, used / 2, used.saturating_sub(1)] {
        if end < used {
            assert_eq!(parse_head(&data[..end], &limits), Ok(Parsed::Partial), "prefix {end}");
        }
    }

    // 3. What the parser says after a first, partial read does not change the
    //    final answer: the connection loop simply parses again with more bytes.
    let split = used / 2;
    if parse_head(&data[..split], &limits) == Ok(Parsed::Partial) {
        assert_eq!(parse_head(data, &limits), Ok(Parsed::Complete(head, used)));
    }
});
