//! Where the app's settings come from, on the real binary: a TOML file, `APP_*` environment
//! variables over it, flags over both. What wins is read back from what the process does: the
//! port it listens on, and its one start-up log line (engine, address, workers).

mod common;

use common::{App, free_port};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Starts the app with `command`, waits until it listens on `port`, and returns it with its
/// start-up line (colours taken out).
fn start(command: Command, port: u16) -> (App, String) {
    let mut app = App::spawn(command, &format!("config-{port}"), port);
    app.wait_listening();
    let log = strip_colours(&app.log());
    let line = log
        .lines()
        .find(|line| line.contains("starting"))
        .unwrap_or_else(|| panic!("no start-up line:\n{log}"))
        .to_owned();
    (app, line)
}

fn strip_colours(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters... final byte in @..~
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) && c != '[' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A configuration file: `engine` on 127.0.0.1:`port` with `workers`, then `more` (sections).
/// The directory goes when the returned guard does.
fn config_file(
    engine: &str,
    port: u16,
    workers: usize,
    more: &str,
) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.toml");
    let text = format!(
        "engine = \"{engine}\"\nhost = \"127.0.0.1\"\nport = {port}\nworkers = {workers}\n{more}"
    );
    std::fs::write(&file, text).unwrap();
    (dir, file)
}

fn app_command(file: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_app"));
    command.arg("--config").arg(file);
    // Nothing of the test runner's own environment may decide for the file.
    for name in [
        "APP_ENGINE",
        "APP_HOST",
        "APP_PORT",
        "APP_WORKERS",
        "APP_CONFIG",
    ] {
        command.env_remove(name);
    }
    command
}

#[test]
fn the_file_then_the_environment_then_the_flags() {
    let (file_port, env_port) = (free_port(), free_port());
    let (_dir, file) = config_file("tokio", file_port, 3, "");

    // The file alone.
    let (app, line) = start(app_command(&file), file_port);
    assert!(line.contains("engine=\"tokio\""), "{line}");
    assert!(
        line.contains(&format!("listen=\"127.0.0.1:{file_port}\"")),
        "{line}"
    );
    assert!(line.contains("workers=3"), "{line}");
    drop(app);

    // The environment over the file.
    let mut command = app_command(&file);
    command
        .env("APP_PORT", env_port.to_string())
        .env("APP_WORKERS", "2");
    let (app, line) = start(command, env_port);
    assert!(
        line.contains(&format!("listen=\"127.0.0.1:{env_port}\"")),
        "{line}"
    );
    assert!(line.contains("workers=2"), "{line}");
    assert!(
        TcpStream::connect(("127.0.0.1", file_port)).is_err(),
        "the file's port is not used"
    );
    drop(app);

    // Flags over both.
    let flag_port = free_port();
    let mut command = app_command(&file);
    command
        .env("APP_PORT", env_port.to_string())
        .env("APP_WORKERS", "2")
        .args(["--port", &flag_port.to_string(), "--workers", "1"]);
    let (app, line) = start(command, flag_port);
    assert!(
        line.contains(&format!("listen=\"127.0.0.1:{flag_port}\"")),
        "{line}"
    );
    assert!(line.contains("workers=1"), "{line}");
    assert!(line.contains("engine=\"tokio\""), "{line}");
    drop(app);
}

#[test]
fn the_engine_from_the_environment_over_the_file() {
    let port = free_port();
    let (_dir, file) = config_file("uring", port, 1, "");
    let mut command = app_command(&file);
    command.env("APP_ENGINE", "tokio");
    let (_app, line) = start(command, port);
    assert!(line.contains("engine=\"tokio\""), "{line}");
}

#[test]
fn limits_from_the_file_apply() {
    use std::io::{Read, Write};
    let port = free_port();
    let (_dir, file) = config_file("tokio", port, 1, "\n[limits]\nmax_body_size = 100\n");
    let (_app, _line) = start(app_command(&file), port);
    let post = |len: usize| {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let head = format!(
            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).unwrap();
        let _ = stream.write_all(&vec![b'a'; len]);
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        String::from_utf8_lossy(&response).into_owned()
    };
    assert!(post(100).starts_with("HTTP/1.1 200"), "{}", post(100));
    assert!(post(101).starts_with("HTTP/1.1 413"), "{}", post(101));
}
