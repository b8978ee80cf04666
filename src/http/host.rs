//! The `Host` grammar (RFC 9112 §3.2), shared by the `Host` field and absolute-form targets.

/// `Host = uri-host [ ":" port ]`: the bytes a registered name, IPv4 or
/// bracketed IPv6 address may contain, then a port of digits only. An empty
/// Host is allowed (RFC 9112 §3.2, for targets without an authority).
///
/// The port matters beyond tidiness: `Host: a:port` or `Host: a:b:80` would
/// be read as different authorities by different components, and RFC 9112
/// §3.2 requires a 400 for any invalid Host.
pub(crate) fn is_valid_host(value: &[u8]) -> bool {
    // Split once: a bracketed literal runs to its first `]`, anything else to
    // its first `:`. What follows must be nothing, or `:` and the port.
    let (host, rest) = if value.first() == Some(&b'[') {
        match value.iter().position(|&b| b == b']') {
            Some(end) => value.split_at(end + 1),
            None => return false,
        }
    } else {
        let colon = value.iter().position(|&b| b == b':');
        value.split_at(colon.unwrap_or(value.len()))
    };
    let port = match rest {
        [] => rest,
        [b':', port @ ..] => port,
        _ => return false,
    };
    let allowed = |b: u8| HOST_BYTES[usize::from(b)] && !matches!(b, b'[' | b']');
    let host_is_valid = match host {
        [b'[', literal @ .., b']'] => literal.iter().all(|&b| allowed(b)),
        _ => host.iter().all(|&b| allowed(b) && b != b':'),
    };
    host_is_valid && port.iter().all(u8::is_ascii_digit)
}

/// Which bytes may appear in a Host value, as a table: every request looks
/// its Host up byte by byte, so this is on the hot path.
static HOST_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        table[byte] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'%'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'['
                    | b']'
            );
        byte += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_is_digits_and_brackets_only_wrap_ipv6() {
        for valid in [
            "",
            "a",
            "a:80",
            "a:",
            "127.0.0.1:8080",
            "[::1]",
            "[::1]:8080",
        ] {
            assert!(is_valid_host(valid.as_bytes()), "{valid}");
        }
        for invalid in [
            "a:port", "a:b:80", "a[b]", "[::1", "::1", "a b", "a/b", "u@a",
        ] {
            assert!(!is_valid_host(invalid.as_bytes()), "{invalid}");
        }
    }
}
