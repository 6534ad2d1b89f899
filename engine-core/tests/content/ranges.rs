//! PartialContent: 206, multipart/byteranges, 416, If-Range, streams of known length, and its
//! place among the other content plugins.

use super::{get, send};
use bytes::Bytes;
use engine_core::call::{OutgoingContent, ResponseBody};
use engine_core::plugins::{AutoHeadResponse, Compression, ConditionalHeaders, PartialContent};
use engine_core::testing::{TestApplication, test_application};
use engine_core::{Application, ApplicationCall};
use http::{HeaderValue, Method, StatusCode};

/// 2,000 bytes of digits: byte `i` is `i % 10`.
fn digits() -> String {
    (0..2000)
        .map(|i| char::from(b'0' + (i % 10) as u8))
        .collect()
}

fn routes(app: &mut Application) {
    app.routing(|route| {
        route.get("/bytes", |call: ApplicationCall| async move {
            call.response()
                .set_header("etag", HeaderValue::from_static("\"d1\""));
            call.response().set_header(
                "last-modified",
                HeaderValue::from_static("Mon, 01 Jan 2024 00:00:00 GMT"),
            );
            call.respond_text(digits()).await
        });
        route.get("/stream", |call: ApplicationCall| async move {
            // 200 chunks of 10 bytes, with a declared length.
            let chunks = (0..200).map(|_| Ok(Bytes::from_static(b"0123456789")));
            call.respond(OutgoingContent {
                status: None,
                content_type: Some(HeaderValue::from_static("text/plain")),
                body: ResponseBody::Stream {
                    stream: Box::pin(futures_util::stream::iter(chunks)),
                    length: Some(2000),
                },
            })
            .await
        });
        route.get("/unsized", |call: ApplicationCall| async move {
            let chunks = futures_util::stream::iter([Ok(Bytes::from(digits()))]);
            call.respond_stream(chunks, HeaderValue::from_static("text/plain"))
                .await
        });
        route.post("/bytes", |call: ApplicationCall| async move {
            call.respond_text(digits()).await
        });
    });
}

fn app() -> TestApplication {
    test_application(|app: &mut Application| {
        app.install(PartialContent, |_| {});
        routes(app);
    })
}

#[tokio::test]
async fn single_ranges_of_bytes_and_streams() {
    let app = app();
    let cases = [
        ("bytes=0-0", 0..1),
        ("bytes=1-2", 1..3),
        ("bytes=1995-", 1995..2000),
        ("bytes=-3", 1997..2000),
        ("bytes=1990-5000", 1990..2000),
        ("bytes=0-1,1-3", 0..4),
    ];
    for path in ["/bytes", "/stream"] {
        for (range, expected) in cases.clone() {
            let response = get(&app, path, &[("range", range)]).await;
            assert_eq!(
                response.status,
                StatusCode::PARTIAL_CONTENT,
                "{path} {range}"
            );
            let content_range = format!("bytes {}-{}/2000", expected.start, expected.end - 1);
            assert_eq!(response.header("content-range"), Some(&*content_range));
            assert_eq!(
                response.header("content-length"),
                Some(&*expected.len().to_string())
            );
            assert_eq!(
                response.text(),
                digits()[expected].to_owned(),
                "{path} {range}"
            );
        }
    }
}

/// The parts of a `multipart/byteranges` body: (content-range, bytes).
fn parts(body: &str, boundary: &str) -> Vec<(String, String)> {
    let closing = format!("\r\n--{boundary}--\r\n");
    let body = body.strip_suffix(&closing).expect("the closing delimiter");
    body.split(&format!("--{boundary}\r\n"))
        .skip(1)
        .map(|part| {
            let part = part.strip_suffix("\r\n").unwrap_or(part);
            let (head, data) = part.split_once("\r\n\r\n").expect("a part head");
            assert!(head.contains("Content-Type: text/plain"), "{head}");
            let range = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Range: "))
                .expect("a Content-Range");
            (range.to_owned(), data.to_owned())
        })
        .collect()
}

#[tokio::test]
async fn several_ranges_are_multipart_byteranges() {
    let app = app();
    for path in ["/bytes", "/stream"] {
        let response = get(&app, path, &[("range", "bytes=0-1, 10-12, -2")]).await;
        assert_eq!(response.status, StatusCode::PARTIAL_CONTENT);
        let content_type = response.header("content-type").unwrap();
        let boundary = content_type
            .strip_prefix("multipart/byteranges; boundary=")
            .expect(content_type);
        assert_eq!(response.header("content-range"), None);
        assert_eq!(
            response.header("content-length"),
            Some(&*response.body.len().to_string())
        );
        let expected = [
            ("bytes 0-1/2000", "01"),
            ("bytes 10-12/2000", "012"),
            ("bytes 1998-1999/2000", "89"),
        ]
        .map(|(r, d)| (r.to_owned(), d.to_owned()));
        assert_eq!(parts(&response.text(), boundary), expected, "{path}");
    }
}

#[tokio::test]
async fn descending_ranges_of_a_stream_get_the_whole_body() {
    let app = app();
    let bytes = get(&app, "/bytes", &[("range", "bytes=10-11, 0-1")]).await;
    assert_eq!(
        bytes.status,
        StatusCode::PARTIAL_CONTENT,
        "bytes are served in any order"
    );
    let stream = get(&app, "/stream", &[("range", "bytes=10-11, 0-1")]).await;
    assert_eq!(stream.status, StatusCode::OK);
    assert_eq!(stream.text(), digits());
}

#[tokio::test]
async fn unsatisfiable_ranges_are_416_with_the_length() {
    let app = app();
    for range in ["bytes=2000-", "bytes=5000-6000", "bytes=-0"] {
        let response = get(&app, "/bytes", &[("range", range)]).await;
        assert_eq!(
            response.status,
            StatusCode::RANGE_NOT_SATISFIABLE,
            "{range}"
        );
        assert_eq!(response.header("content-range"), Some("bytes */2000"));
        assert!(response.body.is_empty());
    }
}

#[tokio::test]
async fn ranges_this_does_not_serve_get_the_whole_body() {
    let app = app();
    let cases: [(&str, &[(&str, &str)]); 6] = [
        ("/bytes", &[("range", "items=0-1")]),
        ("/bytes", &[("range", "bytes=5-1")]),
        (
            "/bytes",
            &[(
                "range",
                "bytes=0-0,2-2,4-4,6-6,8-8,10-10,12-12,14-14,16-16,18-18,20-20",
            )],
        ),
        (
            "/bytes",
            &[("range", "bytes=0-1"), ("if-range", "\"other\"")],
        ),
        (
            "/bytes",
            &[("range", "bytes=0-1"), ("if-range", "W/\"d1\"")],
        ),
        ("/unsized", &[("range", "bytes=0-1")]),
    ];
    for (path, headers) in cases {
        let response = get(&app, path, headers).await;
        assert_eq!(response.status, StatusCode::OK, "{path} {headers:?}");
        assert_eq!(response.text(), digits());
    }
    let post = send(
        &app,
        Method::POST,
        "/bytes",
        &[("range", "bytes=0-1")],
        Bytes::new(),
    )
    .await;
    assert_eq!(post.status, StatusCode::OK);
    assert_eq!(post.header("accept-ranges"), None);
}

#[tokio::test]
async fn if_range_that_matches_serves_the_range() {
    let app = app();
    for validator in ["\"d1\"", "Mon, 01 Jan 2024 00:00:00 GMT"] {
        let headers = [("range", "bytes=0-1"), ("if-range", validator)];
        let response = get(&app, "/bytes", &headers).await;
        assert_eq!(response.status, StatusCode::PARTIAL_CONTENT, "{validator}");
        assert_eq!(response.text(), "01");
    }
    let stale = [
        ("range", "bytes=0-1"),
        ("if-range", "Tue, 02 Jan 2024 00:00:00 GMT"),
    ];
    assert_eq!(get(&app, "/bytes", &stale).await.status, StatusCode::OK);
}

#[tokio::test]
async fn whole_responses_advertise_ranges() {
    let app = app();
    assert_eq!(
        get(&app, "/bytes", &[]).await.header("accept-ranges"),
        Some("bytes")
    );
    assert_eq!(
        get(&app, "/unsized", &[]).await.header("accept-ranges"),
        None
    );
}

#[tokio::test]
async fn with_the_other_content_plugins() {
    let app = test_application(|app: &mut Application| {
        app.install(Compression, |c| c.minimum_size = 0);
        app.install(PartialContent, |_| {});
        app.install(ConditionalHeaders, |_| {});
        app.install(AutoHeadResponse, |_| {});
        routes(app);
    });
    let gzip_range = [("range", "bytes=1-2"), ("accept-encoding", "gzip")];
    let response = get(&app, "/bytes", &gzip_range).await;
    assert_eq!(response.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(response.header("content-encoding"), None);
    assert_eq!(response.text(), "12");
    // A 304 wins over a range (RFC 9110 §13.2.2).
    let current = [("range", "bytes=1-2"), ("if-none-match", "\"d1\"")];
    assert_eq!(
        get(&app, "/bytes", &current).await.status,
        StatusCode::NOT_MODIFIED
    );
    let head = send(
        &app,
        Method::HEAD,
        "/stream",
        &[("range", "bytes=5-9")],
        Bytes::new(),
    )
    .await;
    assert_eq!(head.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(head.header("content-length"), Some("5"));
    assert_eq!(head.header("content-range"), Some("bytes 5-9/2000"));
    assert!(head.body.is_empty());
}
