//! A chat room over WebSockets (RFC 6455): `GET /chat` serves a page, HTML with inline JavaScript,
//! that joins the room at `/ws/chat?name=NAME`.
//!
//! A member sends text frames, each one message. The server sends text frames of JSON events:
//! - `{"kind":"welcome","name":"ada","members":["ada","bob"]}` first, with the member's name (the
//!   one asked for when it is free and well-formed, else a `guest-N` or a suffixed one);
//! - then the history, the last [`ChatConfig::history`] `message`, `join` and `leave` events;
//! - then, live: `{"kind":"message","name":"ada","text":"hi"}`, `{"kind":"join","name":"bob"}`,
//!   `{"kind":"leave","name":"bob"}`, and to one member only `{"kind":"missed","count":3}` (it fell
//!   too far behind) or `{"kind":"error","text":"..."}` (its message was refused).
//!
//! Every event goes through one `tokio::sync::broadcast` channel: sending never waits for a
//! member, so a slow one (a full TCP window, a stalled browser) only falls behind, and past
//! [`ChatConfig::buffer`] events it is told how many it missed; the others do not notice it.

use engine_core::websocket::{Message, WebSocketRoute, WebSocketSession, WebSockets};
use engine_core::{Application, ApplicationCall, Error};
use http::HeaderValue;
use serde::Serialize;
use std::collections::{BTreeSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use tokio::sync::broadcast;

/// The room's limits.
#[derive(Debug, Clone)]
pub struct ChatConfig {
    /// Events a new member is sent on joining: 50 by default.
    pub history: usize,
    /// Events a member may fall behind before it misses some (and is told how many): 256 by
    /// default. The memory the room holds is this many events, however many members it has.
    pub buffer: usize,
    /// The longest message, in characters: 2000 by default. A longer one is refused with an
    /// `error` event to its sender.
    pub max_message_chars: usize,
    /// The longest name, in characters: 24 by default.
    pub max_name_chars: usize,
}

impl Default for ChatConfig {
    fn default() -> Self {
        Self {
            history: 50,
            buffer: 256,
            max_message_chars: 2000,
            max_name_chars: 24,
        }
    }
}

/// The page `GET /chat` serves.
pub const PAGE: &str = include_str!("chat.html");

/// The chat room with [`ChatConfig::default`].
pub fn chat(app: &mut Application) {
    chat_with(ChatConfig::default())(app);
}

/// The chat room with `config`: a module.
///
/// # Panics
/// When `config.buffer` is 0 (a configuration mistake at start-up).
#[track_caller]
pub fn chat_with(config: ChatConfig) -> impl FnOnce(&mut Application) {
    assert!(config.buffer > 0, "ChatConfig::buffer must be at least 1");
    move |app: &mut Application| {
        if !app.is_installed::<WebSockets>() {
            app.install(WebSockets, |_| {});
        }
        app.state(Room::new(config));
        app.routing(|route| {
            route.get("/chat", |call: ApplicationCall| async move {
                let html = HeaderValue::from_static("text/html; charset=utf-8");
                call.respond_bytes(PAGE, html).await
            });
            route.web_socket("/ws/chat", |session: WebSocketSession| async move {
                let call = session.call().clone();
                let Some(room) = call.state::<Room>() else {
                    return Err(Error::msg(
                        "the chat room is not in the application's state",
                    ));
                };
                room.serve(session).await
            });
        });
    }
}

/// What the server sends; see the module's documentation.
#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum Event<'a> {
    Welcome {
        name: &'a str,
        members: Vec<&'a str>,
    },
    Message {
        name: &'a str,
        text: &'a str,
    },
    Join {
        name: &'a str,
    },
    Leave {
        name: &'a str,
    },
    Missed {
        count: u64,
    },
    Error {
        text: &'a str,
    },
}

impl Event<'_> {
    /// The event as a text frame; cloning it for each member shares its bytes.
    fn encode(&self) -> Message {
        // Serializing these plain fields cannot fail; an empty frame would be the only symptom.
        Message::text(serde_json::to_string(self).unwrap_or_default())
    }
}

/// The room: the channel every event goes through, the recent ones, and who is in.
struct Room {
    config: ChatConfig,
    events: broadcast::Sender<Message>,
    /// The history, and the lock under which events are published, so that a member joining
    /// sees each event once: in its history or live.
    state: Mutex<RoomState>,
    guests: AtomicU64,
}

#[derive(Default)]
struct RoomState {
    history: VecDeque<Message>,
    members: BTreeSet<String>,
}

impl Room {
    fn new(config: ChatConfig) -> Self {
        let (events, _) = broadcast::channel(config.buffer);
        Self {
            config,
            events,
            state: Mutex::default(),
            guests: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, RoomState> {
        // Every change under the lock is complete before anything that can panic.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Publishes `event` to every member and keeps it in the history. Never waits for a member.
    fn publish(&self, state: &mut RoomState, event: &Event<'_>) {
        let encoded = event.encode();
        if state.history.len() == self.config.history {
            state.history.pop_front();
        }
        if self.config.history > 0 {
            state.history.push_back(encoded.clone());
        }
        // An error only means nobody is listening.
        let _ = self.events.send(encoded);
    }

    /// One member's session, from its welcome to its leave.
    async fn serve(&self, mut session: WebSocketSession) -> Result<(), Error> {
        let asked = session.call().request().query_parameters().get("name");
        let asked = asked.map(str::to_owned);
        let (member, mut events, welcome) = self.join(asked.as_deref());
        for event in welcome {
            session.send(event).await?;
        }
        loop {
            tokio::select! {
                incoming = session.recv() => match incoming {
                    Some(Ok(Message::Text(text))) => self.say(&session, &member.name, &text).await?,
                    Some(Ok(Message::Binary(_))) => {
                        let refusal = Event::Error { text: "messages are text frames" };
                        session.send(refusal.encode()).await?;
                    }
                    Some(Ok(Message::Close(_))) | None => break,
                    Some(Ok(_)) => {}
                    Some(Err(error)) => return Err(error),
                },
                event = events.recv() => match event {
                    Ok(event) => session.send(event).await?,
                    Err(broadcast::error::RecvError::Lagged(count)) => {
                        session.send(Event::Missed { count }.encode()).await?;
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
            }
        }
        Ok(())
        // `member` drops here, or on an error above: its leave is published either way.
    }

    /// Admits a member: its name, its subscription, and what it is sent first (the welcome, then
    /// the history). The join is published after the snapshot, so the member sees it live.
    fn join(
        &self,
        asked: Option<&str>,
    ) -> (Member<'_>, broadcast::Receiver<Message>, Vec<Message>) {
        let mut state = self.lock();
        let name = self.name_for(&state.members, asked);
        state.members.insert(name.clone());
        let members = state.members.iter().map(String::as_str).collect();
        let mut first = vec![
            Event::Welcome {
                name: &name,
                members,
            }
            .encode(),
        ];
        first.extend(state.history.iter().cloned());
        let events = self.events.subscribe();
        self.publish(&mut state, &Event::Join { name: &name });
        (Member { room: self, name }, events, first)
    }

    /// The name asked for when it is well-formed and free; else the first free `NAME-2`, `NAME-3`,
    /// ... or, for a missing or malformed one, a `guest-N`.
    fn name_for(&self, members: &BTreeSet<String>, asked: Option<&str>) -> String {
        let asked = asked.map(str::trim).filter(|name| {
            let count = name.chars().count();
            (1..=self.config.max_name_chars).contains(&count)
                && name
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ' '))
        });
        let base = match asked {
            Some(name) => name.to_owned(),
            None => format!("guest-{}", self.guests.fetch_add(1, Ordering::Relaxed) + 1),
        };
        (1u64..)
            .map(|n| match n {
                1 => base.clone(),
                n => format!("{base}-{n}"),
            })
            .find(|name| !members.contains(name))
            .unwrap_or(base)
    }

    /// A member's message: published, or refused with an `error` to the member alone.
    async fn say(&self, session: &WebSocketSession, name: &str, text: &str) -> Result<(), Error> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(());
        }
        if text.chars().count() > self.config.max_message_chars {
            let refusal = Event::Error {
                text: "the message is too long",
            };
            return session.send(refusal.encode()).await;
        }
        let mut state = self.lock();
        self.publish(&mut state, &Event::Message { name, text });
        Ok(())
    }
}

/// A member of the room; leaving when dropped, however its session ended.
struct Member<'a> {
    room: &'a Room,
    name: String,
}

impl Drop for Member<'_> {
    fn drop(&mut self) {
        let mut state = self.room.lock();
        state.members.remove(&self.name);
        self.room
            .publish(&mut state, &Event::Leave { name: &self.name });
    }
}
