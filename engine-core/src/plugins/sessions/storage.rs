//! Server-side sessions (Ktor's `SessionStorage`): the client holds only an id; the payload lives
//! in a [`SessionStorage`]. Two stores come with the plugin: [`MemoryStorage`] (one process, for
//! tests and development) and [`DirectoryStorage`] (one file per session).
//!
//! Ids are 128 bits from the operating system's CSPRNG, as 32 lowercase hex digits
//! ([`generate_session_id`]). An id from a request is used only if [`is_valid_session_id`] accepts
//! it, and [`DirectoryStorage`] checks again, so no id can name a path outside its directory.

use crate::Error;
use crate::pipeline::{BoxFuture, done};
use http::StatusCode;
use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Mutex;

/// Where server-side sessions are kept. Values are session payloads (visible ASCII text); `expires`
/// (Unix seconds) is when the session becomes void, for stores that sweep. The plugin checks the
/// expiry inside the payload itself, so a store may keep an expired entry.
pub trait SessionStorage: Send + Sync + 'static {
    /// The value stored under `id`, if any.
    fn read<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<String>, Error>>;
    /// Stores `value` under `id`, replacing what was there.
    fn write<'a>(
        &'a self,
        id: &'a str,
        value: String,
        expires: Option<u64>,
    ) -> BoxFuture<'a, Result<(), Error>>;
    /// Removes what is stored under `id`; removing nothing is not an error.
    fn invalidate<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), Error>>;
}

/// Bytes of randomness in a generated id.
pub const SESSION_ID_BYTES: usize = 16;

/// A new session id: [`SESSION_ID_BYTES`] from the OS CSPRNG as lowercase hex.
pub fn generate_session_id() -> Result<String, Error> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut bytes = [0; SESSION_ID_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| Error::new(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    let mut id = String::with_capacity(2 * SESSION_ID_BYTES);
    for byte in bytes {
        id.push(char::from(HEX[usize::from(byte >> 4)]));
        id.push(char::from(HEX[usize::from(byte & 15)]));
    }
    Ok(id)
}

/// Whether `id` has the form of a generated id: exactly `2 * SESSION_ID_BYTES` lowercase hex digits.
/// Nothing else is looked up, so no id can be a path, empty, or long.
pub fn is_valid_session_id(id: &str) -> bool {
    id.len() == 2 * SESSION_ID_BYTES && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

type Entries = HashMap<String, (String, Option<u64>)>;

/// Sessions in this process's memory, lost on restart.
///
/// Holds at most [`max_sessions`](Self::max_sessions) sessions; a write of a new one past that first
/// drops the expired sessions, then the one that expires soonest, so a flood of new sessions cannot
/// exhaust memory (it logs out the oldest sessions instead).
pub struct MemoryStorage {
    entries: Mutex<Entries>,
    max_sessions: usize,
}

impl fmt::Debug for MemoryStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStorage")
            .field("sessions", &self.len())
            .field("max_sessions", &self.max_sessions)
            .finish()
    }
}

impl Default for MemoryStorage {
    fn default() -> Self {
        Self::with_max_sessions(Self::DEFAULT_MAX_SESSIONS)
    }
}

impl MemoryStorage {
    /// The default [`max_sessions`](Self::max_sessions): 100,000.
    pub const DEFAULT_MAX_SESSIONS: usize = 100_000;

    /// An empty store holding at most [`DEFAULT_MAX_SESSIONS`](Self::DEFAULT_MAX_SESSIONS).
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store holding at most `max` sessions (at least one).
    pub fn with_max_sessions(max: usize) -> Self {
        Self {
            entries: Mutex::default(),
            max_sessions: max.max(1),
        }
    }

    /// How many sessions it holds at most.
    pub fn max_sessions(&self) -> usize {
        self.max_sessions
    }

    /// How many sessions it holds now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether it holds no session.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // Each update is one map operation: a poisoned lock is still consistent.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Makes room for one more session: expired ones go, then the one that expires soonest.
    fn make_room(&self, entries: &mut Entries) {
        let now = super::codec::unix_seconds(std::time::SystemTime::now());
        entries.retain(|_, (_, expires)| expires.is_none_or(|e| e > now));
        if entries.len() >= self.max_sessions {
            let soonest = entries
                .iter()
                .min_by_key(|(_, (_, expires))| expires.unwrap_or(u64::MAX))
                .map(|(id, _)| id.clone());
            if let Some(soonest) = soonest {
                entries.remove(&soonest);
            }
        }
    }
}

impl SessionStorage for MemoryStorage {
    fn read<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<String>, Error>> {
        let value = self.lock().get(id).map(|(value, _)| value.clone());
        Box::pin(async move { Ok(value) })
    }

    fn write<'a>(
        &'a self,
        id: &'a str,
        value: String,
        expires: Option<u64>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        let mut entries = self.lock();
        if !entries.contains_key(id) && entries.len() >= self.max_sessions {
            self.make_room(&mut entries);
        }
        entries.insert(id.to_owned(), (value, expires));
        done()
    }

    fn invalidate<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        self.lock().remove(id);
        done()
    }
}

/// One file per session in a directory (Ktor's `directorySessionStorage`), named by the id. Writes
/// go to a temporary file renamed over the old one, so a reader sees the old or the new value,
/// never half of one. File operations run on tokio's blocking pool. Expired files are not swept;
/// they are ignored when read, and removed then.
#[derive(Debug, Clone)]
pub struct DirectoryStorage {
    dir: PathBuf,
}

impl DirectoryStorage {
    /// Sessions in `dir`, created on the first write if missing.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The file of `id`, or a 500 error for an id that is not a valid session id.
    fn path(&self, id: &str) -> Result<PathBuf, Error> {
        if !is_valid_session_id(id) {
            return Err(Error::status(
                StatusCode::INTERNAL_SERVER_ERROR,
                "not a session id: refused as a file name",
            ));
        }
        Ok(self.dir.join(id))
    }
}

/// Runs blocking file work on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::new(StatusCode::INTERNAL_SERVER_ERROR, e))?
        .map_err(|e| Error::new(StatusCode::INTERNAL_SERVER_ERROR, e))
}

impl SessionStorage for DirectoryStorage {
    fn read<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<String>, Error>> {
        Box::pin(async move {
            let path = self.path(id)?;
            blocking(move || match std::fs::read_to_string(path) {
                Ok(value) => Ok(Some(value)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            })
            .await
        })
    }

    fn write<'a>(
        &'a self,
        id: &'a str,
        value: String,
        _expires: Option<u64>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let path = self.path(id)?;
            let dir = self.dir.clone();
            // A fresh random name: two writers of one id never share a temporary file.
            let temp = dir.join(format!(".{}.tmp", generate_session_id()?));
            blocking(move || {
                std::fs::create_dir_all(&dir)?;
                std::fs::write(&temp, value)?;
                std::fs::rename(&temp, &path).inspect_err(|_| {
                    let _ = std::fs::remove_file(&temp);
                })
            })
            .await
        })
    }

    fn invalidate<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let path = self.path(id)?;
            blocking(move || match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            })
            .await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;

    #[test]
    fn ids() {
        let a = generate_session_id().unwrap();
        assert!(is_valid_session_id(&a), "{a}");
        assert_ne!(a, generate_session_id().unwrap());
        let cases = [
            ("0123456789abcdef0123456789abcdef", true),
            ("0123456789abcdef0123456789abcde", false),
            ("0123456789abcdef0123456789abcdef0", false),
            ("0123456789ABCDEF0123456789abcdef", false),
            ("../../../../etc/passwd0123456789", false),
            ("0123456789abcdef/123456789abcdef", false),
            ("", false),
        ];
        for (id, valid) in cases {
            assert_eq!(is_valid_session_id(id), valid, "{id:?}");
        }
    }

    #[test]
    fn memory_storage_is_bounded_and_evicts_the_soonest_to_expire() {
        let store = MemoryStorage::with_max_sessions(2);
        let write = |id: &str, expires| {
            store
                .write(id, id.to_owned(), expires)
                .now_or_never()
                .unwrap()
                .unwrap()
        };
        let read = |id: &str| store.read(id).now_or_never().unwrap().unwrap();
        write("a", Some(u64::MAX - 1));
        write("b", None);
        write("a", Some(u64::MAX - 1));
        assert_eq!(store.len(), 2);
        write("c", Some(u64::MAX));
        assert_eq!(
            (read("a"), read("b").as_deref(), read("c").as_deref()),
            (None, Some("b"), Some("c"))
        );
        // Expired entries go first.
        let _ = store.invalidate("b").now_or_never();
        write("d", Some(1));
        write("e", None);
        assert_eq!(
            (read("c").as_deref(), read("d"), read("e").as_deref()),
            (Some("c"), None, Some("e"))
        );
    }
}
