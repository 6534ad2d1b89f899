//! Each connector's listeners: one per worker, all on the same port, so that the kernel spreads
//! connections over the workers (`SO_REUSEPORT`) and no connection is handed between threads.
//!
//! `engine_core::listen::bind_group` binds each group: its first listener exclusively, so that a
//! port in use fails the start even when another `SO_REUSEPORT` group holds it.

use engine_core::listen;
use engine_core::{Connector, ServerConfig, StartError};
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

/// `count` listeners on `connector` ([`listen::bind_group`]), and the address they share.
fn bind_group(
    connector: &Connector,
    backlog: u32,
    count: usize,
) -> Result<(SocketAddr, Vec<TcpListener>), StartError> {
    listen::bind_group(connector, backlog, count).map_err(|e| {
        StartError::new(
            format!("cannot listen on {}:{}", connector.host, connector.port),
            e,
        )
    })
}
