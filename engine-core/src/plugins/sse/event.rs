//! One server-sent event and its wire form (WHATWG HTML §9.2.6, "Interpreting an event stream";
//! §9.2.5's `text/event-stream` grammar):
//!
//! ```text
//! stream = [ bom ] *event
//! event  = *( comment / field ) end-of-line
//! comment = colon *any-char end-of-line
//! field  = 1*name-char [ colon [ space ] *any-char ] end-of-line
//! ```
//!
//! An event is written as comment lines, then `event:`, `id:`, `retry:`, then one `data:` line per
//! line of its data, then an empty line that dispatches it. Data is split at every line break a
//! client recognises (CRLF, LF, CR), so multi-line data arrives as it was sent. `event` and `id`
//! are one line each: their line breaks (and, in `id`, NUL, which makes a client ignore the field)
//! are removed, so that a value can never start a field or an event of its own.

use bytes::Bytes;
use std::time::Duration;

/// A server-sent event (Ktor's `ServerSentEvent`).
///
/// ```
/// use engine_core::plugins::sse::ServerSentEvent;
/// use std::time::Duration;
///
/// let event = ServerSentEvent::data("line 1\nline 2")
///     .with_event("update")
///     .with_id("7")
///     .with_retry(Duration::from_secs(3));
/// assert_eq!(
///     event.to_bytes(),
///     "event: update\nid: 7\nretry: 3000\ndata: line 1\ndata: line 2\n\n"
/// );
/// assert_eq!(ServerSentEvent::comment("keep-alive").to_bytes(), ": keep-alive\n\n");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerSentEvent {
    /// The data; `None` writes no `data:` line (a client then dispatches nothing).
    pub data: Option<String>,
    /// The event type (`event:`); a client's default is `message`.
    pub event: Option<String>,
    /// The last event id a client reports back in `Last-Event-ID` when it reconnects (`id:`).
    pub id: Option<String>,
    /// How long a client waits before reconnecting (`retry:`), in whole milliseconds.
    pub retry: Option<Duration>,
    /// Comment lines, which clients ignore.
    pub comments: Option<String>,
}

impl ServerSentEvent {
    /// An event with data.
    pub fn data(data: impl Into<String>) -> Self {
        Self {
            data: Some(data.into()),
            ..Self::default()
        }
    }

    /// Only a comment: no event for the client, bytes on the wire (a heartbeat).
    pub fn comment(text: impl Into<String>) -> Self {
        Self {
            comments: Some(text.into()),
            ..Self::default()
        }
    }

    /// The same event with a type.
    #[must_use]
    pub fn with_event(mut self, event: impl Into<String>) -> Self {
        self.event = Some(event.into());
        self
    }

    /// The same event with an id.
    #[must_use]
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// The same event with a reconnection time.
    #[must_use]
    pub fn with_retry(mut self, retry: Duration) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Appends the event's wire form to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        if let Some(comments) = &self.comments {
            for line in lines(comments) {
                out.push(b':');
                if !line.is_empty() {
                    out.push(b' ');
                    out.extend_from_slice(line.as_bytes());
                }
                out.push(b'\n');
            }
        }
        if let Some(event) = &self.event {
            field(out, "event", &one_line(event, false));
        }
        if let Some(id) = &self.id {
            field(out, "id", &one_line(id, true));
        }
        if let Some(retry) = self.retry {
            let millis = u64::try_from(retry.as_millis()).unwrap_or(u64::MAX);
            field(out, "retry", itoa::Buffer::new().format(millis));
        }
        if let Some(data) = &self.data {
            for line in lines(data) {
                field(out, "data", line);
            }
        }
        out.push(b'\n');
    }

    /// The event's wire form.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = Vec::new();
        self.encode(&mut out);
        out.into()
    }
}

fn field(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.push(b'\n');
}

/// The lines of `text`, split at CRLF, LF or CR (§9.2.5 `end-of-line`); an empty text is one
/// empty line.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        match current.find(['\r', '\n']) {
            Some(at) => {
                let skip = if current[at..].starts_with("\r\n") {
                    2
                } else {
                    1
                };
                rest = Some(&current[at + skip..]);
                Some(&current[..at])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// `value` without line breaks (and without NUL when `no_nul`).
fn one_line(value: &str, no_nul: bool) -> String {
    value
        .chars()
        .filter(|&c| c != '\r' && c != '\n' && !(no_nul && c == '\0'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A client's reading of a stream (WHATWG HTML §9.2.6), reduced to what the tests compare:
    /// each dispatched event's type, data and last event id, and the last retry value seen.
    #[derive(Debug, Default, PartialEq)]
    struct Dispatched {
        events: Vec<(String, String, String)>,
        retry: Option<u64>,
    }

    fn interpret(stream: &str) -> Dispatched {
        let (mut out, mut data, mut event, mut id) = (
            Dispatched::default(),
            String::new(),
            String::new(),
            String::new(),
        );
        // Split independently of the encoder's own `lines`: CRLF, CR and LF all end a line.
        let normalised = stream.replace("\r\n", "\n").replace('\r', "\n");
        for line in normalised.split('\n') {
            if line.is_empty() {
                if !data.is_empty() {
                    data.pop();
                    let kind = if event.is_empty() { "message" } else { &event };
                    out.events
                        .push((kind.to_owned(), std::mem::take(&mut data), id.clone()));
                }
                data.clear();
                event.clear();
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (name, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match name {
                "data" => {
                    data.push_str(value);
                    data.push('\n');
                }
                "event" => event = value.to_owned(),
                "id" if !value.contains('\0') => id = value.to_owned(),
                "retry" => out.retry = value.parse().ok().or(out.retry),
                _ => {}
            }
        }
        out
    }

    #[test]
    fn encodings() {
        let cases = [
            (ServerSentEvent::data("x"), "data: x\n\n"),
            (ServerSentEvent::data(""), "data: \n\n"),
            (
                ServerSentEvent::data("a\r\nb\rc\nd"),
                "data: a\ndata: b\ndata: c\ndata: d\n\n",
            ),
            (ServerSentEvent::data("a\n"), "data: a\ndata: \n\n"),
            (ServerSentEvent::comment(""), ":\n\n"),
            (ServerSentEvent::comment("a\nb"), ": a\n: b\n\n"),
            (
                ServerSentEvent::data("x")
                    .with_event("up\r\ndata: evil")
                    .with_id("1\n2\0"),
                "event: updata: evil\nid: 12\ndata: x\n\n",
            ),
            (
                ServerSentEvent::default().with_retry(Duration::from_micros(1500)),
                "retry: 1\n\n",
            ),
        ];
        for (event, expected) in cases {
            assert_eq!(event.to_bytes(), expected, "{event:?}");
        }
    }

    #[test]
    fn a_client_reads_what_was_sent() {
        let mut stream = Vec::new();
        ServerSentEvent::comment("hello").encode(&mut stream);
        ServerSentEvent::data("one\ntwo")
            .with_id("1")
            .encode(&mut stream);
        ServerSentEvent::data("three")
            .with_event("custom")
            .with_retry(Duration::from_secs(2))
            .encode(&mut stream);
        let read = interpret(std::str::from_utf8(&stream).unwrap());
        assert_eq!(read.retry, Some(2000));
        assert_eq!(
            read.events,
            [
                ("message".into(), "one\ntwo".into(), "1".into()),
                ("custom".into(), "three".into(), "1".into()),
            ]
        );
    }

    proptest! {
        /// Any data, type and id reach a client as they were sent, line breaks of the data
        /// normalised to LF, and a type or id can never add an event.
        #[test]
        fn events_round_trip(
            data in "[a-z \r\n:]{0,16}",
            event in proptest::option::of("[a-z\r\n:]{1,8}"),
            id in proptest::option::of("[a-z0-9\r\n\0]{0,8}"),
        ) {
            let mut sent = ServerSentEvent::data(data.clone());
            sent.event = event.clone();
            sent.id = id.clone();
            let read = interpret(std::str::from_utf8(&sent.to_bytes()).unwrap());
            let data = data.replace("\r\n", "\n").replace('\r', "\n");
            let kind = event.map(|e| one_line(&e, false)).filter(|e| !e.is_empty());
            let id = id.map(|i| one_line(&i, true)).unwrap_or_default();
            let expected = (kind.unwrap_or_else(|| "message".into()), data, id);
            prop_assert_eq!(read.events, vec![expected]);
        }
    }
}
