//! Compression: which coding, when not, what it does to headers, and request decompression.

use super::{get, gunzip, gzip, long_text, send};
use bytes::Bytes;
use engine_core::call::{OutgoingContent, ResponseBody};
use engine_core::plugins::compression::{Coding, CompressionConfig};
use engine_core::plugins::{AutoHeadResponse, Compression, StatusPages};
use engine_core::testing::{TestApplication, test_application};
use engine_core::{Application, ApplicationCall, Error};
use http::{HeaderValue, Method, StatusCode};
use std::io::Read;

fn routes(app: &mut Application) {
    app.routing(|route| {
        route.get("/text", |call: ApplicationCall| async move {
            call.respond_text(long_text()).await
        });
        route.get("/small", |call: ApplicationCall| async move {
            call.respond_text("tiny").await
        });
        route.get("/png", |call: ApplicationCall| async move {
            call.respond_bytes(long_text(), HeaderValue::from_static("image/png"))
                .await
        });
        route.get("/events", |call: ApplicationCall| async move {
            let events = futures_util::stream::iter([Ok(Bytes::from(long_text()))]);
            call.respond_stream(events, HeaderValue::from_static("text/event-stream"))
                .await
        });
        route.get("/encoded", |call: ApplicationCall| async move {
            call.response()
                .set_header("content-encoding", HeaderValue::from_static("gzip"));
            call.respond_bytes(
                gzip(long_text().as_bytes()),
                HeaderValue::from_static("text/plain"),
            )
            .await
        });
        route.get("/tagged", |call: ApplicationCall| async move {
            call.response()
                .set_header("etag", HeaderValue::from_static("\"v1\""));
            call.respond_text(long_text()).await
        });
        route.get("/sized-stream", |call: ApplicationCall| async move {
            let text = Bytes::from(long_text());
            let length = Some(text.len() as u64);
            let stream = Box::pin(futures_util::stream::iter([Ok(text)]));
            call.respond(OutgoingContent {
                status: None,
                content_type: Some(HeaderValue::from_static("text/plain")),
                body: ResponseBody::Stream { stream, length },
            })
            .await
        });
        route.post("/echo", |call: ApplicationCall| async move {
            let body = call.receive_bytes().await?;
            let length = call.request().header("content-length").unwrap_or_default();
            let encoding = call
                .request()
                .header("content-encoding")
                .unwrap_or_default();
            call.response()
                .header("x-seen", &format!("length={length} encoding={encoding}"))?;
            call.respond_bytes(body, HeaderValue::from_static("application/octet-stream"))
                .await
        });
    });
}

fn app_with(configure: impl FnOnce(&mut CompressionConfig) + Send + 'static) -> TestApplication {
    test_application(move |app: &mut Application| {
        app.install(Compression, configure);
        routes(app);
    })
}

fn decode(coding: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match coding {
        "gzip" => return gunzip(body),
        "deflate" => flate2::read::ZlibDecoder::new(body).read_to_end(&mut out),
        "br" => brotli::Decompressor::new(body, 4096).read_to_end(&mut out),
        other => panic!("unexpected coding {other}"),
    }
    .expect("decodes");
    out
}

#[tokio::test]
async fn the_best_weighted_coding_wins_and_priority_breaks_ties() {
    let app = app_with(|_| {});
    let cases = [
        ("gzip", "gzip"),
        ("deflate", "deflate"),
        ("br", "br"),
        ("gzip, deflate, br", "br"),
        ("gzip, deflate", "gzip"),
        ("br;q=0.5, gzip;q=0.8", "gzip"),
        ("*", "br"),
        ("br;q=0, *", "gzip"),
    ];
    for (accept, coding) in cases {
        let response = get(&app, "/text", &[("accept-encoding", accept)]).await;
        assert_eq!(
            response.header_all("content-encoding"),
            [coding],
            "{accept}"
        );
        assert_eq!(response.header_all("vary"), ["accept-encoding"], "{accept}");
        assert_eq!(
            decode(coding, &response.body),
            long_text().as_bytes(),
            "{accept}"
        );
        assert_eq!(
            response.header("content-length"),
            Some(&*response.body.len().to_string()),
            "bytes keep a Content-Length: the encoded one"
        );
    }
}

#[tokio::test]
async fn configured_priorities_decide() {
    let app = app_with(|c| {
        for encoder in &mut c.encoders {
            if encoder.coding == Coding::Deflate {
                encoder.priority = 2.0;
            }
        }
    });
    let response = get(&app, "/text", &[("accept-encoding", "gzip, deflate, br")]).await;
    assert_eq!(response.header("content-encoding"), Some("deflate"));
}

#[tokio::test]
async fn unacceptable_codings_leave_the_body_alone_but_vary() {
    let app = app_with(|_| {});
    for headers in [
        &[][..],
        &[("accept-encoding", "identity")],
        &[("accept-encoding", "zstd;q=1, *;q=0")],
    ] {
        let response = get(&app, "/text", headers).await;
        assert_eq!(response.header("content-encoding"), None, "{headers:?}");
        assert_eq!(
            response.header_all("vary"),
            ["accept-encoding"],
            "{headers:?}"
        );
        assert_eq!(response.text(), long_text());
    }
}

#[tokio::test]
async fn small_images_sse_and_encoded_bodies_are_not_compressed() {
    let app = app_with(|c| c.compressible = std::sync::Arc::new(|_| true));
    let accept = [("accept-encoding", "gzip")];
    for path in ["/small", "/events"] {
        let response = get(&app, path, &accept).await;
        assert_eq!(response.header("content-encoding"), None, "{path}");
        assert_eq!(response.header("vary"), None, "{path}");
    }
    let encoded = get(&app, "/encoded", &accept).await;
    assert_eq!(
        encoded.header_all("content-encoding"),
        ["gzip"],
        "not encoded twice"
    );
    assert_eq!(gunzip(&encoded.body), long_text().as_bytes());
    let default = app_with(|_| {});
    let png = get(&default, "/png", &accept).await;
    assert_eq!(png.header("content-encoding"), None);
    assert_eq!(png.text(), long_text());
}

#[tokio::test]
async fn a_stream_of_known_length_is_sent_chunked_once_encoded() {
    let app = app_with(|_| {});
    let response = get(&app, "/sized-stream", &[("accept-encoding", "gzip")]).await;
    assert_eq!(response.header("content-encoding"), Some("gzip"));
    assert!(response.chunked);
    assert_eq!(response.header("content-length"), None);
    assert_eq!(gunzip(&response.body), long_text().as_bytes());
    let plain = get(&app, "/sized-stream", &[]).await;
    assert_eq!(
        plain.header("content-length"),
        Some(&*long_text().len().to_string())
    );
}

#[tokio::test]
async fn an_encoded_body_has_a_weak_etag() {
    let app = app_with(|_| {});
    let encoded = get(&app, "/tagged", &[("accept-encoding", "gzip")]).await;
    assert_eq!(encoded.header("etag"), Some("W/\"v1\""));
    let plain = get(&app, "/tagged", &[]).await;
    assert_eq!(plain.header("etag"), Some("\"v1\""));
}

#[tokio::test]
async fn head_gets_the_encoded_headers_and_no_body() {
    let app = test_application(|app: &mut Application| {
        app.install(AutoHeadResponse, |_| {});
        app.install(Compression, |_| {});
        routes(app);
    });
    let headers = [("accept-encoding", "gzip")];
    let get = get(&app, "/text", &headers).await;
    let head = send(&app, Method::HEAD, "/text", &headers, Bytes::new()).await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
    for name in ["content-encoding", "content-length", "vary", "content-type"] {
        assert_eq!(head.header(name), get.header(name), "{name}");
    }
}

#[tokio::test]
async fn request_bodies_are_decompressed_and_their_headers_dropped() {
    let app = app_with(|c| c.request_codings.push(Coding::Br));
    let text = long_text();
    let mut br = Vec::new();
    let mut writer = brotli::CompressorWriter::new(&mut br, 4096, 5, 20);
    std::io::Write::write_all(&mut writer, text.as_bytes()).unwrap();
    drop(writer);
    let mut deflate = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut deflate, text.as_bytes()).unwrap();
    let deflate = deflate.finish().unwrap();
    let twice = gzip(&gzip(text.as_bytes()));
    let cases: [(&str, Vec<u8>); 5] = [
        ("gzip", gzip(text.as_bytes())),
        ("x-gzip", gzip(text.as_bytes())),
        ("deflate", deflate),
        ("br", br),
        ("gzip, gzip", twice),
    ];
    for (coding, body) in cases {
        let headers = [("content-encoding", coding)];
        let response = send(&app, Method::POST, "/echo", &headers, body).await;
        assert_eq!(response.status, StatusCode::OK, "{coding}");
        assert_eq!(response.text(), text, "{coding}");
        assert_eq!(
            response.header("x-seen"),
            Some("length= encoding="),
            "{coding}"
        );
    }
}

#[tokio::test]
async fn bad_request_codings_get_their_status() {
    let app = test_application(|app: &mut Application| {
        app.install(Compression, |c| c.max_decompressed_size = 64 * 1024);
        app.install(StatusPages, |c| {
            c.any_error(|call: ApplicationCall, error: Error| async move {
                call.response().status(error.status_code());
                call.respond_text("refused").await
            });
        });
        routes(app);
    });
    let bomb = gzip(&vec![0u8; 1024 * 1024]);
    assert!(bomb.len() < 8 * 1024);
    let cases: [(&str, Vec<u8>, StatusCode); 5] = [
        ("gzip", bomb, StatusCode::PAYLOAD_TOO_LARGE),
        ("gzip", b"not gzip at all".to_vec(), StatusCode::BAD_REQUEST),
        (
            "br",
            b"whatever".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "compress",
            b"whatever".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "gzip, gzip, gzip",
            gzip(&gzip(&gzip(b"x"))),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
    ];
    for (coding, body, status) in cases {
        let headers = [("content-encoding", coding)];
        let response = send(&app, Method::POST, "/echo", &headers, body).await;
        assert_eq!(response.status, status, "{coding}");
        if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
            assert_eq!(
                response.header("accept-encoding"),
                Some("gzip, deflate"),
                "{coding}"
            );
        }
    }
}

#[tokio::test]
async fn without_encoders_nothing_is_encoded() {
    let app = app_with(|c| c.encoders.clear());
    let response = get(&app, "/text", &[("accept-encoding", "gzip")]).await;
    assert_eq!(response.header("content-encoding"), None);
    assert_eq!(response.header("vary"), None);
}
