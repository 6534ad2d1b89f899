//! The stand-in for `ring.rs` where there is no io_uring: the crate builds, and
//! [`io_uring_available`](crate::io_uring_available) and `Engine::start` say why it cannot run.

use crate::Shared;
use std::io;
use std::sync::Arc;

pub(crate) fn probe() -> io::Result<()> {
    Err(io::Error::other(
        "io_uring is Linux's; use the tokio engine here",
    ))
}

pub(crate) fn run_worker(
    _listeners: Vec<std::net::TcpListener>,
    _shared: Arc<Shared>,
    ready: impl FnOnce(Result<(), String>),
) {
    ready(probe().map_err(|error| crate::probe::explain(&error)));
}
