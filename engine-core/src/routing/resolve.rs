//! Resolution: matches a method and a request path against the frozen tree (Ktor's
//! `RoutingResolveContext`). Pure: no I/O, and no allocation for a route without parameters on a
//! path without `%`, however deep.
//!
//! Owns the quality rule. Splitting and decoding the path is [`super::path`]'s job, the order of
//! children is fixed by [`super::freeze`].
//!
//! # The quality rule
//!
//! 1. **Path quality first.** Candidate routes are compared selector by selector from the root; the
//!    first selector whose quality differs decides, the higher wins. Qualities, as in Ktor's
//!    `RouteSelectorEvaluation`: constant 1.0 > parameter with prefix or suffix 0.9 > parameter 0.8
//!    = optional parameter present 0.8 > wildcard 0.5 > optional parameter absent 0.2 > tailcard
//!    0.1 (however many segments it takes, none included). Until a zero-width match (absent
//!    optional, tailcard) this is a comparison per request segment: `/users/me` beats
//!    `/users/{id}`, which beats `/users/*`, which beats `/users/{...}`.
//! 2. **Exact beats longer.** A route that ends where another continues with zero-width matches
//!    wins: for `/a`, the route `/a` beats `/a/{x?}` and `/a/{...}` (Ktor 2's `isBetterResolve`
//!    prefers the longer one).
//! 3. **Method second.** Only routes with a handler for the request's method, or a method-less
//!    handler, are candidates. A route whose handlers are all for other methods does not match, and
//!    resolution backtracks to the next candidate: with `GET /users/me` and `POST /users/{id}`,
//!    `POST /users/me` reaches the second. So a method handler beats a method-less one only at
//!    equal path quality, which means on the same route (`/x` with `get` and `handle`: GET takes
//!    the first, other methods the second). Between routes of different path quality, the better
//!    path wins even if it is method-less: for `GET /x/me`, `handle("/x/me")` beats
//!    `get("/x/{id}")`.
//! 4. **Ties.** Routes that differ only in parameter names are either rejected at build time (see
//!    [`RouteConflict`](super::RouteConflict)) or handle disjoint methods, so they never compete.
//!    Siblings of equal quality with different shapes (`v{n}` and `{n}.json` both match
//!    `v1.json`) are tried in registration order. A plain parameter is always tried before an
//!    optional one at the same position.
//!
//! The search is depth-first and tries children in exactly that order (constants by binary search,
//! then one-segment selectors best first, then zero-width ones), so the first candidate found is
//! the best and the search stops there. If a constant branch fails deeper, the parameter branches
//! are still tried (backtracking).
//!
//! `405 Method Not Allowed` is answered only when no candidate exists but at least one route
//! matched the path; the `Allow` list is then the union of the methods of every route matching the
//! path, collected by a second, exhaustive search (405 is the rare path, so the common one pays
//! nothing for it). `HEAD` is not added for `GET`: that is the `AutoHeadResponse` plugin's
//! decision.

use ::http::Method;

use super::params::Params;
use super::path::{Remaining, decode_segments, needs_decoding};
use super::selector::RouteSelector;
use super::tree::{Found, Node, Resolution, RouteId, Router};

impl<T, S> Router<T, S> {
    /// Resolves a request: `path` is the path of the request-target, before `?`, still
    /// percent-encoded. Segments are percent-decoded before matching, empty segments and a trailing
    /// slash are ignored; see [`super::path`] for the decoding rules and [`super::resolve`] for the
    /// quality rule that picks among matching routes. An asterisk-form target (`OPTIONS *`) is not
    /// a path: the caller answers it before routing.
    ///
    /// Never panics on peer input. Allocates nothing for a path without `%` unless the route
    /// captures parameters (one `Vec` for them) or the answer is 405 (the `Allow` list).
    pub fn resolve<'a>(&'a self, method: &Method, path: &'a str) -> Resolution<'a, T, S> {
        // A path written exactly as an all-constant route (so canonical: no empty segment, no
        // trailing slash, and nothing to decode: the table holds no path with a `%`) with a handler
        // for the method is that route; anything else takes the search. Saves about 400
        // instructions a call on `/plaintext` (callgrind).
        if let Some(&id) = self.exact.get(path)
            && let Some(value) = self.nodes[id.index()].endpoint_for(method)
        {
            return Resolution::Found(Found {
                value: &self.values[value],
                params: Params::new(),
                route: self.route(id),
            });
        }
        self.search(method, path)
    }

    /// [`resolve`](Self::resolve) without the exact-path table: the tree search alone.
    pub(super) fn search<'a>(&'a self, method: &Method, path: &'a str) -> Resolution<'a, T, S> {
        let decoded = match needs_decoding(path)
            .then(|| decode_segments(path))
            .transpose()
        {
            Ok(decoded) => decoded,
            Err(err) => return Resolution::BadRequest(err),
        };
        let start = Remaining::new(path, decoded.as_deref());
        let mut search = Search {
            nodes: &self.nodes,
            params: Params::new(),
        };
        let mut path_matched = false;
        let hit = search.visit(RouteId::ROOT, start, &mut |node: &Node<S>| {
            let endpoint = node.endpoint_for(method);
            path_matched |= endpoint.is_none() && !node.methods.is_empty();
            endpoint
        });
        if let Some(Hit { route, value }) = hit {
            let mut params = search.params;
            // Captures are pushed while the search unwinds, leaf first.
            params.entries.reverse();
            let (value, route) = (&self.values[value], self.route(route));
            return Resolution::Found(Found {
                value,
                params,
                route,
            });
        }
        if !path_matched {
            return Resolution::NotFound;
        }
        let mut allow: Vec<Method> = Vec::new();
        search.visit(RouteId::ROOT, start, &mut |node: &Node<S>| {
            allow.extend(node.methods.iter().map(|(m, _)| m.clone()));
            None
        });
        allow.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        allow.dedup();
        Resolution::MethodNotAllowed { allow }
    }
}

/// A route that matched the whole path, and the index of its value.
struct Hit {
    route: RouteId,
    value: usize,
}

/// One depth-first search over the tree. `accept` decides, for a node at which the whole path has
/// been consumed, whether it is a candidate (and which value), so the same search serves resolution
/// (stop at the first candidate) and the `Allow` list (never accept, visit every match).
struct Search<'a, S> {
    nodes: &'a [Node<S>],
    /// Filled in reverse while a successful search unwinds.
    params: Params<'a>,
}

impl<'a, S> Search<'a, S> {
    fn visit<F>(&mut self, id: RouteId, rest: Remaining<'_, 'a>, accept: &mut F) -> Option<Hit>
    where
        F: FnMut(&'a Node<S>) -> Option<usize>,
    {
        let node = &self.nodes[id.index()];
        if rest.is_empty() {
            if let Some(value) = accept(node) {
                return Some(Hit { route: id, value });
            }
        } else if let Some(hit) = self.visit_consuming(node, rest, accept) {
            return Some(hit);
        }
        self.visit_zero_width(node, rest, accept)
    }

    /// Children that take the next segment: constants, then the dynamic ones best first.
    fn visit_consuming<F>(
        &mut self,
        node: &'a Node<S>,
        rest: Remaining<'_, 'a>,
        accept: &mut F,
    ) -> Option<Hit>
    where
        F: FnMut(&'a Node<S>) -> Option<usize>,
    {
        let (segment, after) = rest.split_first()?;
        let text = segment.as_str();
        if let Ok(i) = node
            .constants
            .binary_search_by(|(literal, _)| (**literal).cmp(text))
            && let Some(hit) = self.visit(node.constants[i].1, after, accept)
        {
            return Some(hit);
        }
        for &child in &node.dynamic {
            let (name, range) = match &self.nodes[child.index()].selector {
                RouteSelector::Parameter {
                    name,
                    prefix,
                    suffix,
                } => match RouteSelector::parameter_range(prefix, suffix, text) {
                    Some(range) => (Some(name), range),
                    None => continue,
                },
                RouteSelector::OptionalParameter { name } => (Some(name), (0, text.len())),
                _ => (None, (0, 0)),
            };
            if let Some(hit) = self.visit(child, after, accept) {
                if let Some(name) = name {
                    self.params.push(name, segment.value(range));
                }
                return Some(hit);
            }
        }
        None
    }

    /// Children that may take nothing: absent optional parameters, then tailcards, which take every
    /// remaining segment and end the route.
    fn visit_zero_width<F>(
        &mut self,
        node: &'a Node<S>,
        rest: Remaining<'_, 'a>,
        accept: &mut F,
    ) -> Option<Hit>
    where
        F: FnMut(&'a Node<S>) -> Option<usize>,
    {
        for &child in &node.zero_width {
            let child_node = &self.nodes[child.index()];
            let RouteSelector::Tailcard { name } = &child_node.selector else {
                if let Some(hit) = self.visit(child, rest, accept) {
                    return Some(hit);
                }
                continue;
            };
            let Some(value) = accept(child_node) else {
                continue;
            };
            if let Some(name) = name {
                self.capture_all(name, rest);
            }
            return Some(Hit {
                route: child,
                value,
            });
        }
        None
    }

    /// Every remaining segment as one value of `name`, pushed so that they read in path order once
    /// the whole capture list is reversed.
    fn capture_all(&mut self, name: &'a str, mut rest: Remaining<'_, 'a>) {
        let first = self.params.entries.len();
        while let Some((segment, after)) = rest.split_first() {
            let len = segment.as_str().len();
            self.params.push(name, segment.value((0, len)));
            rest = after;
        }
        self.params.entries[first..].reverse();
    }
}
