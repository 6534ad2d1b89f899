//! What the server logged, for the cases that check "one log line" per failure (CONFORMANCE.md
//! "Bad input": a failing handler or interceptor is a 500 with one logged error).
//!
//! The server logs on its engine's threads, so a thread-local subscriber would miss its events: the
//! first case that asks installs a process-wide `tracing` subscriber that keeps every ERROR event's
//! fields. Cases tell their events apart by the request path, which each case keeps to itself. A
//! test binary that runs the suite must therefore not install a global subscriber of its own; if
//! one did, these cases fail (they cannot check what they claim to).

use std::sync::{Mutex, OnceLock};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// One event's fields, as text.
type Fields = Vec<(&'static str, String)>;

/// The ERROR events logged since the recorder was installed.
fn recorded() -> &'static Mutex<Vec<Fields>> {
    static EVENTS: OnceLock<&'static Mutex<Vec<Fields>>> = OnceLock::new();
    EVENTS.get_or_init(|| {
        let events: &'static Mutex<Vec<Fields>> = Box::leak(Box::default());
        tracing::subscriber::set_global_default(Recorder(events)).expect(
            "the conformance suite records the server's errors with the global tracing \
             subscriber: the test binary must not install another",
        );
        events
    })
}

/// Installs the recorder before a case starts its server, so that no event is missed.
pub(super) fn record_errors() {
    recorded();
}

/// How many ERROR events named `path` (the driver's "call failed" carries the request's path).
pub(super) fn errors_logged_for(path: &str) -> usize {
    recorded()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .iter()
        .filter(|fields| {
            fields
                .iter()
                .any(|(name, value)| *name == "path" && value == path)
        })
        .count()
}

struct Recorder(&'static Mutex<Vec<Fields>>);

struct Visitor<'a>(&'a mut Fields);

impl Visit for Visitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name(), format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name(), value.to_owned()));
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() == Level::ERROR
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields::new();
        event.record(&mut Visitor(&mut fields));
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(fields);
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}
