//! What protects a session on the wire (Ktor's `SessionTransportTransformer`): nothing, a signature
//! (HMAC-SHA256, RFC 2104) or authenticated encryption (AES-256-GCM, NIST SP 800-38D), with key
//! rotation: the first key signs or encrypts, every key verifies. The primitives are RustCrypto's
//! (`hmac`, `sha2`, `aes-gcm`); nothing here is hand-rolled but the framing.
//!
//! ```text
//! signed    = value "." base64url(HMAC-SHA256(key, name NUL value))      ; the value stays readable
//! encrypted = base64url(nonce ciphertext tag)   ; 96-bit random nonce, the session name as AAD
//! ```
//!
//! The session's name is authenticated with the value in both forms, so a value issued for one
//! session is refused by another that shares the key. A value that does not verify under any key
//! is `None`: tampered, truncated, forged and wrong-key values are all the same to the caller.

use crate::Error;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use http::StatusCode;
use sha2::Sha256;
use std::fmt;
use std::sync::Arc;

/// Bytes in a [`SessionKey`].
pub const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// base64url of a 32-byte HMAC-SHA256 tag, unpadded.
const MAC_B64_LEN: usize = 43;

/// A 256-bit secret key: an HMAC-SHA256 key for [`SessionTransform::Signed`], an AES-256 key for
/// [`SessionTransform::Encrypted`]. Use a key for one of the two only. `Debug` hides the bytes.
///
/// ```
/// use engine_core::plugins::sessions::SessionKey;
///
/// let key = SessionKey::from_slice(&[7u8; 32]).unwrap();
/// assert!(SessionKey::from_slice(b"too short").is_err());
/// let random = SessionKey::generate().unwrap();
/// assert_ne!(format!("{random:?}"), format!("{:?}", [0u8; 32]));
/// # let _ = key;
/// ```
#[derive(Clone)]
pub struct SessionKey {
    bytes: [u8; KEY_LEN],
    /// HMAC-SHA256 keyed with `bytes`: its inner and outer pads are hashed once here rather than
    /// for every cookie (two of the four SHA-256 blocks a short value's MAC takes).
    hmac: Hmac<Sha256>,
    /// AES-256-GCM with `bytes`' key schedule expanded once.
    aead: Aes256Gcm,
}

impl PartialEq for SessionKey {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for SessionKey {}

impl SessionKey {
    /// A key from exactly [`KEY_LEN`] bytes, which must come from a cryptographically secure source.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, KeyLengthError> {
        <[u8; KEY_LEN]>::try_from(bytes)
            .map(Self::from_bytes)
            .map_err(|_| KeyLengthError(bytes.len()))
    }

    /// A random key from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut key = [0; KEY_LEN];
        getrandom::fill(&mut key)?;
        Ok(Self::from_bytes(key))
    }

    fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self {
            bytes,
            hmac: <Hmac<Sha256> as Mac>::new_from_slice(&bytes)
                .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length")),
            aead: Aes256Gcm::new((&bytes).into()),
        }
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionKey(..)")
    }
}

/// A key of the wrong length: it holds the length given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyLengthError(pub usize);

impl fmt::Display for KeyLengthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a session key has {KEY_LEN} bytes, not {}", self.0)
    }
}

impl std::error::Error for KeyLengthError {}

/// How a session's value is protected on the wire.
#[derive(Debug, Clone, Default)]
pub enum SessionTransform {
    /// Sent as it is: the client can read and change it. For server-side sessions the value is an
    /// unguessable id, which is enough; client-side data should be signed or encrypted.
    #[default]
    Plain,
    /// Readable by the client, but any change makes it invalid.
    Signed(Arc<[SessionKey]>),
    /// Neither readable nor changeable by the client.
    Encrypted(Arc<[SessionKey]>),
}

impl SessionTransform {
    /// Signs with the first key; every key verifies.
    ///
    /// # Panics
    /// If `keys` is empty: a configuration mistake.
    #[track_caller]
    pub fn signed(keys: impl IntoIterator<Item = SessionKey>) -> Self {
        Self::Signed(non_empty(keys))
    }

    /// Encrypts with the first key; every key decrypts.
    ///
    /// # Panics
    /// If `keys` is empty: a configuration mistake.
    #[track_caller]
    pub fn encrypted(keys: impl IntoIterator<Item = SessionKey>) -> Self {
        Self::Encrypted(non_empty(keys))
    }

    /// Protects `value` (visible ASCII) for the session `name`. Fails (500) only when the OS
    /// CSPRNG cannot give an encryption nonce.
    pub fn encode(&self, name: &str, value: &str) -> Result<String, Error> {
        match self {
            Self::Plain => Ok(value.to_owned()),
            Self::Signed(keys) => {
                let tag = mac(&keys[0], name, value)?.finalize().into_bytes();
                let mut out = String::with_capacity(value.len() + 1 + MAC_B64_LEN);
                out.push_str(value);
                out.push('.');
                URL_SAFE_NO_PAD.encode_string(tag, &mut out);
                Ok(out)
            }
            Self::Encrypted(keys) => {
                let mut nonce = [0; NONCE_LEN];
                getrandom::fill(&mut nonce)
                    .map_err(|e| Error::new(StatusCode::INTERNAL_SERVER_ERROR, e))?;
                let cipher = &keys[0].aead;
                let payload = Payload {
                    msg: value.as_bytes(),
                    aad: name.as_bytes(),
                };
                // AES-GCM fails only past 64 GiB of plaintext; a header value is far below that.
                let sealed = cipher
                    .encrypt(Nonce::from_slice(&nonce), payload)
                    .map_err(|_| Error::msg("AES-GCM refused to encrypt a session"))?;
                let mut data = Vec::with_capacity(NONCE_LEN + sealed.len());
                data.extend_from_slice(&nonce);
                data.extend_from_slice(&sealed);
                Ok(URL_SAFE_NO_PAD.encode(data))
            }
        }
    }

    /// The value `wire` protects for the session `name`, if it verifies under one of the keys.
    pub fn decode(&self, name: &str, wire: &str) -> Option<String> {
        match self {
            Self::Plain => Some(wire.to_owned()),
            Self::Signed(keys) => {
                let (value, tag) = wire.rsplit_once('.')?;
                if tag.len() != MAC_B64_LEN {
                    return None;
                }
                let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
                // `verify_slice` compares in constant time.
                keys.iter()
                    .any(|key| mac(key, name, value).is_ok_and(|m| m.verify_slice(&tag).is_ok()))
                    .then(|| value.to_owned())
            }
            Self::Encrypted(keys) => {
                let data = URL_SAFE_NO_PAD.decode(wire).ok()?;
                if data.len() < NONCE_LEN + TAG_LEN {
                    return None;
                }
                let (nonce, sealed) = data.split_at(NONCE_LEN);
                let plain = keys.iter().find_map(|key| {
                    let payload = Payload {
                        msg: sealed,
                        aad: name.as_bytes(),
                    };
                    key.aead.decrypt(Nonce::from_slice(nonce), payload).ok()
                })?;
                String::from_utf8(plain).ok()
            }
        }
    }
}

#[track_caller]
fn non_empty(keys: impl IntoIterator<Item = SessionKey>) -> Arc<[SessionKey]> {
    let keys: Arc<[SessionKey]> = keys.into_iter().collect();
    assert!(
        !keys.is_empty(),
        "a session transform needs at least one key"
    );
    keys
}

/// HMAC-SHA256 over the name, a NUL (which neither a name nor a value contains), and the value.
fn mac(key: &SessionKey, name: &str, value: &str) -> Result<Hmac<Sha256>, Error> {
    let mut mac = key.hmac.clone();
    mac.update(name.as_bytes());
    mac.update(&[0]);
    mac.update(value.as_bytes());
    Ok(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SessionKey {
        SessionKey::from_bytes([byte; KEY_LEN])
    }

    fn transforms() -> [SessionTransform; 2] {
        [
            SessionTransform::signed([key(1)]),
            SessionTransform::encrypted([key(1)]),
        ]
    }

    #[test]
    fn round_trip_and_rotation() {
        for transform in transforms() {
            let wire = transform.encode("S", "100.eyJhIjoxfQ").unwrap();
            assert!(wire.bytes().all(|b| b.is_ascii_graphic()), "{wire}");
            assert_eq!(
                transform.decode("S", &wire).as_deref(),
                Some("100.eyJhIjoxfQ")
            );
            // A new key first, the old one kept: old values still verify, new ones use the new key.
            let rotated = match &transform {
                SessionTransform::Signed(_) => SessionTransform::signed([key(2), key(1)]),
                _ => SessionTransform::encrypted([key(2), key(1)]),
            };
            assert_eq!(
                rotated.decode("S", &wire).as_deref(),
                Some("100.eyJhIjoxfQ")
            );
            let fresh = rotated.encode("S", "x").unwrap();
            assert_eq!(transform.decode("S", &fresh), None, "{transform:?}");
        }
    }

    #[test]
    fn signed_values_stay_readable() {
        let wire = SessionTransform::signed([key(1)])
            .encode("S", "1.abc")
            .unwrap();
        assert!(wire.starts_with("1.abc."), "{wire}");
        assert_eq!(wire.len(), "1.abc.".len() + MAC_B64_LEN);
    }

    #[test]
    fn encryptions_differ_each_time() {
        let transform = SessionTransform::encrypted([key(1)]);
        assert_ne!(
            transform.encode("S", "v").unwrap(),
            transform.encode("S", "v").unwrap()
        );
    }

    #[test]
    fn refusals() {
        for transform in transforms() {
            let wire = transform.encode("S", "1.abcdef").unwrap();
            let mut flipped = wire.clone().into_bytes();
            flipped[2] = if flipped[2] == b'A' { b'B' } else { b'A' };
            let flipped = String::from_utf8(flipped).unwrap();
            let cases = [
                ("", "S"),
                (".", "S"),
                (&wire[..wire.len() - 1], "S"),
                (&wire[..wire.len() / 2], "S"),
                (&wire[1..], "S"),
                (&flipped, "S"),
                (&format!("{wire}A"), "S"),
                (&wire, "T"),
                ("1.abcdef", "S"),
                ("\u{e9}.\u{e9}", "S"),
            ];
            for (value, name) in cases {
                assert_eq!(
                    transform.decode(name, value),
                    None,
                    "{transform:?} {value:?} {name}"
                );
            }
            let other = match &transform {
                SessionTransform::Signed(_) => SessionTransform::signed([key(9)]),
                _ => SessionTransform::encrypted([key(9)]),
            };
            assert_eq!(other.decode("S", &wire), None, "wrong key");
        }
    }

    #[test]
    fn key_lengths() {
        assert!(SessionKey::from_slice(&[0; 32]).is_ok());
        for len in [0, 16, 31, 33, 64] {
            assert_eq!(
                SessionKey::from_slice(&vec![0; len]),
                Err(KeyLengthError(len))
            );
        }
        assert_ne!(
            SessionKey::generate().unwrap(),
            SessionKey::generate().unwrap()
        );
    }

    #[test]
    #[should_panic(expected = "at least one key")]
    fn no_keys_is_a_configuration_mistake() {
        let _ = SessionTransform::signed([]);
    }
}
