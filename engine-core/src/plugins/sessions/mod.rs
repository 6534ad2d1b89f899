//! `Sessions` (Ktor's plugin of the same name): typed data kept across a client's requests.
//!
//! Each session is a `serde` type registered under a name, carried by a cookie (RFC 6265) or a
//! header, and either held by the client (the payload itself travels) or by the server (the client
//! holds an id into a [`SessionStorage`]). What travels can be [signed or encrypted](SessionTransform),
//! with key rotation. The payload embeds its expiry ([`codec`]), so an authentic but expired
//! session is refused here even when the client kept it. A session that is absent, tampered with,
//! truncated, expired, signed with an unknown key or of another shape reads as `None`: it is
//! ignored, never trusted, and never an error of the call.
//!
//! Handlers use [`call.sessions()`](SessionsExt::sessions): `get`, `set`, `clear`. Sessions are
//! read on first use and written to the response by `set` and `clear` at once (see [`call`]), so
//! the plugin installs no interceptor and a call that does not use sessions costs nothing. A
//! session cannot change once the call has responded (the head may already be on the wire).
//! Sessions are written only when set: an unchanged session is not sent again, so `max_age`
//! counts from the last `set`.
//!
//! ```
//! use engine_core::plugins::sessions::{SessionKey, Sessions, SessionsExt};
//! use engine_core::testing::test_application;
//! use engine_core::{Application, ApplicationCall};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Clone, Serialize, Deserialize)]
//! struct Visits { count: u32 }
//!
//! fn module(app: &mut Application) {
//!     let key = SessionKey::from_slice(&[42; 32]).unwrap(); // from your secret store
//!     app.install(Sessions, |sessions| {
//!         sessions.cookie::<Visits>("VISITS", |session| {
//!             session.sign([key]);
//!             session.cookie.secure = false; // plain HTTP in this example
//!         });
//!     });
//!     app.routing(|route| {
//!         route.get("/", |call: ApplicationCall| async move {
//!             let visits = call.sessions().get::<Visits>().await?.map_or(0, |v| v.count) + 1;
//!             call.sessions().set(Visits { count: visits }).await?;
//!             call.respond_text(format!("visit {visits}")).await
//!         });
//!     });
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let app = test_application(module);
//! let first = app.client().get("/").await.unwrap();
//! assert_eq!(first.text(), "visit 1");
//! let cookie = first.header("set-cookie").unwrap().split(';').next().unwrap().to_owned();
//! let client = app.client();
//! let headers = [("cookie", cookie.as_str())];
//! let second = client.request(http::Method::GET, "/", &headers, Default::default()).await;
//! assert_eq!(second.unwrap().text(), "visit 2");
//! # });
//! ```
//!
//! # Layout
//! - [`codec`]: the payload (expiry and JSON, base64url), pure.
//! - [`transform`]: [`SessionTransform`]: plain, signed (HMAC-SHA256), encrypted (AES-256-GCM).
//! - [`storage`]: [`SessionStorage`], [`MemoryStorage`], [`DirectoryStorage`], session ids.
//! - [`call`]: [`SessionsExt`] and [`CallSessions`], the transports.

pub mod call;
pub mod codec;
pub mod storage;
pub mod transform;

pub use call::{CallSessions, SessionsExt};
pub use cookie::SameSite;
pub use storage::{DirectoryStorage, MemoryStorage, SessionStorage};
pub use transform::{SessionKey, SessionTransform};

use crate::{Application, Plugin};
use cookie::Cookie;
use http::HeaderName;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::any::TypeId;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// What a session type is: serializable, and cloned out of the call's cache on each `get`.
pub trait Session: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {}

impl<T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static> Session for T {}

/// The `Sessions` plugin.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sessions;

/// The sessions an application knows, each registered with its type.
#[derive(Debug, Default)]
pub struct SessionsConfig {
    providers: Vec<Provider>,
}

/// The options of one session.
#[derive(Clone)]
pub struct SessionConfig {
    /// How long a session lives after it is set: the cookie's `Max-Age` and `Expires`, and the
    /// expiry inside the payload. `None`: no expiry (a cookie that lasts the browser session, a
    /// payload valid until the keys change). 7 days by default (Ktor's default).
    pub max_age: Option<Duration>,
    /// The cookie's attributes (the cookie transport only).
    pub cookie: CookieOptions,
    /// What protects the value on the wire. [`SessionTransform::Plain`] by default.
    pub transform: SessionTransform,
    /// Where server-side sessions are kept; `None` (the default): the client holds the payload.
    pub storage: Option<Arc<dyn SessionStorage>>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            max_age: Some(Duration::from_secs(7 * 24 * 60 * 60)),
            cookie: CookieOptions::default(),
            transform: SessionTransform::Plain,
            storage: None,
        }
    }
}

impl fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionConfig")
            .field("max_age", &self.max_age)
            .field("cookie", &self.cookie)
            .field("transform", &self.transform)
            .field("server_side", &self.storage.is_some())
            .finish()
    }
}

impl SessionConfig {
    /// Signs the value with the first key (HMAC-SHA256); every key verifies.
    ///
    /// # Panics
    /// If `keys` is empty.
    #[track_caller]
    pub fn sign(&mut self, keys: impl IntoIterator<Item = SessionKey>) -> &mut Self {
        self.transform = SessionTransform::signed(keys);
        self
    }

    /// Encrypts the value with the first key (AES-256-GCM); every key decrypts.
    ///
    /// # Panics
    /// If `keys` is empty.
    #[track_caller]
    pub fn encrypt(&mut self, keys: impl IntoIterator<Item = SessionKey>) -> &mut Self {
        self.transform = SessionTransform::encrypted(keys);
        self
    }

    /// Keeps the sessions in `storage`; the client holds only an id.
    pub fn storage(&mut self, storage: impl SessionStorage) -> &mut Self {
        self.storage = Some(Arc::new(storage));
        self
    }
}

/// A session cookie's attributes (RFC 6265 §4.1.2). Defaults: `Path=/`, `HttpOnly`, `Secure`,
/// `SameSite=Lax`, no `Domain`.
#[derive(Debug, Clone)]
pub struct CookieOptions {
    /// `Path`; `None` leaves it to the browser (the request's directory).
    pub path: Option<String>,
    /// `Domain`; `None`: this host only.
    pub domain: Option<String>,
    /// `Secure`: sent over HTTPS only. Turn off only for plain-HTTP development.
    pub secure: bool,
    /// `HttpOnly`: out of reach of scripts.
    pub http_only: bool,
    /// `SameSite`; `None` leaves it to the browser.
    pub same_site: Option<SameSite>,
}

impl Default for CookieOptions {
    fn default() -> Self {
        Self {
            path: Some("/".to_owned()),
            domain: None,
            secure: true,
            http_only: true,
            same_site: Some(SameSite::Lax),
        }
    }
}

impl CookieOptions {
    /// The cookie carrying `value`, or its removal (empty, `Max-Age=0`, `Expires` a year ago).
    fn build(&self, name: &str, value: Option<&str>, max_age: Option<Duration>) -> Cookie<'static> {
        let mut cookie = Cookie::new(name.to_owned(), value.unwrap_or_default().to_owned());
        if let Some(path) = &self.path {
            cookie.set_path(path.clone());
        }
        if let Some(domain) = &self.domain {
            cookie.set_domain(domain.clone());
        }
        cookie.set_secure(self.secure);
        cookie.set_http_only(self.http_only);
        cookie.set_same_site(self.same_site);
        match (value, max_age) {
            (None, _) => cookie.make_removal(),
            (Some(_), Some(age)) => {
                let seconds = i64::try_from(age.as_secs()).unwrap_or(i64::MAX);
                let age = cookie::time::Duration::seconds(seconds);
                cookie.set_max_age(age);
                if let Some(expires) = cookie::time::OffsetDateTime::now_utc().checked_add(age) {
                    cookie.set_expires(expires);
                }
            }
            (Some(_), None) => {}
        }
        cookie
    }
}

/// How a session travels.
#[derive(Debug, Clone)]
enum Transport {
    /// In the cookie of the session's name.
    Cookie,
    /// In a header field of the session's name, both ways.
    Header(HeaderName),
}

/// One registered session.
#[derive(Debug)]
struct Provider {
    type_id: TypeId,
    type_name: &'static str,
    name: String,
    transport: Transport,
    config: SessionConfig,
}

impl SessionsConfig {
    /// Registers the session type `T`, carried by the cookie `name`.
    ///
    /// # Panics
    /// If `name` is not a cookie name (an RFC 9110 token), or `T` or `name` is registered already.
    #[track_caller]
    pub fn cookie<T: Session>(
        &mut self,
        name: &str,
        configure: impl FnOnce(&mut SessionConfig),
    ) -> &mut Self {
        assert!(
            HeaderName::from_bytes(name.as_bytes()).is_ok(),
            "Sessions: {name:?} is not a valid cookie name"
        );
        self.register::<T>(name, Transport::Cookie, configure)
    }

    /// Registers the session type `T`, carried by the header `name` in requests and responses.
    ///
    /// # Panics
    /// If `name` is not a header name, or `T` or `name` is registered already.
    #[track_caller]
    pub fn header<T: Session>(
        &mut self,
        name: &str,
        configure: impl FnOnce(&mut SessionConfig),
    ) -> &mut Self {
        let header = HeaderName::from_bytes(name.as_bytes())
            .unwrap_or_else(|e| panic!("Sessions: {name:?} is not a valid header name: {e}"));
        self.register::<T>(name, Transport::Header(header), configure)
    }

    #[track_caller]
    fn register<T: Session>(
        &mut self,
        name: &str,
        transport: Transport,
        configure: impl FnOnce(&mut SessionConfig),
    ) -> &mut Self {
        let type_name = std::any::type_name::<T>();
        if let Some(p) = self
            .providers
            .iter()
            .find(|p| p.type_id == TypeId::of::<T>())
        {
            panic!(
                "Sessions: {type_name} is registered already, as {:?}",
                p.name
            );
        }
        if let Some(p) = self
            .providers
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
        {
            panic!(
                "Sessions: {name:?} is registered already, for {}",
                p.type_name
            );
        }
        let mut config = SessionConfig::default();
        configure(&mut config);
        self.providers.push(Provider {
            type_id: TypeId::of::<T>(),
            type_name,
            name: name.to_owned(),
            transport,
            config,
        });
        self
    }
}

/// The registered sessions, in the application's state, where [`call`] finds them.
#[derive(Debug)]
struct Registry {
    providers: Vec<Provider>,
}

impl Plugin for Sessions {
    type Config = SessionsConfig;
    const NAME: &'static str = "Sessions";

    fn install(self, app: &mut Application, config: SessionsConfig) {
        app.state(Registry {
            providers: config.providers,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_attributes() {
        let options = CookieOptions {
            domain: Some("example.org".into()),
            same_site: Some(SameSite::Strict),
            ..CookieOptions::default()
        };
        let set = options.build("S", Some("v"), Some(Duration::from_secs(60)));
        let text = set.to_string();
        for part in [
            "S=v",
            "HttpOnly",
            "SameSite=Strict",
            "Secure",
            "Path=/",
            "Domain=example.org",
            "Max-Age=60",
            "Expires=",
        ] {
            assert!(text.contains(part), "{part} in {text}");
        }
        let removal = CookieOptions::default().build("S", None, Some(Duration::from_secs(60)));
        let text = removal.to_string();
        assert!(
            text.starts_with("S=;") && text.contains("Max-Age=0"),
            "{text}"
        );
        assert!(text.contains("Expires="), "{text}");
        let browser_session = CookieOptions::default()
            .build("S", Some("v"), None)
            .to_string();
        assert!(!browser_session.contains("Max-Age") && !browser_session.contains("Expires"));
    }

    #[test]
    #[should_panic(expected = "registered already")]
    fn one_name_per_session() {
        SessionsConfig::default()
            .cookie::<u32>("S", |_| {})
            .cookie::<String>("s", |_| {});
    }
}
