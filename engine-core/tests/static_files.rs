//! Static files through the in-memory engine, on a real temporary directory: bytes, headers, index
//! files, HEAD, pre-compressed siblings, and every way out of the root refused.

use engine_core::plugins::StatusPages;
use engine_core::plugins::static_files::{Precompressed, StaticFilesConfig, StaticFilesRoute};
use engine_core::testing::{TestApplication, TestResponse, test_application};
use engine_core::{Application, ApplicationCall};
use http::{Method, StatusCode};
use std::path::{Path, PathBuf};
use tempfile::TempDir;

const SECRET: &str = "the secret outside the root";

/// `tmp/secret.txt` outside the root, and the root `tmp/public` with files, a directory with an
/// index, one without, and symlinks in and out.
fn site() -> (TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("public");
    std::fs::create_dir_all(root.join("docs")).unwrap();
    std::fs::create_dir_all(root.join("empty")).unwrap();
    std::fs::write(tmp.path().join("secret.txt"), SECRET).unwrap();
    std::fs::write(root.join("hello.txt"), "hello, file").unwrap();
    std::fs::write(root.join("index.html"), "<h1>root</h1>").unwrap();
    std::fs::write(root.join("docs/index.html"), "<h1>docs</h1>").unwrap();
    std::fs::write(root.join("data.unknownext"), [0u8, 1, 2, 255]).unwrap();
    std::fs::write(root.join("app.wasm"), b"\0asm").unwrap();
    std::fs::write(root.join("big.bin"), big()).unwrap();
    std::fs::write(root.join("app.js"), "console.log(1)").unwrap();
    std::fs::write(root.join("app.js.gz"), b"\x1f\x8bpretend-gzip").unwrap();
    std::fs::write(root.join("app.js.br"), b"pretend-brotli").unwrap();
    std::os::unix::fs::symlink(tmp.path().join("secret.txt"), root.join("leak.txt")).unwrap();
    std::os::unix::fs::symlink(tmp.path(), root.join("up")).unwrap();
    std::os::unix::fs::symlink(root.join("hello.txt"), root.join("alias.txt")).unwrap();
    (tmp, root)
}

/// 300 KiB that are not all one byte, so that a chunk out of place shows.
fn big() -> Vec<u8> {
    (0..300 * 1024u32)
        .map(|i| ((i % 251) ^ (i / 251)).to_le_bytes()[0])
        .collect()
}

fn serve(
    root: &Path,
    configure: impl FnOnce(&mut StaticFilesConfig) + Send + 'static,
) -> TestApplication {
    let root = root.to_owned();
    test_application(move |app: &mut Application| {
        app.routing(|route| {
            route.static_files("/static", root, configure);
            route.get("/", |call: ApplicationCall| async move {
                call.respond_text("home").await
            });
        });
    })
}

async fn get(app: &TestApplication, path: &str, headers: &[(&str, &str)]) -> TestResponse {
    app.client()
        .request(Method::GET, path, headers, Default::default())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_file_is_served_byte_exact_with_its_headers() {
    let (_tmp, root) = site();
    let app = serve(&root, |_| {});
    let response = get(&app, "/static/hello.txt", &[]).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body, "hello, file");
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(response.header("content-length"), Some("11"));
    let etag = response.header("etag").unwrap();
    assert!(etag.starts_with("W/\"b-") && etag.ends_with('"'), "{etag}");
    let modified = response.header("last-modified").unwrap();
    let mtime = std::fs::metadata(root.join("hello.txt"))
        .unwrap()
        .modified()
        .unwrap();
    let secs =
        |t: std::time::SystemTime| t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert_eq!(
        secs(httpdate::parse_http_date(modified).unwrap()),
        secs(mtime)
    );
    // Another file, another tag; the same file, the same tag.
    let again = get(&app, "/static/hello.txt", &[]).await;
    assert_eq!(again.header("etag"), Some(etag));
    let other = get(&app, "/static/index.html", &[]).await;
    assert_ne!(other.header("etag"), Some(etag));
    assert_eq!(
        other.header("content-type"),
        Some("text/html; charset=utf-8")
    );
}

#[tokio::test]
async fn a_large_file_is_streamed_with_its_length() {
    let (_tmp, root) = site();
    let app = serve(&root, |c| c.chunk_size = 16 * 1024);
    let response = get(&app, "/static/big.bin", &[]).await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(!response.chunked, "{}", response.raw_head);
    assert_eq!(response.header("content-length"), Some("307200"));
    assert_eq!(response.body, big());
}

#[tokio::test]
async fn head_has_the_get_headers_and_no_body() {
    let (_tmp, root) = site();
    let app = serve(&root, |c| c.chunk_size = 16 * 1024);
    for path in ["/static/hello.txt", "/static/big.bin"] {
        let get = get(&app, path, &[]).await;
        let head = app
            .client()
            .request(Method::HEAD, path, &[], Default::default())
            .await
            .unwrap();
        assert_eq!(head.status, StatusCode::OK, "{path}");
        assert!(head.body.is_empty());
        for name in ["content-length", "content-type", "etag", "last-modified"] {
            assert_eq!(head.header(name), get.header(name), "{path} {name}");
        }
    }
    // The connection is still in step after a HEAD: nothing of a body was sent.
    let mut conn = app.connect().unwrap();
    conn.send("HEAD /static/big.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /static/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(
        conn.read_response(true).await.unwrap().status,
        StatusCode::OK
    );
    assert_eq!(conn.read_response(false).await.unwrap().body, "hello, file");
}

#[tokio::test]
async fn directories_serve_their_index_or_nothing() {
    let (_tmp, root) = site();
    let app = serve(&root, |_| {});
    for (path, body) in [
        ("/static", "<h1>root</h1>"),
        ("/static/", "<h1>root</h1>"),
        ("/static/docs", "<h1>docs</h1>"),
        ("/static/docs/", "<h1>docs</h1>"),
    ] {
        let response = get(&app, path, &[]).await;
        assert_eq!(
            (response.status, response.text().as_str()),
            (StatusCode::OK, body),
            "{path}"
        );
    }
    assert_eq!(
        get(&app, "/static/empty", &[]).await.status,
        StatusCode::NOT_FOUND
    );
    let no_index = serve(&root, |c| c.index = None);
    assert_eq!(
        get(&no_index, "/static/docs", &[]).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&no_index, "/static/docs/index.html", &[]).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn missing_files_fall_through_to_404() {
    let (_tmp, root) = site();
    let app = serve(&root, |_| {});
    for path in [
        "/static/nope.txt",
        "/static/docs/nope/deeper",
        "/static/hello.txt/x",
    ] {
        assert_eq!(
            get(&app, path, &[]).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    // The 404 is the engine's, so StatusPages can replace its body.
    let root_for_pages = root.clone();
    let pages = test_application(move |app: &mut Application| {
        app.install(StatusPages, |c| {
            c.status(
                StatusCode::NOT_FOUND,
                |call: ApplicationCall, status| async move {
                    call.response().status(status);
                    call.respond_text("no such file").await
                },
            );
        });
        app.routing(|route| {
            route.static_files("/static", root_for_pages, |_| {});
        });
    });
    let response = get(&pages, "/static/nope.txt", &[]).await;
    assert_eq!(
        (response.status, response.text().as_str()),
        (StatusCode::NOT_FOUND, "no such file")
    );
    // A root that does not exist serves nothing, and the server goes on.
    let gone = serve(&root.join("not-there"), |_| {});
    assert_eq!(
        get(&gone, "/static/hello.txt", &[]).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(get(&gone, "/", &[]).await.text(), "home");
}

#[tokio::test]
async fn no_request_leaves_the_root() {
    let (_tmp, root) = site();
    let app = serve(&root, |_| {});
    let attempts = [
        "/static/../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/%2E%2E/secret.txt",
        "/static/.%2e/secret.txt",
        "/static/..%2fsecret.txt",
        "/static/docs/..%2F..%2Fsecret.txt",
        "/static/%2f..%2fsecret.txt",
        "/static/..%5csecret.txt",
        "/static/hello.txt%00.png",
        "/static/leak.txt",
        "/static/up/secret.txt",
        "/static/./hello.txt",
    ];
    for path in attempts {
        let response = get(&app, path, &[]).await;
        assert_eq!(
            response.status,
            StatusCode::NOT_FOUND,
            "{path}: {}",
            response.text()
        );
        assert!(!response.text().contains(SECRET), "{path}");
    }
    // An absolute path in the target never reaches the file system as one.
    let response = get(
        &app,
        &format!("/static/{}", root.join("hello.txt").display()),
        &[],
    )
    .await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    // A symlink whose target is inside the root is served, wherever the link leads on the way.
    assert_eq!(
        get(&app, "/static/alias.txt", &[]).await.body,
        "hello, file"
    );
    assert_eq!(
        get(&app, "/static/up/public/hello.txt", &[]).await.body,
        "hello, file"
    );
}

#[tokio::test]
async fn special_files_are_not_opened() {
    let (_tmp, root) = site();
    let fifo =
        std::ffi::CString::new(root.join("pipe").into_os_string().into_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only creates a file.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    let app = serve(&root, |_| {});
    // Opening a FIFO would block until a writer came: the answer must be a 404, not a hang.
    let response = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        get(&app, "/static/pipe", &[]),
    )
    .await
    .expect("a FIFO is answered, not opened");
    assert_eq!(response.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn content_types_come_from_the_extension() {
    let (_tmp, root) = site();
    let app = serve(&root, |c| {
        c.content_type("WASM", "application/wasm");
    });
    for (path, content_type) in [
        ("/static/app.wasm", "application/wasm"),
        ("/static/data.unknownext", "application/octet-stream"),
        ("/static/app.js", "text/javascript; charset=utf-8"),
    ] {
        let response = get(&app, path, &[]).await;
        assert_eq!(
            response.header("content-type"),
            Some(content_type),
            "{path}"
        );
    }
}

type Headers<'a> = &'a [(&'a str, &'a str)];

#[tokio::test]
async fn precompressed_siblings_are_served_when_accepted() {
    let (_tmp, root) = site();
    let app = serve(&root, |c| {
        c.precompressed = vec![Precompressed::Brotli, Precompressed::Gzip]
    });
    let cases: [(Headers, Option<&str>, &[u8]); 7] = [
        (&[], None, b"console.log(1)"),
        (
            &[("accept-encoding", "gzip")],
            Some("gzip"),
            b"\x1f\x8bpretend-gzip",
        ),
        (
            &[("accept-encoding", "gzip, br")],
            Some("br"),
            b"pretend-brotli",
        ),
        (
            &[("accept-encoding", "br;q=0, gzip")],
            Some("gzip"),
            b"\x1f\x8bpretend-gzip",
        ),
        (&[("accept-encoding", "deflate")], None, b"console.log(1)"),
        // The client's weights come first, the configured order among equals.
        (
            &[("accept-encoding", "gzip, br;q=0.5")],
            Some("gzip"),
            b"\x1f\x8bpretend-gzip",
        ),
        (&[("accept-encoding", "*")], Some("br"), b"pretend-brotli"),
    ];
    let mut etags = Vec::new();
    for (headers, encoding, body) in cases {
        let response = get(&app, "/static/app.js", headers).await;
        assert_eq!(response.header("content-encoding"), encoding, "{headers:?}");
        assert_eq!(response.body, body, "{headers:?}");
        assert_eq!(
            response.header("content-type"),
            Some("text/javascript; charset=utf-8")
        );
        assert_eq!(
            response.header_all("vary"),
            ["accept-encoding"],
            "{headers:?}"
        );
        etags.push(response.header("etag").unwrap().to_owned());
    }
    // Each representation has its own tag.
    assert_ne!(etags[0], etags[1]);
    assert_ne!(etags[1], etags[2]);
    assert_eq!(etags[1], etags[3]);
    // A file without siblings is served as it is.
    let response = get(
        &app,
        "/static/hello.txt",
        &[("accept-encoding", "gzip, br")],
    )
    .await;
    assert_eq!(
        (response.header("content-encoding"), response.body.as_ref()),
        (None, &b"hello, file"[..])
    );
}

#[tokio::test]
async fn other_methods_get_405() {
    let (_tmp, root) = site();
    let app = serve(&root, |_| {});
    let response = app.client().post("/static/hello.txt", "x").await.unwrap();
    assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.header("allow"), Some("GET, HEAD"));
}

static RESOURCES: &[(&str, &[u8])] = &[
    ("index.html", b"<h1>in memory</h1>"),
    ("css/app.css", b"h1 { color: teal }"),
    ("css/app.css.gz", b"\x1f\x8bpretend"),
    ("docs/index.html", b"<h1>docs</h1>"),
    ("blob", &[0, 159, 146, 150]),
];

fn resources(configure: impl FnOnce(&mut StaticFilesConfig) + Send + 'static) -> TestApplication {
    test_application(move |app: &mut Application| {
        app.routing(|route| {
            route.static_resources("/assets", RESOURCES, configure);
        });
    })
}

#[tokio::test]
async fn resources_in_memory_are_served_like_files() {
    let app = resources(|c| c.precompressed = vec![Precompressed::Gzip]);
    let cases = [
        (
            "/assets",
            "text/html; charset=utf-8",
            &b"<h1>in memory</h1>"[..],
        ),
        (
            "/assets/docs/",
            "text/html; charset=utf-8",
            b"<h1>docs</h1>",
        ),
        (
            "/assets/css/app.css",
            "text/css; charset=utf-8",
            b"h1 { color: teal }",
        ),
        (
            "/assets/blob",
            "application/octet-stream",
            &[0, 159, 146, 150],
        ),
    ];
    for (path, content_type, body) in cases {
        let response = get(&app, path, &[]).await;
        assert_eq!(response.status, StatusCode::OK, "{path}");
        assert_eq!(
            response.header("content-type"),
            Some(content_type),
            "{path}"
        );
        assert_eq!(response.body, body, "{path}");
        let etag = response.header("etag").unwrap();
        assert!(
            etag.starts_with('"') && !etag.starts_with("W/"),
            "{path}: {etag}"
        );
        assert!(response.header("last-modified").is_none());
    }
    let plain = get(&app, "/assets/css/app.css", &[]).await;
    let gzip = get(&app, "/assets/css/app.css", &[("accept-encoding", "gzip")]).await;
    assert_eq!(gzip.header("content-encoding"), Some("gzip"));
    assert_eq!(gzip.body, &b"\x1f\x8bpretend"[..]);
    assert_eq!(gzip.header("content-type"), Some("text/css; charset=utf-8"));
    assert_ne!(gzip.header("etag"), plain.header("etag"));
    assert_eq!(
        get(&app, "/assets/css/app.css", &[]).await.header("etag"),
        plain.header("etag")
    );
    let head = app
        .client()
        .request(Method::HEAD, "/assets/blob", &[], Default::default())
        .await
        .unwrap();
    assert_eq!(
        (head.header("content-length"), head.body.len()),
        (Some("4"), 0)
    );
    for missing in [
        "/assets/nope",
        "/assets/css",
        "/assets/css/../index.html",
        "/assets/%2e%2e/x",
    ] {
        assert_eq!(
            get(&app, missing, &[]).await.status,
            StatusCode::NOT_FOUND,
            "{missing}"
        );
    }
}

#[test]
#[should_panic(expected = "cannot be requested")]
fn a_resource_name_with_dot_segments_is_a_configuration_mistake() {
    let mut app = Application::new();
    app.routing(|route| {
        route.static_resources("/", &[("a/../b", b"x")], |_| {});
    });
}

/// The content plugins read what static files set: validators for 304, a known length for
/// ranges, `Content-Encoding` for Compression to leave alone, HEAD through AutoHeadResponse.
#[tokio::test]
async fn the_content_plugins_work_on_static_files() {
    use engine_core::plugins::{AutoHeadResponse, Compression, ConditionalHeaders, PartialContent};
    let (_tmp, root) = site();
    let app = test_application(move |app: &mut Application| {
        app.install(AutoHeadResponse, |_| {});
        app.install(ConditionalHeaders, |_| {});
        app.install(PartialContent, |_| {});
        app.install(Compression, |_| {});
        app.routing(|route| {
            route.static_files("/static", root, |c| {
                c.chunk_size = 16 * 1024;
                c.precompressed = vec![Precompressed::Gzip];
            });
        });
    });
    let first = get(&app, "/static/hello.txt", &[]).await;
    let etag = first.header("etag").unwrap().to_owned();
    let modified = first.header("last-modified").unwrap().to_owned();
    for headers in [
        [("if-none-match", etag.as_str())],
        [("if-modified-since", modified.as_str())],
    ] {
        let response = get(&app, "/static/hello.txt", &headers).await;
        assert_eq!(response.status, StatusCode::NOT_MODIFIED, "{headers:?}");
        assert!(response.body.is_empty());
    }
    // A range of a streamed file: exactly those bytes.
    let response = get(&app, "/static/big.bin", &[("range", "bytes=100000-100009")]).await;
    assert_eq!(response.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        response.header("content-range"),
        Some("bytes 100000-100009/307200")
    );
    assert_eq!(response.body, big()[100_000..100_010]);
    // The pre-compressed sibling goes out as it is, not compressed twice.
    let response = get(&app, "/static/app.js", &[("accept-encoding", "gzip")]).await;
    assert_eq!(response.header_all("content-encoding"), ["gzip"]);
    assert_eq!(response.body, &b"\x1f\x8bpretend-gzip"[..]);
    assert_eq!(response.header_all("vary"), ["accept-encoding"]);
    // HEAD is answered by the GET route, with the GET's length.
    let head = app
        .client()
        .request(Method::HEAD, "/static/big.bin", &[], Default::default())
        .await
        .unwrap();
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.header("content-length"), Some("307200"));
}
