//! The connection: a sans-I/O state machine ([`Conn`]) and the one async driver
//! ([`serve_connection`]) every engine runs it with. Engines provide an [`Io`] per connection and
//! a [`ShutdownSignal`]; everything HTTP/1.1 decides (framing, keep-alive, pipelining order,
//! `100 Continue`, draining unread bodies, limits, error statuses) is decided here.

pub mod buffers;
mod config;
mod driver;
mod io;
mod shutdown;
mod state;
mod timer;

pub use config::ConnConfig;
pub use driver::serve_connection;
pub use io::{Io, ReadResult};
pub use shutdown::{
    ConnectionGuard, ShutdownSignal, ShutdownTrigger, ShutdownWatch, shutdown_pair,
};
pub use state::{After, BodyError, BodyEvent, Conn, Rejection, RequestStart, ResponsePlan};
