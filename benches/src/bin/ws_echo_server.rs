//! A bare tokio-tungstenite WebSocket echo server, the comparison server of the WebSocket echo
//! benchmark (`benches/wrk/ws_echo.sh`): one current-thread runtime, an accept loop,
//! `tokio_tungstenite::accept_async` on any path, every text and binary message sent back.
//! `ws_echo_server PORT [--batch]`.
//!
//! By default each echo is `send` (written and flushed at once), the way tokio-tungstenite's
//! examples echo. With `--batch` an echo is only `feed` (buffered) while the next message is
//! already readable, and the buffer is flushed before waiting for more: the echoes of one read
//! leave in one write, as the framework's sessions do.

use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;

async fn echo(stream: TcpStream, batch: bool) {
    let _ = stream.set_nodelay(true);
    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    loop {
        let next = match ws.next().now_or_never() {
            Some(next) => next,
            None => {
                if ws.flush().await.is_err() {
                    return;
                }
                ws.next().await
            }
        };
        let Some(Ok(message)) = next else {
            return;
        };
        match message {
            Message::Text(_) | Message::Binary(_) => {
                let sent = if batch {
                    ws.feed(message).await
                } else {
                    ws.send(message).await
                };
                if sent.is_err() {
                    return;
                }
            }
            Message::Close(_) => return,
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
        }
    }
}

fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|port| port.parse().ok())
        .unwrap_or(18080);
    let batch = std::env::args().any(|arg| arg == "--batch");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            let listener = TcpListener::bind(("127.0.0.1", port)).await?;
            loop {
                let (stream, _) = listener.accept().await?;
                tokio::spawn(echo(stream, batch));
            }
        })
}
