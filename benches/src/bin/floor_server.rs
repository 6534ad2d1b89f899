//! The floor of the loopback load benchmark (`benches/wrk/run.sh`, server `floor`): PERFORMANCE.md's
//! minimal server, which only counts request ends (`\r\n\r\n`) in what it reads and writes one fixed
//! `/plaintext` response per request, all of a read's responses in one write. No parsing, no
//! routing, no `Date`: what a server on tokio's epoll loop costs before it does any HTTP work, so the
//! engines' figures can be read against it on the same machine in the same run.
//! One current-thread runtime: `floor_server PORT [--same-bytes]`. With `--same-bytes` (server
//! `floor-same` in run.sh) the fixed response is byte for byte as long as the app's and hyper's
//! (130 bytes: the same three fields, a `Date` that never changes), so wrk parses as much per
//! response as it does against them.

use std::io;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, World!";
const SAME_BYTES: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\n\
    content-length: 13\r\ndate: Wed, 02 Dec 2026 12:00:00 GMT\r\n\r\nHello, World!";

async fn serve(mut stream: TcpStream, response: &'static [u8]) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = vec![0u8; 16 * 1024];
    let mut out = Vec::with_capacity(16 * response.len());
    // Bytes of a request end (`\r\n\r\n`) already matched at the end of the last read.
    let mut matched = 0;
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        for &byte in &buf[..n] {
            matched = match (matched, byte) {
                (0 | 2, b'\r') => matched + 1,
                (1 | 3, b'\n') => matched + 1,
                (_, b'\r') => 1,
                _ => 0,
            };
            if matched == 4 {
                matched = 0;
                out.extend_from_slice(response);
            }
        }
        if !out.is_empty() {
            stream.write_all(&out).await?;
            out.clear();
        }
    }
}

fn main() -> io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let response = match std::env::args().nth(2).as_deref() {
        Some("--same-bytes") => SAME_BYTES,
        _ => RESPONSE,
    };
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?
        .block_on(async move {
            let listener = TcpListener::bind(("127.0.0.1", port)).await?;
            loop {
                let (stream, _) = listener.accept().await?;
                tokio::spawn(async move {
                    let _ = serve(stream, response).await;
                });
            }
        })
}
