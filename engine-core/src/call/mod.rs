//! `ApplicationCall`: one request and its response, with typed attributes (Ktor's
//! `ApplicationCall`). Every request becomes a call that runs through the application's call
//! pipeline; its body is received through the receive pipeline and its response sent through the
//! send pipeline.
//!
//! A call is a cheap handle (an `Arc`): handlers take it by value, may clone it into a body stream,
//! and need no lifetimes. The connection driver reuses a call's allocation for the next request of
//! the connection when nothing else holds it, so a keep-alive connection does not allocate a call
//! per request.

mod attributes;
mod body;
mod content;
mod headers;
mod multipart;
mod parameters;
mod request;
mod response;

pub use attributes::{AttributeKey, Attributes};
pub(crate) use body::{BodyChannel, BodyPhase};
pub use body::{IncomingBody, RequestBody};
pub use content::{BodyStream, OutgoingContent, ResponseBody, UpgradeHandler};
pub use headers::{Headers, Values};
pub use multipart::Multipart;
pub use parameters::Parameters;
pub use request::{ConnectionInfo, Request};
pub use response::Response;
pub(crate) use response::{Committed, ResponseCell, ResponseState};

use crate::Error;
use crate::application::AppRuntime;
use crate::upgrade::Upgraded;
use bytes::Bytes;
use futures_core::Stream;
use http::{HeaderValue, StatusCode};
use std::fmt;
use std::future::Future;
use std::sync::Arc;

/// One request and its response (Ktor's `ApplicationCall`).
#[derive(Clone)]
pub struct ApplicationCall {
    pub(crate) inner: Arc<CallInner>,
}

pub(crate) struct CallInner {
    pub(crate) request: Request,
    pub(crate) response: ResponseCell,
    pub(crate) attributes: Attributes,
    pub(crate) body: BodyChannel,
    pub(crate) app: Arc<AppRuntime>,
}

impl fmt::Debug for ApplicationCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApplicationCall")
            .field("method", self.request().method())
            .field("uri", &self.request().uri())
            .finish_non_exhaustive()
    }
}

impl ApplicationCall {
    pub(crate) fn new(app: Arc<AppRuntime>, conn: ConnectionInfo) -> Self {
        Self {
            inner: Arc::new(CallInner {
                request: Request::new(conn),
                response: ResponseCell::default(),
                attributes: Attributes::default(),
                body: BodyChannel::default(),
                app,
            }),
        }
    }

    /// The call's state as it is, if nothing else holds the call any more.
    pub(crate) fn inner_mut(&mut self) -> Option<&mut CallInner> {
        Arc::get_mut(&mut self.inner)
    }

    pub(crate) fn recycle(&mut self) -> Option<&mut CallInner> {
        let inner = Arc::get_mut(&mut self.inner)?;
        inner.response.reset();
        inner.attributes.clear();
        Some(inner)
    }

    /// The request.
    pub fn request(&self) -> &Request {
        &self.inner.request
    }

    /// The response: status, headers, cookies.
    pub fn response(&self) -> Response<'_> {
        Response::new(&self.inner.response)
    }

    /// The call's typed attributes.
    pub fn attributes(&self) -> &Attributes {
        &self.inner.attributes
    }

    /// The route parameters of the matched route (`{id}` in `/users/{id}`); empty before routing.
    pub fn parameters(&self) -> &Parameters {
        static EMPTY: Parameters = Parameters::new();
        self.inner.request.route_parameters.get().unwrap_or(&EMPTY)
    }

    /// The application this call runs in.
    pub fn application(&self) -> &AppRuntime {
        &self.inner.app
    }

    /// A value the application registered with [`Application::state`](crate::Application::state).
    pub fn state<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.inner.app.state::<T>()
    }

    /// The body after the receive pipeline. It can be received once.
    pub async fn receive(&self) -> Result<IncomingBody, Error> {
        let body = IncomingBody::Stream(RequestBody::take(self)?);
        let chain = &self.inner.app.receive_chain;
        if chain.is_empty() {
            return Ok(body);
        }
        chain.execute(self.clone(), body).await
    }

    /// The whole body as bytes.
    pub async fn receive_bytes(&self) -> Result<Bytes, Error> {
        self.receive().await?.bytes().await
    }

    /// The whole body as UTF-8 text; 400 if it is not UTF-8.
    pub async fn receive_text(&self) -> Result<String, Error> {
        let bytes = self.receive_bytes().await?;
        String::from_utf8(bytes.into()).map_err(|e| Error::new(StatusCode::BAD_REQUEST, e))
    }

    /// The body as a stream of chunks, read as the stream is polled.
    pub async fn receive_stream(&self) -> Result<BodyStream, Error> {
        Ok(self.receive().await?.into_stream())
    }

    /// An `application/x-www-form-urlencoded` body, decoded; 415 for another content type.
    pub async fn receive_form(&self) -> Result<Parameters, Error> {
        let content_type = self.request().header("content-type").unwrap_or_default();
        let media_type = content_type.split(';').next().unwrap_or("").trim();
        if !media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(Error::status(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "expected a form-urlencoded body",
            ));
        }
        Ok(Parameters::parse_form(&self.receive_bytes().await?))
    }

    /// A `multipart/form-data` body, read part by part; 415 for another content type, 400 for a
    /// malformed body.
    pub async fn receive_multipart(&self) -> Result<Multipart, Error> {
        let content_type = self.request().header("content-type").unwrap_or_default();
        let boundary =
            crate::multipart::boundary_from_content_type(&content_type).ok_or_else(|| {
                Error::status(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "expected a multipart/form-data body",
                )
            })?;
        Multipart::new(self.receive_stream().await?, &boundary)
    }

    /// Responds with `content` after the send pipeline. The driver writes it once the handler
    /// returns or waits; a second response is an error.
    ///
    /// A plugin in the send pipeline may answer in this content's place by responding itself
    /// (`StatusPages` turns a bare status into its page this way): then this `respond` is done.
    pub async fn respond(&self, content: impl Into<OutgoingContent>) -> Result<(), Error> {
        let mut content = content.into();
        let app = &self.inner.app;
        let chain = &app.send_chain;
        if chain.is_empty()
            || (app.send_renders_only && !matches!(content.body, ResponseBody::Value(_)))
        {
            check_rendered(&content)?;
            return self.response().commit(content);
        }
        if self.response().is_committed() {
            return Err(response::already_responded());
        }
        content = chain.execute(self.clone(), content).await?;
        check_rendered(&content)?;
        self.response().commit_unless_answered(content)
    }

    /// Lowers the most request body bytes this call's receive accepts to `max_bytes` (a limit
    /// stricter than [`ConnConfig::max_body_size`](crate::conn::ConnConfig::max_body_size); a
    /// looser one changes nothing). A read past it fails with 413, counting the body's bytes as they
    /// come off the connection (after chunked decoding). The `RequestBodyLimit` plugin sets it.
    pub fn limit_request_body(&self, max_bytes: u64) {
        self.inner.body.limit(max_bytes);
    }

    /// Responds with text as `text/plain; charset=utf-8`.
    pub async fn respond_text(&self, text: impl Into<Bytes>) -> Result<(), Error> {
        self.respond(OutgoingContent::text(text)).await
    }

    /// Responds with bytes of a content type.
    pub async fn respond_bytes(
        &self,
        data: impl Into<Bytes>,
        content_type: HeaderValue,
    ) -> Result<(), Error> {
        self.respond(OutgoingContent::bytes(data, content_type))
            .await
    }

    /// Responds with only a status (and the headers set so far).
    pub async fn respond_status(&self, status: StatusCode) -> Result<(), Error> {
        self.respond(OutgoingContent::status(status)).await
    }

    /// Redirects to `location`: 301 when `permanent`, 302 otherwise.
    pub async fn respond_redirect(&self, location: &str, permanent: bool) -> Result<(), Error> {
        let status = if permanent {
            StatusCode::MOVED_PERMANENTLY
        } else {
            StatusCode::FOUND
        };
        self.respond_redirect_with(location, status).await
    }

    /// Redirects to `location` with a 3xx status (307 and 308 keep the method and body).
    pub async fn respond_redirect_with(
        &self,
        location: &str,
        status: StatusCode,
    ) -> Result<(), Error> {
        let value = HeaderValue::from_str(location)
            .map_err(|e| Error::new(StatusCode::INTERNAL_SERVER_ERROR, e))?;
        self.response().set_header(http::header::LOCATION, value);
        self.respond(OutgoingContent::status(status)).await
    }

    /// Responds with a body produced while it is sent, of unknown length (chunked).
    pub async fn respond_stream(
        &self,
        stream: impl Stream<Item = Result<Bytes, Error>> + Send + 'static,
        content_type: HeaderValue,
    ) -> Result<(), Error> {
        self.respond(OutgoingContent::stream(stream, content_type))
            .await
    }

    /// Answers `101 Switching Protocols` (with the `Upgrade` and `Connection` headers the handler
    /// set) and gives `handler` the raw connection once the 101 is written.
    pub async fn respond_upgrade<F, Fut>(&self, handler: F) -> Result<(), Error>
    where
        F: FnOnce(Upgraded) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler: UpgradeHandler = Box::new(move |io| Box::pin(handler(io)));
        let content = OutgoingContent {
            status: Some(StatusCode::SWITCHING_PROTOCOLS),
            content_type: None,
            body: ResponseBody::Upgrade(handler),
        };
        self.respond(content).await
    }
}

/// A typed value no send-pipeline plugin turned into bytes cannot be sent.
fn check_rendered(content: &OutgoingContent) -> Result<(), Error> {
    match content.body {
        ResponseBody::Value(_) => Err(Error::status(
            StatusCode::INTERNAL_SERVER_ERROR,
            "no plugin renders this response value",
        )),
        _ => Ok(()),
    }
}
