//! TechEmpower's plaintext endpoint on the io_uring engine, for load tests and profilers:
//! `cargo run --release -p engine-uring --example plaintext -- 8080 1` (port, workers; the
//! workers default to one per core). Stops on SIGINT or SIGTERM.

use engine_core::{Application, ApplicationCall, ServerConfig, embedded_server};
use engine_uring::UringEngine;

fn plaintext(app: &mut Application) {
    app.routing(|route| {
        route.get("/plaintext", |call: ApplicationCall| async move {
            call.respond_text("Hello, World!").await
        });
    });
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let port = args.next().map_or(Ok(8080), |p| p.parse())?;
    let workers = args.next().map(|w| w.parse()).transpose()?;
    let config = ServerConfig {
        workers,
        ..ServerConfig::listen("0.0.0.0", port)
    };
    embedded_server(UringEngine::new(), config, plaintext).start(true)?;
    Ok(())
}
