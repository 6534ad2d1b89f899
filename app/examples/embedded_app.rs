//! Embedding: the app's modules inside an existing `#[tokio::main]` program, on its runtime, beside
//! the program's own work (here a task that lists the API's items every few seconds, as a program's
//! background job would).
//!
//! `cargo run -p app --example embedded_app`, then `curl localhost:8081/api/items` or open
//! <http://localhost:8081/chat>; Ctrl-C (or SIGTERM) stops the server gracefully, then the program.

use engine_core::{ServerConfig, embedded_server};
use engine_tokio::TokioEngine;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The engine runs on this program's runtime: no second runtime, no threads of its own.
    let engine = TokioEngine::with_handle(tokio::runtime::Handle::current());
    let mut server = embedded_server(
        engine,
        ServerConfig::listen("127.0.0.1", 8081),
        app::api::api,
    )
    .module(app::chat::chat)
    .module(app::techempower);
    server.start(false)?;
    let addr = server.local_addrs()[0];
    println!("listening on http://{addr}");

    // The program's own work goes on beside the server, on the same runtime.
    let reporter = tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            match list_items(addr).await {
                Ok(body) => println!("items: {body}"),
                Err(error) => println!("cannot read the items: {error}"),
            }
        }
    });

    shutdown_signal().await;
    // Stops accepting, lets requests in flight finish, and returns once every connection closed;
    // the runtime (and the program's other tasks) are untouched by it.
    server.stop(Duration::from_secs(5), Duration::from_secs(10));
    reporter.abort();
    println!("stopped");
    Ok(())
}

/// `GET /api/items` over a plain socket: the body.
async fn list_items(addr: std::net::SocketAddr) -> std::io::Result<String> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream
        .write_all(b"GET /api/items HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    Ok(response
        .split_once("\r\n\r\n")
        .map_or(response.clone(), |(_, body)| body.to_owned()))
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("a SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
