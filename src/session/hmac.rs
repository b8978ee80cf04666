//! HMAC-SHA256 (RFC 2104), written out on top of SHA-256: what signs a token.
//!
//! A signature made with a hash and a secret must not be `SHA-256(key ‖ message)`:
//! SHA-256 lets anyone who knows `H(x)` and the length of `x` compute
//! `H(x ‖ padding ‖ more)` without knowing `x` (a length-extension attack), so such a
//! "signature" could be extended to cover a longer message. HMAC hashes twice, with the key
//! mixed in differently each time, and the outer hash closes that door. The
//! [`jwt`](super::jwt) module signs tokens with it.

use sha2::{Digest, Sha256};

/// SHA-256 works on 64-byte blocks; HMAC pads its key to one block.
const BLOCK_SIZE: usize = 64;

/// HMAC-SHA256 of `message` under `key`, as defined by RFC 2104:
///
/// ```text
/// HMAC(K, m) = H((K' ⊕ opad) ‖ H((K' ⊕ ipad) ‖ m))
///
/// K'    K padded with zeros to the 64-byte block, or H(K) padded, if K is longer
/// ipad  the byte 0x36 repeated 64 times
/// opad  the byte 0x5c repeated 64 times
/// ```
///
/// # Example
///
/// ```
/// use groundup::session::hmac::hmac_sha256;
///
/// // RFC 4231, test case 2.
/// let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
/// assert_eq!(
///     hex::encode(mac),
///     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
/// );
/// ```
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    // K': a key longer than a block is hashed to 32 bytes first; either way
    // it is then zero-padded to exactly one block.
    let mut block = [0u8; BLOCK_SIZE];
    if key.len() > BLOCK_SIZE {
        let digest = Sha256::digest(key);
        for (b, k) in block.iter_mut().zip(digest) {
            *b = k;
        }
    } else {
        for (b, k) in block.iter_mut().zip(key) {
            *b = *k;
        }
    }

    let inner_key = block.map(|b| b ^ 0x36);
    let outer_key = block.map(|b| b ^ 0x5c);
    let inner = Sha256::new()
        .chain_update(inner_key)
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(outer_key)
        .chain_update(inner)
        .finalize()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hmac_hex(key: &[u8], message: &[u8]) -> String {
        hex::encode(hmac_sha256(key, message))
    }

    // RFC 4231 §4: HMAC-SHA-256 test vectors.

    #[test]
    fn hmac_rfc4231_case_1() {
        assert_eq!(
            hmac_hex(&[0x0b; 20], b"Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
    }

    #[test]
    fn hmac_rfc4231_case_2_key_shorter_than_output() {
        assert_eq!(
            hmac_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn hmac_rfc4231_case_3() {
        assert_eq!(
            hmac_hex(&[0xaa; 20], &[0xdd; 50]),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"
        );
    }

    #[test]
    fn hmac_rfc4231_case_4() {
        let key: Vec<u8> = (0x01..=0x19).collect();
        assert_eq!(
            hmac_hex(&key, &[0xcd; 50]),
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"
        );
    }

    #[test]
    fn hmac_rfc4231_case_5_truncated_to_128_bits() {
        let mac = hmac_hex(&[0x0c; 20], b"Test With Truncation");
        assert_eq!(mac.get(..32), Some("a3b6167473100ee06e0c796c2955552b"));
    }

    #[test]
    fn hmac_rfc4231_case_6_key_longer_than_block() {
        assert_eq!(
            hmac_hex(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            ),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn hmac_rfc4231_case_7_key_and_data_longer_than_block() {
        assert_eq!(
            hmac_hex(
                &[0xaa; 131],
                b"This is a test using a larger than block-size key and a larger than \
                  block-size data. The key needs to be hashed before being used by the \
                  HMAC algorithm."
            ),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
        );
    }

    #[test]
    fn hmac_key_of_one_block_is_used_as_is() {
        let key = [0x42; BLOCK_SIZE];
        assert_ne!(
            hmac_sha256(&key, b"m"),
            hmac_sha256(&Sha256::digest(key), b"m")
        );
    }

    #[test]
    fn hmac_key_over_one_block_is_hashed_first() {
        let key = [0x42; BLOCK_SIZE + 1];
        assert_eq!(
            hmac_sha256(&key, b"m"),
            hmac_sha256(&Sha256::digest(key), b"m")
        );
    }
}
