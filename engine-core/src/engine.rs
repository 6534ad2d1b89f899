//! The `Engine` trait, the server configuration, and `embedded_server` (Ktor's `embeddedServer`).
//!
//! An engine binds listeners, accepts connections and runs [`serve_connection`] on each; that is
//! all. The application, its modules and lifecycle events, signals and graceful shutdown are
//! handled here once for every engine.
//!
//! [`serve_connection`]: crate::conn::serve_connection

use crate::Error;
use crate::application::{AppRuntime, Application, LifecycleEvent, Module};
use crate::conn::ConnConfig;
use crate::listen::InheritedListener;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Where to listen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connector {
    /// Host or address: `0.0.0.0`, `::`, `127.0.0.1`, `localhost`.
    pub host: String,
    /// Port; 0 picks a free one (see [`EmbeddedServer::local_addrs`]).
    pub port: u16,
}

/// Everything an engine needs besides the application.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The listeners: one per connector (IPv4 and IPv6 alike).
    pub connectors: Vec<Connector>,
    /// Listening sockets to serve instead of binding `connectors`, which is then ignored: those
    /// systemd hands over ([`crate::systemd::listen_fds`]), or any the program bound. Empty by
    /// default. The socket engines serve them; the in-memory test engine has no sockets and
    /// ignores them.
    pub inherited: Vec<InheritedListener>,
    /// Limits and timeouts of each connection.
    pub conn: ConnConfig,
    /// Worker threads: `None` for one per available core.
    pub workers: Option<usize>,
    /// Most connections open at once per engine: 10,000 by default; past it, new connections wait
    /// in the listen backlog until one closes.
    pub max_connections: usize,
    /// Listen backlog: 1024.
    pub backlog: u32,
    /// After `stop` begins, how long in-flight requests have to finish: 5 s by default.
    pub shutdown_grace: Duration,
    /// When `stop` closes whatever is still open: 10 s by default.
    pub shutdown_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            connectors: vec![Connector {
                host: "0.0.0.0".into(),
                port: 8080,
            }],
            inherited: Vec::new(),
            conn: ConnConfig::default(),
            workers: None,
            max_connections: 10_000,
            backlog: 1024,
            shutdown_grace: Duration::from_secs(5),
            shutdown_timeout: Duration::from_secs(10),
        }
    }
}

impl ServerConfig {
    /// One listener on `host:port`.
    pub fn listen(host: impl Into<String>, port: u16) -> Self {
        Self {
            connectors: vec![Connector {
                host: host.into(),
                port,
            }],
            ..Self::default()
        }
    }

    /// Serves `listeners` instead of binding the connectors (see [`ServerConfig::inherited`]).
    #[must_use]
    pub fn with_inherited(mut self, listeners: Vec<InheritedListener>) -> Self {
        self.inherited = listeners;
        self
    }

    /// Adds a listener.
    #[must_use]
    pub fn and_listen(mut self, host: impl Into<String>, port: u16) -> Self {
        self.connectors.push(Connector {
            host: host.into(),
            port,
        });
        self
    }
}

/// Why an engine could not start.
#[derive(Debug)]
pub struct StartError {
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl StartError {
    /// An error with a message and a cause.
    pub fn new(
        message: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// An error with only a message.
    pub fn msg(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(source) => write!(f, "{}: {source}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// A server engine: binds, accepts, and serves each connection with
/// [`serve_connection`](crate::conn::serve_connection).
pub trait Engine: Send + 'static {
    /// The engine's name for logs: `tokio`, `uring`, `memory`.
    fn name(&self) -> &'static str;

    /// Binds every connector and starts serving `app`. Returns the bound addresses once the server
    /// accepts connections; a failure leaves nothing bound or running.
    fn start(
        &mut self,
        app: Arc<AppRuntime>,
        config: &ServerConfig,
    ) -> Result<Vec<SocketAddr>, StartError>;

    /// Stops accepting, lets connections with a request in flight finish for `grace`, closes idle
    /// ones at once, and closes everything at `timeout`. Returns when all is closed. Idempotent.
    fn stop(&mut self, grace: Duration, timeout: Duration);
}

impl Engine for Box<dyn Engine> {
    fn name(&self) -> &'static str {
        (**self).name()
    }

    fn start(
        &mut self,
        app: Arc<AppRuntime>,
        config: &ServerConfig,
    ) -> Result<Vec<SocketAddr>, StartError> {
        (**self).start(app, config)
    }

    fn stop(&mut self, grace: Duration, timeout: Duration) {
        (**self).stop(grace, timeout);
    }
}

/// A server: an engine, its configuration and the application's modules (Ktor's
/// `EmbeddedServer`).
pub struct EmbeddedServer {
    engine: Box<dyn Engine>,
    config: ServerConfig,
    modules: Vec<Box<dyn Module>>,
    runtime: Option<Arc<AppRuntime>>,
    addrs: Vec<SocketAddr>,
    stopped: bool,
}

impl fmt::Debug for EmbeddedServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddedServer")
            .field("engine", &self.engine.name())
            .field("addrs", &self.addrs)
            .finish()
    }
}

/// A server on `engine` with `config`, whose application `module` configures. More modules can be
/// added with [`EmbeddedServer::module`].
pub fn embedded_server(
    engine: impl Engine,
    config: ServerConfig,
    module: impl Module,
) -> EmbeddedServer {
    EmbeddedServer {
        engine: Box::new(engine),
        config,
        modules: vec![Box::new(module)],
        runtime: None,
        addrs: Vec::new(),
        stopped: false,
    }
}

impl EmbeddedServer {
    /// Adds a module; modules run in the order they were added.
    #[must_use]
    pub fn module(mut self, module: impl Module) -> Self {
        self.modules.push(Box::new(module));
        self
    }

    /// Runs the modules, binds, and serves. Returns once the server accepts connections (the ready
    /// signal) when `wait` is false; with `wait`, blocks until SIGINT or SIGTERM, then stops
    /// gracefully with the configured grace and timeout.
    pub fn start(&mut self, wait: bool) -> Result<&mut Self, Error> {
        // Before anything says the server is up: a SIGTERM sent the moment it is (systemd may,
        // right after READY=1) must stop it gracefully, not kill it with the default action.
        let signals = wait.then(Signals::install);
        let mut app = Application::new();
        for module in std::mem::take(&mut self.modules) {
            module.configure(&mut app)?;
        }
        let runtime = app.freeze();
        runtime.raise(LifecycleEvent::Starting);
        self.addrs = self.engine.start(runtime.clone(), &self.config)?;
        tracing::info!(engine = self.engine.name(), addrs = ?self.addrs, "server started");
        runtime.raise(LifecycleEvent::Started);
        self.runtime = Some(runtime);
        if let Some(signals) = signals {
            signals.wait();
            let (grace, timeout) = (self.config.shutdown_grace, self.config.shutdown_timeout);
            self.stop(grace, timeout);
        }
        Ok(self)
    }

    /// The addresses the listeners bound, with real ports for port 0.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// Stops: no new connections; requests in flight get `grace`; all is closed by `timeout`.
    /// Instant for a server that never started.
    pub fn stop(&mut self, grace: Duration, timeout: Duration) {
        let Some(runtime) = self.runtime.take() else {
            return;
        };
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        runtime.raise(LifecycleEvent::Stopping);
        self.engine.stop(grace, timeout);
        runtime.raise(LifecycleEvent::Stopped);
        tracing::info!(engine = self.engine.name(), "server stopped");
    }
}

impl Drop for EmbeddedServer {
    fn drop(&mut self) {
        self.stop(Duration::ZERO, Duration::ZERO);
    }
}

/// SIGINT and SIGTERM, caught from when they are installed until [`Signals::wait`] sees one.
struct Signals {
    runtime: Option<tokio::runtime::Runtime>,
    #[cfg(unix)]
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    /// Replaces the signals' default action (terminate at once) with a handler.
    fn install() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        let Ok(runtime) = runtime else {
            tracing::error!("cannot wait for signals: no runtime");
            return Self {
                runtime: None,
                #[cfg(unix)]
                streams: None,
            };
        };
        #[cfg(unix)]
        let streams = {
            use tokio::signal::unix::{SignalKind, signal};
            let _enter = runtime.enter();
            match (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) {
                (Ok(term), Ok(int)) => Some((term, int)),
                _ => {
                    tracing::error!("cannot install signal handlers");
                    None
                }
            }
        };
        Self {
            runtime: Some(runtime),
            #[cfg(unix)]
            streams,
        }
    }

    /// Blocks until SIGINT or SIGTERM (returns at once if they could not be installed).
    fn wait(self) {
        let Some(runtime) = self.runtime else {
            return;
        };
        #[cfg(unix)]
        if let Some((mut term, mut int)) = self.streams {
            runtime.block_on(async {
                tokio::select! {
                    _ = term.recv() => tracing::info!("SIGTERM: stopping"),
                    _ = int.recv() => tracing::info!("SIGINT: stopping"),
                }
            });
        }
        #[cfg(not(unix))]
        runtime.block_on(async {
            let _ = tokio::signal::ctrl_c().await;
        });
    }
}
