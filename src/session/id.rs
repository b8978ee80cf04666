//! Session ids: what the cookie carries, and what the store keeps instead.
//!
//! An id is 32 bytes (256 bits) from the operating system's random source
//! (`getrandom`), sent as 64 lowercase hex digits. Nobody can guess one: at a
//! billion guesses a second, finding one live session among a million takes
//! longer than the universe has existed.
//!
//! The store never sees the id itself, only its SHA-256 ([`SessionId::storage_key`]).
//! A copy of the sessions collection (a backup, a leaked dump, a curious
//! administrator) then holds no usable cookie: turning a hash back into an id
//! means inverting SHA-256. Unlike passwords, ids need no slow hash or salt:
//! they are random and long, so there is nothing to brute-force.

use std::fmt;

use sha2::{Digest, Sha256};

/// The number of random bytes in an id.
pub const ID_BYTES: usize = 32;

/// A session id. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionId([u8; ID_BYTES]);

impl SessionId {
    /// A fresh random id.
    ///
    /// # Errors
    ///
    /// When the operating system's random source fails, which on Linux
    /// means it is not initialised yet; we refuse rather than fall back to
    /// anything guessable.
    pub fn generate() -> Result<SessionId, getrandom::Error> {
        let mut bytes = [0u8; ID_BYTES];
        getrandom::fill(&mut bytes)?;
        Ok(SessionId(bytes))
    }

    /// Reads an id from a cookie value: exactly 64 lowercase hex digits, or
    /// nothing. A malformed value is treated as "no session", never an error
    /// the client can learn from.
    pub fn from_cookie_value(value: &str) -> Option<SessionId> {
        if value.len() != ID_BYTES * 2 || value.bytes().any(|b| b.is_ascii_uppercase()) {
            return None;
        }
        let mut bytes = [0u8; ID_BYTES];
        hex::decode_to_slice(value, &mut bytes).ok()?;
        Some(SessionId(bytes))
    }

    /// The id as the cookie carries it.
    pub fn cookie_value(&self) -> String {
        hex::encode(self.0)
    }

    /// The key the store files the session under: hex SHA-256 of the id.
    pub fn storage_key(&self) -> String {
        hex::encode(Sha256::digest(self.0))
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(<redacted>)")
    }
}

/// A random token for forms and other one-off secrets: 32 bytes as hex.
///
/// # Errors
///
/// When the operating system's random source fails.
pub fn random_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; ID_BYTES];
    getrandom::fill(&mut bytes)?;
    Ok(hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_the_cookie() {
        let id = SessionId::generate().unwrap();
        assert_eq!(SessionId::from_cookie_value(&id.cookie_value()), Some(id));
    }

    #[test]
    fn storage_key_is_the_sha256_of_the_id_not_the_id() {
        let id = SessionId([7; ID_BYTES]);
        assert_eq!(
            id.storage_key(),
            hex::encode(Sha256::digest([7u8; ID_BYTES]))
        );
        assert_ne!(id.storage_key(), id.cookie_value());
    }

    #[test]
    fn malformed_cookie_values_are_no_id() {
        let good = "ab".repeat(ID_BYTES);
        assert!(SessionId::from_cookie_value(&good).is_some());
        for bad in [
            &good[1..],
            &format!("{good}a"),
            &good.to_uppercase(),
            &"zz".repeat(ID_BYTES),
            "",
        ] {
            assert_eq!(SessionId::from_cookie_value(bad), None, "{bad}");
        }
    }

    #[test]
    fn debug_hides_the_id() {
        let id = SessionId::generate().unwrap();
        assert!(!format!("{id:?}").contains(&id.cookie_value()));
    }
}
