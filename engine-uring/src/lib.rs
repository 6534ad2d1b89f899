//! engine-uring: the Linux engine. engine-core's connection driver on io_uring (a ring driven by
//! hand with the `io-uring` crate), thread-per-core: one worker thread per core, each with its own ring, its own
//! runtime and its own `SO_REUSEPORT` listener per connector. A connection is accepted, served and
//! closed on one thread; nothing is shared between workers but the application, the connection
//! limit and the shutdown signal.
//!
//! Like every engine it only moves bytes: accept, hand each connection to
//! [`serve_connection`](engine_core::conn::serve_connection), stop. Every HTTP decision lives in
//! engine-core.
//!
//! ```no_run
//! use engine_core::{Application, ServerConfig, embedded_server};
//! use engine_uring::{UringEngine, io_uring_available};
//!
//! fn hello(app: &mut Application) {
//!     // install plugins, add routes...
//! }
//!
//! // `start` fails with the same reason when io_uring cannot run here; asking first lets an
//! // application fall back to another engine.
//! if let Err(reason) = io_uring_available() {
//!     eprintln!("no io_uring: {reason}");
//!     return;
//! }
//! let mut server = embedded_server(UringEngine::new(), ServerConfig::listen("127.0.0.1", 8080), hello);
//! server.start(true).unwrap();
//! ```
//!
//! # Layout
//! - `lib.rs`: the [`Engine`] implementation: workers, start-up, stop.
//! - `bind`: each connector's listeners, one per worker, on one port (or an inherited socket's).
//! - `probe`: [`io_uring_available`], and why io_uring fails where it does.
//! - `ring`: everything io_uring: a worker's ring and runtime, its accept loops, the connection's
//!   `Io`.
//!
//! `engine-uring/README.md` explains the choices and the measurements behind them.

mod bind;
mod probe;
#[cfg(target_os = "linux")]
mod ring;
#[cfg(not(target_os = "linux"))]
#[path = "ring_unsupported.rs"]
mod ring;

pub use probe::io_uring_available;

use engine_core::conn::{ConnConfig, ShutdownSignal, ShutdownTrigger, shutdown_pair};
use engine_core::{AppRuntime, Engine, ServerConfig, StartError};
use std::fmt;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// A hook each worker thread runs when it starts (see [`UringEngine::on_thread_start`]).
type ThreadHook = Arc<dyn Fn() + Send + Sync>;

/// The io_uring engine.
#[derive(Default)]
pub struct UringEngine {
    on_thread_start: Option<ThreadHook>,
    running: Option<Running>,
}

impl fmt::Debug for UringEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UringEngine")
            .field("running", &self.running.is_some())
            .finish_non_exhaustive()
    }
}

impl UringEngine {
    /// An engine with `ServerConfig::workers` worker threads, or one per available core.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `hook` on each worker thread as it starts, before its runtime exists: to pin the
    /// thread to a core, or to mark it for a profiler or an allocation counter.
    #[must_use]
    pub fn on_thread_start(mut self, hook: impl Fn() + Send + Sync + 'static) -> Self {
        self.on_thread_start = Some(Arc::new(hook));
        self
    }
}

/// What every worker shares: the application, the connection limit, the shutdown signal.
#[derive(Debug)]
#[cfg_attr(
    not(target_os = "linux"),
    allow(dead_code, reason = "only the io_uring worker reads it")
)]
pub(crate) struct Shared {
    pub(crate) app: Arc<AppRuntime>,
    pub(crate) conn: Arc<ConnConfig>,
    pub(crate) signal: ShutdownSignal,
    /// `ServerConfig::max_connections` across all workers.
    pub(crate) limit: Arc<Semaphore>,
}

/// A started engine: its workers and how to stop them.
#[derive(Debug)]
struct Running {
    trigger: ShutdownTrigger,
    threads: Vec<JoinHandle<()>>,
    /// One message per worker thread that has ended (its runtime dropped, its sockets closed).
    done: Receiver<()>,
}

impl Engine for UringEngine {
    fn name(&self) -> &'static str {
        "uring"
    }

    fn start(
        &mut self,
        app: Arc<AppRuntime>,
        config: &ServerConfig,
    ) -> Result<Vec<SocketAddr>, StartError> {
        if self.running.is_some() {
            return Err(StartError::msg("the io_uring engine is already running"));
        }
        io_uring_available().map_err(|reason| {
            StartError::msg(format!("the io_uring engine cannot run here: {reason}"))
        })?;
        let workers = worker_count(config);
        // Bind everything first, on this thread: a port in use fails the start before anything
        // runs, and what was bound is dropped (closed) with the error.
        let (addrs, per_worker) = bind::bind_all(config, workers)?;
        let (trigger, signal) = shutdown_pair();
        let shared = Arc::new(Shared {
            app,
            conn: Arc::new(config.conn.clone()),
            signal,
            limit: Arc::new(Semaphore::new(config.max_connections.max(1))),
        });
        self.running = Some(self.spawn_workers(per_worker, shared, trigger)?);
        Ok(addrs)
    }

    fn stop(&mut self, grace: Duration, timeout: Duration) {
        if let Some(running) = self.running.take() {
            running.stop(grace, timeout);
        }
    }
}

impl Drop for UringEngine {
    fn drop(&mut self) {
        // Worker threads outlive nothing: an engine dropped while running closes everything now.
        self.stop(Duration::ZERO, Duration::ZERO);
    }
}

impl UringEngine {
    /// Starts a worker thread per listener set and waits until each accepts. On a failure, stops
    /// those that started.
    fn spawn_workers(
        &self,
        per_worker: Vec<Vec<TcpListener>>,
        shared: Arc<Shared>,
        trigger: ShutdownTrigger,
    ) -> Result<Running, StartError> {
        let (ready_tx, ready) = mpsc::channel();
        let (done_tx, done) = mpsc::channel();
        let mut running = Running {
            trigger,
            threads: Vec::with_capacity(per_worker.len()),
            done,
        };
        for (index, listeners) in per_worker.into_iter().enumerate() {
            let exit = ThreadExit {
                ready: Some(ready_tx.clone()),
                done: done_tx.clone(),
            };
            match self.spawn_worker(index, listeners, shared.clone(), exit) {
                Ok(thread) => running.threads.push(thread),
                Err(error) => {
                    running.stop(Duration::ZERO, Duration::ZERO);
                    return Err(StartError::new("cannot start a worker thread", error));
                }
            }
        }
        // Every worker answers once: accepting, or why it cannot (a panic answers too).
        let answers: Vec<_> = ready.iter().take(running.threads.len()).collect();
        if let Some(Err(reason)) = answers.into_iter().find(Result::is_err) {
            running.stop(Duration::ZERO, Duration::ZERO);
            return Err(StartError::msg(format!("a worker cannot start: {reason}")));
        }
        Ok(running)
    }

    fn spawn_worker(
        &self,
        index: usize,
        listeners: Vec<TcpListener>,
        shared: Arc<Shared>,
        mut exit: ThreadExit,
    ) -> std::io::Result<JoinHandle<()>> {
        let hook = self.on_thread_start.clone();
        std::thread::Builder::new()
            .name(format!("engine-uring-{index}"))
            .spawn(move || {
                if let Some(hook) = hook {
                    hook();
                }
                ring::run_worker(listeners, shared, |result| exit.ready(result));
                // `exit` drops last: it reports the thread ended once the runtime is gone.
            })
    }
}

/// Worker threads: `ServerConfig::workers`, or one per core this process may run on.
fn worker_count(config: &ServerConfig) -> usize {
    config
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1)
}

/// A worker thread's reports to the engine, sent even when the thread panics: whether it is ready
/// (once), and that it has ended (when dropped).
struct ThreadExit {
    ready: Option<Sender<Result<(), String>>>,
    done: Sender<()>,
}

impl ThreadExit {
    fn ready(&mut self, result: Result<(), String>) {
        if let Some(ready) = self.ready.take() {
            let _ = ready.send(result);
        }
    }
}

impl Drop for ThreadExit {
    fn drop(&mut self) {
        self.ready(Err("the worker thread ended before it was ready".into()));
        let _ = self.done.send(());
    }
}

/// How long a stop waits for workers to end after the timeout: they end within a moment of the
/// forced close, as aborted operations complete.
const EXIT_SLACK: Duration = Duration::from_secs(2);

impl Running {
    /// The same stop as every engine's: stop accepting and close idle connections, give busy ones
    /// `grace`, then force. Blocks this thread with std primitives only: it may be a runtime's.
    fn stop(self, grace: Duration, timeout: Duration) {
        let started = Instant::now();
        let workers = self.threads.len();
        self.trigger.graceful();
        let mut ended = self.wait_ended(workers, started + grace);
        if ended < workers {
            self.trigger.force();
            ended += self.wait_ended(workers - ended, started + timeout.max(grace) + EXIT_SLACK);
        }
        if ended < workers {
            // A handler that blocks its thread keeps the worker from ending; joining would hang.
            tracing::error!(
                stuck = workers - ended,
                "worker threads did not end after the shutdown timeout; leaving them"
            );
            return;
        }
        for thread in self.threads {
            let _ = thread.join();
        }
    }

    /// Waits until `count` more workers have ended or `deadline` passes; how many did.
    fn wait_ended(&self, count: usize, deadline: Instant) -> usize {
        let mut ended = 0;
        while ended < count {
            let left = deadline.saturating_duration_since(Instant::now());
            if self.done.recv_timeout(left).is_err() {
                break;
            }
            ended += 1;
        }
        ended
    }
}
