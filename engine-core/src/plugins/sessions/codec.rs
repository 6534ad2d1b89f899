//! The session payload: a typed value and its expiry as one line of text, the same in a cookie, a
//! header and a storage entry. Pure functions, no I/O.
//!
//! ```text
//! payload = [ expiry ] "." data
//! expiry  = 1*20DIGIT          ; Unix seconds after which the session is void; absent: no expiry
//! data    = *base64url-char    ; base64url without padding (RFC 4648 §5) of the value's JSON
//! ```
//!
//! Every character is a cookie-octet (RFC 6265 §4.1.1) and a `tchar` (RFC 9110 §5.6.2), so the
//! payload travels in a cookie or a header field unescaped. The expiry sits inside the payload so
//! that a signature or an encryption over the payload covers it: a client cannot extend a session
//! by keeping a cookie past its `Max-Age`, and a replayed old cookie is refused server-side.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Why a payload was refused. None of these is an error of the call: the session is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadError {
    /// Not `expiry "." data`, or the expiry is not a number.
    Malformed,
    /// The data is not base64url.
    Base64,
    /// The data is not the JSON of the session's type.
    Json,
    /// The expiry has passed.
    Expired,
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Malformed => "malformed session payload",
            Self::Base64 => "session data is not base64url",
            Self::Json => "session data does not decode to the session type",
            Self::Expired => "session expired",
        })
    }
}

impl std::error::Error for PayloadError {}

/// Unix seconds of `time`, `0` before the epoch.
pub fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// The expiry of a session written at `now` that lives `max_age`, in Unix seconds.
pub fn expiry(now: SystemTime, max_age: Option<Duration>) -> Option<u64> {
    max_age.map(|age| unix_seconds(now).saturating_add(age.as_secs()))
}

/// Encodes `value` with `expires` (Unix seconds). Fails only when the value's `Serialize` does.
pub fn encode<T: Serialize>(value: &T, expires: Option<u64>) -> Result<String, serde_json::Error> {
    let json = serde_json::to_vec(value)?;
    let mut out = String::with_capacity(21 + json.len().div_ceil(3) * 4);
    if let Some(expires) = expires {
        out.push_str(itoa::Buffer::new().format(expires));
    }
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(&json, &mut out);
    Ok(out)
}

/// Decodes a payload read at `now`: the value, or why it is refused. A payload whose expiry is
/// `now` or earlier is expired.
pub fn decode<T: DeserializeOwned>(payload: &str, now: SystemTime) -> Result<T, PayloadError> {
    let (expires, data) = payload.split_once('.').ok_or(PayloadError::Malformed)?;
    if !expires.is_empty() {
        // Digits only: `u64::from_str` would also take a leading `+`.
        if expires.len() > 20 || !expires.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PayloadError::Malformed);
        }
        let expires: u64 = expires.parse().map_err(|_| PayloadError::Malformed)?;
        if expires <= unix_seconds(now) {
            return Err(PayloadError::Expired);
        }
    }
    let json = URL_SAFE_NO_PAD
        .decode(data)
        .map_err(|_| PayloadError::Base64)?;
    serde_json::from_slice(&json).map_err(|_| PayloadError::Json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct User {
        name: String,
        visits: u32,
    }

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn round_trips_with_and_without_expiry() {
        let user = User {
            name: "Ann \u{e9}\"\n".into(),
            visits: 3,
        };
        for expires in [None, Some(1_000), Some(u64::MAX)] {
            let payload = encode(&user, expires).unwrap();
            assert!(
                payload
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
                "{payload}"
            );
            assert_eq!(
                decode::<User>(&payload, at(999)),
                Ok(user.clone()),
                "{payload}"
            );
        }
    }

    #[test]
    fn refusals() {
        let good = encode(
            &User {
                name: "a".into(),
                visits: 1,
            },
            Some(100),
        )
        .unwrap();
        let data = good.split_once('.').unwrap().1.to_owned();
        let other_type = encode(&[1, 2, 3], None).unwrap();
        let cases: &[(&str, PayloadError)] = &[
            ("", PayloadError::Malformed),
            ("100", PayloadError::Malformed),
            (&format!("+100.{data}"), PayloadError::Malformed),
            (&format!("1e3.{data}"), PayloadError::Malformed),
            (
                &format!("123456789012345678901.{data}"),
                PayloadError::Malformed,
            ),
            (
                &format!("99999999999999999999.{data}"),
                PayloadError::Malformed,
            ),
            (&format!("50.{data}"), PayloadError::Expired),
            (&format!("60.{data}"), PayloadError::Expired),
            (&format!("100.{data}="), PayloadError::Base64),
            (&format!("100.{data}*"), PayloadError::Base64),
            (
                &format!("100.{}", &data[..data.len() - 4]),
                PayloadError::Json,
            ),
            (&other_type, PayloadError::Json),
            ("100.", PayloadError::Json),
        ];
        for (payload, error) in cases {
            assert_eq!(decode::<User>(payload, at(60)), Err(*error), "{payload:?}");
        }
        assert!(decode::<User>(&good, at(99)).is_ok());
        assert_eq!(decode::<User>(&good, at(100)), Err(PayloadError::Expired));
    }

    #[test]
    fn expiry_saturates() {
        assert_eq!(expiry(at(10), None), None);
        assert_eq!(expiry(at(10), Some(Duration::from_secs(5))), Some(15));
        assert_eq!(expiry(at(10), Some(Duration::MAX)), Some(u64::MAX));
    }
}
