//! The example app: `cargo run --release -p app` (`--help` lists the flags).

use app::config::{Args, EngineChoice, Settings};
use clap::Parser;
use engine_core::{Engine, embedded_server};
use engine_tokio::TokioEngine;
use engine_uring::UringEngine;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let settings = Settings::resolve(Args::parse())?;
    let (engine, why_not_uring) = choose(settings.engine);
    let connector = &settings.server.connectors[0];
    let workers = settings
        .server
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    match why_not_uring {
        Some(why) => tracing::info!(
            engine = engine.name(),
            addr = %format!("{}:{}", connector.host, connector.port),
            workers,
            "starting on tokio: io_uring is unavailable ({why})"
        ),
        None => {
            tracing::info!(engine = engine.name(), addr = %format!("{}:{}", connector.host, connector.port), workers, "starting")
        }
    }
    embedded_server(engine, settings.server, app::landing)
        .module(app::login)
        .module(app::techempower)
        .start(true)?;
    Ok(())
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
