//! WebSocket cases over raw bytes: frames a client must not send, fragments, UTF-8,
//! permessage-deflate with RFC 7692's sample frames, raw mode, and the session's end (sends after a
//! close, a handler cancelled when the connection goes).

use super::support::{Liveness, Slot, connect_raw, eventually, head_values, read_head_raw};
use super::websocket::{NOTICE, echo, ws_server};
use super::{EngineUnderTest, TestServer, TestStream};
use crate::engine::ServerConfig;
use crate::pipeline::BoxFuture;
use crate::websocket::frame::{Opcode, apply_mask, encode_frame_head};
use crate::websocket::{
    CloseCode, DeflateConfig, Message, SessionError, WebSocketRoute, WebSocketSession, WebSockets,
};
use crate::{Application, Error};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub(super) const HANDSHAKE: &str = "GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

/// A raw connection past a successful handshake.
pub(super) async fn raw_session(server: &dyn TestServer) -> Box<dyn TestStream> {
    raw_session_with(server, "").await.0
}

/// A raw connection past a successful handshake with `fields` (whole lines) added to the
/// request, and the response's head.
async fn raw_session_with(server: &dyn TestServer, fields: &str) -> (Box<dyn TestStream>, String) {
    let mut stream = connect_raw(server).await;
    stream
        .write_all(format!("{HANDSHAKE}{fields}\r\n").as_bytes())
        .await
        .unwrap();
    let head = read_head_raw(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    (stream, head)
}

/// Reads one unmasked server frame with a short payload: (first byte, payload).
pub(super) async fn read_raw_frame(stream: &mut Box<dyn TestStream>) -> (u8, Vec<u8>) {
    let mut header = [0u8; 2];
    tokio::time::timeout(NOTICE, stream.read_exact(&mut header))
        .await
        .expect("a frame within 5 s")
        .expect("a frame");
    assert_eq!(header[1] & 0x80, 0, "server frames are not masked");
    let len = usize::from(header[1]);
    assert!(len <= 125, "a short frame: {header:?}");
    let mut payload = vec![0u8; len];
    stream.read_exact(&mut payload).await.unwrap();
    (header[0], payload)
}

/// Reads raw frames until a Close and returns its code.
pub(super) async fn read_raw_close(stream: &mut Box<dyn TestStream>) -> u16 {
    loop {
        let (first, payload) = read_raw_frame(stream).await;
        if first == 0x88 {
            assert!(payload.len() >= 2, "a Close with a code: {payload:?}");
            return u16::from_be_bytes([payload[0], payload[1]]);
        }
        assert_eq!(first, 0x89, "only pings before the Close");
    }
}

/// A masked client frame: `first` (FIN, RSV1 and opcode bits) with `payload`.
pub(super) fn masked(first: u8, payload: &[u8]) -> Vec<u8> {
    let key = [0x37u8, 0xfa, 0x21, 0x3d];
    let opcode = Opcode::from_bits(first & 0x0F).expect("a known opcode");
    let mut frame = Vec::new();
    encode_frame_head(
        &mut frame,
        first & 0x80 != 0,
        first & 0x40 != 0,
        opcode,
        payload.len(),
        Some(key),
    );
    let start = frame.len();
    frame.extend_from_slice(payload);
    apply_mask(&mut frame[start..], key);
    frame
}

/// The connection ends (the server closed it) within 5 s, with nothing more to read.
async fn expect_end(stream: &mut Box<dyn TestStream>) {
    let mut rest = [0u8; 16];
    let read = tokio::time::timeout(NOTICE, stream.read(&mut rest))
        .await
        .expect("the connection ends within 5 s");
    assert!(matches!(read, Ok(0) | Err(_)), "more bytes: {read:?}");
}

/// A frame the client sends in the same write as its handshake (bytes the server reads past the
/// request) reaches the session: its echo follows the 101.
pub fn websocket_frame_with_the_handshake_arrives(
    engine: &dyn EngineUnderTest,
) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = ws_server(engine, |_| {}, echo);
        let mut stream = connect_raw(&*server).await;
        let mut bytes = format!("{HANDSHAKE}\r\n").into_bytes();
        bytes.extend(masked(0x81, b"early"));
        stream.write_all(&bytes).await.unwrap();
        let head = read_head_raw(&mut stream).await;
        assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
        assert_eq!(read_raw_frame(&mut stream).await, (0x81, b"early".to_vec()));
    })
}

/// Frames a server must reject: a reserved opcode (0x3) or an unmasked client frame gets Close
/// 1002 (RFC 6455 §5.1, §5.2).
pub fn websocket_protocol_errors_close_with_1002(
    engine: &dyn EngineUnderTest,
) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = ws_server(engine, |_| {}, echo);
        let frames: [&[u8]; 2] = [
            // FIN, opcode 0x3; masked, empty.
            &[0x83, 0x80, 1, 2, 3, 4],
            // FIN, text "hi", not masked.
            &[0x81, 0x02, b'h', b'i'],
        ];
        for frame in frames {
            let mut stream = raw_session(&*server).await;
            stream.write_all(frame).await.unwrap();
            assert_eq!(read_raw_close(&mut stream).await, 1002, "after {frame:?}");
        }
    })
}

/// A text message in three fragments (with a ping between two of them) reaches the handler as one
/// text message.
pub fn websocket_fragmented_message_arrives_whole(
    engine: &dyn EngineUnderTest,
) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = ws_server(engine, |_| {}, echo);
        let mut stream = raw_session(&*server).await;
        let mut frames = masked(0x01, b"Hel");
        frames.extend(masked(0x89, b"p"));
        frames.extend(masked(0x00, b"l"));
        frames.extend(masked(0x80, b"o"));
        stream.write_all(&frames).await.unwrap();
        // The pong for the ping in between comes first, then the whole message, as text.
        assert_eq!(read_raw_frame(&mut stream).await, (0x8a, b"p".to_vec()));
        assert_eq!(read_raw_frame(&mut stream).await, (0x81, b"Hello".to_vec()));
    })
}

/// Sends Close(1000), reads the server's Close(1000) back, and sees the connection end.
async fn close_1000_and_expect_the_echo(stream: &mut Box<dyn TestStream>) {
    stream
        .write_all(&masked(0x88, &[0x03, 0xe8]))
        .await
        .unwrap();
    assert_eq!(read_raw_frame(stream).await, (0x88, vec![0x03, 0xe8]));
    expect_end(stream).await;
}

/// Text that is not UTF-8 gets Close 1007, whole or in fragments; a character split across two
/// fragments is fine (RFC 6455 §8.1).
pub fn websocket_invalid_utf8_closes_with_1007(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = ws_server(engine, |_| {}, echo);
        let mut stream = raw_session(&*server).await;
        let split = [masked(0x01, &[b'x', 0xc3]), masked(0x80, &[0xa9])].concat();
        stream.write_all(&split).await.unwrap();
        assert_eq!(
            read_raw_frame(&mut stream).await,
            (0x81, "xé".as_bytes().to_vec())
        );
        let cases: [&[u8]; 2] = [&[0x81, 0xff], &[0x01, 0xe2, 0x82, 0x80, 0x28]];
        for case in cases {
            let mut stream = raw_session(&*server).await;
            let frames = match case {
                [0x81, rest @ ..] => masked(0x81, rest),
                [first, a, b, fin, c] => [masked(*first, &[*a, *b]), masked(*fin, &[*c])].concat(),
                _ => unreachable!(),
            };
            stream.write_all(&frames).await.unwrap();
            assert_eq!(read_raw_close(&mut stream).await, 1007, "after {case:x?}");
            expect_end(&mut stream).await;
        }
    })
}

const OFFER: &str = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";

/// DEFLATE with a sync flush and its `00 00 ff ff` tail removed (RFC 7692 §7.2.1).
fn compress(compressor: &mut Compress, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 64);
    compressor
        .compress_vec(data, &mut out, FlushCompress::Sync)
        .unwrap();
    assert!(out.ends_with(&[0, 0, 0xff, 0xff]) && out.len() < out.capacity());
    out.truncate(out.len() - 4);
    out
}

/// Inflates one message's payload with the tail added back (RFC 7692 §7.2.2).
fn inflate(decompressor: &mut Decompress, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 << 16);
    let input = [payload, &[0, 0, 0xff, 0xff]].concat();
    decompressor
        .decompress_vec(&input, &mut out, FlushDecompress::Sync)
        .unwrap();
    out
}

/// permessage-deflate: declined without an offer, for an offer with an unknown parameter, and by a
/// server that does not enable it (which then rejects RSV1 with 1002); accepted otherwise, and
/// RFC 7692's sample frames (§7.2.3.1-2, "Hello" twice with context takeover) come back byte for
/// byte; a plain message comes back compressed and inflates to itself.
pub fn websocket_deflate_is_negotiated_and_round_trips(
    engine: &dyn EngineUnderTest,
) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = ws_server(engine, |c| c.deflate = Some(DeflateConfig::default()), echo);
        for fields in [
            "",
            "Sec-WebSocket-Extensions: permessage-deflate; x_unknown\r\n",
        ] {
            let (_, head) = raw_session_with(&*server, fields).await;
            assert!(
                head_values(&head, "sec-websocket-extensions").is_empty(),
                "{head}"
            );
        }
        let (mut stream, head) = raw_session_with(&*server, OFFER).await;
        assert_eq!(
            head_values(&head, "sec-websocket-extensions"),
            ["permessage-deflate"]
        );
        let hello: [&[u8]; 2] = [
            &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
            &[0xf2, 0x00, 0x11, 0x00, 0x00],
        ];
        for compressed in hello {
            stream.write_all(&masked(0xC1, compressed)).await.unwrap();
            assert_eq!(
                read_raw_frame(&mut stream).await,
                (0xC1, compressed.to_vec())
            );
        }
        // The client's own compressor, and a plain message in between.
        let mut compressor = Compress::new(Compression::default(), false);
        let mut decompressor = Decompress::new(false);
        // The server's stream so far holds the two "Hello"s: the decompressor needs them.
        for compressed in hello {
            assert_eq!(inflate(&mut decompressor, compressed), b"Hello");
        }
        let text = "compressible ".repeat(8);
        let frames = [
            masked(0xC1, &compress(&mut compressor, text.as_bytes())),
            masked(0x81, b"plain"),
        ]
        .concat();
        stream.write_all(&frames).await.unwrap();
        for expected in [text.as_str(), "plain"] {
            let (first, payload) = read_raw_frame(&mut stream).await;
            assert_eq!(first, 0xC1, "compressed on the way back");
            assert_eq!(inflate(&mut decompressor, &payload), expected.as_bytes());
        }
        let plain = ws_server(engine, |_| {}, echo);
        let (mut stream, head) = raw_session_with(&*plain, OFFER).await;
        assert!(
            head_values(&head, "sec-websocket-extensions").is_empty(),
            "{head}"
        );
        stream.write_all(&masked(0xC1, hello[0])).await.unwrap();
        assert_eq!(read_raw_close(&mut stream).await, 1002);
    })
}

/// A compressed message that inflates past `max_message_size` gets Close 1009: a megabyte of
/// zeros in a frame of about a kilobyte, against a 64 KiB limit.
pub fn websocket_deflate_bomb_closes_with_1009(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = ws_server(
            engine,
            |c| {
                c.deflate = Some(DeflateConfig::default());
                c.max_message_size = 64 << 10;
            },
            echo,
        );
        let (mut stream, _) = raw_session_with(&*server, OFFER).await;
        let bomb = compress(
            &mut Compress::new(Compression::best(), false),
            &vec![0u8; 1 << 20],
        );
        assert!(bomb.len() < 4096, "{} bytes", bomb.len());
        stream.write_all(&masked(0xC2, &bomb)).await.unwrap();
        assert_eq!(read_raw_close(&mut stream).await, 1009);
        expect_end(&mut stream).await;
    })
}

/// Raw mode: the handler gets every frame as it came (fragments, a ping, text that is not UTF-8)
/// and its echo goes out as is, with no pong of the server's and no extension even when the
/// application enables deflate; its echo of the client's Close ends the connection.
pub fn websocket_raw_mode_hands_over_every_frame(
    engine: &dyn EngineUnderTest,
) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let module = |app: &mut Application| {
            app.install(WebSockets, |c| c.deflate = Some(DeflateConfig::default()));
            app.routing(|route| {
                route.web_socket_raw("/ws", |mut session: WebSocketSession| async move {
                    while let Some(message) = session.recv().await {
                        let Message::Frame(frame) = message? else {
                            return Err(Error::msg("raw mode hands over frames"));
                        };
                        session.send(Message::Frame(frame)).await?;
                    }
                    Ok(())
                });
            });
        };
        let server = engine.start(ServerConfig::default(), Box::new(module));
        let (mut stream, head) = raw_session_with(&*server, OFFER).await;
        assert!(
            head_values(&head, "sec-websocket-extensions").is_empty(),
            "{head}"
        );
        let frames: [(u8, &[u8]); 4] =
            [(0x01, b"Hel"), (0x89, b"p"), (0x80, b"lo"), (0x81, &[0xff])];
        let bytes: Vec<u8> = frames
            .iter()
            .flat_map(|(first, payload)| masked(*first, payload))
            .collect();
        stream.write_all(&bytes).await.unwrap();
        for (first, payload) in frames {
            assert_eq!(read_raw_frame(&mut stream).await, (first, payload.to_vec()));
        }
        close_1000_and_expect_the_echo(&mut stream).await;
    })
}

/// Once the session is closed, sends fail with `SessionError::Closed`: after the handler's own
/// Close (and a second Close fails too), and after the client dropped the connection.
pub fn websocket_send_after_close_fails(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let outcome = Slot::<Vec<Option<SessionError>>>::default();
        let record = outcome.clone();
        let server = ws_server(
            engine,
            |_| {},
            move |mut session: WebSocketSession| {
                let record = record.clone();
                async move {
                    let error = |result: Result<(), Error>| {
                        result
                            .err()
                            .and_then(|e| e.downcast_ref::<SessionError>().cloned())
                    };
                    let mut seen = Vec::new();
                    if session.call().request().query_parameters().get("close") == Some("1") {
                        session.close(CloseCode::Normal, "done").await?;
                        seen.push(error(session.send(Message::text("late")).await));
                        seen.push(error(session.close(CloseCode::Normal, "again").await));
                    }
                    while session.recv().await.is_some() {}
                    seen.push(error(session.send(Message::text("after the end")).await));
                    record.set(seen);
                    Ok(())
                }
            },
        );
        let closed = Some(SessionError::Closed);
        let mut stream = connect_raw(&*server).await;
        let request = HANDSHAKE.replace("/ws ", "/ws?close=1 ");
        stream
            .write_all(format!("{request}\r\n").as_bytes())
            .await
            .unwrap();
        assert!(
            read_head_raw(&mut stream)
                .await
                .starts_with("HTTP/1.1 101 ")
        );
        assert_eq!(
            read_raw_frame(&mut stream).await,
            (0x88, b"\x03\xe8done".to_vec())
        );
        stream
            .write_all(&masked(0x88, &[0x03, 0xe8]))
            .await
            .unwrap();
        expect_end(&mut stream).await;
        assert!(eventually(NOTICE, || outcome.get().is_some()).await);
        assert_eq!(outcome.get(), Some(vec![closed.clone(); 3]));
        // The client drops TCP: `recv` ends and the send after it fails.
        outcome.clear();
        drop(raw_session(&*server).await);
        assert!(
            eventually(NOTICE, || outcome.get().is_some()).await,
            "the session ended"
        );
        assert_eq!(outcome.get(), Some(vec![closed]));
    })
}

/// A handler that waits for something other than its session is cancelled (dropped) once the
/// connection is over: after the close handshake, and after the client dropped TCP.
pub fn websocket_handler_is_cancelled_when_the_connection_ends(
    engine: &dyn EngineUnderTest,
) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let live = Liveness::default();
        let handlers = live.clone();
        let server = ws_server(
            engine,
            |_| {},
            move |_session: WebSocketSession| {
                let guard = handlers.guard();
                async move {
                    std::future::pending::<()>().await;
                    drop(guard);
                    Ok(())
                }
            },
        );
        let mut stream = raw_session(&*server).await;
        assert!(eventually(NOTICE, || live.started() == 1).await);
        close_1000_and_expect_the_echo(&mut stream).await;
        // The server ended the connection; the client closes its side too.
        drop(stream);
        assert!(
            eventually(NOTICE, || live.all_ended()).await,
            "cancelled after the close handshake"
        );
        let stream = raw_session(&*server).await;
        assert!(eventually(NOTICE, || live.started() == 2).await);
        drop(stream);
        assert!(
            eventually(NOTICE, || live.all_ended()).await,
            "cancelled after the drop"
        );
    })
}
