//! The Routing plugin (Ktor's `Routing`): the route tree filled with handlers, each route with its
//! own pipeline merged from the root down, and one interceptor in the call pipeline's `Call` phase
//! that resolves the request and runs the route's pipeline.
//!
//! - A match runs the route's pipeline: the interceptors of every route from the root to it, then
//!   the handler (the last interceptor of its `Call` phase, so route interceptors can wrap it).
//! - A path that matches with no handler for the method: 405 with `Allow`.
//! - No match: nothing is answered here; the call falls through to 404.
//! - A path whose percent-encoding is broken: 400.
//!
//! Routes from every module's `routing` block join one tree, built when the application is frozen;
//! two handlers for the same path and method stop the start-up with both places named.

use super::{HandlerSlot, Resolution, RouteBuilder, Router};
use crate::Error;
use crate::application::{Application, CallPipeline, Plugin};
use crate::call::{ApplicationCall, Parameters};
use crate::pipeline::{
    BoxFuture, Chain, Interceptor, InterceptorFn, Phase, Pipeline, PipelineContext, done,
};
use http::{HeaderValue, Method, StatusCode};
use std::future::Future;
use std::sync::{Arc, OnceLock};

/// A route handler: `async fn(ApplicationCall) -> Result<(), Error>`, or a closure returning such
/// a future (closures may capture state).
pub trait Handler: Send + Sync + 'static {
    /// Handles the call.
    fn call(&self, call: ApplicationCall) -> BoxFuture<'static, Result<(), Error>>;

    /// Handles the call with its future in `slot`, memory the connection reuses call after call
    /// (the driver's path for a route without interceptors of its own, when routing is the only
    /// interceptor of the call pipeline). The default puts [`call`](Self::call)'s boxed future
    /// there; closures put their future itself, so a call allocates nothing.
    fn call_in(&self, call: ApplicationCall, slot: &mut HandlerSlot) {
        slot.set(self.call(call));
    }
}

impl<F, Fut> Handler for F
where
    F: Fn(ApplicationCall) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Error>> + Send + 'static,
{
    fn call(&self, call: ApplicationCall) -> BoxFuture<'static, Result<(), Error>> {
        Box::pin(self(call))
    }

    fn call_in(&self, call: ApplicationCall, slot: &mut HandlerSlot) {
        slot.set_with(|| self(call));
    }
}

/// A registered handler and, once the tree is built, its route's pipeline ending with it.
struct Slot {
    handler: Arc<dyn Handler>,
    /// The pipelines of the [`Route::group`]s it was registered in, outermost first.
    groups: Groups,
    chain: OnceLock<Chain<(), ApplicationCall>>,
}

type Groups = Vec<Arc<Pipeline<(), ApplicationCall>>>;

/// What a route adds to the pipelines of the routes under it.
#[derive(Default)]
struct Scope {
    pipeline: Option<Pipeline<(), ApplicationCall>>,
}

type Tree = RouteBuilder<Slot, Scope>;

/// A route being built: add handlers, nested routes and route-scoped interceptors.
///
/// ```
/// use engine_core::{Application, ApplicationCall};
/// use engine_core::routing::Route;
///
/// fn users(route: &mut Route) {
///     route.get("/{id}", |call: ApplicationCall| async move {
///         let id = call.parameters().get("id").unwrap_or_default().to_owned();
///         call.respond_text(format!("user {id}")).await
///     });
/// }
///
/// let mut app = Application::new();
/// app.routing(|route| {
///     route.get("/", |call: ApplicationCall| async move { call.respond_text("Hello World!").await });
///     route.route("/users", users);
/// });
/// ```
pub struct Route<'a> {
    node: &'a mut Tree,
    groups: Groups,
}

impl std::fmt::Debug for Route<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route")
            .field("selector", self.node.selector())
            .finish()
    }
}

impl Route<'_> {
    /// A handler for `method` at `path` (relative to this route).
    #[track_caller]
    pub fn method(&mut self, method: Method, path: &str, handler: impl Handler) -> &mut Self {
        let slot = self.slot(handler);
        self.node.method(method, path, slot);
        self
    }

    /// A handler for any method at `path`.
    #[track_caller]
    pub fn handle(&mut self, path: &str, handler: impl Handler) -> &mut Self {
        let slot = self.slot(handler);
        self.node.handle(path, slot);
        self
    }

    fn slot(&self, handler: impl Handler) -> Slot {
        Slot {
            handler: Arc::new(handler),
            groups: self.groups.clone(),
            chain: OnceLock::new(),
        }
    }

    /// `GET path`.
    #[track_caller]
    pub fn get(&mut self, path: &str, handler: impl Handler) -> &mut Self {
        self.method(Method::GET, path, handler)
    }

    /// `POST path`.
    #[track_caller]
    pub fn post(&mut self, path: &str, handler: impl Handler) -> &mut Self {
        self.method(Method::POST, path, handler)
    }

    /// `PUT path`.
    #[track_caller]
    pub fn put(&mut self, path: &str, handler: impl Handler) -> &mut Self {
        self.method(Method::PUT, path, handler)
    }

    /// `DELETE path`.
    #[track_caller]
    pub fn delete(&mut self, path: &str, handler: impl Handler) -> &mut Self {
        self.method(Method::DELETE, path, handler)
    }

    /// `PATCH path`.
    #[track_caller]
    pub fn patch(&mut self, path: &str, handler: impl Handler) -> &mut Self {
        self.method(Method::PATCH, path, handler)
    }

    /// `HEAD path`.
    #[track_caller]
    pub fn head(&mut self, path: &str, handler: impl Handler) -> &mut Self {
        self.method(Method::HEAD, path, handler)
    }

    /// `OPTIONS path`.
    #[track_caller]
    pub fn options(&mut self, path: &str, handler: impl Handler) -> &mut Self {
        self.method(Method::OPTIONS, path, handler)
    }

    /// A nested route at `path`, built by `build`.
    #[track_caller]
    pub fn route(&mut self, path: &str, build: impl FnOnce(&mut Route)) -> &mut Self {
        let groups = self.groups.clone();
        self.node
            .route(path, |node| build(&mut Route { node, groups }));
        self
    }

    /// A group of routes at this route's own path whose handlers, and only those, also run the
    /// interceptors `configure` adds (Ktor's child route with a transparent selector, as
    /// `authenticate { }` creates). A group's interceptors run after those of the routes above
    /// the handler; interceptors added inside the group with [`intercept`](Self::intercept) still
    /// belong to the route they are added on.
    ///
    /// ```
    /// use engine_core::{Application, ApplicationCall, CallPipeline};
    ///
    /// let mut app = Application::new();
    /// app.routing(|route| {
    ///     route.get("/", |call: ApplicationCall| async move { call.respond_text("open").await });
    ///     route.group(
    ///         |pipeline| {
    ///             pipeline.intercept_boxed(CallPipeline::PLUGINS, |ctx| {
    ///                 ctx.context.response().set_header("x-group", http::HeaderValue::from_static("1"));
    ///                 engine_core::pipeline::done()
    ///             });
    ///         },
    ///         |group| {
    ///             group.get("/inside", |call: ApplicationCall| async move { call.respond_text("x").await });
    ///         },
    ///     );
    /// });
    /// ```
    pub fn group(
        &mut self,
        configure: impl FnOnce(&mut Pipeline<(), ApplicationCall>),
        build: impl FnOnce(&mut Route),
    ) -> &mut Self {
        let mut pipeline = Pipeline::new(&CallPipeline::PHASES);
        configure(&mut pipeline);
        let mut groups = self.groups.clone();
        groups.push(Arc::new(pipeline));
        build(&mut Route {
            node: self.node,
            groups,
        });
        self
    }

    /// Adds a route-scoped interceptor: it runs for this route and every route under it, after the
    /// application's interceptors of the same phase.
    #[track_caller]
    pub fn intercept<F>(&mut self, phase: Phase, interceptor: F) -> &mut Self
    where
        F: for<'c> InterceptorFn<'c, (), ApplicationCall>,
    {
        self.pipeline().intercept(phase, interceptor);
        self
    }

    /// Adds a route-scoped interceptor returning a boxed future (for closures that capture state).
    #[track_caller]
    pub fn intercept_boxed<F>(&mut self, phase: Phase, interceptor: F) -> &mut Self
    where
        F: for<'c> Fn(
                &'c mut PipelineContext<(), ApplicationCall>,
            ) -> BoxFuture<'c, Result<(), Error>>
            + Send
            + Sync
            + 'static,
    {
        self.pipeline().intercept_boxed(phase, interceptor);
        self
    }

    /// Installs a route-scoped plugin: it applies to this route and every route under it.
    pub fn install<P: RoutePlugin>(
        &mut self,
        plugin: P,
        configure: impl FnOnce(&mut P::Config),
    ) -> &mut Self {
        let mut config = P::Config::default();
        configure(&mut config);
        plugin.install(self, config);
        self
    }

    /// This route's own pipeline (route-scoped plugins add phases and interceptors here).
    pub fn pipeline(&mut self) -> &mut Pipeline<(), ApplicationCall> {
        self.node
            .scope_mut()
            .get_or_insert_with(Scope::default)
            .pipeline
            .get_or_insert_with(|| Pipeline::new(&CallPipeline::PHASES))
    }
}

/// A plugin installed on a route rather than the whole application (Ktor's route-scoped plugins):
/// it adds phases and interceptors to the route's pipeline, which every route under it inherits.
///
/// ```
/// use engine_core::routing::{Route, RoutePlugin};
/// use engine_core::{Application, ApplicationCall, CallPipeline};
///
/// /// Answers 403 unless the request carries the configured header.
/// struct RequireHeader;
/// #[derive(Default)]
/// struct RequireHeaderConfig { name: &'static str }
///
/// impl RoutePlugin for RequireHeader {
///     type Config = RequireHeaderConfig;
///     fn install(self, route: &mut Route, config: RequireHeaderConfig) {
///         route.intercept_boxed(CallPipeline::PLUGINS, move |ctx| Box::pin(async move {
///             if ctx.context.request().header(config.name).is_none() {
///                 ctx.context.respond_status(http::StatusCode::FORBIDDEN).await?;
///                 ctx.finish();
///             }
///             Ok(())
///         }));
///     }
/// }
///
/// let mut app = Application::new();
/// app.routing(|route| {
///     route.route("/admin", |admin| {
///         admin.install(RequireHeader, |c| c.name = "x-admin");
///         admin.get("/stats", |call: ApplicationCall| async move { call.respond_text("42").await });
///     });
/// });
/// ```
pub trait RoutePlugin: Sized + 'static {
    /// What `install`'s configuration closure fills in.
    type Config: Default;
    /// Installs the plugin on `route`.
    fn install(self, route: &mut Route, config: Self::Config);
}

/// The Routing plugin. Installed by the first [`Application::routing`] call.
#[derive(Debug, Clone, Copy)]
pub struct Routing;

/// The tree being built, kept in the application's state until it is frozen.
struct Pending(Option<Tree>);

impl Plugin for Routing {
    type Config = ();
    const NAME: &'static str = "Routing";

    fn install(self, app: &mut Application, (): ()) {
        app.state(Pending(Some(Tree::default())));
        app.on_freeze(|app| {
            let tree = app
                .get_state_mut::<Pending>()
                .and_then(|pending| pending.0.take())
                .unwrap_or_default();
            let routing = Arc::new(RoutingInterceptor {
                router: Arc::new(build(tree)),
            });
            app.call_pipeline()
                .intercept_with(CallPipeline::CALL, routing.clone());
            app.routing = Some(routing);
        });
    }
}

impl Application {
    /// Adds routes (Ktor's `routing { }`): installs [`Routing`] on first use; every module's routes
    /// join one tree.
    pub fn routing(&mut self, build: impl FnOnce(&mut Route)) {
        if !self.is_installed::<Routing>() {
            self.install(Routing, |()| {});
        }
        let pending = self
            .get_state_mut::<Pending>()
            .and_then(|pending| pending.0.as_mut());
        let node =
            pending.expect("the Routing plugin keeps its tree until the application is frozen");
        build(&mut Route {
            node,
            groups: Vec::new(),
        });
    }
}

/// Freezes the tree and gives each handler its route's pipeline, merged from the root down.
#[track_caller]
fn build(tree: Tree) -> Router<Slot, Scope> {
    let router = tree.build();
    for route in router.routes() {
        let mut merged = Pipeline::new(&CallPipeline::PHASES);
        for scope in route.scopes() {
            if let Some(pipeline) = &scope.pipeline {
                merged.merge(pipeline);
            }
        }
        for (_, slot) in route.handlers() {
            let mut pipeline = merged.clone();
            for group in &slot.groups {
                pipeline.merge(group);
            }
            pipeline.intercept_with(
                CallPipeline::CALL,
                Arc::new(HandlerInterceptor(slot.handler.clone())),
            );
            let _ = slot.chain.set(pipeline.chain());
        }
    }
    router
}

/// The handler as the last interceptor of its route's pipeline.
struct HandlerInterceptor(Arc<dyn Handler>);

impl Interceptor<(), ApplicationCall> for HandlerInterceptor {
    fn intercept<'a>(
        &'a self,
        ctx: &'a mut PipelineContext<(), ApplicationCall>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        self.0.call(ctx.context.clone())
    }
}

pub(crate) struct RoutingInterceptor {
    router: Arc<Router<Slot, Scope>>,
}

impl RoutingInterceptor {
    /// The handler of the call's route when the route has no interceptors of its own: then the
    /// route's pipeline is the handler alone, and the driver may run it as this interceptor would,
    /// with its future in the connection's [`HandlerSlot`]. `None` for anything else (another
    /// route, 404, 405, 400), which executing the call pipeline answers.
    pub(crate) fn direct<'a>(&'a self, call: &'a ApplicationCall) -> Option<&'a dyn Handler> {
        let Resolution::Found(found) = self
            .router
            .resolve(call.request().method(), call.request().path())
        else {
            return None;
        };
        if !found.value.handler_alone() {
            return None;
        }
        record_params(call, &found.params);
        Some(&*found.value.handler)
    }
}

impl Slot {
    /// Whether the route's pipeline is its handler alone: no interceptors of its own.
    fn handler_alone(&self) -> bool {
        self.chain.get().is_some_and(|c| c.len() == 1)
    }
}

/// Makes the route's captured parameters the call's.
fn record_params(call: &ApplicationCall, params: &super::Params<'_>) {
    if !params.is_empty() {
        let params: Parameters = params.iter().collect();
        let _ = call.inner.request.route_parameters.set(params);
    }
}

impl Interceptor<(), ApplicationCall> for RoutingInterceptor {
    fn intercept<'a>(
        &'a self,
        ctx: &'a mut PipelineContext<(), ApplicationCall>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        let call = &ctx.context;
        let chain = match self
            .router
            .resolve(call.request().method(), call.request().path())
        {
            Resolution::Found(found) => {
                record_params(call, &found.params);
                // A route with no interceptors of its own: the handler's future is this
                // interceptor's, so the call boxes one future instead of two (tests/allocations.rs),
                // and the route's chain is not even cloned (a reference count saved).
                if found.value.handler_alone() {
                    return found.value.handler.call(call.clone());
                }
                found.value.chain.get().cloned()
            }
            Resolution::MethodNotAllowed { allow } => {
                let allow = allow
                    .iter()
                    .map(Method::as_str)
                    .collect::<Vec<_>>()
                    .join(", ");
                if let Ok(value) = HeaderValue::from_str(&allow) {
                    call.response().set_header(http::header::ALLOW, value);
                }
                let call = call.clone();
                return Box::pin(async move {
                    call.respond_status(StatusCode::METHOD_NOT_ALLOWED).await
                });
            }
            Resolution::NotFound => return done(),
            Resolution::BadRequest(_) => {
                let call = call.clone();
                return Box::pin(async move { call.respond_status(StatusCode::BAD_REQUEST).await });
            }
        };
        Box::pin(async move {
            match chain {
                Some(chain) => ctx.execute_nested(&chain).await,
                None => Ok(()),
            }
        })
    }
}
