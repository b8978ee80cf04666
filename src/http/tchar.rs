//! `token`, the word of HTTP's grammar (RFC 9110 §5.6.2): method names, field
//! names, transfer codings, cookie names and chunk-extension names are all
//! tokens, one or more of these characters.

/// `tchar`: visible ASCII except the delimiters `"(),/:;<=>?@[\]{}`.
pub fn is_tchar(byte: u8) -> bool {
    matches!(byte,
        b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.'
        | b'^' | b'_' | b'`' | b'|' | b'~'
        | b'0'..=b'9' | b'A'..=b'Z' | b'a'..=b'z')
}
