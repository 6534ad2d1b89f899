//! The chat room (`/chat`, `/ws/chat`) with tokio-tungstenite clients over real sockets, on each
//! engine: members see each other's messages, joins and leaves; a late member gets the history;
//! names are made unique; a member that stops reading misses events without holding anyone up.

mod common;

use app::chat::{ChatConfig, chat_with};
use engine_core::{Engine, ServerConfig, embedded_server};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

type Client = WebSocketStream<TcpStream>;

async fn join(addr: SocketAddr, name: Option<&str>) -> Client {
    let stream = TcpStream::connect(addr).await.unwrap();
    let url = match name {
        Some(name) => format!("ws://{addr}/ws/chat?name={name}"),
        None => format!("ws://{addr}/ws/chat"),
    };
    let (client, _) = tokio_tungstenite::client_async(url, stream).await.unwrap();
    client
}

/// The next event, skipping control frames; fails after 20 s.
async fn event(client: &mut Client) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(20), client.next())
            .await
            .expect("an event within 20 s")
            .expect("the connection is open")
            .unwrap();
        if let Message::Text(text) = frame {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

async fn say(client: &mut Client, text: &str) {
    client.send(Message::text(text)).await.unwrap();
}

fn start(engine: Box<dyn Engine>, config: ChatConfig) -> engine_core::EmbeddedServer {
    let mut server = embedded_server(
        engine,
        ServerConfig::listen("127.0.0.1", 0),
        chat_with(config),
    );
    server.start(false).unwrap();
    server
}

async fn members_talk(engine: Box<dyn Engine>) {
    let server = start(engine, ChatConfig::default());
    let addr = server.local_addrs()[0];
    let mut ada = join(addr, Some("ada")).await;
    assert_eq!(
        event(&mut ada).await,
        json!({"kind": "welcome", "name": "ada", "members": ["ada"]})
    );
    assert_eq!(
        event(&mut ada).await,
        json!({"kind": "join", "name": "ada"})
    );

    let mut bob = join(addr, Some("bob")).await;
    assert_eq!(
        event(&mut bob).await,
        json!({"kind": "welcome", "name": "bob", "members": ["ada", "bob"]})
    );
    // The history so far, then bob's own join live.
    assert_eq!(
        event(&mut bob).await,
        json!({"kind": "join", "name": "ada"})
    );
    assert_eq!(
        event(&mut bob).await,
        json!({"kind": "join", "name": "bob"})
    );
    assert_eq!(
        event(&mut ada).await,
        json!({"kind": "join", "name": "bob"})
    );

    say(&mut ada, "hello bob").await;
    let hello = json!({"kind": "message", "name": "ada", "text": "hello bob"});
    assert_eq!(event(&mut bob).await, hello);
    assert_eq!(
        event(&mut ada).await,
        hello,
        "the sender sees its message too"
    );
    say(&mut bob, "hi ada").await;
    let hi = json!({"kind": "message", "name": "bob", "text": "hi ada"});
    assert_eq!(event(&mut ada).await, hi);
    assert_eq!(event(&mut bob).await, hi);

    // A name in use gets a suffix; none (or a malformed one) makes a guest.
    let mut second_ada = join(addr, Some("ada")).await;
    assert_eq!(event(&mut second_ada).await["name"], "ada-2");
    let mut guest = join(addr, Some("%3Cscript%3E")).await;
    assert_eq!(event(&mut guest).await["name"], "guest-1");
    // The late member's history: every event so far, in order.
    let history: Vec<Value> = [
        json!({"kind": "join", "name": "ada"}),
        json!({"kind": "join", "name": "bob"}),
        hello.clone(),
        hi.clone(),
        json!({"kind": "join", "name": "ada-2"}),
        json!({"kind": "join", "name": "guest-1"}),
    ]
    .into();
    for expected in &history {
        assert_eq!(&event(&mut guest).await, expected);
    }

    // A message over the limit is refused to its sender alone.
    say(&mut guest, &"x".repeat(2001)).await;
    assert_eq!(
        event(&mut guest).await,
        json!({"kind": "error", "text": "the message is too long"})
    );

    bob.close(None).await.unwrap();
    // ada sees the two joins, then bob's leave (and nothing from the refused message).
    assert_eq!(event(&mut ada).await["name"], "ada-2");
    assert_eq!(event(&mut ada).await["name"], "guest-1");
    assert_eq!(
        event(&mut ada).await,
        json!({"kind": "leave", "name": "bob"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_talk_on_tokio() {
    members_talk(Box::new(engine_tokio::TokioEngine::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_talk_on_uring() {
    common::require_uring();
    members_talk(Box::new(engine_uring::UringEngine::new())).await;
}

/// A member that never reads: its socket's buffers fill, its session waits, and it falls behind
/// the room. The sender and another member go on as if it were not there; when it reads again it
/// is told how many events it missed.
async fn a_stalled_member_does_not_hold_the_room_up(engine: Box<dyn Engine>) {
    const MESSAGES: usize = 4000;
    let config = ChatConfig {
        max_message_chars: 8192,
        ..ChatConfig::default()
    };
    let ahead = config.buffer / 4;
    let server = start(engine, config);
    let addr = server.local_addrs()[0];
    let mut stalled = join(addr, Some("stalled")).await;
    let mut reader = join(addr, Some("reader")).await;
    let (mut writer, mut echoes) = join(addr, Some("writer")).await.split();
    // The writer reads what the room sends it (its own messages included) as a browser would: a
    // member that stops reading stops being read too, through its own connection only.
    let draining = tokio::spawn(async move { while let Some(Ok(_)) = echoes.next().await {} });
    // 4 KiB each, 16 MiB in all: more than the stalled member's socket buffers hold. The writer
    // keeps at most a quarter of the room's buffer beyond what the reader has seen, so that the
    // reader never falls behind however slowly it runs; the stalled member, which reads nothing,
    // falls behind all the same.
    let padding = "p".repeat(4096);
    let seen = Arc::new(tokio::sync::Semaphore::new(ahead));
    let window = seen.clone();
    let sending = tokio::spawn(async move {
        for i in 0..MESSAGES {
            window.acquire().await.unwrap().forget();
            let text = format!("{i:05} {padding}");
            writer.send(Message::text(text)).await.unwrap();
        }
        writer
    });
    let mut next = 0;
    while next < MESSAGES {
        let event = event(&mut reader).await;
        if event["kind"] == "message" {
            let text = event["text"].as_str().unwrap();
            assert_eq!(&text[..5], format!("{next:05}"), "in order, none missed");
            next += 1;
            seen.add_permits(1);
        }
    }
    let _writer = sending.await.unwrap();
    draining.abort();
    // Now the stalled member reads: it missed some, and was told so.
    let (mut messages, mut missed) = (0u64, 0u64);
    while messages + missed < MESSAGES as u64 {
        let event = event(&mut stalled).await;
        match event["kind"].as_str() {
            Some("message") => messages += 1,
            Some("missed") => missed += event["count"].as_u64().unwrap(),
            _ => {}
        }
    }
    assert!(
        missed > 0,
        "the stalled member missed nothing ({messages} messages)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_member_does_not_hold_the_room_up_on_tokio() {
    a_stalled_member_does_not_hold_the_room_up(Box::new(engine_tokio::TokioEngine::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_member_does_not_hold_the_room_up_on_uring() {
    common::require_uring();
    a_stalled_member_does_not_hold_the_room_up(Box::new(engine_uring::UringEngine::new())).await;
}

#[tokio::test]
async fn the_page_connects_to_the_room() {
    let app = engine_core::testing::test_application(app::chat::chat);
    let page = app.client().get("/chat").await.unwrap();
    assert_eq!(page.status, http::StatusCode::OK);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = page.text();
    assert!(html.contains("/ws/chat?name="), "{html}");
    assert!(
        !html.contains("innerHTML ="),
        "messages are inserted as text"
    );
}
