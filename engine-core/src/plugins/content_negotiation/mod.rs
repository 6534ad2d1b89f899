//! `ContentNegotiation` (Ktor's plugin of the same name): handlers respond with typed values and
//! receive typed bodies; converters turn them into bytes of a media type and back.
//!
//! - [`TypedContent::respond_value`] responds with any `serde::Serialize` value. In
//!   [`SendPipeline::RENDER`] the plugin picks the converter `Accept` prefers (q-values, `type/*`,
//!   `*/*`; see [`accept`]), among equals the first registered, and writes the value with it.
//!   `Accept` that excludes every converter: 406. With more than one converter the response
//!   carries `Vary: Accept`.
//! - [`TypedContent::receive_value`] reads the body (after the receive pipeline, so decompressed
//!   if `Compression` is installed) with the converter for the request's `Content-Type`: none, or
//!   one no converter reads, is 415; a body that does not parse into the type is 400.
//!
//! JSON on serde_json ([`JsonConverter`]) is registered by default; more converters with
//! [`ContentNegotiationConfig::register`].
//!
//! Why `erased-serde` for the value in [`ResponseBody::Value`]: the body is `Box<dyn Any>`, and the
//! format is chosen per request among converters registered at start-up. A boxed closure that
//! serializes would have to know the format when the handler responds; an erased `Serialize`
//! (the [`Serializable`] in the box) can be written by any serde format the converters bring.
//!
//! ```
//! use engine_core::plugins::content_negotiation::{ContentNegotiation, TypedContent};
//! use engine_core::testing::test_application;
//! use engine_core::{Application, ApplicationCall};
//! use http::Method;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct User { name: String }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let app = test_application(|app: &mut Application| {
//!     app.install(ContentNegotiation, |_| {});
//!     app.routing(|route| {
//!         route.post("/users", |call: ApplicationCall| async move {
//!             let user: User = call.receive_value().await?;
//!             call.respond_value(User { name: user.name.to_uppercase() }).await
//!         });
//!     });
//! });
//! let headers = [("content-type", "application/json"), ("accept", "application/json")];
//! let body = br#"{"name":"ada"}"#.as_slice().into();
//! let response = app.client().request(Method::POST, "/users", &headers, body).await.unwrap();
//! assert_eq!(response.header("content-type"), Some("application/json"));
//! assert_eq!(response.text(), r#"{"name":"ADA"}"#);
//! # });
//! ```

pub mod accept;
mod converter;

pub use converter::{ContentConverter, JsonConverter, Visit};
pub use erased_serde;

use super::content_phases::add_vary;
use super::field_values::essence;
use crate::call::{OutgoingContent, ResponseBody};
use crate::pipeline::finished;
use crate::{Application, ApplicationCall, Error, Plugin, SendPipeline};
use http::StatusCode;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

/// The `ContentNegotiation` plugin.
#[derive(Debug, Clone, Copy, Default)]
pub struct ContentNegotiation;

/// The converters of [`ContentNegotiation`], in the server's order of preference.
#[derive(Clone)]
pub struct ContentNegotiationConfig {
    converters: Vec<Arc<dyn ContentConverter>>,
}

impl Default for ContentNegotiationConfig {
    /// JSON only.
    fn default() -> Self {
        Self {
            converters: vec![Arc::new(JsonConverter)],
        }
    }
}

impl fmt::Debug for ContentNegotiationConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.converters.iter().map(|c| c.content_type()))
            .finish()
    }
}

impl ContentNegotiationConfig {
    /// Adds a converter after those registered so far: it wins over them only where `Accept`
    /// prefers its media type.
    pub fn register(&mut self, converter: impl ContentConverter) -> &mut Self {
        self.converters.push(Arc::new(converter));
        self
    }

    /// Removes every converter, the built-in JSON one included, to register others in another order.
    pub fn clear(&mut self) -> &mut Self {
        self.converters.clear();
        self
    }
}

/// The registered converters, for the render interceptor and for `receive_value`.
#[derive(Clone)]
struct Converters {
    converters: Arc<[Arc<dyn ContentConverter>]>,
    /// Each converter's media type, lowercase, for `Accept` matching.
    media_types: Arc<[String]>,
}

impl Converters {
    fn reader(&self, media_type: &str) -> Option<&Arc<dyn ContentConverter>> {
        self.converters.iter().find(|c| c.reads(media_type))
    }
}

/// A value any registered converter can write: what [`TypedContent::respond_value`] puts in
/// [`ResponseBody::Value`].
pub struct Serializable(Box<dyn erased_serde::Serialize + Send>);

impl Serializable {
    /// Wraps `value`.
    pub fn new<T: Serialize + Send + 'static>(value: T) -> Self {
        Self(Box::new(value))
    }
}

impl fmt::Debug for Serializable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Serializable")
    }
}

impl From<Serializable> for OutgoingContent {
    fn from(value: Serializable) -> Self {
        OutgoingContent::value(value)
    }
}

/// Typed responses and bodies on a call (Ktor's `call.respond(value)` and `call.receive<T>()`).
pub trait TypedContent {
    /// Responds with `value`, written by the converter `Accept` prefers. For another status,
    /// respond with `OutgoingContent::from(Serializable::new(value)).with_status(..)`.
    fn respond_value<T: Serialize + Send + 'static>(
        &self,
        value: T,
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// Receives the body as a `T`, read by the converter for its `Content-Type`.
    fn receive_value<T: DeserializeOwned + Send + 'static>(
        &self,
    ) -> impl Future<Output = Result<T, Error>> + Send;
}

impl TypedContent for ApplicationCall {
    fn respond_value<T: Serialize + Send + 'static>(
        &self,
        value: T,
    ) -> impl Future<Output = Result<(), Error>> + Send {
        self.respond(Serializable::new(value))
    }

    async fn receive_value<T: DeserializeOwned + Send + 'static>(&self) -> Result<T, Error> {
        let converter = reader(self)?;
        let body = self.receive_bytes().await?;
        let mut value = None;
        converter.deserialize(&body, &mut |deserializer| {
            value = Some(erased_serde::deserialize::<T>(deserializer)?);
            Ok(())
        })?;
        value.ok_or_else(|| Error::status(StatusCode::BAD_REQUEST, "the converter read no value"))
    }
}

/// The converter for the request's `Content-Type`, or the error to answer with.
fn reader(call: &ApplicationCall) -> Result<Arc<dyn ContentConverter>, Error> {
    let converters = call.state::<Converters>().ok_or_else(|| {
        Error::status(
            StatusCode::INTERNAL_SERVER_ERROR,
            "receive_value needs the ContentNegotiation plugin",
        )
    })?;
    let unsupported = || {
        Error::status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "no converter reads this Content-Type",
        )
    };
    let content_type = call
        .request()
        .header("content-type")
        .ok_or_else(unsupported)?;
    let media_type = essence(&content_type).to_ascii_lowercase();
    converters
        .reader(&media_type)
        .cloned()
        .ok_or_else(unsupported)
}

impl Plugin for ContentNegotiation {
    type Config = ContentNegotiationConfig;
    const NAME: &'static str = "ContentNegotiation";

    #[track_caller]
    fn install(self, app: &mut Application, config: ContentNegotiationConfig) {
        assert!(
            !config.converters.is_empty(),
            "ContentNegotiation: no converter registered"
        );
        let media_types: Vec<String> = config
            .converters
            .iter()
            .map(|c| {
                let content_type = c.content_type();
                let text = content_type.to_str().unwrap_or_default();
                essence(text).to_ascii_lowercase()
            })
            .collect();
        let converters = Converters {
            converters: config.converters.into(),
            media_types: media_types.into(),
        };
        app.state(converters.clone());
        // Other content passes `render` untouched: responses that are already bytes skip the
        // send pipeline while it holds only renderers.
        app.intercept_send_values(SendPipeline::RENDER, move |ctx| {
            let result = render(&converters, &ctx.context, &mut ctx.subject);
            finished(result)
        });
    }
}

/// Writes a [`Serializable`] value with the converter `Accept` prefers; other content passes.
fn render(
    converters: &Converters,
    call: &ApplicationCall,
    content: &mut OutgoingContent,
) -> Result<(), Error> {
    let ResponseBody::Value(value) = &content.body else {
        return Ok(());
    };
    let Some(value) = value.downcast_ref::<Serializable>() else {
        return Ok(());
    };
    let accept = call.request().headers().joined("accept");
    let offered: Vec<&str> = converters.media_types.iter().map(String::as_str).collect();
    let chosen = accept::negotiate(accept.as_deref(), &offered).ok_or_else(|| {
        Error::status(
            StatusCode::NOT_ACCEPTABLE,
            "no converter writes a media type the client accepts",
        )
    })?;
    let converter = &converters.converters[chosen];
    let bytes = converter.serialize(&*value.0)?;
    if converters.converters.len() > 1 {
        add_vary(call, "accept");
    }
    content.body = ResponseBody::Bytes(bytes);
    content.content_type = Some(converter.content_type());
    Ok(())
}
