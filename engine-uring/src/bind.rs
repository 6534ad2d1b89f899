//! Each connector's listeners: one per worker, all on the same port, so that the kernel spreads
//! connections over the workers (`SO_REUSEPORT`) and no connection is handed between threads.
//!
//! The first listener is bound without `SO_REUSEPORT`: with it, a bind to a port that another
//! `SO_REUSEPORT` socket of the same user holds (another server on this engine, say) would succeed
//! and silently share its connections, where a port in use must fail the start. Once bound, the
//! first listener allows the reuse and the others join it on its port, which also resolves port 0
//! to one real port for every worker.

use engine_core::listen;
use engine_core::{Connector, ServerConfig, StartError};
use socket2::SockRef;
use std::io;
use std::net::{SocketAddr, TcpListener};

/// Every connector's group: the addresses bound, and for each of the `workers`, its listener of
/// each group.
pub(crate) fn bind_all(
    config: &ServerConfig,
    workers: usize,
) -> Result<(Vec<SocketAddr>, Vec<Vec<TcpListener>>), StartError> {
    let mut addrs = Vec::with_capacity(config.connectors.len());
    let mut per_worker: Vec<Vec<TcpListener>> = (0..workers).map(|_| Vec::new()).collect();
    for connector in &config.connectors {
        let (addr, group) = bind_group(connector, config.backlog, workers)?;
        addrs.push(addr);
        for (listeners, listener) in per_worker.iter_mut().zip(group) {
            listeners.push(listener);
        }
    }
    Ok((addrs, per_worker))
}

/// `count` listeners on `connector`, and the address they share. On an error, those already bound
/// are dropped, and so closed.
fn bind_group(
    connector: &Connector,
    backlog: u32,
    count: usize,
) -> Result<(SocketAddr, Vec<TcpListener>), StartError> {
    let failed = |e: io::Error| {
        StartError::new(
            format!("cannot listen on {}:{}", connector.host, connector.port),
            e,
        )
    };
    let addr = listen::resolve(connector).map_err(failed)?;
    let first = listen::bind_addr(addr, backlog, false).map_err(failed)?;
    let local = first.local_addr().map_err(failed)?;
    let mut group = Vec::with_capacity(count);
    if count > 1 {
        SockRef::from(&first).set_reuse_port(true).map_err(failed)?;
    }
    group.push(first);
    for _ in 1..count {
        group.push(listen::bind_addr(local, backlog, true).map_err(failed)?);
    }
    Ok((local, group))
}
