//! The app's modules on the in-memory engine, installed together as `main.rs` installs them.

use engine_core::Application;
use engine_core::testing::test_application;
use http::{Method, StatusCode};

fn app() -> engine_core::testing::TestApplication {
    test_application(|app: &mut Application| {
        app::landing(app);
        app::login(app);
        app::techempower(app);
        app::api::api(app);
        app::chat::chat(app);
    })
}

#[tokio::test]
async fn landing_says_hello() {
    let response = app().client().get("/").await.unwrap();
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.text(), "Hello World!");
}

#[tokio::test]
async fn login_beside_the_other_modules() {
    let app = app();
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let body = "user=ada&password=analytical-engine";
    let ok = app
        .client()
        .request(Method::POST, "/login", &form, body.into())
        .await
        .unwrap();
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let cookie = ok.header("set-cookie").unwrap().split(';').next().unwrap();
    let me = app
        .client()
        .request(
            Method::GET,
            "/me",
            &[("Cookie", cookie)],
            Default::default(),
        )
        .await
        .unwrap();
    assert!(me.text().contains(">ada<"), "{}", me.text());
    let api = app.client().get("/api/items").await.unwrap();
    assert_eq!(api.text(), "[]");
    assert_eq!(
        app.client().get("/plaintext").await.unwrap().text(),
        "Hello, World!"
    );
}
