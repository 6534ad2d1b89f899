//! WebSocket echo load client for `benches/wrk/ws_echo.sh`: CONNECTIONS connections to
//! `ws://127.0.0.1:PORT/ws/echo`, each sending SIZE-byte binary messages with up to WINDOW echoes
//! outstanding, for SECONDS seconds. Prints the echoes received and echoes per second.
//!
//! `ws_echo_client PORT SIZE [SECONDS=5] [CONNECTIONS=16] [WINDOW=16] [BATCH=WINDOW]`
//!
//! A connection writes the messages its window lets it send in one write, up to BATCH of them
//! (like wrk's pipelining script, which writes 16 requests at once). With BATCH=1 every message is
//! a write of its own (`send`, which flushes): the client then spends about 10 µs of CPU per
//! message, most of it in the kernel sending, and its core is the limit before the server's.

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

type Error = Box<dyn std::error::Error + Send + Sync>;

fn arg(index: usize, default: u64) -> u64 {
    std::env::args()
        .nth(index)
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// Runs one connection until `deadline`; returns the echoes received before it.
async fn connection(
    port: u16,
    payload: Bytes,
    window: usize,
    batch: usize,
    deadline: Instant,
) -> Result<u64, Error> {
    let stream = TcpStream::connect(("127.0.0.1", port)).await?;
    stream.set_nodelay(true)?;
    let url = format!("ws://127.0.0.1:{port}/ws/echo");
    let (ws, _) = tokio_tungstenite::client_async(url, stream).await?;
    let (mut sink, mut stream) = ws.split();
    let permits = Arc::new(Semaphore::new(window));
    let writer_permits = permits.clone();
    // The writer and the reader are separate tasks so that a large send never waits on the reader.
    let writer = tokio::spawn(async move {
        loop {
            let Ok(permit) = writer_permits.acquire().await else {
                return;
            };
            permit.forget();
            // The first message waited for room; the others go with it while there is room.
            let mut messages = 1;
            while messages < batch {
                match writer_permits.try_acquire() {
                    Ok(permit) => permit.forget(),
                    Err(_) => break,
                }
                messages += 1;
            }
            if Instant::now() >= deadline {
                return;
            }
            for _ in 0..messages {
                if sink.feed(Message::Binary(payload.clone())).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
    });
    let mut received = 0;
    while let Ok(Some(message)) = tokio::time::timeout_at(deadline, stream.next()).await {
        match message? {
            Message::Binary(_) => {
                received += 1;
                permits.add_permits(1);
            }
            other => return Err(format!("unexpected message {other:?}").into()),
        }
    }
    permits.close();
    writer.abort();
    Ok(received)
}

fn main() -> Result<(), Error> {
    let port = u16::try_from(arg(1, 18080))?;
    let size = usize::try_from(arg(2, 16))?;
    let seconds = arg(3, 5);
    let connections = arg(4, 16);
    let window = usize::try_from(arg(5, 16))?;
    let batch = usize::try_from(arg(6, window as u64))?.max(1);
    let payload = Bytes::from(vec![0x5a; size]);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            let start = Instant::now();
            let deadline = start + Duration::from_secs(seconds);
            let tasks: Vec<_> = (0..connections)
                .map(|_| tokio::spawn(connection(port, payload.clone(), window, batch, deadline)))
                .collect();
            let mut total = 0;
            for task in tasks {
                total += task.await??;
            }
            // Echoes are counted from `start` (connection setup included) to `deadline`.
            println!("messages {total}");
            println!("messages/s {:.0}", total as f64 / seconds as f64);
            Ok(())
        })
}
