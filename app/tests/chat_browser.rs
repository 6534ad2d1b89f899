//! The chat page in a real browser: headless Chromium, driven over the Chrome DevTools protocol
//! (CDP, a WebSocket the browser opens), with two pages in the room on each engine. Each page's
//! own JavaScript connects to `/ws/chat`, sends what is typed, and renders what arrives; the test
//! types into one page and reads the other's DOM. The same browser then logs in through the login
//! form, keeps the session cookie in its own jar, and logs out.
//!
//! Needs Debian's `chromium`: installed with `apt-get install -y chromium` when it is missing and
//! apt can be used (root). Where neither is possible the test prints a SKIP line and passes.

mod common;

use app::chat::chat;
use app::login::{LoginConfig, login_with};
use engine_core::plugins::sessions::SessionKey;
use engine_core::{Engine, ServerConfig, embedded_server};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

/// The flags this machine needs: no sandbox as root, and nothing that reaches for the network
/// (without them Chromium stalls where there is none).
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--remote-debugging-port=0",
];

/// Chromium's path, installing Debian's package when it is missing and apt can be used; `None`
/// (with the reason) where it cannot be had.
fn chromium() -> Result<PathBuf, String> {
    let find = || {
        ["chromium", "chromium-browser"].iter().find_map(|name| {
            let out = Command::new("sh")
                .args(["-c", &format!("command -v {name}")])
                .output()
                .ok()?;
            let path = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            (out.status.success() && !path.is_empty()).then(|| PathBuf::from(path))
        })
    };
    if let Some(path) = find() {
        return Ok(path);
    }
    let apt = Command::new("sh")
        .args(["-c", "command -v apt-get"])
        .output();
    if !apt.is_ok_and(|out| out.status.success()) {
        return Err("chromium is not installed and there is no apt-get".into());
    }
    let install = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("apt-get could not run: {e}"))
    };
    eprintln!("chat_browser: installing Debian's chromium (apt-get install -y chromium)");
    let mut out = install(&["install", "-y", "-q", "chromium"])?;
    if !out.status.success() {
        // A stale package list: refresh it once and try again.
        install(&["update", "-q"])?;
        out = install(&["install", "-y", "-q", "chromium"])?;
    }
    if !out.status.success() {
        return Err(format!(
            "apt-get install chromium failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    find().ok_or_else(|| "apt-get installed chromium, but it is not on PATH".into())
}

/// A headless Chromium with a fresh profile, killed on drop.
struct Browser {
    child: Child,
    profile: PathBuf,
}

impl Browser {
    fn launch(path: &Path) -> Self {
        let profile = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("chromium-profile-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&profile);
        std::fs::create_dir_all(&profile).unwrap();
        let child = Command::new(path)
            .args(FLAGS)
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromium runs");
        Self { child, profile }
    }

    /// The browser's DevTools address, from the file it writes once it listens.
    fn devtools_url(&mut self) -> String {
        let file = self.profile.join("DevToolsActivePort");
        let started = Instant::now();
        loop {
            if let Ok(text) = std::fs::read_to_string(&file)
                && let [port, path] = text.lines().collect::<Vec<_>>()[..]
            {
                return format!("ws://127.0.0.1:{port}{path}");
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("chromium exited ({status}) before listening for DevTools");
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "chromium did not open DevTools within 60 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// A CDP connection to the browser: commands by id, events ignored.
struct Cdp {
    socket: WebSocketStream<TcpStream>,
    next_id: u64,
}

impl Cdp {
    async fn connect(url: &str) -> Self {
        let authority = url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .unwrap()
            .to_owned();
        let stream = TcpStream::connect(authority).await.unwrap();
        let (socket, _) = tokio_tungstenite::client_async(url, stream).await.unwrap();
        Self { socket, next_id: 0 }
    }

    /// Runs `method` (in the page `session`, or on the browser) and returns its result.
    async fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        match self.try_call(session, method, params).await {
            Ok(result) => result,
            Err(error) => panic!("{method}: {error}"),
        }
    }

    /// Runs `method` and returns its result, or the error DevTools answered.
    async fn try_call(
        &mut self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value, Value> {
        self.next_id += 1;
        let id = self.next_id;
        let mut command = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            command["sessionId"] = json!(session);
        }
        self.socket
            .send(Message::text(command.to_string()))
            .await
            .unwrap();
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(30), self.socket.next())
                .await
                .unwrap_or_else(|_| panic!("no answer to {method} within 30 s"))
                .expect("the DevTools connection is open")
                .unwrap();
            let Message::Text(text) = frame else { continue };
            let reply: Value = serde_json::from_str(&text).unwrap();
            if reply["id"] == id {
                return match reply.get("error") {
                    Some(error) => Err(error.clone()),
                    None => Ok(reply["result"].clone()),
                };
            }
        }
    }

    /// Opens `url` in a new page; the page's session.
    async fn open(&mut self, url: &str) -> String {
        let target = self
            .call(None, "Target.createTarget", json!({"url": url}))
            .await;
        let attach = json!({"targetId": target["targetId"], "flatten": true});
        let session = self.call(None, "Target.attachToTarget", attach).await;
        session["sessionId"].as_str().unwrap().to_owned()
    }

    /// Evaluates `expression` in the page; its value.
    async fn eval(&mut self, session: &str, expression: &str) -> Value {
        match self.try_eval(session, expression).await {
            Ok(value) => value,
            Err(error) => panic!("Runtime.evaluate: {error}"),
        }
    }

    /// Evaluates `expression` in the page; its value, or the error DevTools answered.
    async fn try_eval(&mut self, session: &str, expression: &str) -> Result<Value, Value> {
        let params = json!({"expression": expression, "returnByValue": true});
        let result = self
            .try_call(Some(session), "Runtime.evaluate", params)
            .await?;
        assert!(
            result.get("exceptionDetails").is_none(),
            "{expression}: {result}"
        );
        Ok(result["result"]["value"].clone())
    }

    /// Waits until `expression` is true in the page (false while it throws: the page may still
    /// be loading); fails after 30 s with `what`.
    async fn wait_for(&mut self, session: &str, expression: &str, what: &str) {
        let probe = format!(
            "(() => {{ try {{ return !!({expression}); }} catch (e) {{ return false; }} }})()"
        );
        let started = Instant::now();
        loop {
            // A probe that lands while the page navigates (a reload, a form's submit) is answered
            // with this error instead of a value: the page is not there yet, so it counts as false.
            match self.try_eval(session, &probe).await {
                Ok(Value::Bool(true)) => return,
                Ok(_) => {}
                Err(error) if error["message"] == "Inspected target navigated or closed" => {}
                Err(error) => panic!("{what}: Runtime.evaluate: {error}"),
            }
            if started.elapsed() > Duration::from_secs(30) {
                let log = "document.getElementById('log')?.innerText ?? '(no page yet)'";
                let log = self.eval(session, log).await;
                panic!("{what}: not within 30 s; the page's log: {log}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Types `text` into the page's message field and presses Send.
    async fn type_and_send(&mut self, session: &str, text: &str) {
        let script = format!(
            "document.getElementById('text').value = {}; document.getElementById('send').click(); true",
            json!(text)
        );
        assert_eq!(self.eval(session, &script).await, json!(true));
    }
}

/// A page's log has an entry of class `kind` whose text is `text`.
fn has_entry(kind: &str, text: &str) -> String {
    format!(
        "[...document.querySelectorAll('#log li.{kind}')].some(li => li.textContent === {})",
        json!(text)
    )
}

async fn two_pages_talk(cdp: &mut Cdp, engine: Box<dyn Engine>) {
    let mut server = embedded_server(engine, ServerConfig::listen("127.0.0.1", 0), chat);
    server.start(false).unwrap();
    let base = format!("http://{}/chat", server.local_addrs()[0]);
    let alice = cdp.open(&format!("{base}?name=alice")).await;
    let connected = "document.body.dataset.state === 'connected'";
    cdp.wait_for(&alice, connected, "alice connects").await;
    let bob = cdp.open(&format!("{base}?name=bob")).await;
    cdp.wait_for(&bob, connected, "bob connects").await;
    cdp.wait_for(
        &alice,
        &has_entry("join", "bob joined"),
        "alice sees bob join",
    )
    .await;

    cdp.type_and_send(&alice, "hello from alice").await;
    let hello = has_entry("message", "alice: hello from alice");
    cdp.wait_for(&bob, &hello, "bob sees alice's message").await;
    cdp.type_and_send(&bob, "hi alice").await;
    let hi = has_entry("message", "bob: hi alice");
    cdp.wait_for(&alice, &hi, "alice sees bob's message").await;

    // Markup in a message is shown as text, never run.
    let markup = "<img src=x onerror=\"document.body.dataset.pwned=1\">";
    cdp.type_and_send(&bob, markup).await;
    let shown = has_entry("message", &format!("bob: {markup}"));
    cdp.wait_for(&alice, &shown, "alice sees the markup as text")
        .await;
    let injected = "document.querySelector('#log img') === null && !document.body.dataset.pwned";
    assert_eq!(cdp.eval(&alice, injected).await, json!(true));

    let bob_target = target_of(cdp, &bob).await;
    cdp.call(None, "Target.closeTarget", json!({"targetId": bob_target}))
        .await;
    cdp.wait_for(
        &alice,
        &has_entry("leave", "bob left"),
        "alice sees bob leave",
    )
    .await;
    server.stop(Duration::from_secs(1), Duration::from_secs(2));
    cdp.wait_for(
        &alice,
        "document.body.dataset.state === 'closed'",
        "the page sees the stop",
    )
    .await;
}

/// Fills the page's form `fields` (name, value) and submits the form. The submit is left to a
/// timer, so that the evaluation returns before the page navigates away.
async fn fill(cdp: &mut Cdp, session: &str, fields: &[(&str, &str)]) {
    let mut script = String::new();
    for (name, value) in fields {
        script += &format!(
            "document.querySelector('input[name={name}]').value = {};",
            json!(value)
        );
    }
    script += "setTimeout(() => document.querySelector('form').submit(), 0); true";
    assert_eq!(cdp.eval(session, &script).await, json!(true));
}

/// The login form, `/me` and logout, as a browser does them: redirects followed, the cookie kept
/// by the browser (`HttpOnly`: no script sees it).
async fn log_in_and_out(cdp: &mut Cdp, engine: Box<dyn Engine>) {
    let key = SessionKey::from_slice(&[9; 32]).unwrap();
    let mut server = embedded_server(
        engine,
        ServerConfig::listen("127.0.0.1", 0),
        login_with(LoginConfig::new(key)),
    );
    server.start(false).unwrap();
    // `localhost`: a potentially trustworthy origin, to which the browser sends `Secure` cookies.
    let base = format!("http://localhost:{}", server.local_addrs()[0].port());
    let page = cdp.open(&format!("{base}/me")).await;
    let on_form = "location.pathname === '/login' && !!document.querySelector('form')";
    cdp.wait_for(&page, on_form, "/me sends a stranger to the form")
        .await;
    fill(cdp, &page, &[("user", "ada"), ("password", "wrong")]).await;
    let refused = "!!document.querySelector('[role=alert]')";
    cdp.wait_for(&page, refused, "a wrong password shows the form again")
        .await;
    fill(
        cdp,
        &page,
        &[("user", "ada"), ("password", "analytical-engine")],
    )
    .await;
    let logged_in =
        "location.pathname === '/me' && document.getElementById('user').textContent === 'ada'";
    cdp.wait_for(&page, logged_in, "the login lands on /me")
        .await;
    assert_eq!(
        cdp.eval(&page, "document.cookie.includes('app_session')")
            .await,
        json!(false),
        "the session cookie is HttpOnly"
    );
    // A reload is let in with the cookie the browser kept.
    cdp.eval(&page, "setTimeout(() => location.reload(), 0); true")
        .await;
    cdp.wait_for(&page, logged_in, "a reload stays logged in")
        .await;
    cdp.eval(
        &page,
        "setTimeout(() => document.querySelector('form').submit(), 0); true",
    )
    .await;
    cdp.wait_for(&page, on_form, "logout lands on the form")
        .await;
    cdp.eval(
        &page,
        &format!("setTimeout(() => location.href = '{base}/me', 0); true"),
    )
    .await;
    cdp.wait_for(&page, on_form, "after logout /me sends to the form again")
        .await;
    server.stop(Duration::from_secs(1), Duration::from_secs(2));
}

/// The target a page session is attached to.
async fn target_of(cdp: &mut Cdp, session: &str) -> Value {
    let info = cdp
        .call(Some(session), "Target.getTargetInfo", json!({}))
        .await;
    info["targetInfo"]["targetId"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pages_in_headless_chromium() {
    let path = match chromium() {
        Ok(path) => path,
        Err(why) => {
            eprintln!("SKIP two_pages_in_headless_chromium: {why}");
            return;
        }
    };
    let mut browser = Browser::launch(&path);
    let mut cdp = Cdp::connect(&browser.devtools_url()).await;
    two_pages_talk(&mut cdp, Box::new(engine_tokio::TokioEngine::new())).await;
    log_in_and_out(&mut cdp, Box::new(engine_tokio::TokioEngine::new())).await;
    common::require_uring();
    two_pages_talk(&mut cdp, Box::new(engine_uring::UringEngine::new())).await;
    log_in_and_out(&mut cdp, Box::new(engine_uring::UringEngine::new())).await;
}
