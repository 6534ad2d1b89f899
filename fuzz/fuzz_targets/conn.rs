//! The connection state machine on arbitrary bytes, fed in two pieces: heads, bodies, drains and
//! keep-alive decisions one after the other, as the driver runs them. No panic, and every request
//! the machine takes off the buffer consumes bytes (it cannot loop forever on the same input).
#![no_main]

use bytes::BytesMut;
use engine_core::conn::{After, BodyEvent, Conn, ConnConfig};
use engine_core::http::Limits;
use libfuzzer_sys::fuzz_target;
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_request_line: 256, max_header_bytes: 512, max_headers: 16, ..Limits::default() };
    let config = ConnConfig { limits, max_body_size: 1024, max_drain: 512, ..ConnConfig::default() };
    let mut conn = Conn::new(Arc::new(config));
    let cut = data.first().map_or(0, |&b| usize::from(b) % (data.len() + 1));
    let mut buf = BytesMut::from(&data[..cut]);
    let mut rest = &data[cut..];
    let mut fields = Vec::new();
    let mut head = Vec::new();
    for _ in 0..64 {
        let before = buf.len() + rest.len();
        match conn.parse_head(&mut buf, &mut fields, &mut head) {
            Err(_) => return,
            Ok(None) if rest.is_empty() => return,
            Ok(None) => {
                buf.extend_from_slice(rest);
                rest = &[];
                continue;
            }
            Ok(Some(start)) => assert!(!head.is_empty() && head.len() == start.parsed.len),
        }
        loop {
            match conn.read_body(&mut buf) {
                Ok(BodyEvent::Data(data)) => assert!(!data.is_empty()),
                Ok(BodyEvent::End) => break,
                Ok(BodyEvent::NeedMore) if rest.is_empty() => return,
                Ok(BodyEvent::NeedMore) => {
                    buf.extend_from_slice(rest);
                    rest = &[];
                }
                Err(_) => return,
            }
        }
        if conn.after_response() == After::Close {
            return;
        }
        assert!(buf.len() + rest.len() < before, "a request consumed nothing");
    }
});
