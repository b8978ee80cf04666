//! Comparing secrets without telling the time: a comparison that stops at the first byte
//! that differs answers sooner the worse a guess is, and a client that can time enough
//! failed guesses learns a secret byte by byte.

/// Compares two secrets in time that depends only on their lengths, so a
/// client cannot find a secret byte by byte by timing failed guesses.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
