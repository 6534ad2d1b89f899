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
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The in-memory engine: connections are in-memory pipes served by the connection driver on the
/// engine's own runtime. Cloning gives another handle to the same engine.
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
}

/// The address in-memory connections report: the server's side.
pub const MEMORY_LOCAL: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 80);
/// The address in-memory connections report: the client's side.
pub const MEMORY_REMOTE: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 49152);

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

    /// Opens a connection to the running application; its server side is being served when this
    /// returns. Fails when the engine is not running.
    pub fn connect(&self) -> io::Result<MemoryStream> {
        let guard = self.lock();
        let running = guard.as_ref().ok_or(io::ErrorKind::ConnectionRefused)?;
        if running.signal.is_stopping() {
            return Err(io::ErrorKind::ConnectionRefused.into());
        }
        let (client, server) = memory_pair();
        let info = ConnectionInfo {
            local: MEMORY_LOCAL,
            remote: MEMORY_REMOTE,
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

impl Engine for MemoryEngine {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn start(
        &mut self,
        app: Arc<AppRuntime>,
        config: &ServerConfig,
    ) -> Result<Vec<SocketAddr>, StartError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("memory-engine")
            .enable_all()
            .build()
            .map_err(|e| StartError::new("cannot build the in-memory engine's runtime", e))?;
        let (trigger, signal) = shutdown_pair();
        *self.lock() = Some(Running {
            runtime: Arc::new(runtime),
            app,
            config: Arc::new(config.conn.clone()),
            trigger,
            signal,
        });
        Ok(vec![MEMORY_LOCAL])
    }

    fn stop(&mut self, grace: Duration, timeout: Duration) {
        let Some(running) = self.lock().take() else {
            return;
        };
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
    test_application_with(ServerConfig::default(), module)
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

struct MemoryServer {
    engine: MemoryEngine,
    server: Mutex<EmbeddedServer>,
}

impl conformance::EngineUnderTest for MemoryUnderTest {
    fn start(
        &self,
        config: ServerConfig,
        module: Box<dyn Module>,
    ) -> Box<dyn conformance::TestServer> {
        let engine = MemoryEngine::new();
        let mut server = embedded_server(engine.clone(), config, module);
        if let Err(error) = server.start(false) {
            panic!("the in-memory server failed to start: {error}");
        }
        Box::new(MemoryServer {
            engine,
            server: Mutex::new(server),
        })
    }
}

impl conformance::TestServer for MemoryServer {
    fn connect(
        &self,
    ) -> crate::pipeline::BoxFuture<'_, io::Result<Box<dyn conformance::TestStream>>> {
        Box::pin(
            async move { Ok(Box::new(self.engine.connect()?) as Box<dyn conformance::TestStream>) },
        )
    }

    fn addr(&self) -> Option<SocketAddr> {
        None
    }

    fn stop(&self, grace: Duration, timeout: Duration) {
        self.server
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .stop(grace, timeout);
    }
}
