//! Plugins built from hooks (Ktor's `createApplicationPlugin` and `createRouteScopedPlugin`): a
//! plugin says *when* its code runs (on the call, on receive, on respond, once the response is
//! sent) and the builder puts it in the right pipeline phase, so the plugin needs no phases of its
//! own.
//!
//! | hook | runs | where |
//! |---|---|---|
//! | [`PluginBuilder::on_call`] | once per call, before the handler; a hook that responds ends the call | call pipeline, [`CallPipeline::PLUGINS`] |
//! | [`PluginBuilder::on_call_receive`] | when the handler receives the body; may replace it | receive pipeline, [`ReceivePipeline::TRANSFORM`] |
//! | [`PluginBuilder::on_call_respond`] | when the handler responds; may replace the content | send pipeline, [`SendPipeline::TRANSFORM`] |
//! | [`PluginBuilder::on`] with [`ResponseSent`] | once per response, after its bytes were written or failed to be | the connection driver |
//!
//! `ResponseSent` is the only hook outside the pipelines: the driver writes a response after the
//! call's pipeline has finished, so only the driver knows when it is out. It runs synchronously in
//! the connection's task (spawn for slow work), also for responses nobody answered (404) and for
//! error responses, and not for a call cancelled before its response (the client left). A call
//! whose handler fails after responding sends that response, and the hook runs once for it. An
//! application with such a hook writes each response as soon as it is complete, so that "sent"
//! means handed to the engine, instead of gathering pipelined responses into one write. Without one
//! the driver does nothing more per response.
//!
//! A route-scoped plugin ([`create_route_scoped_plugin`]) has the `on_call` hook only: the receive
//! and send pipelines and the driver are the application's, not a route's.

use crate::call::{IncomingBody, OutgoingContent, ResponseBody};
use crate::pipeline::Pipeline;
use crate::routing::{Route, RoutePlugin};
use crate::{
    Application, ApplicationCall, CallPipeline, Error, Plugin, ReceivePipeline, SendPipeline,
};
use bytes::Bytes;
use http::StatusCode;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

/// A `ResponseSent` hook, type-erased.
pub(crate) type ResponseSentHandler = Arc<dyn Fn(&ApplicationCall, SentResponse) + Send + Sync>;

/// A plugin made of hooks, from [`create_application_plugin`]; installed with
/// [`Application::install`] like any plugin, its configuration of type `C`.
pub struct ApplicationPlugin<C: 'static = ()> {
    name: &'static str,
    setup: fn(&mut PluginBuilder<'_>, C),
}

/// Makes an application plugin called `name` from `setup`, which registers hooks and reads the
/// plugin's configuration. A `const fn`: plugins can be constants.
///
/// ```
/// use engine_core::hooks::{ApplicationPlugin, ResponseSent, SentResponse, create_application_plugin};
/// use engine_core::testing::test_application;
/// use engine_core::{Application, ApplicationCall};
///
/// /// Tags every response, and logs each one once it is sent.
/// #[derive(Default)]
/// struct MetricsConfig {
///     tag: &'static str,
/// }
///
/// const METRICS: ApplicationPlugin<MetricsConfig> =
///     create_application_plugin("Metrics", |plugin, config| {
///         plugin.on_call(move |call: ApplicationCall| async move {
///             call.response().header("x-metrics", config.tag)
///         });
///         plugin.on(ResponseSent, |call: &ApplicationCall, sent: SentResponse| {
///             tracing::info!(path = call.request().path(), status = %sent.status, "sent");
///         });
///     });
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let app = test_application(|app: &mut Application| {
///     app.install(METRICS, |c| c.tag = "on");
///     app.routing(|route| {
///         route.get("/", |call: ApplicationCall| async move { call.respond_text("hi").await });
///     });
/// });
/// let response = app.client().get("/").await.unwrap();
/// assert_eq!(response.header("x-metrics"), Some("on"));
/// # });
/// ```
pub const fn create_application_plugin<C>(
    name: &'static str,
    setup: fn(&mut PluginBuilder<'_>, C),
) -> ApplicationPlugin<C> {
    ApplicationPlugin { name, setup }
}

impl<C> Clone for ApplicationPlugin<C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C> Copy for ApplicationPlugin<C> {}

impl<C> fmt::Debug for ApplicationPlugin<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApplicationPlugin")
            .field("name", &self.name)
            .finish()
    }
}

impl<C: Default + 'static> Plugin for ApplicationPlugin<C> {
    type Config = C;
    const NAME: &'static str = "ApplicationPlugin";

    fn install(self, app: &mut Application, config: C) {
        let mut builder = PluginBuilder {
            app,
            name: self.name,
        };
        (self.setup)(&mut builder, config);
    }

    fn name(&self) -> &'static str {
        self.name
    }
}

/// What a hook plugin's setup registers its hooks with (Ktor's `PluginBuilder`).
pub struct PluginBuilder<'a> {
    app: &'a mut Application,
    name: &'static str,
}

impl fmt::Debug for PluginBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginBuilder")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl PluginBuilder<'_> {
    /// The plugin's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The application, for what hooks do not cover (state, other plugins, lifecycle events).
    pub fn application(&mut self) -> &mut Application {
        self.app
    }

    /// Runs `handler` once per call, before the handler, in [`CallPipeline::PLUGINS`]. A hook that
    /// responds (a 401, say) ends the call there: the handler does not run.
    pub fn on_call<F, Fut>(&mut self, handler: F) -> &mut Self
    where
        F: Fn(ApplicationCall) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Error>> + Send + 'static,
    {
        add_on_call(self.app.call_pipeline(), handler);
        self
    }

    /// Runs `handler` when the handler receives the body, in [`ReceivePipeline::TRANSFORM`]: it
    /// gets the body and returns the body the handler reads (the same one, or another).
    pub fn on_call_receive<F, Fut>(&mut self, handler: F) -> &mut Self
    where
        F: Fn(ApplicationCall, IncomingBody) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<IncomingBody, Error>> + Send + 'static,
    {
        self.app
            .receive_pipeline()
            .intercept_boxed(ReceivePipeline::TRANSFORM, move |ctx| {
                let body = std::mem::replace(&mut ctx.subject, IncomingBody::Bytes(Bytes::new()));
                let received = handler(ctx.context.clone(), body);
                Box::pin(async move {
                    ctx.subject = received.await?;
                    Ok(())
                })
            });
        self
    }

    /// Runs `handler` when the call responds, in [`SendPipeline::TRANSFORM`]: it gets the content
    /// and returns the content sent (the same, or another).
    pub fn on_call_respond<F, Fut>(&mut self, handler: F) -> &mut Self
    where
        F: Fn(ApplicationCall, OutgoingContent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<OutgoingContent, Error>> + Send + 'static,
    {
        self.app
            .send_pipeline()
            .intercept_boxed(SendPipeline::TRANSFORM, move |ctx| {
                let placeholder = OutgoingContent {
                    status: None,
                    content_type: None,
                    body: ResponseBody::Empty,
                };
                let content = std::mem::replace(&mut ctx.subject, placeholder);
                let responded = handler(ctx.context.clone(), content);
                Box::pin(async move {
                    ctx.subject = responded.await?;
                    Ok(())
                })
            });
        self
    }

    /// Runs `handler` at `hook` (Ktor's `on(Hook)`), for hooks outside the list above:
    /// [`ResponseSent`], or a [`Hook`] of the application's own.
    pub fn on<H: Hook<F>, F>(&mut self, hook: H, handler: F) -> &mut Self {
        hook.install(self.app, handler);
        self
    }
}

/// A moment a plugin can run code at, with the handler type `F` it takes (Ktor's `Hook`).
pub trait Hook<F> {
    /// Installs `handler` so that it runs at this hook.
    fn install(self, app: &mut Application, handler: F);
}

/// The hook after a response went out (Ktor's `ResponseSent`): its handler gets the call and a
/// [`SentResponse`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ResponseSent;

/// What [`ResponseSent`] tells its handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SentResponse {
    /// The status the response had (an unhandled error's status, 404 when nobody answered).
    pub status: StatusCode,
    /// Whether the whole response was handed to the engine: `false` when a write failed, a
    /// streamed body failed or the client left while it was written.
    pub completed: bool,
}

impl<F> Hook<F> for ResponseSent
where
    F: Fn(&ApplicationCall, SentResponse) + Send + Sync + 'static,
{
    fn install(self, app: &mut Application, handler: F) {
        app.response_sent.push(Arc::new(handler));
    }
}

/// Runs the application's `ResponseSent` hooks for `call`. A hook that panics is logged and the
/// others still run: the connection does not depend on them.
pub(crate) fn run_response_sent(call: &ApplicationCall, sent: SentResponse) {
    for hook in &call.application().response_sent {
        if catch_unwind(AssertUnwindSafe(|| hook(call, sent))).is_err() {
            tracing::error!(status = %sent.status, "a ResponseSent hook panicked");
        }
    }
}

/// A route-scoped plugin made of hooks, from [`create_route_scoped_plugin`]: installed on a route
/// with [`Route::install`] (it applies to the route and every route under it), or on the whole
/// application with [`Application::install`].
pub struct RouteScopedPlugin<C: 'static = ()> {
    name: &'static str,
    setup: fn(&mut RoutePluginBuilder<'_>, C),
}

/// Makes a route-scoped plugin called `name` from `setup` (Ktor's `createRouteScopedPlugin`).
///
/// ```
/// use engine_core::hooks::{RouteScopedPlugin, create_route_scoped_plugin};
/// use engine_core::testing::test_application;
/// use engine_core::{Application, ApplicationCall};
/// use http::StatusCode;
///
/// /// Answers 403 unless the request has the header named in the configuration.
/// #[derive(Default)]
/// struct RequireHeaderConfig {
///     name: &'static str,
/// }
///
/// const REQUIRE_HEADER: RouteScopedPlugin<RequireHeaderConfig> =
///     create_route_scoped_plugin("RequireHeader", |plugin, config| {
///         plugin.on_call(move |call: ApplicationCall| async move {
///             if call.request().headers().get(config.name).is_none() {
///                 call.respond_status(StatusCode::FORBIDDEN).await?;
///             }
///             Ok(())
///         });
///     });
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let app = test_application(|app: &mut Application| {
///     app.routing(|route| {
///         route.route("/admin", |admin| {
///             admin.install(REQUIRE_HEADER, |c| c.name = "x-admin");
///             admin.get("/stats", |call: ApplicationCall| async move { call.respond_text("42").await });
///         });
///         route.get("/", |call: ApplicationCall| async move { call.respond_text("open").await });
///     });
/// });
/// let client = app.client();
/// assert_eq!(client.get("/admin/stats").await.unwrap().status, StatusCode::FORBIDDEN);
/// assert_eq!(client.get("/").await.unwrap().text(), "open");
/// # });
/// ```
pub const fn create_route_scoped_plugin<C>(
    name: &'static str,
    setup: fn(&mut RoutePluginBuilder<'_>, C),
) -> RouteScopedPlugin<C> {
    RouteScopedPlugin { name, setup }
}

impl<C> Clone for RouteScopedPlugin<C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C> Copy for RouteScopedPlugin<C> {}

impl<C> fmt::Debug for RouteScopedPlugin<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouteScopedPlugin")
            .field("name", &self.name)
            .finish()
    }
}

impl<C: Default + 'static> RoutePlugin for RouteScopedPlugin<C> {
    type Config = C;

    fn install(self, route: &mut Route, config: C) {
        let mut builder = RoutePluginBuilder {
            pipeline: route.pipeline(),
            name: self.name,
        };
        (self.setup)(&mut builder, config);
    }
}

impl<C: Default + 'static> Plugin for RouteScopedPlugin<C> {
    type Config = C;
    const NAME: &'static str = "RouteScopedPlugin";

    fn install(self, app: &mut Application, config: C) {
        let mut builder = RoutePluginBuilder {
            pipeline: app.call_pipeline(),
            name: self.name,
        };
        (self.setup)(&mut builder, config);
    }

    fn name(&self) -> &'static str {
        self.name
    }
}

/// What a route-scoped hook plugin's setup registers its hooks with.
pub struct RoutePluginBuilder<'a> {
    pipeline: &'a mut Pipeline<(), ApplicationCall>,
    name: &'static str,
}

impl fmt::Debug for RoutePluginBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoutePluginBuilder")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl RoutePluginBuilder<'_> {
    /// The plugin's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Runs `handler` once per call of the route (or of the application, when installed there),
    /// before the handler; a hook that responds ends the call. See [`PluginBuilder::on_call`].
    pub fn on_call<F, Fut>(&mut self, handler: F) -> &mut Self
    where
        F: Fn(ApplicationCall) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Error>> + Send + 'static,
    {
        add_on_call(self.pipeline, handler);
        self
    }
}

/// The `on_call` hook in `pipeline`'s Plugins phase: the handler's future in the interceptor's
/// own (one boxed future per call), and the rest of the call skipped once it has responded.
fn add_on_call<F, Fut>(pipeline: &mut Pipeline<(), ApplicationCall>, handler: F)
where
    F: Fn(ApplicationCall) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Error>> + Send + 'static,
{
    pipeline.intercept_boxed(CallPipeline::PLUGINS, move |ctx| {
        let called = handler(ctx.context.clone());
        Box::pin(async move {
            called.await?;
            if ctx.context.response().is_committed() {
                ctx.finish();
            }
            Ok(())
        })
    });
}
