//! The Sessions plugin through the in-memory engine: round trips over each transport and store,
//! and every kind of bad session ignored.

use engine_core::plugins::sessions::{
    DirectoryStorage, MemoryStorage, SessionConfig, SessionKey, SessionStorage, SessionTransform,
    Sessions, SessionsExt, codec,
};
use engine_core::testing::{TestApplication, TestResponse, test_application};
use engine_core::{Application, ApplicationCall, Error};
use http::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct User {
    name: String,
}

/// Another session type, with the same shape as `User`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Other {
    name: String,
}

fn key(byte: u8) -> SessionKey {
    SessionKey::from_slice(&[byte; 32]).unwrap()
}

/// `/get` answers the session's name or `none`, `/set?name=` sets it, `/clear` clears it, `/plain`
/// does not touch sessions.
fn app_with(
    configure: impl Fn(&mut SessionConfig) + Send + 'static,
    header: bool,
) -> TestApplication {
    test_application(move |app: &mut Application| {
        app.install(Sessions, |sessions| {
            if header {
                sessions.header::<User>("X-Session", &configure);
            } else {
                sessions.cookie::<User>("USER", &configure);
            }
        });
        routes(app);
    })
}

fn routes(app: &mut Application) {
    app.routing(|route| {
        route.get("/get", |call: ApplicationCall| async move {
            let user = call.sessions().get::<User>().await?;
            call.respond_text(user.map_or("none".into(), |u| u.name))
                .await
        });
        route.get("/set", |call: ApplicationCall| async move {
            let name = call
                .request()
                .query_parameters()
                .get("name")
                .unwrap_or("ann")
                .to_owned();
            call.sessions().set(User { name }).await?;
            let read_back = call.sessions().get::<User>().await?.map(|u| u.name);
            call.respond_text(read_back.unwrap_or_default()).await
        });
        route.get("/clear", |call: ApplicationCall| async move {
            call.sessions().clear::<User>().await?;
            call.respond_text("cleared").await
        });
        route.get("/plain", |call: ApplicationCall| async move {
            call.respond_text("plain").await
        });
    });
}

/// `name=value` of the response's one `Set-Cookie`.
fn set_cookie(response: &TestResponse) -> String {
    let all = response.header_all("set-cookie");
    assert_eq!(all.len(), 1, "{}", response.raw_head);
    all[0].split(';').next().unwrap().to_owned()
}

async fn get_with(app: &TestApplication, path: &str, headers: &[(&str, &str)]) -> TestResponse {
    app.client()
        .request(Method::GET, path, headers, Default::default())
        .await
        .unwrap()
}

async fn read_with_cookie(app: &TestApplication, cookie: &str) -> String {
    get_with(app, "/get", &[("cookie", cookie)]).await.text()
}

#[tokio::test]
async fn signed_cookie_round_trip_with_its_attributes() {
    let app = app_with(
        |c| {
            c.sign([key(1)]);
        },
        false,
    );
    let set = app.client().get("/set?name=ann").await.unwrap();
    assert_eq!(set.text(), "ann");
    let raw = set.header("set-cookie").unwrap();
    for attribute in [
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
        "Path=/",
        "Max-Age=604800",
        "Expires=",
    ] {
        assert!(raw.contains(attribute), "{attribute} in {raw}");
    }
    let cookie = set_cookie(&set);
    assert!(cookie.starts_with("USER="), "{cookie}");
    assert_eq!(read_with_cookie(&app, &cookie).await, "ann");
    // Among other cookies, too.
    assert_eq!(
        read_with_cookie(&app, &format!("a=b; {cookie}; c=d")).await,
        "ann"
    );
    assert_eq!(read_with_cookie(&app, "a=b").await, "none");
    let plain = app.client().get("/plain").await.unwrap();
    assert!(plain.header("set-cookie").is_none(), "{}", plain.raw_head);
}

#[tokio::test]
async fn encrypted_cookie_round_trip_hides_the_value() {
    let app = app_with(
        |c| {
            c.encrypt([key(1)]);
        },
        false,
    );
    let cookie = set_cookie(&app.client().get("/set?name=secretname").await.unwrap());
    let clear_json = codec::encode(
        &User {
            name: "secretname".into(),
        },
        None,
    )
    .unwrap();
    let data = clear_json.trim_start_matches('.');
    assert!(!cookie.contains(data), "{cookie}");
    assert_eq!(read_with_cookie(&app, &cookie).await, "secretname");
}

/// Cookies that must read as no session, for a transform with `key(1)`.
fn bad_cookies(good: &str, transform: &SessionTransform) -> Vec<(String, &'static str)> {
    let value = good.strip_prefix("USER=").unwrap();
    let mut tampered = value.to_owned().into_bytes();
    tampered[3] = if tampered[3] == b'x' { b'y' } else { b'x' };
    let tampered = String::from_utf8(tampered).unwrap();
    let past = codec::unix_seconds(SystemTime::now()) - 10;
    let expired_payload = codec::encode(&User { name: "ann".into() }, Some(past)).unwrap();
    let expired = transform.encode("USER", &expired_payload).unwrap();
    let wrong_key = match transform {
        SessionTransform::Signed(_) => SessionTransform::signed([key(2)]),
        _ => SessionTransform::encrypted([key(2)]),
    };
    let fresh = codec::encode(
        &User {
            name: "mallory".into(),
        },
        None,
    )
    .unwrap();
    vec![
        (tampered, "tampered"),
        (value[..value.len() - 5].to_owned(), "truncated"),
        (value[..value.len() / 2].to_owned(), "half"),
        (expired, "expired but authentic"),
        (wrong_key.encode("USER", &fresh).unwrap(), "another key"),
        (fresh.clone(), "unsigned"),
        (
            transform.encode("OTHER", &fresh).unwrap(),
            "issued for another session",
        ),
        (String::new(), "empty"),
        ("%ZZ%00".into(), "garbage"),
    ]
}

#[tokio::test]
async fn tampered_truncated_expired_and_wrong_key_cookies_are_ignored() {
    for transform in [
        SessionTransform::signed([key(1)]),
        SessionTransform::encrypted([key(1)]),
    ] {
        let configured = transform.clone();
        let app = app_with(move |c| c.transform = configured.clone(), false);
        let good = set_cookie(&app.client().get("/set?name=ann").await.unwrap());
        assert_eq!(read_with_cookie(&app, &good).await, "ann", "{transform:?}");
        for (value, what) in bad_cookies(&good, &transform) {
            let got = read_with_cookie(&app, &format!("USER={value}")).await;
            assert_eq!(got, "none", "{what}: {value:?} with {transform:?}");
        }
    }
}

#[tokio::test]
async fn rotated_keys_still_verify_and_the_first_key_signs() {
    let old = app_with(
        |c| {
            c.sign([key(1)]);
        },
        false,
    );
    let rotated = app_with(
        |c| {
            c.sign([key(2), key(1)]);
        },
        false,
    );
    let issued_by_old = set_cookie(&old.client().get("/set?name=ann").await.unwrap());
    assert_eq!(read_with_cookie(&rotated, &issued_by_old).await, "ann");
    let issued_by_new = set_cookie(&rotated.client().get("/set?name=bob").await.unwrap());
    assert_eq!(read_with_cookie(&rotated, &issued_by_new).await, "bob");
    assert_eq!(read_with_cookie(&old, &issued_by_new).await, "none");
}

#[tokio::test]
async fn header_transport_round_trip() {
    let app = app_with(
        |c| {
            c.sign([key(1)]);
        },
        true,
    );
    let set = app.client().get("/set?name=ann").await.unwrap();
    assert!(set.header("set-cookie").is_none(), "{}", set.raw_head);
    let value = set.header("x-session").unwrap().to_owned();
    let got = get_with(&app, "/get", &[("X-Session", &value)]).await;
    assert_eq!(got.text(), "ann");
    let tampered = format!("{}x", &value[..value.len() - 1]);
    assert_eq!(
        get_with(&app, "/get", &[("X-Session", &tampered)])
            .await
            .text(),
        "none"
    );
    let cleared = get_with(&app, "/clear", &[("X-Session", &value)]).await;
    assert!(
        cleared.header("x-session").is_none(),
        "{}",
        cleared.raw_head
    );
}

#[tokio::test]
async fn clear_expires_the_cookie() {
    let app = app_with(
        |c| {
            c.sign([key(1)]);
        },
        false,
    );
    let cleared = app.client().get("/clear").await.unwrap();
    let raw = cleared.header("set-cookie").unwrap();
    assert!(
        raw.starts_with("USER=;") && raw.contains("Max-Age=0"),
        "{raw}"
    );
}

#[tokio::test]
async fn a_second_set_replaces_the_first_cookie() {
    let app = test_application(|app: &mut Application| {
        app.install(Sessions, |s| {
            s.cookie::<User>("USER", |c| {
                c.sign([key(1)]);
            });
        });
        app.routing(|route| {
            route.get("/twice", |call: ApplicationCall| async move {
                call.response()
                    .cookie(cookie::Cookie::new("other", "kept"))?;
                call.sessions()
                    .set(User {
                        name: "first".into(),
                    })
                    .await?;
                call.sessions()
                    .set(User {
                        name: "second".into(),
                    })
                    .await?;
                call.respond_text("ok").await
            });
        });
        routes(app);
    });
    let response = app.client().get("/twice").await.unwrap();
    let cookies = response.header_all("set-cookie");
    assert_eq!(cookies.len(), 2, "{}", response.raw_head);
    assert_eq!(cookies[0], "other=kept");
    let session = cookies[1].split(';').next().unwrap();
    assert_eq!(read_with_cookie(&app, session).await, "second");
}

/// A server-side app over `storage`, with the store kept for inspection.
fn server_side(storage: Arc<dyn SessionStorage>) -> TestApplication {
    test_application(move |app: &mut Application| {
        app.install(Sessions, |s| {
            s.cookie::<User>("USER", |c| c.storage = Some(storage.clone()));
        });
        routes(app);
    })
}

async fn server_side_round_trip(app: &TestApplication, storage: &dyn SessionStorage) {
    let first = set_cookie(&app.client().get("/set?name=ann").await.unwrap());
    let id = first.strip_prefix("USER=").unwrap().to_owned();
    assert_eq!(id.len(), 32, "{id}");
    assert!(storage.read(&id).await.unwrap().is_some());
    assert_eq!(read_with_cookie(app, &first).await, "ann");
    // A new set gives a new id and forgets the old one.
    let second = set_cookie(&get_with(app, "/set?name=bob", &[("cookie", &first)]).await);
    assert_ne!(first, second);
    assert_eq!(read_with_cookie(app, &first).await, "none");
    assert_eq!(read_with_cookie(app, &second).await, "bob");
    // Clear removes it from the store.
    let second_id = second.strip_prefix("USER=").unwrap();
    get_with(app, "/clear", &[("cookie", &second)]).await;
    assert_eq!(storage.read(second_id).await.unwrap(), None);
    assert_eq!(read_with_cookie(app, &second).await, "none");
    // Ids nobody issued, and ids that are not ids, read as nothing.
    for forged in [
        "0123456789abcdef0123456789abcdef",
        "../../etc/passwd",
        "..",
        "",
    ] {
        assert_eq!(
            read_with_cookie(app, &format!("USER={forged}")).await,
            "none",
            "{forged}"
        );
    }
}

#[tokio::test]
async fn memory_storage_round_trip() {
    let storage = Arc::new(MemoryStorage::new());
    let app = server_side(storage.clone());
    server_side_round_trip(&app, &*storage).await;
    assert!(storage.is_empty());
}

#[tokio::test]
async fn directory_storage_round_trip_on_a_temporary_directory() {
    let dir = tempfile::tempdir().unwrap();
    let sessions = dir.path().join("sessions");
    let storage = Arc::new(DirectoryStorage::new(&sessions));
    let app = server_side(storage.clone());
    let cookie = set_cookie(&app.client().get("/set?name=ann").await.unwrap());
    let id = cookie.strip_prefix("USER=").unwrap();
    let stored = std::fs::read_to_string(sessions.join(id)).unwrap();
    assert_eq!(
        codec::decode::<User>(&stored, SystemTime::now())
            .unwrap()
            .name,
        "ann"
    );
    server_side_round_trip(&app, &*storage).await;
    // The store itself refuses ids that could name another path.
    for id in ["../escape", "/etc/passwd", "a/b"] {
        assert!(storage.write(id, "x".into(), None).await.is_err(), "{id}");
        assert!(storage.read(id).await.is_err(), "{id}");
    }
    assert!(!dir.path().join("escape").exists());
}

#[tokio::test]
async fn an_expired_server_side_session_is_ignored_and_removed() {
    let storage = Arc::new(MemoryStorage::new());
    let app = server_side(storage.clone());
    let id = "00112233445566778899aabbccddeeff";
    let past = codec::unix_seconds(SystemTime::now()) - 1;
    let payload = codec::encode(&User { name: "old".into() }, Some(past)).unwrap();
    storage.write(id, payload, Some(past)).await.unwrap();
    assert_eq!(read_with_cookie(&app, &format!("USER={id}")).await, "none");
    assert_eq!(storage.read(id).await.unwrap(), None);
}

#[tokio::test]
async fn a_session_without_max_age_is_a_browser_session() {
    let app = app_with(
        |c| {
            c.sign([key(1)]);
            c.max_age = None;
            c.cookie.secure = false;
        },
        false,
    );
    let set = app.client().get("/set").await.unwrap();
    let raw = set.header("set-cookie").unwrap();
    assert!(
        !raw.contains("Max-Age") && !raw.contains("Expires") && !raw.contains("Secure"),
        "{raw}"
    );
    assert_eq!(read_with_cookie(&app, &set_cookie(&set)).await, "ann");
}

#[tokio::test]
async fn misuse_is_an_error_of_the_call() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let app = test_application(move |app: &mut Application| {
        app.install(Sessions, |s| {
            s.cookie::<User>("USER", |c| {
                c.sign([key(1)]);
            });
        });
        let record = record.clone();
        app.routing(move |route| {
            route.get("/late", move |call: ApplicationCall| {
                let record = record.clone();
                async move {
                    call.respond_text("early").await?;
                    let late = call
                        .sessions()
                        .set(User {
                            name: "late".into(),
                        })
                        .await;
                    record
                        .lock()
                        .unwrap()
                        .push(late.map_err(|e| e.status_code()));
                    Ok::<(), Error>(())
                }
            });
            route.get("/unregistered", |call: ApplicationCall| async move {
                call.sessions().get::<Other>().await?;
                call.respond_text("unreachable").await
            });
        });
    });
    let late = app.client().get("/late").await.unwrap();
    assert_eq!(late.text(), "early");
    assert!(late.header("set-cookie").is_none(), "{}", late.raw_head);
    assert_eq!(
        *seen.lock().unwrap(),
        [Err(StatusCode::INTERNAL_SERVER_ERROR)]
    );
    let unregistered = app.client().get("/unregistered").await.unwrap();
    assert_eq!(unregistered.status, StatusCode::INTERNAL_SERVER_ERROR);
}
