//! `call.sessions()`: reading, setting and clearing a call's sessions, and the two transports.
//!
//! A session is read when the handler first asks for it (never for a call that does not), then
//! kept in the call's attributes; `set` and `clear` write the response's `Set-Cookie` (RFC 6265
//! §4.1) or header at once, replacing what an earlier `set` of the same session wrote, so nothing
//! is left to do after the handler and a call that never touches sessions costs nothing.

use super::codec::{self, PayloadError};
use super::storage::{generate_session_id, is_valid_session_id};
use super::{Provider, Registry, Session, Transport};
use crate::call::AttributeKey;
use crate::{ApplicationCall, Error};
use cookie::Cookie;
use http::StatusCode;
use http::header::{Entry, HeaderValue, SET_COOKIE};
use std::any::{Any, TypeId};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// One session of a call once it was read or written.
struct Cached {
    type_id: TypeId,
    value: Option<Arc<dyn Any + Send + Sync>>,
    /// The server-side id the client holds now (sent with the request, or set by this call).
    id: Option<String>,
}

type Cache = Arc<Mutex<Vec<Cached>>>;

static CACHE: AttributeKey<Cache> = AttributeKey::new("Sessions");

/// `call.sessions()`, for [`ApplicationCall`].
pub trait SessionsExt {
    /// The call's sessions.
    fn sessions(&self) -> CallSessions<'_>;
}

impl SessionsExt for ApplicationCall {
    fn sessions(&self) -> CallSessions<'_> {
        CallSessions { call: self }
    }
}

/// The sessions of one call (Ktor's `call.sessions`): `get`, `set`, `clear` by type.
#[derive(Debug)]
pub struct CallSessions<'c> {
    call: &'c ApplicationCall,
}

impl CallSessions<'_> {
    /// The session of type `T` the client sent, or the one this call set. `None` when there is
    /// none, or it is tampered with, truncated, expired, signed with an unknown key, or not a `T`.
    ///
    /// # Errors
    /// 500 when `T` is not registered, or a server-side store fails.
    pub async fn get<T: Session>(&self) -> Result<Option<T>, Error> {
        let provider = self.provider::<T>()?;
        let cache = self.cache();
        if let Some(value) = lock(&cache)
            .iter()
            .find(|c| c.type_id == TypeId::of::<T>())
            .map(|c| c.value.clone())
        {
            return Ok(value.and_then(|v| v.downcast_ref::<T>().cloned()));
        }
        let (value, id) = self.load::<T>(provider).await?;
        let stored = value
            .clone()
            .map(|v| Arc::new(v) as Arc<dyn Any + Send + Sync>);
        remember(&cache, TypeId::of::<T>(), stored, id);
        Ok(value)
    }

    /// Sets the session of type `T`: the response carries it. A server-side session gets a new id
    /// (the old one is invalidated), so an id known before a login is worthless after it.
    ///
    /// # Errors
    /// 500 when `T` is not registered, the call has responded already (the head may be on the
    /// wire), `T` does not serialize, or the store fails.
    pub async fn set<T: Session>(&self, value: T) -> Result<(), Error> {
        let provider = self.provider::<T>()?;
        self.check_not_responded()?;
        let expires = codec::expiry(SystemTime::now(), provider.config.max_age);
        let payload = codec::encode(&value, expires)?;
        let (carried, id) = match &provider.config.storage {
            None => (payload, None),
            Some(storage) => {
                let id = generate_session_id()?;
                storage.write(&id, payload, expires).await?;
                if let Some(old) = self.current_id(provider) {
                    storage.invalidate(&old).await?;
                }
                (id.clone(), Some(id))
            }
        };
        let wire = provider.config.transform.encode(&provider.name, &carried)?;
        send(self.call, provider, Some(&wire))?;
        let value: Arc<dyn Any + Send + Sync> = Arc::new(value);
        remember(&self.cache(), TypeId::of::<T>(), Some(value), id);
        Ok(())
    }

    /// Clears the session of type `T`: a cookie is expired on the client, a header is not sent, and
    /// a server-side session is removed from its store.
    ///
    /// # Errors
    /// 500 when `T` is not registered, the call has responded already, or the store fails.
    pub async fn clear<T: Session>(&self) -> Result<(), Error> {
        let provider = self.provider::<T>()?;
        self.check_not_responded()?;
        if let (Some(storage), Some(id)) = (&provider.config.storage, self.current_id(provider)) {
            storage.invalidate(&id).await?;
        }
        send(self.call, provider, None)?;
        remember(&self.cache(), TypeId::of::<T>(), None, None);
        Ok(())
    }

    fn provider<T: Session>(&self) -> Result<&Provider, Error> {
        let registry = self.call.state::<Registry>().ok_or(Error::status(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the Sessions plugin is not installed",
        ))?;
        registry
            .providers
            .iter()
            .find(|p| p.type_id == TypeId::of::<T>())
            .ok_or(Error::status(
                StatusCode::INTERNAL_SERVER_ERROR,
                "no session of this type is registered with the Sessions plugin",
            ))
    }

    fn check_not_responded(&self) -> Result<(), Error> {
        if self.call.response().is_committed() {
            return Err(Error::status(
                StatusCode::INTERNAL_SERVER_ERROR,
                "a session was changed after the call responded",
            ));
        }
        Ok(())
    }

    fn cache(&self) -> Cache {
        let attributes = self.call.attributes();
        attributes.get(&CACHE).unwrap_or_else(|| {
            let cache = Cache::default();
            attributes.put(&CACHE, cache.clone());
            cache
        })
    }

    /// The value the transport carries, once its protection is checked.
    fn incoming(&self, provider: &Provider) -> Option<String> {
        let wire = match &provider.transport {
            Transport::Cookie => self
                .call
                .request()
                .cookies()
                .get(&provider.name)?
                .to_owned(),
            Transport::Header(name) => self.call.request().header(name.as_str())?,
        };
        provider.config.transform.decode(&provider.name, &wire)
    }

    /// The server-side id the client holds now: set by this call, or a valid one it sent.
    fn current_id(&self, provider: &Provider) -> Option<String> {
        let cache = self.cache();
        let cached = lock(&cache)
            .iter()
            .find(|c| c.type_id == provider.type_id)
            .map(|c| c.id.clone());
        cached.unwrap_or_else(|| self.incoming(provider).filter(|id| is_valid_session_id(id)))
    }

    /// Reads the session from the request (and the store): the value, and the server-side id.
    async fn load<T: Session>(
        &self,
        provider: &Provider,
    ) -> Result<(Option<T>, Option<String>), Error> {
        let Some(carried) = self.incoming(provider) else {
            return Ok((None, None));
        };
        let now = SystemTime::now();
        let Some(storage) = &provider.config.storage else {
            return Ok((codec::decode(&carried, now).ok(), None));
        };
        if !is_valid_session_id(&carried) {
            return Ok((None, None));
        }
        let Some(payload) = storage.read(&carried).await? else {
            return Ok((None, None));
        };
        match codec::decode(&payload, now) {
            Ok(value) => Ok((Some(value), Some(carried))),
            Err(PayloadError::Expired) => {
                storage.invalidate(&carried).await?;
                Ok((None, None))
            }
            Err(_) => Ok((None, Some(carried))),
        }
    }
}

fn lock(cache: &Cache) -> std::sync::MutexGuard<'_, Vec<Cached>> {
    // Each update is one push or assignment: a poisoned lock is still consistent.
    cache
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn remember(
    cache: &Cache,
    type_id: TypeId,
    value: Option<Arc<dyn Any + Send + Sync>>,
    id: Option<String>,
) {
    let mut cache = lock(cache);
    match cache.iter_mut().find(|c| c.type_id == type_id) {
        Some(cached) => {
            cached.value = value;
            cached.id = id;
        }
        None => cache.push(Cached { type_id, value, id }),
    }
}

/// Writes the session's value (`None`: its removal) to the response, replacing an earlier one.
fn send(call: &ApplicationCall, provider: &Provider, wire: Option<&str>) -> Result<(), Error> {
    let invalid = |e| Error::new(StatusCode::INTERNAL_SERVER_ERROR, e);
    match &provider.transport {
        Transport::Header(name) => {
            match wire {
                Some(wire) => call
                    .response()
                    .set_header(name.clone(), HeaderValue::from_str(wire).map_err(invalid)?),
                None => call.response().with_headers(|headers| {
                    headers.remove(name);
                }),
            }
            Ok(())
        }
        Transport::Cookie => {
            let cookie =
                provider
                    .config
                    .cookie
                    .build(&provider.name, wire, provider.config.max_age);
            let value = HeaderValue::from_str(&cookie.encoded().to_string()).map_err(invalid)?;
            call.response().with_headers(|headers| {
                remove_set_cookie(headers, &provider.name);
                headers.append(SET_COOKIE, value);
            });
            Ok(())
        }
    }
}

/// Removes the `Set-Cookie` fields for cookie `name`, keeping the others in order.
fn remove_set_cookie(headers: &mut http::HeaderMap, name: &str) {
    let Entry::Occupied(entry) = headers.entry(SET_COOKIE) else {
        return;
    };
    let (_, values) = entry.remove_entry_mult();
    let kept: Vec<HeaderValue> = values
        .filter(|v| {
            Cookie::parse_encoded(v.to_str().unwrap_or_default()).map_or(true, |c| c.name() != name)
        })
        .collect();
    for value in kept {
        headers.append(SET_COOKIE, value);
    }
}
