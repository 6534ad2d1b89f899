//! `Application`: what modules configure (Ktor's `Application`). Modules install plugins,
//! intercept the pipelines, add routes and register state; when the server starts, the application
//! is frozen into an [`AppRuntime`] that every call shares and no call can change.
//!
//! The three server pipelines and their phases, in Ktor's order:
//! - call: [`CallPipeline::SETUP`], `MONITORING`, `PLUGINS`, `CALL`, `FALLBACK` (subject `()`);
//! - receive: [`ReceivePipeline::BEFORE`], `TRANSFORM`, `AFTER` (subject [`IncomingBody`]);
//! - send: [`SendPipeline::BEFORE`], `TRANSFORM`, `RENDER`, `CONTENT_ENCODING`,
//!   `TRANSFER_ENCODING`, `AFTER` (subject [`OutgoingContent`]).

use crate::Error;
use crate::call::{ApplicationCall, Attributes, IncomingBody, OutgoingContent};
use crate::hooks::ResponseSentHandler;
use crate::pipeline::{BoxFuture, Chain, FromBoxed, Interceptor, Phase, Pipeline, PipelineContext};
use crate::routing::RoutingInterceptor;
use std::any::{Any, TypeId};
use std::fmt;
use std::sync::Arc;

/// The phases of the call pipeline.
#[derive(Debug)]
pub struct CallPipeline;

impl CallPipeline {
    /// Prepares the call (call ids, request rewriting).
    pub const SETUP: Phase = Phase::new("Setup");
    /// Observes the call (logging, metrics): interceptors here usually `proceed` and measure.
    pub const MONITORING: Phase = Phase::new("Monitoring");
    /// Plugins that may answer before the handler: authentication, CORS, redirects.
    pub const PLUGINS: Phase = Phase::new("Plugins");
    /// The handler: routing runs here.
    pub const CALL: Phase = Phase::new("Call");
    /// Runs when nothing answered: the last chance to respond (404 otherwise).
    pub const FALLBACK: Phase = Phase::new("Fallback");
    /// The phases in order.
    pub const PHASES: [Phase; 5] = [
        Self::SETUP,
        Self::MONITORING,
        Self::PLUGINS,
        Self::CALL,
        Self::FALLBACK,
    ];
}

/// The phases of the receive pipeline.
#[derive(Debug)]
pub struct ReceivePipeline;

impl ReceivePipeline {
    /// Before any transformation.
    pub const BEFORE: Phase = Phase::new("Before");
    /// Transformations of the body (decompression, substitution).
    pub const TRANSFORM: Phase = Phase::new("Transform");
    /// After the transformations.
    pub const AFTER: Phase = Phase::new("After");
    /// The phases in order.
    pub const PHASES: [Phase; 3] = [Self::BEFORE, Self::TRANSFORM, Self::AFTER];
}

/// The phases of the send pipeline.
#[derive(Debug)]
pub struct SendPipeline;

impl SendPipeline {
    /// Before any transformation.
    pub const BEFORE: Phase = Phase::new("Before");
    /// Transformations of the content.
    pub const TRANSFORM: Phase = Phase::new("Transform");
    /// Turning typed values into bytes (content negotiation).
    pub const RENDER: Phase = Phase::new("Render");
    /// Compression.
    pub const CONTENT_ENCODING: Phase = Phase::new("ContentEncoding");
    /// Transfer codings.
    pub const TRANSFER_ENCODING: Phase = Phase::new("TransferEncoding");
    /// After everything.
    pub const AFTER: Phase = Phase::new("After");
    /// The phases in order.
    pub const PHASES: [Phase; 6] = [
        Self::BEFORE,
        Self::TRANSFORM,
        Self::RENDER,
        Self::CONTENT_ENCODING,
        Self::TRANSFER_ENCODING,
        Self::AFTER,
    ];
}

/// A moment in the application's life (Ktor's `ApplicationStarting` ... `ApplicationStopped`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LifecycleEvent {
    /// The modules ran; the engine is about to bind.
    Starting,
    /// The engine listens; requests are served.
    Started,
    /// Stop began: no new connections; in-flight calls finish.
    Stopping,
    /// Every connection is closed.
    Stopped,
}

type Listener = Arc<dyn Fn(&AppRuntime) + Send + Sync>;
type Finisher = Box<dyn FnOnce(&mut Application) + Send>;

/// A plugin: installs interceptors and state into an application (Ktor's `Plugin`).
///
/// ```
/// use engine_core::{Application, CallPipeline, Plugin};
/// use http::HeaderValue;
///
/// /// Adds `X-Powered-By` to every response.
/// struct PoweredBy;
/// #[derive(Default)]
/// struct PoweredByConfig { value: &'static str }
///
/// impl Plugin for PoweredBy {
///     type Config = PoweredByConfig;
///     const NAME: &'static str = "PoweredBy";
///     fn install(self, app: &mut Application, config: PoweredByConfig) {
///         let value = HeaderValue::from_static(config.value);
///         app.call_pipeline().intercept_boxed(CallPipeline::PLUGINS, move |ctx| {
///             ctx.context.response().set_header("x-powered-by", value.clone());
///             engine_core::pipeline::done()
///         });
///     }
/// }
///
/// let mut app = Application::new();
/// app.install(PoweredBy, |c| c.value = "engine-core");
/// assert!(app.is_installed::<PoweredBy>());
/// ```
pub trait Plugin: Sized + 'static {
    /// What `install`'s configuration closure fills in.
    type Config: Default;
    /// The plugin's name, for errors and logs.
    const NAME: &'static str;
    /// Installs the plugin.
    fn install(self, app: &mut Application, config: Self::Config);
    /// This plugin's name: [`NAME`](Self::NAME), unless one type stands for several plugins (the
    /// plugins of [`create_application_plugin`](crate::hooks::create_application_plugin) are one
    /// type with a name each). A plugin is installed once per type and name.
    fn name(&self) -> &'static str {
        Self::NAME
    }
}

/// What modules configure.
pub struct Application {
    call: Pipeline<(), ApplicationCall>,
    receive: Pipeline<IncomingBody, ApplicationCall>,
    send: Pipeline<OutgoingContent, ApplicationCall>,
    installed: Vec<(TypeId, &'static str)>,
    state: Vec<(TypeId, Box<dyn Any + Send + Sync>)>,
    listeners: Vec<(LifecycleEvent, Listener)>,
    finishers: Vec<Finisher>,
    attributes: Attributes,
    development: bool,
    /// The `ResponseSent` hooks (see [`crate::hooks`]), run by the connection driver.
    pub(crate) response_sent: Vec<ResponseSentHandler>,
    /// The send pipeline's interceptors that only typed values concern
    /// ([`intercept_send_values`](Self::intercept_send_values)).
    value_interceptors: Vec<SendInterceptor>,
    /// The Routing plugin's interceptor, once the tree is built.
    pub(crate) routing: Option<Arc<RoutingInterceptor>>,
}

type SendInterceptor = Arc<dyn Interceptor<OutgoingContent, ApplicationCall>>;

impl fmt::Debug for Application {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Application")
            .field("call", &self.call)
            .field(
                "plugins",
                &self.installed.iter().map(|(_, n)| n).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Default for Application {
    fn default() -> Self {
        Self::new()
    }
}

impl Application {
    /// An application with the three pipelines and nothing installed.
    pub fn new() -> Self {
        Self {
            call: Pipeline::new(&CallPipeline::PHASES),
            receive: Pipeline::new(&ReceivePipeline::PHASES),
            send: Pipeline::new(&SendPipeline::PHASES),
            installed: Vec::new(),
            state: Vec::new(),
            listeners: Vec::new(),
            finishers: Vec::new(),
            attributes: Attributes::default(),
            development: false,
            response_sent: Vec::new(),
            value_interceptors: Vec::new(),
            routing: None,
        }
    }

    /// The call pipeline, to intercept.
    pub fn call_pipeline(&mut self) -> &mut Pipeline<(), ApplicationCall> {
        &mut self.call
    }

    /// The receive pipeline, to intercept.
    pub fn receive_pipeline(&mut self) -> &mut Pipeline<IncomingBody, ApplicationCall> {
        &mut self.receive
    }

    /// The send pipeline, to intercept.
    pub fn send_pipeline(&mut self) -> &mut Pipeline<OutgoingContent, ApplicationCall> {
        &mut self.send
    }

    /// Adds `interceptor` to the send pipeline at `phase` as one that only typed values concern
    /// ([`OutgoingContent::value`]): a renderer, such as ContentNegotiation's, that turns them into
    /// bytes and must leave every other content as it is. While the send pipeline holds nothing
    /// else, content that is already rendered (bytes, text, a stream, a status, an upgrade) is
    /// committed without running it: nothing in it would change that content, and running it
    /// costs every such response a pipeline execution (about 250 instructions and four atomic
    /// read-modify-writes per `/plaintext` call, `benches/wrk/atomics.sh`).
    #[track_caller]
    pub fn intercept_send_values<F>(&mut self, phase: Phase, interceptor: F)
    where
        F: for<'a> Fn(
                &'a mut PipelineContext<OutgoingContent, ApplicationCall>,
            ) -> BoxFuture<'a, Result<(), Error>>
            + Send
            + Sync
            + 'static,
    {
        let interceptor: SendInterceptor = Arc::new(FromBoxed(interceptor));
        self.send.intercept_with(phase, interceptor.clone());
        self.value_interceptors.push(interceptor);
    }

    /// Installs `plugin`, configured by `configure`.
    ///
    /// # Panics
    /// If the plugin is installed already: a configuration mistake (Ktor's `DuplicatePluginException`).
    #[track_caller]
    pub fn install<P: Plugin>(&mut self, plugin: P, configure: impl FnOnce(&mut P::Config)) {
        let name = plugin.name();
        assert!(
            !self.installed.contains(&(TypeId::of::<P>(), name)),
            "plugin {name} is already installed",
        );
        self.installed.push((TypeId::of::<P>(), name));
        let mut config = P::Config::default();
        configure(&mut config);
        plugin.install(self, config);
    }

    /// Whether plugin `P` is installed.
    pub fn is_installed<P: Plugin>(&self) -> bool {
        self.installed
            .iter()
            .any(|(id, _)| *id == TypeId::of::<P>())
    }

    /// Whether a plugin with this [`name`](Plugin::name) is installed.
    pub fn is_installed_named(&self, name: &str) -> bool {
        self.installed.iter().any(|(_, n)| *n == name)
    }

    /// Registers a value handlers read with [`ApplicationCall::state`]; one value per type, a later
    /// one replacing an earlier one.
    pub fn state<T: Send + Sync + 'static>(&mut self, value: T) {
        self.state.retain(|(id, _)| *id != TypeId::of::<T>());
        self.state.push((TypeId::of::<T>(), Box::new(value)));
    }

    /// A registered value, while configuring.
    pub fn get_state<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.state
            .iter()
            .find(|(id, _)| *id == TypeId::of::<T>())
            .and_then(|(_, v)| v.downcast_ref())
    }

    /// A registered value, mutably, while configuring.
    pub fn get_state_mut<T: Send + Sync + 'static>(&mut self) -> Option<&mut T> {
        self.state
            .iter_mut()
            .find(|(id, _)| *id == TypeId::of::<T>())
            .and_then(|(_, v)| v.downcast_mut())
    }

    /// The application's attributes.
    pub fn attributes(&self) -> &Attributes {
        &self.attributes
    }

    /// Calls `listener` at `event`.
    pub fn subscribe(
        &mut self,
        event: LifecycleEvent,
        listener: impl Fn(&AppRuntime) + Send + Sync + 'static,
    ) {
        self.listeners.push((event, Arc::new(listener)));
    }

    /// Runs `finish` when the application is frozen, after every module: for plugins that build one
    /// structure from what several modules added (routing builds its tree this way).
    pub fn on_freeze(&mut self, finish: impl FnOnce(&mut Application) + Send + 'static) {
        self.finishers.push(Box::new(finish));
    }

    /// Development mode: error responses name the error. Off by default.
    pub fn set_development(&mut self, development: bool) {
        self.development = development;
    }

    /// Freezes the application for serving.
    pub fn freeze(mut self) -> Arc<AppRuntime> {
        while !self.finishers.is_empty() {
            for finish in std::mem::take(&mut self.finishers) {
                finish(&mut self);
            }
        }
        let send_renders_only = self.send.interceptors().all(|interceptor| {
            self.value_interceptors
                .iter()
                .any(|value| Arc::ptr_eq(interceptor, value))
        });
        // Routing alone in the call pipeline: the driver may run a route's handler itself.
        let mut call_interceptors = self.call.interceptors();
        let direct_routing = match (call_interceptors.next(), call_interceptors.next()) {
            (Some(only), None) => self
                .routing
                .filter(|routing| std::ptr::addr_eq(Arc::as_ptr(only), Arc::as_ptr(routing))),
            _ => None,
        };
        Arc::new(AppRuntime {
            direct_routing,
            call_chain: self.call.chain(),
            receive_chain: self.receive.chain(),
            send_chain: self.send.chain(),
            send_renders_only,
            state: self.state,
            listeners: self.listeners,
            attributes: self.attributes,
            development: self.development,
            response_sent: self.response_sent.into(),
        })
    }
}

/// A frozen application: what every call shares.
pub struct AppRuntime {
    pub(crate) call_chain: Chain<(), ApplicationCall>,
    /// The Routing interceptor when it is the call pipeline's only one: see
    /// [`RoutingInterceptor::direct`].
    pub(crate) direct_routing: Option<Arc<RoutingInterceptor>>,
    pub(crate) receive_chain: Chain<IncomingBody, ApplicationCall>,
    pub(crate) send_chain: Chain<OutgoingContent, ApplicationCall>,
    /// Every interceptor of `send_chain` only renders typed values
    /// ([`Application::intercept_send_values`]): rendered content skips it.
    pub(crate) send_renders_only: bool,
    state: Vec<(TypeId, Box<dyn Any + Send + Sync>)>,
    listeners: Vec<(LifecycleEvent, Listener)>,
    attributes: Attributes,
    pub(crate) development: bool,
    pub(crate) response_sent: Box<[ResponseSentHandler]>,
}

impl fmt::Debug for AppRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppRuntime")
            .field("call_chain", &self.call_chain)
            .finish_non_exhaustive()
    }
}

impl AppRuntime {
    /// A value registered with [`Application::state`].
    pub fn state<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.state
            .iter()
            .find(|(id, _)| *id == TypeId::of::<T>())
            .and_then(|(_, v)| v.downcast_ref())
    }

    /// The application's attributes.
    pub fn attributes(&self) -> &Attributes {
        &self.attributes
    }

    /// Whether error responses name the error.
    pub fn is_development(&self) -> bool {
        self.development
    }

    /// Whether a plugin registered a `ResponseSent` hook: without one, the driver does nothing more
    /// per response.
    pub(crate) fn has_response_sent_hooks(&self) -> bool {
        !self.response_sent.is_empty()
    }

    /// Calls the listeners of `event`, in the order they subscribed.
    pub fn raise(&self, event: LifecycleEvent) {
        for (_, listener) in self.listeners.iter().filter(|(e, _)| *e == event) {
            listener(self);
        }
    }
}

/// A module: a function that configures the application (`fn landing(app: &mut Application)`), or
/// one that can fail (`-> Result<(), Error>`), which fails the start.
pub trait Module: Send + 'static {
    /// Configures `app`.
    fn configure(self: Box<Self>, app: &mut Application) -> Result<(), Error>;
}

/// What a module function may return: nothing, or a `Result`.
pub trait ModuleOutput {
    /// As a `Result`.
    fn into_result(self) -> Result<(), Error>;
}

impl ModuleOutput for () {
    fn into_result(self) -> Result<(), Error> {
        Ok(())
    }
}

impl<E: Into<Error>> ModuleOutput for Result<(), E> {
    fn into_result(self) -> Result<(), Error> {
        self.map_err(Into::into)
    }
}

impl<F, R> Module for F
where
    F: FnOnce(&mut Application) -> R + Send + 'static,
    R: ModuleOutput,
{
    fn configure(self: Box<Self>, app: &mut Application) -> Result<(), Error> {
        (*self)(app).into_result()
    }
}

impl Module for Box<dyn Module> {
    fn configure(self: Box<Self>, app: &mut Application) -> Result<(), Error> {
        (*self).configure(app)
    }
}
