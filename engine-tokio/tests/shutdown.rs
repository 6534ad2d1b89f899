//! Graceful shutdown under load, and running inside an application's own tokio runtime.

use bytes::Bytes;
use engine_core::{Application, ApplicationCall, ServerConfig, embedded_server};
use engine_tokio::TokioEngine;
use http::Request;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Counts {
    started: AtomicUsize,
    finished: AtomicUsize,
    answered: AtomicUsize,
}

/// Keeps one keep-alive connection busy until the server stops answering.
async fn load(addr: SocketAddr, counts: Arc<Counts>) {
    let Ok(stream) = tokio::net::TcpStream::connect(addr).await else {
        return;
    };
    let Ok((mut sender, connection)) =
        hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream)).await
    else {
        return;
    };
    tokio::spawn(connection);
    loop {
        let request = Request::get("/work")
            .header("host", "localhost")
            .body(Empty::new())
            .unwrap();
        let Ok(response) = sender.send_request(request).await else {
            return;
        };
        let Ok(body) = response.into_body().collect().await else {
            return;
        };
        assert_eq!(&body.to_bytes()[..], b"done");
        counts.answered.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn no_accepted_request_is_lost_when_stopping_under_load() {
    let counts = Arc::new(Counts::default());
    let handlers = counts.clone();
    let module = move |app: &mut Application| {
        let counts = handlers.clone();
        app.routing(move |route| {
            route.get("/work", move |call: ApplicationCall| {
                let counts = counts.clone();
                async move {
                    counts.started.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    let result = call.respond_text("done").await;
                    counts.finished.fetch_add(1, Ordering::SeqCst);
                    result
                }
            });
        });
    };
    let mut server = embedded_server(
        TokioEngine::new(),
        ServerConfig::listen("127.0.0.1", 0),
        module,
    );
    server.start(false).unwrap();
    let addr = server.local_addrs()[0];

    let clients = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|_| clients.spawn(load(addr, counts.clone())))
        .collect();
    std::thread::sleep(Duration::from_millis(400));
    let grace = Duration::from_secs(3);
    let stopping = Instant::now();
    server.stop(grace, grace * 2);
    let took = stopping.elapsed();
    clients.block_on(async {
        for task in tasks {
            task.await.unwrap();
        }
    });

    let (started, finished, answered) = (
        counts.started.load(Ordering::SeqCst),
        counts.finished.load(Ordering::SeqCst),
        counts.answered.load(Ordering::SeqCst),
    );
    assert!(answered > 50, "the load ran: {answered} answers");
    assert_eq!(started, finished, "every handler that started finished");
    assert_eq!(
        finished, answered,
        "every finished request's response reached its client"
    );
    assert!(
        took < grace,
        "a graceful stop with 20 ms handlers took {took:?}"
    );
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "connections are refused after stop"
    );
}

async fn get(addr: SocketAddr, path: &str) -> String {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    let request = Request::get(path)
        .header("host", "localhost")
        .body(Empty::new())
        .unwrap();
    let body = sender
        .send_request(request)
        .await
        .unwrap()
        .into_body()
        .collect()
        .await
        .unwrap();
    String::from_utf8_lossy(&body.to_bytes()).into_owned()
}

/// The framework inside an existing `#[tokio::main]` program: the engine runs on the program's
/// runtime, and the program's own tasks run beside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_inside_an_existing_tokio_runtime() {
    let engine = TokioEngine::with_handle(tokio::runtime::Handle::current());
    let module = |app: &mut Application| {
        app.routing(|route| {
            route.get("/", |call: ApplicationCall| async move {
                call.respond_text("embedded").await
            });
        });
    };
    let mut server = embedded_server(engine, ServerConfig::listen("127.0.0.1", 0), module);
    server.start(false).unwrap();
    let addr = server.local_addrs()[0];
    let own_task = tokio::spawn(async { 40 + 2 });
    assert_eq!(get(addr, "/").await, "embedded");
    assert_eq!(own_task.await.unwrap(), 42);
    server.stop(Duration::from_secs(1), Duration::from_secs(2));
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "stopped"
    );
}
