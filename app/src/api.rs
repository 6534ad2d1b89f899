//! A small JSON API: an in-memory collection of items at `/api/items` (RFC 9110 §9.3 methods,
//! §15 status codes).
//!
//! | request | answer |
//! |---|---|
//! | `GET /api/items` | 200, every item in id order |
//! | `GET /api/items/{id}` | 200 and the item, or 404 |
//! | `POST /api/items` | 201, `Location` and the item with the id the server assigned |
//! | `PUT /api/items/{id}` | 200 and the item replaced, or 404 |
//! | `DELETE /api/items/{id}` | 204, or 404 |
//!
//! An item is `{"id": 1, "name": "apple", "quantity": 3}`; a request body is the same without the
//! id. Every error is a JSON object `{"error": "..."}`: 415 (with `Accept: application/json`) for a
//! body that is not JSON (`application/json` or a `+json` type), 400 for malformed JSON, 413 past
//! [`ApiConfig::max_body_size`], 507 past [`ApiConfig::max_items`], and 422 for a body that does
//! not validate, with `"fields"` naming each field that is wrong and why.
//!
//! JSON goes in through `receive_json` and out through `respond_json` only: the
//! ContentNegotiation plugin's `receive_value` and typed responses, which the module installs.
//! Every response is JSON; a client whose `Accept` excludes `application/json` gets the plugin's
//! 406 instead, which has no JSON body.

use engine_core::call::OutgoingContent;
use engine_core::plugins::content_negotiation::{ContentNegotiation, Serializable, TypedContent};
use engine_core::{Application, ApplicationCall, Error};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

/// The API's limits.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Items the collection holds at most: 10,000 by default, so that clients cannot grow the
    /// server's memory without bound. A create past it is answered 507 Insufficient Storage.
    pub max_items: usize,
    /// The largest request body: 64 KiB by default (an item is a few dozen bytes). Past it, 413.
    pub max_body_size: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            max_items: 10_000,
            max_body_size: 64 << 10,
        }
    }
}

/// The longest `name`, in characters.
pub const MAX_NAME: usize = 100;
/// The largest `quantity`.
pub const MAX_QUANTITY: u64 = 1_000_000;

/// One item of the collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// Assigned by the server at creation, never reused.
    pub id: u64,
    /// 1 to [`MAX_NAME`] characters, not all whitespace.
    pub name: String,
    /// 0 to [`MAX_QUANTITY`].
    pub quantity: u64,
}

/// The API with [`ApiConfig::default`].
pub fn api(app: &mut Application) {
    api_with(ApiConfig::default())(app);
}

/// The API with `config`: a module.
pub fn api_with(config: ApiConfig) -> impl FnOnce(&mut Application) {
    move |app: &mut Application| {
        // The application's modules share one application: the plugin is installed once.
        if !app.is_installed::<ContentNegotiation>() {
            app.install(ContentNegotiation, |_| {});
        }
        app.state(Store {
            config,
            items: Mutex::new(Items::default()),
        });
        app.routing(|route| {
            route.route("/api/items", |items| {
                items.get("", |call: ApplicationCall| async move {
                    answer(&call, list(&call)).await
                });
                items.post("", |call: ApplicationCall| async move {
                    let result = create(&call).await;
                    answer(&call, result).await
                });
                items.get("{id}", |call: ApplicationCall| async move {
                    answer(&call, get(&call)).await
                });
                items.put("{id}", |call: ApplicationCall| async move {
                    let result = update(&call).await;
                    answer(&call, result).await
                });
                items.delete("{id}", |call: ApplicationCall| async move {
                    answer(&call, delete(&call)).await
                });
            });
        });
    }
}

/// The collection, in the application's state.
struct Store {
    config: ApiConfig,
    items: Mutex<Items>,
}

#[derive(Default)]
struct Items {
    by_id: BTreeMap<u64, Item>,
    last_id: u64,
}

/// A successful answer: a status, a JSON body (none for 204), and for a create its `Location`.
struct Reply {
    status: StatusCode,
    body: Option<Value>,
    location: Option<u64>,
}

impl Reply {
    fn ok(body: impl Serialize) -> Result<Self, ApiError> {
        let body = serde_json::to_value(body).map_err(|_| ApiError::Internal)?;
        Ok(Self {
            status: StatusCode::OK,
            body: Some(body),
            location: None,
        })
    }
}

/// Every way a request can fail, each with its status in [`ApiError::status`].
#[derive(Debug)]
enum ApiError {
    NotFound,
    UnsupportedMediaType,
    MalformedJson(String),
    TooLarge,
    Full,
    /// The body is JSON but not a valid item: each wrong field and why.
    Invalid(BTreeMap<String, &'static str>),
    NotAnObject,
    Internal,
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::MalformedJson(_) => StatusCode::BAD_REQUEST,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Full => StatusCode::INSUFFICIENT_STORAGE,
            Self::Invalid(_) | Self::NotAnObject => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn body(&self) -> Value {
        match self {
            Self::NotFound => json!({ "error": "no such item" }),
            Self::UnsupportedMediaType => json!({ "error": "the body must be application/json" }),
            Self::MalformedJson(why) => json!({ "error": format!("malformed JSON: {why}") }),
            Self::TooLarge => json!({ "error": "the body is too large" }),
            Self::Full => json!({ "error": "the collection is full" }),
            Self::Invalid(fields) => json!({ "error": "invalid item", "fields": fields }),
            Self::NotAnObject => json!({ "error": "the body must be a JSON object" }),
            Self::Internal => json!({ "error": "internal error" }),
        }
    }
}

fn store(call: &ApplicationCall) -> Result<&Store, ApiError> {
    call.state::<Store>().ok_or(ApiError::Internal)
}

/// The items, locked. A handler that panicked while holding the lock left no half-made change
/// (every change is one map operation), so a poisoned lock is taken as it is.
fn items(store: &Store) -> MutexGuard<'_, Items> {
    store
        .items
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The `{id}` of the path: one that is not a number names no item.
fn id(call: &ApplicationCall) -> Result<u64, ApiError> {
    call.parameters()
        .get("id")
        .and_then(|id| id.parse().ok())
        .ok_or(ApiError::NotFound)
}

fn list(call: &ApplicationCall) -> Result<Reply, ApiError> {
    let all: Vec<Item> = items(store(call)?).by_id.values().cloned().collect();
    Reply::ok(all)
}

fn get(call: &ApplicationCall) -> Result<Reply, ApiError> {
    let id = id(call)?;
    let item = items(store(call)?).by_id.get(&id).cloned();
    Reply::ok(item.ok_or(ApiError::NotFound)?)
}

async fn create(call: &ApplicationCall) -> Result<Reply, ApiError> {
    let store = store(call)?;
    let (name, quantity) = validate(receive_json(call, store.config.max_body_size).await?)?;
    let mut items = items(store);
    if items.by_id.len() >= store.config.max_items {
        return Err(ApiError::Full);
    }
    items.last_id += 1;
    let item = Item {
        id: items.last_id,
        name,
        quantity,
    };
    items.by_id.insert(item.id, item.clone());
    Ok(Reply {
        status: StatusCode::CREATED,
        location: Some(item.id),
        ..Reply::ok(item)?
    })
}

async fn update(call: &ApplicationCall) -> Result<Reply, ApiError> {
    let id = id(call)?;
    let store = store(call)?;
    // A missing item is 404 whatever the body: checked before reading it, and again after.
    if !items(store).by_id.contains_key(&id) {
        return Err(ApiError::NotFound);
    }
    let (name, quantity) = validate(receive_json(call, store.config.max_body_size).await?)?;
    let mut items = items(store);
    let item = items.by_id.get_mut(&id).ok_or(ApiError::NotFound)?;
    item.name = name;
    item.quantity = quantity;
    Reply::ok(item.clone())
}

fn delete(call: &ApplicationCall) -> Result<Reply, ApiError> {
    let id = id(call)?;
    items(store(call)?)
        .by_id
        .remove(&id)
        .ok_or(ApiError::NotFound)?;
    Ok(Reply {
        status: StatusCode::NO_CONTENT,
        body: None,
        location: None,
    })
}

/// A request body as an item's fields: every field checked, every wrong one named.
fn validate(body: Value) -> Result<(String, u64), ApiError> {
    let Value::Object(mut fields) = body else {
        return Err(ApiError::NotAnObject);
    };
    let mut wrong = BTreeMap::new();
    let name = take_name(&mut fields).map_err(|why| wrong.insert("name".to_owned(), why));
    let quantity =
        take_quantity(&mut fields).map_err(|why| wrong.insert("quantity".to_owned(), why));
    for field in fields.keys() {
        let why = if field == "id" {
            "is assigned by the server"
        } else {
            "is not a field of an item"
        };
        wrong.insert(field.clone(), why);
    }
    match (name, quantity) {
        (Ok(name), Ok(quantity)) if wrong.is_empty() => Ok((name, quantity)),
        _ => Err(ApiError::Invalid(wrong)),
    }
}

fn take_name(fields: &mut Map<String, Value>) -> Result<String, &'static str> {
    match fields.remove("name") {
        None => Err("is required"),
        Some(Value::String(name)) if name.trim().is_empty() => Err("must not be empty"),
        Some(Value::String(name)) if name.chars().count() > MAX_NAME => {
            Err("must be at most 100 characters")
        }
        Some(Value::String(name)) => Ok(name),
        Some(_) => Err("must be a string"),
    }
}

fn take_quantity(fields: &mut Map<String, Value>) -> Result<u64, &'static str> {
    match fields.remove("quantity") {
        None => Err("is required"),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(q) if q <= MAX_QUANTITY => Ok(q),
            Some(_) => Err("must be at most 1000000"),
            None if n.is_i64() => Err("must not be negative"),
            None => Err("must be a whole number"),
        },
        Some(_) => Err("must be a number"),
    }
}

/// The request body as JSON, read by the ContentNegotiation plugin's JSON converter: 415 unless
/// it is `application/json` or a `+json` type (parameters and case aside, RFC 9110 §8.3.1), 413
/// past `limit` bytes, 400 if it does not parse.
///
/// The limit is the call's body limit ([`ApplicationCall::limit_request_body`], what the
/// `RequestBodyLimit` plugin sets too) rather than that plugin on the route: the plugin answers
/// a declared length past its limit with a bare 413 before the handler runs, and this API
/// answers every error with a JSON body.
async fn receive_json(call: &ApplicationCall, limit: usize) -> Result<Value, ApiError> {
    call.limit_request_body(u64::try_from(limit).unwrap_or(u64::MAX));
    call.receive_value::<Value>()
        .await
        .map_err(|error| match error.status_code() {
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType,
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge,
            StatusCode::BAD_REQUEST => ApiError::MalformedJson(error.source().map_or_else(
                || "the body could not be read".to_owned(),
                ToString::to_string,
            )),
            _ => ApiError::Internal,
        })
}

/// Answers with `result`: the reply, or the error's status and JSON body.
async fn answer(call: &ApplicationCall, result: Result<Reply, ApiError>) -> Result<(), Error> {
    match result {
        Ok(Reply {
            status, body: None, ..
        }) => call.respond_status(status).await,
        Ok(Reply {
            status,
            body: Some(body),
            location,
        }) => {
            if let Some(id) = location {
                let location = HeaderValue::try_from(format!("/api/items/{id}"))?;
                call.response().set_header(header::LOCATION, location);
            }
            respond_json(call, status, body).await
        }
        Err(error) => {
            if matches!(error, ApiError::UnsupportedMediaType) {
                let accept = HeaderValue::from_static("application/json");
                call.response().set_header(header::ACCEPT, accept);
            }
            respond_json(call, error.status(), error.body()).await
        }
    }
}

/// `value` as a response with `status`, written by the ContentNegotiation plugin: JSON, its only
/// converter (a client whose `Accept` excludes JSON gets 406).
async fn respond_json(
    call: &ApplicationCall,
    status: StatusCode,
    value: Value,
) -> Result<(), Error> {
    let content = OutgoingContent::from(Serializable::new(value));
    call.respond(content.with_status(status)).await
}
