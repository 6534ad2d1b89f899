//! Stopping a running server (CONFORMANCE.md "Lifecycle"): `stop(grace, timeout)` lets in-flight
//! requests finish within the grace, closes idle connections at once, ends what is still running at
//! the timeout, and refuses connections afterwards.

use super::support::*;
use super::{EngineUnderTest, TestServer, TestStream};
use crate::pipeline::BoxFuture;
use crate::testing::ResponseReader;
use http::StatusCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the server may take to notice what a case did.
const NOTICE: Duration = Duration::from_secs(5);

/// A server whose handler sleeps `nap`, then answers `text`; and a connection whose request that
/// handler is running.
async fn busy_server(
    engine: &dyn EngineUnderTest,
    live: &Liveness,
    nap: Duration,
    text: &'static str,
) -> (Arc<dyn TestServer>, ResponseReader<Box<dyn TestStream>>) {
    let handlers = live.clone();
    let server: Arc<dyn TestServer> = Arc::from(serve(engine, move |call| {
        let guard = handlers.guard();
        async move {
            let _guard = guard;
            tokio::time::sleep(nap).await;
            call.respond_text(text).await
        }
    }));
    let mut conn = connect(&*server).await;
    conn.send(get("/")).await.unwrap();
    assert!(eventually(NOTICE, || live.started() == 1).await);
    (server, conn)
}

/// `stop(grace, timeout)` lets an in-flight request finish within the grace period, completes in
/// under twice the grace period, and afterwards connections are refused (or closed unanswered).
pub fn stop_lets_in_flight_request_finish(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let live = Liveness::default();
        let nap = Duration::from_millis(300);
        let (server, mut conn) = busy_server(engine, &live, nap, "finished in grace").await;
        let grace = Duration::from_secs(2);
        let started = Instant::now();
        let stopping = server.clone();
        let stop = tokio::task::spawn_blocking(move || stopping.stop(grace, grace * 2));
        let response = tokio::time::timeout(grace, conn.read_response(false))
            .await
            .expect("the response within the grace period")
            .expect("a complete response");
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(response.text(), "finished in grace");
        assert!(conn.is_closed().await, "the connection closes after it");
        drop(conn);
        stop.await.expect("stop returns");
        let took = started.elapsed();
        assert!(took < grace * 2, "stop took {took:?}");
        assert_refused(&*server).await;
    })
}

/// After a stop, a connection is refused, or closed without a response.
async fn assert_refused(server: &dyn TestServer) {
    let Ok(stream) = server.connect().await else {
        return;
    };
    let mut conn = ResponseReader::new(stream);
    let _ = conn.send(get("/")).await;
    let answer = tokio::time::timeout(NOTICE, conn.read_response(false))
        .await
        .expect("a connection after stop is refused or closed, not left hanging");
    assert!(answer.is_err(), "a response after stop: {answer:?}");
}

/// Stopping closes idle keep-alive connections at once, used or fresh.
pub fn stop_closes_idle_connections(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server: Arc<dyn TestServer> = Arc::from(serve(engine, |call| async move {
            call.respond_text("then idle").await
        }));
        let mut used = connect(&*server).await;
        used.send(get("/")).await.unwrap();
        assert_eq!(used.read_response(false).await.unwrap().text(), "then idle");
        let mut fresh = connect(&*server).await;
        let stopping = server.clone();
        let stop = tokio::task::spawn_blocking(move || {
            stopping.stop(Duration::from_secs(5), Duration::from_secs(10));
        });
        let within = Duration::from_secs(1);
        let closed = tokio::time::timeout(within, async {
            (used.is_closed().await, fresh.is_closed().await)
        })
        .await;
        assert!(
            matches!(closed, Ok((true, true))),
            "idle connections closed within {within:?} of stop: {closed:?}"
        );
        drop((used, fresh));
        tokio::time::timeout(Duration::from_secs(10), stop)
            .await
            .expect("stop returns")
            .expect("stop returns");
    })
}

/// A request still running at the stop's timeout is ended then: its handler is cancelled, its
/// client's connection closes without a response, and stop returns (soon after the timeout; the
/// bound here is generous), refusing connections afterwards.
pub fn stop_ends_requests_still_running_at_the_timeout(
    engine: &dyn EngineUnderTest,
) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let live = Liveness::default();
        let nap = Duration::from_secs(50);
        let (server, mut conn) = busy_server(engine, &live, nap, "outlived the stop").await;
        let (grace, timeout) = (Duration::from_millis(300), Duration::from_millis(600));
        let started = Instant::now();
        let stopping = server.clone();
        let stop = tokio::task::spawn_blocking(move || stopping.stop(grace, timeout));
        let answer = tokio::time::timeout(timeout + NOTICE, conn.read_response(false))
            .await
            .expect("the connection ends within 5 s of the timeout");
        assert!(
            answer.is_err(),
            "a response from a stopped server: {answer:?}"
        );
        tokio::time::timeout(timeout + NOTICE, stop)
            .await
            .expect("stop returns within 5 s of its timeout")
            .expect("stop returns");
        let took = started.elapsed();
        assert!(took < timeout + NOTICE, "stop took {took:?}");
        assert!(
            eventually(NOTICE, || live.all_ended()).await,
            "the handler was cancelled ({} started, {} ended)",
            live.started(),
            live.ended()
        );
        assert_refused(&*server).await;
    })
}
