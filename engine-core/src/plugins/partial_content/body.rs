//! Cutting ranges out of a body: slices of bytes (no copy), or a stream skipped and truncated as it
//! flows; and the `multipart/byteranges` framing around several ranges (RFC 9110 §14.6, RFC 2046
//! §5.1.1: the CRLF before a delimiter belongs to the delimiter).

use crate::Error;
use crate::call::{BodyStream, ResponseBody};
use bytes::Bytes;
use futures_core::Stream;
use std::collections::VecDeque;
use std::ops::Range;
use std::pin::Pin;
use std::task::{Context, Poll};

/// `bytes first-last/length`, the `Content-Range` of one range (§14.4).
pub(super) fn content_range(range: &Range<u64>, length: u64) -> String {
    format!("bytes {}-{}/{length}", range.start, range.end - 1)
}

/// One range of a multipart body: its bytes and the part header before them.
struct Part {
    range: Range<u64>,
    header: Option<Bytes>,
}

/// The pieces of a `multipart/byteranges` body around `ranges`.
pub(super) struct Multipart {
    parts: Vec<Part>,
    closing: Bytes,
}

impl Multipart {
    /// Part headers for `ranges` of a `length`-byte body of `content_type`, with `boundary`.
    pub(super) fn new(
        ranges: &[Range<u64>],
        length: u64,
        content_type: Option<&str>,
        boundary: &str,
    ) -> Self {
        let content_type = content_type.map_or(String::new(), |t| format!("Content-Type: {t}\r\n"));
        let parts = ranges
            .iter()
            .enumerate()
            .map(|(i, range)| {
                let delimiter = if i == 0 { "" } else { "\r\n" };
                let header = format!(
                    "{delimiter}--{boundary}\r\n{content_type}Content-Range: {}\r\n\r\n",
                    content_range(range, length)
                );
                Part {
                    range: range.clone(),
                    header: Some(header.into()),
                }
            })
            .collect();
        let closing = format!("\r\n--{boundary}--\r\n").into();
        Self { parts, closing }
    }

    /// The length of the whole multipart body.
    pub(super) fn length(&self) -> u64 {
        let framing: u64 = self
            .parts
            .iter()
            .map(|p| {
                p.header.as_ref().map_or(0, |h| h.len() as u64) + (p.range.end - p.range.start)
            })
            .sum();
        framing + self.closing.len() as u64
    }

    /// The body cut from `data`, in the parts' order (any order: the bytes are all there).
    pub(super) fn over_bytes(self, data: &Bytes) -> ResponseBody {
        let length = self.length();
        let mut pieces = Vec::with_capacity(self.parts.len() * 2 + 1);
        for part in self.parts {
            pieces.extend(part.header.map(Ok));
            pieces.push(Ok(slice(data, &part.range)));
        }
        pieces.push(Ok(self.closing));
        ResponseBody::Stream {
            stream: Box::pin(futures_util::stream::iter(pieces)),
            length: Some(length),
        }
    }

    /// The body cut from `stream` as it flows; the parts must be in ascending order.
    pub(super) fn over_stream(self, stream: BodyStream) -> ResponseBody {
        let length = self.length();
        let cut = RangeStream {
            inner: stream,
            parts: self.parts.into(),
            closing: Some(self.closing),
            position: 0,
            out: VecDeque::new(),
        };
        ResponseBody::Stream {
            stream: Box::pin(cut),
            length: Some(length),
        }
    }
}

/// `data[range]`, clamped to `data`: never panics.
pub(super) fn slice(data: &Bytes, range: &Range<u64>) -> Bytes {
    let len = data.len();
    data.slice(within(len, range.start)..within(len, range.end))
}

/// `offset` as an index into a buffer of `len` bytes, clamped to it.
fn within(len: usize, offset: u64) -> usize {
    usize::try_from(offset).map_or(len, |offset| offset.min(len))
}

/// One range of `stream`, skipped to and truncated after.
pub(super) fn stream_range(stream: BodyStream, range: Range<u64>) -> ResponseBody {
    let length = range.end - range.start;
    let cut = RangeStream {
        inner: stream,
        parts: VecDeque::from([Part {
            range,
            header: None,
        }]),
        closing: None,
        position: 0,
        out: VecDeque::new(),
    };
    ResponseBody::Stream {
        stream: Box::pin(cut),
        length: Some(length),
    }
}

/// A stream that passes on only the bytes of its parts, each after its header, then a closing
/// delimiter. The inner stream is dropped once the last part is out.
struct RangeStream {
    inner: BodyStream,
    /// Ascending, not overlapping.
    parts: VecDeque<Part>,
    closing: Option<Bytes>,
    /// Bytes of the inner stream seen so far.
    position: u64,
    out: VecDeque<Bytes>,
}

impl RangeStream {
    /// Queues what `chunk` holds of the parts.
    fn cut(&mut self, chunk: &Bytes) {
        let start = self.position;
        let end = start + chunk.len() as u64;
        self.position = end;
        while let Some(part) = self.parts.front_mut() {
            if part.range.start >= end {
                break;
            }
            self.out.extend(part.header.take());
            let from = part.range.start.max(start) - start;
            let to = part.range.end.min(end) - start;
            if from < to {
                self.out.push_back(slice(chunk, &(from..to)));
            }
            if part.range.end > end {
                break;
            }
            self.parts.pop_front();
        }
    }
}

impl Stream for RangeStream {
    type Item = Result<Bytes, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(piece) = this.out.pop_front() {
                return Poll::Ready(Some(Ok(piece)));
            }
            if this.parts.is_empty() {
                return Poll::Ready(this.closing.take().map(Ok));
            }
            match this.inner.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => this.cut(&chunk),
                Poll::Ready(Some(Err(error))) => {
                    this.parts.clear();
                    this.closing = None;
                    return Poll::Ready(Some(Err(error)));
                }
                Poll::Ready(None) => {
                    this.parts.clear();
                    this.closing = None;
                    return Poll::Ready(Some(Err(Error::msg(
                        "the body ended before the declared length its ranges were cut from",
                    ))));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    fn chunked(data: &'static [u8], size: usize) -> BodyStream {
        Box::pin(futures_util::stream::iter(
            data.chunks(size).map(|c| Ok(Bytes::from_static(c))),
        ))
    }

    async fn collect(body: ResponseBody) -> (Vec<u8>, Option<u64>) {
        let ResponseBody::Stream { mut stream, length } = body else {
            panic!("a stream");
        };
        let mut out = Vec::new();
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk.unwrap());
        }
        (out, length)
    }

    const DATA: &[u8] = b"0123456789abcdefghij";

    #[tokio::test]
    async fn one_range_of_a_stream_whatever_the_chunking() {
        for size in [1, 3, 7, 20] {
            let (out, length) = collect(stream_range(chunked(DATA, size), 4..13)).await;
            assert_eq!(out, &DATA[4..13], "chunks of {size}");
            assert_eq!(length, Some(9));
        }
    }

    #[tokio::test]
    async fn multipart_from_bytes_and_from_a_stream_agree() {
        let ranges = [0..1, 5..8, 19..20];
        let expected = "--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-0/20\r\n\r\n0\
                        \r\n--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 5-7/20\r\n\r\n567\
                        \r\n--B\r\nContent-Type: text/plain\r\nContent-Range: bytes 19-19/20\r\n\r\nj\
                        \r\n--B--\r\n";
        let multipart = || Multipart::new(&ranges, 20, Some("text/plain"), "B");
        let (out, length) = collect(multipart().over_bytes(&Bytes::from_static(DATA))).await;
        assert_eq!(String::from_utf8(out).unwrap(), expected);
        assert_eq!(length, Some(expected.len() as u64));
        for size in [1, 4, 20] {
            let (out, length) = collect(multipart().over_stream(chunked(DATA, size))).await;
            assert_eq!(
                String::from_utf8(out).unwrap(),
                expected,
                "chunks of {size}"
            );
            assert_eq!(length, Some(expected.len() as u64));
        }
    }

    #[tokio::test]
    async fn a_stream_shorter_than_its_ranges_fails() {
        let ResponseBody::Stream { mut stream, .. } = stream_range(chunked(b"0123", 2), 2..10)
        else {
            panic!("a stream");
        };
        assert_eq!(stream.next().await.unwrap().unwrap(), "23");
        assert!(stream.next().await.unwrap().is_err());
    }

    #[test]
    fn slices_clamp() {
        let data = Bytes::from_static(b"abc");
        assert_eq!(slice(&data, &(1..2)), "b");
        assert_eq!(slice(&data, &(2..10)), "c");
        assert_eq!(slice(&data, &(10..20)), "");
    }
}
