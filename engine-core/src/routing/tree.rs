//! The frozen route tree: an arena of nodes with children pre-sorted for resolution, the registered
//! values, and read-only views of routes ([`RouteRef`]) for the routing plugin to walk.
//!
//! Owns the immutable layout and its accessors. How the layout is built and checked is
//! [`super::freeze`]'s job; how a request is matched against it is [`super::resolve`]'s.

use std::fmt;

use ::http::Method;

use super::params::Params;
use super::selector::RouteSelector;

/// Identifies one node of a [`Router`]: dense from 0 (the root) to the number of routes, so the
/// plugin can keep per-route data in a `Vec` indexed by [`RouteId::index`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouteId(pub(super) u32);

impl RouteId {
    /// The root route.
    pub const ROOT: Self = Self(0);

    /// The position of this route in [`Router::routes`].
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// The immutable route tree, built by [`RouteBuilder::build`](super::RouteBuilder::build).
///
/// ```
/// use engine_core::routing::{Resolution, RouteBuilder};
/// use http::Method;
///
/// let mut routes = RouteBuilder::new();
/// routes.get("/", "home");
/// routes.route("/api", |api| {
///     api.get("/users/{id}", "show user");
///     api.post("/users", "create user");
/// });
/// let router = routes.build();
///
/// let Resolution::Found(found) = router.resolve(&Method::GET, "/api/users/42") else {
///     panic!("no match");
/// };
/// assert_eq!(*found.value, "show user");
/// assert_eq!(found.params.get("id"), Some("42"));
/// assert_eq!(found.route.path(), "/api/users/{id}");
///
/// match router.resolve(&Method::DELETE, "/api/users") {
///     Resolution::MethodNotAllowed { allow } => assert_eq!(allow, [Method::POST]),
///     other => panic!("{other:?}"),
/// }
/// assert!(matches!(router.resolve(&Method::GET, "/nope"), Resolution::NotFound));
/// assert!(matches!(router.resolve(&Method::GET, "/%zz"), Resolution::BadRequest(_)));
/// ```
pub struct Router<T, S = ()> {
    pub(super) nodes: Box<[Node<S>]>,
    /// Every node's ids from the root down to itself, concatenated; [`Node::chain`] indexes it.
    pub(super) chains: Box<[RouteId]>,
    pub(super) values: Box<[T]>,
    /// The routes whose every selector is a constant, by their path (`/api/users`, `/` for the
    /// root), when they have a handler: most requests resolve with one lookup here.
    pub(super) exact: rustc_hash::FxHashMap<Box<str>, RouteId>,
}

/// A frozen node. Children are split by how they are tried, in the order of
/// [`super::resolve`]'s rule.
pub(super) struct Node<S> {
    pub(super) selector: RouteSelector,
    /// The full template, `/api/users/{id}`; `/` for the root.
    pub(super) path: Box<str>,
    /// `chains[start..start + len]` is this node's chain.
    pub(super) chain: (u32, u32),
    pub(super) scope: Option<S>,
    /// Constant children, sorted by literal for binary search.
    pub(super) constants: Box<[(Box<str>, RouteId)]>,
    /// Children that consume one segment, best quality first: parameters with affixes, parameters,
    /// optional parameters (as present), the wildcard. Equal qualities keep registration order.
    pub(super) dynamic: Box<[RouteId]>,
    /// Children that may consume nothing: optional parameters (as absent), then tailcards.
    pub(super) zero_width: Box<[RouteId]>,
    /// Method handlers, sorted by method name; values are indexes into [`Router::values`].
    pub(super) methods: Box<[(Method, usize)]>,
    /// The method-less handler ([`RouteBuilder::handle`](super::RouteBuilder::handle)).
    pub(super) any: Option<usize>,
}

impl<S> Node<S> {
    /// The handler for `method`: the exact method first, then the method-less one.
    pub(super) fn endpoint_for(&self, method: &Method) -> Option<usize> {
        let exact = self.methods.iter().find(|(m, _)| m == method);
        exact.map(|&(_, value)| value).or(self.any)
    }
}

/// The outcome of [`Router::resolve`].
#[derive(Debug)]
pub enum Resolution<'a, T, S = ()> {
    /// A route matched the path and has a handler for the method.
    Found(Found<'a, T, S>),
    /// Some route matched the path, but none of the matching routes has a handler for the method.
    /// `allow` lists the methods those routes do handle, sorted by name and deduplicated, for the
    /// `Allow` field of a 405 (RFC 9110 §15.5.6). `HEAD` is only listed if registered explicitly.
    MethodNotAllowed {
        /// The methods that would have matched.
        allow: Vec<Method>,
    },
    /// No route matches the path (404).
    NotFound,
    /// The path is malformed: bad percent-encoding or not UTF-8 once decoded (400).
    BadRequest(super::PathError),
}

/// A successful resolution.
#[derive(Debug)]
pub struct Found<'a, T, S = ()> {
    /// The value registered for the route and method.
    pub value: &'a T,
    /// The path parameters the route captured.
    pub params: Params<'a>,
    /// The matched route: its template and the chain of routes from the root to it.
    pub route: RouteRef<'a, T, S>,
}

/// A read-only view of one node of a [`Router`] (Ktor's `Route`).
pub struct RouteRef<'a, T, S = ()> {
    router: &'a Router<T, S>,
    id: RouteId,
}

impl<T, S> Clone for RouteRef<'_, T, S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T, S> Copy for RouteRef<'_, T, S> {}

impl<'a, T, S> RouteRef<'a, T, S> {
    fn node(&self) -> &'a Node<S> {
        &self.router.nodes[self.id.index()]
    }

    /// The id of this route in its router.
    pub fn id(&self) -> RouteId {
        self.id
    }

    /// The full template of this route, `/api/users/{id}`; `/` for the root.
    pub fn path(&self) -> &'a str {
        &self.node().path
    }

    /// What this route's own segment matches.
    pub fn selector(&self) -> &'a RouteSelector {
        &self.node().selector
    }

    /// The route-scoped value set with [`RouteBuilder::scope_mut`](super::RouteBuilder::scope_mut).
    pub fn scope(&self) -> Option<&'a S> {
        self.node().scope.as_ref()
    }

    /// The routes from the root down to this one, both included: the order in which per-route data
    /// (interceptors) is merged.
    ///
    /// ```
    /// use engine_core::routing::{Resolution, RouteBuilder};
    /// use http::Method;
    ///
    /// // `S` = the interceptors a route installs; the plugin merges them from the root down.
    /// let mut routes = RouteBuilder::<&str, Vec<&str>>::default();
    /// routes.scope_mut().get_or_insert_with(Vec::new).push("call logging");
    /// routes.route("/admin", |admin| {
    ///     admin.scope_mut().get_or_insert_with(Vec::new).push("authentication");
    ///     admin.get("/stats", "stats");
    /// });
    /// let router = routes.build();
    ///
    /// let Resolution::Found(found) = router.resolve(&Method::GET, "/admin/stats") else {
    ///     panic!("no match");
    /// };
    /// let paths: Vec<&str> = found.route.chain().map(|route| route.path()).collect();
    /// assert_eq!(paths, ["/", "/admin", "/admin/stats"]);
    /// let merged: Vec<&str> = found.route.scopes().flatten().copied().collect();
    /// assert_eq!(merged, ["call logging", "authentication"]);
    /// ```
    pub fn chain(
        &self,
    ) -> impl DoubleEndedIterator<Item = Self> + ExactSizeIterator + use<'a, T, S> {
        let (start, len) = self.node().chain;
        let ids = &self.router.chains[start as usize..(start + len) as usize];
        let router = self.router;
        ids.iter().map(move |&id| RouteRef { router, id })
    }

    /// The scopes along [`chain`](Self::chain), root first, skipping routes without one.
    pub fn scopes(&self) -> impl DoubleEndedIterator<Item = &'a S> + use<'a, T, S> {
        self.chain().filter_map(|route| route.scope())
    }

    /// The route this one is nested in; `None` for the root.
    pub fn parent(&self) -> Option<Self> {
        self.chain().rev().nth(1)
    }

    /// This route's handlers: by method (sorted by name), then the method-less one as `None`.
    pub fn handlers(&self) -> impl Iterator<Item = (Option<&'a Method>, &'a T)> + use<'a, T, S> {
        let node = self.node();
        let values = &self.router.values;
        let by_method = node
            .methods
            .iter()
            .map(|(m, value)| (Some(m), &values[*value]));
        by_method.chain(node.any.map(|value| (None, &values[value])))
    }
}

impl<T, S> fmt::Debug for RouteRef<'_, T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouteRef")
            .field("id", &self.id)
            .field("path", &self.path())
            .finish()
    }
}

impl<T, S> Router<T, S> {
    /// The root route.
    pub fn root(&self) -> RouteRef<'_, T, S> {
        self.route(RouteId::ROOT)
    }

    /// The route with this id.
    ///
    /// # Panics
    /// If `id` does not come from this router.
    pub fn route(&self, id: RouteId) -> RouteRef<'_, T, S> {
        assert!(
            id.index() < self.nodes.len(),
            "{id:?} is not a route of this router"
        );
        RouteRef { router: self, id }
    }

    /// Every route (node) of the tree, root first, parents before their children.
    pub fn routes(&self) -> impl ExactSizeIterator<Item = RouteRef<'_, T, S>> {
        (0..self.nodes.len()).map(|i| self.route(RouteId(index_u32(i))))
    }

    /// The same tree with every registered value mapped through `f` (for instance to replace
    /// handlers with per-route pipelines once all routes are known).
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Router<U, S> {
        Router {
            nodes: self.nodes,
            chains: self.chains,
            values: self.values.into_iter().map(f).collect(),
            exact: self.exact,
        }
    }
}

/// Node and value counts are bounded by what the application registers at start-up.
pub(super) fn index_u32(index: usize) -> u32 {
    u32::try_from(index).expect("more than u32::MAX routes")
}

/// Lists the routes with their methods, not the values.
impl<T, S> fmt::Debug for Router<T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for route in self.routes() {
            for (method, _) in route.handlers() {
                let method = method.map_or("*", Method::as_str);
                list.entry(&format_args!("{method} {}", route.path()));
            }
        }
        list.finish()
    }
}
