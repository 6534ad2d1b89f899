//! What a handler responds with: [`OutgoingContent`], the subject of the send pipeline (Ktor's
//! `OutgoingContent`). Plugins in the send pipeline's phases may replace it; the connection driver
//! writes what comes out of the last phase.

use crate::Error;
use crate::upgrade::Upgraded;
use bytes::Bytes;
use futures_core::Stream;
use http::{HeaderValue, StatusCode};
use std::any::Any;
use std::fmt;
use std::pin::Pin;

/// A response body stream: chunks of bytes, or an error that aborts the connection.
pub type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, Error>> + Send>>;

/// What takes over a connection after `101 Switching Protocols`.
pub type UpgradeHandler =
    Box<dyn FnOnce(Upgraded) -> crate::pipeline::BoxFuture<'static, ()> + Send>;

/// The content of a response: status, content type and body.
pub struct OutgoingContent {
    /// The status, if the content decides it (otherwise the response's status, or 200).
    pub status: Option<StatusCode>,
    /// The `Content-Type`, if the content has one.
    pub content_type: Option<HeaderValue>,
    /// The body.
    pub body: ResponseBody,
}

/// The body of a response.
pub enum ResponseBody {
    /// No body: only a status and headers.
    Empty,
    /// A body whose bytes are all known: sent with `Content-Length`.
    Bytes(Bytes),
    /// A body produced while it is sent: with `Content-Length` when `length` is known, chunked
    /// otherwise (close-delimited for HTTP/1.0 clients).
    Stream {
        /// The chunks.
        stream: BodyStream,
        /// The total length, if known in advance; a stream that ends short of it or goes past it
        /// aborts the connection.
        length: Option<u64>,
    },
    /// Switch protocols: the status is 101 and the handler gets the raw connection.
    Upgrade(UpgradeHandler),
    /// A typed value that a plugin in the send pipeline (content negotiation, say) turns into one of
    /// the other bodies. Left unconverted, it is a 500.
    Value(Box<dyn Any + Send>),
}

impl OutgoingContent {
    /// Bytes with a content type.
    pub fn bytes(data: impl Into<Bytes>, content_type: HeaderValue) -> Self {
        Self {
            status: None,
            content_type: Some(content_type),
            body: ResponseBody::Bytes(data.into()),
        }
    }

    /// `text/plain; charset=utf-8`.
    pub fn text(text: impl Into<Bytes>) -> Self {
        Self::bytes(text, HeaderValue::from_static("text/plain; charset=utf-8"))
    }

    /// Only a status, no body.
    pub fn status(status: StatusCode) -> Self {
        Self {
            status: Some(status),
            content_type: None,
            body: ResponseBody::Empty,
        }
    }

    /// A streamed body of unknown length.
    pub fn stream(
        stream: impl Stream<Item = Result<Bytes, Error>> + Send + 'static,
        content_type: HeaderValue,
    ) -> Self {
        let body = ResponseBody::Stream {
            stream: Box::pin(stream),
            length: None,
        };
        Self {
            status: None,
            content_type: Some(content_type),
            body,
        }
    }

    /// A typed value for a send-pipeline plugin to render.
    pub fn value<T: Any + Send>(value: T) -> Self {
        Self {
            status: None,
            content_type: None,
            body: ResponseBody::Value(Box::new(value)),
        }
    }

    /// The same content with a status.
    #[must_use]
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = Some(status);
        self
    }
}

impl From<&'static str> for OutgoingContent {
    fn from(text: &'static str) -> Self {
        Self::text(text)
    }
}

impl From<String> for OutgoingContent {
    fn from(text: String) -> Self {
        Self::text(text)
    }
}

impl From<Bytes> for OutgoingContent {
    fn from(data: Bytes) -> Self {
        Self::bytes(data, HeaderValue::from_static("application/octet-stream"))
    }
}

impl From<Vec<u8>> for OutgoingContent {
    fn from(data: Vec<u8>) -> Self {
        Bytes::from(data).into()
    }
}

impl From<StatusCode> for OutgoingContent {
    fn from(status: StatusCode) -> Self {
        Self::status(status)
    }
}

impl fmt::Debug for OutgoingContent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutgoingContent")
            .field("status", &self.status)
            .field("content_type", &self.content_type)
            .field("body", &self.body)
            .finish()
    }
}

impl fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("Empty"),
            Self::Bytes(data) => write!(f, "Bytes({} bytes)", data.len()),
            Self::Stream { length, .. } => write!(f, "Stream(length: {length:?})"),
            Self::Upgrade(_) => f.write_str("Upgrade"),
            Self::Value(_) => f.write_str("Value"),
        }
    }
}
