//! Hooks and status pages over the wire (CONFORMANCE.md "Application behaviour seen over the
//! wire"): a plugin's hooks fire once per call, in order, and the response-sent hook once per
//! response the engine wrote; `StatusPages` gives a 404 a body and keeps its status.

use super::EngineUnderTest;
use super::support::*;
use crate::hooks::{ApplicationPlugin, ResponseSent, SentResponse, create_application_plugin};
use crate::pipeline::BoxFuture;
use crate::plugins::StatusPages;
use crate::{Application, ApplicationCall, Error};
use http::StatusCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the hooks saw, one line per hook run: `path hook`.
#[derive(Debug, Clone, Default)]
struct HookLog(Arc<Mutex<Vec<String>>>);

impl HookLog {
    fn record(&self, call: &ApplicationCall, hook: &str) {
        let line = format!("{} {hook}", call.request().path());
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(line);
    }

    fn lines(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

#[derive(Debug, Default)]
struct RecorderConfig {
    log: HookLog,
}

/// Records every hook it has.
const RECORDER: ApplicationPlugin<RecorderConfig> =
    create_application_plugin("HookRecorder", |plugin, config| {
        let log = config.log;
        let (call_log, receive_log, respond_log) = (log.clone(), log.clone(), log.clone());
        plugin
            .on_call(move |call: ApplicationCall| {
                call_log.record(&call, "call");
                async { Ok(()) }
            })
            .on_call_receive(move |call: ApplicationCall, body| {
                receive_log.record(&call, "receive");
                async { Ok(body) }
            })
            .on_call_respond(move |call: ApplicationCall, content| {
                respond_log.record(&call, "respond");
                async { Ok(content) }
            })
            .on(
                ResponseSent,
                move |call: &ApplicationCall, sent: SentResponse| {
                    log.record(
                        call,
                        &format!("sent {} {}", sent.status.as_u16(), sent.completed),
                    );
                },
            );
    });

/// Hooks fire once per call in order (on call, on receive, on respond), and the response-sent hook
/// fires exactly once per response, also when the handler fails after responding and when the
/// response is the engine's answer to a failure.
pub fn hooks_fire_once_in_order(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let log = HookLog::default();
        let recorded = log.clone();
        let module = Box::new(move |app: &mut Application| {
            app.install(RECORDER, |c| c.log = recorded);
            app.routing(|route| {
                route.post("/echo", |call: ApplicationCall| async move {
                    let text = call.receive_text().await?;
                    call.respond_text(text).await
                });
                route.get("/fail-after", |call: ApplicationCall| async move {
                    call.respond_text("answered").await?;
                    Err(Error::msg("failed after responding"))
                });
                route.get("/fail", |_call: ApplicationCall| async move {
                    Err(Error::msg("failed"))
                });
            });
        });
        let server = engine.start(Default::default(), module);
        let mut conn = connect(&*server).await;
        let echo = "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nping";
        for (request, status, body) in [
            (echo.to_owned(), 200, "ping"),
            (get("/fail-after"), 200, "answered"),
            (get("/fail"), 500, "Internal Server Error"),
            (get("/last"), 404, ""),
        ] {
            conn.send(&request).await.expect("send");
            let response = conn.read_response(false).await.expect("a response");
            assert_eq!(response.status.as_u16(), status, "{request}");
            assert_eq!(response.text(), body, "{request}");
        }
        // The driver runs a response's hook before it reads the next request: each response's
        // hook has run by the time the next response arrives. The last one's runs after the client
        // has it.
        let last_sent = "/last sent 404 true".to_owned();
        assert!(
            eventually(Duration::from_secs(5), || log.lines().contains(&last_sent)).await,
            "the last response's hook ran: {:?}",
            log.lines()
        );
        assert_eq!(
            log.lines(),
            [
                "/echo call",
                "/echo receive",
                "/echo respond",
                "/echo sent 200 true",
                "/fail-after call",
                "/fail-after respond",
                "/fail-after sent 200 true",
                "/fail call",
                "/fail sent 500 true",
                "/last call",
                "/last sent 404 true",
            ]
        );
    })
}

/// With `StatusPages`, a 404 gets the page's body and keeps its status, whether nobody answered
/// (no route matched) or a handler responded with the bare status; a status without a page is
/// sent as it was.
pub fn status_pages_replace_404_body_and_keep_status(
    engine: &dyn EngineUnderTest,
) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let module = Box::new(|app: &mut Application| {
            app.install(StatusPages, |c| {
                c.status(
                    StatusCode::NOT_FOUND,
                    |call: ApplicationCall, status| async move {
                        call.response().status(status);
                        call.respond_text(format!("no page at {}", call.request().path()))
                            .await
                    },
                );
            });
            app.routing(|route| {
                route.get("/gone", |call: ApplicationCall| async move {
                    call.respond_status(StatusCode::NOT_FOUND).await
                });
            });
        });
        let server = engine.start(Default::default(), module);
        let mut conn = connect(&*server).await;
        for path in ["/nowhere", "/a/b?c=d", "/gone"] {
            conn.send(get(path)).await.expect("send");
            let response = conn.read_response(false).await.expect("a response");
            assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
            let page = format!("no page at {}", path.split('?').next().unwrap_or(path));
            assert_eq!(response.text(), page);
            assert_eq!(
                response.header_all("content-type"),
                ["text/plain; charset=utf-8"]
            );
            assert_framing(&response);
        }
        conn.send("POST /gone HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n")
            .await
            .expect("send");
        let response = conn.read_response(false).await.expect("a response");
        assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.header_all("allow"), ["GET"]);
        assert!(response.body.is_empty());
    })
}
