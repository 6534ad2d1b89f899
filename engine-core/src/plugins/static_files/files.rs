//! Serving from a directory: find the file (on the blocking pool), pick a pre-compressed sibling,
//! set the validators, and send the bytes, read at once or streamed with their length.

use super::resolve::{self, Located};
use super::{Precompressed, StaticFilesConfig, accepted_codings, representation_headers, segments};
use crate::call::{OutgoingContent, ResponseBody};
use crate::{ApplicationCall, Error};
use bytes::{Bytes, BytesMut};
use http::header::LAST_MODIFIED;
use http::{HeaderValue, Method, StatusCode};
use std::fs::Metadata;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;
use tokio::io::{AsyncRead, AsyncReadExt};

/// A served directory.
pub(super) struct Files {
    root: PathBuf,
    config: StaticFilesConfig,
}

impl Files {
    pub(super) fn new(root: PathBuf, config: StaticFilesConfig) -> Self {
        Self { root, config }
    }
}

pub(super) async fn serve(call: ApplicationCall, files: Arc<Files>) -> Result<(), Error> {
    let Some(relative) = segments(&call) else {
        return Ok(());
    };
    let config = &files.config;
    let precompressed = accepted_codings(&call, config);
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
    let content_type = config.content_type_of(&chosen.original);
    let validators = validators(&chosen.served.metadata, coding);
    let (etag, modified) = validators.unzip();
    representation_headers(&call, config, coding, etag);
    if let Some(modified) = modified {
        call.response().set_header(LAST_MODIFIED, modified);
    }
    // The method the client sent: `AutoHeadResponse` makes a HEAD look like a GET.
    let head = call.request().local_method() == Method::HEAD;
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
