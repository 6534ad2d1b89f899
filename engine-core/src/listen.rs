//! Binding listeners, the same way for every engine: socket2 with `SO_REUSEADDR`, IPv6 sockets
//! IPv6-only (so `0.0.0.0` and `::` can both be bound), a configurable backlog, and, for
//! thread-per-core engines, `SO_REUSEPORT` so each core has its own listener on the same port.
//! Or no binding at all: listeners inherited from systemd or from the program
//! ([`InheritedListener`], `ServerConfig::inherited`) are served instead of the connectors.

use crate::engine::{Connector, ServerConfig, StartError};
use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::Arc;

/// Binds `connector` (its host resolved to its first address) and listens, non-blocking.
pub fn bind(connector: &Connector, backlog: u32, reuse_port: bool) -> io::Result<TcpListener> {
    let addr = resolve(connector)?;
    bind_addr(addr, backlog, reuse_port)
}

/// The first address `connector`'s host resolves to.
pub fn resolve(connector: &Connector) -> io::Result<SocketAddr> {
    (connector.host.as_str(), connector.port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                format!("{} resolves to no address", connector.host),
            )
        })
}

/// Binds `addr` and listens, non-blocking.
///
/// With `reuse_port`, a bind to a port that another `SO_REUSEPORT` socket of the same user holds
/// succeeds and shares its connections: use [`bind_group`] for a thread-per-core group, which binds
/// its first listener exclusively so that a port in use still fails.
pub fn bind_addr(addr: SocketAddr, backlog: u32, reuse_port: bool) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    #[cfg(unix)]
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    #[cfg(not(unix))]
    let _ = reuse_port;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(i32::try_from(backlog).unwrap_or(i32::MAX))?;
    Ok(socket.into())
}

/// `count` listeners on one port, for a thread-per-core engine: the kernel spreads connections over
/// them (`SO_REUSEPORT`). The first is bound without `SO_REUSEPORT`, so a port in use (even by another
/// `SO_REUSEPORT` group of the same user) fails; once bound it allows the reuse and the others join it
/// on its real port, which also resolves port 0 once for the whole group. On an error the listeners
/// bound so far are dropped, and so closed.
pub fn bind_group(
    connector: &Connector,
    backlog: u32,
    count: usize,
) -> io::Result<(SocketAddr, Vec<TcpListener>)> {
    let first = bind_addr(resolve(connector)?, backlog, false)?;
    let local = first.local_addr()?;
    let mut group = Vec::with_capacity(count.max(1));
    #[cfg(unix)]
    if count > 1 {
        socket2::SockRef::from(&first).set_reuse_port(true)?;
    }
    group.push(first);
    for _ in 1..count {
        group.push(bind_addr(local, backlog, true)?);
    }
    Ok((local, group))
}

/// A listening socket the server did not bind: handed over by systemd (socket activation, see
/// [`crate::systemd::listen_fds`]) or by the program itself. Cloning shares the socket; each engine
/// listener is a descriptor of its own ([`try_clone`](Self::try_clone), `dup(2)`), and the socket
/// stays open (and listening) while any descriptor of it is, so the one systemd keeps goes on
/// queueing connections after the server stops.
#[derive(Debug, Clone)]
pub struct InheritedListener {
    listener: Arc<TcpListener>,
    name: Option<Arc<str>>,
}

impl InheritedListener {
    /// `listener`, which must be listening already (`listen(2)` called).
    pub fn new(listener: TcpListener) -> Self {
        Self {
            listener: Arc::new(listener),
            name: None,
        }
    }

    /// `listener` with the name systemd gave it (`FileDescriptorName=`, `LISTEN_FDNAMES`).
    pub fn named(listener: TcpListener, name: impl Into<Arc<str>>) -> Self {
        Self {
            listener: Arc::new(listener),
            name: Some(name.into()),
        }
    }

    /// The socket's name, if it came with one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The address the socket is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// A new descriptor of the same socket (`dup(2)`, close-on-exec), non-blocking.
    pub fn try_clone(&self) -> io::Result<TcpListener> {
        let listener = self.listener.try_clone()?;
        listener.set_nonblocking(true)?;
        Ok(listener)
    }
}

impl From<TcpListener> for InheritedListener {
    fn from(listener: TcpListener) -> Self {
        Self::new(listener)
    }
}

/// The listeners an engine with one listener per address serves: a descriptor of each of
/// `config.inherited` when there are any (`connectors` is then not bound), else every connector
/// bound. All non-blocking; a failure closes what was bound so far.
pub fn bind_all(config: &ServerConfig) -> Result<Vec<TcpListener>, StartError> {
    if !config.inherited.is_empty() {
        return config
            .inherited
            .iter()
            .map(|inherited| {
                inherited
                    .try_clone()
                    .map_err(|e| inherited_error(inherited, e))
            })
            .collect();
    }
    config
        .connectors
        .iter()
        .map(|connector| {
            bind(connector, config.backlog, false).map_err(|e| connector_error(connector, e))
        })
        .collect()
}

/// `count` descriptors of `inherited`, for a thread-per-core engine whose workers then share one
/// socket (and its one accept queue) instead of an `SO_REUSEPORT` group, and the address it is
/// bound to.
pub fn inherited_group(
    inherited: &InheritedListener,
    count: usize,
) -> Result<(SocketAddr, Vec<TcpListener>), StartError> {
    let local = inherited
        .local_addr()
        .map_err(|e| inherited_error(inherited, e))?;
    let group = (0..count.max(1))
        .map(|_| inherited.try_clone())
        .collect::<io::Result<_>>()
        .map_err(|e| inherited_error(inherited, e))?;
    Ok((local, group))
}

/// The start error for a connector that cannot be bound.
pub fn connector_error(connector: &Connector, error: io::Error) -> StartError {
    StartError::new(
        format!("cannot listen on {}:{}", connector.host, connector.port),
        error,
    )
}

fn inherited_error(inherited: &InheritedListener, error: io::Error) -> StartError {
    let what = match (inherited.name(), inherited.local_addr()) {
        (Some(name), _) => format!("`{name}`"),
        (None, Ok(addr)) => addr.to_string(),
        (None, Err(_)) => "a socket".to_owned(),
    };
    StartError::new(format!("cannot use the inherited listener {what}"), error)
}
