//! A tokio `TcpStream` as the connection driver's [`Io`]: readiness-based reads and writes with
//! `&self`, so a read can wait while a response is written.

use bytes::{Bytes, BytesMut};
use engine_core::conn::{Io, ReadResult};
use engine_core::upgrade::UpgradedIo;
use socket2::SockRef;
use std::io;
use std::net::Shutdown;
use tokio::net::TcpStream;

/// One accepted connection.
#[derive(Debug)]
pub(crate) struct TokioIo {
    stream: TcpStream,
}

impl TokioIo {
    pub(crate) fn new(stream: TcpStream) -> Self {
        Self { stream }
    }

    async fn write_slice(&self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            self.stream.writable().await?;
            match self.stream.try_write(data) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => data = &data[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl Io for TokioIo {
    async fn read(&self, mut buf: BytesMut) -> ReadResult {
        loop {
            if let Err(e) = self.stream.readable().await {
                return (Err(e), buf);
            }
            // Cancel-safe: after `readable` nothing awaits, so a dropped future has read nothing.
            match self.stream.try_read_buf(&mut buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                result => return (result, buf),
            }
        }
    }

    async fn closed(&self) {
        let mut byte = [0u8; 1];
        match self.stream.peek(&mut byte).await {
            // End of stream with nothing unread, or a reset: the client is gone.
            Ok(0) | Err(_) => {}
            // Unread bytes (more requests): the client is there. Nothing more to learn without
            // reading them, and readiness would fire again at once; wait forever.
            Ok(_) => std::future::pending().await,
        }
    }

    async fn write_all(&self, buf: Vec<u8>) -> (io::Result<()>, Vec<u8>) {
        let result = self.write_slice(&buf).await;
        (result, buf)
    }

    async fn write_bytes(&self, data: Bytes) -> io::Result<()> {
        self.write_slice(&data).await
    }

    async fn shutdown_write(&self) -> io::Result<()> {
        SockRef::from(&self.stream).shutdown(Shutdown::Write)
    }

    fn abort(&self) {
        // Not an error if the peer is already gone.
        let _ = SockRef::from(&self.stream).shutdown(Shutdown::Both);
    }

    fn into_upgraded(self) -> io::Result<Box<dyn UpgradedIo>> {
        Ok(Box::new(self.stream))
    }
}
