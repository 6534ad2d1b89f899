//! The app binary as a child process, shared by the app's process-level tests: started on a free
//! port with one worker, killed on drop, its stderr kept in a file shown when a test fails.
#![allow(dead_code, reason = "each test binary uses part of this harness")]

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port nothing listens on right now.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The app binary, killed on drop; its stderr goes to a file shown when a test fails.
pub(crate) struct App {
    child: Child,
    pub(crate) port: u16,
    log: PathBuf,
}

impl App {
    pub(crate) fn start(engine: &str) -> Self {
        Self::start_with(engine, |_| {})
    }

    /// As [`start`](Self::start), with `configure` adding to the command (flags, environment).
    pub(crate) fn start_with(engine: &str, configure: impl FnOnce(&mut Command)) -> Self {
        let port = free_port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_app"));
        command.args([
            "--engine",
            engine,
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--workers",
            "1",
        ]);
        configure(&mut command);
        let mut app = Self::spawn(command, &format!("{engine}-{port}"), port);
        app.wait_listening();
        app
    }

    /// Waits until the app accepts connections on its port; panics with its log if it exits first
    /// or takes over 10 s.
    pub(crate) fn wait_listening(&mut self) {
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "the app exited ({status}) before listening:\n{}",
                    self.log()
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the app did not start listening on {}:\n{}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Runs `command` (the app, or a wrapper that execs it) with its stderr kept; `port` is where
    /// it will serve. Does not wait for it.
    pub(crate) fn spawn(mut command: Command, label: &str, port: u16) -> Self {
        let log = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("app-{label}.log"));
        let stderr = std::fs::File::create(&log).expect("the log file is created");
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("the app binary runs");
        Self { child, port, log }
    }

    /// The app's exit status, if it has exited.
    pub(crate) fn try_wait(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().unwrap()
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl App {
    /// Sends the signal `name` (`TERM`, `INT`) to the app.
    pub(crate) fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the app to exit, at most `within`.
    pub(crate) fn wait(&mut self, within: Duration) -> std::process::ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                started.elapsed() < within,
                "the app did not exit within {within:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// hyper's HTTP/1.1 client on one keep-alive connection.
pub(crate) struct HyperClient {
    sender: hyper::client::conn::http1::SendRequest<http_body_util::Full<bytes::Bytes>>,
}

/// A hyper client connected to `addr`.
pub(crate) async fn hyper_client(addr: std::net::SocketAddr) -> HyperClient {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    HyperClient { sender }
}

impl HyperClient {
    /// `method path`, with `json` as an `application/json` body; the status, headers and body.
    pub(crate) async fn send(
        &mut self,
        method: &str,
        path: &str,
        json: Option<&str>,
    ) -> (http::StatusCode, http::HeaderMap, bytes::Bytes) {
        let headers: &[(&str, &str)] = match json {
            Some(_) => &[("content-type", "application/json")],
            None => &[],
        };
        self.request(method, path, headers, json.unwrap_or_default())
            .await
    }

    /// `method path` with `headers` and `body`; the status, headers and body.
    pub(crate) async fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (http::StatusCode, http::HeaderMap, bytes::Bytes) {
        use http_body_util::BodyExt;
        let mut request = http::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "localhost");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let body = bytes::Bytes::from(body.to_owned());
        let request = request.body(http_body_util::Full::new(body)).unwrap();
        self.sender.ready().await.unwrap();
        let response = self.sender.send_request(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        (parts.status, parts.headers, body)
    }
}

/// Fails the test, saying why, where io_uring cannot run: the uring tests need it.
pub(crate) fn require_uring() {
    if let Err(why) = engine_uring::io_uring_available() {
        panic!("io_uring is unavailable here ({why}): this test needs it");
    }
}

/// Two tests running the async fn `$conversation(engine)` over a real socket: on engine-tokio, and
/// on engine-uring (which fails where io_uring is unavailable).
#[allow(unused_macros, reason = "each test binary uses part of this harness")]
macro_rules! hyper_on_each_engine {
    ($conversation:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn hyper_client_over_a_socket_on_tokio() {
            $conversation(Box::new(engine_tokio::TokioEngine::new())).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn hyper_client_over_a_socket_on_uring() {
            common::require_uring();
            $conversation(Box::new(engine_uring::UringEngine::new())).await;
        }
    };
}
#[allow(unused_imports, reason = "each test binary uses part of this harness")]
pub(crate) use hyper_on_each_engine;
