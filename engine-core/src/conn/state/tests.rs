//! The connection state machine without I/O: heads, bodies, keep-alive and drain decisions.

use super::*;
use crate::http::response::BodySize;

fn conn() -> Conn {
    Conn::new(Arc::new(ConnConfig::default()))
}

fn start(conn: &mut Conn, bytes: &[u8]) -> (RequestStart, BytesMut) {
    let mut buf = BytesMut::from(bytes);
    let start = conn
        .parse_head(&mut buf, &mut Vec::new(), &mut Vec::new())
        .expect("valid")
        .expect("complete");
    (start, buf)
}

#[test]
fn the_head_is_copied_out_and_the_body_stays() {
    let mut conn = conn();
    let request = b"POST /a?b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET";
    let mut buf = BytesMut::from(&request[..]);
    let (mut fields, mut head) = (Vec::new(), b"stale".to_vec());
    let start = conn
        .parse_head(&mut buf, &mut fields, &mut head)
        .expect("valid")
        .expect("complete");
    assert_eq!(head, &request[..request.len() - 6]);
    assert_eq!(start.parsed.len, head.len());
    assert_eq!(start.parsed.target.of(&head), b"/a?b");
    assert_eq!(fields.len(), 2);
    assert_eq!(fields[1].value.of(&head), b"3");
    assert_eq!(&buf[..], b"abcGET");
    assert_eq!(body(&mut conn, &mut buf).unwrap(), b"abc");
    assert_eq!(&buf[..], b"GET");
}

fn body(conn: &mut Conn, buf: &mut BytesMut) -> Result<Vec<u8>, BodyError> {
    let mut out = Vec::new();
    loop {
        match conn.read_body(buf)? {
            BodyEvent::Data(data) => out.extend_from_slice(&data),
            BodyEvent::End => return Ok(out),
            BodyEvent::NeedMore => return Ok(out),
        }
    }
}

#[test]
fn keep_alive_follows_rfc_9112_section_9_3() {
    let cases: &[(&[u8], After)] = &[
        (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", After::KeepAlive),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
            After::Close,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Close\r\n\r\n",
            After::Close,
        ),
        (b"GET / HTTP/1.0\r\n\r\n", After::Close),
        (
            b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
            After::KeepAlive,
        ),
    ];
    for (request, expected) in cases {
        let mut conn = conn();
        start(&mut conn, request);
        assert_eq!(
            conn.after_response(),
            *expected,
            "{:?}",
            String::from_utf8_lossy(request)
        );
    }
}

#[test]
fn a_content_length_body_comes_out_as_slices_of_the_buffer() {
    let mut conn = conn();
    let (started, mut buf) = start(
        &mut conn,
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET",
    );
    assert!(started.has_body);
    assert_eq!(
        conn.read_body(&mut buf),
        Ok(BodyEvent::Data(Bytes::from_static(b"hello")))
    );
    assert_eq!(conn.read_body(&mut buf), Ok(BodyEvent::End));
    assert_eq!(&buf[..], b"GET", "the next request's bytes stay");
    assert_eq!(conn.after_response(), After::KeepAlive);
}

#[test]
fn a_chunked_body_is_decoded_and_the_next_request_kept() {
    let mut conn = conn();
    let (_, mut buf) = start(&mut conn, b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nNEXT");
    assert_eq!(body(&mut conn, &mut buf).unwrap(), b"abc");
    assert_eq!(&buf[..], b"NEXT");
}

#[test]
fn unread_bodies_are_drained_or_the_connection_closed() {
    let mut small = conn();
    start(
        &mut small,
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n",
    );
    assert_eq!(small.after_response(), After::Drain);
    let mut large = conn();
    start(
        &mut large,
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\n",
    );
    assert_eq!(large.after_response(), After::Close);
}

#[test]
fn body_limits_give_413() {
    let config = ConnConfig {
        max_body_size: 4,
        ..ConnConfig::default()
    };
    let mut conn = Conn::new(Arc::new(config.clone()));
    let mut buf =
        BytesMut::from(&b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"[..]);
    assert_eq!(
        conn.parse_head(&mut buf, &mut Vec::new(), &mut Vec::new())
            .unwrap_err(),
        Rejection::PayloadTooLarge
    );
    assert_eq!(
        Rejection::PayloadTooLarge.status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );

    let mut conn = Conn::new(Arc::new(config));
    let (_, mut buf) = start(
        &mut conn,
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    );
    assert_eq!(body(&mut conn, &mut buf), Err(BodyError::TooLarge));
    assert_eq!(conn.after_response(), After::Close);
}

#[test]
fn expect_continue_is_wanted_only_for_http11_with_a_body() {
    let cases: &[(&[u8], bool)] = &[
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
            true,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n",
            true,
        ),
        (
            b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
            false,
        ),
        (
            b"GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n",
            false,
        ),
    ];
    for (request, expected) in cases {
        let mut conn = conn();
        start(&mut conn, request);
        assert_eq!(
            conn.wants_continue(),
            *expected,
            "{:?}",
            String::from_utf8_lossy(request)
        );
    }
    let mut conn = conn();
    let mut buf = BytesMut::from(
        &b"POST / HTTP/1.1\r\nHost: a\r\nExpect: nope\r\nContent-Length: 1\r\n\r\n"[..],
    );
    assert_eq!(
        conn.parse_head(&mut buf, &mut Vec::new(), &mut Vec::new())
            .unwrap_err(),
        Rejection::ExpectationFailed
    );
}

#[test]
fn a_final_response_ends_the_expectation() {
    let mut conn = conn();
    start(
        &mut conn,
        b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
    );
    let mut out = Vec::new();
    conn.encode_head(
        &mut out,
        StatusCode::UNAUTHORIZED,
        None,
        &HeaderMap::new(),
        BodySize::None,
    );
    assert!(!conn.wants_continue());
    conn.encode_continue(&mut out);
    assert!(!String::from_utf8_lossy(&out).contains("100 Continue"));
}

#[test]
fn upgrade_needs_both_the_connection_token_and_the_field() {
    let mut conn = conn();
    let (started, _) = start(
        &mut conn,
        b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    );
    assert!(started.wants_upgrade);
    let (started, _) = start(
        &mut conn,
        b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n",
    );
    assert!(!started.wants_upgrade);
}

/// A head arriving byte by byte is parsed only when it can have completed (or doubled), so the work
/// is linear in its length, not quadratic.
#[test]
fn a_trickling_head_is_not_reparsed_for_every_byte() {
    let request = format!(
        "GET / HTTP/1.1\r\nHost: a\r\nX-Long: {}\r\n\r\n",
        "v".repeat(20_000)
    );
    let mut conn = conn();
    let mut buf = BytesMut::new();
    let mut fields = Vec::new();
    let mut parses = 0;
    for (i, &byte) in request.as_bytes().iter().enumerate() {
        buf.extend_from_slice(&[byte]);
        let before = conn.scanned;
        let result = conn
            .parse_head(&mut buf, &mut fields, &mut Vec::new())
            .unwrap();
        if conn.scanned != before || result.is_some() {
            parses += 1;
        }
        assert_eq!(result.is_some(), i == request.len() - 1);
    }
    assert!(parses < 40, "{parses} parses for {} bytes", request.len());
}
