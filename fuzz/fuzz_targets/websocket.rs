//! The WebSocket wire layer on arbitrary bytes: the frame head parser (no panic, the head inside
//! the buffer, a prefix's answer "partial" or the whole buffer's), and the decoder with and without
//! permessage-deflate and in raw mode (no panic, messages within the limits, and the same messages
//! and error whether the bytes come in one piece or two).
#![no_main]

use bytes::BytesMut;
use engine_core::http::Parsed;
use engine_core::websocket::frame::{FrameRules, MAX_HEAD_LEN, parse_frame_head};
use engine_core::websocket::{Decoder, DecoderConfig, Message, ProtocolError};
use libfuzzer_sys::fuzz_target;

/// Small limits, so the fuzzer reaches them.
const MAX_MESSAGE: usize = 4096;

fn decode(config: &DecoderConfig, pieces: &[&[u8]]) -> (Vec<Message>, Option<ProtocolError>) {
    let mut decoder = Decoder::new(config);
    let mut buf = BytesMut::new();
    let mut messages = Vec::new();
    for piece in pieces {
        buf.extend_from_slice(piece);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Parsed::Complete(message)) => {
                    assert!(message.len() <= MAX_MESSAGE);
                    messages.push(message);
                }
                Ok(Parsed::Partial) => {
                    assert!(decoder.wants() == 0 || decoder.wants() > buf.len());
                    break;
                }
                Err(error) => return (messages, Some(error)),
            }
        }
    }
    (messages, None)
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, data)) = data.split_first() else { return };
    let rules = FrameRules { rsv1: mode & 1 != 0, max_payload: 1024, ..FrameRules::default() };
    let full = parse_frame_head(data, &rules);
    if let Ok(Parsed::Complete(head)) = &full {
        assert!(head.head_len <= data.len() && head.head_len <= MAX_HEAD_LEN);
    }
    let cut = usize::from(mode >> 2) % (data.len() + 1);
    let prefix = parse_frame_head(&data[..cut], &rules);
    assert!(prefix == Ok(Parsed::Partial) || prefix == full, "prefix {cut}: {prefix:?} vs {full:?}");

    let config = DecoderConfig {
        max_frame_size: 1024,
        max_message_size: MAX_MESSAGE,
        permessage_deflate: mode & 1 != 0,
        client_no_context_takeover: mode & 2 != 0,
        raw: mode & 3 == 2,
    };
    let whole = decode(&config, &[data]);
    let split = decode(&config, &[&data[..cut], &data[cut..]]);
    assert_eq!(whole, split);
});
