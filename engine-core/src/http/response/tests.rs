//! Tests of [`super`]: table-driven cases, split invariance, property tests.
use super::*;
use ResponseFraming::{Chunked, CloseDelimited, Empty, Length};
use Version::{Http10, Http11};
use http::header::{CONTENT_TYPE, ETAG, SET_COOKIE, UPGRADE};

const NOW: &[u8; DATE_LEN] = b"Sun, 06 Nov 1994 08:49:37 GMT";
const APP_DATE: &str = "Mon, 07 Nov 1994 08:49:37 GMT";

type AppFields = [(HeaderName, &'static str)];
/// One field of a parsed head, owned.
type Field = (String, String);

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).expect("valid status code")
}

/// Encodes a head with `fields` appended to a `HeaderMap` in order.
fn head(
    code: u16,
    fields: &AppFields,
    framing: ResponseFraming,
    version: Version,
    close: bool,
) -> (Vec<u8>, bool) {
    let mut headers = HeaderMap::new();
    for (name, value) in fields {
        headers.append(name.clone(), HeaderValue::from_static(value));
    }
    let (mut dst, status) = (Vec::new(), status(code));
    let closes = encode_head(&mut dst, status, &headers, framing, version, close, NOW);
    (dst, closes)
}

#[test]
fn exact_heads() {
    #[rustfmt::skip]
    let cases: &[(u16, &AppFields, ResponseFraming, Version, bool, &str, bool)] = &[
        (200, &[(CONTENT_TYPE, "text/plain")], Length(13), Http11, false,
         "200 OK\r\ncontent-type: text/plain\r\ncontent-length: 13\r\n", false),
        (200, &[], Chunked, Http11, false, "200 OK\r\ntransfer-encoding: chunked\r\n", false),
        (200, &[], Length(0), Http11, true, "200 OK\r\ncontent-length: 0\r\nconnection: close\r\n", true),
        (200, &[], Length(2), Http10, false, "200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n", false),
        (200, &[], CloseDelimited, Http10, false, "200 OK\r\nconnection: close\r\n", true),
        (204, &[], Empty, Http11, true, "204 No Content\r\nconnection: close\r\n", true),
        // A 204 never carries a length, even when a caller passes one.
        (204, &[], Length(5), Http11, false, "204 No Content\r\n", false),
        (304, &[(ETAG, "\"v1\"")], Empty, Http11, false, "304 Not Modified\r\netag: \"v1\"\r\n", false),
        (101, &[(CONNECTION, "upgrade"), (UPGRADE, "websocket"), (CONTENT_LENGTH, "3")], Empty, Http11, false,
         "101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: websocket\r\n", false),
        (418, &[], Length(0), Http11, false, "418 I'm a teapot\r\ncontent-length: 0\r\n", false),
        (599, &[], Length(0), Http11, false, "599 \r\ncontent-length: 0\r\n", false),
        // HeaderMap groups repeated names at the first one's place; all values are kept.
        (200, &[(SET_COOKIE, "a=1"), (CONTENT_TYPE, "text/html"), (SET_COOKIE, "b=2")], Length(0), Http11, false,
         "200 OK\r\nset-cookie: a=1\r\nset-cookie: b=2\r\ncontent-type: text/html\r\ncontent-length: 0\r\n", false),
        // The app's Date and Connection are not written twice.
        (200, &[(DATE, APP_DATE), (CONNECTION, "close")], Length(0), Http11, true,
         "200 OK\r\ndate: Mon, 07 Nov 1994 08:49:37 GMT\r\nconnection: close\r\ncontent-length: 0\r\n", true),
        (200, &[(CONNECTION, "Keep-Alive, Close")], Length(0), Http11, false,
         "200 OK\r\nconnection: Keep-Alive, Close\r\ncontent-length: 0\r\n", true),
        (200, &[(CONNECTION, "keep-alive")], Length(0), Http10, false,
         "200 OK\r\nconnection: keep-alive\r\ncontent-length: 0\r\n", false),
    ];
    for &(code, fields, framing, version, close, expected, expected_close) in cases {
        let (bytes, closes) = head(code, fields, framing, version, close);
        let app_date = fields.iter().any(|(n, _)| n == DATE);
        let date = if app_date {
            ""
        } else {
            "date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
        };
        let expected = format!("HTTP/1.1 {expected}{date}\r\n");
        assert_eq!(String::from_utf8_lossy(&bytes), expected);
        assert_eq!(closes, expected_close, "{expected}");
    }
}

#[test]
fn static_status_lines_match_canonical_reasons() {
    let tabled = (100..1000).filter_map(|code| Some((code, static_status_line(status(code))?)));
    let mut covered = 0;
    for (code, line) in tabled {
        let reason = status(code)
            .canonical_reason()
            .expect("tabled codes are registered");
        assert_eq!(line, format!("HTTP/1.1 {code} {reason}\r\n").as_bytes());
        covered += 1;
    }
    assert_eq!(covered, 34);
}

#[test]
fn framing_decisions() {
    use BodySize::{Known, Unknown};
    use Method::{Connect, Get, Head, Post};
    #[rustfmt::skip]
    let cases: &[(u16, Method, Version, BodySize, ResponseFraming, bool)] = &[
        (200, Get, Http11, Known(5), Length(5), true),
        (200, Get, Http11, BodySize::None, Length(0), false),
        (200, Get, Http11, Unknown, Chunked, true),
        (200, Get, Http10, Unknown, CloseDelimited, true),
        (200, Post, Http10, Known(7), Length(7), true),
        (200, Head, Http11, Known(5), Length(5), false),
        (200, Head, Http10, Known(5), Length(5), false),
        (200, Head, Http11, Unknown, Empty, false),
        (200, Head, Http11, BodySize::None, Empty, false),
        (404, Head, Http11, Known(9), Length(9), false),
        (100, Get, Http11, Known(5), Empty, false),
        (101, Get, Http11, Unknown, Empty, false),
        (204, Get, Http11, Known(5), Empty, false),
        (304, Get, Http11, Known(5), Empty, false),
        (205, Get, Http11, Known(5), Length(0), false),
        (200, Connect, Http11, Unknown, Empty, false),
        (407, Connect, Http11, Known(3), Length(3), true),
    ];
    for &(code, method, version, body, framing, write_body) in cases {
        let got = response_framing(status(code), method, version, body);
        let want = FramingDecision {
            framing,
            write_body,
        };
        assert_eq!(got, want, "{code} {method:?} {version:?} {body:?}");
    }
}

fn parse(bytes: &[u8]) -> (u16, Vec<Field>) {
    let mut storage = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut storage);
    let status = response.parse(bytes).expect("head parses");
    assert_eq!(status, httparse::Status::Complete(bytes.len()));
    assert_eq!(response.version, Some(1));
    let owned = |h: &httparse::Header<'_>| {
        (
            h.name.to_owned(),
            String::from_utf8_lossy(h.value).into_owned(),
        )
    };
    (
        response.code.expect("code"),
        response.headers.iter().map(owned).collect(),
    )
}

/// Every combination of inputs, through the decision and the encoder, parsed back by httparse.
#[test]
fn encoded_heads_keep_the_framing_rules() {
    #[rustfmt::skip]
    let app_sets: [&AppFields; 8] = [
        &[], &[(CONTENT_LENGTH, "99")], &[(TRANSFER_ENCODING, "chunked")],
        &[(CONTENT_LENGTH, "99"), (TRANSFER_ENCODING, "gzip, chunked")],
        &[(DATE, APP_DATE)], &[(CONNECTION, "close")], &[(CONNECTION, "keep-alive")],
        &[(SET_COOKIE, "a=1"), (SET_COOKIE, "b=2"), (CONTENT_TYPE, "text/plain")],
    ];
    #[rustfmt::skip]
    let statuses = [100, 101, 103, 200, 201, 204, 205, 206, 301, 304, 404, 418, 500, 599];
    let methods = [Method::Get, Method::Head, Method::Post, Method::Connect];
    #[rustfmt::skip]
    let bodies = [BodySize::None, BodySize::Known(0), BodySize::Known(42), BodySize::Unknown];
    let versions = [Http10, Http11];
    for (code, method) in statuses.into_iter().flat_map(|c| methods.map(|m| (c, m))) {
        for (version, body) in versions.into_iter().flat_map(|v| bodies.map(|b| (v, b))) {
            for (app, close) in app_sets.into_iter().flat_map(|a| [(a, false), (a, true)]) {
                check_case(code, method, version, body, app, close);
            }
        }
    }
}

fn check_case(
    code: u16,
    method: Method,
    version: Version,
    body: BodySize,
    app: &AppFields,
    close: bool,
) {
    let ctx = format!("{code} {method:?} {version:?} {body:?} {app:?} close={close}");
    let decision = response_framing(status(code), method, version, body);
    let (bytes, closes) = head(code, app, decision.framing, version, close);
    let (parsed_code, fields) = parse(&bytes);
    assert_eq!(parsed_code, code, "{ctx}");
    let count = |name: &str| fields.iter().filter(|(n, _)| n == name).count();
    let says = |token: &str| {
        let mut connection = fields.iter().filter(|(n, _)| n == "connection");
        connection.any(|(_, v)| has_token(v.as_bytes(), token.as_bytes()))
    };

    let framing_fields = count("content-length") + count("transfer-encoding");
    assert!(framing_fields <= 1, "{ctx}: CL and TE, or twice");
    let no_content =
        code < 200 || code == 204 || code == 304 || (method == Method::Connect && code < 300);
    if no_content {
        assert_eq!((framing_fields, decision.write_body), (0, false), "{ctx}");
    }
    if version == Http10 {
        assert_eq!(count("transfer-encoding"), 0, "{ctx}: chunked to HTTP/1.0");
    }
    if method == Method::Head {
        assert!(!decision.write_body, "{ctx}: body on HEAD");
        if let (BodySize::Known(n), false, false) = (body, no_content, code == 205) {
            let length = ("content-length".into(), n.to_string());
            assert!(fields.contains(&length), "{ctx}: HEAD without its length");
        }
    }
    // A connection kept open must leave no doubt where the body ends (RFC 9112 §6.3).
    if decision.write_body && framing_fields == 0 {
        assert!(closes, "{ctx}: close-delimited body kept open");
    }
    assert_eq!(count("date"), 1, "{ctx}");
    assert!(closes >= close, "{ctx}");
    if code >= 200 {
        assert_eq!(says("close"), closes, "{ctx}");
        let closing = |(n, v): &&Field| n == "connection" && v.contains("close");
        assert!(
            fields.iter().filter(closing).count() <= 1,
            "{ctx}: close twice"
        );
        let announced = version == Http11 || closes || says("keep-alive");
        assert!(announced, "{ctx}: 1.0 keep-alive not announced");
    }
    let kept = app.iter().filter(|(name, _)| !is_framing_field(name));
    let kept: Vec<Field> = kept.map(|(n, v)| (n.to_string(), v.to_string())).collect();
    assert_eq!(
        fields[..kept.len()],
        kept[..],
        "{ctx}: app fields out of order"
    );
}

#[test]
fn chunks() {
    let cases: &[(&[u8], &[u8])] = &[(b"", b""), (b"hello", b"5\r\nhello\r\n")];
    for &(data, expected) in cases {
        let mut dst = Vec::new();
        encode_chunk(&mut dst, data);
        assert_eq!(dst, expected);
    }
    #[rustfmt::skip]
    let cases: &[(usize, &[u8])] = &[
        (0, b""), (1, b"1\r\n"), (15, b"f\r\n"), (16, b"10\r\n"), (0x1234, b"1234\r\n"),
        (0xabcdef, b"abcdef\r\n"), (usize::MAX, b"ffffffffffffffff\r\n"),
    ];
    for &(len, expected) in cases {
        let mut dst = Vec::new();
        encode_chunk_header(&mut dst, len);
        assert_eq!(dst, expected, "{len:#x}");
    }
}

#[test]
fn last_chunk_and_trailers() {
    let checksum = HeaderName::from_static("x-checksum");
    let mut trailers = HeaderMap::new();
    trailers.append(checksum.clone(), HeaderValue::from_static("abc"));
    trailers.append(CONTENT_LENGTH, HeaderValue::from_static("5"));
    trailers.append(checksum, HeaderValue::from_static("def"));
    let empty = HeaderMap::new();
    let with_trailers: &[u8] = b"0\r\nx-checksum: abc\r\nx-checksum: def\r\n\r\n";
    let cases = [
        (None, LAST_CHUNK),
        (Some(&empty), LAST_CHUNK),
        (Some(&trailers), with_trailers),
    ];
    for (trailers, expected) in cases {
        let mut dst = Vec::new();
        encode_last_chunk(&mut dst, trailers);
        assert_eq!(dst, expected);
    }
}

#[test]
fn continue_line() {
    let mut dst = b"prefix".to_vec();
    encode_continue(&mut dst);
    assert_eq!(dst, b"prefixHTTP/1.1 100 Continue\r\n\r\n");
    assert_eq!(parse(&dst[6..]), (100, Vec::new()));
}
