//! permessage-deflate (RFC 7692): negotiation from the client's offers (§5, §7.1) and the
//! compressor and decompressor of a session (§7.2), raw DEFLATE through flate2 on zlib-rs.
//!
//! - The server accepts the first offer it can honour and declines the others (§5.1). An offer
//!   with an unknown, repeated or invalid parameter is declined (§7.1). `server_max_window_bits=8`
//!   is declined too: zlib's raw deflate has no 8-bit window, and the RFC lets a server decline
//!   what it cannot honour.
//! - Compression (§7.2.1): DEFLATE with a sync flush, the trailing `00 00 ff ff` removed, RSV1 set
//!   on the message's first frame; the compressor starts over per message under
//!   `server_no_context_takeover`.
//! - Decompression (§7.2.2): the payload with `00 00 ff ff` appended; the output is bounded by the
//!   session's `max_message_size` while it grows, so a small frame cannot inflate past it.

use super::ProtocolError;
use super::extensions::{Offer, parse_offers};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The name of the extension (RFC 7692 §6).
pub(super) const NAME: &str = "permessage-deflate";

/// The tail a sync flush ends with, removed by the sender and added back by the receiver.
const TAIL: [u8; 4] = [0x00, 0x00, 0xFF, 0xFF];

/// How the server negotiates and runs permessage-deflate (RFC 7692). Set
/// [`WebSocketsConfig::deflate`](super::WebSocketsConfig::deflate) to offer it; a client that does
/// not offer it gets uncompressed sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflateConfig {
    /// The compression level, 0 (none) to 9 (best). Default 6, zlib's default.
    pub level: u32,
    /// Start every outgoing message from an empty window (`server_no_context_takeover`, §7.1.1.1):
    /// less memory kept between messages, less compression. Default `false`; always on when the
    /// client asks for it.
    pub server_no_context_takeover: bool,
    /// Ask the client to start every message from an empty window (`client_no_context_takeover`,
    /// §7.1.1.2). Default `false`.
    pub client_no_context_takeover: bool,
    /// The server's LZ77 window, 9 to 15 bits (`server_max_window_bits`, §7.1.2.1); a client may
    /// ask for less. Default 15.
    pub server_max_window_bits: u8,
    /// The window asked of a client that offers `client_max_window_bits` (§7.1.2.2), 9 to 15
    /// bits. Default 15 (not asked).
    pub client_max_window_bits: u8,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        Self {
            level: 6,
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
        }
    }
}

impl DeflateConfig {
    /// Panics on a setting zlib cannot run; called at start-up.
    #[track_caller]
    pub(super) fn check(&self) {
        assert!(
            self.level <= 9,
            "WebSockets: deflate level {} is not 0-9",
            self.level
        );
        for bits in [self.server_max_window_bits, self.client_max_window_bits] {
            assert!(
                (9..=15).contains(&bits),
                "WebSockets: deflate window bits {bits} are not 9-15"
            );
        }
    }
}

/// An accepted offer: what the session runs with and the response's extension field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Negotiated {
    pub(super) server_no_context_takeover: bool,
    pub(super) client_no_context_takeover: bool,
    pub(super) server_window_bits: u8,
    pub(super) level: u32,
    /// The `Sec-WebSocket-Extensions` value of the `101`.
    pub(super) response: String,
}

/// The first permessage-deflate offer in `fields` (the request's `Sec-WebSocket-Extensions`
/// values, in order) that `config` can honour.
pub(super) fn negotiate<'a>(
    fields: impl IntoIterator<Item = &'a str>,
    config: &DeflateConfig,
) -> Option<Negotiated> {
    fields
        .into_iter()
        .filter_map(parse_offers)
        .flatten()
        .filter(|offer| offer.name.eq_ignore_ascii_case(NAME))
        .find_map(|offer| accept(&offer, config))
}

/// The answer to one offer, or `None` to decline it.
fn accept(offer: &Offer<'_>, config: &DeflateConfig) -> Option<Negotiated> {
    let mut server_no_context_takeover = config.server_no_context_takeover;
    let mut server_bits = None;
    let mut client_bits = None;
    let mut seen = [false; 4];
    for (name, value) in &offer.params {
        let index = match *name {
            "server_no_context_takeover" => 0,
            "client_no_context_takeover" => 1,
            "server_max_window_bits" => 2,
            "client_max_window_bits" => 3,
            _ => return None,
        };
        if std::mem::replace(&mut seen[index], true) {
            return None;
        }
        match (index, value.as_deref()) {
            (0, None) => server_no_context_takeover = true,
            // The client will not take over: nothing for the server to do, and may be echoed.
            (1, None) => {}
            // 8 is valid (§7.1.2.1) but not something zlib can honour: decline.
            (2, Some(bits)) => server_bits = Some(window_bits(bits).filter(|&b| b >= 9)?),
            (3, None) => client_bits = Some(15),
            (3, Some(bits)) => client_bits = Some(window_bits(bits)?),
            _ => return None,
        }
    }
    let server_window_bits = server_bits.unwrap_or(15).min(config.server_max_window_bits);
    let mut response = String::from(NAME);
    if server_no_context_takeover {
        response.push_str("; server_no_context_takeover");
    }
    if config.client_no_context_takeover {
        response.push_str("; client_no_context_takeover");
    }
    if server_bits.is_some() || server_window_bits < 15 {
        response.push_str(&format!("; server_max_window_bits={server_window_bits}"));
    }
    // Only if offered (§7.1.2.2: "MUST NOT include ... if the offer has no client_max_window_bits").
    if let Some(offered) = client_bits {
        let bits = offered.min(config.client_max_window_bits);
        if bits < 15 {
            response.push_str(&format!("; client_max_window_bits={bits}"));
        }
    }
    Some(Negotiated {
        server_no_context_takeover,
        client_no_context_takeover: config.client_no_context_takeover,
        server_window_bits,
        level: config.level,
        response,
    })
}

/// A window size value: "a decimal integer value without leading zeroes between 8 to 15
/// inclusive" (§7.1.2.1).
fn window_bits(value: &str) -> Option<u8> {
    if value.starts_with('0') || value.len() > 2 {
        return None;
    }
    value.parse().ok().filter(|bits| (8..=15).contains(bits))
}

/// The session's decompressor for the client's messages.
pub(super) struct Inflater {
    inner: Decompress,
    /// The client starts each message from an empty window: so can we.
    reset_each: bool,
    /// This message's stream ended with a final block (BFINAL): what follows in it is padding.
    ended: bool,
}

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflater").finish_non_exhaustive()
    }
}

impl Inflater {
    /// A decompressor with the largest window, which reads any smaller one too.
    pub(super) fn new(client_no_context_takeover: bool) -> Self {
        Self {
            inner: Decompress::new_with_window_bits(false, 15),
            reset_each: client_no_context_takeover,
            ended: false,
        }
    }

    /// Inflates one fragment's payload onto `out`, which may not grow past `max`.
    pub(super) fn inflate(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        max: usize,
    ) -> Result<(), ProtocolError> {
        self.run(input, out, max)
    }

    /// Ends a message: inflates the tail its sender removed and starts over if the client does.
    pub(super) fn finish(&mut self, out: &mut Vec<u8>, max: usize) -> Result<(), ProtocolError> {
        self.run(&TAIL, out, max)?;
        if self.reset_each && !self.ended {
            self.inner.reset(false);
        }
        self.ended = false;
        Ok(())
    }

    fn run(
        &mut self,
        mut input: &[u8],
        out: &mut Vec<u8>,
        max: usize,
    ) -> Result<(), ProtocolError> {
        while !self.ended {
            if out.len() == out.capacity() {
                // Grow by doubling, never past `max + 1`: one byte over is enough to know.
                let room = (max + 1).saturating_sub(out.len());
                if room == 0 {
                    return Err(ProtocolError::MessageTooLarge { max });
                }
                out.reserve_exact(out.len().max(input.len() * 2).max(256).min(room));
            }
            let before = self.inner.total_in();
            let status = self
                .inner
                .decompress_vec(input, out, FlushDecompress::Sync)
                .map_err(|_| ProtocolError::BadDeflate)?;
            let used = usize::try_from(self.inner.total_in() - before).unwrap_or(usize::MAX);
            input = input.get(used..).ok_or(ProtocolError::BadDeflate)?;
            if out.len() > max {
                return Err(ProtocolError::MessageTooLarge { max });
            }
            match status {
                // A final block (BFINAL, RFC 7692 §7.2.3.4) ends the stream: the rest of the
                // message is padding and the tail, and the next message starts a new stream.
                Status::StreamEnd => {
                    self.inner.reset(false);
                    self.ended = true;
                }
                // Output room left over: everything the input holds has come out.
                Status::Ok | Status::BufError if out.len() < out.capacity() => {
                    return if input.is_empty() {
                        Ok(())
                    } else {
                        Err(ProtocolError::BadDeflate)
                    };
                }
                Status::Ok | Status::BufError => {}
            }
        }
        Ok(())
    }
}

/// The session's compressor for the server's messages.
pub(super) struct Deflater {
    inner: Compress,
    reset_each: bool,
}

impl std::fmt::Debug for Deflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deflater").finish_non_exhaustive()
    }
}

impl Deflater {
    pub(super) fn new(negotiated: &Negotiated) -> Self {
        Self {
            inner: Compress::new_with_window_bits(
                Compression::new(negotiated.level),
                false,
                negotiated.server_window_bits,
            ),
            reset_each: negotiated.server_no_context_takeover,
        }
    }

    /// Appends `input` compressed, without the sync flush's tail, to `out`.
    pub(super) fn compress(
        &mut self,
        mut input: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), flate2::CompressError> {
        let start = out.len();
        loop {
            out.reserve(input.len() / 2 + 64);
            let before = self.inner.total_in();
            self.inner.compress_vec(input, out, FlushCompress::Sync)?;
            let used = usize::try_from(self.inner.total_in() - before).unwrap_or(usize::MAX);
            input = input.get(used..).unwrap_or_default();
            // A sync flush is complete when it returns with output room to spare (zlib's
            // deflate() contract for Z_SYNC_FLUSH).
            if input.is_empty() && out.len() < out.capacity() {
                break;
            }
        }
        if out[start..].ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
        if self.reset_each {
            self.inner.reset();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn negotiated(fields: &[&str]) -> Option<String> {
        negotiate(fields.iter().copied(), &DeflateConfig::default()).map(|n| n.response)
    }

    #[test]
    fn offers_are_accepted_or_declined() {
        let table: [(&[&str], Option<&str>); 11] = [
            (&["permessage-deflate"], Some("permessage-deflate")),
            (
                &["permessage-deflate; client_max_window_bits"],
                Some("permessage-deflate"),
            ),
            (
                &["permessage-deflate; server_no_context_takeover"],
                Some("permessage-deflate; server_no_context_takeover"),
            ),
            (
                &["permessage-deflate; server_max_window_bits=10"],
                Some("permessage-deflate; server_max_window_bits=10"),
            ),
            (
                &["permessage-deflate; server_max_window_bits=\"12\""],
                Some("permessage-deflate; server_max_window_bits=12"),
            ),
            // Declined: 8 bits, an unknown or repeated parameter, a bad value; the next offer wins.
            (
                &["permessage-deflate; server_max_window_bits=8, permessage-deflate"],
                Some("permessage-deflate"),
            ),
            (&["permessage-deflate; x=1"], None),
            (
                &["permessage-deflate; client_no_context_takeover; client_no_context_takeover"],
                None,
            ),
            (&["permessage-deflate; server_max_window_bits=09"], None),
            (&["permessage-deflate; server_no_context_takeover=1"], None),
            (
                &["x-webkit-deflate-frame", "bad;", "permessage-deflate"],
                Some("permessage-deflate"),
            ),
        ];
        for (fields, expected) in table {
            assert_eq!(negotiated(fields).as_deref(), expected, "{fields:?}");
        }
    }

    #[test]
    fn the_servers_settings_show_in_the_response() {
        let config = DeflateConfig {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            server_max_window_bits: 12,
            client_max_window_bits: 10,
            ..DeflateConfig::default()
        };
        let with = |offer: &str| negotiate([offer], &config).unwrap();
        assert_eq!(
            with("permessage-deflate; client_max_window_bits").response,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=12; client_max_window_bits=10"
        );
        let plain = with("permessage-deflate; server_max_window_bits=11");
        assert_eq!(plain.server_window_bits, 11);
        assert!(!plain.response.contains("client_max_window_bits"));
    }

    /// RFC 7692 §7.2.3.1: "Hello" compressed is `f2 48 cd c9 c9 07 00`.
    #[test]
    fn hello_compresses_as_in_the_rfc_and_inflates_back() {
        let negotiated = negotiate(["permessage-deflate"], &DeflateConfig::default()).unwrap();
        let mut deflater = Deflater::new(&negotiated);
        let mut out = Vec::new();
        deflater.compress(b"Hello", &mut out).unwrap();
        assert_eq!(out, [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
        let mut inflater = Inflater::new(false);
        let mut text = Vec::new();
        inflater.inflate(&out, &mut text, 100).unwrap();
        inflater.finish(&mut text, 100).unwrap();
        assert_eq!(text, b"Hello");
        // §7.2.3.2: the same message again, with the first one's window: `f2 00 11 00 00`.
        let mut again = Vec::new();
        deflater.compress(b"Hello", &mut again).unwrap();
        assert_eq!(again, [0xf2, 0x00, 0x11, 0x00, 0x00]);
        let mut text = Vec::new();
        inflater.inflate(&again, &mut text, 100).unwrap();
        inflater.finish(&mut text, 100).unwrap();
        assert_eq!(text, b"Hello");
    }

    #[test]
    fn rfc_samples_inflate() {
        // §7.2.3.3 (no compression, a stored block) and §7.2.3.4 (BFINAL set).
        let samples: [&[u8]; 2] = [
            &[
                0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
            ],
            &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00],
        ];
        for sample in samples {
            let mut inflater = Inflater::new(false);
            let mut text = Vec::new();
            inflater.inflate(sample, &mut text, 100).unwrap();
            inflater.finish(&mut text, 100).unwrap();
            assert_eq!(text, b"Hello", "{sample:x?}");
        }
    }

    #[test]
    fn inflating_stops_at_the_limit() {
        let negotiated = negotiate(["permessage-deflate"], &DeflateConfig::default()).unwrap();
        let mut out = Vec::new();
        Deflater::new(&negotiated)
            .compress(&vec![0u8; 1 << 20], &mut out)
            .unwrap();
        assert!(
            out.len() < 2048,
            "a megabyte of zeros is small: {}",
            out.len()
        );
        let mut inflater = Inflater::new(false);
        let mut text = Vec::new();
        assert_eq!(
            inflater.inflate(&out, &mut text, 4096),
            Err(ProtocolError::MessageTooLarge { max: 4096 })
        );
        assert!(text.capacity() <= 4097, "grew to {}", text.capacity());
        let mut inflater = Inflater::new(false);
        assert_eq!(
            inflater.inflate(&[0xff, 0xff, 0xff], &mut Vec::new(), 100),
            Err(ProtocolError::BadDeflate)
        );
    }
}
