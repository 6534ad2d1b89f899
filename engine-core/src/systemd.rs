//! systemd integration without libsystemd: readiness notification (`sd_notify(3)`) and socket
//! activation (`sd_listen_fds(3)`), both a few lines over the environment systemd sets.
//!
//! - [`notify`] sends a state (`READY=1`, `STOPPING=1`, `STATUS=...`) as one datagram to the unix
//!   socket `NOTIFY_SOCKET` names: a path, or `@name` in the abstract namespace.
//! - [`SystemdNotify`], a plugin, sends `READY=1` once the engine listens
//!   ([`LifecycleEvent::Started`]) and `STOPPING=1` when the stop begins
//!   ([`LifecycleEvent::Stopping`]): `Type=notify` units then know when the server is up and when
//!   it drains.
//! - [`listen_fds`] takes the sockets systemd passed (`LISTEN_PID`, `LISTEN_FDS`, `LISTEN_FDNAMES`;
//!   descriptors from 3), checks that each is a listening TCP socket, and returns them for
//!   [`ServerConfig::inherited`](crate::ServerConfig::inherited), which every engine serves
//!   instead of binding.
//!
//! Not here: the watchdog (`WATCHDOG=1`), the descriptor store, vsock notify addresses, and
//! sockets other than TCP listeners (a socket unit with `ListenStream=/run/app.sock` is refused
//! with [`ActivationError::NotTcpListener`]).
//!
//! The activation variables are read, not removed: removing variables is unsound once threads run
//! (Rust 2024 makes `remove_var` unsafe), and it is not needed: a child process has another pid,
//! so `LISTEN_PID` does not name it, and the descriptors are made close-on-exec.
//!
//! ```no_run
//! use engine_core::systemd::{SystemdNotify, listen_fds};
//! use engine_core::{Application, Engine, ServerConfig, embedded_server};
//!
//! fn module(app: &mut Application) {
//!     app.install(SystemdNotify, |_| {});
//!     // routes...
//! }
//!
//! /// Under a socket unit the listeners come from systemd; started by hand, it binds port 8080.
//! fn serve(engine: impl Engine) -> Result<(), Box<dyn std::error::Error>> {
//!     let config = ServerConfig::listen("0.0.0.0", 8080).with_inherited(listen_fds()?);
//!     embedded_server(engine, config, module).start(true)?;
//!     Ok(())
//! }
//! ```

use crate::application::{Application, LifecycleEvent, Plugin};
use crate::listen::InheritedListener;
use std::fmt;
use std::io;

/// A file descriptor number.
pub type Fd = i32;

/// The first descriptor systemd passes (`SD_LISTEN_FDS_START`): 0, 1 and 2 are the standard ones.
pub const LISTEN_FDS_START: Fd = 3;

/// Sends `state` to systemd: one datagram of newline-separated `KEY=value` lines to the socket
/// `NOTIFY_SOCKET` names. `Ok(false)` when the variable is unset (not started by systemd).
pub fn notify(state: &str) -> io::Result<bool> {
    match std::env::var_os("NOTIFY_SOCKET") {
        Some(target) if !target.is_empty() => {
            send_datagram(&target, state.as_bytes())?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

#[cfg(unix)]
fn send_datagram(target: &std::ffi::OsStr, message: &[u8]) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::net::{SocketAddr, UnixDatagram};
    let addr = match target.as_bytes() {
        [b'/', ..] => SocketAddr::from_pathname(target)?,
        #[cfg(target_os = "linux")]
        [b'@', name @ ..] => {
            use std::os::linux::net::SocketAddrExt;
            SocketAddr::from_abstract_name(name)?
        }
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "NOTIFY_SOCKET is neither an absolute path nor an abstract name (@name)",
            ));
        }
    };
    let sent = UnixDatagram::unbound()?.send_to_addr(message, &addr)?;
    if sent != message.len() {
        return Err(io::Error::new(
            io::ErrorKind::WriteZero,
            "the notification was cut short",
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn send_datagram(_target: &std::ffi::OsStr, _message: &[u8]) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "NOTIFY_SOCKET needs unix sockets",
    ))
}

/// The plugin that tells systemd the server's state: `READY=1` once it listens, `STOPPING=1` when
/// the stop begins. Without `NOTIFY_SOCKET` it does nothing; a failed send is logged, never fatal.
#[derive(Debug, Clone, Copy)]
pub struct SystemdNotify;

impl Plugin for SystemdNotify {
    type Config = ();
    const NAME: &'static str = "SystemdNotify";

    fn install(self, app: &mut Application, (): ()) {
        app.subscribe(LifecycleEvent::Started, |_| {
            send_state("READY=1\nSTATUS=Serving requests");
        });
        app.subscribe(LifecycleEvent::Stopping, |_| {
            send_state("STOPPING=1\nSTATUS=Draining connections");
        });
    }
}

fn send_state(state: &str) {
    match notify(state) {
        Ok(true) => tracing::debug!(state, "notified systemd"),
        Ok(false) => {}
        Err(error) => tracing::warn!(%error, state, "cannot notify systemd"),
    }
}

/// Why the sockets systemd passed cannot be used.
#[derive(Debug)]
#[non_exhaustive]
pub enum ActivationError {
    /// `LISTEN_PID` or `LISTEN_FDS` is not a decimal number.
    InvalidVariable {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
    },
    /// `LISTEN_FDS` names descriptors past the largest a process can have.
    TooManyDescriptors(usize),
    /// A descriptor systemd should have passed is not open.
    NotOpen(Fd),
    /// A descriptor is not a listening TCP socket; what it is instead.
    NotTcpListener {
        /// The descriptor.
        fd: Fd,
        /// What it is: "not a socket", "not a stream socket", ...
        found: &'static str,
    },
    /// Reading a descriptor's socket options failed.
    Io {
        /// The descriptor.
        fd: Fd,
        /// The error.
        source: io::Error,
    },
    /// [`listen_fds`] took the descriptors before: they have an owner already.
    AlreadyTaken,
}

impl fmt::Display for ActivationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidVariable { name, value } => {
                write!(f, "{name}={value:?} is not a decimal number")
            }
            Self::TooManyDescriptors(count) => write!(f, "LISTEN_FDS={count} is too large"),
            Self::NotOpen(fd) => write!(f, "descriptor {fd} from systemd is not open"),
            Self::NotTcpListener { fd, found } => {
                write!(
                    f,
                    "descriptor {fd} from systemd is not a listening TCP socket: {found}"
                )
            }
            Self::Io { fd, source } => write!(f, "descriptor {fd} from systemd: {source}"),
            Self::AlreadyTaken => f.write_str("the descriptors from systemd were taken already"),
        }
    }
}

impl std::error::Error for ActivationError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A descriptor systemd passed, and its name from `LISTEN_FDNAMES`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Passed {
    fd: Fd,
    name: Option<String>,
}

/// What the activation variables say to the process `pid`: `sd_listen_fds(3)`'s rules. Nothing
/// when `LISTEN_PID` or `LISTEN_FDS` is unset or `LISTEN_PID` names another process; names only
/// when `LISTEN_FDNAMES` has one per descriptor.
fn parse(
    pid: u32,
    listen_pid: Option<&str>,
    listen_fds: Option<&str>,
    names: Option<&str>,
) -> Result<Vec<Passed>, ActivationError> {
    let number = |name: &'static str, value: &str| {
        value
            .parse::<usize>()
            .map_err(|_| ActivationError::InvalidVariable {
                name,
                value: value.to_owned(),
            })
    };
    let (Some(listen_pid), Some(listen_fds)) = (listen_pid, listen_fds) else {
        return Ok(Vec::new());
    };
    if number("LISTEN_PID", listen_pid)? != pid as usize {
        return Ok(Vec::new());
    }
    let count = number("LISTEN_FDS", listen_fds)?;
    let end = Fd::try_from(count)
        .ok()
        .and_then(|n| n.checked_add(LISTEN_FDS_START))
        .ok_or(ActivationError::TooManyDescriptors(count))?;
    let names: Vec<&str> = names.map(|n| n.split(':').collect()).unwrap_or_default();
    let named = names.len() == count;
    Ok((LISTEN_FDS_START..end)
        .enumerate()
        .map(|(i, fd)| Passed {
            fd,
            name: named.then(|| names[i].to_owned()).filter(|n| !n.is_empty()),
        })
        .collect())
}

/// The listening sockets systemd passed to this process, checked and close-on-exec; empty when it
/// passed none (not socket-activated, or the variables name another process). Takes ownership of
/// the descriptors: a second call fails with [`ActivationError::AlreadyTaken`].
pub fn listen_fds() -> Result<Vec<InheritedListener>, ActivationError> {
    let var = |name: &str| std::env::var_os(name).map(|value| value.to_string_lossy().into_owned());
    let passed = parse(
        std::process::id(),
        var("LISTEN_PID").as_deref(),
        var("LISTEN_FDS").as_deref(),
        var("LISTEN_FDNAMES").as_deref(),
    )?;
    if passed.is_empty() {
        return Ok(Vec::new());
    }
    static TAKEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if TAKEN.swap(true, std::sync::atomic::Ordering::AcqRel) {
        return Err(ActivationError::AlreadyTaken);
    }
    passed.into_iter().map(take).collect()
}

#[cfg(target_os = "linux")]
fn take(passed: Passed) -> Result<InheritedListener, ActivationError> {
    use socket2::{Domain, Protocol, SockRef, Socket, Type};
    use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd};
    let fd = passed.fd;
    // SAFETY: `fcntl(F_GETFD)` only reads the descriptor's flags; a closed one fails with EBADF.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return Err(ActivationError::NotOpen(fd));
    }
    // SAFETY: `fd` is open (checked above) and nothing closes it while it is borrowed here.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    let socket = SockRef::from(&borrowed);
    let io = |source| ActivationError::Io { fd, source };
    let not = |found| ActivationError::NotTcpListener { fd, found };
    match socket.r#type() {
        Ok(Type::STREAM) => {}
        Ok(_) => return Err(not("not a stream socket")),
        Err(e) if e.raw_os_error() == Some(libc::ENOTSOCK) => return Err(not("not a socket")),
        Err(e) => return Err(io(e)),
    }
    let domain = socket.domain().map_err(io)?;
    if domain != Domain::IPV4 && domain != Domain::IPV6 {
        return Err(not("not an IPv4 or IPv6 socket"));
    }
    if !matches!(socket.protocol().map_err(io)?, None | Some(Protocol::TCP)) {
        return Err(not("not TCP"));
    }
    if !socket.is_listener().map_err(io)? {
        return Err(not("not listening"));
    }
    // SAFETY: systemd passed `fd` for this process to own (sd_listen_fds(3)); `TAKEN` makes sure it
    // is taken once, and it is checked above to be an open socket.
    let socket = Socket::from(unsafe { OwnedFd::from_raw_fd(fd) });
    socket.set_cloexec(true).map_err(io)?;
    let listener = std::net::TcpListener::from(socket);
    Ok(match passed.name {
        Some(name) => InheritedListener::named(listener, name),
        None => InheritedListener::new(listener),
    })
}

#[cfg(not(target_os = "linux"))]
fn take(passed: Passed) -> Result<InheritedListener, ActivationError> {
    Err(ActivationError::NotTcpListener {
        fd: passed.fd,
        found: "socket activation is only supported on Linux",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `LISTEN_PID`, `LISTEN_FDS`, `LISTEN_FDNAMES`, and the descriptors they name.
    type Case = (
        Option<&'static str>,
        Option<&'static str>,
        Option<&'static str>,
        Vec<(Fd, Option<&'static str>)>,
    );

    fn fds(passed: &[Passed]) -> Vec<(Fd, Option<&str>)> {
        passed.iter().map(|p| (p.fd, p.name.as_deref())).collect()
    }

    #[test]
    fn the_variables_name_descriptors_from_three() {
        let cases: &[Case] = &[
            // Not activated: either variable unset.
            (None, None, None, vec![]),
            (Some("42"), None, None, vec![]),
            (None, Some("1"), None, vec![]),
            // Meant for another process (a parent's variables a child inherited).
            (Some("41"), Some("1"), None, vec![]),
            (Some("42"), Some("0"), None, vec![]),
            (Some("42"), Some("1"), None, vec![(3, None)]),
            (
                Some("42"),
                Some("2"),
                Some("http:admin"),
                vec![(3, Some("http")), (4, Some("admin"))],
            ),
            // Names that do not match the count are ignored; an empty name is no name.
            (
                Some("42"),
                Some("2"),
                Some("http"),
                vec![(3, None), (4, None)],
            ),
            (
                Some("42"),
                Some("2"),
                Some(":admin"),
                vec![(3, None), (4, Some("admin"))],
            ),
        ];
        for (pid, count, names, expected) in cases {
            let passed = parse(42, *pid, *count, *names).unwrap();
            assert_eq!(&fds(&passed), expected, "{pid:?} {count:?} {names:?}");
        }
    }

    #[test]
    fn malformed_variables_are_errors() {
        for (pid, count) in [
            ("x", "1"),
            ("-1", "1"),
            ("42", "one"),
            ("42", "-2"),
            ("42", " 1"),
        ] {
            let error = parse(42, Some(pid), Some(count), None).unwrap_err();
            assert!(
                matches!(error, ActivationError::InvalidVariable { .. }),
                "{pid} {count}: {error}"
            );
        }
        let error = parse(42, Some("42"), Some("99999999999"), None).unwrap_err();
        assert!(
            matches!(error, ActivationError::TooManyDescriptors(_)),
            "{error}"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn only_listening_tcp_sockets_are_taken() {
        use std::os::fd::IntoRawFd;
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let file = std::fs::File::open("/dev/null").unwrap();
        let unbound =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        let cases = [
            (udp.into_raw_fd(), "not a stream socket"),
            (file.into_raw_fd(), "not a socket"),
            (unbound.into_raw_fd(), "not listening"),
        ];
        for (fd, expected) in cases {
            match take(Passed { fd, name: None }) {
                Err(ActivationError::NotTcpListener { found, .. }) => assert_eq!(found, expected),
                other => panic!("{expected}: {other:?}"),
            }
            // SAFETY: `fd` was leaked with `into_raw_fd` above, and `take` refused it unowned.
            unsafe { libc::close(fd) };
        }
        let error = take(Passed {
            fd: 100_000,
            name: None,
        })
        .unwrap_err();
        assert!(
            matches!(error, ActivationError::NotOpen(100_000)),
            "{error}"
        );
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let fd = listener.into_raw_fd();
        let taken = take(Passed {
            fd,
            name: Some("http".into()),
        })
        .unwrap();
        assert_eq!(taken.name(), Some("http"));
        assert_eq!(taken.local_addr().unwrap(), addr);
    }
}
