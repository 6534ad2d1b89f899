//! Each connector's listeners: one per worker, all on the same port, so that the kernel spreads
//! connections over the workers (`SO_REUSEPORT`) and no connection is handed between threads.
//!
//! `engine_core::listen::bind_group` binds each group: its first listener exclusively, so that a
//! port in use fails the start even when another `SO_REUSEPORT` group holds it.
//!
//! Inherited listeners (systemd socket activation, `ServerConfig::inherited`) are one socket
//! each that this process did not bind and cannot put into a group of its own: every worker
//! gets a descriptor of it (`dup(2)`, `listen::inherited_group`) and the workers' accepts share
//! its one accept queue. A stopping worker cancels its accept (`ring`'s accept loop) rather than
//! shut the socket down, which would end its listening for systemd too.

use engine_core::listen;
use engine_core::{ServerConfig, StartError};
use std::net::{SocketAddr, TcpListener};

/// Every connector's group (or every inherited listener's): the addresses bound, and for each of
/// the `workers`, its listener of each group.
pub(crate) fn bind_all(
    config: &ServerConfig,
    workers: usize,
) -> Result<(Vec<SocketAddr>, Vec<Vec<TcpListener>>), StartError> {
    let groups: Vec<(SocketAddr, Vec<TcpListener>)> = if config.inherited.is_empty() {
        config
            .connectors
            .iter()
            .map(|connector| {
                listen::bind_group(connector, config.backlog, workers)
                    .map_err(|e| listen::connector_error(connector, e))
            })
            .collect::<Result<_, _>>()?
    } else {
        config
            .inherited
            .iter()
            .map(|inherited| listen::inherited_group(inherited, workers))
            .collect::<Result<_, _>>()?
    };
    let mut addrs = Vec::with_capacity(groups.len());
    let mut per_worker: Vec<Vec<TcpListener>> = (0..workers).map(|_| Vec::new()).collect();
    for (addr, group) in groups {
        addrs.push(addr);
        for (listeners, listener) in per_worker.iter_mut().zip(group) {
            listeners.push(listener);
        }
    }
    Ok((addrs, per_worker))
}
