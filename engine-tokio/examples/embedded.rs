//! Embedding: the framework inside an existing `#[tokio::main]` program, on its runtime.
//!
//! `cargo run -p engine-tokio --example embedded`, then `curl localhost:8081/`; Ctrl-C stops it.

use engine_core::{Application, ApplicationCall, ServerConfig, embedded_server};
use engine_tokio::TokioEngine;
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let engine = TokioEngine::with_handle(tokio::runtime::Handle::current());
    let module = |app: &mut Application| {
        app.routing(|route| {
            route.get("/", |call: ApplicationCall| async move {
                call.respond_text("Hello from inside tokio::main").await
            });
        });
    };
    let mut server = embedded_server(engine, ServerConfig::listen("127.0.0.1", 8081), module);
    server.start(false)?;
    println!("listening on {:?}", server.local_addrs());
    // The program's own work goes on beside the server.
    tokio::signal::ctrl_c().await?;
    server.stop(Duration::from_secs(5), Duration::from_secs(10));
    Ok(())
}
