//! Binding listeners, the same way for every engine: socket2 with `SO_REUSEADDR`, IPv6 sockets
//! IPv6-only (so `0.0.0.0` and `::` can both be bound), a configurable backlog, and, for
//! thread-per-core engines, `SO_REUSEPORT` so each core has its own listener on the same port.

use crate::engine::Connector;
use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};

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
