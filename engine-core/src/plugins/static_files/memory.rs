//! Serving files held in memory (`route.static_resources`, Ktor's `staticResources` for a program
//! that carries its assets): the same paths, index files, content types and pre-compressed
//! siblings as a directory, looked up in a map built at start-up.

use super::{
    Precompressed, StaticFilesConfig, accepted_codings, representation_headers, resolve, segments,
};
use crate::call::{OutgoingContent, ResponseBody};
use crate::{ApplicationCall, Error};
use bytes::Bytes;
use http::HeaderValue;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;
use std::sync::Arc;

/// The resources by `/`-separated name, each with its strong `ETag`.
pub(super) struct Resources {
    files: HashMap<String, (Bytes, HeaderValue)>,
    config: StaticFilesConfig,
}

impl Resources {
    #[track_caller]
    pub(super) fn new(
        resources: &[(&'static str, &'static [u8])],
        config: StaticFilesConfig,
    ) -> Self {
        let files = resources
            .iter()
            .map(|&(name, data)| {
                let name = name.trim_start_matches('/');
                let valid = resolve::relative_path(name.split('/'))
                    .is_some_and(|p| !p.as_os_str().is_empty());
                assert!(valid, "static resources: {name:?} cannot be requested");
                (
                    name.to_owned(),
                    (Bytes::from_static(data), strong_etag(data)),
                )
            })
            .collect();
        Self { files, config }
    }

    /// The resource a request names: itself, or the index of the "directory" it names (a name
    /// that other names continue with `/`).
    fn find(&self, name: &str) -> Option<(&str, &(Bytes, HeaderValue))> {
        if let Some((key, file)) = self.files.get_key_value(name) {
            return Some((key, file));
        }
        let index = self.config.index.as_deref()?;
        let key = if name.is_empty() {
            index.to_owned()
        } else {
            format!("{name}/{index}")
        };
        self.files
            .get_key_value(&key)
            .map(|(key, file)| (key.as_str(), file))
    }
}

/// A strong tag from the bytes: they never change while the program runs. `DefaultHasher` is
/// fixed-keyed SipHash, the same for every run of one build.
fn strong_etag(data: &[u8]) -> HeaderValue {
    let mut hasher = DefaultHasher::new();
    data.hash(&mut hasher);
    let tag = format!("\"{:x}-{:016x}\"", data.len(), hasher.finish());
    HeaderValue::from_str(&tag).expect("hex digits are a valid field value")
}

pub(super) async fn serve(call: ApplicationCall, resources: Arc<Resources>) -> Result<(), Error> {
    let Some(relative) = segments(&call) else {
        return Ok(());
    };
    let name: Vec<&str> = relative.iter().filter_map(|c| c.to_str()).collect();
    let Some((key, original)) = resources.find(&name.join("/")) else {
        return Ok(());
    };
    let config = &resources.config;
    let sibling = accepted_codings(&call, config)
        .into_iter()
        .find_map(|coding| {
            let name = format!("{key}.{}", coding.extension());
            resources.files.get(&name).map(|file| (coding, file))
        });
    let (coding, (data, etag)) = match sibling {
        Some((coding, file)) => (Some(coding), file),
        None => (None::<Precompressed>, original),
    };
    representation_headers(&call, config, coding, Some(etag.clone()));
    call.respond(OutgoingContent {
        status: None,
        content_type: Some(config.content_type_of(Path::new(key))),
        body: ResponseBody::Bytes(data.clone()),
    })
    .await
}
