//! Converters: how a typed value becomes bytes of one media type and back (Ktor's
//! `ContentConverter`). JSON, on serde_json, is built in; others (CBOR, MessagePack, XML, ...) are
//! registered with [`ContentNegotiationConfig::register`](super::ContentNegotiationConfig::register).
//!
//! Values reach a converter type-erased, through `erased-serde`: `&dyn erased_serde::Serialize` to
//! write, `&mut dyn erased_serde::Deserializer` to read. That is what lets converters be a list
//! chosen at request time: any serde format can be one, and the value's type is known only where
//! the handler names it (`respond_value(user)`, `receive_value::<User>()`).

use crate::Error;
use bytes::Bytes;
use http::{HeaderValue, StatusCode};

/// A visitor the plugin hands to [`ContentConverter::deserialize`]: it reads the typed value out of
/// the converter's deserializer.
pub type Visit<'v, 'de> =
    dyn FnMut(&mut dyn erased_serde::Deserializer<'de>) -> Result<(), erased_serde::Error> + 'v;

/// Writes and reads values in one media type.
///
/// ```
/// use bytes::Bytes;
/// use engine_core::Error;
/// use engine_core::plugins::content_negotiation::{ContentConverter, Visit, erased_serde};
/// use http::{HeaderValue, StatusCode};
///
/// /// JSON under a vendor media type.
/// struct VendorJson;
///
/// impl ContentConverter for VendorJson {
///     fn content_type(&self) -> HeaderValue {
///         HeaderValue::from_static("application/vnd.example+json")
///     }
///     fn serialize(&self, value: &dyn erased_serde::Serialize) -> Result<Bytes, Error> {
///         Ok(serde_json::to_vec(value)?.into())
///     }
///     fn deserialize<'de>(&self, body: &'de [u8], visit: &mut Visit<'_, 'de>) -> Result<(), Error> {
///         let mut json = serde_json::Deserializer::from_slice(body);
///         visit(&mut <dyn erased_serde::Deserializer>::erase(&mut json))
///             .map_err(|e| Error::new(StatusCode::BAD_REQUEST, e))?;
///         json.end().map_err(|e| Error::new(StatusCode::BAD_REQUEST, e))
///     }
/// }
/// ```
pub trait ContentConverter: Send + Sync + 'static {
    /// The `Content-Type` this converter writes; its media type is what `Accept` is matched against.
    fn content_type(&self) -> HeaderValue;

    /// Whether this converter reads request bodies of `media_type` (lowercase, no parameters). By
    /// default, the media type of [`content_type`](Self::content_type).
    fn reads(&self, media_type: &str) -> bool {
        self.content_type().to_str().is_ok_and(|own| {
            crate::plugins::field_values::essence(own).eq_ignore_ascii_case(media_type)
        })
    }

    /// Writes `value`. A failure is the application's (a map with non-string keys, say): 500.
    fn serialize(&self, value: &dyn erased_serde::Serialize) -> Result<Bytes, Error>;

    /// Reads `body`: calls `visit` with a deserializer over it, then checks nothing is left over.
    /// A body that does not parse, or does not fit the type, is the client's: 400.
    fn deserialize<'de>(&self, body: &'de [u8], visit: &mut Visit<'_, 'de>) -> Result<(), Error>;
}

/// JSON (RFC 8259) on serde_json, as `application/json`. Reads `application/json` and every
/// `+json` structured syntax suffix (RFC 6839 §3.1: `application/problem+json`, ...). JSON is UTF-8
/// (RFC 8259 §8.1), so no `charset` parameter is written or read.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonConverter;

impl ContentConverter for JsonConverter {
    fn content_type(&self) -> HeaderValue {
        HeaderValue::from_static("application/json")
    }

    fn reads(&self, media_type: &str) -> bool {
        media_type == "application/json"
            || (media_type.starts_with("application/") && media_type.ends_with("+json"))
    }

    fn serialize(&self, value: &dyn erased_serde::Serialize) -> Result<Bytes, Error> {
        serde_json::to_vec(value)
            .map(Bytes::from)
            .map_err(|e| Error::new(StatusCode::INTERNAL_SERVER_ERROR, e))
    }

    fn deserialize<'de>(&self, body: &'de [u8], visit: &mut Visit<'_, 'de>) -> Result<(), Error> {
        // serde_json's recursion limit (128 levels) keeps a deeply nested body off the stack.
        let mut json = serde_json::Deserializer::from_slice(body);
        visit(&mut <dyn erased_serde::Deserializer>::erase(&mut json)).map_err(bad_request)?;
        json.end().map_err(bad_request)
    }
}

fn bad_request(error: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::new(StatusCode::BAD_REQUEST, error)
}
