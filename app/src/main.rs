//! The example app: `cargo run --release -p app`.

use engine_core::{ServerConfig, embedded_server};
use engine_tokio::TokioEngine;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let config = ServerConfig::listen("0.0.0.0", 8080);
    tracing::info!(
        "engine: tokio (the io_uring engine and `--engine auto` arrive with their issue)"
    );
    embedded_server(TokioEngine::new(), config, app::landing)
        .module(app::login)
        .start(true)?;
    Ok(())
}
