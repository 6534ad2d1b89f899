//! Building: nesting, route scopes and chains, conflicts, refused templates, and the views of a
//! frozen router.

use super::Outcome::NotFound;
use super::{
    Method, Resolution, RouteBuilder, RouteConflict, RouteId, Router, check, found, method,
};

fn nested() -> RouteBuilder<&'static str, &'static str> {
    let mut routes = RouteBuilder::default();
    routes.scope_mut().replace("root");
    routes.route("/api", |api| {
        api.scope_mut().replace("api");
        api.get("/users", "list");
        api.route("/users/{id}", |user| {
            user.scope_mut().replace("user");
            user.get("", "show").delete("/", "remove");
            user.route("/posts", |posts| {
                posts.get("/{post}", "post");
            });
        });
    });
    routes.get("/api/health", "health");
    routes
}

#[test]
fn nested_and_flat_registrations_share_nodes() {
    let router = nested().build();
    let cases = [
        ("GET", "/api/users", "list", "/api/users"),
        ("GET", "/api/users/7", "show", "/api/users/{id}"),
        ("DELETE", "/api/users/7", "remove", "/api/users/{id}"),
        (
            "GET",
            "/api/users/7/posts/9",
            "post",
            "/api/users/{id}/posts/{post}",
        ),
        ("GET", "/api/health", "health", "/api/health"),
    ];
    for (m, path, value, template) in cases {
        let Resolution::Found(found) = router.resolve(&method(m), path) else {
            panic!("{m} {path}")
        };
        assert_eq!(
            (*found.value, found.route.path()),
            (value, template),
            "{m} {path}"
        );
    }
    let api = router.routes().filter(|r| r.path() == "/api").count();
    assert_eq!(api, 1, "one /api node for nested and flat registrations");
}

#[test]
fn the_chain_walks_scopes_from_the_root_down() {
    let router = nested().build();
    let Resolution::Found(found) = router.resolve(&Method::GET, "/api/users/7/posts/9") else {
        panic!("no match")
    };
    let paths: Vec<&str> = found.route.chain().map(|r| r.path()).collect();
    let expected = [
        "/",
        "/api",
        "/api/users",
        "/api/users/{id}",
        "/api/users/{id}/posts",
        "/api/users/{id}/posts/{post}",
    ];
    assert_eq!(paths, expected);
    assert_eq!(
        found.route.scopes().collect::<Vec<_>>(),
        [&"root", &"api", &"user"]
    );
    assert_eq!(
        found.route.parent().map(|p| p.path()),
        Some("/api/users/{id}/posts")
    );
    assert_eq!(router.root().parent().map(|p| p.id()), None);
    assert_eq!(router.root().id(), RouteId::ROOT);
}

#[test]
fn routes_are_dense_and_list_their_handlers() {
    let router = nested().build();
    for (index, route) in router.routes().enumerate() {
        assert_eq!(route.id().index(), index);
        assert_eq!(router.route(route.id()).path(), route.path());
    }
    let user = router
        .routes()
        .find(|r| r.path() == "/api/users/{id}")
        .unwrap();
    let handlers: Vec<_> = user
        .handlers()
        .map(|(m, v)| (m.map(Method::as_str), *v))
        .collect();
    assert_eq!(
        handlers,
        [(Some("DELETE"), "remove"), (Some("GET"), "show")]
    );
    let debug = format!("{router:?}");
    assert!(
        debug.contains("GET /api/users/{id}/posts/{post}"),
        "{debug}"
    );
}

#[test]
fn empty_template_and_slash_are_the_current_route() {
    let mut routes = RouteBuilder::new();
    routes.route("/a", |a| {
        a.get("", "get").post("/", "post").handle("//", "any");
    });
    let router = routes.build();
    assert_eq!(router.routes().len(), 2, "root and /a");
    for (m, path, value) in [
        ("GET", "/a", "get"),
        ("POST", "/a", "post"),
        ("PUT", "/a/", "any"),
    ] {
        assert!(
            matches!(router.resolve(&method(m), path), Resolution::Found(f) if *f.value == value)
        );
    }
}

#[test]
fn map_keeps_the_tree_and_replaces_values() {
    let router: Router<usize> =
        super::router(&[("GET", "/a/{x}", "four"), ("*", "/", "two")]).map(str::len);
    let Resolution::Found(found) = router.resolve(&Method::GET, "/a/1") else {
        panic!()
    };
    assert_eq!((*found.value, found.params.get("x")), (4, Some("1")));
    assert!(matches!(router.resolve(&Method::PUT, "/"), Resolution::Found(f) if *f.value == 3));
}

fn conflict(routes: &[(&str, &str)]) -> Option<(String, String)> {
    let mut builder = RouteBuilder::new();
    for &(m, template) in routes {
        match m {
            "*" => builder.handle(template, ()),
            m => builder.method(method(m), template, ()),
        };
    }
    let show = |r: &super::RouteRegistration| {
        format!(
            "{} {}",
            r.method.as_ref().map_or("*", Method::as_str),
            r.path
        )
    };
    builder
        .try_build()
        .err()
        .map(|c: RouteConflict| (show(&c.first), show(&c.second)))
}

#[test]
fn conflicts_are_found_at_build_time() {
    let some = |a: &str, b: &str| Some((a.to_owned(), b.to_owned()));
    type Case<'a> = (&'a [(&'a str, &'a str)], Option<(String, String)>);
    let cases: &[Case] = &[
        (&[("GET", "/a"), ("GET", "/a")], some("GET /a", "GET /a")),
        (&[("GET", "/a"), ("GET", "//a/")], some("GET /a", "GET /a")),
        (&[("*", "/a"), ("*", "/a")], some("* /a", "* /a")),
        (
            &[("GET", "/u/{id}"), ("GET", "/u/{name}")],
            some("GET /u/{id}", "GET /u/{name}"),
        ),
        (
            &[("*", "/u/{a}"), ("GET", "/u/{b}")],
            some("* /u/{a}", "GET /u/{b}"),
        ),
        (
            &[("GET", "/u/{a}"), ("*", "/u/{b}")],
            some("GET /u/{a}", "* /u/{b}"),
        ),
        (
            &[("GET", "/o/{a?}"), ("GET", "/o/{b?}")],
            some("GET /o/{a?}", "GET /o/{b?}"),
        ),
        (
            &[("GET", "/t/{...}"), ("GET", "/t/{p...}")],
            some("GET /t/{...}", "GET /t/{p...}"),
        ),
        (
            &[("GET", "/f/v{a}.x"), ("GET", "/f/v{b}.x")],
            some("GET /f/v{a}.x", "GET /f/v{b}.x"),
        ),
        (&[("GET", "/u/{id}"), ("POST", "/u/{name}")], None),
        (&[("GET", "/a"), ("*", "/a")], None),
        (&[("GET", "/a"), ("GET", "/a/{x?}")], None),
        (&[("GET", "/users/me"), ("GET", "/users/{id}")], None),
        (&[("GET", "/f/{n}.json"), ("GET", "/f/{n}")], None),
        (&[("GET", "/w/*"), ("GET", "/w/{x}")], None),
    ];
    for (routes, expected) in cases {
        assert_eq!(&conflict(routes), expected, "{routes:?}");
    }
}

#[test]
fn conflicts_found_through_nesting_name_both_registration_sites() {
    let mut routes = RouteBuilder::new();
    routes.get("/a/b", ());
    routes.route("/a", |a| {
        a.get("/b", ());
    });
    let err = routes.try_build().unwrap_err();
    assert_eq!(
        (err.first.path.as_str(), err.second.path.as_str()),
        ("/a/b", "/a/b")
    );
    assert!(err.first.location.file().ends_with("building.rs"));
    assert!(err.second.location.line() > err.first.location.line());
    let message = err.to_string();
    assert!(
        message.starts_with("route conflict: GET /a/b (registered at "),
        "{message}"
    );
}

#[test]
#[should_panic(expected = "route conflict: GET /u/{id}")]
fn build_panics_on_conflicts() {
    let mut routes = RouteBuilder::new();
    routes.get("/u/{id}", ()).get("/u/{name}", ());
    routes.build();
}

#[test]
#[should_panic(expected = "invalid route template \"/users/{id\"")]
fn malformed_templates_panic_at_registration() {
    RouteBuilder::new().get("/users/{id", ());
}

#[test]
#[should_panic(expected = "no route can be nested below it")]
fn nothing_nests_below_a_tailcard() {
    RouteBuilder::new().route("/files/{path...}", |files| {
        files.get("", ());
        files.get("/x", ());
    });
}

#[test]
fn handlers_on_a_tailcard_route_itself_are_fine() {
    let routes = [
        ("GET", "/files/{...}", "get"),
        ("POST", "/files/{...}", "post"),
    ];
    check(
        &routes,
        &[
            ("POST", "/files/a/b", found("post", &[])),
            ("GET", "/other", NotFound),
        ],
    );
}
