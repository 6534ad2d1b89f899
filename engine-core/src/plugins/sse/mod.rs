//! Server-sent events (Ktor's `SSE` plugin): `route.sse(path, handler)` answers `GET path` with a
//! `text/event-stream` (WHATWG HTML §9.2) and gives the handler an [`SseSession`] to send
//! [`ServerSentEvent`]s on.
//!
//! - The response is `200`, `Content-Type: text/event-stream`, `Cache-Control: no-cache`, chunked
//!   (close-delimited for HTTP/1.0). That content type is the signal for a compression plugin to
//!   leave the stream alone: compressing would hold events back in the encoder.
//! - Each event goes out as the handler sends it: the handler runs inside the response body's
//!   stream, and the connection driver flushes whenever the stream waits, so nothing is buffered
//!   behind an idle handler.
//! - A heartbeat ([`SseConfig::heartbeat`]) sends a comment when no event went out for that long,
//!   which keeps proxies from closing an idle stream and lets the server notice a client that left.
//! - The stream ends when the handler returns (after the events it queued) or drops its session.
//!   A client that leaves ends it too: the driver drops the stream, and the handler with it.
//!   A handler that fails aborts the connection, the only way to tell a client mid-stream; its
//!   `EventSource` reconnects.
//!
//! ```
//! use engine_core::Application;
//! use engine_core::plugins::sse::{ServerSentEvent, Sse, SseRoute, SseSession};
//! use std::time::Duration;
//!
//! let mut app = Application::new();
//! app.install(Sse, |c| c.heartbeat = Some(Duration::from_secs(15)));
//! app.routing(|route| {
//!     route.sse("/events", |session: SseSession| async move {
//!         for n in 0..3 {
//!             session.send(ServerSentEvent::data(format!("tick {n}")).with_id(n.to_string())).await?;
//!         }
//!         Ok(())
//!     });
//! });
//! ```

mod event;

pub use event::ServerSentEvent;

use crate::call::OutgoingContent;
use crate::pipeline::BoxFuture;
use crate::routing::Route;
use crate::{Application, ApplicationCall, Error, Plugin};
use bytes::Bytes;
use futures_core::Stream;
use http::header::CACHE_CONTROL;
use http::{HeaderValue, StatusCode};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::{Instant, Sleep};

/// The SSE plugin: installs an [`SseConfig`] for the application's SSE routes. Routes added with
/// [`SseRoute`] in an application without it use [`SseConfig::default`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Sse;

/// How SSE streams behave.
#[derive(Debug, Clone)]
pub struct SseConfig {
    /// Sends [`heartbeat_event`](Self::heartbeat_event) when no event went out for this long.
    /// `None`, the default (Ktor's), sends none.
    pub heartbeat: Option<Duration>,
    /// What a heartbeat sends. A comment, `: heartbeat`, by default: clients ignore it.
    pub heartbeat_event: ServerSentEvent,
    /// Events a handler may queue before [`SseSession::send`] waits for the connection.
    /// Default 16: enough to batch a burst into one write, few enough to push back on a handler
    /// that produces faster than the client reads.
    pub queue_size: usize,
}

impl Default for SseConfig {
    fn default() -> Self {
        Self {
            heartbeat: None,
            heartbeat_event: ServerSentEvent::comment("heartbeat"),
            queue_size: 16,
        }
    }
}

impl Plugin for Sse {
    type Config = SseConfig;
    const NAME: &'static str = "SSE";

    #[track_caller]
    fn install(self, app: &mut Application, config: SseConfig) {
        assert!(
            config.queue_size > 0,
            "SSE: the queue size must be at least 1"
        );
        assert!(
            config.heartbeat != Some(Duration::ZERO),
            "SSE: a heartbeat period must be longer than zero"
        );
        app.state(config);
    }
}

/// What a handler sends events on.
#[derive(Debug)]
pub struct SseSession {
    call: ApplicationCall,
    events: mpsc::Sender<Bytes>,
}

impl SseSession {
    /// Sends an event; waits while [`SseConfig::queue_size`] events are queued. Fails once the
    /// stream has ended (the client left), which only a session moved out of its handler sees.
    pub async fn send(&self, event: ServerSentEvent) -> Result<(), Error> {
        self.events
            .send(event.to_bytes())
            .await
            .map_err(|_| Error::status(StatusCode::GONE, "the SSE client has gone"))
    }

    /// The call the stream answers: its request, parameters, attributes.
    pub fn call(&self) -> &ApplicationCall {
        &self.call
    }

    /// The `Last-Event-ID` a reconnecting client sent: the `id` of the last event it saw.
    pub fn last_event_id(&self) -> Option<String> {
        self.call.request().header("last-event-id")
    }
}

/// An SSE handler: `async fn(SseSession) -> Result<(), Error>`, or a closure returning such a
/// future.
pub trait SseHandler: Send + Sync + 'static {
    /// Runs the stream.
    fn call(&self, session: SseSession) -> BoxFuture<'static, Result<(), Error>>;
}

impl<F, Fut> SseHandler for F
where
    F: Fn(SseSession) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Error>> + Send + 'static,
{
    fn call(&self, session: SseSession) -> BoxFuture<'static, Result<(), Error>> {
        Box::pin(self(session))
    }
}

/// SSE routes on routing's [`Route`].
pub trait SseRoute {
    /// An SSE endpoint: `GET path` answered with the events `handler` sends.
    fn sse(&mut self, path: &str, handler: impl SseHandler) -> &mut Self;
}

impl SseRoute for Route<'_> {
    #[track_caller]
    fn sse(&mut self, path: &str, handler: impl SseHandler) -> &mut Self {
        let handler: Arc<dyn SseHandler> = Arc::new(handler);
        self.get(path, move |call: ApplicationCall| {
            let handler = handler.clone();
            async move { respond_events(call, handler).await }
        })
    }
}

async fn respond_events(call: ApplicationCall, handler: Arc<dyn SseHandler>) -> Result<(), Error> {
    let config = call.state::<SseConfig>().cloned().unwrap_or_default();
    let (events, queue) = mpsc::channel(config.queue_size.max(1));
    let session = SseSession {
        call: call.clone(),
        events,
    };
    let stream = EventStream {
        queue,
        handler: Some(handler.call(session)),
        heartbeat: config
            .heartbeat
            .map(|period| Heartbeat::new(period, config.heartbeat_event.to_bytes())),
    };
    call.response()
        .set_header(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    let content_type = HeaderValue::from_static("text/event-stream");
    call.respond(OutgoingContent::stream(stream, content_type))
        .await
}

struct Heartbeat {
    period: Duration,
    sleep: Pin<Box<Sleep>>,
    bytes: Bytes,
}

impl Heartbeat {
    fn new(period: Duration, bytes: Bytes) -> Self {
        Self {
            period,
            sleep: Box::pin(tokio::time::sleep(period)),
            bytes,
        }
    }

    fn restart(&mut self) {
        let deadline = Instant::now() + self.period;
        self.sleep.as_mut().reset(deadline);
    }
}

/// The response body: the queued events, with the handler polled in the same task whenever the
/// queue is empty, and heartbeats in the gaps.
struct EventStream {
    queue: mpsc::Receiver<Bytes>,
    handler: Option<BoxFuture<'static, Result<(), Error>>>,
    heartbeat: Option<Heartbeat>,
}

impl Stream for EventStream {
    type Item = Result<Bytes, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            match this.queue.poll_recv(cx) {
                Poll::Ready(Some(event)) => {
                    if let Some(heartbeat) = &mut this.heartbeat {
                        heartbeat.restart();
                    }
                    return Poll::Ready(Some(Ok(event)));
                }
                // Every session is gone (the handler returned, or dropped it): the stream is over.
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => {}
            }
            let Some(handler) = &mut this.handler else {
                break;
            };
            match handler.as_mut().poll(cx) {
                Poll::Ready(Ok(())) => this.handler = None,
                Poll::Ready(Err(error)) => {
                    this.handler = None;
                    return Poll::Ready(Some(Err(error)));
                }
                Poll::Pending => break,
            }
        }
        if let Some(heartbeat) = &mut this.heartbeat
            && heartbeat.sleep.as_mut().poll(cx).is_ready()
        {
            heartbeat.restart();
            return Poll::Ready(Some(Ok(heartbeat.bytes.clone())));
        }
        Poll::Pending
    }
}
