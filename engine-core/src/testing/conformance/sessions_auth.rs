//! Sessions and Authentication over the wire (CONFORMANCE.md "Application behaviour seen over the
//! wire"): a session cookie set, sent back and read on one keep-alive connection; a protected
//! route refused with a Basic challenge, then admitted.

use super::EngineUnderTest;
use super::support::*;
use crate::engine::ServerConfig;
use crate::pipeline::BoxFuture;
use crate::plugins::auth::{AuthenticateExt, Authentication, PrincipalExt, UserIdPrincipal};
use crate::plugins::sessions::{SessionKey, Sessions, SessionsExt};
use crate::{Application, ApplicationCall};
use http::StatusCode;

fn counter_module(app: &mut Application) {
    app.install(Sessions, |sessions| {
        sessions.cookie::<u32>("COUNT", |c| {
            c.sign([SessionKey::from_slice(&[9; 32]).expect("a 32-byte key")]);
        });
    });
    app.routing(|route| {
        route.get("/count", |call: ApplicationCall| async move {
            let count = call.sessions().get::<u32>().await?.unwrap_or(0) + 1;
            call.sessions().set(count).await?;
            call.respond_text(count.to_string()).await
        });
    });
}

/// A signed session cookie is set, returned by the client, and read back: the count goes 1, 2, 3;
/// a tampered cookie starts again from 1.
pub fn session_cookie_round_trips(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = engine.start(ServerConfig::default(), Box::new(counter_module));
        let mut conn = connect(&*server).await;
        let mut cookie = String::new();
        for expected in ["1", "2", "3"] {
            let request = format!("GET /count HTTP/1.1\r\nHost: test\r\n{cookie}\r\n");
            conn.send(request).await.expect("send");
            let response = conn.read_response(false).await.expect("a response");
            assert_eq!(response.text(), expected, "{}", response.raw_head);
            let set = response.header_all("set-cookie");
            assert_eq!(set.len(), 1, "{}", response.raw_head);
            let pair = set[0].split(';').next().unwrap_or_default();
            cookie = format!("Cookie: {pair}\r\n");
        }
        // The payload is `expiry.base64url(json)`: `Mw` is `3`, `OQ` is `9`.
        let tampered = cookie.replacen(".Mw.", ".OQ.", 1);
        assert_ne!(tampered, cookie);
        conn.send(format!(
            "GET /count HTTP/1.1\r\nHost: test\r\n{tampered}\r\n"
        ))
        .await
        .expect("send");
        let response = conn.read_response(false).await.expect("a response");
        assert_eq!(response.text(), "1", "a tampered session is ignored");
    })
}

fn protected_module(app: &mut Application) {
    app.install(Authentication, |auth| {
        auth.basic("admin", |basic| {
            basic.realm = "conformance".into();
            basic.validate(|_call, c| async move {
                (c.name == "ann" && c.password == "secret").then(|| UserIdPrincipal::new(c.name))
            });
        });
    });
    app.routing(|route| {
        route.authenticate(["admin"], |admin| {
            admin.get("/admin", |call: ApplicationCall| async move {
                let name = call.principal::<UserIdPrincipal>().map(|p| p.name);
                call.respond_text(name.unwrap_or_default()).await
            });
        });
    });
}

/// A protected route: 401 with `WWW-Authenticate: Basic realm=.., charset="UTF-8"` (RFC 7617), then
/// 200 with the right credentials, on the same connection.
pub fn basic_protected_route_401_then_200(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = engine.start(ServerConfig::default(), Box::new(protected_module));
        let mut conn = connect(&*server).await;
        conn.send(get("/admin")).await.expect("send");
        let refused = conn.read_response(false).await.expect("a response");
        assert_eq!(
            refused.status,
            StatusCode::UNAUTHORIZED,
            "{}",
            refused.raw_head
        );
        assert_eq!(
            refused.header_all("www-authenticate"),
            [r#"Basic realm="conformance", charset="UTF-8""#],
            "{}",
            refused.raw_head
        );
        // ann:secret
        let request =
            "GET /admin HTTP/1.1\r\nHost: test\r\nAuthorization: Basic YW5uOnNlY3JldA==\r\n\r\n";
        conn.send(request).await.expect("send");
        let admitted = conn.read_response(false).await.expect("a response");
        assert_eq!(admitted.status, StatusCode::OK, "{}", admitted.raw_head);
        assert_eq!(admitted.text(), "ann");
    })
}
