//! A keep-alive connection waiting for its next request holds no write buffer: the driver gives
//! it to the thread's pool (`engine_core::conn::buffers`) and takes one back for the next
//! response, so the pool holds one buffer per idle connection at most, and none is lost or
//! doubled across requests. Driven over an in-memory connection on a current-thread runtime, so
//! the driver runs on the test's own thread and its pool is the one `pooled` reads.

use engine_core::call::ConnectionInfo;
use engine_core::conn::{ConnConfig, buffers, serve_connection, shutdown_pair};
use engine_core::testing::memory_pair;
use engine_core::{Application, ApplicationCall};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const REQUEST: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n";

/// Reads one response to `/plaintext` (its head and its 13-byte body).
async fn read_response(client: &mut engine_core::testing::MemoryStream) -> String {
    let mut response = Vec::new();
    let mut chunk = [0u8; 1024];
    while !response.ends_with(b"Hello, World!") {
        let n = client.read(&mut chunk).await.expect("read");
        assert!(n > 0, "the server closed the connection");
        response.extend_from_slice(&chunk[..n]);
    }
    String::from_utf8(response).expect("a text response")
}

/// Lets the connection's task run until it waits for the next request.
async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

#[test]
fn an_idle_connection_gives_its_write_buffer_back() {
    std::thread::spawn(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let mut app = Application::new();
            app.routing(|r| {
                r.get("/plaintext", |call: ApplicationCall| async move {
                    call.respond_text("Hello, World!").await
                });
            });
            let (mut client, server) = memory_pair();
            let (_trigger, signal) = shutdown_pair();
            let info = ConnectionInfo {
                local: SocketAddr::from((Ipv4Addr::LOCALHOST, 80)),
                remote: SocketAddr::from((Ipv4Addr::LOCALHOST, 49_152)),
            };
            let config = Arc::new(ConnConfig::default());
            tokio::spawn(serve_connection(server, app.freeze(), config, info, signal));
            settle().await;
            assert_eq!(
                buffers::pooled().1,
                0,
                "no write buffer before the first response"
            );
            for i in 0..3 {
                client.write_all(REQUEST).await.expect("write");
                let response = read_response(&mut client).await;
                assert!(response.starts_with("HTTP/1.1 200 "), "{response}");
                settle().await;
                assert_eq!(
                    buffers::pooled().1,
                    1,
                    "after response {i}, the idle connection's write buffer is in the pool"
                );
            }
            // Two requests in one write: both answered, in one buffer taken from the pool.
            client.write_all(&REQUEST.repeat(2)).await.expect("write");
            let response = read_response(&mut client).await;
            let response = if response.matches("HTTP/1.1 200 ").count() == 2 {
                response
            } else {
                response + &read_response(&mut client).await
            };
            assert_eq!(response.matches("HTTP/1.1 200 ").count(), 2, "{response}");
            settle().await;
            assert_eq!(buffers::pooled().1, 1);
        });
    })
    .join()
    .expect("the test thread");
}
