//! WebSocket cases (RFC 6455): the handshake as raw bytes, then sessions through the
//! tokio-tungstenite client. Frames as raw bytes are in `websocket_wire`.

use super::support::{
    LiveGuard, Liveness, Slot, connect_raw, eventually, head_values, read_head_raw,
};
use super::websocket_wire::{HANDSHAKE, masked, raw_session, read_raw_close, read_raw_frame};
use super::{EngineUnderTest, TestServer, TestStream};
use crate::engine::ServerConfig;
use crate::pipeline::BoxFuture;
use crate::websocket::{
    CloseCode, CloseFrame, Message, WebSocketHandler, WebSocketRoute, WebSocketSession, WebSockets,
    WebSocketsConfig,
};
use crate::{Application, Error};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::WebSocketStream;
use tungstenite::protocol::WebSocketConfig;

pub(super) const NOTICE: Duration = Duration::from_secs(5);

type Client = WebSocketStream<Box<dyn TestStream>>;

/// A server with the WebSockets plugin configured by `configure` and `handler` at `/ws`.
pub(super) fn ws_server(
    engine: &dyn EngineUnderTest,
    configure: impl FnOnce(&mut WebSocketsConfig) + Send + 'static,
    handler: impl WebSocketHandler,
) -> Box<dyn TestServer> {
    let module = move |app: &mut Application| {
        app.install(WebSockets, configure);
        app.routing(move |route| {
            route.web_socket("/ws", handler);
        });
    };
    engine.start(ServerConfig::default(), Box::new(module))
}

/// Echoes text and binary messages until the peer closes.
pub(super) async fn echo(mut session: WebSocketSession) -> Result<(), Error> {
    while let Some(message) = session.recv().await {
        if let message @ (Message::Text(_) | Message::Binary(_)) = message? {
            session.send(message).await?;
        }
    }
    Ok(())
}

/// Waits for the peer to close, holding `guard`.
async fn idle<G>(mut session: WebSocketSession, guard: G) -> Result<(), Error> {
    while session.recv().await.is_some() {}
    drop(guard);
    Ok(())
}

async fn ws_connect(server: &dyn TestServer, config: Option<WebSocketConfig>) -> Client {
    let stream = connect_raw(server).await;
    let (client, response) =
        tokio_tungstenite::client_async_with_config("ws://localhost/ws", stream, config)
            .await
            .expect("the WebSocket handshake succeeds");
    assert_eq!(response.status(), 101);
    client
}

/// The next message that is not a ping or pong, within 5 s.
async fn next_message(client: &mut Client) -> Option<Message> {
    loop {
        let next = tokio::time::timeout(NOTICE, client.next())
            .await
            .expect("a message within 5 s");
        match next {
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(message)) => return Some(message),
            Some(Err(_)) | None => return None,
        }
    }
}

async fn expect_close(client: &mut Client, code: u16) {
    match next_message(client).await {
        Some(Message::Close(Some(frame))) => assert_eq!(u16::from(frame.code), code, "{frame}"),
        other => panic!("expected Close({code}), got {other:?}"),
    }
}

fn close(code: CloseCode) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: "".into(),
    }))
}

/// The opening handshake with `Sec-WebSocket-Protocol` and a stray `Content-Type` upgrades: 101
/// with `Upgrade`, `Connection`, the RFC 6455 §1.3 sample accept key, and the offered protocol.
pub fn websocket_handshake_with_protocol_upgrades(
    engine: &dyn EngineUnderTest,
) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let module = |app: &mut Application| {
            app.routing(|route| {
                route.web_socket_protocol("/ws", "chat", echo);
            });
        };
        let server = engine.start(ServerConfig::default(), Box::new(module));
        let mut stream = connect_raw(&*server).await;
        let request = format!(
            "{HANDSHAKE}Sec-WebSocket-Protocol: superchat, chat\r\nContent-Type: application/json\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let head = read_head_raw(&mut stream).await;
        assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
        assert_eq!(head_values(&head, "upgrade"), ["websocket"], "{head}");
        let connection = head_values(&head, "connection");
        assert!(
            connection.len() == 1 && connection[0].eq_ignore_ascii_case("upgrade"),
            "{head}"
        );
        assert_eq!(
            head_values(&head, "sec-websocket-accept"),
            ["s3pPLMBiTxaQ9kYGzzhZRbK+xOo="],
            "{head}"
        );
        assert_eq!(
            head_values(&head, "sec-websocket-protocol"),
            ["chat"],
            "{head}"
        );
        assert!(head_values(&head, "content-length").is_empty(), "{head}");
        // A masked "hi" comes back: the connection speaks WebSocket now.
        let mask = [1u8, 2, 3, 4];
        let mut frame = vec![0x81, 0x82];
        frame.extend_from_slice(&mask);
        frame.extend(b"hi".iter().zip(mask).map(|(b, m)| b ^ m));
        stream.write_all(&frame).await.unwrap();
        assert_eq!(read_raw_frame(&mut stream).await, (0x81, b"hi".to_vec()));
    })
}

/// Requests to a WebSocket route that are not valid handshakes get their status: 426 with
/// `Upgrade: websocket` for plain HTTP, 426 with `Sec-WebSocket-Version: 13` for another version,
/// 400 without a key.
pub fn websocket_bad_handshakes_are_rejected(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = ws_server(engine, |_| {}, echo);
        let cases = [
            (
                "GET /ws HTTP/1.1\r\nHost: t\r\n\r\n",
                "426",
                "upgrade",
                "websocket",
            ),
            (
                &HANDSHAKE.replace("Version: 13", "Version: 8"),
                "426",
                "sec-websocket-version",
                "13",
            ),
            (
                &HANDSHAKE.replace("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", ""),
                "400",
                "",
                "",
            ),
        ];
        for (request, status, field, value) in cases {
            let mut stream = connect_raw(&*server).await;
            let request = if request.ends_with("\r\n\r\n") {
                request.to_owned()
            } else {
                format!("{request}\r\n")
            };
            stream.write_all(request.as_bytes()).await.unwrap();
            let head = read_head_raw(&mut stream).await;
            assert!(
                head.starts_with(&format!("HTTP/1.1 {status} ")),
                "{request}\n{head}"
            );
            if !field.is_empty() {
                assert_eq!(head_values(&head, field), [value], "{head}");
            }
        }
    })
}

/// Text "Hello" then Close(1000): the handler receives "Hello", the client gets Close(1000) back.
pub fn websocket_text_then_close(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let received = Slot::<String>::default();
        let record = received.clone();
        let server = ws_server(
            engine,
            |_| {},
            move |mut session: WebSocketSession| {
                let record = record.clone();
                async move {
                    while let Some(message) = session.recv().await {
                        if let Message::Text(text) = message? {
                            record.set(text.as_str().to_owned());
                        }
                    }
                    Ok(())
                }
            },
        );
        let mut client = ws_connect(&*server, None).await;
        client.send(Message::text("Hello")).await.unwrap();
        client.send(close(CloseCode::Normal)).await.unwrap();
        expect_close(&mut client, 1000).await;
        assert!(eventually(NOTICE, || received.get().is_some()).await);
        assert_eq!(received.get().as_deref(), Some("Hello"));
    })
}

/// Sends `messages` and reads as many back, concurrently (so neither side's buffers can fill up
/// and stall the other); returns what came back.
async fn round_trip(client: Client, messages: Vec<Message>) -> Vec<Message> {
    let count = messages.len();
    let (mut sink, mut stream) = client.split();
    let send = async move {
        for message in messages {
            sink.feed(message).await.unwrap();
        }
        sink.flush().await.unwrap();
        sink
    };
    let receive = async move {
        let mut echoed = Vec::with_capacity(count);
        while echoed.len() < count {
            match tokio::time::timeout(NOTICE, stream.next()).await {
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
                Ok(Some(Ok(message))) => echoed.push(message),
                other => panic!("{} of {count} echoed, then {other:?}", echoed.len()),
            }
        }
        echoed
    };
    let (_sink, echoed) = tokio::join!(send, receive);
    echoed
}

/// 125 text frames of lengths 1..=125 arrive intact and in order, both ways.
pub fn websocket_125_text_frames_in_order(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = ws_server(engine, |_| {}, echo);
        let client = ws_connect(&*server, None).await;
        let sent: Vec<Message> = (1..=125u8)
            .map(|len| {
                let text: String = (0..len)
                    .map(|i| char::from(b'a' + (i + len) % 26))
                    .collect();
                Message::text(text)
            })
            .collect();
        let echoed = round_trip(client, sent.clone()).await;
        assert_eq!(echoed, sent);
    })
}

/// A 20 MiB binary message (64-bit length) is echoed intact.
pub fn websocket_20_mib_binary_echo(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        const MAX: usize = 32 << 20;
        let server = ws_server(
            engine,
            |c| {
                c.max_frame_size = MAX;
                c.max_message_size = MAX;
            },
            echo,
        );
        let config = WebSocketConfig::default()
            .max_frame_size(Some(MAX))
            .max_message_size(Some(MAX));
        let client = ws_connect(&*server, Some(config)).await;
        let payload: Bytes = (0..20usize << 20)
            .map(|i| u8::try_from(i * 31 % 251).unwrap())
            .collect();
        let echoed = round_trip(client, vec![Message::Binary(payload.clone())]).await;
        match &echoed[..] {
            [Message::Binary(data)] => assert!(*data == payload, "the echo differs"),
            other => panic!("one binary message back, got {} messages", other.len()),
        }
    })
}

/// 100,000 small frames arrive in order.
pub fn websocket_100k_small_frames_in_order(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = ws_server(engine, |_| {}, echo);
        let client = ws_connect(&*server, None).await;
        let sent: Vec<Message> = (0..100_000u32)
            .map(|i| Message::Binary(Bytes::copy_from_slice(&i.to_be_bytes())))
            .collect();
        let echoed = round_trip(client, sent.clone()).await;
        if let Some(at) = echoed.iter().zip(&sent).position(|(a, b)| a != b) {
            panic!("frame {at} differs: {:?}", echoed[at]);
        }
    })
}

/// A burst of 64 binary messages from 4 KiB to 256 KiB, with small ones between them, is echoed
/// intact and in order: large payloads go out from where they are, several in one vectored write,
/// and the writes are partial once the socket's buffers fill.
pub fn websocket_burst_of_large_messages_in_order(
    engine: &dyn EngineUnderTest,
) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = ws_server(engine, |_| {}, echo);
        let client = ws_connect(&*server, None).await;
        let sent: Vec<Message> = (0..64usize)
            .map(|i| {
                let len = if i % 4 == 3 { i } else { (4 << 10) + i * 4001 };
                let payload: Bytes = (0..len)
                    .map(|j| u8::try_from((i * 7 + j) % 251).unwrap())
                    .collect();
                Message::Binary(payload)
            })
            .collect();
        let echoed = round_trip(client, sent.clone()).await;
        if let Some(at) = echoed.iter().zip(&sent).position(|(a, b)| a != b) {
            panic!("message {at} differs ({} bytes sent)", sent[at].len());
        }
    })
}

/// `send` waits while what it queued is unwritten past `outgoing_queue_bytes` (128 KiB by
/// default): the handler sends three 24 MiB messages to a client that reads nothing, and the second
/// `send` must wait, since the first cannot be written whole into the sockets' buffers (a few MiB
/// on loopback) until the client reads. Once it reads, all three arrive intact and in order and
/// every `send` returns.
pub fn websocket_send_waits_for_unwritten_bytes(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        const LEN: usize = 24 << 20;
        // Built before the server starts, so that the handler's sends follow each other at once.
        let payloads: Vec<Bytes> = (0..3)
            .map(|i: usize| {
                (0..LEN)
                    .map(|j| u8::try_from((i * 31 + j) % 253).unwrap())
                    .collect()
            })
            .collect();
        let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let started = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (counted, starts, to_send) = (sent.clone(), started.clone(), payloads.clone());
        let server = ws_server(
            engine,
            |_| {},
            move |mut session: WebSocketSession| {
                let (counted, starts, to_send) = (counted.clone(), starts.clone(), to_send.clone());
                async move {
                    for payload in to_send {
                        starts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        session.send(Message::Binary(payload)).await?;
                        counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                    while session.recv().await.is_some() {}
                    Ok(())
                }
            },
        );
        let config = WebSocketConfig::default()
            .max_frame_size(Some(32 << 20))
            .max_message_size(Some(32 << 20));
        let mut client = ws_connect(&*server, Some(config)).await;
        let count = || sent.load(std::sync::atomic::Ordering::SeqCst);
        assert!(
            eventually(NOTICE, || count() >= 1
                && started.load(std::sync::atomic::Ordering::SeqCst) >= 2)
            .await,
            "the first send returns at once, and the second is called"
        );
        // Time for a send that does not wait to return (it only queues the message).
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            count(),
            1,
            "a second 24 MiB send waits while the first is unwritten"
        );
        for (i, payload) in payloads.iter().enumerate() {
            match next_message(&mut client).await {
                Some(Message::Binary(data)) => {
                    assert!(data == *payload, "message {i} arrives intact");
                }
                other => panic!("message {i}: expected 24 MiB of binary, got {other:?}"),
            }
        }
        assert!(
            eventually(NOTICE, || count() == 3).await,
            "every send returns once the client reads"
        );
    })
}

/// The server closes first with 1013: the client reads Close(1013), answers, and the connection
/// ends.
pub fn websocket_server_closes_first(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let reason = Slot::<(u16, String)>::default();
        let record = reason.clone();
        let server = ws_server(
            engine,
            |_| {},
            move |mut session: WebSocketSession| {
                let record = record.clone();
                async move {
                    session.close(CloseCode::Again, "try later").await?;
                    // The first Close either side sent: the server's own.
                    let frame = session.closed().await;
                    record.set((u16::from(frame.code), frame.reason.to_string()));
                    while session.recv().await.is_some() {}
                    Ok(())
                }
            },
        );
        let mut client = ws_connect(&*server, None).await;
        expect_close(&mut client, 1013).await;
        // Reading on sends the client's answer; the server then ends the connection.
        assert!(next_message(&mut client).await.is_none());
        assert_eq!(reason.get(), Some((1013, "try later".to_owned())));
    })
}

/// The client closes first with 1001: the server answers Close(1001), its incoming messages end
/// with the peer's reason, and a later send fails. A Close with no code (§5.5.1: the body is
/// optional) is answered with none either (1005, "no status received", must not be sent,
/// §7.4.1), and the handler's close reason is then 1005 (§7.1.5).
pub fn websocket_client_closes_first(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let outcome = Slot::<(Option<u16>, bool)>::default();
        let record = outcome.clone();
        let server = ws_server(
            engine,
            |_| {},
            move |mut session: WebSocketSession| {
                let record = record.clone();
                async move {
                    while session.recv().await.is_some() {}
                    let reason = session.close_reason().map(|frame| u16::from(frame.code));
                    let late = session.send(Message::text("late")).await;
                    record.set((reason, late.is_err()));
                    Ok(())
                }
            },
        );
        let mut client = ws_connect(&*server, None).await;
        client.send(close(CloseCode::Away)).await.unwrap();
        expect_close(&mut client, 1001).await;
        assert!(
            eventually(NOTICE, || outcome.get().is_some()).await,
            "the server's incoming messages ended"
        );
        assert_eq!(outcome.get(), Some((Some(1001), true)));
        outcome.clear();
        let mut stream = raw_session(&*server).await;
        stream.write_all(&masked(0x88, &[])).await.unwrap();
        assert_eq!(read_raw_frame(&mut stream).await, (0x88, Vec::new()));
        assert!(
            eventually(NOTICE, || outcome.get().is_some()).await,
            "the server's incoming messages ended"
        );
        assert_eq!(outcome.get(), Some((Some(1005), true)));
    })
}

/// A frame over the configured maximum gets Close 1009 (RFC 6455 §7.4.1).
pub fn websocket_oversized_frame_closes_with_1009(
    engine: &dyn EngineUnderTest,
) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = ws_server(engine, |c| c.max_frame_size = 1024, echo);
        let mut client = ws_connect(&*server, None).await;
        client
            .send(Message::Binary(Bytes::from(vec![7u8; 1000])))
            .await
            .unwrap();
        assert!(matches!(
            next_message(&mut client).await,
            Some(Message::Binary(_))
        ));
        client
            .send(Message::Binary(Bytes::from(vec![7u8; 2000])))
            .await
            .unwrap();
        expect_close(&mut client, 1009).await;
    })
}

/// What the drop cases watch: the handlers still running, and the close code the last one saw.
#[derive(Clone, Default)]
struct Ends {
    live: Liveness,
    reason: Slot<u16>,
}

impl Ends {
    /// A handler's end: it records what `closed()` gives, then lets go of its guard.
    async fn record(&self, session: &WebSocketSession, guard: LiveGuard) {
        self.reason.set(u16::from(session.closed().await.code));
        drop(guard);
    }

    /// Every handler ended within 5 s of the client's drop, with the close reason 1006 (closed
    /// without a Close frame, RFC 6455 §7.1.5).
    async fn expect_abnormal_end(&self, what: &str) {
        assert!(
            eventually(NOTICE, || self.live.all_ended()).await,
            "{what} ended within {NOTICE:?} of the drop"
        );
        assert_eq!(
            self.reason.get(),
            Some(1006),
            "{what}: closed without a Close frame"
        );
    }
}

/// A client that drops the connection while the handler waits in `recv` ends the session within
/// 5 s.
pub fn websocket_client_drop_ends_idle_session(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let ends = Ends::default();
        let watch = ends.clone();
        let server = ws_server(
            engine,
            |_| {},
            move |mut session: WebSocketSession| {
                let (watch, guard) = (watch.clone(), watch.live.guard());
                async move {
                    while session.recv().await.is_some() {}
                    watch.record(&session, guard).await;
                    Ok(())
                }
            },
        );
        let client = ws_connect(&*server, None).await;
        assert!(eventually(NOTICE, || ends.live.started() == 1).await);
        drop(client);
        ends.expect_abnormal_end("the idle session").await;
    })
}

/// A client that drops the connection while the handler consumes its stream of messages ends
/// the session within 5 s: `recv` gives `None`, and the close reason is 1006.
pub fn websocket_client_drop_ends_consuming_session(
    engine: &dyn EngineUnderTest,
) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let ends = Ends::default();
        let watch = ends.clone();
        let received = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = received.clone();
        let server = ws_server(
            engine,
            |_| {},
            move |mut session: WebSocketSession| {
                let (watch, guard, counted) = (watch.clone(), watch.live.guard(), counted.clone());
                async move {
                    while let Some(Ok(_)) = session.recv().await {
                        counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                    watch.record(&session, guard).await;
                    Ok(())
                }
            },
        );
        let mut client = ws_connect(&*server, None).await;
        // The client sends until told to stop, then is dropped, mid-stream. Told, not aborted: a
        // send that never has to wait (the server reading as fast as it writes) never yields, so
        // an abort could not land and the case hung (60 s, once in CI on the in-memory engine).
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopping = stop.clone();
        let sender = tokio::spawn(async move {
            for i in 0u64.. {
                if stopping.load(std::sync::atomic::Ordering::SeqCst)
                    || client
                        .send(Message::text(format!("message {i}")))
                        .await
                        .is_err()
                {
                    break;
                }
                if i % 64 == 63 {
                    tokio::task::yield_now().await;
                }
            }
        });
        let count = || received.load(std::sync::atomic::Ordering::SeqCst);
        assert!(
            eventually(NOTICE, || count() >= 100).await,
            "the handler consumes the client's messages"
        );
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        sender.await.expect("the client's task ends when told to");
        ends.expect_abnormal_end("the consuming session").await;
    })
}

/// With a ping period the server pings; tokio-tungstenite answers, and the session goes on past
/// several pong timeouts: a server that did not read the pongs would close it with 1011 after the
/// first one.
pub fn websocket_server_pings(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        const PONG_TIMEOUT: Duration = Duration::from_millis(500);
        let server = ws_server(
            engine,
            |c| {
                c.ping_period = Some(Duration::from_millis(100));
                c.pong_timeout = PONG_TIMEOUT;
            },
            echo,
        );
        let mut client = ws_connect(&*server, None).await;
        // Reading is what makes tokio-tungstenite answer each ping.
        let watch = tokio::time::Instant::now() + 4 * PONG_TIMEOUT;
        let mut pings = 0;
        while tokio::time::Instant::now() < watch {
            let next = tokio::time::timeout(NOTICE, client.next()).await;
            assert!(
                matches!(next, Ok(Some(Ok(Message::Ping(_))))),
                "only pings while the pongs are answered, got {next:?} after {pings} pings"
            );
            pings += 1;
        }
        assert!(
            pings >= 4,
            "pings went on for four pong timeouts, only {pings} came"
        );
        // Answered pings keep the session open.
        client.send(Message::text("still here")).await.unwrap();
        assert_eq!(
            next_message(&mut client).await,
            Some(Message::text("still here"))
        );
    })
}

/// A handler that falls behind does not get a live peer taken for a dead one: it leaves the
/// client's messages unread for several pong timeouts, so the server stops reading (its pongs
/// too), and the session still goes on, every message echoed in order.
pub fn websocket_lagging_handler_keeps_a_live_peer(
    engine: &dyn EngineUnderTest,
) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        const PONG_TIMEOUT: Duration = Duration::from_millis(300);
        const MESSAGES: usize = 64;
        let server = ws_server(
            engine,
            |c| {
                c.ping_period = Some(Duration::from_millis(100));
                c.pong_timeout = PONG_TIMEOUT;
            },
            |session: WebSocketSession| async move {
                tokio::time::sleep(5 * PONG_TIMEOUT).await;
                echo(session).await
            },
        );
        let client = ws_connect(&*server, None).await;
        let (mut sink, mut stream) = client.split();
        // 512 KiB: four times the incoming queue's 128 KiB.
        let message = |i: usize| Message::binary(vec![u8::try_from(i).unwrap(); 8 << 10]);
        let sender = tokio::spawn(async move {
            for i in 0..MESSAGES {
                sink.send(message(i)).await.unwrap();
            }
            sink
        });
        // Reading answers the server's pings.
        let mut echoed = 0;
        while echoed < MESSAGES {
            let next = tokio::time::timeout(NOTICE, stream.next()).await;
            match next {
                Ok(Some(Ok(Message::Ping(_)))) => {}
                Ok(Some(Ok(got))) => {
                    assert!(got == message(echoed), "echo {echoed} intact and in order");
                    echoed += 1;
                }
                other => panic!("after {echoed} echoes: {other:?}"),
            }
        }
        drop(sender.await.unwrap());
    })
}

/// A peer that does not answer pings is closed (1011) after the pong timeout and its session ends.
pub fn websocket_silent_peer_is_closed_after_pong_timeout(
    engine: &dyn EngineUnderTest,
) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let live = Liveness::default();
        let handlers = live.clone();
        let server = ws_server(
            engine,
            |c| {
                c.ping_period = Some(Duration::from_millis(100));
                c.pong_timeout = Duration::from_millis(200);
            },
            move |session: WebSocketSession| idle(session, handlers.guard()),
        );
        let mut stream = raw_session(&*server).await;
        assert_eq!(read_raw_close(&mut stream).await, 1011);
        assert!(
            eventually(NOTICE, || live.all_ended()).await,
            "the session ended after the pong timeout"
        );
    })
}

/// A client that drops the connection while the handler keeps sending ends the session within
/// 5 s: a send fails, and the close reason is 1006.
pub fn websocket_client_drop_ends_sending_session(
    engine: &dyn EngineUnderTest,
) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let ends = Ends::default();
        let watch = ends.clone();
        let server = ws_server(
            engine,
            |_| {},
            move |session: WebSocketSession| {
                let (watch, guard) = (watch.clone(), watch.live.guard());
                async move {
                    let tick = Message::text("tick");
                    // A handler waiting for something else than the session when the connection
                    // ends is dropped there: this one waits for its close too.
                    while session.send(tick.clone()).await.is_ok() {
                        tokio::select! {
                            () = tokio::time::sleep(Duration::from_millis(5)) => {}
                            _ = session.closed() => break,
                        }
                    }
                    watch.record(&session, guard).await;
                    Ok(())
                }
            },
        );
        let mut client = ws_connect(&*server, None).await;
        assert_eq!(next_message(&mut client).await, Some(Message::text("tick")));
        drop(client);
        ends.expect_abnormal_end("the sending session").await;
    })
}

/// Stopping the server closes an active session with 1001 and ends it.
pub fn websocket_stop_closes_sessions_with_1001(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let live = Liveness::default();
        let handlers = live.clone();
        let server: std::sync::Arc<dyn TestServer> = std::sync::Arc::from(ws_server(
            engine,
            |_| {},
            move |session: WebSocketSession| idle(session, handlers.guard()),
        ));
        let mut client = ws_connect(&*server, None).await;
        assert!(eventually(NOTICE, || live.started() == 1).await);
        let stopping = server.clone();
        let stop = tokio::task::spawn_blocking(move || {
            stopping.stop(Duration::from_secs(5), Duration::from_secs(10));
        });
        expect_close(&mut client, 1001).await;
        assert!(next_message(&mut client).await.is_none());
        assert!(eventually(NOTICE, || live.all_ended()).await);
        tokio::time::timeout(Duration::from_secs(10), stop)
            .await
            .expect("stop returns")
            .expect("stop returns");
    })
}
