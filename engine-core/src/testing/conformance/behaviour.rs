//! Application behaviour seen over the wire (CONFORMANCE.md "Application behaviour seen over the
//! wire", and the failing interceptors of "Bad input"): what a handler or a plugin sets becomes the
//! bytes the client reads, and what the client sends is what the handler reads.

use super::EngineUnderTest;
use super::logs::{errors_logged_for, record_errors};
use super::support::*;
use crate::call::IncomingBody;
use crate::pipeline::{BoxFuture, done};
use crate::testing::ResponseReader;
use crate::{Application, CallPipeline, Error, Module, ReceivePipeline, SendPipeline};
use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use std::net::SocketAddr;

/// A `Server` header set by the application appears once: no second one from the engine.
pub fn server_header_from_application_appears_once(
    engine: &dyn EngineUnderTest,
) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = serve(engine, |call| async move {
            call.response().set_header(
                http::header::SERVER,
                HeaderValue::from_static("conformance-app/1.0"),
            );
            call.respond_text("served").await
        });
        let response = exchange(&*server, &get("/")).await;
        assert_eq!(
            response.header_all("server"),
            ["conformance-app/1.0"],
            "{}",
            response.raw_head
        );
    })
}

/// Redirects from a handler: 301, 302, 307 and 308, each with its `Location` once and no body.
pub fn redirects_carry_location(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = serve(engine, |call| async move {
            let path = call.request().path().to_owned();
            let location = format!("/target?from={}", &path[1..]);
            match path.as_str() {
                "/301" => call.respond_redirect(&location, true).await,
                "/302" => call.respond_redirect(&location, false).await,
                "/307" => {
                    call.respond_redirect_with(&location, StatusCode::TEMPORARY_REDIRECT)
                        .await
                }
                "/308" => {
                    call.respond_redirect_with(&location, StatusCode::PERMANENT_REDIRECT)
                        .await
                }
                _ => call.respond_text("not a redirect").await,
            }
        });
        let mut conn = connect(&*server).await;
        for status in [301u16, 302, 307, 308] {
            conn.send(get(&format!("/{status}"))).await.unwrap();
            let response = conn.read_response(false).await.unwrap();
            assert_eq!(response.status.as_u16(), status, "{}", response.raw_head);
            assert_eq!(
                response.header_all("location"),
                [format!("/target?from={status}")],
                "{}",
                response.raw_head
            );
            assert!(response.body.is_empty());
        }
    })
}

/// A redirect from an interceptor in the Plugins phase: the client gets it and the handler in the
/// Call phase never runs.
pub fn plugins_phase_redirect_skips_handler(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let handled: Slot<String> = Slot::default();
        let seen = handled.clone();
        let module = Box::new(move |app: &mut Application| {
            app.call_pipeline()
                .intercept_boxed(CallPipeline::PLUGINS, |ctx| {
                    Box::pin(async move {
                        if ctx.context.request().path() == "/old" {
                            ctx.context
                                .respond_redirect_with("/new", StatusCode::FOUND)
                                .await?;
                            ctx.finish();
                        }
                        Ok(())
                    })
                });
            app.call_pipeline()
                .intercept_boxed(CallPipeline::CALL, move |ctx| {
                    let call = ctx.context.clone();
                    let seen = seen.clone();
                    Box::pin(async move {
                        seen.set(call.request().path().to_owned());
                        call.respond_text("handler").await
                    })
                });
        });
        let server = engine.start(Default::default(), module);
        let response = exchange(&*server, &get("/old")).await;
        assert_eq!(response.status, StatusCode::FOUND);
        assert_eq!(response.header_all("location"), ["/new"]);
        assert_eq!(handled.get(), None, "the handler ran after the redirect");
        assert_eq!(exchange(&*server, &get("/new")).await.text(), "handler");
        assert_eq!(handled.get().as_deref(), Some("/new"));
    })
}

/// A response header appended twice keeps both values; a cookie becomes `Set-Cookie`.
pub fn appended_header_and_cookie_reach_client(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = serve(engine, |call| async move {
            let response = call.response();
            response.append_header("x-twice", HeaderValue::from_static("one"));
            response.append_header("x-twice", HeaderValue::from_static("two"));
            let mut cookie = cookie::Cookie::new("a", "b");
            cookie.set_path("/app");
            response.cookie(cookie)?;
            call.respond_text("with headers").await
        });
        let response = exchange(&*server, &get("/")).await;
        assert_eq!(
            response.header_all("x-twice"),
            ["one", "two"],
            "{}",
            response.raw_head
        );
        assert_eq!(
            response.header_all("set-cookie"),
            ["a=b; Path=/app"],
            "{}",
            response.raw_head
        );
        assert_eq!(response.text(), "with headers");
    })
}

/// Query parameters: single, repeated, missing, with `;`, raw and decoded, present and empty.
pub fn query_parameters_reach_handler(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = serve(engine, |call| async move {
            let query = call.request().query_parameters();
            let raw = call.request().raw_query_parameters();
            let seen = format!(
                "single={:?}\nlist={:?}\nmissing={:?} {:?}\nsemicolon={:?}\nraw={:?}\n\
                 decoded={:?}\nauto={} {:?}\n",
                query.get("single"),
                query.get_all("list").collect::<Vec<_>>(),
                query.get("missing"),
                query.get_all("missing").collect::<Vec<_>>(),
                query.get("semi"),
                raw.get("enc"),
                query.get("enc"),
                query.contains("auto"),
                query.get("auto"),
            );
            call.respond_text(seen).await
        });
        // One keep-alive connection: a recycled call must not keep the last request's parameters.
        let mut conn = connect(&*server).await;
        conn.send(get(
            "/search?single=1&list=a&list=b&semi=x;y&enc=value%261%2B2+3&auto",
        ))
        .await
        .unwrap();
        let response = conn.read_response(false).await.unwrap();
        assert_eq!(
            response.text(),
            "single=Some(\"1\")\nlist=[\"a\", \"b\"]\nmissing=None []\nsemicolon=Some(\"x;y\")\n\
             raw=Some(\"value%261%2B2+3\")\ndecoded=Some(\"value&1+2 3\")\nauto=true Some(\"\")\n"
        );
        // `?auto` alone: present, with an empty value; a query without it does not have it.
        for (query, auto) in [
            ("?auto", "true Some(\"\")"),
            ("?auto=", "true Some(\"\")"),
            ("", "false None"),
        ] {
            conn.send(get(&format!("/search{query}"))).await.unwrap();
            let response = conn.read_response(false).await.unwrap();
            assert_eq!(
                response.text(),
                format!(
                    "single=None\nlist=[]\nmissing=None []\nsemicolon=None\nraw=None\n\
                     decoded=None\nauto={auto}\n"
                ),
                "{query:?}"
            );
        }
    })
}

/// A handler that renders the form it receives.
fn form_module() -> Box<dyn Module> {
    handler_module(|call| async move {
        let form = call.receive_form().await?;
        let seen = format!(
            "name={:?} tags={:?} empty={:?} missing={:?}",
            form.get("name"),
            form.get_all("tag").collect::<Vec<_>>(),
            form.get("empty"),
            form.get("missing"),
        );
        call.respond_text(seen).await
    })
}

/// Form-urlencoded body parameters reach the handler decoded.
pub fn form_parameters_reach_handler(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = engine.start(Default::default(), form_module());
        let body = "name=J%C3%B6rg+Q&tag=a&tag=b%26c&empty=";
        let response = exchange(
            &*server,
            &format!(
                "POST /form HTTP/1.1\r\nHost: t\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ),
        )
        .await;
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(
            response.text(),
            "name=Some(\"Jörg Q\") tags=[\"a\", \"b&c\"] empty=Some(\"\") missing=None"
        );
    })
}

/// Receiving a form from a body of another content type (or none) is 415.
pub fn form_with_other_content_type_is_415(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = engine.start(Default::default(), form_module());
        for content_type in ["Content-Type: text/plain\r\n", ""] {
            let response = exchange(
                &*server,
                &format!(
                    "POST /form HTTP/1.1\r\nHost: t\r\n{content_type}Content-Length: 3\r\n\r\na=1"
                ),
            )
            .await;
            assert_eq!(
                response.status,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "{content_type:?}"
            );
        }
    })
}

/// Repeated request headers read as a list and as one joined value; an absent one is none.
pub fn repeated_request_headers_list_and_join(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = serve(engine, |call| async move {
            let headers = call.request().headers();
            let seen = format!(
                "list={:?} joined={:?} first={:?} absent={:?} {:?} {:?}",
                headers.get_all("X-Multi").collect::<Vec<_>>(),
                headers.joined("x-multi"),
                call.request().header("X-MULTI"),
                headers.get("x-absent"),
                headers.get_all("x-absent").collect::<Vec<_>>(),
                headers.joined("x-absent"),
            );
            call.respond_text(seen).await
        });
        let response = exchange(
            &*server,
            "GET / HTTP/1.1\r\nHost: t\r\nX-Multi: a\r\nX-Other: z\r\nx-multi: b, c\r\n\r\n",
        )
        .await;
        assert_eq!(
            response.text(),
            "list=[\"a\", \"b, c\"] joined=Some(\"a, b, c\") first=Some(\"a\") absent=None [] None"
        );
    })
}

/// The remote address the handler sees is the client's: a loopback address (and, on a socket,
/// exactly the client socket's address).
pub fn remote_address_is_client_loopback(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = serve(engine, |call| async move {
            call.respond_text(call.request().remote_addr().to_string())
                .await
        });
        let stream = connect_raw(&*server).await;
        let client = (&*stream as &dyn std::any::Any)
            .downcast_ref::<tokio::net::TcpStream>()
            .map(|tcp| tcp.local_addr().expect("the client socket's address"));
        let mut conn = ResponseReader::new(stream);
        conn.send(get("/")).await.unwrap();
        let text = conn.read_response(false).await.unwrap().text();
        let remote: SocketAddr = text.parse().unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert!(remote.ip().is_loopback(), "{remote}");
        assert_ne!(remote.port(), 0, "{remote}");
        if let Some(client) = client {
            assert_eq!(remote, client);
        }
    })
}

/// A plugin rewrites the request headers (Setup phase) and the request body (receive pipeline)
/// before the handler reads them.
pub fn plugin_rewrites_request_headers_and_body(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let module = Box::new(|app: &mut Application| {
            app.call_pipeline()
                .intercept_boxed(CallPipeline::SETUP, |ctx| {
                    ctx.context.request().rewrite_headers(|headers| {
                        headers.insert("x-added", HeaderValue::from_static("by plugin"));
                        headers.insert("x-original", HeaderValue::from_static("replaced"));
                        headers.remove("x-secret");
                    });
                    done()
                });
            app.receive_pipeline()
                .intercept_boxed(ReceivePipeline::TRANSFORM, |ctx| {
                    Box::pin(async move {
                        let original =
                            std::mem::replace(&mut ctx.subject, IncomingBody::Bytes(Bytes::new()))
                                .bytes()
                                .await?;
                        let replaced = format!("rewritten({})", String::from_utf8_lossy(&original));
                        ctx.proceed_with(IncomingBody::Bytes(replaced.into())).await
                    })
                });
            app.call_pipeline()
                .intercept_boxed(CallPipeline::CALL, |ctx| {
                    let call = ctx.context.clone();
                    Box::pin(async move {
                        let headers = call.request().headers();
                        let seen = format!(
                            "added={:?} original={:?} secret={:?} body={}",
                            headers.get("x-added"),
                            headers.get_all("x-original").collect::<Vec<_>>(),
                            headers.get("x-secret"),
                            call.receive_text().await?,
                        );
                        call.respond_text(seen).await
                    })
                });
        });
        let server = engine.start(Default::default(), module);
        let response = exchange(
            &*server,
            "POST / HTTP/1.1\r\nHost: t\r\nX-Original: sent\r\nX-Secret: s3cr3t\r\n\
             Content-Length: 4\r\n\r\nsent",
        )
        .await;
        assert_eq!(
            response.text(),
            "added=Some(\"by plugin\") original=[\"replaced\"] secret=None body=rewritten(sent)"
        );
    })
}

/// The path at which the interceptor in `phase` of `pipeline` fails: `/fail/call/Setup`, ...
fn failing_path(pipeline: &str, phase: crate::pipeline::Phase) -> String {
    format!("/fail/{pipeline}/{}", phase.name())
}

/// Every path at which an interceptor fails: one per phase of the call, receive and send pipelines.
fn failing_paths() -> Vec<String> {
    let call = CallPipeline::PHASES.map(|phase| failing_path("call", phase));
    let receive = ReceivePipeline::PHASES.map(|phase| failing_path("receive", phase));
    let send = SendPipeline::PHASES.map(|phase| failing_path("send", phase));
    call.into_iter().chain(receive).chain(send).collect()
}

/// Fails when the request's path is `at`.
fn fail_at(path: &str, at: &str) -> Result<(), Error> {
    if path == at {
        return Err(Error::msg(format!(
            "interceptor failed at {at} (expected by the test)"
        )));
    }
    Ok(())
}

/// A module with an interceptor in every phase of the call, receive and send pipelines, each
/// failing for its own path; the handler receives and responds.
fn failing_interceptors_module() -> Box<dyn Module> {
    Box::new(|app: &mut Application| {
        for phase in CallPipeline::PHASES {
            let at = failing_path("call", phase);
            app.call_pipeline().intercept_boxed(phase, move |ctx| {
                let failed = fail_at(ctx.context.request().path(), &at);
                Box::pin(async move { failed })
            });
        }
        for phase in ReceivePipeline::PHASES {
            let at = failing_path("receive", phase);
            app.receive_pipeline().intercept_boxed(phase, move |ctx| {
                let failed = fail_at(ctx.context.request().path(), &at);
                Box::pin(async move { failed })
            });
        }
        for phase in SendPipeline::PHASES {
            let at = failing_path("send", phase);
            app.send_pipeline().intercept_boxed(phase, move |ctx| {
                let failed = fail_at(ctx.context.request().path(), &at);
                Box::pin(async move { failed })
            });
        }
        app.call_pipeline()
            .intercept_boxed(CallPipeline::CALL, |ctx| {
                let call = ctx.context.clone();
                Box::pin(async move {
                    if call.request().path().ends_with("/Fallback") {
                        // Nothing answers: the Fallback phase has its turn.
                        return Ok(());
                    }
                    let body = call.receive_bytes().await?;
                    call.respond_text(format!("ok {}", body.len())).await
                })
            });
    })
}

/// A failing interceptor in any phase of the call pipeline, of the receive pipeline and of the
/// send pipeline is a 500 that names nothing internal, with one logged error; the connection and
/// the server go on.
pub fn failing_interceptor_in_any_phase_is_500(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        record_errors();
        let server = engine.start(Default::default(), failing_interceptors_module());
        let mut conn = connect(&*server).await;
        for path in failing_paths() {
            conn.send(format!(
                "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi"
            ))
            .await
            .unwrap();
            let failed = conn.read_response(false).await.unwrap();
            assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR, "{path}");
            assert!(
                !failed.text().contains("expected"),
                "{path}: {}",
                failed.text()
            );
            conn.send(get("/ok")).await.unwrap();
            let next = conn.read_response(false).await.unwrap();
            assert_eq!(next.text(), "ok 0", "after {path}");
            assert_eq!(errors_logged_for(&path), 1, "errors logged for {path}");
        }
    })
}

/// Text responses carry `text/plain; charset=utf-8`, binary ones `application/octet-stream`.
pub fn text_and_binary_content_types(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = serve(engine, |call| async move {
            match call.request().path() {
                "/text" => call.respond_text("plain").await,
                "/str" => call.respond("static").await,
                "/bytes" => call.respond(Bytes::from_static(b"\0\x01\x02")).await,
                _ => call.respond(vec![0xffu8, 0xfe]).await,
            }
        });
        let cases: [(&str, &str, &[u8]); 4] = [
            ("/text", "text/plain; charset=utf-8", b"plain"),
            ("/str", "text/plain; charset=utf-8", b"static"),
            ("/bytes", "application/octet-stream", b"\0\x01\x02"),
            ("/vec", "application/octet-stream", b"\xff\xfe"),
        ];
        for (path, content_type, body) in cases {
            let response = exchange(&*server, &get(path)).await;
            assert_eq!(
                response.header_all("content-type"),
                [content_type],
                "{path}"
            );
            assert_eq!(&response.body[..], body, "{path}");
        }
    })
}

/// A second `respond` fails and the first response is what the client gets, alone.
pub fn second_response_fails_and_first_is_sent(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let second: Slot<String> = Slot::default();
        let seen = second.clone();
        let server = serve(engine, move |call| {
            let seen = seen.clone();
            async move {
                call.respond_text("first").await?;
                let result = call.respond_text("second response").await;
                seen.set(match result {
                    Ok(()) => "ok".to_owned(),
                    Err(error) => format!("error {}", error.status_code().as_u16()),
                });
                Ok(())
            }
        });
        let mut conn = connect(&*server).await;
        for _ in 0..2 {
            conn.send(get("/")).await.unwrap();
            let response = conn.read_response(false).await.unwrap();
            assert_eq!(response.status, StatusCode::OK);
            assert_eq!(response.text(), "first");
        }
        assert_eq!(second.get().as_deref(), Some("error 500"));
    })
}
