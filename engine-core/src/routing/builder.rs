//! Building the route tree at start-up (Ktor's `Route` DSL: `route`, `get`, `handle`, ...). A
//! [`RouteBuilder`] is one mutable node; nested closures build its children.
//! [`RouteBuilder::build`] hands the tree to [`super::freeze`], which checks it and turns it into
//! the immutable [`Router`].
//!
//! Owns registration and the panics for malformed templates. Conflicts between routes are found
//! when the whole tree is known, at build time. Matching requests is [`super::resolve`]'s job.

use std::fmt;
use std::panic::Location;

use ::http::Method;

use super::freeze::{self, RouteConflict};
use super::selector::{RouteSelector, parse_template};
use super::tree::Router;

/// One node of the route tree while it is being built: a selector, child routes, handlers by
/// method, and an optional route-scoped value `S`.
///
/// `T` is what a handler registration stores (the routing plugin stores handlers there). `S` is the
/// per-route scope the plugin fills with interceptors; after resolution, [`RouteRef::chain`] walks the
/// matched route's scopes from the root down so they can be merged in order.
///
/// Registration methods take a template relative to this node (see [`super::selector`] for the
/// syntax), create the missing nodes, and return `self` for chaining. A malformed template panics
/// at the call site; two handlers for the same requests are reported by [`build`](Self::build).
///
/// [`RouteRef::chain`]: super::RouteRef::chain
pub struct RouteBuilder<T, S = ()> {
    pub(super) selector: RouteSelector,
    pub(super) children: Vec<RouteBuilder<T, S>>,
    pub(super) handlers: Vec<Registration<T>>,
    pub(super) scope: Option<S>,
}

/// One handler as registered: `method` is `None` for [`RouteBuilder::handle`] (any method).
pub(super) struct Registration<T> {
    pub(super) method: Option<Method>,
    pub(super) value: T,
    pub(super) location: &'static Location<'static>,
}

impl<T> RouteBuilder<T> {
    /// An empty root without route scopes. Use [`RouteBuilder::default`] for a root with a scope
    /// type.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<T, S> Default for RouteBuilder<T, S> {
    fn default() -> Self {
        Self::with_selector(RouteSelector::Root)
    }
}

impl<T, S> RouteBuilder<T, S> {
    fn with_selector(selector: RouteSelector) -> Self {
        Self {
            selector,
            children: Vec::new(),
            handlers: Vec::new(),
            scope: None,
        }
    }

    /// The selector of this node (`Root` for the root).
    pub fn selector(&self) -> &RouteSelector {
        &self.selector
    }

    /// The node at `template` below this one, created if missing (Ktor's `createRouteFromPath`). An
    /// empty template or `/` is this node.
    ///
    /// # Panics
    /// If the template is malformed, or would add segments below a tailcard.
    #[track_caller]
    pub fn at(&mut self, template: &str) -> &mut Self {
        let selectors = parse_template(template)
            .unwrap_or_else(|err| panic!("invalid route template {template:?}: {err}"));
        let mut node = self;
        for selector in selectors {
            if let RouteSelector::Tailcard { .. } = node.selector {
                panic!(
                    "invalid route template {template:?}: a tailcard `{}` takes the rest of the \
                     path, so no route can be nested below it",
                    node.selector
                );
            }
            node = node.child(selector);
        }
        node
    }

    fn child(&mut self, selector: RouteSelector) -> &mut Self {
        let index = match self.children.iter().position(|c| c.selector == selector) {
            Some(index) => index,
            None => {
                self.children.push(Self::with_selector(selector));
                self.children.len() - 1
            }
        };
        &mut self.children[index]
    }

    /// Builds the routes below `template` with `build` (Ktor's `route(path) { ... }`).
    ///
    /// ```
    /// # use engine_core::routing::RouteBuilder;
    /// let mut routes = RouteBuilder::new();
    /// routes.route("/api", |api| {
    ///     api.get("/users", "list").post("/users", "create");
    ///     api.route("/admin", |admin| {
    ///         admin.delete("/users/{id}", "remove");
    ///     });
    /// });
    /// # routes.build();
    /// ```
    #[track_caller]
    pub fn route(&mut self, template: &str, build: impl FnOnce(&mut Self)) -> &mut Self {
        build(self.at(template));
        self
    }

    /// Registers `value` for `method` at `template`.
    #[track_caller]
    pub fn method(&mut self, method: Method, template: &str, value: T) -> &mut Self {
        self.register(Some(method), template, value)
    }

    /// Registers `value` for every method at `template` (Ktor's `handle`). A handler for the exact
    /// method on the same route takes precedence over it.
    #[track_caller]
    pub fn handle(&mut self, template: &str, value: T) -> &mut Self {
        self.register(None, template, value)
    }

    /// Registers `value` for `GET` at `template`. `HEAD` is not implied: the `AutoHeadResponse`
    /// plugin adds it.
    #[track_caller]
    pub fn get(&mut self, template: &str, value: T) -> &mut Self {
        self.register(Some(Method::GET), template, value)
    }

    /// Registers `value` for `POST` at `template`.
    #[track_caller]
    pub fn post(&mut self, template: &str, value: T) -> &mut Self {
        self.register(Some(Method::POST), template, value)
    }

    /// Registers `value` for `PUT` at `template`.
    #[track_caller]
    pub fn put(&mut self, template: &str, value: T) -> &mut Self {
        self.register(Some(Method::PUT), template, value)
    }

    /// Registers `value` for `DELETE` at `template`.
    #[track_caller]
    pub fn delete(&mut self, template: &str, value: T) -> &mut Self {
        self.register(Some(Method::DELETE), template, value)
    }

    /// Registers `value` for `PATCH` at `template`.
    #[track_caller]
    pub fn patch(&mut self, template: &str, value: T) -> &mut Self {
        self.register(Some(Method::PATCH), template, value)
    }

    /// Registers `value` for `HEAD` at `template`.
    #[track_caller]
    pub fn head(&mut self, template: &str, value: T) -> &mut Self {
        self.register(Some(Method::HEAD), template, value)
    }

    /// Registers `value` for `OPTIONS` at `template`.
    #[track_caller]
    pub fn options(&mut self, template: &str, value: T) -> &mut Self {
        self.register(Some(Method::OPTIONS), template, value)
    }

    #[track_caller]
    fn register(&mut self, method: Option<Method>, template: &str, value: T) -> &mut Self {
        let location = Location::caller();
        self.at(template).handlers.push(Registration {
            method,
            value,
            location,
        });
        self
    }

    /// The route-scoped value of this node, if one was set.
    pub fn scope(&self) -> Option<&S> {
        self.scope.as_ref()
    }

    /// The route-scoped value of this node, to set or update in place (for instance
    /// `scope_mut().get_or_insert_with(Vec::new).push(interceptor)`).
    pub fn scope_mut(&mut self) -> &mut Option<S> {
        &mut self.scope
    }

    /// Checks the tree and freezes it into a [`Router`].
    ///
    /// # Panics
    /// If two registrations match the same requests (see [`RouteConflict`]); the message names both
    /// paths, methods and registration sites.
    #[track_caller]
    pub fn build(self) -> Router<T, S> {
        self.try_build()
            .unwrap_or_else(|conflict| panic!("{conflict}"))
    }

    /// [`build`](Self::build), returning the first conflict instead of panicking.
    ///
    /// # Errors
    /// The first [`RouteConflict`] found, in tree order.
    pub fn try_build(self) -> Result<Router<T, S>, RouteConflict> {
        freeze::freeze(self)
    }
}

/// Shows the tree's selectors and registered methods, not the values.
impl<T, S> fmt::Debug for RouteBuilder<T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let methods: Vec<&str> = self
            .handlers
            .iter()
            .map(|h| h.method.as_ref().map_or("*", Method::as_str))
            .collect();
        f.debug_struct("RouteBuilder")
            .field("selector", &format_args!("{}", self.selector))
            .field("methods", &methods)
            .field("children", &self.children)
            .finish_non_exhaustive()
    }
}
