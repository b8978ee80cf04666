//! Stateless tokens: a signed statement the client carries, instead of a
//! session the server keeps.
//!
//! A session cookie is a random number. It means nothing until the server
//! looks it up in the store. A token is the other way round: it *is* the
//! statement ("user 65f1… is called ada, until 22:28 UTC"), together with a
//! signature that only the holder of the key could have made. To trust it the
//! server checks the signature and the clock, and needs nothing else: no
//! store, no lookup. That is what "stateless" means here: the state travels
//! with each request instead of living on the server.
//!
//! # Format
//!
//! A JSON Web Token (JWT, RFC 7519) in the compact form of RFC 7515, signed
//! with HMAC-SHA256 ("HS256"). It is three base64url parts (the URL-safe
//! alphabet `A–Z a–z 0–9 - _`, no `=` padding) joined by dots:
//!
//! ```text
//! base64url(header) "." base64url(payload) "." base64url(HMAC-SHA256(key, header "." payload))
//! ```
//!
//! This token was issued for user `65f1c0ffee0000000000beef` ("ada") at
//! 1700000000 (2023-11-14 22:13:20 UTC) for 15 minutes, with the key
//! `000102…1f` (the 32 bytes 0 to 31). On the wire it is one line of 244
//! bytes; it is split here after each dot:
//!
//! ```text
//! eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.
//! eyJzdWIiOiI2NWYxYzBmZmVlMDAwMDAwMDAwMGJlZWYiLCJuYW1lIjoiYWRhIiwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDA5MDAsImp0aSI6IjNmMWM5YTBlNWI3ZDJhNGM4ZTZmMGIxZDJjM2E0ZTVmIn0.
//! LcsfThJ6aeqNbdo7eGG9z1skfFftaJqKYd2BhVIL8nU
//!
//! header     {"alg":"HS256","typ":"JWT"}
//! payload    {"sub":"65f1c0ffee0000000000beef","name":"ada","iat":1700000000,
//!             "exp":1700000900,"jti":"3f1c9a0e5b7d2a4c8e6f0b1d2c3a4e5f"}
//! signature  the 32 bytes of HMAC-SHA256 over "eyJhbGci….eyJzdWIi…", the first
//!            two parts exactly as sent, dot included
//! ```
//!
//! The claims are the registered names of RFC 7519 §4.1 where one fits:
//! `sub` (subject: the user's id, hex), `iat` (issued at) and `exp` (expires
//! at), both in whole seconds since 1970 UTC, and `jti` (a random id). `name`
//! (the username) is ours. The signature is [`hmac_sha256`], written out in
//! [`hmac`](super::hmac) from RFC 2104 on top of SHA-256.
//!
//! # Sessions or tokens
//!
//! A session can be revoked at once: logout deletes its row in the store, and
//! the very next request with that cookie is anonymous. Its cookie is small,
//! 64 hex digits (about 64 bytes), and says nothing by itself, which is also
//! why every request costs a store lookup to find out whose it is.
//!
//! A token needs no lookup: any server holding the key can check it without a
//! database round trip. The price is that it cannot be taken back. Logout has
//! nothing to delete, because the server keeps nothing, so a token (or a
//! stolen copy of it) stays valid until its `exp`, even after the user has
//! logged out. That is why [`DEFAULT_LIFETIME`] is short: the lifetime *is*
//! the delay before a revocation takes effect. A token is also a few hundred
//! bytes on every request (the example above is 244, four times a session
//! id), and its contents are readable by anyone who holds it: base64 is an
//! encoding, not encryption, and the signature protects the claims from being
//! *changed*, not from being *read*. Nothing secret goes in a token.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::session::constant_time::constant_time_eq;
use crate::session::hmac::hmac_sha256;

/// How long a token from [`TokenKey::issue`] lives unless the caller says
/// otherwise: 15 minutes.
///
/// Short on purpose. A token cannot be revoked, so this is how long a stolen
/// token stays useful and how long a logged-out user's token keeps working.
/// A client that needs longer asks for a new token.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// The longest token [`TokenKey::verify`] will look at: 4 KiB.
///
/// Our tokens are about 250 bytes (a 32-character username makes one of
/// about 300). Checking the length first means a hostile header costs us one
/// comparison, not a base64 decode, a JSON parse and a hash over megabytes.
pub const MAX_TOKEN_LEN: usize = 4096;

/// How far in the future `iat` may lie before a token is refused: 60 seconds.
///
/// We issue tokens with our own clock, so a token issued "later than now"
/// means the clock stepped backwards or the token was not made by this
/// server. A minute of slack lets several servers whose clocks drift a
/// little apart accept each other's tokens.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(60);

/// The fewest key bytes [`TokenKey`] accepts: 32.
///
/// RFC 7518 §3.2 requires an HS256 key at least as long as the hash output
/// (256 bits). A shorter key would be the weakest part of the signature.
pub const MIN_KEY_BYTES: usize = 32;

/// The environment variable [`TokenKey::from_env`] reads: the key as hex.
pub const KEY_ENV: &str = "GROUNDUP_TOKEN_KEY";

/// The one header we write, and the only `alg` we accept.
const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// The number of random bytes in a `jti`.
const JTI_BYTES: usize = 16;

/// The secret that signs and checks tokens.
///
/// Whoever holds it can mint a token for any user, so it never leaves the
/// server: `Debug` prints `TokenKey(<redacted>)`.
///
/// A generated key lives only as long as the process: after a restart every
/// token issued before is refused (users just ask for a new one), and
/// several servers behind one address would each refuse the others' tokens.
/// Set [`KEY_ENV`] to share one key and keep tokens across restarts.
#[derive(Clone)]
pub struct TokenKey(Vec<u8>);

impl TokenKey {
    /// A fresh random key of [`MIN_KEY_BYTES`] bytes.
    ///
    /// # Errors
    ///
    /// When the operating system's random source fails; we refuse rather
    /// than sign with anything guessable.
    pub fn generate() -> Result<TokenKey, getrandom::Error> {
        let mut bytes = vec![0u8; MIN_KEY_BYTES];
        getrandom::fill(&mut bytes)?;
        Ok(TokenKey(bytes))
    }

    /// A key from hex digits, such as the output of `openssl rand -hex 32`.
    ///
    /// # Errors
    ///
    /// [`KeyError::NotHex`] when `hex` is not an even number of hex digits,
    /// [`KeyError::TooShort`] when it holds fewer than [`MIN_KEY_BYTES`]
    /// bytes.
    pub fn from_hex(hex: &str) -> Result<TokenKey, KeyError> {
        let bytes = hex::decode(hex).map_err(|_| KeyError::NotHex)?;
        if bytes.len() < MIN_KEY_BYTES {
            return Err(KeyError::TooShort { bytes: bytes.len() });
        }
        Ok(TokenKey(bytes))
    }

    /// The key from the environment variable [`KEY_ENV`], if it is set.
    ///
    /// # Returns
    ///
    /// `Ok(None)` when the variable is not set, so the caller can fall back
    /// to [`TokenKey::generate`]:
    ///
    /// ```no_run
    /// use groundup::session::jwt::TokenKey;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let key = match TokenKey::from_env()? {
    ///     Some(key) => key,
    ///     None => TokenKey::generate()?,
    /// };
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`TokenKey::from_hex`] when the variable is set but unusable
    /// (a value that is not valid Unicode is [`KeyError::NotHex`]). A bad
    /// key is an error, not a silent fall-back to a generated one: the
    /// operator asked for a shared key and would otherwise get a private one.
    pub fn from_env() -> Result<Option<TokenKey>, KeyError> {
        match std::env::var(KEY_ENV) {
            Ok(value) => TokenKey::from_hex(&value).map(Some),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(KeyError::NotHex),
        }
    }

    /// A signed token saying that `user_id` (hex) is `username`, issued at
    /// `now` and valid for `lifetime` (usually [`DEFAULT_LIFETIME`]).
    ///
    /// The token carries a fresh random `jti` (16 bytes as hex). It is there
    /// so that logs can tell one token from another, not for revocation:
    /// refusing listed `jti`s would mean a lookup on every request, which is
    /// a session again.
    ///
    /// Nothing here bounds `username`; registration does (3 to 32
    /// characters), which keeps tokens far below [`MAX_TOKEN_LEN`].
    ///
    /// # Errors
    ///
    /// When the operating system's random source fails.
    pub fn issue(
        &self,
        user_id: &str,
        username: &str,
        now: SystemTime,
        lifetime: Duration,
    ) -> Result<String, getrandom::Error> {
        let mut jti = [0u8; JTI_BYTES];
        getrandom::fill(&mut jti)?;
        let iat = unix_seconds(now);
        Ok(self.sign(&Claims {
            sub: user_id.to_owned(),
            name: username.to_owned(),
            iat,
            exp: iat.saturating_add(lifetime.as_secs()),
            jti: hex::encode(jti),
        }))
    }

    /// The claims of `token` if this key signed it and it is still valid at
    /// `now`.
    ///
    /// The checks run cheapest first, and nothing in the payload is believed
    /// before the signature is:
    ///
    /// 1. At most [`MAX_TOKEN_LEN`] bytes.
    /// 2. Exactly three dot-separated parts.
    /// 3. The header is base64url JSON whose `alg` is exactly `"HS256"`. The
    ///    header is written by whoever made the token, so a verifier that
    ///    does what it says can be told `"alg":"none"` ("no signature, trust
    ///    me") or another algorithm it was never meant to accept (RFC 8725
    ///    §3.1). We accept the one algorithm we sign with, and nothing else.
    ///    A header naming critical extensions (`crit`) is refused too, as
    ///    RFC 7515 §4.1.11 requires of a verifier that knows none.
    /// 4. The signature matches HMAC-SHA256 over the first two parts as sent,
    ///    compared in constant time so that timing cannot reveal how many
    ///    leading bytes of a forgery were right.
    /// 5. The payload is JSON with every claim present and of the right type.
    ///    Other claims are ignored, as RFC 7519 §4 asks.
    /// 6. `now` is before `exp` (RFC 7519 §4.1.4: at `exp` the token has
    ///    expired), and `iat` is at most [`MAX_CLOCK_SKEW`] after `now`.
    ///
    /// # Errors
    ///
    /// The first check that fails, as a [`TokenError`]. Each one means the
    /// request is unauthenticated (401); the variants exist so that the
    /// response and the log can say why.
    pub fn verify(&self, token: &str, now: SystemTime) -> Result<Claims, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::TooLong);
        }

        // The signature covers everything before the last dot, exactly as
        // sent: no decoding and re-encoding on the way.
        let (signed, signature) = token.rsplit_once('.').ok_or(TokenError::Malformed(PARTS))?;
        let (header, payload) = signed.split_once('.').ok_or(TokenError::Malformed(PARTS))?;
        if payload.contains('.') {
            return Err(TokenError::Malformed(PARTS));
        }

        let header: Header =
            decode_json(header).ok_or(TokenError::Malformed("the header is not base64url JSON"))?;
        if header.alg.as_deref() != Some("HS256") {
            return Err(TokenError::UnsupportedAlgorithm);
        }
        if header.crit.is_some() {
            return Err(TokenError::Malformed(
                "the header lists critical extensions",
            ));
        }

        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::Malformed("the signature is not base64url"))?;
        let expected = hmac_sha256(&self.0, signed.as_bytes());
        if !constant_time_eq(&signature, &expected) {
            return Err(TokenError::BadSignature);
        }

        let claims: Claims = decode_json(payload).ok_or(TokenError::InvalidClaims)?;
        let now = unix_seconds(now);
        if now >= claims.exp {
            return Err(TokenError::Expired);
        }
        if claims.iat > now.saturating_add(MAX_CLOCK_SKEW.as_secs()) {
            return Err(TokenError::IssuedInFuture);
        }
        Ok(claims)
    }

    /// Encodes `claims` and signs them: the token without the randomness,
    /// so tests can sign claims of their choosing.
    fn sign(&self, claims: &Claims) -> String {
        // Written out by hand so the field order on the wire is the one in
        // the docs. Each string goes through serde_json's `Value`, whose
        // `Display` quotes and escapes it as JSON.
        let payload = format!(
            r#"{{"sub":{},"name":{},"iat":{},"exp":{},"jti":{}}}"#,
            serde_json::Value::from(claims.sub.as_str()),
            serde_json::Value::from(claims.name.as_str()),
            claims.iat,
            claims.exp,
            serde_json::Value::from(claims.jti.as_str()),
        );
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(HEADER),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let signature = URL_SAFE_NO_PAD.encode(hmac_sha256(&self.0, signed.as_bytes()));
        format!("{signed}.{signature}")
    }
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenKey(<redacted>)")
    }
}

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Claims {
    /// The user's id, as hex.
    pub sub: String,
    /// The username, as it was when the token was issued.
    pub name: String,
    /// When the token was issued, in seconds since 1970-01-01 UTC.
    pub iat: u64,
    /// When the token expires, in seconds since 1970-01-01 UTC.
    pub exp: u64,
    /// A random id (32 hex digits) for telling tokens apart in logs.
    pub jti: String,
}

/// The header fields we look at; any others (`typ`, `kid`…) are ignored.
#[derive(Deserialize)]
struct Header {
    alg: Option<String>,
    crit: Option<IgnoredAny>,
}

/// The message for a token that is not three dot-separated parts.
const PARTS: &str = "a token is three parts separated by dots";

/// Decodes one base64url part and parses it as JSON into `T`; `None` when
/// either step fails.
fn decode_json<T: for<'de> Deserialize<'de>>(part: &str) -> Option<T> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Whole seconds since 1970-01-01 UTC. A clock set before 1970 reads as 0,
/// which makes every token look expired rather than valid forever.
fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// Why a token was refused. Every variant means 401 Unauthorized; the
/// `Display` text is written to go in the JSON error body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Longer than [`MAX_TOKEN_LEN`]; not even looked at.
    TooLong,
    /// Not the shape of a token: the wrong number of parts, bad base64url,
    /// a header that is not a JSON object. Says which.
    Malformed(&'static str),
    /// The header's `alg` is missing or is not `HS256`: `none`, `HS512`,
    /// `RS256` and the rest are refused whatever the signature.
    UnsupportedAlgorithm,
    /// The signature was not made with our key over these exact bytes.
    BadSignature,
    /// Correctly signed, but a claim is missing or of the wrong type.
    InvalidClaims,
    /// `exp` has passed.
    Expired,
    /// `iat` lies more than [`MAX_CLOCK_SKEW`] in the future.
    IssuedInFuture,
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenError::TooLong => write!(f, "token is longer than {MAX_TOKEN_LEN} bytes"),
            TokenError::Malformed(what) => write!(f, "malformed token: {what}"),
            TokenError::UnsupportedAlgorithm => f.write_str("token algorithm must be HS256"),
            TokenError::BadSignature => f.write_str("token signature does not match"),
            TokenError::InvalidClaims => f.write_str("token claims are missing or mistyped"),
            TokenError::Expired => f.write_str("token has expired"),
            TokenError::IssuedInFuture => f.write_str("token is issued in the future"),
        }
    }
}

impl std::error::Error for TokenError {}

/// Why a configured key was refused. Both messages name [`KEY_ENV`], the
/// only place a configured key comes from, and say how to make a good one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyError {
    /// Not an even number of hex digits.
    NotHex,
    /// Fewer than [`MIN_KEY_BYTES`] bytes.
    TooShort {
        /// How many bytes the key had.
        bytes: usize,
    },
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::NotHex => write!(
                f,
                "{KEY_ENV} must be hex digits (make one with `openssl rand -hex 32`)"
            ),
            KeyError::TooShort { bytes } => write!(
                f,
                "{KEY_ENV} holds {bytes} bytes but HS256 needs at least {MIN_KEY_BYTES} \
                 (make one with `openssl rand -hex 32`)"
            ),
        }
    }
}

impl std::error::Error for KeyError {}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key of the example in the module docs: the bytes 0 to 31.
    fn example_key() -> TokenKey {
        TokenKey((0..32).collect())
    }

    /// `secs` seconds after 1970.
    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    const T0: u64 = 1_700_000_000;

    fn claims() -> Claims {
        Claims {
            sub: "65f1c0ffee0000000000beef".to_owned(),
            name: "ada".to_owned(),
            iat: T0,
            exp: T0 + 900,
            jti: "3f1c9a0e5b7d2a4c8e6f0b1d2c3a4e5f".to_owned(),
        }
    }

    /// A token with `header` and `payload` (JSON text) signed by `key`,
    /// however odd they are.
    fn forge(key: &TokenKey, header: &str, payload: &str) -> String {
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let signature = URL_SAFE_NO_PAD.encode(hmac_sha256(&key.0, signed.as_bytes()));
        format!("{signed}.{signature}")
    }

    /// The payload of [`claims`] as JSON.
    fn example_payload() -> String {
        let token = example_key().sign(&claims());
        let payload = token.split('.').nth(1).unwrap();
        String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
    }

    #[test]
    fn documented_example_verifies() {
        let token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.\
            eyJzdWIiOiI2NWYxYzBmZmVlMDAwMDAwMDAwMGJlZWYiLCJuYW1lIjoiYWRhIiwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjE3MDAwMDA5MDAsImp0aSI6IjNmMWM5YTBlNWI3ZDJhNGM4ZTZmMGIxZDJjM2E0ZTVmIn0.\
            LcsfThJ6aeqNbdo7eGG9z1skfFftaJqKYd2BhVIL8nU";
        assert_eq!(token.len(), 244);
        assert_eq!(example_key().sign(&claims()), token);
        assert_eq!(example_key().verify(token, at(T0)), Ok(claims()));
    }

    #[test]
    fn issued_token_round_trips() {
        let key = TokenKey::generate().unwrap();
        let token = key
            .issue("65f1c0ffee0000000000beef", "ada", at(T0), DEFAULT_LIFETIME)
            .unwrap();
        let claims = key.verify(&token, at(T0)).unwrap();
        assert_eq!(claims.sub, "65f1c0ffee0000000000beef");
        assert_eq!(claims.name, "ada");
        assert_eq!(claims.iat, T0);
        assert_eq!(claims.exp, T0 + DEFAULT_LIFETIME.as_secs());
        assert_eq!(claims.jti.len(), JTI_BYTES * 2);
        assert!(claims.jti.bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn issued_header_is_exactly_hs256_jwt() {
        let token = example_key()
            .issue("1", "ada", at(T0), DEFAULT_LIFETIME)
            .unwrap();
        let header = token.split('.').next().unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD.decode(header).unwrap(),
            br#"{"alg":"HS256","typ":"JWT"}"#
        );
    }

    #[test]
    fn each_token_has_its_own_jti() {
        let key = example_key();
        let a = key.issue("1", "ada", at(T0), DEFAULT_LIFETIME).unwrap();
        let b = key.issue("1", "ada", at(T0), DEFAULT_LIFETIME).unwrap();
        assert_ne!(
            key.verify(&a, at(T0)).unwrap().jti,
            key.verify(&b, at(T0)).unwrap().jti
        );
    }

    #[test]
    fn names_with_quotes_and_unicode_are_escaped() {
        let key = example_key();
        let name = "a\"d\\a\u{1F980}\n";
        let token = key.issue("1", name, at(T0), DEFAULT_LIFETIME).unwrap();
        assert_eq!(key.verify(&token, at(T0)).unwrap().name, name);
    }

    #[test]
    fn tampered_payload_is_rejected() {
        let key = example_key();
        let token = key.sign(&claims());
        let mut parts: Vec<&str> = token.split('.').collect();
        // Promote ourselves to another user, keep the old signature.
        let forged_claims = Claims {
            sub: "000000000000000000000001".to_owned(),
            ..claims()
        };
        let forged = key.sign(&forged_claims);
        let forged_payload = forged.split('.').nth(1).unwrap();
        parts[1] = forged_payload;
        assert_eq!(
            key.verify(&parts.join("."), at(T0)),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn tampered_signature_is_rejected() {
        let key = example_key();
        let token = key.sign(&claims());
        let (signed, signature) = token.rsplit_once('.').unwrap();
        let mut mac = URL_SAFE_NO_PAD.decode(signature).unwrap();
        mac[31] ^= 1;
        let tampered = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(mac));
        assert_eq!(key.verify(&tampered, at(T0)), Err(TokenError::BadSignature));
    }

    #[test]
    fn missing_or_truncated_signature_is_rejected() {
        let key = example_key();
        let token = key.sign(&claims());
        let (signed, signature) = token.rsplit_once('.').unwrap();
        for bad in [
            format!("{signed}."),
            format!("{signed}.{}", &signature[..40]),
        ] {
            assert_eq!(key.verify(&bad, at(T0)), Err(TokenError::BadSignature));
        }
    }

    #[test]
    fn wrong_key_is_rejected() {
        let token = example_key().sign(&claims());
        let other = TokenKey::generate().unwrap();
        assert_eq!(other.verify(&token, at(T0)), Err(TokenError::BadSignature));
    }

    #[test]
    fn alg_none_with_empty_signature_is_rejected() {
        let key = example_key();
        let token = key.sign(&claims());
        let payload = token.split('.').nth(1).unwrap();
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        assert_eq!(
            key.verify(&format!("{header}.{payload}."), at(T0)),
            Err(TokenError::UnsupportedAlgorithm)
        );
    }

    #[test]
    fn other_algorithms_are_rejected_even_when_signed_with_our_key() {
        let key = example_key();
        let payload = example_payload();
        for header in [
            r#"{"alg":"HS512","typ":"JWT"}"#,
            r#"{"alg":"RS256","typ":"JWT"}"#,
            r#"{"alg":"none"}"#,
            r#"{"alg":"hs256"}"#,
            r#"{"alg":"HS256 "}"#,
            r#"{"typ":"JWT"}"#,
            r#"{"alg":null}"#,
            r#"{}"#,
        ] {
            assert_eq!(
                key.verify(&forge(&key, header, &payload), at(T0)),
                Err(TokenError::UnsupportedAlgorithm),
                "{header}"
            );
        }
    }

    #[test]
    fn alg_swapped_to_hs512_keeping_the_signature_is_rejected() {
        let key = example_key();
        let token = key.sign(&claims());
        let (_, rest) = token.split_once('.').unwrap();
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS512","typ":"JWT"}"#);
        assert_eq!(
            key.verify(&format!("{header}.{rest}"), at(T0)),
            Err(TokenError::UnsupportedAlgorithm)
        );
    }

    #[test]
    fn header_without_typ_is_accepted() {
        let key = example_key();
        let token = forge(&key, r#"{"alg":"HS256"}"#, &example_payload());
        assert_eq!(key.verify(&token, at(T0)), Ok(claims()));
    }

    #[test]
    fn header_with_crit_is_rejected() {
        let key = example_key();
        let token = forge(
            &key,
            r#"{"alg":"HS256","crit":["exp"],"exp":1}"#,
            &example_payload(),
        );
        assert!(matches!(
            key.verify(&token, at(T0)),
            Err(TokenError::Malformed(_))
        ));
    }

    #[test]
    fn expired_at_exp_and_valid_just_before() {
        let key = example_key();
        let token = key.sign(&claims());
        let exp = claims().exp;
        assert_eq!(key.verify(&token, at(exp - 1)), Ok(claims()));
        assert_eq!(
            key.verify(&token, at(exp) - Duration::from_millis(1)),
            Ok(claims())
        );
        assert_eq!(key.verify(&token, at(exp)), Err(TokenError::Expired));
        assert_eq!(key.verify(&token, at(exp + 3600)), Err(TokenError::Expired));
    }

    #[test]
    fn iat_within_skew_is_accepted_beyond_it_rejected() {
        let key = example_key();
        let skew = MAX_CLOCK_SKEW.as_secs();
        let token = key.sign(&claims());
        assert_eq!(key.verify(&token, at(T0 - skew)), Ok(claims()));
        assert_eq!(
            key.verify(&token, at(T0 - skew - 1)),
            Err(TokenError::IssuedInFuture)
        );
    }

    #[test]
    fn clock_before_1970_makes_tokens_expired() {
        let key = example_key();
        let token = key.sign(&Claims {
            iat: 0,
            exp: 0,
            ..claims()
        });
        let before_epoch = UNIX_EPOCH - Duration::from_secs(5);
        assert_eq!(key.verify(&token, before_epoch), Err(TokenError::Expired));
    }

    #[test]
    fn missing_or_mistyped_claims_are_rejected() {
        let key = example_key();
        for payload in [
            r#"{"name":"ada","iat":1700000000,"exp":1700000900,"jti":"x"}"#,
            r#"{"sub":"1","iat":1700000000,"exp":1700000900,"jti":"x"}"#,
            r#"{"sub":"1","name":"ada","exp":1700000900,"jti":"x"}"#,
            r#"{"sub":"1","name":"ada","iat":1700000000,"jti":"x"}"#,
            r#"{"sub":"1","name":"ada","iat":1700000000,"exp":1700000900}"#,
            r#"{"sub":1,"name":"ada","iat":1700000000,"exp":1700000900,"jti":"x"}"#,
            r#"{"sub":"1","name":"ada","iat":"1700000000","exp":1700000900,"jti":"x"}"#,
            r#"{"sub":"1","name":"ada","iat":1700000000,"exp":1700000900.5,"jti":"x"}"#,
            r#"{"sub":"1","name":"ada","iat":1700000000,"exp":-1,"jti":"x"}"#,
            r#"{"sub":"1","name":null,"iat":1700000000,"exp":1700000900,"jti":"x"}"#,
            r#"[]"#,
            r#"not json"#,
            "",
        ] {
            assert_eq!(
                key.verify(&forge(&key, HEADER, payload), at(T0)),
                Err(TokenError::InvalidClaims),
                "{payload}"
            );
        }
    }

    #[test]
    fn unknown_claims_are_ignored() {
        let key = example_key();
        let payload = r#"{"sub":"65f1c0ffee0000000000beef","name":"ada","iat":1700000000,
            "exp":1700000900,"jti":"3f1c9a0e5b7d2a4c8e6f0b1d2c3a4e5f","admin":true}"#;
        assert_eq!(
            key.verify(&forge(&key, HEADER, payload), at(T0)),
            Ok(claims())
        );
    }

    #[test]
    fn malformed_tokens_are_rejected() {
        let key = example_key();
        let token = key.sign(&claims());
        let (header, rest) = token.split_once('.').unwrap();
        let (payload, signature) = rest.split_once('.').unwrap();
        let not_json = URL_SAFE_NO_PAD.encode("alg=HS256");
        // A header that needs padding, sent with it: we take no `=`.
        let padded = format!("{}==", URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256" }"#));
        for bad in [
            String::new(),
            ".".to_owned(),
            "..".to_owned(),
            "...".to_owned(),
            format!("{header}.{payload}"),
            format!("{header}.{payload}.{signature}."),
            format!("{header}.{payload}.{signature}.{signature}"),
            format!("{header}+.{payload}.{signature}"),
            format!("{padded}.{payload}.{signature}"),
            format!("{not_json}.{payload}.{signature}"),
            format!("{header}.{payload}.{signature}="),
            format!("{header}.{payload}.{signature}!"),
            format!(
                "{}.{payload}.{signature}",
                URL_SAFE_NO_PAD.encode("\"HS256\"")
            ),
        ] {
            assert!(
                matches!(key.verify(&bad, at(T0)), Err(TokenError::Malformed(_))),
                "{bad:?} gave {:?}",
                key.verify(&bad, at(T0))
            );
        }
    }

    #[test]
    fn non_canonical_base64_signature_is_rejected() {
        // 43 characters carry 258 bits for a 32-byte MAC; the last two must be
        // zero. A decoder that ignored them would accept four spellings of
        // one signature, and a token would no longer have one written form.
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let key = example_key();
        let token = key.sign(&claims());
        let (rest, last) = token.split_at(token.len() - 1);
        let index = ALPHABET
            .iter()
            .position(|&c| c == last.as_bytes()[0])
            .unwrap();
        let respelled = format!("{rest}{}", char::from(ALPHABET[index ^ 1]));
        assert!(matches!(
            key.verify(&respelled, at(T0)),
            Err(TokenError::Malformed(_))
        ));
    }

    #[test]
    fn token_at_length_limit_verifies() {
        // Grow the name until the whole token is exactly MAX_TOKEN_LEN.
        let key = example_key();
        let token = (0..MAX_TOKEN_LEN)
            .map(|n| {
                key.sign(&Claims {
                    name: "a".repeat(n),
                    ..claims()
                })
            })
            .find(|token| token.len() == MAX_TOKEN_LEN)
            .unwrap();
        assert!(key.verify(&token, at(T0)).is_ok());
    }

    #[test]
    fn token_over_length_limit_is_rejected_unread() {
        let key = example_key();
        let token = key.sign(&Claims {
            name: "a".repeat(MAX_TOKEN_LEN),
            ..claims()
        });
        assert!(token.len() > MAX_TOKEN_LEN);
        assert_eq!(key.verify(&token, at(T0)), Err(TokenError::TooLong));
        let junk = "x".repeat(MAX_TOKEN_LEN + 1);
        assert_eq!(key.verify(&junk, at(T0)), Err(TokenError::TooLong));
    }

    #[test]
    fn key_from_hex_needs_32_bytes_of_hex() {
        let hex = "00".repeat(MIN_KEY_BYTES);
        assert!(TokenKey::from_hex(&hex).is_ok());
        assert!(TokenKey::from_hex(&"AB".repeat(MIN_KEY_BYTES * 2)).is_ok());
        assert_eq!(
            TokenKey::from_hex(&"00".repeat(MIN_KEY_BYTES - 1)).unwrap_err(),
            KeyError::TooShort {
                bytes: MIN_KEY_BYTES - 1
            }
        );
        assert_eq!(
            TokenKey::from_hex("").unwrap_err(),
            KeyError::TooShort { bytes: 0 }
        );
        for bad in [&hex[1..], &format!("{hex}zz"), &format!(" {hex}")] {
            assert_eq!(
                TokenKey::from_hex(bad).unwrap_err(),
                KeyError::NotHex,
                "{bad}"
            );
        }
    }

    #[test]
    fn key_errors_name_the_variable() {
        for error in [KeyError::NotHex, KeyError::TooShort { bytes: 3 }] {
            assert!(error.to_string().contains("GROUNDUP_TOKEN_KEY"), "{error}");
        }
    }

    #[test]
    fn debug_hides_the_key() {
        let key = TokenKey::from_hex(&"ab".repeat(MIN_KEY_BYTES)).unwrap();
        let debug = format!("{key:?}");
        assert_eq!(debug, "TokenKey(<redacted>)");
        assert!(!debug.contains("ab"));
    }

    #[test]
    fn generated_keys_differ() {
        let a = TokenKey::generate().unwrap();
        let b = TokenKey::generate().unwrap();
        assert_eq!(a.0.len(), MIN_KEY_BYTES);
        assert_ne!(a.0, b.0);
    }

    proptest::proptest! {
        #[test]
        fn random_strings_never_verify(token in proptest::prelude::any::<String>()) {
            proptest::prop_assert!(example_key().verify(&token, at(T0)).is_err());
        }

        #[test]
        fn random_bytes_never_verify(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600),
        ) {
            let token = String::from_utf8_lossy(&bytes);
            proptest::prop_assert!(example_key().verify(&token, at(T0)).is_err());
        }

        #[test]
        fn random_token_shapes_never_verify(
            token in "[A-Za-z0-9_-]{0,60}\\.[A-Za-z0-9_-]{0,300}\\.[A-Za-z0-9_-]{0,60}",
        ) {
            proptest::prop_assert!(example_key().verify(&token, at(T0)).is_err());
        }

        #[test]
        fn any_user_id_and_name_round_trip(sub in ".{0,40}", name in ".{0,40}") {
            let key = example_key();
            let token = key.issue(&sub, &name, at(T0), DEFAULT_LIFETIME).unwrap();
            let claims = key.verify(&token, at(T0)).unwrap();
            proptest::prop_assert_eq!(claims.sub, sub);
            proptest::prop_assert_eq!(claims.name, name);
        }
    }
}
