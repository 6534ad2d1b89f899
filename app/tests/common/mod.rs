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
        let port = free_port();
        let log =
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("app-{engine}-{port}.log"));
        let stderr = std::fs::File::create(&log).expect("the log file is created");
        let child = Command::new(env!("CARGO_BIN_EXE_app"))
            .args([
                "--engine",
                engine,
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--workers",
                "1",
            ])
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("the app binary runs");
        let mut app = Self { child, port, log };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = app.child.try_wait().unwrap() {
                panic!("the app exited ({status}) before listening:\n{}", app.log());
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the app did not start listening:\n{}",
                app.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        app
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
