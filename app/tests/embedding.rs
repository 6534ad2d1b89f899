//! The framework inside an existing tokio program (`app/examples/embedded_app.rs`): the engine runs on
//! the program's runtime (`TokioEngine::with_handle`), serves the app's modules while the program's
//! own tasks (a ticker, a TCP service of its own) go on beside it, and stops without disturbing
//! them.

mod common;

use engine_core::{ServerConfig, embedded_server};
use engine_tokio::TokioEngine;
use futures_util::{SinkExt, StreamExt};
use http::StatusCode;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

/// The names of this process's threads.
fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim().to_owned())
        .collect()
}

/// The program's own TCP service: echoes one line per connection.
async fn own_service() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 64];
                if let Ok(n) = stream.read(&mut buf).await {
                    let _ = stream.write_all(&buf[..n]).await;
                }
            });
        }
    });
    addr
}

async fn own_echo(addr: std::net::SocketAddr) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(b"ping").await.unwrap();
    let mut buf = [0u8; 4];
    stream.read_exact(&mut buf).await.unwrap();
    String::from_utf8_lossy(&buf).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_inside_an_existing_tokio_program() {
    // The program's own work, started before the server: a ticker and a service.
    let (ticks_tx, mut ticks) = watch::channel(0u64);
    let ticker = tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_millis(10));
        loop {
            every.tick().await;
            ticks_tx.send_modify(|n| *n += 1);
        }
    });
    let service = own_service().await;

    let engine = TokioEngine::with_handle(tokio::runtime::Handle::current());
    let mut server = embedded_server(engine, ServerConfig::listen("127.0.0.1", 0), app::api::api)
        .module(app::chat::chat)
        .module(app::techempower);
    server.start(false).unwrap();
    let addr = server.local_addrs()[0];
    assert!(
        !thread_names()
            .iter()
            .any(|name| name.starts_with("engine-tokio")),
        "the engine made threads of its own: {:?}",
        thread_names()
    );

    // Requests to the app, a chat session and the program's own service, all at once.
    let api = async {
        let mut client = common::hyper_client(addr).await;
        let item = r#"{"name":"tea","quantity":2}"#;
        let (status, _, _) = client.send("POST", "/api/items", Some(item)).await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, _, body) = client.send("GET", "/api/items/1", None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(String::from_utf8_lossy(&body).contains("\"tea\""));
    };
    let chat = async {
        let stream = TcpStream::connect(addr).await.unwrap();
        let url = format!("ws://{addr}/ws/chat?name=embedded");
        let (mut ws, _) = tokio_tungstenite::client_async(url, stream).await.unwrap();
        ws.send(Message::text("from inside")).await.unwrap();
        while let Some(frame) = ws.next().await {
            if frame
                .unwrap()
                .to_text()
                .unwrap()
                .contains("\"text\":\"from inside\"")
            {
                break;
            }
        }
        ws.close(None).await.unwrap();
    };
    let (_, _, echoed) = tokio::join!(api, chat, own_echo(service));
    assert_eq!(echoed, "ping");
    // The ticker advanced while the server worked.
    let before = *ticks.borrow_and_update();
    ticks.changed().await.unwrap();
    assert!(*ticks.borrow() > before);

    // Stopping the server leaves the program and its runtime running.
    server.stop(Duration::from_secs(1), Duration::from_secs(2));
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "the server stopped"
    );
    assert_eq!(own_echo(service).await, "ping");
    let before = *ticks.borrow_and_update();
    ticks.changed().await.unwrap();
    assert!(*ticks.borrow() > before, "the program's ticker goes on");
    ticker.abort();
}
