//! The example app: `cargo run --release -p app` (`--help` lists the flags).
//!
//! Under systemd (`app/systemd/`): the listeners come from the socket unit when it passes any
//! (`LISTEN_FDS`), and readiness and the stop are reported to `NOTIFY_SOCKET`.

use app::config::{Args, EngineChoice, Settings};
use app::login::{LoginConfig, login_with};
use clap::Parser;
use engine_core::systemd::{self, SystemdNotify};
use engine_core::{Application, Engine, ServerConfig, embedded_server};
use engine_tokio::TokioEngine;
use engine_uring::UringEngine;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Logs go to stderr, as a service's should: stdout is for output, and the journal keeps both.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let mut settings = Settings::resolve(Args::parse())?;
    settings.server.inherited =
        systemd::listen_fds().map_err(|e| format!("socket activation: {e}"))?;
    let (engine, why_not_uring) = choose(settings.engine);
    let workers = settings
        .server
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let listen = listening(&settings.server);
    match why_not_uring {
        Some(why) => tracing::info!(
            engine = engine.name(),
            listen,
            workers,
            "starting on tokio: io_uring is unavailable ({why})"
        ),
        None => tracing::info!(engine = engine.name(), listen, workers, "starting"),
    }
    let mut login = match settings.session_key {
        Some(key) => LoginConfig::new(key),
        None => LoginConfig::with_generated_key(),
    };
    login.secure_cookie = settings.secure_cookie;
    embedded_server(engine, settings.server, app::landing)
        .module(login_with(login))
        .module(app::techempower)
        .module(app::api::api)
        .module(app::chat::chat)
        .module(|app: &mut Application| app.install(SystemdNotify, |_| {}))
        .start(true)?;
    Ok(())
}

/// What the server will listen on, for the start-up line: the connectors, or the sockets systemd
/// passed.
fn listening(config: &ServerConfig) -> String {
    if config.inherited.is_empty() {
        let addrs: Vec<String> = config
            .connectors
            .iter()
            .map(|c| format!("{}:{}", c.host, c.port))
            .collect();
        return addrs.join(", ");
    }
    let sockets: Vec<String> = config
        .inherited
        .iter()
        .map(|l| {
            let addr = l
                .local_addr()
                .map_or_else(|e| e.to_string(), |a| a.to_string());
            match l.name() {
                Some(name) => format!("{addr} ({name}, from systemd)"),
                None => format!("{addr} (from systemd)"),
            }
        })
        .collect();
    sockets.join(", ")
}

/// The engine for `choice`, and why io_uring was not taken when `auto` fell back to tokio.
fn choose(choice: EngineChoice) -> (Box<dyn Engine>, Option<String>) {
    match choice {
        EngineChoice::Tokio => (Box::new(TokioEngine::new()), None),
        EngineChoice::Uring => (Box::new(UringEngine::new()), None),
        EngineChoice::Auto => match engine_uring::io_uring_available() {
            Ok(()) => (Box::new(UringEngine::new()), None),
            Err(why) => (Box::new(TokioEngine::new()), Some(why)),
        },
    }
}
