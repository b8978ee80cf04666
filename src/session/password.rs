//! Password hashing with Argon2id, in memory that is allocated once.
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
//! # Memory is the cost, so it is owned
//!
//! Each hash fills 19 MiB, on purpose, and takes tens of milliseconds of one
//! core. The argon2 crate's everyday calls allocate those 19 MiB per hash and
//! free them after. Under a burst of logins that goes badly twice: every hash
//! in flight holds its own 19 MiB, and the allocator, handed block after block
//! of that size, keeps freed ones for reuse (glibc raises its mmap threshold
//! and parks them in per-thread arenas), so memory stays high after the burst.
//!
//! So a hash here runs in a [`Workspace`]: the 19 MiB allocated once and
//! reused for every hash it runs. The [`hash_pool`](super::hash_pool) gives
//! each of its fixed workers one, and memory spent on passwords is then
//! workers × 19 MiB, whatever the load. A workspace is plain CPU work; call it
//! from a worker thread, never from an async task.

use std::sync::atomic::{AtomicU64, Ordering};

use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// Passwords longer than this are refused (400). Hashing cost grows with the
/// input, and nobody types a kilobyte.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Passwords shorter than this many characters are refused at registration.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// OWASP Password Storage Cheat Sheet, Argon2id, first option: memory in KiB
/// (one Argon2 block is 1 KiB), passes, lanes.
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;

/// Argon2 blocks one hash with our parameters fills: memory times passes.
/// [`blocks_filled`] grows by this for every hash or verification.
pub const BLOCKS_PER_HASH: u64 = MEMORY_KIB as u64 * PASSES as u64;

/// The bytes a salt has, and the bytes of a hash's output.
const SALT_BYTES: usize = 16;
const OUTPUT_BYTES: usize = 32;

fn our_params() -> Params {
    // The parameters are constants within Argon2's documented ranges.
    Params::new(MEMORY_KIB, PASSES, LANES, Some(OUTPUT_BYTES))
        .expect("constant Argon2 parameters are valid")
}

/// Why a password could not be hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordError {
    /// The operating system's random source failed (no salt).
    Random,
    /// Argon2 itself failed.
    Hash,
}

/// Argon2 blocks filled by this process (each pass over each block counts):
/// the work actually done, so a test can check that a login for a missing
/// account pays for as much as one with a wrong password, not merely that
/// something was called.
static BLOCKS_FILLED: AtomicU64 = AtomicU64::new(0);

/// How many Argon2 blocks [`Workspace::hash`] and [`Workspace::verify`] have
/// filled so far; one hash with our parameters is [`BLOCKS_PER_HASH`].
pub fn blocks_filled() -> u64 {
    BLOCKS_FILLED.load(Ordering::Relaxed)
}

/// Argon2's working memory, allocated once and reused by every hash run in it.
pub struct Workspace {
    blocks: Vec<Block>,
    /// What unknown accounts are checked against (see [`Workspace::verify_dummy`]).
    dummy: String,
}

impl std::fmt::Debug for Workspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workspace")
            .field("blocks", &self.blocks.len())
            .finish()
    }
}

impl Workspace {
    /// A workspace whose memory is allocated by its first hash (19 MiB for
    /// our parameters) and kept from then on: a server whose workers never
    /// hash holds none of it.
    ///
    /// # Errors
    ///
    /// [`PasswordError::Random`] when no salt can be drawn for the dummy hash.
    pub fn new() -> Result<Workspace, PasswordError> {
        Ok(Workspace {
            blocks: Vec::new(),
            dummy: dummy_hash()?,
        })
    }

    /// Hashes a new password into a PHC string, with a fresh random salt.
    ///
    /// # Errors
    ///
    /// [`PasswordError`] when no salt can be drawn or hashing fails.
    pub fn hash(&mut self, password: &str) -> Result<String, PasswordError> {
        let mut salt = [0u8; SALT_BYTES];
        getrandom::fill(&mut salt).map_err(|_| PasswordError::Random)?;
        let params = our_params();
        let mut output = [0u8; OUTPUT_BYTES];
        self.fill(
            Algorithm::Argon2id,
            Version::V0x13,
            &params,
            password,
            &salt,
            &mut output,
        )?;
        phc_string(&params, &salt, &output)
    }

    /// Whether `password` matches the stored PHC string. The comparison of
    /// the outputs takes constant time. A malformed stored string never
    /// matches (and costs no Argon2 work: it is ours, so it is a bug, logged).
    pub fn verify(&mut self, password: &str, stored: &str) -> bool {
        match self.verify_phc(password, stored) {
            Ok(matches) => matches,
            Err(_) => {
                tracing::error!("a stored password hash is not a valid Argon2 PHC string");
                false
            }
        }
    }

    /// Spends the same work as [`verify`](Workspace::verify) against one of
    /// our hashes, and fails.
    ///
    /// Login calls this when the account does not exist. Without it, "no such
    /// user" would answer in microseconds and "wrong password" in tens of
    /// milliseconds, and anyone could list the accounts by timing the replies.
    /// The dummy is a PHC string with our parameters and a random output that
    /// no password hashes to, so no hashing is needed to make it.
    pub fn verify_dummy(&mut self, password: &str) -> bool {
        let dummy = std::mem::take(&mut self.dummy);
        // black_box: the result is known (false), but the work must happen.
        std::hint::black_box(self.verify(password, &dummy));
        self.dummy = dummy;
        false
    }

    fn verify_phc(&mut self, password: &str, stored: &str) -> Result<bool, PasswordError> {
        let parsed = PasswordHash::new(stored).map_err(|_| PasswordError::Hash)?;
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return Err(PasswordError::Hash);
        };
        let algorithm = Algorithm::try_from(parsed.algorithm).map_err(|_| PasswordError::Hash)?;
        let version = match parsed.version {
            Some(version) => Version::try_from(version).map_err(|_| PasswordError::Hash)?,
            None => Version::default(),
        };
        let params = Params::try_from(&parsed).map_err(|_| PasswordError::Hash)?;
        let mut salt_bytes = [0u8; 64];
        let salt = salt
            .decode_b64(&mut salt_bytes)
            .map_err(|_| PasswordError::Hash)?;
        let mut output = [0u8; 64];
        let output = output
            .get_mut(..expected.len())
            .ok_or(PasswordError::Hash)?;
        self.fill(algorithm, version, &params, password, salt, output)?;
        // `Output`'s equality is constant-time: how many leading bytes of a
        // guess's hash match must not show in the answer's timing.
        Ok(Output::new(output).map_err(|_| PasswordError::Hash)? == expected)
    }

    /// Runs Argon2 over this workspace's memory, allocating it first if this
    /// hash needs more than the workspace has: on the first hash, or for a
    /// stored hash made with more memory than our parameters ask for (from
    /// before the parameters were lowered).
    fn fill(
        &mut self,
        algorithm: Algorithm,
        version: Version,
        params: &Params,
        password: &str,
        salt: &[u8],
        output: &mut [u8],
    ) -> Result<(), PasswordError> {
        let needed = params.block_count();
        if self.blocks.len() < needed {
            self.blocks.resize(needed, Block::default());
        }
        Argon2::new(algorithm, version, params.clone())
            .hash_password_into_with_memory(
                password.as_bytes(),
                salt,
                output,
                &mut self.blocks[..needed],
            )
            .map_err(|_| PasswordError::Hash)?;
        let filled = u64::from(params.m_cost()) * u64::from(params.t_cost());
        BLOCKS_FILLED.fetch_add(filled, Ordering::Relaxed);
        Ok(())
    }
}

/// The PHC string for an Argon2id output: algorithm, version, parameters,
/// salt and output, the last two in unpadded base64.
fn phc_string(params: &Params, salt: &[u8], output: &[u8]) -> Result<String, PasswordError> {
    let salt = SaltString::encode_b64(salt).map_err(|_| PasswordError::Hash)?;
    let phc = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: params.try_into().map_err(|_| PasswordError::Hash)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(output).map_err(|_| PasswordError::Hash)?),
    };
    Ok(phc.to_string())
}

/// A PHC string with our parameters, a random salt and a random output.
fn dummy_hash() -> Result<String, PasswordError> {
    let mut random = [0u8; SALT_BYTES + OUTPUT_BYTES];
    getrandom::fill(&mut random).map_err(|_| PasswordError::Random)?;
    let (salt, output) = random.split_at(SALT_BYTES);
    phc_string(&our_params(), salt, output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let mut workspace = Workspace::new().unwrap();
        let stored = workspace.hash("correct horse").unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(workspace.verify("correct horse", &stored));
        assert!(!workspace.verify("correct horsf", &stored));
    }

    #[test]
    fn hashes_from_the_crates_everyday_api_verify_here_and_back() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, our_params());
        let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
        let theirs = argon2.hash_password(b"pw 1", &salt).unwrap().to_string();
        let mut workspace = Workspace::new().unwrap();
        assert!(workspace.verify("pw 1", &theirs));
        let ours = workspace.hash("pw 2").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(argon2.verify_password(b"pw 2", &parsed).is_ok());
    }

    #[test]
    fn a_workspace_holds_memory_only_once_it_has_hashed() {
        let mut workspace = Workspace::new().unwrap();
        assert!(workspace.blocks.is_empty());
        workspace.hash("pw").unwrap();
        assert_eq!(workspace.blocks.len(), our_params().block_count());
    }

    #[test]
    fn a_hash_needing_more_memory_grows_the_workspace() {
        use argon2::password_hash::PasswordHasher;
        let bigger = Params::new(MEMORY_KIB * 2, 1, 1, None).unwrap();
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, bigger);
        let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
        let stored = argon2.hash_password(b"pw", &salt).unwrap().to_string();
        let mut workspace = Workspace::new().unwrap();
        assert!(workspace.verify("pw", &stored));
    }

    #[test]
    fn salts_differ() {
        let mut workspace = Workspace::new().unwrap();
        assert_ne!(
            workspace.hash("same").unwrap(),
            workspace.hash("same").unwrap()
        );
    }

    #[test]
    fn malformed_stored_hash_never_matches() {
        let mut workspace = Workspace::new().unwrap();
        assert!(!workspace.verify("x", "not a hash"));
        assert!(!workspace.verify("", ""));
        assert!(!workspace.verify("x", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA"));
    }

    #[test]
    fn dummy_never_matches_and_is_a_real_hash_of_our_shape() {
        let mut workspace = Workspace::new().unwrap();
        assert!(
            workspace
                .dummy
                .starts_with("$argon2id$v=19$m=19456,t=2,p=1$")
        );
        assert!(PasswordHash::new(&workspace.dummy).is_ok());
        assert!(!workspace.verify_dummy("a password nobody has"));
    }
}
