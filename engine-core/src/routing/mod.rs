//! Routing: Ktor's route tree, as pure code. Templates in, a frozen tree out; a method and a
//! request path in, a [`Resolution`] out. No I/O, no async, no HTTP types beyond [`http::Method`].
//!
//! Generic over the registered value `T` (the routing plugin stores handlers) and a route-scoped
//! value `S` (the plugin stores interceptors, merged from the root down along [`RouteRef::chain`]).
//! What the plugin does with a resolution (calling the handler, answering 404, 405 with `Allow`, or
//! 400) is not decided here.
//!
//! # Layout
//! - [`selector`]: [`RouteSelector`], the template syntax and each selector's quality.
//! - [`builder`]: [`RouteBuilder`], the nested registration DSL (`route`, `get`, `handle`, ...).
//! - [`freeze`]: building the immutable [`Router`], and the conflict rule ([`RouteConflict`]).
//! - [`tree`]: the frozen [`Router`], [`RouteRef`] views, [`Resolution`] and [`Found`].
//! - [`resolve`]: [`Router::resolve`] and the quality rule.
//! - [`path`]: splitting and percent-decoding the request path; [`PathError`].
//! - [`params`]: [`Params`], the captured path parameters.
//! - `plugin`: the [`Routing`] plugin: [`Route`] (handlers, nesting, route-scoped interceptors),
//!   each route's pipeline, and the interceptor that resolves calls (404, 405 with `Allow`, 400).
//!
//! [`http::Method`]: ::http::Method

pub mod builder;
pub mod freeze;
pub mod params;
pub mod path;
mod plugin;
pub mod resolve;
pub mod selector;
pub mod slot;
pub mod tree;

#[cfg(test)]
mod tests;

pub use builder::RouteBuilder;
pub use freeze::{RouteConflict, RouteRegistration};
pub use params::Params;
pub use path::PathError;
pub(crate) use plugin::RoutingInterceptor;
pub use plugin::{Handler, Route, RoutePlugin, Routing};
pub use selector::RouteSelector;
pub use slot::HandlerSlot;
pub use tree::{Found, Resolution, RouteId, RouteRef, Router};
