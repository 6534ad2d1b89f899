//! `Authentication` (Ktor's plugin of the same name): named providers that turn a request's
//! credentials into a principal, and route scopes that require them.
//!
//! - Providers ([`AuthenticationConfig`]): [`basic`](AuthenticationConfig::basic) (RFC 7617),
//!   [`bearer`](AuthenticationConfig::bearer) (RFC 6750), [`form`](AuthenticationConfig::form)
//!   (a login form), [`session`](AuthenticationConfig::session) (a `Sessions` session), or any
//!   [`AuthenticationProvider`]. Each has a name; routes refer to it.
//! - Scopes ([`AuthenticateExt::authenticate`]): the handlers registered inside run only once the
//!   call is authenticated by the named providers, under an [`AuthenticationStrategy`]. It is a
//!   [`Route::group`] with one interceptor in [`CallPipeline::PLUGINS`].
//! - A refused call gets the challenge of the first provider that refused it: 401 with every
//!   refusing provider's `WWW-Authenticate` (RFC 9110 §11.6.1), or the provider's redirect.
//! - Handlers read the principal with [`PrincipalExt::principal`].
//!
//! `Authorization` parsing and the challenges are pure functions in [`header`].
//!
//! ```
//! use engine_core::plugins::auth::{Authentication, AuthenticateExt, PrincipalExt, UserIdPrincipal};
//! use engine_core::testing::test_application;
//! use engine_core::{Application, ApplicationCall};
//!
//! fn module(app: &mut Application) {
//!     app.install(Authentication, |auth| {
//!         auth.basic("admin", |basic| {
//!             basic.realm = "Admin area".into();
//!             basic.validate(|_call, credential| async move {
//!                 (credential.name == "ann" && credential.password == "secret")
//!                     .then(|| UserIdPrincipal::new(credential.name))
//!             });
//!         });
//!     });
//!     app.routing(|route| {
//!         route.authenticate(["admin"], |admin| {
//!             admin.get("/admin", |call: ApplicationCall| async move {
//!                 let user = call.principal::<UserIdPrincipal>().map(|p| p.name);
//!                 call.respond_text(format!("hello {}", user.unwrap_or_default())).await
//!             });
//!         });
//!     });
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let app = test_application(module);
//! let refused = app.client().get("/admin").await.unwrap();
//! assert_eq!(refused.status, 401);
//! assert_eq!(refused.header("www-authenticate"), Some(r#"Basic realm="Admin area", charset="UTF-8""#));
//! let basic = [("authorization", "Basic YW5uOnNlY3JldA==")]; // ann:secret
//! let client = app.client();
//! let admitted = client.request(http::Method::GET, "/admin", &basic, Default::default()).await;
//! assert_eq!(admitted.unwrap().text(), "hello ann");
//! # });
//! ```

pub mod header;
pub mod providers;

pub use header::UserPasswordCredential;
pub use providers::{
    BasicConfig, BearerConfig, BearerCredential, FORM_PARAMETERS, FormConfig, SessionAuthConfig,
    UserIdPrincipal,
};

use crate::call::AttributeKey;
use crate::pipeline::BoxFuture;
use crate::plugins::sessions::Session;
use crate::routing::Route;
use crate::{Application, ApplicationCall, CallPipeline, Error, Plugin};
use http::{HeaderValue, StatusCode};
use std::any::Any;
use std::fmt;
use std::sync::{Arc, OnceLock};

/// Why a provider did not authenticate a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The request carries no credentials for this provider.
    NoCredentials,
    /// It carries some, malformed or refused.
    InvalidCredentials,
}

/// What a provider made of a call.
pub enum Outcome {
    /// Authenticated: the principal.
    Success(AnyPrincipal),
    /// Not authenticated.
    Failed(Failure),
    /// The provider itself failed (a store, a database): the call fails with this error.
    Error(Error),
}

impl fmt::Debug for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Success(_) => f.write_str("Success(..)"),
            Self::Failed(failure) => f.debug_tuple("Failed").field(failure).finish(),
            Self::Error(error) => f.debug_tuple("Error").field(error).finish(),
        }
    }
}

/// What a refused call is answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// 401, with these `WWW-Authenticate` values (none for schemes outside HTTP authentication).
    Unauthorized(Vec<HeaderValue>),
    /// 302 to a login page.
    Redirect(String),
}

impl Challenge {
    /// 401 with one `WWW-Authenticate` challenge. A challenge HTTP cannot carry (from a realm
    /// with control characters, which `header` drops) cannot happen; it would be left out.
    pub fn www_authenticate(challenge: &str) -> Self {
        Self::Unauthorized(HeaderValue::from_str(challenge).into_iter().collect())
    }
}

/// A way to authenticate a call (Ktor's `AuthenticationProvider`).
pub trait AuthenticationProvider: Send + Sync + 'static {
    /// Looks at the call's credentials.
    fn authenticate<'a>(&'a self, call: &'a ApplicationCall) -> BoxFuture<'a, Outcome>;
    /// The answer to a call this provider refused.
    fn challenge(&self, failure: Failure) -> Challenge;
}

/// How a scope's providers combine (Ktor's `AuthenticationStrategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthenticationStrategy {
    /// The providers are tried in order; the first that authenticates the call admits it.
    #[default]
    FirstSuccessful,
    /// As `FirstSuccessful`, but a call with no credentials at all is admitted without a
    /// principal; credentials that are refused are still refused.
    Optional,
    /// Every provider must authenticate the call; it gets every principal.
    Required,
}

type Providers = Vec<(String, Arc<dyn AuthenticationProvider>)>;

/// The named providers of [`Authentication`].
#[derive(Default)]
pub struct AuthenticationConfig {
    providers: Providers,
}

impl fmt::Debug for AuthenticationConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.providers.iter().map(|(name, _)| name))
            .finish()
    }
}

impl AuthenticationConfig {
    /// Adds `provider` under `name`.
    ///
    /// # Panics
    /// If `name` is taken.
    #[track_caller]
    pub fn provider(&mut self, name: &str, provider: impl AuthenticationProvider) -> &mut Self {
        assert!(
            !self.providers.iter().any(|(n, _)| n == name),
            "Authentication: a provider is named {name:?} already"
        );
        self.providers.push((name.to_owned(), Arc::new(provider)));
        self
    }

    /// HTTP Basic under `name`.
    #[track_caller]
    pub fn basic(&mut self, name: &str, configure: impl FnOnce(&mut BasicConfig)) -> &mut Self {
        self.provider(name, configured(configure))
    }

    /// Bearer tokens under `name`.
    #[track_caller]
    pub fn bearer(&mut self, name: &str, configure: impl FnOnce(&mut BearerConfig)) -> &mut Self {
        self.provider(name, configured(configure))
    }

    /// A login form under `name`.
    #[track_caller]
    pub fn form(&mut self, name: &str, configure: impl FnOnce(&mut FormConfig)) -> &mut Self {
        self.provider(name, configured(configure))
    }

    /// The session of type `T` (registered with the `Sessions` plugin) under `name`.
    #[track_caller]
    pub fn session<T: Session>(
        &mut self,
        name: &str,
        configure: impl FnOnce(&mut SessionAuthConfig<T>),
    ) -> &mut Self {
        self.provider(name, configured(configure))
    }
}

fn configured<C: Default>(configure: impl FnOnce(&mut C)) -> C {
    let mut config = C::default();
    configure(&mut config);
    config
}

/// The `Authentication` plugin.
#[derive(Debug, Clone, Copy, Default)]
pub struct Authentication;

/// The providers, in the application's state, where scopes find them.
struct Registry(Providers);

impl Plugin for Authentication {
    type Config = AuthenticationConfig;
    const NAME: &'static str = "Authentication";

    fn install(self, app: &mut Application, config: AuthenticationConfig) {
        app.state(Registry(config.providers));
    }
}

/// The principals a call was authenticated with, by provider name.
#[derive(Clone, Default)]
struct Principals(Arc<Vec<(Arc<str>, AnyPrincipal)>>);

/// A principal, type-erased.
type AnyPrincipal = Arc<dyn Any + Send + Sync>;

static PRINCIPALS: AttributeKey<Principals> = AttributeKey::new("Principals");

/// `call.principal()`, for [`ApplicationCall`].
pub trait PrincipalExt {
    /// The first principal of type `P` the call was authenticated with.
    fn principal<P: Clone + 'static>(&self) -> Option<P>;
    /// The principal of type `P` that the provider `provider` gave.
    fn principal_of<P: Clone + 'static>(&self, provider: &str) -> Option<P>;
}

impl PrincipalExt for ApplicationCall {
    fn principal<P: Clone + 'static>(&self) -> Option<P> {
        let principals = self.attributes().get(&PRINCIPALS)?;
        principals
            .0
            .iter()
            .find_map(|(_, p)| p.downcast_ref::<P>().cloned())
    }

    fn principal_of<P: Clone + 'static>(&self, provider: &str) -> Option<P> {
        let principals = self.attributes().get(&PRINCIPALS)?;
        principals
            .0
            .iter()
            .find(|(name, _)| &**name == provider)
            .and_then(|(_, p)| p.downcast_ref::<P>().cloned())
    }
}

/// `route.authenticate(...)`, for [`Route`].
pub trait AuthenticateExt {
    /// The routes `build` adds require one of `providers` ([`AuthenticationStrategy::FirstSuccessful`]).
    #[track_caller]
    fn authenticate<'n>(
        &mut self,
        providers: impl IntoIterator<Item = &'n str>,
        build: impl FnOnce(&mut Route),
    ) -> &mut Self;

    /// The routes `build` adds require `providers` under `strategy`.
    ///
    /// # Panics
    /// If `providers` is empty. A name no provider has fails each call with 500, logged.
    #[track_caller]
    fn authenticate_with<'n>(
        &mut self,
        providers: impl IntoIterator<Item = &'n str>,
        strategy: AuthenticationStrategy,
        build: impl FnOnce(&mut Route),
    ) -> &mut Self;
}

impl AuthenticateExt for Route<'_> {
    #[track_caller]
    fn authenticate<'n>(
        &mut self,
        providers: impl IntoIterator<Item = &'n str>,
        build: impl FnOnce(&mut Route),
    ) -> &mut Self {
        self.authenticate_with(providers, AuthenticationStrategy::FirstSuccessful, build)
    }

    #[track_caller]
    fn authenticate_with<'n>(
        &mut self,
        providers: impl IntoIterator<Item = &'n str>,
        strategy: AuthenticationStrategy,
        build: impl FnOnce(&mut Route),
    ) -> &mut Self {
        let names: Vec<String> = providers.into_iter().map(str::to_owned).collect();
        assert!(
            !names.is_empty(),
            "authenticate: name at least one provider"
        );
        let scope = Arc::new(Scope {
            names,
            strategy,
            resolved: OnceLock::new(),
        });
        self.group(
            |pipeline| {
                pipeline.intercept_boxed(CallPipeline::PLUGINS, move |ctx| {
                    let scope = scope.clone();
                    Box::pin(async move {
                        if !scope.admit(&ctx.context).await? {
                            ctx.finish();
                        }
                        Ok(())
                    })
                });
            },
            build,
        )
    }
}

/// One `authenticate` block: its providers, resolved by name on the first call (the application
/// is frozen by then, so the registry is complete).
struct Scope {
    names: Vec<String>,
    strategy: AuthenticationStrategy,
    resolved: OnceLock<Result<Providers, String>>,
}

impl Scope {
    fn providers(&self, call: &ApplicationCall) -> Result<&Providers, Error> {
        let resolved = self.resolved.get_or_init(|| {
            let registry = call
                .state::<Registry>()
                .ok_or("Authentication is not installed")?;
            self.names
                .iter()
                .map(|name| {
                    registry
                        .0
                        .iter()
                        .find(|(n, _)| n == name)
                        .cloned()
                        .ok_or(format!("no authentication provider is named {name:?}"))
                })
                .collect::<Result<Providers, String>>()
        });
        resolved.as_ref().map_err(|e| Error::msg(e.clone()))
    }

    /// Runs the strategy; `false` when the call was refused (and answered).
    async fn admit(&self, call: &ApplicationCall) -> Result<bool, Error> {
        let providers = self.providers(call)?;
        let mut principals = Vec::new();
        let mut refusals = Vec::new();
        for (name, provider) in providers {
            match provider.authenticate(call).await {
                Outcome::Success(principal) => {
                    principals.push((Arc::<str>::from(name.as_str()), principal));
                    if self.strategy != AuthenticationStrategy::Required {
                        break;
                    }
                }
                Outcome::Failed(failure) => {
                    refusals.push((provider, failure));
                    if self.strategy == AuthenticationStrategy::Required {
                        break;
                    }
                }
                Outcome::Error(error) => return Err(error),
            }
        }
        let admitted = match self.strategy {
            AuthenticationStrategy::Required => refusals.is_empty(),
            AuthenticationStrategy::FirstSuccessful => !principals.is_empty(),
            AuthenticationStrategy::Optional => {
                !principals.is_empty() || refusals.iter().all(|(_, f)| *f == Failure::NoCredentials)
            }
        };
        if admitted {
            if !principals.is_empty() {
                call.attributes()
                    .put(&PRINCIPALS, Principals(Arc::new(principals)));
            }
            return Ok(true);
        }
        challenge(call, &refusals).await?;
        Ok(false)
    }
}

/// Answers a refused call: the first refusal's challenge, with the `WWW-Authenticate` values of
/// every refusal when it is a 401.
async fn challenge(
    call: &ApplicationCall,
    refusals: &[(&Arc<dyn AuthenticationProvider>, Failure)],
) -> Result<(), Error> {
    let mut challenges = refusals.iter().map(|(p, f)| p.challenge(*f));
    match challenges.next() {
        Some(Challenge::Redirect(location)) => call.respond_redirect(&location, false).await,
        first => {
            let response = call.response();
            let rest = challenges.filter_map(|c| match c {
                Challenge::Unauthorized(values) => Some(values),
                Challenge::Redirect(_) => None,
            });
            let first = match first {
                Some(Challenge::Unauthorized(values)) => values,
                _ => Vec::new(),
            };
            let mut sent = Vec::new();
            for value in std::iter::once(first).chain(rest).flatten() {
                if !sent.contains(&value) {
                    response.append_header(http::header::WWW_AUTHENTICATE, value.clone());
                    sent.push(value);
                }
            }
            call.respond_status(StatusCode::UNAUTHORIZED).await
        }
    }
}
