//! Static files (Ktor's `staticFiles`): `route.static_files("/static", "dir", |c| ...)` serves the
//! files under a directory at a path, for `GET` and `HEAD`.
//!
//! - `GET /static/a/b.css` serves `dir/a/b.css` byte for byte; a directory serves its
//!   [`index`](StaticFilesConfig::index) file (`index.html` by default) or nothing.
//! - Nothing to serve (missing, a directory without index, not a regular file, outside the root)
//!   leaves the call unanswered: the client gets 404, which `StatusPages` can replace.
//! - No request leaves the directory: see `resolve` (`..` and its encodings, `%2F`, NUL, absolute
//!   names, symlinks pointing out).
//! - `Content-Type` from the extension (the `mime_guess` table, `text/*` with `charset=utf-8`,
//!   [`content_type`](StaticFilesConfig::content_type) overrides), `application/octet-stream`
//!   otherwise; `Last-Modified` and a weak `ETag` from size and modification time (RFC 9110 §8.8),
//!   for a conditional-request plugin to answer 304 / 412 from.
//! - Files up to [`chunk_size`](StaticFilesConfig::chunk_size) are read at once; larger ones are
//!   streamed with their `Content-Length`, one chunk in memory at a time. File I/O runs on tokio's
//!   blocking pool (`tokio::fs`), which every engine's runtime has.
//! - [`precompressed`](StaticFilesConfig::precompressed): a `.br` / `.gz` sibling is served with
//!   `Content-Encoding` when the request's `Accept-Encoding` allows it, with `Vary:
//!   Accept-Encoding`.
//!
//! ```
//! use engine_core::Application;
//! use engine_core::plugins::static_files::{Precompressed, StaticFilesRoute};
//!
//! let mut app = Application::new();
//! app.routing(|route| {
//!     route.static_files("/static", "public", |c| {
//!         c.index = Some("index.html".into());
//!         c.precompressed = vec![Precompressed::Brotli, Precompressed::Gzip];
//!         c.content_type("wasm", "application/wasm");
//!     });
//! });
//! ```

mod encoding;
mod resolve;

pub use encoding::accepts_encoding;

use crate::call::{OutgoingContent, ResponseBody};
use crate::routing::Route;
use crate::{ApplicationCall, Error};
use bytes::{Bytes, BytesMut};
use http::header::{CONTENT_ENCODING, ETAG, LAST_MODIFIED, VARY};
use http::{HeaderValue, Method, StatusCode};
use resolve::Located;
use std::fs::Metadata;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;
use tokio::io::{AsyncRead, AsyncReadExt};

/// The route parameter the tailcard captures the file's segments in; unlikely to meet a parent
/// route's own parameter.
const SEGMENTS: &str = "static-files.path";

/// A pre-compressed sibling a request may get instead of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precompressed {
    /// `name.br`, `Content-Encoding: br` (RFC 7932).
    Brotli,
    /// `name.gz`, `Content-Encoding: gzip` (RFC 9110 §8.4.1.3).
    Gzip,
}

impl Precompressed {
    /// The content coding's name.
    pub fn coding(self) -> &'static str {
        match self {
            Self::Brotli => "br",
            Self::Gzip => "gzip",
        }
    }

    /// The sibling's file-name suffix.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Brotli => "br",
            Self::Gzip => "gz",
        }
    }
}

/// How [`StaticFilesRoute::static_files`] serves.
#[derive(Debug, Clone)]
pub struct StaticFilesConfig {
    /// The file a directory serves. `index.html` by default; `None` serves nothing for directories.
    pub index: Option<String>,
    /// Pre-compressed siblings to look for, in order of preference. None by default.
    pub precompressed: Vec<Precompressed>,
    /// Files up to this size are read into memory at once; larger ones are streamed in chunks of
    /// this size. 64 KiB by default: a few reads for most assets, bounded memory for large ones.
    pub chunk_size: usize,
    content_types: Vec<(String, HeaderValue)>,
}

impl Default for StaticFilesConfig {
    fn default() -> Self {
        Self {
            index: Some("index.html".to_owned()),
            precompressed: Vec::new(),
            chunk_size: 64 * 1024,
            content_types: Vec::new(),
        }
    }
}

impl StaticFilesConfig {
    /// Serves files with `extension` (without the dot, compared case-insensitively) as
    /// `content_type`.
    ///
    /// # Panics
    /// If `content_type` cannot be a header value.
    #[track_caller]
    pub fn content_type(&mut self, extension: &str, content_type: &str) -> &mut Self {
        let value = HeaderValue::from_str(content_type)
            .unwrap_or_else(|e| panic!("static files: invalid content type {content_type:?}: {e}"));
        self.content_types
            .push((extension.to_ascii_lowercase(), value));
        self
    }

    /// The content type of `path`: an override, the extension's type, or octet-stream.
    fn content_type_of(&self, path: &Path) -> HeaderValue {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        if let Some((_, value)) = self.content_types.iter().find(|(e, _)| *e == extension) {
            return value.clone();
        }
        let Some(mime) = mime_guess::from_ext(&extension).first() else {
            return HeaderValue::from_static("application/octet-stream");
        };
        let text = if mime.type_() == mime_guess::mime::TEXT {
            format!("{mime}; charset=utf-8")
        } else {
            mime.to_string()
        };
        HeaderValue::from_str(&text)
            .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
    }
}

/// Static files on routing's [`Route`].
pub trait StaticFilesRoute {
    /// Serves the files under `dir` at `path` (and the paths below it) for `GET` and `HEAD`.
    ///
    /// # Panics
    /// If `configure` sets a `chunk_size` of 0.
    fn static_files(
        &mut self,
        path: &str,
        dir: impl Into<PathBuf>,
        configure: impl FnOnce(&mut StaticFilesConfig),
    ) -> &mut Self;
}

struct Files {
    root: PathBuf,
    config: StaticFilesConfig,
}

impl StaticFilesRoute for Route<'_> {
    #[track_caller]
    fn static_files(
        &mut self,
        path: &str,
        dir: impl Into<PathBuf>,
        configure: impl FnOnce(&mut StaticFilesConfig),
    ) -> &mut Self {
        let mut config = StaticFilesConfig::default();
        configure(&mut config);
        assert!(
            config.chunk_size > 0,
            "static files: chunk_size must be at least 1"
        );
        let files = Arc::new(Files {
            root: dir.into(),
            config,
        });
        let template = format!("{{{SEGMENTS}...}}");
        self.route(path, |route| {
            for method in [Method::GET, Method::HEAD] {
                let files = files.clone();
                route.method(method, &template, move |call: ApplicationCall| {
                    let files = files.clone();
                    async move { serve(call, files).await }
                });
            }
        })
    }
}

async fn serve(call: ApplicationCall, files: Arc<Files>) -> Result<(), Error> {
    let Some(relative) = resolve::relative_path(call.parameters().get_all(SEGMENTS)) else {
        return Ok(());
    };
    let accept = call.request().headers().joined("accept-encoding");
    let config = &files.config;
    let precompressed: Vec<Precompressed> = config
        .precompressed
        .iter()
        .copied()
        .filter(|p| {
            accept
                .as_deref()
                .is_some_and(|a| accepts_encoding(a, p.coding()))
        })
        .collect();
    let (root, index) = (files.root.clone(), config.index.clone());
    let found = tokio::task::spawn_blocking(move || {
        let found = resolve::locate(&root, &relative, index.as_deref())?;
        found
            .map(|file| with_precompressed(&root, file, &precompressed))
            .transpose()
    })
    .await
    .map_err(|e| Error::new(StatusCode::INTERNAL_SERVER_ERROR, e))??;
    let Some((chosen, coding)) = found else {
        return Ok(());
    };
    let response = call.response();
    if !config.precompressed.is_empty() {
        response.append_header(VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    let content_type = config.content_type_of(&chosen.original);
    if let Some(coding) = coding {
        response.set_header(CONTENT_ENCODING, HeaderValue::from_static(coding.coding()));
    }
    if let Some((etag, modified)) = validators(&chosen.served.metadata, coding) {
        response.set_header(ETAG, etag);
        response.set_header(LAST_MODIFIED, modified);
    }
    let head = call.request().method() == Method::HEAD;
    let body = body(chosen.served, config.chunk_size, head).await?;
    call.respond(OutgoingContent {
        status: None,
        content_type: Some(content_type),
        body,
    })
    .await
}

/// The file to serve: the original's path (its type), and the file sent, maybe a sibling.
struct Chosen {
    original: PathBuf,
    served: Located,
}

/// Swaps `file` for its first acceptable pre-compressed sibling inside the root, if any.
fn with_precompressed(
    root: &Path,
    file: Located,
    precompressed: &[Precompressed],
) -> std::io::Result<(Chosen, Option<Precompressed>)> {
    let unchanged = |file: Located| Chosen {
        original: file.path.clone(),
        served: file,
    };
    if precompressed.is_empty() {
        return Ok((unchanged(file), None));
    }
    let root = root.canonicalize()?;
    for &choice in precompressed {
        let mut name = file.path.clone().into_os_string();
        name.push(".");
        name.push(choice.extension());
        let sibling = match resolve::inside(&root, Path::new(&name))? {
            Some((path, metadata)) if metadata.is_file() => resolve::open(path)?,
            _ => None,
        };
        if let Some(sibling) = sibling {
            let chosen = Chosen {
                original: file.path,
                served: sibling,
            };
            return Ok((chosen, Some(choice)));
        }
    }
    Ok((unchanged(file), None))
}

/// A weak `ETag` from size and modification time, and `Last-Modified`; none when the file system
/// has no modification time.
fn validators(
    metadata: &Metadata,
    coding: Option<Precompressed>,
) -> Option<(HeaderValue, HeaderValue)> {
    let modified = metadata.modified().ok()?;
    let since_epoch = modified.duration_since(UNIX_EPOCH).ok()?;
    let suffix = coding.map_or("", Precompressed::coding);
    let etag = format!(
        "W/\"{:x}-{:x}{}{suffix}\"",
        metadata.len(),
        since_epoch.as_nanos(),
        if suffix.is_empty() { "" } else { "-" },
    );
    let last_modified = httpdate::fmt_http_date(modified);
    Some((
        HeaderValue::from_str(&etag).ok()?,
        HeaderValue::from_str(&last_modified).ok()?,
    ))
}

/// The response body: small files read at once, larger ones (and HEAD, which sends no body)
/// as a stream of known length.
async fn body(located: Located, chunk_size: usize, head: bool) -> Result<ResponseBody, Error> {
    let length = located.metadata.len();
    let file = tokio::fs::File::from_std(located.file);
    let small = usize::try_from(length).is_ok_and(|n| n <= chunk_size);
    if small && !head {
        let mut data = Vec::with_capacity(usize::try_from(length).unwrap_or(0));
        file.take(length).read_to_end(&mut data).await?;
        if data.len() as u64 != length {
            return Err(Error::msg("a static file shrank while it was read"));
        }
        return Ok(ResponseBody::Bytes(data.into()));
    }
    Ok(ResponseBody::Stream {
        stream: Box::pin(chunks(file.take(length), chunk_size)),
        length: Some(length),
    })
}

/// The bytes of `reader` in chunks of up to `chunk_size`. A file that shrinks meanwhile ends the
/// stream short of its length, which makes the driver abort the connection rather than send a
/// body that looks complete.
fn chunks(
    reader: impl AsyncRead + Send + Unpin + 'static,
    chunk_size: usize,
) -> impl futures_core::Stream<Item = Result<Bytes, Error>> + Send + 'static {
    futures_util::stream::unfold(Some(reader), move |reader| async move {
        let mut reader = reader?;
        let mut chunk = BytesMut::with_capacity(chunk_size);
        while chunk.len() < chunk_size {
            match reader.read_buf(&mut chunk).await {
                Ok(0) => break,
                Ok(_) => {}
                Err(error) => return Some((Err(Error::from(error)), None)),
            }
        }
        (!chunk.is_empty()).then(|| (Ok(chunk.freeze()), Some(reader)))
    })
}
