//! Turns a [`RouteBuilder`] tree into the immutable [`Router`]: assigns ids in pre-order, records
//! each node's chain from the root, sorts children into the order resolution tries them, and finds
//! conflicting registrations.
//!
//! Owns the conflict rule. A conflict is a configuration mistake, so it is found here, once, at
//! start-up; resolution never has to break a tie between identical routes.

use std::collections::HashMap;
use std::fmt;
use std::panic::Location;

use ::http::Method;

use super::builder::{Registration, RouteBuilder};
use super::selector::RouteSelector;
use super::tree::{Node, RouteId, Router, index_u32};

/// Two registrations that would match the same requests, so one of them could never be reached.
///
/// That is the case when their routes have the same shape (the same templates once parameter names
/// are erased: `/users/{id}` and `/users/{name}`) and either
/// - they register the same method (or both are method-less), or
/// - they sit on different routes and one of them is method-less: it would shadow the other for
///   every method, or be shadowed by it, depending only on registration order. Register the method
///   handler and the method-less one on one route instead.
///
/// Routes that overlap without having the same shape (`/users/me` and `/users/{id}`, `/a` and
/// `/a/{x?}`) are not conflicts: the quality rule of [`Router::resolve`] orders them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteConflict {
    /// The registration met first (in tree order).
    pub first: RouteRegistration,
    /// The registration that conflicts with it.
    pub second: RouteRegistration,
}

/// Where and how one handler was registered, for [`RouteConflict`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRegistration {
    /// The full template of the route, as written (`/users/{id}`).
    pub path: String,
    /// The method, `None` for a method-less handler.
    pub method: Option<Method>,
    /// The call that registered it.
    pub location: &'static Location<'static>,
}

impl fmt::Display for RouteRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.method {
            Some(method) => write!(f, "{method} {}", self.path)?,
            None => write!(f, "any method {}", self.path)?,
        }
        write!(f, " (registered at {})", self.location)
    }
}

impl fmt::Display for RouteConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "route conflict: {} and {} match the same requests",
            self.first, self.second
        )?;
        if self.first.path != self.second.path {
            f.write_str(
                "; routes that differ only in parameter names must be registered as one route",
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for RouteConflict {}

pub(super) fn freeze<T, S>(root: RouteBuilder<T, S>) -> Result<Router<T, S>, RouteConflict> {
    let mut freezer = Freezer {
        nodes: Vec::new(),
        chains: Vec::new(),
        values: Vec::new(),
        seen: Vec::new(),
    };
    freezer.add(root, None);
    check_conflicts(&freezer.seen)?;
    let exact = exact_paths(&freezer.nodes, &freezer.chains);
    Ok(Router {
        nodes: freezer.nodes.into(),
        chains: freezer.chains.into(),
        values: freezer.values.into(),
        exact,
    })
}

/// The path of every route with a handler whose selectors are all constants. Such a route is the
/// best match for its exact path by the quality rule (a constant is the best selector for every
/// segment, and the route ends where the path does), whenever it has a handler for the method.
/// A path with a `%` is left out: a request path equal to it would need decoding first, so
/// [`Router::resolve`] can take a hit without looking for one.
fn exact_paths<S>(
    nodes: &[Node<S>],
    chains: &[RouteId],
) -> rustc_hash::FxHashMap<Box<str>, RouteId> {
    let mut exact = rustc_hash::FxHashMap::default();
    for (index, node) in nodes.iter().enumerate() {
        if node.methods.is_empty() && node.any.is_none() {
            continue;
        }
        let (start, len) = node.chain;
        let mut path = String::new();
        let all_constant = chains[start as usize..(start + len) as usize]
            .iter()
            .all(|id| match &nodes[id.index()].selector {
                RouteSelector::Root => true,
                RouteSelector::Constant(literal) => {
                    path.push('/');
                    path.push_str(literal);
                    true
                }
                _ => false,
            });
        if all_constant && !path.contains('%') {
            if path.is_empty() {
                path.push('/');
            }
            exact.insert(path.into_boxed_str(), RouteId(index_u32(index)));
        }
    }
    exact
}

struct Freezer<T, S> {
    nodes: Vec<Node<S>>,
    chains: Vec<RouteId>,
    values: Vec<T>,
    seen: Vec<Seen>,
}

/// A registration as the conflict check sees it.
struct Seen {
    route: RouteId,
    shape: String,
    registration: RouteRegistration,
}

/// The parent's template, shape and chain, for a child being added.
struct Parent<'p> {
    path: &'p str,
    shape: &'p str,
    chain: (u32, u32),
}

impl<T, S> Freezer<T, S> {
    /// Adds `builder` and its subtree; returns its id.
    fn add(&mut self, builder: RouteBuilder<T, S>, parent: Option<Parent<'_>>) -> RouteId {
        let id = RouteId(index_u32(self.nodes.len()));
        let (path, shape, chain) = match parent {
            None => (
                "/".to_owned(),
                "/".to_owned(),
                (index_u32(self.chains.len()), 1),
            ),
            Some(parent) => {
                let chain = self.extend_chain(parent.chain);
                (
                    join(parent.path, &builder.selector.to_string()),
                    join(parent.shape, &builder.selector.shape()),
                    chain,
                )
            }
        };
        self.chains.push(id);
        let RouteBuilder {
            selector,
            children,
            handlers,
            scope,
        } = builder;
        let (methods, any) = self.add_handlers(id, handlers, &path, &shape);
        self.nodes.push(Node {
            selector,
            path: path.as_str().into(),
            chain,
            scope,
            constants: Box::new([]),
            dynamic: Box::new([]),
            zero_width: Box::new([]),
            methods,
            any,
        });
        let parent = || Parent {
            path: &path,
            shape: &shape,
            chain,
        };
        let children: Vec<RouteId> = children
            .into_iter()
            .map(|child| self.add(child, Some(parent())))
            .collect();
        self.sort_children(id, &children);
        id
    }

    /// Copies the parent's chain to the end of `chains`; the caller pushes the child's own id.
    fn extend_chain(&mut self, (start, len): (u32, u32)) -> (u32, u32) {
        let new_start = index_u32(self.chains.len());
        self.chains
            .extend_from_within(start as usize..(start + len) as usize);
        (new_start, len + 1)
    }

    fn add_handlers(
        &mut self,
        route: RouteId,
        handlers: Vec<Registration<T>>,
        path: &str,
        shape: &str,
    ) -> (Box<[(Method, usize)]>, Option<usize>) {
        let mut methods = Vec::new();
        let mut any = None;
        for Registration {
            method,
            value,
            location,
        } in handlers
        {
            let index = self.values.len();
            self.values.push(value);
            match &method {
                Some(method) => methods.push((method.clone(), index)),
                None => any = any.or(Some(index)),
            }
            let registration = RouteRegistration {
                path: path.to_owned(),
                method,
                location,
            };
            self.seen.push(Seen {
                route,
                shape: shape.to_owned(),
                registration,
            });
        }
        methods.sort_by(|(a, _), (b, _)| a.as_str().cmp(b.as_str()));
        (methods.into(), any)
    }

    /// Splits children into the groups resolution tries, in its order (see [`super::resolve`]).
    fn sort_children(&mut self, id: RouteId, children: &[RouteId]) {
        let mut constants = Vec::new();
        let mut dynamic = Vec::new();
        let mut optional = Vec::new();
        let mut tailcards = Vec::new();
        for &child in children {
            match &self.nodes[child.index()].selector {
                RouteSelector::Constant(literal) => constants.push((literal.clone(), child)),
                RouteSelector::Parameter { prefix, suffix, .. } => {
                    // Affixed parameters (0.9) before plain ones (0.8).
                    let affixed = !prefix.is_empty() || !suffix.is_empty();
                    dynamic.push((if affixed { 0 } else { 1 }, child));
                }
                RouteSelector::OptionalParameter { .. } => {
                    dynamic.push((2, child));
                    optional.push(child);
                }
                RouteSelector::Wildcard => dynamic.push((3, child)),
                RouteSelector::Tailcard { .. } => tailcards.push(child),
                RouteSelector::Root => {}
            }
        }
        constants.sort_by(|(a, _), (b, _)| a.cmp(b));
        // Stable: equal ranks keep registration order.
        dynamic.sort_by_key(|&(rank, _)| rank);
        optional.extend(tailcards);
        let node = &mut self.nodes[id.index()];
        node.constants = constants.into();
        node.dynamic = dynamic.into_iter().map(|(_, child)| child).collect();
        node.zero_width = optional.into();
    }
}

fn join(parent: &str, segment: &str) -> String {
    if parent.ends_with('/') {
        format!("{parent}{segment}")
    } else {
        format!("{parent}/{segment}")
    }
}

/// Finds the first pair of registrations that match the same requests (see [`RouteConflict`]).
fn check_conflicts(seen: &[Seen]) -> Result<(), RouteConflict> {
    let mut by_shape: HashMap<&str, Vec<&Seen>> = HashMap::new();
    for current in seen {
        let same_shape = by_shape.entry(&current.shape).or_default();
        for prior in same_shape.iter() {
            let (a, b) = (&prior.registration.method, &current.registration.method);
            let shadows = a == b || (prior.route != current.route && (a.is_none() || b.is_none()));
            if shadows {
                return Err(RouteConflict {
                    first: prior.registration.clone(),
                    second: current.registration.clone(),
                });
            }
        }
        same_shape.push(current);
    }
    Ok(())
}
