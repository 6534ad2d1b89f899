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
//!   `Content-Encoding` when the request's `Accept-Encoding` allows it (weighed as `Compression`
//!   weighs it: [`accept_encoding::quality`]), with `Vary: accept-encoding`. `Compression` leaves
//!   a response that has a `Content-Encoding` alone.
//! - [`static_resources`](StaticFilesRoute::static_resources) serves files held in memory
//!   (`include_bytes!`) the same way, with strong `ETag`s.
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

mod files;
mod memory;
mod resolve;

use super::compression::accept_encoding::{self, Coding};
use super::content_phases::add_vary;
use crate::routing::Route;
use crate::{ApplicationCall, Error};
use http::header::{CONTENT_ENCODING, ETAG};
use http::{HeaderValue, Method};
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
        self.content_coding().name()
    }

    fn content_coding(self) -> Coding {
        match self {
            Self::Brotli => Coding::Br,
            Self::Gzip => Coding::Gzip,
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

    /// Serves files held in memory (`include_bytes!`, say) at `path`, for `GET` and `HEAD`: each
    /// `(name, bytes)` is served at `path/name`, `name` being `/`-separated (`css/app.css`). The
    /// configuration applies as for files, `chunk_size` aside; a `name.gz` or `name.br` entry is
    /// a pre-compressed sibling. The `ETag` is strong, from the bytes; there is no
    /// `Last-Modified`.
    ///
    /// ```
    /// use engine_core::Application;
    /// use engine_core::plugins::static_files::StaticFilesRoute;
    ///
    /// static RESOURCES: &[(&str, &[u8])] = &[
    ///     ("index.html", b"<h1>hello</h1>"),
    ///     ("css/app.css", b"h1 { color: teal }"),
    /// ];
    /// let mut app = Application::new();
    /// app.routing(|route| {
    ///     route.static_resources("/", RESOURCES, |_| {});
    /// });
    /// ```
    ///
    /// # Panics
    /// If a name is empty or has a `.` or `..` segment, a `\` or a NUL: it could never be
    /// requested.
    fn static_resources(
        &mut self,
        path: &str,
        resources: &[(&'static str, &'static [u8])],
        configure: impl FnOnce(&mut StaticFilesConfig),
    ) -> &mut Self;
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
        let files = Arc::new(files::Files::new(dir.into(), config));
        register(self, path, move |call| files::serve(call, files.clone()))
    }

    #[track_caller]
    fn static_resources(
        &mut self,
        path: &str,
        resources: &[(&'static str, &'static [u8])],
        configure: impl FnOnce(&mut StaticFilesConfig),
    ) -> &mut Self {
        let mut config = StaticFilesConfig::default();
        configure(&mut config);
        let resources = Arc::new(memory::Resources::new(resources, config));
        register(self, path, move |call| {
            memory::serve(call, resources.clone())
        })
    }
}

/// `GET` and `HEAD` on `path` and everything below it, the segments captured for [`segments`].
fn register<'r, 'a, F, Fut>(route: &'r mut Route<'a>, path: &str, serve: F) -> &'r mut Route<'a>
where
    F: Fn(ApplicationCall) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), Error>> + Send + 'static,
{
    let serve = Arc::new(serve);
    let template = format!("{{{SEGMENTS}...}}");
    route.route(path, |route| {
        for method in [Method::GET, Method::HEAD] {
            let serve = serve.clone();
            route.method(method, &template, move |call: ApplicationCall| serve(call));
        }
    })
}

/// The path below the served root that the request names, or `None` when it names nothing
/// servable (see `resolve::relative_path`).
fn segments(call: &ApplicationCall) -> Option<PathBuf> {
    resolve::relative_path(call.parameters().get_all(SEGMENTS))
}

/// The configured pre-compressed codings the request accepts: by the request's weights, the
/// configured order among equal ones; none with weight 0.
fn accepted_codings(call: &ApplicationCall, config: &StaticFilesConfig) -> Vec<Precompressed> {
    if config.precompressed.is_empty() {
        return Vec::new();
    }
    let Some(accept) = call.request().headers().joined("accept-encoding") else {
        return Vec::new();
    };
    let mut weighed: Vec<(u16, Precompressed)> = config
        .precompressed
        .iter()
        .map(|&p| (accept_encoding::quality(&accept, p.content_coding()), p))
        .filter(|&(q, _)| q > 0)
        .collect();
    // Stable: equal weights keep the configured order.
    weighed.sort_by_key(|&(q, _)| std::cmp::Reverse(q));
    weighed.into_iter().map(|(_, p)| p).collect()
}

/// The headers every representation gets: `Vary` when there are pre-compressed ones, its
/// `Content-Encoding`, and its `ETag`.
fn representation_headers(
    call: &ApplicationCall,
    config: &StaticFilesConfig,
    coding: Option<Precompressed>,
    etag: Option<HeaderValue>,
) {
    let response = call.response();
    if !config.precompressed.is_empty() {
        add_vary(call, "accept-encoding");
    }
    if let Some(coding) = coding {
        response.set_header(CONTENT_ENCODING, HeaderValue::from_static(coding.coding()));
    }
    if let Some(etag) = etag {
        response.set_header(ETAG, etag);
    }
}
