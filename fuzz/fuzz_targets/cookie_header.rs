//! Fuzz target: the `Cookie` header parser, and `Set-Cookie` built from it.
//!
//! The input is one `Cookie` header value. Not crashing is not enough; for
//! any bytes, these must hold:
//!
//! 1. every cookie handed out has a token name and a cookie-octet value,
//!    checked against byte classes written here independently of the parser;
//! 2. splitting the value at a `;` into two header fields gives the same
//!    cookies, so a request is read the same whether a client or proxy sends
//!    one `Cookie` field or several;
//! 3. `parse_all` returns exactly what `parse` yields, or refuses for the
//!    limit the input really exceeds;
//! 4. each cookie, built back into a `Set-Cookie`, either is refused for a
//!    rule its name or length breaks, or parses back to the same pair.
#![no_main]

use groundup::http::cookie::{self, Cookie, LimitError};
use groundup::http::set_cookie::{CookieError, SetCookie};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|header: &[u8]| {
    let cookies: Vec<Cookie<'_>> = cookie::parse(header).collect();

    // 1. Only grammatical cookies come out.
    for c in &cookies {
        assert!(is_token(c.name()), "name {:?} is not a token", c.name());
        assert!(
            c.value().bytes().all(is_cookie_octet),
            "value {:?} has a byte outside cookie-octet",
            c.value()
        );
    }

    // 2. Two fields split at the middle `;` read as one. The middle moves as
    //    the fuzzer inserts and deletes bytes, so every position gets tried.
    let semicolons: Vec<usize> = (0..header.len())
        .filter(|&i| header.get(i) == Some(&b';'))
        .collect();
    if let Some(&at) = semicolons.get(semicolons.len() / 2) {
        let (first, rest) = header.split_at(at);
        let second = rest.split_first().map_or(rest, |(_semicolon, after)| after);
        let split: Vec<Cookie<'_>> = cookie::parse(first).chain(cookie::parse(second)).collect();
        assert_eq!(split, cookies, "splitting at byte {at} changed the cookies");
    }

    // 3. The limits refuse exactly what exceeds them, and nothing else changes.
    match cookie::parse_all([header]) {
        Ok(list) => {
            assert!(header.len() <= cookie::MAX_COOKIE_BYTES);
            assert!(list.iter().eq(cookies.iter().copied()));
        }
        Err(LimitError::TooManyBytes) => assert!(header.len() > cookie::MAX_COOKIE_BYTES),
        Err(LimitError::TooManyCookies) => {
            assert!(header.len() <= cookie::MAX_COOKIE_BYTES);
            assert!(cookies.len() > cookie::MAX_COOKIES);
        }
    }

    // 4. Set-Cookie round trip. Secure and Path=/ satisfy both name prefixes,
    //    so the only acceptable refusal is a pair over the size limit. Building
    //    allocates, and checking every cookie of a 4 KiB input cut exec/s
    //    threefold; the first few suffice, since any cookie of an input is one
    //    mutation (erasing what precedes it) away from the front.
    for c in cookies.iter().take(ROUND_TRIPS) {
        let built = SetCookie::new(c.name(), c.value())
            .path("/")
            .secure(true)
            .build();
        match built {
            Ok(set_cookie) => {
                let back = cookie::parse(set_cookie.as_bytes()).next();
                assert_eq!(back, Some(*c), "{set_cookie:?} did not parse back");
            }
            Err(error) => assert_eq!(error, CookieError::TooLong, "{c:?}: {error}"),
        }
    }
});

/// How many cookies of each input go through the Set-Cookie round trip.
const ROUND_TRIPS: usize = 8;

/// RFC 9110 token: one or more visible ASCII characters, none a delimiter.
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"\"(),/:;<=>?@[\\]{}".contains(&b))
}

/// RFC 6265bis cookie-octet: visible ASCII except `"`, `,`, `;` and `\`.
fn is_cookie_octet(byte: u8) -> bool {
    byte.is_ascii_graphic() && !b"\",;\\".contains(&byte)
}
