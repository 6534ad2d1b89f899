//! The error a handler, an interceptor or a body read fails with, and the status it answers with.
//!
//! Like `anyhow::Error` it wraps any `std::error::Error`, so `?` works on everything; unlike it, it
//! carries an HTTP status: 500 unless the error says otherwise (a malformed body is 400, a body over
//! its limit 413). The body of the answer never names the source unless the application says so.

use http::StatusCode;
use std::borrow::Cow;
use std::fmt;

/// The boxed source of an [`Error`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A failure in a call, with the status the client gets for it.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    status: StatusCode,
    source: Option<BoxError>,
    message: Cow<'static, str>,
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error answered with `status`, caused by `source`.
    pub fn new(status: StatusCode, source: impl Into<BoxError>) -> Self {
        let source = source.into();
        let message = Cow::Owned(source.to_string());
        Self {
            inner: Box::new(Inner {
                status,
                source: Some(source),
                message,
            }),
        }
    }

    /// An error that is only a status, with a fixed message for logs.
    pub fn status(status: StatusCode, message: &'static str) -> Self {
        Self {
            inner: Box::new(Inner {
                status,
                source: None,
                message: Cow::Borrowed(message),
            }),
        }
    }

    /// A 500 error with a message.
    pub fn msg(message: impl Into<Cow<'static, str>>) -> Self {
        let message = message.into();
        Self {
            inner: Box::new(Inner {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                source: None,
                message,
            }),
        }
    }

    /// The status the client gets.
    pub fn status_code(&self) -> StatusCode {
        self.inner.status
    }

    /// The same error answered with another status.
    #[must_use]
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.inner.status = status;
        self
    }

    /// The error this one wraps, if any.
    pub fn source(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.inner.source.as_deref()
    }

    /// The wrapped error as `E`, if it is one.
    pub fn downcast_ref<E: std::error::Error + 'static>(&self) -> Option<&E> {
        self.inner.source.as_ref()?.downcast_ref()
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for Error {
    fn from(error: E) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, error)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("status", &self.inner.status)
            .field("message", &self.inner.message)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.inner.message, self.inner.status)
    }
}

/// An [`Error`] as a `std::error::Error`, for `main() -> Result<(), Box<dyn Error>>` and friends.
/// (`Error` itself is not one, so that `?` converts every error into it.)
#[derive(Debug)]
struct StdError(Error);

impl fmt::Display for StdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for StdError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .inner
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<Error> for Box<dyn std::error::Error + Send + Sync + 'static> {
    fn from(error: Error) -> Self {
        Box::new(StdError(error))
    }
}

impl From<Error> for Box<dyn std::error::Error + 'static> {
    fn from(error: Error) -> Self {
        Box::new(StdError(error))
    }
}
