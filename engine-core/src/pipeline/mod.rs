//! Pipelines: ordered phases of interceptors, with Ktor's semantics (`io.ktor.util.pipeline`).
//!
//! A [`Pipeline`] is built at configuration time: phases in an order (added, or inserted before or
//! after another), interceptors in each phase. [`Pipeline::chain`] flattens it into a [`Chain`], an
//! immutable slice of interceptors in execution order: a phase with no interceptors leaves nothing in
//! it, so it costs nothing per call.
//!
//! Executing a chain gives each interceptor a [`PipelineContext`]: the subject, the context (the
//! [`ApplicationCall`](crate::ApplicationCall) for the server's pipelines), and three verbs:
//! - [`proceed`](PipelineContext::proceed): run the rest of the chain now, then continue here, so an
//!   interceptor can wrap everything after it (timing, error mapping);
//! - [`proceed_with`](PipelineContext::proceed_with): the same with a new subject;
//! - [`finish`](PipelineContext::finish): skip everything after this interceptor.
//!
//! An interceptor that does none of these continues implicitly: the next one runs after it returns.
//! An error ends the execution and travels back through every `proceed` that is waiting, so an outer
//! interceptor can turn it into a response.

mod chain;
mod phases;

pub(crate) use chain::FromBoxed;
pub use chain::{BoxFuture, Chain, Interceptor, InterceptorFn, PipelineContext, done, finished};
pub use phases::{Phase, Pipeline};

#[cfg(test)]
mod tests;
