//! The content plugins through the in-memory engine: ContentNegotiation, Compression,
//! AutoHeadResponse, ConditionalHeaders, PartialContent and CachingHeaders, alone and together.

mod caching;
mod compression;
mod conditional;
mod negotiation;
mod ranges;

use bytes::Bytes;
use engine_core::testing::{TestApplication, TestResponse};
use http::Method;
use std::io::Read;

/// One request with `headers` and `body`.
async fn send(
    app: &TestApplication,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> TestResponse {
    app.client()
        .request(method, path, headers, body.into())
        .await
        .expect("a response")
}

/// `GET path` with `headers`.
async fn get(app: &TestApplication, path: &str, headers: &[(&str, &str)]) -> TestResponse {
    send(app, Method::GET, path, headers, Bytes::new()).await
}

fn gunzip(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .read_to_end(&mut out)
        .expect("gzip");
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut encoder, data).expect("gzip");
    encoder.finish().expect("gzip")
}

/// 2 KiB of text: over Compression's default minimum size.
fn long_text() -> String {
    "All work and no play makes Jack a dull boy.\n".repeat(48)
}
