//! `Compression` (Ktor's `Compression` and `RequestDecompression` in one): responses encoded with
//! gzip, deflate or br as `Accept-Encoding` asks, and request bodies decoded as `Content-Encoding`
//! says (RFC 9110 §8.4, §12.5.3).
//!
//! Responses, in [`SendPipeline::CONTENT_ENCODING`] (after `PartialContent`, see
//! [`content_phases`](super::content_phases)):
//! - the coding is the one `Accept-Encoding` weighs highest ([`accept_encoding`]), among equals the
//!   encoder with the highest [`EncoderConfig::priority`]; none acceptable: sent unencoded;
//! - bytes are encoded at once (their `Content-Length` is the encoded length); a stream is encoded
//!   as it flows, never collected, and goes out chunked (its length is no longer known);
//! - left alone: a response with a `Content-Encoding` already, a `206` (or any `Content-Range`),
//!   `text/event-stream` (always), 1xx / 204 / 304, bodies below
//!   [`CompressionConfig::minimum_size`], and content types
//!   [`CompressionConfig::compressible`] rejects (images, video, archives... by default);
//! - a response that could be encoded carries `Vary: Accept-Encoding`, encoded or not, and so does
//!   a 304 (RFC 9110 §15.4.5: the fields a 200 would have); a strong `ETag` becomes weak once the
//!   body is encoded (RFC 9110 §8.8.3: a strong tag names one exact byte sequence).
//!
//! Request bodies, in [`ReceivePipeline::BEFORE`] so every later transformation reads plain bytes:
//! the codings of [`CompressionConfig::request_codings`] are removed as the body is read, and
//! `Content-Encoding` and `Content-Length` are dropped from the request's headers. A coding not in
//! that list is 415 with `Accept-Encoding` naming the ones that are (RFC 9110 §15.5.16); more than
//! [`CompressionConfig::max_request_codings`] stacked codings, 415; output past
//! [`CompressionConfig::max_decompressed_size`], 413; data its coding does not describe, 400.
//!
//! ```
//! use engine_core::plugins::Compression;
//! use engine_core::testing::test_application;
//! use engine_core::{Application, ApplicationCall};
//! use http::Method;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let app = test_application(|app: &mut Application| {
//!     app.install(Compression, |c| c.minimum_size = 16);
//!     app.routing(|route| {
//!         route.get("/", |call: ApplicationCall| async move { call.respond_text("hello ".repeat(100)).await });
//!     });
//! });
//! let headers = [("accept-encoding", "gzip")];
//! let response = app.client().request(Method::GET, "/", &headers, Default::default()).await.unwrap();
//! assert_eq!(response.header("content-encoding"), Some("gzip"));
//! assert_eq!(response.header("vary"), Some("accept-encoding"));
//! let mut text = String::new();
//! std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&response.body[..]), &mut text).unwrap();
//! assert_eq!(text, "hello ".repeat(100));
//! # });
//! ```

pub mod accept_encoding;
mod codec;

pub use accept_encoding::Coding;

use super::content_phases::{add_vary, effective_status, media_type};
use super::field_values::split_list;
use crate::call::{IncomingBody, OutgoingContent, ResponseBody};
use crate::pipeline::finished;
use crate::{Application, ApplicationCall, Error, Plugin, ReceivePipeline, SendPipeline};
use bytes::Bytes;
use http::header::{CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE, ETAG};
use http::{HeaderValue, StatusCode};
use std::fmt;
use std::sync::Arc;

/// The `Compression` plugin.
#[derive(Debug, Clone, Copy, Default)]
pub struct Compression;

/// One coding the plugin may apply to responses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EncoderConfig {
    /// The coding.
    pub coding: Coding,
    /// Among codings `Accept-Encoding` weighs equally, the highest priority wins.
    pub priority: f32,
    /// The compression level: 0-9 for gzip and deflate, 0-11 for br; higher is smaller and slower.
    pub level: u32,
}

/// What a content type must satisfy to be compressed: the media type, lowercase, no parameters.
pub type Compressible = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// The configuration of [`Compression`].
#[derive(Clone)]
pub struct CompressionConfig {
    /// The codings for responses. By default br (priority 1.0, level 4: about gzip 6's speed and
    /// smaller), gzip (0.9, level 6) and deflate (0.8, level 6). Empty: responses are never encoded.
    pub encoders: Vec<EncoderConfig>,
    /// Bodies of known length below this many bytes go out unencoded: the coding's framing and the
    /// CPU cost more than they save. 1024 by default; streams of unknown length are always encoded.
    pub minimum_size: u64,
    /// Whether a media type is worth compressing. By default [`default_compressible`]: everything
    /// but images (except SVG), audio, video, fonts, multipart and already-compressed archives.
    /// `text/event-stream` is never compressed, whatever this says.
    pub compressible: Compressible,
    /// The codings removed from request bodies: gzip and deflate by default. `Coding::Br` may be
    /// added; note that a brotli stream may make its decoder hold a window of up to 16 MiB per
    /// request (gzip's and deflate's is 32 KiB), whatever `max_decompressed_size` says.
    pub request_codings: Vec<Coding>,
    /// The most bytes a request body may decode to; past it the read fails with 413. 16 MiB by
    /// default, `ConnConfig::max_body_size`'s default for bodies sent uncompressed: without this
    /// limit a body of a few kilobytes could inflate to gigabytes.
    pub max_decompressed_size: u64,
    /// The most codings a request's `Content-Encoding` may stack (`gzip, br` is two); past it, 415.
    /// 2 by default: each layer holds a decoder's state, and clients apply one.
    pub max_request_codings: usize,
}

impl Default for CompressionConfig {
    fn default() -> Self {
        let encoder = |coding, priority, level| EncoderConfig {
            coding,
            priority,
            level,
        };
        Self {
            encoders: vec![
                encoder(Coding::Br, 1.0, 4),
                encoder(Coding::Gzip, 0.9, 6),
                encoder(Coding::Deflate, 0.8, 6),
            ],
            minimum_size: 1024,
            compressible: Arc::new(default_compressible),
            request_codings: vec![Coding::Gzip, Coding::Deflate],
            max_decompressed_size: 16 * 1024 * 1024,
            max_request_codings: 2,
        }
    }
}

impl fmt::Debug for CompressionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompressionConfig")
            .field("encoders", &self.encoders)
            .field("minimum_size", &self.minimum_size)
            .field("request_codings", &self.request_codings)
            .field("max_decompressed_size", &self.max_decompressed_size)
            .field("max_request_codings", &self.max_request_codings)
            .finish_non_exhaustive()
    }
}

/// The default [`CompressionConfig::compressible`]: `false` for media types that are compressed
/// already or stream in real time (images but SVG, audio, video, fonts, multipart, archives,
/// `text/event-stream`), `true` for everything else.
pub fn default_compressible(media_type: &str) -> bool {
    const COMPRESSED: [&str; 12] = [
        "application/zip",
        "application/gzip",
        "application/x-gzip",
        "application/x-brotli",
        "application/zstd",
        "application/x-xz",
        "application/x-bzip2",
        "application/x-7z-compressed",
        "application/x-rar-compressed",
        "application/vnd.rar",
        "application/wasm-gzip",
        "text/event-stream",
    ];
    let kind = media_type.split('/').next().unwrap_or("");
    match kind {
        "image" => media_type == "image/svg+xml",
        "audio" | "video" | "font" | "multipart" => false,
        _ => !COMPRESSED.contains(&media_type),
    }
}

/// The configuration as the interceptors use it: encoders sorted by priority.
struct Settings {
    config: CompressionConfig,
    codings: Vec<Coding>,
}

impl Plugin for Compression {
    type Config = CompressionConfig;
    const NAME: &'static str = "Compression";

    fn install(self, app: &mut Application, mut config: CompressionConfig) {
        // Stable: encoders of equal priority keep the order they were configured in.
        config
            .encoders
            .sort_by(|a, b| b.priority.total_cmp(&a.priority));
        let codings = config.encoders.iter().map(|e| e.coding).collect();
        let settings = Arc::new(Settings { config, codings });
        let send = settings.clone();
        app.send_pipeline()
            .intercept_boxed(SendPipeline::CONTENT_ENCODING, move |ctx| {
                let result = encode_response(&send, &ctx.context, &mut ctx.subject);
                finished(result)
            });
        app.receive_pipeline()
            .intercept_boxed(ReceivePipeline::BEFORE, move |ctx| {
                let result = decode_request(&settings, &ctx.context, &mut ctx.subject);
                finished(result)
            });
    }
}

/// What to do with one response.
enum Decision {
    /// Not a candidate: no `Vary` either.
    Skip,
    /// A candidate this request gets unencoded: only `Vary`.
    VaryOnly,
    /// Encode with this encoder.
    Encode(EncoderConfig),
}

fn encode_response(
    settings: &Settings,
    call: &ApplicationCall,
    content: &mut OutgoingContent,
) -> Result<(), Error> {
    let encoder = match decide(settings, call, content) {
        Decision::Skip => return Ok(()),
        Decision::VaryOnly => {
            add_vary(call, "accept-encoding");
            return Ok(());
        }
        Decision::Encode(encoder) => encoder,
    };
    let (coding, level) = (encoder.coding, encoder.level);
    let body = std::mem::replace(&mut content.body, ResponseBody::Empty);
    content.body = match body {
        ResponseBody::Bytes(data) => ResponseBody::Bytes(codec::encode_all(coding, level, &data)?),
        ResponseBody::Stream { stream, .. } => ResponseBody::Stream {
            stream: Box::pin(codec::EncodeStream::new(stream, coding, level)),
            length: None,
        },
        other => other,
    };
    add_vary(call, "accept-encoding");
    call.response().with_headers(|headers| {
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static(coding.name()));
        if let Some(weak) = headers.get(ETAG).and_then(weaken) {
            headers.insert(ETAG, weak);
        }
    });
    Ok(())
}

fn decide(settings: &Settings, call: &ApplicationCall, content: &OutgoingContent) -> Decision {
    if settings.codings.is_empty() {
        return Decision::Skip;
    }
    let status = effective_status(call, content);
    if status == StatusCode::NOT_MODIFIED {
        return Decision::VaryOnly;
    }
    let length = match &content.body {
        ResponseBody::Bytes(data) => Some(data.len() as u64),
        ResponseBody::Stream { length, .. } => *length,
        ResponseBody::Empty | ResponseBody::Upgrade(_) | ResponseBody::Value(_) => {
            return Decision::Skip;
        }
    };
    let encoded_already = call.response().with_headers(|h| {
        h.get(CONTENT_ENCODING)
            .is_some_and(|v| !v.as_bytes().eq_ignore_ascii_case(b"identity"))
            || h.contains_key(CONTENT_RANGE)
    });
    if status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::PARTIAL_CONTENT
        || encoded_already
        || length.is_some_and(|n| n < settings.config.minimum_size)
    {
        return Decision::Skip;
    }
    if let Some(media_type) = media_type(call, content)
        && (media_type == "text/event-stream" || !(settings.config.compressible)(&media_type))
    {
        return Decision::Skip;
    }
    let accept = call.request().headers().joined("accept-encoding");
    match accept.and_then(|a| accept_encoding::choose(&a, &settings.codings)) {
        Some(i) => Decision::Encode(settings.config.encoders[i]),
        None => Decision::VaryOnly,
    }
}

/// `W/"tag"` for a strong `"tag"`; `None` for a weak or malformed one.
fn weaken(etag: &HeaderValue) -> Option<HeaderValue> {
    let bytes = etag.as_bytes();
    if !bytes.starts_with(b"\"") {
        return None;
    }
    let mut weak = b"W/".to_vec();
    weak.extend_from_slice(bytes);
    HeaderValue::from_bytes(&weak).ok()
}

fn decode_request(
    settings: &Settings,
    call: &ApplicationCall,
    body: &mut IncomingBody,
) -> Result<(), Error> {
    let Some(field) = call.request().headers().joined("content-encoding") else {
        return Ok(());
    };
    let config = &settings.config;
    let mut codings = Vec::new();
    for name in split_list(&field).filter(|n| !n.eq_ignore_ascii_case("identity")) {
        match Coding::from_name(name).filter(|c| config.request_codings.contains(c)) {
            Some(coding) if codings.len() < config.max_request_codings => codings.push(coding),
            Some(_) => {
                return Err(unsupported(
                    call,
                    config,
                    "too many stacked content codings",
                ));
            }
            None => return Err(unsupported(call, config, "unsupported content coding")),
        }
    }
    if codings.is_empty() {
        return Ok(());
    }
    let mut stream = std::mem::replace(body, IncomingBody::Bytes(Bytes::new())).into_stream();
    // Codings are listed in the order they were applied (RFC 9110 §8.4): removed last first.
    for &coding in codings.iter().rev() {
        stream = Box::pin(codec::DecodeStream::new(
            stream,
            coding,
            config.max_decompressed_size,
        ));
    }
    *body = IncomingBody::Transformed(stream);
    call.request().rewrite_headers(|headers| {
        headers.remove(CONTENT_ENCODING);
        headers.remove(CONTENT_LENGTH);
    });
    Ok(())
}

/// 415, with `Accept-Encoding` naming the codings request bodies may use.
fn unsupported(call: &ApplicationCall, config: &CompressionConfig, message: &'static str) -> Error {
    let names: Vec<&str> = config.request_codings.iter().map(|c| c.name()).collect();
    let accepted = if names.is_empty() {
        "identity".to_owned()
    } else {
        names.join(", ")
    };
    if let Ok(value) = HeaderValue::from_str(&accepted) {
        call.response()
            .set_header(http::header::ACCEPT_ENCODING, value);
    }
    Error::status(StatusCode::UNSUPPORTED_MEDIA_TYPE, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressible_by_default() {
        for (media_type, expected) in [
            ("text/html", true),
            ("application/json", true),
            ("application/octet-stream", true),
            ("image/svg+xml", true),
            ("image/png", false),
            ("video/mp4", false),
            ("font/woff2", false),
            ("multipart/byteranges", false),
            ("application/zip", false),
            ("text/event-stream", false),
        ] {
            assert_eq!(default_compressible(media_type), expected, "{media_type}");
        }
    }

    #[test]
    fn strong_tags_become_weak() {
        let weak = |v: &'static str| weaken(&HeaderValue::from_static(v));
        assert_eq!(weak("\"abc\""), Some(HeaderValue::from_static("W/\"abc\"")));
        assert_eq!(weak("W/\"abc\""), None);
    }
}
