//! A small HTTP/1.1 client for tests: writes a request's bytes, reads responses off any byte
//! stream (a socket or an in-memory connection), pipelined ones included, with the framing the
//! server chose checked as it goes.

use crate::http::{ChunkedDecoder, Decoded, Limits};
use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use std::io;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// A response as the client read it.
#[derive(Debug, Clone)]
pub struct TestResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers, in order, repeated ones kept.
    pub headers: HeaderMap,
    /// The body, de-chunked.
    pub body: Bytes,
    /// Whether the body was chunked.
    pub chunked: bool,
    /// The head's bytes as received.
    pub raw_head: String,
}

impl TestResponse {
    /// The first value of `name`, as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every value of `name`, as text.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    }

    /// The body as UTF-8 text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Reads responses from a stream, keeping bytes that belong to the next one.
#[derive(Debug)]
pub struct ResponseReader<S> {
    stream: S,
    buf: BytesMut,
}

impl<S: AsyncRead + AsyncWrite + Unpin> ResponseReader<S> {
    /// Wraps a connected stream.
    pub fn new(stream: S) -> Self {
        Self {
            stream,
            buf: BytesMut::new(),
        }
    }

    /// The stream, to write requests on.
    pub fn stream(&mut self) -> &mut S {
        &mut self.stream
    }

    /// Writes raw bytes.
    pub async fn send(&mut self, bytes: impl AsRef<[u8]>) -> io::Result<()> {
        self.stream.write_all(bytes.as_ref()).await?;
        self.stream.flush().await
    }

    /// Reads one response. `head_request` tells that it answers a HEAD (no body follows).
    pub async fn read_response(&mut self, head_request: bool) -> io::Result<TestResponse> {
        let head_end = loop {
            if let Some(end) = memchr::memmem::find(&self.buf, b"\r\n\r\n") {
                break end + 4;
            }
            self.fill().await?;
        };
        let head = self.buf.split_to(head_end);
        let raw_head = String::from_utf8_lossy(&head).into_owned();
        let (status, headers) = parse_head(&raw_head)?;
        let no_body = head_request
            || status.is_informational()
            || status == StatusCode::NO_CONTENT
            || status == StatusCode::NOT_MODIFIED;
        let chunked = headers
            .get_all("transfer-encoding")
            .iter()
            .any(|v| v.as_bytes().eq_ignore_ascii_case(b"chunked"));
        if chunked && headers.contains_key("content-length") {
            return Err(invalid(
                "response with both Content-Length and Transfer-Encoding",
            ));
        }
        let body = if no_body {
            Bytes::new()
        } else if chunked {
            self.read_chunked().await?
        } else if let Some(length) = headers.get("content-length") {
            let length: usize = length
                .to_str()
                .ok()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| invalid("bad Content-Length"))?;
            while self.buf.len() < length {
                self.fill().await?;
            }
            self.buf.split_to(length).freeze()
        } else {
            // Close-delimited.
            while self.try_fill().await? > 0 {}
            self.buf.split().freeze()
        };
        Ok(TestResponse {
            status,
            headers,
            body,
            chunked,
            raw_head,
        })
    }

    /// Reads until the server closes the connection; returns what came. Errors (a reset) count as
    /// the end.
    pub async fn read_to_end(&mut self) -> Bytes {
        while matches!(self.try_fill().await, Ok(n) if n > 0) {}
        self.buf.split().freeze()
    }

    /// Whether the server closed the connection: reads return end of stream (or an error) with no
    /// bytes left over.
    pub async fn is_closed(&mut self) -> bool {
        self.buf.is_empty() && !matches!(self.try_fill().await, Ok(n) if n > 0)
    }

    async fn read_chunked(&mut self) -> io::Result<Bytes> {
        let mut decoder = ChunkedDecoder::new(&Limits::default());
        let mut body = BytesMut::new();
        loop {
            let (consumed, decoded) = decoder.decode(&self.buf).map_err(|e| invalid(e.as_str()))?;
            let need_more = match decoded {
                Decoded::Data(range) => {
                    body.extend_from_slice(&self.buf[range]);
                    false
                }
                Decoded::Done => {
                    self.buf.advance(consumed);
                    return Ok(body.freeze());
                }
                Decoded::NeedMore => true,
            };
            self.buf.advance(consumed);
            if need_more {
                self.fill().await?;
            }
        }
    }

    async fn fill(&mut self) -> io::Result<()> {
        if self.try_fill().await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(())
    }

    async fn try_fill(&mut self) -> io::Result<usize> {
        self.buf.reserve(16 * 1024);
        self.stream.read_buf(&mut self.buf).await
    }
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_owned())
}

fn parse_head(head: &str) -> io::Result<(StatusCode, HeaderMap)> {
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    if parts.next() != Some("HTTP/1.1") {
        return Err(invalid("status line is not HTTP/1.1"));
    }
    let status = parts
        .next()
        .and_then(|code| StatusCode::from_bytes(code.as_bytes()).ok())
        .ok_or_else(|| invalid("bad status code"))?;
    let mut headers = HeaderMap::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| invalid("bad header line"))?;
        let name =
            HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid("bad header name"))?;
        let value = HeaderValue::from_str(value.trim()).map_err(|_| invalid("bad header value"))?;
        headers.append(name, value);
    }
    Ok((status, headers))
}
