//! Password hashing with Argon2id.
//!
//! A password database will leak one day; what matters then is how long each
//! hash takes to crack. Argon2id (the winner of the Password Hashing
//! Competition) makes every guess cost memory as well as time, which is what
//! makes GPUs and custom chips expensive. We use OWASP's recommended
//! parameters: 19 MiB of memory, 2 passes, 1 lane, and a random 16-byte salt
//! per password, all recorded in the PHC string the store keeps
//! (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`), so parameters can be
//! raised later without breaking old hashes.
//!
//! Each hash takes tens of milliseconds of CPU on purpose. Callers run these
//! functions on the blocking thread pool, never on the async workers.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Passwords longer than this are refused (400). Hashing cost grows with the
/// input, and nobody types a kilobyte.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Passwords shorter than this many characters are refused at registration.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// OWASP Password Storage Cheat Sheet, Argon2id, first option.
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;

fn hasher() -> Argon2<'static> {
    // The parameters are constants within Argon2's documented ranges.
    let params =
        Params::new(MEMORY_KIB, PASSES, LANES, None).expect("constant Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Why a password could not be hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordError {
    /// The operating system's random source failed (no salt).
    Random,
    /// Argon2 itself failed.
    Hash,
}

/// Hashes a new password into a PHC string.
///
/// # Errors
///
/// [`PasswordError`] when no salt can be drawn or hashing fails.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|_| PasswordError::Random)?;
    let salt = SaltString::encode_b64(&salt).map_err(|_| PasswordError::Hash)?;
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|_| PasswordError::Hash)
}

/// Argon2 verifications run by this process: observable, so a test can
/// check that a login for a missing account pays for one too.
static VERIFICATIONS: AtomicU64 = AtomicU64::new(0);

/// How many verifications ([`verify`] and [`verify_dummy`]) have run.
pub fn verifications() -> u64 {
    VERIFICATIONS.load(Ordering::Relaxed)
}

/// Whether `password` matches the stored PHC string. A malformed stored
/// string never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    VERIFICATIONS.fetch_add(1, Ordering::Relaxed);
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    hasher()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// Spends the same time as [`verify`] against a real hash, and fails.
///
/// Login calls this when the username does not exist. Without it, "no such
/// user" would answer in microseconds and "wrong password" in tens of
/// milliseconds, and anyone could list the accounts by timing the replies.
pub fn verify_dummy(password: &str) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash("a password nobody has").unwrap_or_default());
    // black_box: the result is known (false), but the work must happen.
    std::hint::black_box(verify(password, dummy));
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let stored = hash("correct horse").unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse", &stored));
        assert!(!verify("correct horsf", &stored));
    }

    #[test]
    fn salts_differ() {
        assert_ne!(hash("same").unwrap(), hash("same").unwrap());
    }

    #[test]
    fn malformed_stored_hash_never_matches() {
        assert!(!verify("x", "not a hash"));
        assert!(!verify("", ""));
    }

    #[test]
    fn dummy_never_matches() {
        assert!(!verify_dummy("a password nobody has"));
    }
}
