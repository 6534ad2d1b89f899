//! engine-core: Ktor's server model in Rust.
//!
//! Engines (io_uring in `engine-uring`, tokio in `engine-tokio`, and the in-memory test engine here)
//! only move bytes, drive timers and hand calls to the pipeline. Everything about HTTP/1.1 is decided
//! once, here.
//!
//! # Layout
//! - [`http`]: sans-I/O HTTP/1.1 (RFC 9112): request head parser, body framing decision, chunked
//!   decoder, response head encoder, limits, parse errors with their status.

pub mod http;

/// The README's examples compile and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
