//! The JSON API (`/api/items`): every verb and every error on the in-memory engine, then the same
//! conversation with hyper's client over a real socket on each engine.

use app::api::{ApiConfig, api_with};
use engine_core::testing::{TestApplication, TestResponse, test_application};
use engine_core::{ServerConfig, embedded_server};
use http::{Method, StatusCode};
use serde_json::{Value, json};

mod common;

fn app(config: ApiConfig) -> TestApplication {
    test_application(api_with(config))
}

async fn send(app: &TestApplication, method: Method, path: &str, body: &str) -> TestResponse {
    let headers: &[(&str, &str)] = if body.is_empty() {
        &[]
    } else {
        &[("Content-Type", "application/json")]
    };
    app.client()
        .request(method, path, headers, body.to_owned().into())
        .await
        .unwrap()
}

fn json_of(response: &TestResponse) -> Value {
    assert_eq!(
        response.header("content-type"),
        Some("application/json"),
        "{}",
        response.raw_head
    );
    serde_json::from_slice(&response.body).unwrap()
}

#[tokio::test]
async fn create_list_get_update_delete() {
    let app = app(ApiConfig::default());
    let empty = send(&app, Method::GET, "/api/items", "").await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(json_of(&empty), json!([]));

    let created = send(
        &app,
        Method::POST,
        "/api/items",
        r#"{"name":"apple","quantity":3}"#,
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.header("location"), Some("/api/items/1"));
    assert_eq!(
        json_of(&created),
        json!({"id": 1, "name": "apple", "quantity": 3})
    );
    let second = send(
        &app,
        Method::POST,
        "/api/items/",
        r#"{"name":"pear","quantity":0}"#,
    )
    .await;
    assert_eq!(json_of(&second)["id"], 2, "ids are assigned in order");

    let all = send(&app, Method::GET, "/api/items", "").await;
    assert_eq!(
        json_of(&all),
        json!([{"id": 1, "name": "apple", "quantity": 3}, {"id": 2, "name": "pear", "quantity": 0}])
    );
    let one = send(&app, Method::GET, "/api/items/2", "").await;
    assert_eq!(
        json_of(&one),
        json!({"id": 2, "name": "pear", "quantity": 0})
    );

    let updated = send(
        &app,
        Method::PUT,
        "/api/items/1",
        r#"{"name":"apples","quantity":4}"#,
    )
    .await;
    assert_eq!(updated.status, StatusCode::OK);
    assert_eq!(
        json_of(&updated),
        json!({"id": 1, "name": "apples", "quantity": 4})
    );
    assert_eq!(
        json_of(&send(&app, Method::GET, "/api/items/1", "").await)["name"],
        "apples"
    );

    let deleted = send(&app, Method::DELETE, "/api/items/1", "").await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(deleted.body.is_empty());
    let gone = send(&app, Method::GET, "/api/items/1", "").await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(json_of(&gone), json!({"error": "no such item"}));

    // A deleted item's id is not given again.
    let third = send(
        &app,
        Method::POST,
        "/api/items",
        r#"{"name":"fig","quantity":1}"#,
    )
    .await;
    assert_eq!(json_of(&third)["id"], 3);
}

#[tokio::test]
async fn missing_items_are_404() {
    let app = app(ApiConfig::default());
    let body = r#"{"name":"x","quantity":1}"#;
    for (method, path, body) in [
        (Method::GET, "/api/items/7", ""),
        (Method::GET, "/api/items/seven", ""),
        (Method::PUT, "/api/items/7", body),
        (Method::DELETE, "/api/items/7", ""),
        (Method::DELETE, "/api/items/99999999999999999999", ""),
    ] {
        let response = send(&app, method.clone(), path, body).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{method} {path}");
        assert_eq!(json_of(&response)["error"], "no such item");
    }
    // A verb the collection does not have: routing's 405 with `Allow`.
    let response = send(&app, Method::DELETE, "/api/items", "").await;
    assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn invalid_items_name_each_wrong_field() {
    let app = app(ApiConfig::default());
    let long = "x".repeat(101);
    let long_body = format!(r#"{{"name":"{long}","quantity":1}}"#);
    let cases: &[(&str, Value)] = &[
        (
            "{}",
            json!({"name": "is required", "quantity": "is required"}),
        ),
        (
            r#"{"name":"  ","quantity":-1}"#,
            json!({"name": "must not be empty", "quantity": "must not be negative"}),
        ),
        (
            r#"{"name":7,"quantity":"3"}"#,
            json!({"name": "must be a string", "quantity": "must be a number"}),
        ),
        (
            r#"{"name":"ok","quantity":1.5}"#,
            json!({"quantity": "must be a whole number"}),
        ),
        (
            r#"{"name":"ok","quantity":1000001}"#,
            json!({"quantity": "must be at most 1000000"}),
        ),
        (
            &long_body,
            json!({"name": "must be at most 100 characters"}),
        ),
        (
            r#"{"id":5,"name":"ok","quantity":1,"colour":"red"}"#,
            json!({"id": "is assigned by the server", "colour": "is not a field of an item"}),
        ),
    ];
    for (body, fields) in cases {
        let response = send(&app, Method::POST, "/api/items", body).await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(
            json_of(&response),
            json!({"error": "invalid item", "fields": fields}),
            "{body}"
        );
    }
    let array = send(&app, Method::POST, "/api/items", "[1,2]").await;
    assert_eq!(array.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json_of(&array)["error"], "the body must be a JSON object");
    // An update is validated the same way, and a refused one changes nothing.
    send(
        &app,
        Method::POST,
        "/api/items",
        r#"{"name":"a","quantity":1}"#,
    )
    .await;
    let refused = send(&app, Method::PUT, "/api/items/1", r#"{"name":""}"#).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        json_of(&refused)["fields"],
        json!({"name": "must not be empty", "quantity": "is required"})
    );
    let kept = send(&app, Method::GET, "/api/items/1", "").await;
    assert_eq!(json_of(&kept), json!({"id": 1, "name": "a", "quantity": 1}));
    // Nothing was created by the refused requests.
    let all = send(&app, Method::GET, "/api/items", "").await;
    assert_eq!(json_of(&all).as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn bodies_that_are_not_json() {
    let app = app(ApiConfig::default());
    let item = r#"{"name":"a","quantity":1}"#;
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let headers: Vec<(&str, &str)> = content_type
            .map(|t| ("Content-Type", t))
            .into_iter()
            .collect();
        let response = app
            .client()
            .request(Method::POST, "/api/items", &headers, item.into())
            .await
            .unwrap();
        assert_eq!(
            response.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type:?}"
        );
        assert_eq!(response.header("accept"), Some("application/json"));
        assert_eq!(
            json_of(&response)["error"],
            "the body must be application/json"
        );
    }
    // Parameters and case do not matter (RFC 9110 §8.3.1).
    let response = app
        .client()
        .request(
            Method::POST,
            "/api/items",
            &[("Content-Type", "Application/JSON; charset=utf-8")],
            item.into(),
        )
        .await
        .unwrap();
    assert_eq!(response.status, StatusCode::CREATED);

    // A `+json` type is JSON too (RFC 6839 §3.1).
    let response = app
        .client()
        .request(
            Method::POST,
            "/api/items",
            &[("Content-Type", "application/vnd.items+json")],
            item.into(),
        )
        .await
        .unwrap();
    assert_eq!(response.status, StatusCode::CREATED);

    let malformed = send(&app, Method::POST, "/api/items", r#"{"name": "a","#).await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    let error = json_of(&malformed)["error"].as_str().unwrap().to_owned();
    assert!(error.starts_with("malformed JSON: EOF"), "{error}");
    let trailing = send(&app, Method::POST, "/api/items", r#"{"name":"a"} {}"#).await;
    assert_eq!(trailing.status, StatusCode::BAD_REQUEST);
    let error = json_of(&trailing)["error"].as_str().unwrap().to_owned();
    assert!(error.starts_with("malformed JSON: trailing"), "{error}");
}

#[tokio::test]
async fn accept_is_negotiated() {
    let app = app(ApiConfig::default());
    for accept in [
        "application/json",
        "application/*",
        "*/*",
        "text/html, */*;q=0.1",
    ] {
        let response = app
            .client()
            .request(
                Method::GET,
                "/api/items",
                &[("Accept", accept)],
                Default::default(),
            )
            .await
            .unwrap();
        assert_eq!(response.status, StatusCode::OK, "{accept}");
        assert_eq!(json_of(&response), json!([]), "{accept}");
    }
    // Nothing but JSON is written: an `Accept` without it is refused.
    for path in ["/api/items", "/api/items/7"] {
        let response = app
            .client()
            .request(
                Method::GET,
                path,
                &[("Accept", "text/html")],
                Default::default(),
            )
            .await
            .unwrap();
        assert_eq!(response.status, StatusCode::NOT_ACCEPTABLE, "{path}");
    }
}

#[tokio::test]
async fn limits_answer_413_and_507() {
    let app = app(ApiConfig {
        max_items: 2,
        max_body_size: 64,
    });
    let padded = format!(r#"{{"name":"a","quantity":1{}}}"#, " ".repeat(64));
    let large = send(&app, Method::POST, "/api/items", &padded).await;
    assert_eq!(large.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json_of(&large)["error"], "the body is too large");
    let item = r#"{"name":"a","quantity":1}"#;
    for _ in 0..2 {
        assert_eq!(
            send(&app, Method::POST, "/api/items", item).await.status,
            StatusCode::CREATED
        );
    }
    // A body of undeclared length is cut at the limit too.
    let mut connection = app.connect().unwrap();
    let chunk = "x".repeat(40);
    connection
        .send(format!(
            "POST /api/items HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n\
             Transfer-Encoding: chunked\r\n\r\n28\r\n{chunk}\r\n28\r\n{chunk}\r\n0\r\n\r\n"
        ))
        .await
        .unwrap();
    let chunked = connection.read_response(false).await.unwrap();
    assert_eq!(chunked.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json_of(&chunked)["error"], "the body is too large");
    let full = send(&app, Method::POST, "/api/items", item).await;
    assert_eq!(full.status, StatusCode::INSUFFICIENT_STORAGE);
    assert_eq!(json_of(&full)["error"], "the collection is full");
    // Room again once one is deleted.
    send(&app, Method::DELETE, "/api/items/1", "").await;
    assert_eq!(
        send(&app, Method::POST, "/api/items", item).await.status,
        StatusCode::CREATED
    );
}

/// hyper's HTTP/1.1 client over one keep-alive connection: each verb, a validation error and a
/// 404, against the API on `engine`.
async fn hyper_conversation(engine: Box<dyn engine_core::Engine>) {
    let mut server = embedded_server(
        engine,
        ServerConfig::listen("127.0.0.1", 0),
        api_with(ApiConfig::default()),
    );
    server.start(false).unwrap();
    let mut client = common::hyper_client(server.local_addrs()[0]).await;
    let item = r#"{"name":"plum","quantity":9}"#;
    let (status, headers, body) = client.send("POST", "/api/items", Some(item)).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(headers["location"], "/api/items/1");
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        json!({"id": 1, "name": "plum", "quantity": 9})
    );
    let (status, _, body) = client.send("GET", "/api/items", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()[0]["name"],
        "plum"
    );
    let (status, _, body) = client
        .send("PUT", "/api/items/1", Some(r#"{"name":"plum"}"#))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["fields"],
        json!({"quantity": "is required"})
    );
    let (status, _, _) = client.send("DELETE", "/api/items/1", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, headers, _) = client.send("GET", "/api/items/1", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers["content-type"], "application/json");
    server.stop(
        std::time::Duration::from_secs(1),
        std::time::Duration::from_secs(2),
    );
}

common::hyper_on_each_engine!(hyper_conversation);
