//! The login's user table: user names and their password hashes, never the passwords.
//!
//! A hash is Argon2id (RFC 9106) in the PHC string format, made and checked by RustCrypto's
//! `argon2` crate with its default parameters (19 MiB, 2 passes, 1 lane: OWASP's first
//! recommendation), each with a random 128-bit salt. Checking one costs tens of milliseconds of
//! CPU by design, so [`Users::verify`] is blocking: handlers run it on the blocking pool.
//!
//! The demo table ([`Users::demo`]) holds two users whose passwords are documented in the README:
//!
//! | user | password |
//! |---|---|
//! | `ada` | `analytical-engine` |
//! | `alan` | `enigma` |
//!
//! ```
//! use app::users::{Users, hash_password};
//!
//! let mut users = Users::new();
//! users.add("grace", &hash_password("cobol").unwrap());
//! assert!(users.verify("grace", "cobol"));
//! assert!(!users.verify("grace", "COBOL"));
//! assert!(!users.verify("nobody", "cobol"));
//! ```

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::collections::BTreeMap;

/// The longest user name, in bytes.
pub const MAX_USER_NAME: usize = 64;

/// `ada`'s hash (password `analytical-engine`).
const ADA: &str = "$argon2id$v=19$m=19456,t=2,p=1$3tP6tutUuvHcgN2WRZRtzg$hd0VEMI9/fXguIZ0L+rU+jeh1BLGFFuWlnyIuka6xYY";
/// `alan`'s hash (password `enigma`).
const ALAN: &str = "$argon2id$v=19$m=19456,t=2,p=1$rVWn7wRKbqW4hP2MRTZoGg$r3BGV8931ss4ZyXpv5XFtBmHYse6yQpBsUltbo4sjj4";
/// A hash nobody's password matches (of 32 random bytes, base64, thrown away): an unknown user is
/// checked against it, so that a refusal takes as long whether the user exists or not.
const NOBODY: &str = "$argon2id$v=19$m=19456,t=2,p=1$3IkzKW0jgWkTgPR2wg7k6g$dyLB6i43vA8CgL2mHR1P6rh+eZZFn3q41T4qYD/72Os";

/// User names and their password hashes. `Debug` shows the names only.
#[derive(Clone, Default)]
pub struct Users {
    hashes: BTreeMap<String, String>,
}

impl std::fmt::Debug for Users {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.hashes.keys()).finish()
    }
}

impl Users {
    /// No users.
    pub fn new() -> Self {
        Self::default()
    }

    /// The demo users of the module docs' table.
    pub fn demo() -> Self {
        let mut users = Self::new();
        users.add("ada", ADA).add("alan", ALAN);
        users
    }

    /// Adds `name` with `password_hash`, a PHC string from [`hash_password`].
    ///
    /// # Panics
    /// If `name` is not 1 to [`MAX_USER_NAME`] ASCII letters, digits, `.`, `_` or `-` (so that a
    /// name is safe to show in HTML as it is), or `password_hash` is not a PHC string: a
    /// configuration mistake.
    #[track_caller]
    pub fn add(&mut self, name: &str, password_hash: &str) -> &mut Self {
        assert!(
            is_valid_user_name(name),
            "Users: {name:?} is not a user name (1 to {MAX_USER_NAME} of A-Z a-z 0-9 . _ -)"
        );
        if let Err(e) = PasswordHash::new(password_hash) {
            panic!("Users: the hash of {name:?} is not a PHC string: {e}");
        }
        self.hashes
            .insert(name.to_owned(), password_hash.to_owned());
        self
    }

    /// Whether `name` is a user.
    pub fn contains(&self, name: &str) -> bool {
        self.hashes.contains_key(name)
    }

    /// Whether `password` is `name`'s. Blocking: a hash is checked whether the user exists or not.
    pub fn verify(&self, name: &str, password: &str) -> bool {
        let (hash, known) = match self.hashes.get(name) {
            Some(hash) => (hash.as_str(), true),
            None => (NOBODY, false),
        };
        // `add` checked the hash parses; `verify_password` compares in constant time.
        let matches = PasswordHash::new(hash).is_ok_and(|hash| {
            Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok()
        });
        known && matches
    }
}

/// 1 to [`MAX_USER_NAME`] bytes of `A-Z a-z 0-9 . _ -`.
pub fn is_valid_user_name(name: &str) -> bool {
    (1..=MAX_USER_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// `password`'s Argon2id hash with a fresh random salt, as a PHC string for [`Users::add`].
///
/// # Errors
/// When the OS CSPRNG gives no salt, or Argon2 refuses the input (a password over 4 GiB).
pub fn hash_password(password: &str) -> Result<String, HashError> {
    let mut salt = [0; 16];
    getrandom::fill(&mut salt).map_err(|e| HashError(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| HashError(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Why [`hash_password`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashError(pub String);

impl std::fmt::Display for HashError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot hash the password: {}", self.0)
    }
}

impl std::error::Error for HashError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_users_and_their_passwords() {
        let users = Users::demo();
        assert!(users.verify("ada", "analytical-engine"));
        assert!(users.verify("alan", "enigma"));
        for (name, password) in [
            ("ada", "enigma"),
            ("alan", "analytical-engine"),
            ("ada", ""),
            ("ADA", "analytical-engine"),
            ("eve", "analytical-engine"),
            ("", ""),
        ] {
            assert!(!users.verify(name, password), "{name}:{password}");
        }
    }

    #[test]
    fn a_hash_is_salted_and_not_the_password() {
        let first = hash_password("same").unwrap();
        let second = hash_password("same").unwrap();
        assert_ne!(first, second, "a fresh salt each time");
        assert!(first.starts_with("$argon2id$") && !first.contains("same"));
    }

    #[test]
    fn debug_shows_no_hash() {
        assert_eq!(format!("{:?}", Users::demo()), r#"{"ada", "alan"}"#);
    }

    #[test]
    fn user_names() {
        for good in ["a", "ada.lovelace", "x_1-2", &"n".repeat(MAX_USER_NAME)] {
            assert!(is_valid_user_name(good), "{good}");
        }
        let long = "n".repeat(MAX_USER_NAME + 1);
        for bad in ["", "a b", "<script>", "é", "a/b", &long] {
            assert!(!is_valid_user_name(bad), "{bad}");
        }
    }

    #[test]
    #[should_panic(expected = "not a PHC string")]
    fn a_plain_password_is_not_a_hash() {
        Users::new().add("ada", "analytical-engine");
    }
}
