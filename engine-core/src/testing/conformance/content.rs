//! The content plugins over the wire (CONFORMANCE.md "Application behaviour seen over the wire":
//! range requests with PartialContent, and Compression), so every engine carries a 206, its exact
//! slices, and a gzip body, fixed or streamed, byte for byte.

use super::support::*;
use super::{EngineUnderTest, TestServer};
use crate::pipeline::BoxFuture;
use crate::plugins::{Compression, PartialContent};
use crate::testing::TestResponse;
use crate::{Application, ApplicationCall, Module};
use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use std::io::Read;

/// Chunks of the streamed body: 104 of 64 KiB, 6.5 MiB.
const STREAM_CHUNKS: usize = 104;
const STREAM_CHUNK: usize = 64 * 1024;

/// The fixed body: 4 KiB of text, over Compression's default minimum size.
fn fixed_body() -> String {
    (0..4096u32)
        .map(|i| char::from(b'0' + u8::try_from(i % 10).unwrap_or(0)))
        .collect()
}

/// One chunk of the streamed body: numbered lines, so that a misplaced chunk changes the bytes.
fn stream_chunk(index: usize) -> Bytes {
    let mut chunk = String::with_capacity(STREAM_CHUNK);
    let mut line = 0;
    while chunk.len() < STREAM_CHUNK {
        chunk.push_str(&format!(
            "chunk {index:03} line {line:05} the quick brown fox\n"
        ));
        line += 1;
    }
    chunk.truncate(STREAM_CHUNK);
    chunk.into()
}

fn content_module() -> Box<dyn Module> {
    Box::new(|app: &mut Application| {
        app.install(PartialContent, |_| {});
        app.install(Compression, |_| {});
        app.routing(|route| {
            route.get("/fixed", |call: ApplicationCall| async move {
                call.respond_text(fixed_body()).await
            });
            route.get("/stream", |call: ApplicationCall| async move {
                let chunks = (0..STREAM_CHUNKS).map(|i| Ok(stream_chunk(i)));
                call.respond_stream(
                    futures_util::stream::iter(chunks),
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                )
                .await
            });
        });
    })
}

fn request(path: &str, headers: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n{headers}\r\n")
}

/// `GET path` accepting gzip; the response must be a 200 in gzip.
async fn gzip_exchange(server: &dyn TestServer, path: &str) -> TestResponse {
    let response = exchange(server, &request(path, "Accept-Encoding: gzip\r\n")).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.raw_head);
    assert_eq!(
        response.header_all("content-encoding"),
        ["gzip"],
        "{}",
        response.raw_head
    );
    response
}

fn gunzip(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body)
        .read_to_end(&mut out)
        .expect("the body is gzip");
    out
}

/// `bytes=0-0` and `bytes=1-2` are 206 with `Content-Range` and exactly those bytes.
pub fn range_requests_get_exact_slices(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = engine.start(Default::default(), content_module());
        let body = fixed_body();
        let mut conn = connect(&*server).await;
        for (range, first, last) in [("0-0", 0, 0), ("1-2", 1, 2)] {
            conn.send(request("/fixed", &format!("Range: bytes={range}\r\n")))
                .await
                .unwrap();
            let response = conn.read_response(false).await.unwrap();
            assert_eq!(
                response.status,
                StatusCode::PARTIAL_CONTENT,
                "{}",
                response.raw_head
            );
            assert_eq!(
                response.header_all("content-range"),
                [format!("bytes {first}-{last}/{}", body.len())],
                "{}",
                response.raw_head
            );
            assert_eq!(
                response.header("content-length"),
                Some(&*(last - first + 1).to_string())
            );
            assert_eq!(
                &response.body[..],
                &body.as_bytes()[first..=last],
                "bytes={range}"
            );
        }
        conn.send(request("/fixed", "")).await.unwrap();
        let whole = conn.read_response(false).await.unwrap();
        assert_eq!(whole.status, StatusCode::OK);
        assert_eq!(whole.header_all("accept-ranges"), ["bytes"]);
        assert_eq!(whole.text(), body);
    })
}

/// A range request that also accepts gzip is answered 206, uncompressed: the range is of the
/// identity body, and it is long enough that Compression's minimum size does not explain it.
pub fn range_with_gzip_is_206_uncompressed(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = engine.start(Default::default(), content_module());
        let response = exchange(
            &*server,
            &request("/fixed", "Range: bytes=1-2048\r\nAccept-Encoding: gzip\r\n"),
        )
        .await;
        assert_eq!(
            response.status,
            StatusCode::PARTIAL_CONTENT,
            "{}",
            response.raw_head
        );
        assert_eq!(
            response.header("content-encoding"),
            None,
            "{}",
            response.raw_head
        );
        assert_eq!(response.header("content-range"), Some("bytes 1-2048/4096"));
        assert_eq!(&response.body[..], &fixed_body().as_bytes()[1..=2048]);
    })
}

/// `Accept-Encoding: gzip` gets `Content-Encoding: gzip`, `Vary: Accept-Encoding`, and a body that
/// gunzips to the original.
pub fn gzip_response_gunzips_to_original(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = engine.start(Default::default(), content_module());
        let response = gzip_exchange(&*server, "/fixed").await;
        assert_eq!(response.header_all("vary"), ["accept-encoding"]);
        assert_framing(&response);
        assert!(
            response.body.len() < fixed_body().len() / 4,
            "{} bytes",
            response.body.len()
        );
        assert_eq!(gunzip(&response.body), fixed_body().into_bytes());
        let plain = exchange(&*server, &request("/fixed", "")).await;
        assert_eq!(plain.header("content-encoding"), None);
        assert_eq!(plain.text(), fixed_body());
    })
}

/// A streamed 6.5 MiB body is gzipped as it flows: chunked, no `Content-Length`, and it gunzips to
/// the original.
pub fn gzip_streamed_response_gunzips_to_original(
    engine: &dyn EngineUnderTest,
) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = engine.start(Default::default(), content_module());
        let response = gzip_exchange(&*server, "/stream").await;
        assert!(response.chunked, "{}", response.raw_head);
        assert_eq!(response.header("content-length"), None);
        let expected: Vec<u8> = (0..STREAM_CHUNKS)
            .flat_map(|i| stream_chunk(i).to_vec())
            .collect();
        assert_eq!(expected.len(), STREAM_CHUNKS * STREAM_CHUNK);
        let body = gunzip(&response.body);
        assert!(
            body == expected,
            "the gunzipped body differs from the original ({} bytes, expected {})",
            body.len(),
            expected.len()
        );
    })
}
