//! Testing support (feature `testing`): the in-memory engine, a test client, and the conformance
//! suite every engine runs.
//!
//! [`test_application`] runs an application with no sockets, like Ktor's `testApplication`: requests
//! go through the same connection driver as on a real engine, over an in-memory connection, so a
//! test can also speak raw bytes to it.
//!
//! ```
//! use engine_core::testing::test_application;
//! use engine_core::{Application, CallPipeline};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let app = test_application(|app: &mut Application| {
//!     app.call_pipeline().intercept_boxed(CallPipeline::CALL, |ctx| {
//!         let call = ctx.context.clone();
//!         Box::pin(async move { call.respond_text("Hello World!").await })
//!     });
//! });
//! let response = app.client().get("/").await.unwrap();
//! assert_eq!(response.status, 200);
//! assert_eq!(response.text(), "Hello World!");
//! # });
//! ```

mod client;
pub mod conformance;
mod memory;

pub use client::{ResponseReader, TestResponse};
pub use memory::{MemoryStream, memory_pair};

use crate::application::AppRuntime;
use crate::call::ConnectionInfo;
use crate::conn::{ShutdownSignal, ShutdownTrigger, serve_connection, shutdown_pair};
use crate::engine::{EmbeddedServer, Engine, ServerConfig, StartError, embedded_server};
use crate::{Application, Module};
use bytes::Bytes;
use http::Method;
use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The in-memory engine: connections are in-memory pipes served by the connection driver on the
/// engine's own runtime. Its listeners live on an in-memory network: port 0 takes a free port, a
/// port in use fails the start, and [`memory_connect`] reaches a listener by address. Cloning gives
/// another handle to the same engine.
#[derive(Clone, Debug)]
pub struct MemoryEngine {
    inner: Arc<Mutex<Option<Running>>>,
}

#[derive(Debug)]
struct Running {
    runtime: Arc<tokio::runtime::Runtime>,
    app: Arc<AppRuntime>,
    config: Arc<crate::conn::ConnConfig>,
    trigger: ShutdownTrigger,
    signal: ShutdownSignal,
    addrs: Vec<SocketAddr>,
}

/// The addresses in-memory listeners hold.
struct Network {
    next_port: u16,
    listeners: BTreeMap<SocketAddr, MemoryEngine>,
}

static NETWORK: Mutex<Network> = Mutex::new(Network {
    next_port: 20_000,
    listeners: BTreeMap::new(),
});

fn network() -> std::sync::MutexGuard<'static, Network> {
    NETWORK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Network {
    /// The listener `addr` reaches: the exact address, or a wildcard one on its port.
    fn find(&self, addr: SocketAddr) -> Option<&MemoryEngine> {
        let wildcard = SocketAddr::new(
            if addr.is_ipv4() {
                Ipv4Addr::UNSPECIFIED.into()
            } else {
                Ipv6Addr::UNSPECIFIED.into()
            },
            addr.port(),
        );
        self.listeners
            .get(&addr)
            .or_else(|| self.listeners.get(&wildcard))
    }

    fn in_use(&self, addr: SocketAddr) -> bool {
        self.find(addr).is_some()
            || (addr.ip().is_unspecified()
                && self
                    .listeners
                    .keys()
                    .any(|held| held.port() == addr.port() && held.is_ipv4() == addr.is_ipv4()))
    }

    fn free_port(&mut self) -> u16 {
        loop {
            let port = self.next_port;
            self.next_port = if port == u16::MAX { 20_000 } else { port + 1 };
            if !self.listeners.keys().any(|held| held.port() == port) {
                return port;
            }
        }
    }
}

/// Opens an in-memory connection to the listener at `addr`.
pub fn memory_connect(addr: SocketAddr) -> io::Result<MemoryStream> {
    let engine = network()
        .find(addr)
        .cloned()
        .ok_or(io::ErrorKind::ConnectionRefused)?;
    engine.connect_at(addr)
}

impl Default for MemoryEngine {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryEngine {
    /// An engine that has not started.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Mutex::new(None)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Running>> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Opens a connection to the engine's first listener. Fails when it is not running.
    pub fn connect(&self) -> io::Result<MemoryStream> {
        let addr = self
            .lock()
            .as_ref()
            .and_then(|r| r.addrs.first().copied())
            .ok_or(io::ErrorKind::ConnectionRefused)?;
        self.connect_at(addr)
    }

    /// Opens a connection as a client of `local`; the server side is served when this returns.
    fn connect_at(&self, local: SocketAddr) -> io::Result<MemoryStream> {
        let guard = self.lock();
        let running = guard.as_ref().ok_or(io::ErrorKind::ConnectionRefused)?;
        if running.signal.is_stopping() {
            return Err(io::ErrorKind::ConnectionRefused.into());
        }
        let (client, server) = memory_pair();
        let remote_ip = if local.is_ipv4() {
            Ipv4Addr::LOCALHOST.into()
        } else {
            Ipv6Addr::LOCALHOST.into()
        };
        let info = ConnectionInfo {
            local,
            remote: SocketAddr::new(remote_ip, MEMORY_CLIENT_PORT),
        };
        let serve = serve_connection(
            server,
            running.app.clone(),
            running.config.clone(),
            info,
            running.signal.clone(),
        );
        running.runtime.spawn(serve);
        Ok(client)
    }
}

/// The port in-memory clients connect from.
pub const MEMORY_CLIENT_PORT: u16 = 49_152;

fn memory_addr(
    connector: &crate::engine::Connector,
    network: &mut Network,
) -> Result<SocketAddr, StartError> {
    let ip: IpAddr = match connector.host.as_str() {
        "localhost" => Ipv4Addr::LOCALHOST.into(),
        host => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .map_err(|e| {
                StartError::new(format!("the in-memory network has no host {host:?}"), e)
            })?,
    };
    let port = if connector.port == 0 {
        network.free_port()
    } else {
        connector.port
    };
    Ok(SocketAddr::new(ip, port))
}

impl Engine for MemoryEngine {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn start(
        &mut self,
        app: Arc<AppRuntime>,
        config: &ServerConfig,
    ) -> Result<Vec<SocketAddr>, StartError> {
        let mut network = network();
        let mut addrs = Vec::with_capacity(config.connectors.len());
        for connector in &config.connectors {
            let addr = memory_addr(connector, &mut network)?;
            if network.in_use(addr) || addrs.contains(&addr) {
                let error = io::Error::new(io::ErrorKind::AddrInUse, "address in use");
                return Err(StartError::new(format!("cannot listen on {addr}"), error));
            }
            addrs.push(addr);
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("memory-engine")
            .enable_all()
            .build()
            .map_err(|e| StartError::new("cannot build the in-memory engine's runtime", e))?;
        let (trigger, signal) = shutdown_pair();
        for &addr in &addrs {
            network.listeners.insert(addr, self.clone());
        }
        *self.lock() = Some(Running {
            runtime: Arc::new(runtime),
            app,
            config: Arc::new(config.conn.clone()),
            trigger,
            signal,
            addrs: addrs.clone(),
        });
        Ok(addrs)
    }

    fn stop(&mut self, grace: Duration, timeout: Duration) {
        let Some(running) = self.lock().take() else {
            return;
        };
        {
            let mut network = network();
            for addr in &running.addrs {
                network.listeners.remove(addr);
            }
        }
        running.trigger.graceful();
        let (tx, rx) = std::sync::mpsc::channel();
        let trigger = Arc::new(running.trigger);
        let waiter = trigger.clone();
        running.runtime.spawn(async move {
            let closed = tokio::time::timeout(grace, waiter.all_closed())
                .await
                .is_ok();
            if !closed {
                waiter.force();
                let _ =
                    tokio::time::timeout(timeout.saturating_sub(grace), waiter.all_closed()).await;
            }
            let _ = tx.send(());
        });
        let _ = rx.recv_timeout(timeout + Duration::from_secs(1));
        if let Ok(runtime) = Arc::try_unwrap(running.runtime) {
            runtime.shutdown_background();
        }
    }
}

/// An application served by the in-memory engine (Ktor's `testApplication`).
#[derive(Debug)]
pub struct TestApplication {
    engine: MemoryEngine,
    _server: EmbeddedServer,
}

/// Starts `module` on the in-memory engine with the default configuration.
///
/// # Panics
/// If a module fails: the test's own configuration is wrong.
#[track_caller]
pub fn test_application(module: impl Module) -> TestApplication {
    test_application_with(ServerConfig::listen("127.0.0.1", 0), module)
}

/// Starts `module` on the in-memory engine with `config`.
///
/// # Panics
/// If a module fails.
#[track_caller]
pub fn test_application_with(config: ServerConfig, module: impl Module) -> TestApplication {
    let engine = MemoryEngine::new();
    let mut server = embedded_server(engine.clone(), config, module);
    if let Err(error) = server.start(false) {
        panic!("the test application failed to start: {error}");
    }
    TestApplication {
        engine,
        _server: server,
    }
}

impl TestApplication {
    /// A client for requests, one connection each.
    pub fn client(&self) -> TestClient {
        TestClient {
            engine: self.engine.clone(),
        }
    }

    /// A raw connection, for tests that speak bytes.
    pub fn connect(&self) -> io::Result<ResponseReader<MemoryStream>> {
        Ok(ResponseReader::new(self.engine.connect()?))
    }
}

/// A client of a [`TestApplication`].
#[derive(Debug, Clone)]
pub struct TestClient {
    engine: MemoryEngine,
}

impl TestClient {
    /// `GET path`.
    pub async fn get(&self, path: &str) -> io::Result<TestResponse> {
        self.request(Method::GET, path, &[], Bytes::new()).await
    }

    /// `POST path` with a body.
    pub async fn post(&self, path: &str, body: impl Into<Bytes>) -> io::Result<TestResponse> {
        self.request(Method::POST, path, &[], body.into()).await
    }

    /// Any request: `Host` and `Content-Length` are added.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> io::Result<TestResponse> {
        let mut reader = ResponseReader::new(self.engine.connect()?);
        reader
            .send(encode_request(&method, path, headers, &body))
            .await?;
        reader.read_response(method == Method::HEAD).await
    }
}

/// The bytes of a request with `Host` and, when there is a body, `Content-Length`.
pub fn encode_request(
    method: &Method,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\n");
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        out.push_str("Host: localhost\r\n");
    }
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// Builds an application from a module, for tests that drive [`Application`] directly.
pub fn application(module: impl FnOnce(&mut Application)) -> Arc<AppRuntime> {
    let mut app = Application::new();
    module(&mut app);
    app.freeze()
}

/// The in-memory engine as an engine under test, for the conformance suite.
#[derive(Debug, Clone, Copy)]
pub struct MemoryUnderTest;

impl conformance::EngineUnderTest for MemoryUnderTest {
    fn engine(&self) -> Box<dyn Engine> {
        Box::new(MemoryEngine::new())
    }

    fn dialer(&self) -> conformance::Dialer {
        |addr| {
            Box::pin(async move {
                Ok(Box::new(memory_connect(addr)?) as Box<dyn conformance::TestStream>)
            })
        }
    }
}
