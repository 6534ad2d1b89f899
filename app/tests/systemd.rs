//! The app binary under systemd's protocols, with the environment set the way systemd sets it:
//! the test plays systemd. It binds the listening socket (the socket unit), passes it to the app
//! as descriptor 3 with `LISTEN_PID`, `LISTEN_FDS` and `LISTEN_FDNAMES` (through `sh`, since
//! `LISTEN_PID` must be the pid of the process that reads it), and listens on `NOTIFY_SOCKET` for
//! `READY=1` and `STOPPING=1`. On each engine.

mod common;

use common::App;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixDatagram;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The notification socket systemd would listen on.
struct Notifications {
    socket: UnixDatagram,
    /// What `NOTIFY_SOCKET` says: a path, or `@name` for the abstract namespace.
    address: String,
    path: Option<PathBuf>,
    received: Vec<String>,
}

impl Notifications {
    fn bind(abstract_name: bool) -> Self {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let unique = format!(
            "app-notify-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        );
        let (socket, address, path) = if abstract_name {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(&unique).unwrap();
            (
                UnixDatagram::bind_addr(&addr).unwrap(),
                format!("@{unique}"),
                None,
            )
        } else {
            let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(unique);
            let _ = std::fs::remove_file(&path);
            let socket = UnixDatagram::bind(&path).unwrap();
            (socket, path.display().to_string(), Some(path))
        };
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        Self {
            socket,
            address,
            path,
            received: Vec::new(),
        }
    }

    /// Waits for a notification with the line `line`; fails if the app exits first or `within`
    /// passes.
    fn expect(&mut self, line: &str, app: &mut App, within: Duration) {
        let started = Instant::now();
        let mut buf = [0u8; 4096];
        loop {
            if let Ok(n) = self.socket.recv(&mut buf) {
                let message = String::from_utf8_lossy(&buf[..n]).into_owned();
                let found = message.lines().any(|l| l == line);
                self.received.push(message);
                if found {
                    return;
                }
                continue;
            }
            if let Some(status) = app.try_wait() {
                panic!(
                    "the app exited ({status}) before sending {line}; received {:?}\n{}",
                    self.received,
                    app.log()
                );
            }
            assert!(
                started.elapsed() < within,
                "no {line} within {within:?}; received {:?}\n{}",
                self.received,
                app.log()
            );
        }
    }
}

impl Drop for Notifications {
    fn drop(&mut self) {
        if let Some(path) = &self.path {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The app as systemd starts it: `listener` as descriptor 3 (when given), the activation
/// variables, `NOTIFY_SOCKET`. The host and port flags name an address this machine does not
/// have, so an app that bound them instead of taking descriptor 3 would fail to start.
fn start(engine: &str, listener: Option<&TcpListener>, port: u16, notify: &Notifications) -> App {
    static STARTS: AtomicUsize = AtomicUsize::new(0);
    let label = format!(
        "systemd-{engine}-{port}-{}",
        STARTS.fetch_add(1, Ordering::Relaxed)
    );
    let mut command = as_systemd_starts(notify);
    command.args(["--engine", engine, "--workers", "2"]);
    match listener {
        Some(listener) => {
            command
                .args(["--host", "192.0.2.1", "--port", "9"])
                .env("LISTEN_FDS", "1")
                .env("LISTEN_FDNAMES", "http");
            pass_as_fd_3(&mut command, listener.as_raw_fd());
        }
        None => {
            command
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .env_remove("LISTEN_FDS");
        }
    }
    App::spawn(command, &label, port)
}

/// The app behind a shell that sets `LISTEN_PID` to its own pid and execs it, which hands the
/// app that pid: systemd sets it the same way, in the child between fork and exec. And the
/// `NOTIFY_SOCKET`.
fn as_systemd_starts(notify: &Notifications) -> Command {
    let mut command = Command::new("sh");
    command
        .args(["-c", r#"LISTEN_PID=$$ exec "$0" "$@""#])
        .arg(env!("CARGO_BIN_EXE_app"))
        .env("NOTIFY_SOCKET", &notify.address)
        .env_remove("LISTEN_PID");
    command
}

/// Makes descriptor `fd` the child's descriptor 3, inherited across exec.
fn pass_as_fd_3(command: &mut Command, fd: RawFd) {
    // SAFETY: between fork and exec only async-signal-safe calls are made (dup2, fcntl), on
    // descriptors the parent keeps open until the child has started.
    unsafe {
        command.pre_exec(move || {
            let ok = if fd == 3 {
                // dup2 onto itself would keep close-on-exec: clear it instead.
                libc::fcntl(3, libc::F_SETFD, 0) == 0
            } else {
                libc::dup2(fd, 3) == 3
            };
            if ok {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
}

/// `GET /plaintext` on a new connection, answered.
fn get_plaintext(port: u16) {
    let mut conn = TcpStream::connect(("127.0.0.1", port)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    conn.write_all(b"GET /plaintext HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(response.ends_with("\r\n\r\nHello, World!"), "{response}");
}

/// The socket-activated app: ready, serving over the inherited socket, stopping on SIGTERM, and
/// leaving the socket listening for the next start, which answers what waited in the backlog.
fn socket_activation(engine: &str, abstract_name: bool) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut notify = Notifications::bind(abstract_name);
    let mut app = start(engine, Some(&listener), port, &notify);
    notify.expect("READY=1", &mut app, Duration::from_secs(30));
    // Several connections, so that both workers of the io_uring engine take some.
    for _ in 0..8 {
        get_plaintext(port);
    }
    assert!(
        app.log().contains("(http, from systemd)"),
        "the start-up line names the inherited socket:\n{}",
        app.log()
    );
    app.signal("TERM");
    notify.expect("STOPPING=1", &mut app, Duration::from_secs(10));
    let status = app.wait(Duration::from_secs(15));
    assert!(status.success(), "exit status {status}\n{}", app.log());

    // systemd's copy of the socket still listens: a client now waits in the backlog...
    let mut waiting = TcpStream::connect(("127.0.0.1", port)).unwrap();
    waiting
        .write_all(b"GET /plaintext HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    // ...and the next start answers it.
    let mut next = start(engine, Some(&listener), port, &notify);
    notify.expect("READY=1", &mut next, Duration::from_secs(30));
    waiting
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut response = String::new();
    waiting.read_to_string(&mut response).unwrap();
    assert!(
        response.ends_with("\r\n\r\nHello, World!"),
        "{response}\n{}",
        next.log()
    );
    next.signal("TERM");
    notify.expect("STOPPING=1", &mut next, Duration::from_secs(10));
    assert!(next.wait(Duration::from_secs(15)).success());
}

/// Without socket activation the app binds, and says it is ready only once it listens: the port
/// answers the moment `READY=1` arrives.
fn ready_after_binding(engine: &str) {
    let port = common::free_port();
    let mut notify = Notifications::bind(false);
    let mut app = start(engine, None, port, &notify);
    notify.expect("READY=1", &mut app, Duration::from_secs(30));
    get_plaintext(port);
    app.signal("TERM");
    notify.expect("STOPPING=1", &mut app, Duration::from_secs(10));
    assert!(app.wait(Duration::from_secs(15)).success());
}

#[test]
fn socket_activation_on_tokio() {
    socket_activation("tokio", false);
}

#[test]
fn socket_activation_on_uring() {
    common::require_uring();
    socket_activation("uring", true);
}

#[test]
fn ready_after_binding_on_tokio() {
    ready_after_binding("tokio");
}

#[test]
fn ready_after_binding_on_uring() {
    common::require_uring();
    ready_after_binding("uring");
}

/// A descriptor 3 that is not a listening TCP socket fails the start, saying why.
#[test]
fn a_socket_that_does_not_listen_is_refused() {
    let bound = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = bound.local_addr().unwrap().port();
    let not_listening = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let notify = Notifications::bind(false);
    let mut command = as_systemd_starts(&notify);
    command
        .args([
            "--engine",
            "tokio",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ])
        .env("LISTEN_FDS", "1");
    pass_as_fd_3(&mut command, not_listening.as_raw_fd());
    let mut app = App::spawn(command, &format!("systemd-refused-{port}"), port);
    let status = app.wait(Duration::from_secs(15));
    assert!(!status.success(), "the app started:\n{}", app.log());
    assert!(
        app.log().contains(
            "descriptor 3 from systemd is not a listening TCP socket: not a stream socket"
        ),
        "{}",
        app.log()
    );
}

/// The unit files in `app/systemd/` say what these tests do: a notify service whose command line
/// the app accepts, and a socket named like the one passed above.
#[test]
fn the_unit_files_match_the_app() {
    use clap::Parser;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("systemd");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    let setting = |text: &str, key: &str| -> String {
        let prefix = format!("{key}=");
        text.lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no {key}= in the unit"))
            .to_owned()
    };
    let service = read("app.service");
    assert_eq!(setting(&service, "Type"), "notify");
    let exec = setting(&service, "ExecStart");
    let args = app::config::Args::try_parse_from(exec.split_whitespace())
        .unwrap_or_else(|e| panic!("ExecStart={exec}: {e}"));
    assert!(args.engine.is_some(), "{args:?}");
    let socket = read("app.socket");
    assert_eq!(setting(&socket, "FileDescriptorName"), "http");
    assert_eq!(setting(&socket, "ListenStream"), "8080");
}
