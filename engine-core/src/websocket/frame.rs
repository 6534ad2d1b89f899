//! The base framing protocol (RFC 6455 §5.2), sans-I/O: a frame head parsed from the start of a
//! buffer, a frame head encoded into one, and masking (§5.3).
//!
//! [`parse_frame_head`] is a pure function in the style of [`crate::http`]: bytes in, and out comes
//! `Complete(FrameHead)`, `Partial`, or a [`ProtocolError`] as soon as the bytes show one (a
//! reserved opcode after one byte, a missing mask after two). It does not read the payload: the
//! caller waits until `head_len + payload_len` bytes are there (the [`Decoder`](super::Decoder)
//! does). Messages, fragments and extensions are the decoder's.
//!
//! ```
//! use engine_core::http::Parsed;
//! use engine_core::websocket::frame::{FrameRules, Opcode, apply_mask, parse_frame_head};
//!
//! // RFC 6455 §5.7: a masked "Hello" from a client.
//! let mut frame = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
//! let Ok(Parsed::Complete(head)) = parse_frame_head(&frame, &FrameRules::default()) else {
//!     panic!("a whole head");
//! };
//! assert_eq!((head.opcode, head.fin, head.payload_len), (Opcode::Text, true, 5));
//! let payload = &mut frame[head.head_len..];
//! apply_mask(payload, head.mask.unwrap());
//! assert_eq!(payload, b"Hello");
//! ```

use super::ProtocolError;
use crate::http::Parsed;

/// The largest frame head: 2 bytes, a 64-bit length, a mask.
pub const MAX_HEAD_LEN: usize = 14;

/// The largest control frame payload (§5.5: "All control frames MUST have a payload length of 125
/// bytes or less").
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// A frame's opcode (§5.2, §11.8); the reserved ones are a [`ProtocolError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opcode {
    /// 0x0: the next fragment of a message.
    Continuation,
    /// 0x1: a text message (UTF-8).
    Text,
    /// 0x2: a binary message.
    Binary,
    /// 0x8: the close handshake.
    Close,
    /// 0x9: a ping.
    Ping,
    /// 0xA: a pong.
    Pong,
}

impl Opcode {
    /// The opcode `bits` (the low nibble of a frame's first byte) stands for.
    pub fn from_bits(bits: u8) -> Result<Self, ProtocolError> {
        Ok(match bits {
            0x0 => Self::Continuation,
            0x1 => Self::Text,
            0x2 => Self::Binary,
            0x8 => Self::Close,
            0x9 => Self::Ping,
            0xA => Self::Pong,
            other => return Err(ProtocolError::ReservedOpcode(other)),
        })
    }

    /// The opcode's four bits.
    pub fn bits(self) -> u8 {
        match self {
            Self::Continuation => 0x0,
            Self::Text => 0x1,
            Self::Binary => 0x2,
            Self::Close => 0x8,
            Self::Ping => 0x9,
            Self::Pong => 0xA,
        }
    }

    /// Close, Ping and Pong (§5.5: opcodes with the high bit set).
    pub fn is_control(self) -> bool {
        self.bits() & 0x8 != 0
    }
}

/// A parsed frame head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHead {
    /// FIN: the message's last fragment.
    pub fin: bool,
    /// RSV1: "Per-Message Compressed" under permessage-deflate (RFC 7692 §6); only ever set when
    /// [`FrameRules::rsv1`] allows it.
    pub rsv1: bool,
    /// The opcode.
    pub opcode: Opcode,
    /// The masking key, if the frame is masked.
    pub mask: Option<[u8; 4]>,
    /// The payload's length.
    pub payload_len: u64,
    /// The head's length: where the payload starts (2 to 14).
    pub head_len: usize,
}

/// What a frame head must satisfy on this connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameRules {
    /// Frames must be masked: they come from a client (§5.1). Default `true`.
    pub masked: bool,
    /// An extension (permessage-deflate) gave RSV1 a meaning on the first frame of a data
    /// message. Default `false`.
    pub rsv1: bool,
    /// The largest payload accepted; a longer frame is [`ProtocolError::FrameTooLarge`] as soon
    /// as its length is read. Default 16 MiB.
    pub max_payload: u64,
}

impl Default for FrameRules {
    fn default() -> Self {
        Self {
            masked: true,
            rsv1: false,
            max_payload: 16 << 20,
        }
    }
}

/// Parses the frame head at the start of `buf` (§5.2):
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-------+-+-------------+-------------------------------+
/// |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
/// |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
/// |N|V|V|V|       |S|             |   (if payload len==126/127)   |
/// | |1|2|3|       |K|             |                               |
/// +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
/// |     Extended payload length continued, if payload len == 127  |
/// + - - - - - - - - - - - - - - - +-------------------------------+
/// |                               |Masking-key, if MASK set to 1  |
/// +-------------------------------+-------------------------------+
/// ```
pub fn parse_frame_head(
    buf: &[u8],
    rules: &FrameRules,
) -> Result<Parsed<FrameHead>, ProtocolError> {
    let Some(&first) = buf.first() else {
        return Ok(Parsed::Partial);
    };
    let fin = first & 0x80 != 0;
    let rsv1 = first & 0x40 != 0;
    let opcode = Opcode::from_bits(first & 0x0F)?;
    // "MUST be 0 unless an extension is negotiated that defines meanings for non-zero values";
    // permessage-deflate's RSV1 only on a data message's first frame (RFC 7692 §6.1).
    let rsv1_allowed = rules.rsv1 && matches!(opcode, Opcode::Text | Opcode::Binary);
    if first & 0x30 != 0 || (rsv1 && !rsv1_allowed) {
        return Err(ProtocolError::ReservedBits);
    }
    if opcode.is_control() && !fin {
        return Err(ProtocolError::FragmentedControl);
    }
    let Some(&second) = buf.get(1) else {
        return Ok(Parsed::Partial);
    };
    let masked = second & 0x80 != 0;
    if rules.masked && !masked {
        return Err(ProtocolError::UnmaskedFrame);
    }
    let short = second & 0x7F;
    if opcode.is_control() && usize::from(short) > MAX_CONTROL_PAYLOAD {
        return Err(ProtocolError::ControlTooLong);
    }
    let (payload_len, mut at) = match short {
        126 => match buf.get(2..4) {
            Some(b) => (u64::from(u16::from_be_bytes([b[0], b[1]])), 4),
            None => return Ok(Parsed::Partial),
        },
        127 => match buf.get(2..10).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
            Some(b) => (u64::from_be_bytes(b), 10),
            None => return Ok(Parsed::Partial),
        },
        len => (u64::from(len), 2),
    };
    // "the most significant bit MUST be 0".
    if payload_len >> 63 != 0 {
        return Err(ProtocolError::LengthOverflow);
    }
    if payload_len > rules.max_payload {
        return Err(ProtocolError::FrameTooLarge {
            max: rules.max_payload,
        });
    }
    let mask = if masked {
        let Some(key) = buf
            .get(at..at + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
        else {
            return Ok(Parsed::Partial);
        };
        at += 4;
        Some(key)
    } else {
        None
    };
    Ok(Parsed::Complete(FrameHead {
        fin,
        rsv1,
        opcode,
        mask,
        payload_len,
        head_len: at,
    }))
}

/// Appends a frame head to `out`, with the shortest length encoding (§5.2: "the minimal number of
/// bytes MUST be used").
pub fn encode_frame_head(
    out: &mut Vec<u8>,
    fin: bool,
    rsv1: bool,
    opcode: Opcode,
    payload_len: usize,
    mask: Option<[u8; 4]>,
) {
    out.push(u8::from(fin) << 7 | u8::from(rsv1) << 6 | opcode.bits());
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    if let Ok(short @ 0..=125) = u8::try_from(payload_len) {
        out.push(mask_bit | short);
    } else if let Ok(mid) = u16::try_from(payload_len) {
        out.push(mask_bit | 126);
        out.extend_from_slice(&mid.to_be_bytes());
    } else {
        out.push(mask_bit | 127);
        out.extend_from_slice(&(payload_len as u64).to_be_bytes());
    }
    if let Some(key) = mask {
        out.extend_from_slice(&key);
    }
}

/// Masks or unmasks `data` in place with `key` (§5.3: octet i XOR key octet i mod 4), eight bytes
/// a step.
pub fn apply_mask(data: &mut [u8], key: [u8; 4]) {
    let wide = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut chunks = data.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(word) ^ wide).to_ne_bytes());
    }
    // The tail starts at a multiple of 8, so of 4: the key starts over.
    for (byte, k) in chunks.into_remainder().iter_mut().zip(key.iter().cycle()) {
        *byte ^= k;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(buf: &[u8]) -> Result<Parsed<FrameHead>, ProtocolError> {
        parse_frame_head(buf, &FrameRules::default())
    }

    fn head(buf: &[u8]) -> FrameHead {
        match parse(buf) {
            Ok(Parsed::Complete(head)) => head,
            other => panic!("{buf:?}: {other:?}"),
        }
    }

    #[test]
    fn rfc_examples_parse() {
        // §5.7: a masked "Hello", a 256-byte and a 64 KiB unmasked binary frame's heads.
        let hello = head(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f]);
        assert_eq!(hello.mask, Some([0x37, 0xfa, 0x21, 0x3d]));
        assert_eq!((hello.payload_len, hello.head_len), (5, 6));
        let server = FrameRules {
            masked: false,
            ..FrameRules::default()
        };
        let Ok(Parsed::Complete(mid)) = parse_frame_head(&[0x82, 0x7E, 0x01, 0x00], &server) else {
            panic!()
        };
        assert_eq!(
            (mid.opcode, mid.payload_len, mid.head_len),
            (Opcode::Binary, 256, 4)
        );
        let long = [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0];
        let Ok(Parsed::Complete(big)) = parse_frame_head(&long, &server) else {
            panic!()
        };
        assert_eq!((big.payload_len, big.head_len), (65536, 10));
    }

    #[test]
    fn bad_heads_fail_as_soon_as_they_show() {
        use ProtocolError::*;
        let table: [(&[u8], ProtocolError); 9] = [
            (&[0x83], ReservedOpcode(3)),
            (&[0x8B], ReservedOpcode(0xB)),
            (&[0xC1], ReservedBits),
            (&[0xA1], ReservedBits),
            (&[0x91], ReservedBits),
            (&[0x09], FragmentedControl),
            (&[0x81, 0x05], UnmaskedFrame),
            (&[0x89, 0xFE], ControlTooLong),
            (&[0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0], LengthOverflow),
        ];
        for (bytes, error) in table {
            assert_eq!(parse(bytes), Err(error), "{bytes:?}");
        }
        let too_big = [0x82, 0xFF, 0, 0, 0, 0, 0x01, 0, 0, 1];
        assert_eq!(
            parse(&too_big),
            Err(FrameTooLarge { max: 16 << 20 }),
            "past the limit before the mask arrives"
        );
        // RSV1 is allowed on data frames only once an extension gives it a meaning.
        let deflate = FrameRules {
            rsv1: true,
            ..FrameRules::default()
        };
        assert!(parse_frame_head(&[0xC1, 0x80, 1, 2, 3, 4], &deflate).is_ok());
        for first in [0xC0, 0xC9] {
            assert_eq!(parse_frame_head(&[first], &deflate), Err(ReservedBits));
        }
    }

    #[test]
    fn every_prefix_is_partial() {
        let mut frame = Vec::new();
        encode_frame_head(
            &mut frame,
            true,
            false,
            Opcode::Binary,
            70_000,
            Some([9, 8, 7, 6]),
        );
        assert_eq!(head(&frame).head_len, frame.len());
        for end in 0..frame.len() {
            assert_eq!(parse(&frame[..end]), Ok(Parsed::Partial), "prefix {end}");
        }
    }

    #[test]
    fn masking_twice_is_the_identity_and_matches_the_rfc() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let mut hello = *b"Hello";
        apply_mask(&mut hello, key);
        assert_eq!(hello, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
        let original: Vec<u8> = (0..=255).collect();
        let mut data = original.clone();
        apply_mask(&mut data, key);
        for (i, (&masked, &plain)) in data.iter().zip(&original).enumerate() {
            assert_eq!(masked, plain ^ key[i % 4]);
        }
        apply_mask(&mut data, key);
        assert_eq!(data, original);
    }

    proptest! {
        #[test]
        fn encoded_heads_parse_back(
            fin: bool, rsv1: bool, len in 0usize..200_000, mask: Option<[u8; 4]>,
            op in prop::sample::select(vec![Opcode::Continuation, Opcode::Text, Opcode::Binary]),
        ) {
            let mut out = Vec::new();
            encode_frame_head(&mut out, fin, rsv1, op, len, mask);
            let rules = FrameRules { masked: mask.is_some(), rsv1: true, max_payload: u64::MAX >> 1 };
            let parsed = parse_frame_head(&out, &rules);
            if rsv1 && op == Opcode::Continuation {
                prop_assert_eq!(parsed, Err(ProtocolError::ReservedBits));
            } else {
                let expected = FrameHead {
                    fin, rsv1, opcode: op, mask, payload_len: len as u64, head_len: out.len(),
                };
                prop_assert_eq!(parsed, Ok(Parsed::Complete(expected)));
            }
        }

        #[test]
        fn any_bytes_parse_without_panic_and_within_the_buffer(bytes in prop::collection::vec(any::<u8>(), 0..16)) {
            if let Ok(Parsed::Complete(head)) = parse(&bytes) {
                prop_assert!(head.head_len <= bytes.len() && head.head_len <= MAX_HEAD_LEN);
                prop_assert!(head.payload_len <= FrameRules::default().max_payload);
            }
        }
    }
}
