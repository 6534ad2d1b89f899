//! Applying and removing content codings on bodies: whole bytes at once, or a stream as it flows.
//!
//! A compressed stream is produced while the body is sent, chunk by chunk, never collected: the
//! encoder's output goes out once it holds [`OUTPUT_CHUNK`] bytes, when the body ends, and when the
//! body's stream has to wait (a sync flush first, so that what the producer has written so far
//! reaches the client instead of sitting in the encoder). Decoding a request body writes into a
//! sink that refuses to grow past the configured limit, so a small body that inflates to gigabytes
//! (a decompression bomb) fails with 413 after at most the limit's worth of output.

use super::accept_encoding::Coding;
use crate::Error;
use crate::call::BodyStream;
use bytes::Bytes;
use flate2::write::{GzEncoder, MultiGzDecoder, ZlibDecoder, ZlibEncoder};
use futures_core::Stream;
use http::StatusCode;
use std::io::{self, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Encoder output is sent once this much has gathered (or at a flush or the end).
const OUTPUT_CHUNK: usize = 16 * 1024;
/// Input an encoder takes in one poll before it yields to the runtime: a stream of well-compressing
/// chunks that are always ready would otherwise hold the thread.
const INPUT_BUDGET: usize = 1024 * 1024;
/// Brotli's window: 2^19 = 512 KiB (ngx_brotli's default). The encoder's memory grows with it;
/// more window buys little on web responses.
const BROTLI_WINDOW_BITS: u32 = 19;
/// The buffer brotli's writers stage data in.
const BROTLI_BUFFER: usize = 4096;

enum Encoder {
    Gzip(GzEncoder<Vec<u8>>),
    Deflate(ZlibEncoder<Vec<u8>>),
    Br(Box<brotli::CompressorWriter<Vec<u8>>>),
}

impl Encoder {
    /// An encoder at `level`: 0-9 for gzip and deflate, 0-11 for br (clamped).
    fn new(coding: Coding, level: u32) -> Self {
        match coding {
            Coding::Gzip => Self::Gzip(GzEncoder::new(Vec::new(), flate_level(level))),
            Coding::Deflate => Self::Deflate(ZlibEncoder::new(Vec::new(), flate_level(level))),
            Coding::Br => Self::Br(Box::new(brotli::CompressorWriter::new(
                Vec::new(),
                BROTLI_BUFFER,
                level.min(11),
                BROTLI_WINDOW_BITS,
            ))),
        }
    }

    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Self::Gzip(e) => e,
            Self::Deflate(e) => e,
            Self::Br(e) => &mut **e,
        }
    }

    fn output(&mut self) -> &mut Vec<u8> {
        match self {
            Self::Gzip(e) => e.get_mut(),
            Self::Deflate(e) => e.get_mut(),
            Self::Br(e) => e.get_mut(),
        }
    }

    fn finish(self) -> io::Result<Vec<u8>> {
        match self {
            Self::Gzip(e) => e.finish(),
            Self::Deflate(e) => e.finish(),
            Self::Br(e) => Ok(e.into_inner()),
        }
    }
}

fn flate_level(level: u32) -> flate2::Compression {
    flate2::Compression::new(level.min(9))
}

fn encode_error(error: io::Error) -> Error {
    Error::new(StatusCode::INTERNAL_SERVER_ERROR, error)
}

/// `data` with `coding` applied.
pub(super) fn encode_all(coding: Coding, level: u32, data: &[u8]) -> Result<Bytes, Error> {
    let mut encoder = Encoder::new(coding, level);
    encoder.writer().write_all(data).map_err(encode_error)?;
    encoder.finish().map(Bytes::from).map_err(encode_error)
}

/// A body stream with `coding` applied as it flows.
pub(super) struct EncodeStream {
    inner: BodyStream,
    encoder: Option<Encoder>,
    /// Input written since the last flush.
    unflushed: bool,
}

impl EncodeStream {
    /// Encodes `inner` with `coding` at `level`.
    pub(super) fn new(inner: BodyStream, coding: Coding, level: u32) -> Self {
        Self {
            inner,
            encoder: Some(Encoder::new(coding, level)),
            unflushed: false,
        }
    }
}

impl Stream for EncodeStream {
    type Item = Result<Bytes, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let mut taken = 0usize;
        loop {
            let Some(encoder) = this.encoder.as_mut() else {
                return Poll::Ready(None);
            };
            match this.inner.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    if let Err(error) = encoder.writer().write_all(&chunk) {
                        this.encoder = None;
                        return Poll::Ready(Some(Err(encode_error(error))));
                    }
                    this.unflushed |= !chunk.is_empty();
                    taken += chunk.len();
                    if encoder.output().len() >= OUTPUT_CHUNK {
                        return Poll::Ready(Some(Ok(std::mem::take(encoder.output()).into())));
                    }
                    if taken >= INPUT_BUDGET {
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                }
                Poll::Ready(Some(Err(error))) => {
                    this.encoder = None;
                    return Poll::Ready(Some(Err(error)));
                }
                Poll::Ready(None) => {
                    let Some(encoder) = this.encoder.take() else {
                        return Poll::Ready(None);
                    };
                    return match encoder.finish() {
                        Ok(rest) => Poll::Ready(Some(Ok(rest.into()))),
                        Err(error) => Poll::Ready(Some(Err(encode_error(error)))),
                    };
                }
                Poll::Pending => {
                    if std::mem::take(&mut this.unflushed)
                        && let Err(error) = encoder.writer().flush()
                    {
                        this.encoder = None;
                        return Poll::Ready(Some(Err(encode_error(error))));
                    }
                    if !encoder.output().is_empty() {
                        return Poll::Ready(Some(Ok(std::mem::take(encoder.output()).into())));
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

/// Decoded output past the limit.
#[derive(Debug)]
struct LimitExceeded;

impl std::fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the decompressed request body is over its limit")
    }
}

impl std::error::Error for LimitExceeded {}

/// Where a decoder writes: refuses to hold more than `limit` bytes over the whole body.
struct LimitedSink {
    buf: Vec<u8>,
    remaining: u64,
}

impl Write for LimitedSink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let len = data.len() as u64;
        if len > self.remaining {
            return Err(io::Error::other(LimitExceeded));
        }
        self.remaining -= len;
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

enum Decoder {
    Gzip(MultiGzDecoder<LimitedSink>),
    Deflate(ZlibDecoder<LimitedSink>),
    Br(Box<brotli::DecompressorWriter<LimitedSink>>),
}

impl Decoder {
    fn new(coding: Coding, limit: u64) -> Self {
        let sink = LimitedSink {
            buf: Vec::new(),
            remaining: limit,
        };
        match coding {
            Coding::Gzip => Self::Gzip(MultiGzDecoder::new(sink)),
            Coding::Deflate => Self::Deflate(ZlibDecoder::new(sink)),
            Coding::Br => Self::Br(Box::new(brotli::DecompressorWriter::new(
                sink,
                BROTLI_BUFFER,
            ))),
        }
    }

    /// Decodes `data`; the output is in [`output`](Self::output) at once (flate2's writers hold
    /// decoded bytes back until the next write unless flushed).
    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        let writer: &mut dyn Write = match self {
            Self::Gzip(d) => d,
            Self::Deflate(d) => d,
            Self::Br(d) => &mut **d,
        };
        writer.write_all(data)?;
        writer.flush()
    }

    fn output(&mut self) -> &mut Vec<u8> {
        match self {
            Self::Gzip(d) => &mut d.get_mut().buf,
            Self::Deflate(d) => &mut d.get_mut().buf,
            Self::Br(d) => &mut d.get_mut().buf,
        }
    }

    /// Ends the input: fails if the coded data is incomplete.
    fn finish(self) -> io::Result<Vec<u8>> {
        match self {
            Self::Gzip(d) => d.finish().map(|sink| sink.buf),
            Self::Deflate(d) => d.finish().map(|sink| sink.buf),
            Self::Br(mut d) => {
                d.close()?;
                d.into_inner()
                    .map(|sink| sink.buf)
                    .map_err(|_| io::ErrorKind::InvalidData.into())
            }
        }
    }
}

/// 413 for output past the limit, 400 for data that is not what its coding says.
fn decode_error(error: io::Error) -> Error {
    if error.get_ref().is_some_and(|e| e.is::<LimitExceeded>()) {
        Error::new(StatusCode::PAYLOAD_TOO_LARGE, error)
    } else {
        Error::new(StatusCode::BAD_REQUEST, error)
    }
}

/// A request body stream with `coding` removed as it is read, at most `limit` bytes of output.
pub(super) struct DecodeStream {
    inner: BodyStream,
    decoder: Option<Decoder>,
    /// Whether any coded byte arrived: an empty body decodes to an empty body.
    started: bool,
}

impl DecodeStream {
    /// Decodes `inner`, failing past `limit` decoded bytes.
    pub(super) fn new(inner: BodyStream, coding: Coding, limit: u64) -> Self {
        Self {
            inner,
            decoder: Some(Decoder::new(coding, limit)),
            started: false,
        }
    }
}

impl Stream for DecodeStream {
    type Item = Result<Bytes, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            let Some(decoder) = this.decoder.as_mut() else {
                return Poll::Ready(None);
            };
            match this.inner.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    this.started |= !chunk.is_empty();
                    if let Err(error) = decoder.write_all(&chunk) {
                        this.decoder = None;
                        return Poll::Ready(Some(Err(decode_error(error))));
                    }
                    if !decoder.output().is_empty() {
                        return Poll::Ready(Some(Ok(std::mem::take(decoder.output()).into())));
                    }
                }
                Poll::Ready(Some(Err(error))) => {
                    this.decoder = None;
                    return Poll::Ready(Some(Err(error)));
                }
                Poll::Ready(None) => {
                    let Some(decoder) = this.decoder.take() else {
                        return Poll::Ready(None);
                    };
                    if !this.started {
                        return Poll::Ready(None);
                    }
                    return match decoder.finish() {
                        Ok(rest) if rest.is_empty() => Poll::Ready(None),
                        Ok(rest) => Poll::Ready(Some(Ok(rest.into()))),
                        Err(error) => Poll::Ready(Some(Err(decode_error(error)))),
                    };
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests;
