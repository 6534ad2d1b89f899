//! engine-tokio: the portable engine. engine-core's connection driver on tokio's multi-thread
//! runtime (or on a runtime the caller already has), listeners bound with socket2.
//!
//! It only moves bytes: accept, hand each connection to
//! [`serve_connection`], and stop. Every HTTP decision lives in
//! engine-core.
//!
//! ```no_run
//! use engine_core::{Application, ServerConfig, embedded_server};
//! use engine_tokio::TokioEngine;
//!
//! fn hello(app: &mut Application) {
//!     // install plugins, add routes...
//! }
//!
//! let mut server = embedded_server(TokioEngine::new(), ServerConfig::listen("127.0.0.1", 8080), hello);
//! server.start(true).unwrap();
//! ```

mod io;

use engine_core::call::ConnectionInfo;
use engine_core::conn::{
    ConnConfig, ShutdownSignal, ShutdownTrigger, serve_connection, shutdown_pair,
};
use engine_core::{AppRuntime, Engine, ServerConfig, StartError, listen};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::runtime::{Handle, Runtime};
use tokio::sync::Semaphore;

/// The tokio engine.
#[derive(Debug, Default)]
pub struct TokioEngine {
    /// A runtime the caller owns, when embedded.
    external: Option<Handle>,
    running: Option<Running>,
}

#[derive(Debug)]
struct Running {
    /// The engine's own runtime (not when embedded).
    runtime: Option<Runtime>,
    handle: Handle,
    trigger: Arc<ShutdownTrigger>,
    /// The accept loops, which own the listeners: a stop waits for them, so that once it returns
    /// connections are refused.
    accepting: Vec<tokio::task::JoinHandle<()>>,
}

impl TokioEngine {
    /// An engine with its own multi-thread runtime (`ServerConfig::workers` threads, or one per
    /// core).
    pub fn new() -> Self {
        Self::default()
    }

    /// An engine that runs on a runtime the caller already has: for embedding in an existing tokio
    /// application. Call [`EmbeddedServer::stop`](engine_core::EmbeddedServer::stop) from outside
    /// that runtime's worker threads, or from a multi-thread runtime (it blocks in place).
    pub fn with_handle(handle: Handle) -> Self {
        Self {
            external: Some(handle),
            running: None,
        }
    }
}

impl Engine for TokioEngine {
    fn name(&self) -> &'static str {
        "tokio"
    }

    fn start(
        &mut self,
        app: Arc<AppRuntime>,
        config: &ServerConfig,
    ) -> Result<Vec<SocketAddr>, StartError> {
        // Bind everything first (or take descriptors of the inherited listeners): a port in use
        // fails the start before anything runs.
        let listeners = listen::bind_all(config)?;
        let (runtime, handle) = match &self.external {
            Some(handle) => (None, handle.clone()),
            None => {
                let mut builder = tokio::runtime::Builder::new_multi_thread();
                if let Some(workers) = config.workers {
                    builder.worker_threads(workers.max(1));
                }
                let runtime = builder
                    .thread_name("engine-tokio")
                    .enable_all()
                    .build()
                    .map_err(|e| StartError::new("cannot build the tokio runtime", e))?;
                let handle = runtime.handle().clone();
                (Some(runtime), handle)
            }
        };
        let (trigger, signal) = shutdown_pair();
        let limit = Arc::new(Semaphore::new(config.max_connections.max(1)));
        let conn = Arc::new(config.conn.clone());
        let mut addrs = Vec::with_capacity(listeners.len());
        let mut accepting = Vec::with_capacity(listeners.len());
        let _enter = handle.enter();
        for listener in listeners {
            let listener = TcpListener::from_std(listener)
                .map_err(|e| StartError::new("cannot register the listener", e))?;
            let local = listener
                .local_addr()
                .map_err(|e| StartError::new("cannot read the bound address", e))?;
            addrs.push(local);
            let accept = Accept {
                listener,
                local,
                app: app.clone(),
                conn: conn.clone(),
                signal: signal.clone(),
                limit: limit.clone(),
            };
            accepting.push(handle.spawn(accept.run()));
        }
        self.running = Some(Running {
            runtime,
            handle,
            trigger: Arc::new(trigger),
            accepting,
        });
        Ok(addrs)
    }

    fn stop(&mut self, grace: Duration, timeout: Duration) {
        let Some(mut running) = self.running.take() else {
            return;
        };
        let trigger = running.trigger.clone();
        let accepting = std::mem::take(&mut running.accepting);
        let drained = async move {
            trigger.graceful();
            // The accept loops end at once (they wait on the signal) and drop their listeners.
            for accept in accepting {
                let _ = accept.await;
            }
            if tokio::time::timeout(grace, trigger.all_closed())
                .await
                .is_err()
            {
                trigger.force();
                let _ =
                    tokio::time::timeout(timeout.saturating_sub(grace), trigger.all_closed()).await;
            }
        };
        block_on(&running.handle, drained, timeout + Duration::from_secs(1));
        // `running` drops here: see `Drop for Running`.
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // Every connection is closed by now (or forced to); nothing is left worth waiting for,
            // and a blocking shutdown would panic when the engine is dropped inside async code.
            runtime.shutdown_background();
        }
    }
}

/// Runs `future` on `handle` and waits for it from this thread, whether or not this thread is one
/// of the runtime's own.
fn block_on(handle: &Handle, future: impl Future<Output = ()> + Send + 'static, limit: Duration) {
    let (tx, rx) = std::sync::mpsc::channel();
    handle.spawn(async move {
        future.await;
        let _ = tx.send(());
    });
    let wait = move || {
        let _ = rx.recv_timeout(limit);
    };
    match Handle::try_current() {
        Ok(current) if current.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(wait);
        }
        _ => wait(),
    }
}

/// One listener's accept loop.
struct Accept {
    listener: TcpListener,
    local: SocketAddr,
    app: Arc<AppRuntime>,
    conn: Arc<ConnConfig>,
    signal: ShutdownSignal,
    limit: Arc<Semaphore>,
}

impl Accept {
    async fn run(self) {
        loop {
            // At the connection limit, stop accepting: new connections wait in the backlog.
            let permit = tokio::select! {
                permit = self.limit.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => return,
                },
                () = self.signal.stopping() => return,
            };
            let accepted = tokio::select! {
                accepted = self.listener.accept() => accepted,
                () = self.signal.stopping() => return,
            };
            let (stream, remote) = match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors, or a connection reset before it was accepted: back off.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            // Responses are written whole: Nagle's algorithm would only delay them.
            let _ = stream.set_nodelay(true);
            let local = stream.local_addr().unwrap_or(self.local);
            let info = ConnectionInfo { local, remote };
            let serve = serve_connection(
                io::TokioIo::new(stream),
                self.app.clone(),
                self.conn.clone(),
                info,
                self.signal.clone(),
            );
            tokio::spawn(async move {
                serve.await;
                drop(permit);
            });
        }
    }
}
