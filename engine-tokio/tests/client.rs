//! The tokio engine with a real HTTP client (hyper's), over loopback: keep-alive reuse, bodies both
//! ways, a chunked stream, and the connection limit.

use bytes::Bytes;
use engine_core::{Application, ApplicationCall, ServerConfig, embedded_server};
use engine_tokio::TokioEngine;
use futures_util::stream;
use http::{HeaderValue, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;

fn app(app: &mut Application) {
    app.routing(|route| {
        route.get("/hello", |call: ApplicationCall| async move {
            call.respond_text("Hello, World!").await
        });
        route.post("/echo", |call: ApplicationCall| async move {
            let body = call.receive_bytes().await?;
            call.respond_bytes(body, HeaderValue::from_static("application/octet-stream"))
                .await
        });
        route.get("/stream", |call: ApplicationCall| async move {
            let chunks = (0..100).map(|i| Ok(Bytes::from(format!("chunk {i}\n"))));
            call.respond_stream(stream::iter(chunks), HeaderValue::from_static("text/plain"))
                .await
        });
    });
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn client(addr: SocketAddr) -> Sender {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(connection);
    sender
}

async fn send(
    sender: &mut Sender,
    method: &str,
    path: &str,
    body: &'static [u8],
) -> (StatusCode, http::HeaderMap, Bytes) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
        .body(Full::new(Bytes::from_static(body)))
        .unwrap();
    let response = sender.send_request(request).await.expect("a response");
    let (parts, body) = response.into_parts();
    (
        parts.status,
        parts.headers,
        body.collect().await.expect("the body").to_bytes(),
    )
}

#[tokio::test]
async fn hyper_client_talks_to_the_tokio_engine() {
    let mut server = embedded_server(
        TokioEngine::new(),
        ServerConfig::listen("127.0.0.1", 0),
        app,
    );
    server.start(false).unwrap();
    let mut sender = client(server.local_addrs()[0]).await;
    for _ in 0..3 {
        let (status, _, body) = send(&mut sender, "GET", "/hello", b"").await;
        assert_eq!((status, &body[..]), (StatusCode::OK, &b"Hello, World!"[..]));
    }
    let (_, _, echoed) = send(&mut sender, "POST", "/echo", b"some bytes to echo").await;
    assert_eq!(&echoed[..], b"some bytes to echo");
    let (status, headers, streamed) = send(&mut sender, "GET", "/stream", b"").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers.get("transfer-encoding").map(|v| v.as_bytes()),
        Some(&b"chunked"[..])
    );
    let expected: String = (0..100).map(|i| format!("chunk {i}\n")).collect();
    assert_eq!(streamed, expected.as_bytes());
    let (missing, _, _) = send(&mut sender, "GET", "/missing", b"").await;
    assert_eq!(missing, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn connections_past_the_limit_wait_for_a_free_slot() {
    let config = ServerConfig {
        max_connections: 1,
        ..ServerConfig::listen("127.0.0.1", 0)
    };
    let mut server = embedded_server(TokioEngine::new(), config, app);
    server.start(false).unwrap();
    let addr = server.local_addrs()[0];
    let mut first = client(addr).await;
    assert_eq!(
        send(&mut first, "GET", "/hello", b"").await.0,
        StatusCode::OK
    );
    // The second connection is accepted by the kernel but not served while the first is open.
    let mut second = client(addr).await;
    let pending = tokio::spawn(async move { send(&mut second, "GET", "/hello", b"").await.0 });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !pending.is_finished(),
        "a connection past the limit was served"
    );
    drop(first);
    let served = tokio::time::timeout(std::time::Duration::from_secs(5), pending).await;
    assert_eq!(
        served.expect("served once the first closed").unwrap(),
        StatusCode::OK
    );
}
