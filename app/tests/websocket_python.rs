//! The app's `/ws/echo` against a third-party client, Python's `websockets` package, on each
//! engine, with permessage-deflate (the client offers it by default, the app accepts it) and
//! without: a greeting, 1000 messages in order, a 1 MiB binary message, and the close handshake.
//!
//! Needs `python3`; the `websockets` package is installed with pip if it is missing. Without either
//! the tests fail, saying so.

mod common;

use common::App;
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The client: every step checked, "OK" printed at the end.
const CLIENT: &str = r#"
import sys
from websockets.extensions.permessage_deflate import PerMessageDeflate
from websockets.protocol import State
from websockets.sync.client import connect

port, compression = int(sys.argv[1]), sys.argv[2]
with connect(
    f"ws://127.0.0.1:{port}/ws/echo",
    open_timeout=10,
    max_size=4 * 2**20,
    compression=None if compression == "none" else "deflate",
) as ws:
    extensions = ws.protocol.extensions
    if compression == "none":
        assert extensions == [], f"extensions {extensions!r}"
    else:
        assert len(extensions) == 1 and isinstance(extensions[0], PerMessageDeflate), (
            f"extensions {extensions!r}, response {ws.response.headers!r}"
        )
    ws.send("Hello")
    reply = ws.recv(timeout=10)
    assert reply == "Hello", f"greeting: got {reply!r}"

    for i in range(1000):
        ws.send(f"message {i}")
    for i in range(1000):
        reply = ws.recv(timeout=10)
        assert reply == f"message {i}", f"message {i}: got {reply!r}"

    # Compressible and not: a repeating pattern, then bytes from a PRNG.
    import random
    payload = bytes((i * 31 + 7) % 256 for i in range(2**19)) + random.Random(7).randbytes(2**19)
    ws.send(payload)
    reply = ws.recv(timeout=30)
    assert isinstance(reply, bytes), f"binary: got a {type(reply).__name__}"
    assert len(reply) == len(payload), f"binary: got {len(reply)} bytes"
    assert reply == payload, "binary: the bytes differ"

    ws.close(code=1000, reason="done")
    # close() returns once the handshake is over: both Close frames exchanged and the TCP
    # connection closed (or the close timeout hit, which the checks below catch).
    protocol = ws.protocol
    assert protocol.state is State.CLOSED, f"state {protocol.state!r}"
    assert protocol.close_sent is not None and protocol.close_sent.code == 1000, (
        f"sent {protocol.close_sent!r}"
    )
    assert protocol.close_rcvd is not None, "the server did not answer the Close"
    assert not protocol.close_rcvd_then_sent, "the server sent its Close first"
    assert ws.close_code == 1000, f"close code {ws.close_code!r}, received {protocol.close_rcvd!r}"
print("OK")
"#;

/// Makes sure `python3` can import `websockets.sync.client`, installing the package with pip if
/// needed; once per test process.
fn python_websockets() {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    let ready = READY.get_or_init(|| {
        let probe = || {
            Command::new("python3")
                .args(["-c", "import websockets.sync.client"])
                .output()
        };
        match probe() {
            Err(e) => return Err(format!("python3 is unavailable ({e})")),
            Ok(out) if out.status.success() => return Ok(()),
            Ok(_) => {}
        }
        let install = Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", "--upgrade", "websockets"])
            .output()
            .map_err(|e| format!("python3 -m pip could not run ({e})"))?;
        if !install.status.success() {
            return Err(format!(
                "`python3 -m pip install websockets` failed ({}):\n{}",
                install.status,
                String::from_utf8_lossy(&install.stderr)
            ));
        }
        match probe() {
            Ok(out) if out.status.success() => Ok(()),
            Ok(out) => Err(format!(
                "websockets.sync.client does not import after installing websockets:\n{}",
                String::from_utf8_lossy(&out.stderr)
            )),
            Err(e) => Err(format!("python3 is unavailable ({e})")),
        }
    });
    if let Err(why) = ready {
        panic!("this test needs python3 with the `websockets` package: {why}");
    }
}

/// Runs the client against `port`; its exit status, stdout and stderr, or a timeout.
fn run_client(
    port: u16,
    compression: &str,
    within: Duration,
) -> (Option<std::process::ExitStatus>, String, String) {
    let mut client = Command::new("python3")
        .args(["-c", CLIENT, &port.to_string(), compression])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = drain(Box::new(client.stdout.take().unwrap()));
    let stderr = drain(Box::new(client.stderr.take().unwrap()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = client.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > within {
            let _ = client.kill();
            let _ = client.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (status, stdout.join().unwrap(), stderr.join().unwrap())
}

fn echoes_to_python_client(engine: &str) {
    python_websockets();
    let app = App::start(engine);
    for compression in ["deflate", "none"] {
        check_client(&app, engine, compression);
    }
}

fn check_client(app: &App, engine: &str, compression: &str) {
    let (status, stdout, stderr) = run_client(app.port, compression, Duration::from_secs(120));
    let report = || {
        format!(
            "engine {engine}, compression {compression}\n--- client stdout ---\n{stdout}\n--- client stderr ---\n{stderr}\n--- app stderr ---\n{}",
            app.log()
        )
    };
    let Some(status) = status else {
        panic!("the client did not finish within 120 s\n{}", report());
    };
    assert!(
        status.success(),
        "client exit status {status}\n{}",
        report()
    );
    assert!(
        stdout.lines().any(|line| line.trim() == "OK"),
        "the client did not print OK\n{}",
        report()
    );
}

#[test]
fn python_websockets_client_echoes_on_tokio() {
    echoes_to_python_client("tokio");
}

#[test]
fn python_websockets_client_echoes_on_uring() {
    common::require_uring();
    echoes_to_python_client("uring");
}
