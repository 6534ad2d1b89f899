//! From the server's messages to frames (RFC 6455 §5.2, §5.6; server frames are not masked,
//! §5.1), compressed under permessage-deflate (RFC 7692 §7.2.1). Each message is one frame.

use super::Message;
use super::deflate::{Deflater, Negotiated};
use super::frame::{Opcode, encode_frame_head};
use bytes::Bytes;
use tungstenite::protocol::frame::coding::OpCode;

/// Payloads from this size on are written from where they are (a vectored write after the frame
/// head), not copied into the write buffer.
pub(super) const COPY_MAX: usize = 4096;

pub(super) struct Encoder {
    deflater: Option<Deflater>,
    /// Compressed output, before its length (in the head) is known.
    scratch: Vec<u8>,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("deflate", &self.deflater.is_some())
            .finish_non_exhaustive()
    }
}

impl Encoder {
    pub(super) fn new(deflate: Option<&Negotiated>) -> Self {
        Self {
            deflater: deflate.map(Deflater::new),
            scratch: Vec::new(),
        }
    }

    /// Appends `message` as a frame to `out`. A large payload is not copied: it comes back, to be
    /// written right after `out`.
    pub(super) fn encode(
        &mut self,
        message: Message,
        out: &mut Vec<u8>,
    ) -> Result<Option<Bytes>, flate2::CompressError> {
        let (fin, rsv1, opcode, payload) = match message {
            Message::Text(text) => return self.data(Opcode::Text, Bytes::from(text), out),
            Message::Binary(data) => return self.data(Opcode::Binary, data, out),
            Message::Ping(data) => (true, false, Opcode::Ping, data),
            Message::Pong(data) => (true, false, Opcode::Pong, data),
            Message::Close(frame) => {
                let payload = frame.map_or_else(Bytes::new, |frame| {
                    let mut payload = u16::from(frame.code).to_be_bytes().to_vec();
                    payload.extend_from_slice(frame.reason.as_bytes());
                    Bytes::from(payload)
                });
                (true, false, Opcode::Close, payload)
            }
            Message::Frame(frame) => {
                let header = frame.header();
                let opcode = opcode_of(header.opcode);
                (header.is_final, header.rsv1, opcode, frame.into_payload())
            }
        };
        Ok(plain(fin, rsv1, opcode, payload, out))
    }

    fn data(
        &mut self,
        opcode: Opcode,
        payload: Bytes,
        out: &mut Vec<u8>,
    ) -> Result<Option<Bytes>, flate2::CompressError> {
        let Some(deflater) = &mut self.deflater else {
            return Ok(plain(true, false, opcode, payload, out));
        };
        self.scratch.clear();
        deflater.compress(&payload, &mut self.scratch)?;
        encode_frame_head(out, true, true, opcode, self.scratch.len(), None);
        out.extend_from_slice(&self.scratch);
        Ok(None)
    }
}

fn plain(
    fin: bool,
    rsv1: bool,
    opcode: Opcode,
    payload: Bytes,
    out: &mut Vec<u8>,
) -> Option<Bytes> {
    encode_frame_head(out, fin, rsv1, opcode, payload.len(), None);
    if payload.len() >= COPY_MAX {
        return Some(payload);
    }
    out.extend_from_slice(&payload);
    None
}

/// tungstenite's opcode as ours; a reserved one (only a raw-mode handler can send it) goes out as
/// its bits would, which the peer will reject: the handler asked for it.
fn opcode_of(opcode: OpCode) -> Opcode {
    Opcode::from_bits(u8::from(opcode)).unwrap_or(Opcode::Binary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::websocket::deflate::negotiate;
    use crate::websocket::{CloseCode, CloseFrame, DeflateConfig};

    fn encoded(encoder: &mut Encoder, message: Message) -> Vec<u8> {
        let mut out = Vec::new();
        if let Some(rest) = encoder.encode(message, &mut out).unwrap() {
            out.extend_from_slice(&rest);
        }
        out
    }

    #[test]
    fn messages_become_unmasked_frames() {
        let mut encoder = Encoder::new(None);
        assert_eq!(
            encoded(&mut encoder, Message::text("Hello")),
            b"\x81\x05Hello"
        );
        let close = Message::Close(Some(CloseFrame {
            code: CloseCode::Away,
            reason: "bye".into(),
        }));
        assert_eq!(encoded(&mut encoder, close), b"\x88\x05\x03\xe9bye");
        let big = encoded(&mut encoder, Message::binary(vec![7u8; 70_000]));
        assert_eq!(big[..10], [0x82, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
        assert_eq!(big.len(), 70_010);
    }

    /// RFC 7692 §7.2.3.1-2: "Hello" twice with context takeover.
    #[test]
    fn compressed_messages_match_the_rfc() {
        let negotiated = negotiate(["permessage-deflate"], &DeflateConfig::default()).unwrap();
        let mut encoder = Encoder::new(Some(&negotiated));
        assert_eq!(
            encoded(&mut encoder, Message::text("Hello")),
            [0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]
        );
        assert_eq!(
            encoded(&mut encoder, Message::text("Hello")),
            [0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00]
        );
        // Control frames are never compressed (RFC 7692 §6.1).
        assert_eq!(
            encoded(&mut encoder, Message::Ping(Bytes::from_static(b"p"))),
            b"\x89\x01p"
        );
    }
}
