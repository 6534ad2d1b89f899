//! WebSocket echo load client for `benches/wrk/ws_echo.sh`: CONNECTIONS connections to
//! `ws://127.0.0.1:PORT/ws/echo`, each sending SIZE-byte binary messages with up to WINDOW echoes
//! outstanding, for SECONDS seconds. Prints the echoes received and echoes per second.
//!
//! `ws_echo_client PORT SIZE [SECONDS=5] [CONNECTIONS=16] [WINDOW=16] [BATCH=WINDOW] [CLIENT=raw]`
//!
//! A connection writes the messages its window lets it send in one write, up to BATCH of them
//! (like wrk's pipelining script, which writes 16 requests at once). With BATCH=1 every message is
//! a write of its own (`send`, which flushes): the client then spends about 10 µs of CPU per
//! message, most of it in the kernel sending, and its core is the limit before the server's.
//!
//! CLIENT `tungstenite` is tokio-tungstenite's client. CLIENT `raw` (the default) writes frames
//! masked once at start (the same mask key on every frame: the server cannot tell, and unmasking
//! costs it the same) from one buffer and counts the echoes by reading their frame headers and
//! skipping their payloads: it neither masks, copies nor allocates per message, so that at 64 KiB
//! the server's core, not the client's, is the limit (tokio-tungstenite's client masks and copies
//! every 64 KiB message it sends and receives).

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
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
            let Some(messages) = take_window(&writer_permits, batch, deadline).await else {
                return;
            };
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

/// Waits for room in the window for one message, then takes room for up to `batch` in all while
/// there is some; says how many, or `None` once the window is closed or `deadline` has passed.
async fn take_window(permits: &Semaphore, batch: usize, deadline: Instant) -> Option<usize> {
    permits.acquire().await.ok()?.forget();
    let mut messages = 1;
    while messages < batch {
        match permits.try_acquire() {
            Ok(permit) => permit.forget(),
            Err(_) => break,
        }
        messages += 1;
    }
    (Instant::now() < deadline).then_some(messages)
}

/// A frame header up to its mask key: `first` (FIN, opcode), then the payload length with `mask`
/// (0x80 or 0) in its top bit.
fn frame_header(first: u8, mask: u8, len: usize) -> Vec<u8> {
    let mut header = vec![first];
    match (u8::try_from(len), u16::try_from(len)) {
        (Ok(len @ 0..=125), _) => header.push(mask | len),
        (_, Ok(len)) => {
            header.push(mask | 126);
            header.extend_from_slice(&len.to_be_bytes());
        }
        _ => {
            header.push(mask | 127);
            header.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    header
}

/// One masked binary frame of `payload`, as a client sends it.
fn masked_frame(payload: &[u8]) -> Vec<u8> {
    const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];
    let mut frame = frame_header(0x82, 0x80, payload.len());
    frame.extend_from_slice(&MASK);
    frame.extend(
        payload
            .iter()
            .zip(MASK.iter().cycle())
            .map(|(byte, mask)| byte ^ mask),
    );
    frame
}

/// Counts the complete messages in a stream of unmasked server frames fed in arbitrary pieces.
#[derive(Default)]
struct FrameCounter {
    /// The bytes of a frame header seen so far (at most 10: a server's frames are not masked).
    header: Vec<u8>,
    /// Payload bytes of the current frame still to skip.
    skip: u64,
    /// Whether the current frame ends its message.
    fin: bool,
    /// The payload length of the current (or, between frames, the last) frame.
    len: u64,
}

impl FrameCounter {
    /// Consumes `bytes`; returns how many messages ended in them.
    fn feed(&mut self, mut bytes: &[u8]) -> Result<u64, Error> {
        let mut messages = 0;
        while !bytes.is_empty() {
            if self.skip > 0 {
                let step =
                    usize::try_from(self.skip).map_or(bytes.len(), |skip| skip.min(bytes.len()));
                self.skip -= step as u64;
                bytes = &bytes[step..];
                if self.skip == 0 && self.fin {
                    messages += 1;
                }
                continue;
            }
            self.header.push(bytes[0]);
            bytes = &bytes[1..];
            let Some((fin, len)) = Self::header(&self.header)? else {
                continue;
            };
            self.header.clear();
            self.fin = fin;
            self.skip = len;
            self.len = len;
            if len == 0 && fin {
                messages += 1;
            }
        }
        Ok(messages)
    }

    /// Counts `len` payload bytes skipped without being fed; returns the messages that ended.
    fn skip_payload(&mut self, len: u64) -> u64 {
        self.skip -= len.min(self.skip);
        u64::from(self.skip == 0 && self.fin)
    }

    /// The FIN bit and payload length once `header` is complete.
    fn header(header: &[u8]) -> Result<Option<(bool, u64)>, Error> {
        if header.len() < 2 {
            return Ok(None);
        }
        let opcode = header[0] & 0x0f;
        if opcode != 0x2 && opcode != 0x0 {
            return Err(format!("unexpected frame opcode {opcode:#x}").into());
        }
        if header[1] & 0x80 != 0 {
            return Err("the server masked a frame".into());
        }
        let fin = header[0] & 0x80 != 0;
        let len = match header[1] & 0x7f {
            126 if header.len() == 4 => u64::from(u16::from_be_bytes([header[2], header[3]])),
            127 if header.len() == 10 => u64::from_be_bytes(header[2..10].try_into()?),
            126 | 127 => return Ok(None),
            len => u64::from(len),
        };
        Ok(Some((fin, len)))
    }
}

/// Drops up to `scratch.len()` received bytes without copying them: with MSG_TRUNC, TCP discards
/// them and leaves `scratch` untouched.
fn discard_received(stream: &TcpStream, scratch: &mut [u8]) -> std::io::Result<usize> {
    use std::os::fd::AsRawFd;
    // SAFETY: `scratch` is valid for writes of its length (were the kernel to write there), and
    // the descriptor is the stream's, open for the call.
    let read = unsafe {
        libc::recv(
            stream.as_raw_fd(),
            scratch.as_mut_ptr().cast(),
            scratch.len(),
            libc::MSG_TRUNC | libc::MSG_DONTWAIT,
        )
    };
    usize::try_from(read).map_err(|_| std::io::Error::last_os_error())
}

/// Runs one connection of the raw client until `deadline`; returns the echoes received before it.
async fn raw_connection(
    port: u16,
    frames: Arc<Vec<u8>>,
    frame_len: usize,
    window: usize,
    batch: usize,
    deadline: Instant,
) -> Result<u64, Error> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
    stream.set_nodelay(true)?;
    let request = format!(
        "GET /ws/echo HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    // The response head; the server sends nothing after it before the first echo.
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0];
        if stream.read(&mut byte).await? == 0 {
            return Err("closed during the handshake".into());
        }
        head.push(byte[0]);
    }
    if !head.starts_with(b"HTTP/1.1 101") {
        return Err(format!("handshake refused: {}", String::from_utf8_lossy(&head)).into());
    }
    let (mut reader, mut writer) = stream.into_split();
    let permits = Arc::new(Semaphore::new(window));
    let writer_permits = permits.clone();
    let writer = tokio::spawn(async move {
        loop {
            let Some(messages) = take_window(&writer_permits, batch, deadline).await else {
                return;
            };
            if writer
                .write_all(&frames[..messages * frame_len])
                .await
                .is_err()
            {
                return;
            }
        }
    });
    let mut counter = FrameCounter::default();
    let mut buffer = vec![0; 256 * 1024];
    let mut received = 0;
    // A large payload is discarded in the kernel (MSG_TRUNC: TCP drops the bytes without copying
    // them out), and after one only the next header is read (at most 10 bytes), so that the next
    // payload is not copied either. Small frames are read in bulk.
    const LARGE: u64 = 4096;
    loop {
        let large = counter.len >= LARGE;
        let discarding = large && counter.skip > 0;
        let read = if discarding {
            let want =
                usize::try_from(counter.skip).map_or(buffer.len(), |skip| skip.min(buffer.len()));
            let discard = async {
                loop {
                    reader.as_ref().readable().await?;
                    match reader.as_ref().try_io(tokio::io::Interest::READABLE, || {
                        discard_received(reader.as_ref(), &mut buffer[..want])
                    }) {
                        Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => continue,
                        result => return result,
                    }
                }
            };
            match tokio::time::timeout_at(deadline, discard).await {
                Ok(read) => read?,
                Err(_) => break,
            }
        } else {
            let want = if large { 10 } else { buffer.len() };
            match tokio::time::timeout_at(deadline, reader.read(&mut buffer[..want])).await {
                Ok(read) => read?,
                Err(_) => break,
            }
        };
        if read == 0 {
            break;
        }
        let messages = if discarding {
            counter.skip_payload(read as u64)
        } else {
            counter.feed(&buffer[..read])?
        };
        received += messages;
        permits.add_permits(usize::try_from(messages)?);
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
    let raw = match std::env::args().nth(7).as_deref() {
        Some("tungstenite") => false,
        None | Some("raw") => true,
        Some(other) => return Err(format!("unknown client {other:?}: tungstenite or raw").into()),
    };
    let payload = Bytes::from(vec![0x5a; size]);
    let frame = masked_frame(&payload);
    let frame_len = frame.len();
    let frames = Arc::new(frame.repeat(batch));
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            let start = Instant::now();
            let deadline = start + Duration::from_secs(seconds);
            let tasks: Vec<_> = (0..connections)
                .map(|_| {
                    if raw {
                        tokio::spawn(raw_connection(
                            port,
                            frames.clone(),
                            frame_len,
                            window,
                            batch,
                            deadline,
                        ))
                    } else {
                        tokio::spawn(connection(port, payload.clone(), window, batch, deadline))
                    }
                })
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

#[cfg(test)]
mod tests {
    use super::{FrameCounter, frame_header};

    /// A server frame (unmasked) of `len` bytes.
    fn frame(fin: bool, opcode: u8, len: usize) -> Vec<u8> {
        let mut frame = frame_header(if fin { 0x80 } else { 0 } | opcode, 0, len);
        frame.extend(std::iter::repeat_n(0x5a, len));
        frame
    }

    #[test]
    fn counts_messages_fed_in_any_pieces() {
        // Every length form, an empty message, and a message in two fragments.
        let mut stream = Vec::new();
        for len in [0, 16, 125, 126, 65535, 65536, 70000] {
            stream.extend(frame(true, 2, len));
        }
        stream.extend(frame(false, 2, 300));
        stream.extend(frame(true, 0, 10));
        for piece in [1, 2, 3, 7, 1000, 65536, stream.len()] {
            let mut counter = FrameCounter::default();
            let counted: u64 = stream
                .chunks(piece)
                .map(|chunk| counter.feed(chunk).unwrap())
                .sum();
            assert_eq!(counted, 8, "pieces of {piece} bytes");
            assert!(counter.header.is_empty() && counter.skip == 0);
        }
    }

    #[test]
    fn refuses_other_frames() {
        assert!(FrameCounter::default().feed(&frame(true, 8, 2)).is_err());
        assert!(FrameCounter::default().feed(&frame(true, 1, 2)).is_err());
        assert!(
            FrameCounter::default()
                .feed(&[0x82, 0x81, 0, 0, 0, 0, 0])
                .is_err()
        );
    }
}
