//! From a client's bytes to messages, sans-I/O: frames parsed and unmasked in the read buffer,
//! fragments joined (RFC 6455 §5.4), text checked as UTF-8 (§8.1), Close payloads checked (§5.5.1,
//! §7.4), compressed messages inflated (RFC 7692 §7.2.2), and the frame and message limits kept.
//!
//! A message that came in one frame is a slice of the read buffer: no copy, and no allocation
//! once the buffer has grown. Fragments are joined into a buffer of their own.
//!
//! ```
//! use bytes::BytesMut;
//! use engine_core::http::Parsed;
//! use engine_core::websocket::{Decoder, DecoderConfig, Message};
//!
//! let mut decoder = Decoder::new(&DecoderConfig::default());
//! // RFC 6455 §5.7: "Hel" and "lo" in two masked fragments, the second in two reads.
//! let mut buf = BytesMut::from(&[0x01, 0x83, 0, 0, 0, 0, b'H', b'e', b'l', 0x80, 0x82][..]);
//! assert_eq!(decoder.decode(&mut buf), Ok(Parsed::Partial));
//! buf.extend_from_slice(&[0, 0, 0, 0, b'l', b'o']);
//! assert_eq!(decoder.decode(&mut buf), Ok(Parsed::Complete(Message::text("Hello"))));
//! assert!(buf.is_empty());
//! ```

use super::deflate::Inflater;
use super::frame::{FrameHead, FrameRules, Opcode, apply_mask, parse_frame_head};
use super::{CloseCode, CloseFrame, Message, ProtocolError};
use crate::http::Parsed;
use bytes::{Buf, Bytes, BytesMut};
use tungstenite::protocol::frame::{Frame, FrameHeader, Utf8Bytes};

/// What a [`Decoder`] accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecoderConfig {
    /// The largest frame payload. Default 16 MiB.
    pub max_frame_size: usize,
    /// The largest message: its fragments together, decompressed. Default 64 MiB.
    pub max_message_size: usize,
    /// permessage-deflate was negotiated: RSV1 marks a compressed message. Default `false`.
    pub permessage_deflate: bool,
    /// The client starts each compressed message from an empty window. Default `false`.
    pub client_no_context_takeover: bool,
    /// Hand over every frame as [`Message::Frame`], fragments and control frames included, with
    /// no joining and no UTF-8 or Close payload checks. Default `false`.
    pub raw: bool,
}

impl Default for DecoderConfig {
    fn default() -> Self {
        Self {
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            permessage_deflate: false,
            client_no_context_takeover: false,
            raw: false,
        }
    }
}

/// Turns a client's bytes into messages.
#[derive(Debug)]
pub struct Decoder {
    rules: FrameRules,
    max_message: usize,
    raw: bool,
    inflater: Option<Inflater>,
    /// The message whose final fragment has not come yet.
    fragments: Option<Fragments>,
    /// How many bytes the frame at the start of the buffer takes, once its head is in.
    wants: usize,
    /// How many bytes the last whole frame took, head included.
    last_frame: usize,
}

#[derive(Debug)]
struct Fragments {
    opcode: Opcode,
    compressed: bool,
    data: Vec<u8>,
}

impl Decoder {
    /// A decoder for one connection.
    pub fn new(config: &DecoderConfig) -> Self {
        let deflate = config.permessage_deflate && !config.raw;
        Self {
            rules: FrameRules {
                masked: true,
                rsv1: deflate,
                max_payload: config.max_frame_size as u64,
            },
            max_message: config.max_message_size,
            raw: config.raw,
            inflater: deflate.then(|| Inflater::new(config.client_no_context_takeover)),
            fragments: None,
            wants: 0,
            last_frame: 0,
        }
    }

    /// The next message from the start of `buf`: the frames it takes are split off `buf`.
    /// `Partial` when `buf` holds no whole message yet (the frames before it are consumed); pings,
    /// pongs and Close frames come as messages of their own, between fragments too.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Parsed<Message>, ProtocolError> {
        loop {
            let head = match parse_frame_head(buf, &self.rules)? {
                Parsed::Complete(head) => head,
                Parsed::Partial => {
                    self.wants = 0;
                    return Ok(Parsed::Partial);
                }
            };
            // Within `max_frame_size`, a `usize`, so this only fails on a 32-bit target.
            let len =
                usize::try_from(head.payload_len).map_err(|_| ProtocolError::FrameTooLarge {
                    max: self.rules.max_payload,
                })?;
            let total = head.head_len + len;
            if buf.len() < total {
                self.wants = total;
                return Ok(Parsed::Partial);
            }
            self.last_frame = total;
            let mut payload = buf.split_to(total);
            payload.advance(head.head_len);
            if let Some(key) = head.mask {
                apply_mask(&mut payload, key);
            }
            if let Some(message) = self.frame(head, payload.freeze())? {
                self.wants = 0;
                return Ok(Parsed::Complete(message));
            }
        }
    }

    /// After `Partial`: how many bytes the buffer must hold for the frame at its start, if its
    /// head is in (0 otherwise), so that a reader can make room for it at once.
    pub fn wants(&self) -> usize {
        self.wants
    }

    /// How many bytes the last whole frame took, head included (0 before the first): what a
    /// reader can expect the next one to take.
    pub fn last_frame_len(&self) -> usize {
        self.last_frame
    }

    fn frame(&mut self, head: FrameHead, payload: Bytes) -> Result<Option<Message>, ProtocolError> {
        if self.raw {
            return Ok(Some(raw_frame(head, payload)));
        }
        match head.opcode {
            Opcode::Ping => Ok(Some(Message::Ping(payload))),
            Opcode::Pong => Ok(Some(Message::Pong(payload))),
            Opcode::Close => close_frame(payload).map(|frame| Some(Message::Close(frame))),
            Opcode::Text | Opcode::Binary => {
                if self.fragments.is_some() {
                    return Err(ProtocolError::ExpectedContinuation);
                }
                if head.fin && !head.rsv1 {
                    if payload.len() > self.max_message {
                        return Err(self.too_large());
                    }
                    return message(head.opcode, payload).map(Some);
                }
                let fragments = Fragments {
                    opcode: head.opcode,
                    compressed: head.rsv1,
                    data: Vec::new(),
                };
                self.fragment(fragments, head.fin, &payload)
            }
            Opcode::Continuation => {
                let fragments = self
                    .fragments
                    .take()
                    .ok_or(ProtocolError::UnexpectedContinuation)?;
                self.fragment(fragments, head.fin, &payload)
            }
        }
    }

    /// Adds a fragment's payload; the whole message once `fin`.
    fn fragment(
        &mut self,
        mut fragments: Fragments,
        fin: bool,
        payload: &[u8],
    ) -> Result<Option<Message>, ProtocolError> {
        let max = self.max_message;
        if fragments.compressed {
            let inflater = self.inflater.as_mut().ok_or(ProtocolError::ReservedBits)?;
            inflater.inflate(payload, &mut fragments.data, max)?;
            if fin {
                inflater.finish(&mut fragments.data, max)?;
            }
        } else {
            if fragments.data.len() + payload.len() > max {
                return Err(self.too_large());
            }
            fragments.data.extend_from_slice(payload);
        }
        if !fin {
            self.fragments = Some(fragments);
            return Ok(None);
        }
        message(fragments.opcode, Bytes::from(fragments.data)).map(Some)
    }

    fn too_large(&self) -> ProtocolError {
        ProtocolError::MessageTooLarge {
            max: self.max_message,
        }
    }
}

fn message(opcode: Opcode, payload: Bytes) -> Result<Message, ProtocolError> {
    if opcode == Opcode::Text {
        let text = Utf8Bytes::try_from(payload).map_err(|_| ProtocolError::InvalidUtf8)?;
        return Ok(Message::Text(text));
    }
    Ok(Message::Binary(payload))
}

/// A Close frame's payload (§5.5.1): nothing, or a code and a UTF-8 reason.
pub(super) fn close_frame(payload: Bytes) -> Result<Option<CloseFrame>, ProtocolError> {
    let code = match payload.get(..2) {
        None if payload.is_empty() => return Ok(None),
        None => return Err(ProtocolError::InvalidClosePayload),
        Some(code) => u16::from_be_bytes([code[0], code[1]]),
    };
    if !is_sendable_close_code(code) {
        return Err(ProtocolError::InvalidCloseCode(code));
    }
    let reason = Utf8Bytes::try_from(payload.slice(2..)).map_err(|_| ProtocolError::InvalidUtf8)?;
    Ok(Some(CloseFrame {
        code: CloseCode::from(code),
        reason,
    }))
}

/// Codes a peer may send (§7.4.1, §7.4.2, and IANA's registry: 1012-1014 assigned since):
/// 1000-1003, 1007-1014, and 3000-4999 for libraries and applications. 1004 is reserved; 1005,
/// 1006 and 1015 "MUST NOT be set as a status code in a Close control frame".
fn is_sendable_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

fn raw_frame(head: FrameHead, payload: Bytes) -> Message {
    let header = FrameHeader {
        is_final: head.fin,
        rsv1: head.rsv1,
        rsv2: false,
        rsv3: false,
        opcode: head.opcode.bits().into(),
        mask: None,
    };
    Message::Frame(Frame::from_payload(header, payload))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::websocket::frame::encode_frame_head;
    use proptest::prelude::*;

    const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

    /// A masked client frame: `first` (FIN, RSV and opcode bits) and `payload`.
    fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let opcode = Opcode::from_bits(first & 0x0F).unwrap();
        encode_frame_head(
            &mut out,
            first & 0x80 != 0,
            first & 0x40 != 0,
            opcode,
            payload.len(),
            Some(KEY),
        );
        let start = out.len();
        out.extend_from_slice(payload);
        apply_mask(&mut out[start..], KEY);
        out
    }

    fn decode_all(config: &DecoderConfig, bytes: &[u8]) -> Result<Vec<Message>, ProtocolError> {
        let mut decoder = Decoder::new(config);
        let mut buf = BytesMut::from(bytes);
        let mut messages = Vec::new();
        while let Parsed::Complete(message) = decoder.decode(&mut buf)? {
            messages.push(message);
        }
        Ok(messages)
    }

    fn decode(bytes: &[u8]) -> Result<Vec<Message>, ProtocolError> {
        decode_all(&DecoderConfig::default(), bytes)
    }

    #[test]
    fn fragments_join_around_control_frames() {
        let mut bytes = frame(0x01, b"Hel");
        bytes.extend(frame(0x89, b"p"));
        bytes.extend(frame(0x00, b"l"));
        bytes.extend(frame(0x80, b"o"));
        assert_eq!(
            decode(&bytes),
            Ok(vec![
                Message::Ping(Bytes::from_static(b"p")),
                Message::text("Hello")
            ])
        );
    }

    #[test]
    fn protocol_errors_are_found() {
        use ProtocolError::*;
        let close = |payload: &[u8]| frame(0x88, payload);
        let table: [(Vec<u8>, ProtocolError); 9] = [
            (frame(0x80, b"x"), UnexpectedContinuation),
            (
                [frame(0x01, b"a"), frame(0x81, b"b")].concat(),
                ExpectedContinuation,
            ),
            (frame(0x81, &[0xff, 0xfe]), InvalidUtf8),
            (
                [frame(0x01, &[0xe2, 0x82]), frame(0x80, &[0x28])].concat(),
                InvalidUtf8,
            ),
            (close(&[0x03]), InvalidClosePayload),
            (close(&1005u16.to_be_bytes()), InvalidCloseCode(1005)),
            (close(&999u16.to_be_bytes()), InvalidCloseCode(999)),
            (close(&[0x03, 0xe8, 0xff]), InvalidUtf8),
            (frame(0xC1, b"x"), ReservedBits),
        ];
        for (bytes, error) in table {
            assert_eq!(decode(&bytes), Err(error), "{bytes:x?}");
        }
    }

    #[test]
    fn close_frames_carry_code_and_reason() {
        let mut payload = 4000u16.to_be_bytes().to_vec();
        payload.extend(b"bye");
        let closes = decode(&[frame(0x88, &payload), frame(0x88, b"")].concat()).unwrap();
        let Message::Close(Some(first)) = &closes[0] else {
            panic!("{closes:?}")
        };
        assert_eq!(
            (u16::from(first.code), first.reason.as_str()),
            (4000, "bye")
        );
        assert_eq!(closes[1], Message::Close(None));
    }

    #[test]
    fn messages_over_the_limit_are_1009() {
        let config = DecoderConfig {
            max_frame_size: 10,
            max_message_size: 15,
            ..DecoderConfig::default()
        };
        let over = ProtocolError::MessageTooLarge { max: 15 };
        assert_eq!(
            decode_all(&config, &frame(0x82, &[0; 11])),
            Err(ProtocolError::FrameTooLarge { max: 10 })
        );
        let fragmented = [frame(0x02, &[0; 10]), frame(0x80, &[0; 6])].concat();
        assert_eq!(decode_all(&config, &fragmented), Err(over));
    }

    /// RFC 7692 §7.2.3.1 and §7.2.3.2: "Hello" compressed, whole and in two fragments.
    #[test]
    fn compressed_messages_inflate() {
        let config = DecoderConfig {
            permessage_deflate: true,
            ..DecoderConfig::default()
        };
        let whole = frame(0xC1, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
        let split = [
            frame(0x41, &[0xf2, 0x48, 0xcd]),
            frame(0x80, &[0xc9, 0xc9, 0x07, 0x00]),
        ]
        .concat();
        let again = frame(0xC1, &[0xf2, 0x00, 0x11, 0x00, 0x00]);
        assert_eq!(
            decode_all(&config, &[whole, split, again].concat()),
            Ok(vec![
                Message::text("Hello"),
                Message::text("Hello"),
                Message::text("Hello")
            ])
        );
        assert_eq!(
            decode(&frame(0xC1, b"x")),
            Err(ProtocolError::ReservedBits),
            "not negotiated"
        );
        let compressed_continuation = [frame(0x41, &[0xf2]), frame(0xC0, &[0x48])].concat();
        assert_eq!(
            decode_all(&config, &compressed_continuation),
            Err(ProtocolError::ReservedBits)
        );
    }

    #[test]
    fn raw_mode_hands_over_every_frame() {
        let config = DecoderConfig {
            raw: true,
            ..DecoderConfig::default()
        };
        let bytes = [frame(0x01, b"He"), frame(0x89, b""), frame(0x80, &[0xff])].concat();
        let frames = decode_all(&config, &bytes).unwrap();
        let summary: Vec<(bool, u8, Vec<u8>)> = frames
            .iter()
            .map(|m| match m {
                Message::Frame(f) => (
                    f.header().is_final,
                    u8::from(f.header().opcode),
                    f.payload().to_vec(),
                ),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            summary,
            [
                (false, 1, b"He".to_vec()),
                (true, 9, vec![]),
                (true, 0, vec![0xff])
            ]
        );
    }

    proptest! {
        /// However the bytes are cut, the same messages come out.
        #[test]
        fn messages_do_not_depend_on_how_bytes_arrive(
            payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 1..6),
            cut in any::<prop::sample::Index>(),
        ) {
            let bytes: Vec<u8> = payloads.iter().flat_map(|p| frame(0x82, p)).collect();
            let whole = decode(&bytes).unwrap();
            let cut = cut.index(bytes.len() + 1);
            let mut decoder = Decoder::new(&DecoderConfig::default());
            let mut buf = BytesMut::from(&bytes[..cut]);
            let mut split = Vec::new();
            while let Parsed::Complete(m) = decoder.decode(&mut buf).unwrap() { split.push(m); }
            prop_assert!(decoder.wants() == 0 || decoder.wants() > buf.len());
            buf.extend_from_slice(&bytes[cut..]);
            while let Parsed::Complete(m) = decoder.decode(&mut buf).unwrap() { split.push(m); }
            prop_assert_eq!(&split, &whole);
            let expected: Vec<Message> = payloads.into_iter().map(|p| Message::Binary(p.into())).collect();
            prop_assert_eq!(whole, expected);
        }

        #[test]
        fn any_bytes_decode_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..200), deflate: bool) {
            let config = DecoderConfig { permessage_deflate: deflate, max_message_size: 1000, ..DecoderConfig::default() };
            let _ = decode_all(&config, &bytes);
        }
    }
}
