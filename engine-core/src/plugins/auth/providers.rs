//! The four providers: Basic (RFC 7617), Bearer (RFC 6750 §2.1), a login form
//! (`application/x-www-form-urlencoded` fields), and a session of the `Sessions` plugin.

use super::header::{self, UserPasswordCredential, parse_authorization};
use super::{AuthenticationProvider, Challenge, Failure, Outcome};
use crate::ApplicationCall;
use crate::call::{AttributeKey, Parameters};
use crate::pipeline::BoxFuture;
use crate::plugins::sessions::{Session, SessionsExt};
use std::any::Any;
use std::future::Future;
use std::sync::Arc;

type ValidateFn<C> = dyn Fn(ApplicationCall, C) -> BoxFuture<'static, Option<Arc<dyn Any + Send + Sync>>>
    + Send
    + Sync;

/// A user's `validate` closure, type-erased; `Debug` says only that it is there.
struct Validate<C>(Arc<ValidateFn<C>>);

impl<C> Clone for Validate<C> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<C> std::fmt::Debug for Validate<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Validate(..)")
    }
}

/// Wraps a user's `validate` closure: its principal, type-erased.
fn validator<C, P, F, Fut>(validate: F) -> Validate<C>
where
    C: Send + 'static,
    P: Send + Sync + 'static,
    F: Fn(ApplicationCall, C) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Option<P>> + Send + 'static,
{
    let validate = Arc::new(validate);
    Validate(Arc::new(move |call, credential| {
        let validate = validate.clone();
        Box::pin(async move {
            validate(call, credential)
                .await
                .map(|p| Arc::new(p) as Arc<dyn Any + Send + Sync>)
        })
    }))
}

/// Runs `validate` on a credential, or refuses it when there is no `validate`.
async fn run<C>(validate: Option<Validate<C>>, call: &ApplicationCall, credential: C) -> Outcome {
    let principal = match validate {
        Some(validate) => (validate.0)(call.clone(), credential).await,
        None => None,
    };
    principal.map_or(
        Outcome::Failed(Failure::InvalidCredentials),
        Outcome::Success,
    )
}

/// The `Authorization` field's token68 for `scheme`: `Err` when there is none (no credentials),
/// `Ok(None)` when it is there but malformed.
fn token68(call: &ApplicationCall, scheme: &str) -> Result<Option<String>, Failure> {
    let value = call
        .request()
        .header("authorization")
        .ok_or(Failure::NoCredentials)?;
    let parsed = parse_authorization(&value).ok_or(Failure::InvalidCredentials)?;
    if !parsed.is_scheme(scheme) {
        return Err(Failure::NoCredentials);
    }
    Ok(parsed.token68().map(str::to_owned))
}

/// HTTP Basic (RFC 7617). Without `validate`, every credential is refused.
#[derive(Debug)]
pub struct BasicConfig {
    /// The realm of the challenge. `"engine-core"` by default.
    pub realm: String,
    validate: Option<Validate<UserPasswordCredential>>,
}

impl Default for BasicConfig {
    fn default() -> Self {
        Self {
            realm: "engine-core".to_owned(),
            validate: None,
        }
    }
}

impl BasicConfig {
    /// Checks a user-id and password: the principal, or `None` to refuse them.
    pub fn validate<P, F, Fut>(&mut self, validate: F) -> &mut Self
    where
        P: Send + Sync + 'static,
        F: Fn(ApplicationCall, UserPasswordCredential) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Option<P>> + Send + 'static,
    {
        self.validate = Some(validator(validate));
        self
    }
}

impl AuthenticationProvider for BasicConfig {
    fn authenticate<'a>(&'a self, call: &'a ApplicationCall) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let credential = match token68(call, "Basic") {
                Err(failure) => return Outcome::Failed(failure),
                Ok(token) => token.as_deref().and_then(header::decode_basic),
            };
            match credential {
                Some(credential) => run(self.validate.clone(), call, credential).await,
                None => Outcome::Failed(Failure::InvalidCredentials),
            }
        })
    }

    fn challenge(&self, _failure: Failure) -> Challenge {
        Challenge::www_authenticate(&header::basic_challenge(&self.realm))
    }
}

/// A bearer token (RFC 6750 §2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BearerCredential {
    /// The token as sent.
    pub token: String,
}

/// Bearer tokens (RFC 6750). Without `authenticate`, every token is refused.
#[derive(Debug, Default)]
pub struct BearerConfig {
    /// The realm of the challenge; none by default.
    pub realm: Option<String>,
    authenticate: Option<Validate<BearerCredential>>,
}

impl BearerConfig {
    /// Checks a token: the principal, or `None` to refuse it.
    pub fn authenticate<P, F, Fut>(&mut self, authenticate: F) -> &mut Self
    where
        P: Send + Sync + 'static,
        F: Fn(ApplicationCall, BearerCredential) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Option<P>> + Send + 'static,
    {
        self.authenticate = Some(validator(authenticate));
        self
    }
}

impl AuthenticationProvider for BearerConfig {
    fn authenticate<'a>(&'a self, call: &'a ApplicationCall) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            match token68(call, "Bearer") {
                Err(failure) => Outcome::Failed(failure),
                Ok(None) => Outcome::Failed(Failure::InvalidCredentials),
                Ok(Some(token)) => {
                    run(self.authenticate.clone(), call, BearerCredential { token }).await
                }
            }
        })
    }

    fn challenge(&self, failure: Failure) -> Challenge {
        let invalid = failure == Failure::InvalidCredentials;
        Challenge::www_authenticate(&header::bearer_challenge(self.realm.as_deref(), invalid))
    }
}

/// The fields of a form the form provider read, for the handler (the body can be received once).
pub static FORM_PARAMETERS: AttributeKey<Parameters> = AttributeKey::new("AuthenticationForm");

/// A login form: a `POST` with an `application/x-www-form-urlencoded` body holding a user name and
/// a password. The provider reads the body; the handler finds its fields under
/// [`FORM_PARAMETERS`]. Without `validate`, every credential is refused.
#[derive(Debug)]
pub struct FormConfig {
    /// The field of the user name. `"user"` by default.
    pub user_field: String,
    /// The field of the password. `"password"` by default.
    pub password_field: String,
    /// What a refused call gets: 401 by default (no `WWW-Authenticate`: a form is no HTTP
    /// authentication scheme), or a redirect to the login page.
    pub challenge: Challenge,
    validate: Option<Validate<UserPasswordCredential>>,
}

impl Default for FormConfig {
    fn default() -> Self {
        Self {
            user_field: "user".to_owned(),
            password_field: "password".to_owned(),
            challenge: Challenge::Unauthorized(Vec::new()),
            validate: None,
        }
    }
}

impl FormConfig {
    /// Checks a user name and password: the principal, or `None` to refuse them.
    pub fn validate<P, F, Fut>(&mut self, validate: F) -> &mut Self
    where
        P: Send + Sync + 'static,
        F: Fn(ApplicationCall, UserPasswordCredential) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Option<P>> + Send + 'static,
    {
        self.validate = Some(validator(validate));
        self
    }

    /// The form's credential, or what to make of the call without one. A body that cannot be
    /// read (too large, cut short) fails the call with its own status.
    async fn credential(&self, call: &ApplicationCall) -> Result<UserPasswordCredential, Outcome> {
        let is_form = call
            .request()
            .header("content-type")
            .and_then(|t| t.split(';').next().map(|m| m.trim().to_ascii_lowercase()))
            .is_some_and(|m| m == "application/x-www-form-urlencoded");
        if call.request().method() != http::Method::POST || !is_form {
            return Err(Outcome::Failed(Failure::NoCredentials));
        }
        let form = match call.attributes().get(&FORM_PARAMETERS) {
            Some(form) => form,
            None => {
                let form = call.receive_form().await.map_err(Outcome::Error)?;
                call.attributes().put(&FORM_PARAMETERS, form.clone());
                form
            }
        };
        match (form.get(&self.user_field), form.get(&self.password_field)) {
            (Some(name), Some(password)) => Ok(UserPasswordCredential {
                name: name.to_owned(),
                password: password.to_owned(),
            }),
            _ => Err(Outcome::Failed(Failure::NoCredentials)),
        }
    }
}

impl AuthenticationProvider for FormConfig {
    fn authenticate<'a>(&'a self, call: &'a ApplicationCall) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            match self.credential(call).await {
                Ok(credential) => run(self.validate.clone(), call, credential).await,
                Err(outcome) => outcome,
            }
        })
    }

    fn challenge(&self, _failure: Failure) -> Challenge {
        self.challenge.clone()
    }
}

/// A session of the `Sessions` plugin: a call that carries a valid session of type `T` is
/// authenticated. Without `validate` the session itself is the principal.
#[derive(Debug)]
pub struct SessionAuthConfig<T> {
    /// What a refused call gets: 401 by default, or a redirect to the login page.
    pub challenge: Challenge,
    validate: Option<Validate<T>>,
}

impl<T> Default for SessionAuthConfig<T> {
    fn default() -> Self {
        Self {
            challenge: Challenge::Unauthorized(Vec::new()),
            validate: None,
        }
    }
}

impl<T: Session> SessionAuthConfig<T> {
    /// Checks a session: the principal, or `None` to refuse it.
    pub fn validate<P, F, Fut>(&mut self, validate: F) -> &mut Self
    where
        P: Send + Sync + 'static,
        F: Fn(ApplicationCall, T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Option<P>> + Send + 'static,
    {
        self.validate = Some(validator(validate));
        self
    }
}

impl<T: Session> AuthenticationProvider for SessionAuthConfig<T> {
    fn authenticate<'a>(&'a self, call: &'a ApplicationCall) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let session = match call.sessions().get::<T>().await {
                Ok(Some(session)) => session,
                Ok(None) => return Outcome::Failed(Failure::NoCredentials),
                Err(error) => return Outcome::Error(error),
            };
            match &self.validate {
                Some(_) => run(self.validate.clone(), call, session).await,
                None => Outcome::Success(Arc::new(session)),
            }
        })
    }

    fn challenge(&self, _failure: Failure) -> Challenge {
        self.challenge.clone()
    }
}

/// The principal of the Basic and form providers' usual `validate`: a user name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserIdPrincipal {
    /// The user's name.
    pub name: String,
}

impl UserIdPrincipal {
    /// The principal of `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into() }
    }
}
