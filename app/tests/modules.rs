//! The app's modules on the in-memory engine.

use engine_core::Application;
use engine_core::testing::test_application;
use http::{Method, StatusCode};

fn app() -> engine_core::testing::TestApplication {
    test_application(|app: &mut Application| {
        app::landing(app);
        app::login(app);
    })
}

#[tokio::test]
async fn landing_says_hello() {
    let response = app().client().get("/").await.unwrap();
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.text(), "Hello World!");
}

#[tokio::test]
async fn login_checks_the_form() {
    let app = app();
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let ok = app
        .client()
        .request(Method::POST, "/login", &form, "user=ada&password=x".into())
        .await
        .unwrap();
    assert_eq!(ok.text(), "Welcome, ada!");
    let refused = app
        .client()
        .request(Method::POST, "/login", &form, "user=ada".into())
        .await
        .unwrap();
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
}
