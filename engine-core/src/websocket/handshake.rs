//! The opening handshake, server side (RFC 6455 §4.2): pure checks on the request's fields and the
//! fields of the `101` answer. No I/O; the route handler applies the result.
//!
//! Every failure is a [`HandshakeRejection`] with its status and the fields that go with it, decided
//! in [`HandshakeRejection::status`] and [`HandshakeRejection::headers`] only.

use crate::call::Headers;
use http::StatusCode;
use http::header::{HeaderName, HeaderValue};

/// Why a request to a WebSocket route is not a valid opening handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeRejection {
    /// No `Upgrade: websocket` or no `upgrade` in `Connection`: a plain HTTP request.
    /// 426 with `Upgrade: websocket` (RFC 9110 §15.5.22).
    NotWebSocket,
    /// `Sec-WebSocket-Version` missing or not 13: 426 with `Sec-WebSocket-Version: 13`
    /// (RFC 6455 §4.2.2 item 4).
    UnsupportedVersion,
    /// `Sec-WebSocket-Key` missing, repeated, or not 16 bytes in base64: 400 (§4.2.1 item 5).
    BadKey,
}

impl HandshakeRejection {
    /// The status the client gets.
    pub fn status(self) -> StatusCode {
        match self {
            Self::NotWebSocket | Self::UnsupportedVersion => StatusCode::UPGRADE_REQUIRED,
            Self::BadKey => StatusCode::BAD_REQUEST,
        }
    }

    /// The fields that go with the status.
    pub fn headers(self) -> Option<(HeaderName, HeaderValue)> {
        match self {
            Self::NotWebSocket => {
                Some((http::header::UPGRADE, HeaderValue::from_static("websocket")))
            }
            Self::UnsupportedVersion => Some((
                http::header::SEC_WEBSOCKET_VERSION,
                HeaderValue::from_static("13"),
            )),
            Self::BadKey => None,
        }
    }
}

/// Checks an opening handshake's fields (the route already requires GET) and returns the value of
/// `Sec-WebSocket-Accept` for the answer.
pub(super) fn accept(headers: &Headers) -> Result<String, HandshakeRejection> {
    // §4.2.1 item 3: "An |Upgrade| header field containing the value "websocket", treated as an
    // ASCII case-insensitive value." Item 4: "A |Connection| header field that includes the token
    // "Upgrade", treated as an ASCII case-insensitive value."
    if !has_token(headers, "upgrade", "websocket") || !has_token(headers, "connection", "upgrade") {
        return Err(HandshakeRejection::NotWebSocket);
    }
    // Item 6: "A |Sec-WebSocket-Version| header field, with a value of 13."
    let mut versions = headers.get_all("sec-websocket-version");
    if versions.next().map(str::trim) != Some("13") || versions.next().is_some() {
        return Err(HandshakeRejection::UnsupportedVersion);
    }
    // Item 5: "a base64-encoded value that, when decoded, is 16 bytes in length" (24 characters,
    // the last two padding).
    let mut keys = headers.get_all("sec-websocket-key");
    let key = keys
        .next()
        .map(str::trim)
        .ok_or(HandshakeRejection::BadKey)?;
    if keys.next().is_some() || !is_key(key) {
        return Err(HandshakeRejection::BadKey);
    }
    Ok(tungstenite::handshake::derive_accept_key(key.as_bytes()))
}

/// Whether the client offered `protocol` in `Sec-WebSocket-Protocol` (§4.2.1 item 8: a list of
/// tokens, case-sensitive).
pub(super) fn offers_protocol(headers: &Headers, protocol: &str) -> bool {
    headers
        .get_all("sec-websocket-protocol")
        .flat_map(|value| value.split(','))
        .any(|offered| offered.trim() == protocol)
}

fn has_token(headers: &Headers, name: &str, token: &str) -> bool {
    headers
        .get_all(name)
        .flat_map(|value| value.split(','))
        .any(|item| item.trim().eq_ignore_ascii_case(token))
}

fn is_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    bytes.len() == 24
        && bytes.ends_with(b"==")
        && bytes[..22]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;

    fn headers(fields: &[(&'static str, &'static str)]) -> Headers {
        let mut map = HeaderMap::new();
        for &(name, value) in fields {
            map.append(name, HeaderValue::from_static(value));
        }
        Headers::from_map(map)
    }

    const GOOD: [(&str, &str); 4] = [
        ("upgrade", "websocket"),
        ("connection", "Upgrade"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];

    fn with(replace: &str, value: Option<&'static str>) -> Headers {
        let mut fields: Vec<_> = GOOD
            .iter()
            .copied()
            .filter(|(n, _)| *n != replace)
            .collect();
        if let Some(value) = value {
            let name = GOOD.iter().find(|(n, _)| *n == replace).unwrap().0;
            fields.push((name, value));
        }
        headers(&fields)
    }

    #[test]
    fn the_rfc_sample_key_is_accepted() {
        assert_eq!(
            accept(&headers(&GOOD)).as_deref(),
            Ok("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        );
    }

    #[test]
    fn each_field_is_checked() {
        use HandshakeRejection::*;
        let table: [(&str, Option<&'static str>, Result<(), HandshakeRejection>); 11] = [
            ("upgrade", Some("WebSocket"), Ok(())),
            ("upgrade", Some("h2c, websocket"), Ok(())),
            ("upgrade", Some("h2c"), Err(NotWebSocket)),
            ("upgrade", None, Err(NotWebSocket)),
            ("connection", Some("keep-alive, upgrade"), Ok(())),
            ("connection", Some("keep-alive"), Err(NotWebSocket)),
            ("sec-websocket-version", Some("8"), Err(UnsupportedVersion)),
            ("sec-websocket-version", None, Err(UnsupportedVersion)),
            ("sec-websocket-key", None, Err(BadKey)),
            ("sec-websocket-key", Some("short=="), Err(BadKey)),
            (
                "sec-websocket-key",
                Some("dGhlIHNhbXBsZSBub25jZQ!="),
                Err(BadKey),
            ),
        ];
        for (name, value, expected) in table {
            assert_eq!(
                accept(&with(name, value)).map(drop),
                expected,
                "{name}: {value:?}"
            );
        }
    }

    #[test]
    fn protocols_are_tokens_in_a_list() {
        let offered = headers(&[("sec-websocket-protocol", "superchat, chat")]);
        assert!(offers_protocol(&offered, "chat"));
        assert!(!offers_protocol(&offered, "Chat"));
        assert!(!offers_protocol(&offered, "hat"));
        assert!(!offers_protocol(&headers(&[]), "chat"));
    }

    #[test]
    fn rejections_carry_their_status_and_fields() {
        assert_eq!(HandshakeRejection::BadKey.status(), 400);
        assert_eq!(HandshakeRejection::NotWebSocket.status(), 426);
        let (name, value) = HandshakeRejection::UnsupportedVersion.headers().unwrap();
        assert_eq!(
            (name.as_str(), value.to_str().unwrap()),
            ("sec-websocket-version", "13")
        );
    }
}
