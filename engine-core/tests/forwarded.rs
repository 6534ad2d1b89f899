//! The request's origin behind proxies, and HSTS, through the in-memory engine: what the
//! forwarding plugins believe, what they refuse, and where `Strict-Transport-Security` goes.

use engine_core::plugins::forwarded::{
    CallOrigin, ForwardedHeaders, ProxyChoice, XForwardedHeaders,
};
use engine_core::plugins::{Hsts, HstsConfig};
use engine_core::testing::{TestApplication, test_application};
use engine_core::{Application, ApplicationCall};
use http::Method;
use std::time::Duration;

/// The origin as the handler sees it: `scheme://host:port remote_host:remote_port`.
fn origin_route(app: &mut Application) {
    app.routing(|route| {
        route.get("/", |call: ApplicationCall| async move {
            let o = call.origin();
            let remote_port = o.remote_port.map_or("-".to_owned(), |p| p.to_string());
            let text = format!(
                "{}://{}:{} {}:{remote_port}",
                o.scheme, o.host, o.port, o.remote_host
            );
            call.respond_text(text).await
        });
    });
}

async fn origin(app: &TestApplication, headers: &[(&str, &str)]) -> String {
    app.client()
        .request(Method::GET, "/", headers, Default::default())
        .await
        .unwrap()
        .text()
}

#[tokio::test]
async fn without_a_plugin_the_origin_is_the_connection() {
    let app = test_application(origin_route);
    assert_eq!(
        origin(&app, &[("host", "example.com:8080")]).await,
        "http://example.com:8080 127.0.0.1:49152"
    );
    assert_eq!(
        origin(
            &app,
            &[("host", "Example.com"), ("x-forwarded-proto", "https")]
        )
        .await,
        "http://example.com:80 127.0.0.1:49152"
    );
}

fn x_forwarded(choice: ProxyChoice) -> TestApplication {
    test_application(move |app: &mut Application| {
        app.install(XForwardedHeaders, |c| c.choice = choice);
        origin_route(app);
    })
}

#[tokio::test]
async fn x_forwarded_headers_pick_the_configured_hop() {
    let headers = [
        ("host", "backend:8080"),
        ("x-forwarded-for", "203.0.113.7, 198.51.100.2"),
        ("x-forwarded-for", "192.0.2.1"),
        ("x-forwarded-proto", "http, HTTPS"),
        ("x-forwarded-host", "evil.example, shop.example.com"),
    ];
    let cases = [
        (
            ProxyChoice::Last,
            "https://shop.example.com:443 192.0.2.1:-",
        ),
        (ProxyChoice::First, "http://evil.example:80 203.0.113.7:-"),
        (
            ProxyChoice::SkipLast(1),
            "http://evil.example:80 198.51.100.2:-",
        ),
        // Past the list: nothing believed, the connection's own origin.
        (
            ProxyChoice::SkipLast(5),
            "http://backend:8080 127.0.0.1:49152",
        ),
    ];
    for (choice, expected) in cases {
        let app = x_forwarded(choice.clone());
        assert_eq!(origin(&app, &headers).await, expected, "{choice:?}");
    }
}

#[tokio::test]
async fn x_forwarded_ports_and_addresses() {
    let app = x_forwarded(ProxyChoice::Last);
    let cases: [(&[(&str, &str)], &str); 5] = [
        (
            &[
                ("x-forwarded-host", "shop.example.com:8443"),
                ("x-forwarded-proto", "https"),
            ],
            "https://shop.example.com:8443 127.0.0.1:49152",
        ),
        (
            &[
                ("x-forwarded-host", "shop.example.com:8443"),
                ("x-forwarded-port", "9443"),
            ],
            "http://shop.example.com:9443 127.0.0.1:49152",
        ),
        (
            &[("host", "h"), ("x-forwarded-for", "2001:db8::1")],
            "http://h:80 2001:db8::1:-",
        ),
        (
            &[("host", "h"), ("x-forwarded-for", "[2001:db8::1]:4711")],
            "http://h:80 2001:db8::1:4711",
        ),
        // Entries that are not an address, scheme, host or port are ignored, each on its own.
        (
            &[
                ("host", "h"),
                ("x-forwarded-for", "<script>"),
                ("x-forwarded-proto", "ht tp"),
                ("x-forwarded-host", "a/b"),
                ("x-forwarded-port", "99999"),
            ],
            "http://h:80 127.0.0.1:49152",
        ),
    ];
    for (headers, expected) in cases {
        assert_eq!(origin(&app, headers).await, expected, "{headers:?}");
    }
}

#[tokio::test]
async fn headers_from_untrusted_peers_are_ignored() {
    let untrusted = test_application(|app: &mut Application| {
        app.install(XForwardedHeaders, |c| {
            c.trusted_peers = Some(vec!["10.0.0.2".parse().unwrap()]);
        });
        app.install(ForwardedHeaders, |c| {
            c.trusted_peers = Some(vec!["10.0.0.2".parse().unwrap()]);
        });
        origin_route(app);
    });
    let headers = [
        ("host", "h"),
        ("x-forwarded-proto", "https"),
        ("forwarded", "proto=https;for=192.0.2.9"),
    ];
    assert_eq!(
        origin(&untrusted, &headers).await,
        "http://h:80 127.0.0.1:49152"
    );
    // The in-memory client connects from 127.0.0.1.
    let trusted = test_application(|app: &mut Application| {
        app.install(XForwardedHeaders, |c| {
            c.trusted_peers = Some(vec!["127.0.0.1".parse().unwrap()]);
        });
        origin_route(app);
    });
    assert_eq!(
        origin(&trusted, &headers).await,
        "https://h:443 127.0.0.1:49152"
    );
}

fn forwarded(choice: ProxyChoice) -> TestApplication {
    test_application(move |app: &mut Application| {
        app.install(ForwardedHeaders, |c| c.choice = choice);
        origin_route(app);
    })
}

#[tokio::test]
async fn forwarded_elements_pick_the_configured_hop() {
    let headers = [
        ("host", "backend"),
        (
            "forwarded",
            r#"for=203.0.113.7;proto=http;host=evil.example"#,
        ),
        (
            "Forwarded",
            r#"for="[2001:db8:cafe::17]:4711";proto=https;host="shop.example.com:8443", for=_hidden"#,
        ),
    ];
    let cases = [
        (ProxyChoice::First, "http://evil.example:80 203.0.113.7:-"),
        (
            ProxyChoice::SkipLast(1),
            "https://shop.example.com:8443 2001:db8:cafe::17:4711",
        ),
        // The last element only names the client: the rest of the origin stays the connection's.
        (ProxyChoice::Last, "http://backend:80 _hidden:-"),
    ];
    for (choice, expected) in cases {
        let app = forwarded(choice.clone());
        assert_eq!(origin(&app, &headers).await, expected, "{choice:?}");
    }
}

#[tokio::test]
async fn a_malformed_forwarded_field_is_ignored_whole() {
    let app = forwarded(ProxyChoice::Last);
    for value in [
        "for=192.0.2.1;proto=https, for",
        "proto=https;proto=http",
        "for=\"x",
    ] {
        let headers = [("host", "h"), ("forwarded", value)];
        assert_eq!(
            origin(&app, &headers).await,
            "http://h:80 127.0.0.1:49152",
            "{value}"
        );
    }
    // A well-formed field next to a malformed one does not count either.
    let headers = [
        ("host", "h"),
        ("forwarded", "proto=https"),
        ("forwarded", "="),
    ];
    assert_eq!(origin(&app, &headers).await, "http://h:80 127.0.0.1:49152");
}

fn hsts(config: HstsConfig) -> TestApplication {
    test_application(move |app: &mut Application| {
        app.install(XForwardedHeaders, |_| {});
        app.install(Hsts, move |c| *c = config);
        origin_route(app);
    })
}

#[tokio::test]
async fn hsts_is_sent_over_https_only() {
    let app = hsts(HstsConfig::default());
    let secure = app
        .client()
        .request(
            Method::GET,
            "/",
            &[("x-forwarded-proto", "https")],
            Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        secure.header_all("strict-transport-security"),
        ["max-age=31536000; includeSubDomains"]
    );
    // RFC 6797 §7.2: never over plain http, forwarded or not.
    for headers in [vec![], vec![("x-forwarded-proto", "http")]] {
        let plain = app
            .client()
            .request(Method::GET, "/", &headers, Default::default())
            .await
            .unwrap();
        assert!(
            plain.header("strict-transport-security").is_none(),
            "{headers:?}"
        );
    }
    // On every response of a secure request, a 404 included.
    let missing = app
        .client()
        .request(
            Method::GET,
            "/nowhere",
            &[("x-forwarded-proto", "https")],
            Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(missing.status, http::StatusCode::NOT_FOUND);
    assert!(missing.header("strict-transport-security").is_some());
}

#[tokio::test]
async fn hsts_directives_follow_the_configuration() {
    let app = hsts(HstsConfig {
        max_age: Duration::from_secs(600),
        include_sub_domains: false,
        preload: true,
    });
    let response = app
        .client()
        .request(
            Method::GET,
            "/",
            &[("x-forwarded-proto", "https")],
            Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        response.header("strict-transport-security"),
        Some("max-age=600; preload")
    );
}
