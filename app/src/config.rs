//! The app's configuration: a TOML file, environment variables over it, flags over both.
//!
//! ```toml
//! engine = "auto"          # auto | uring | tokio
//! host = "0.0.0.0"
//! port = 8080
//! workers = 2              # default: one per core
//!
//! [limits]
//! max_body_size = 16777216
//! max_connections = 10000
//!
//! [timeouts]               # seconds
//! header_read = 15
//! idle = 60
//! write = 30
//!
//! [shutdown]               # seconds
//! grace = 5
//! timeout = 10
//!
//! [session]                # the login's signed session cookie
//! key = "..."              # base64 of 32 random bytes: `openssl rand -base64 32`
//! secure_cookie = true     # the cookie's `Secure`: off only for plain HTTP beyond localhost
//! ```
//!
//! Without a session key the app generates one at start-up and logs a warning: sessions then end
//! with the process, and no other instance accepts them. The key is a secret: give it in the file
//! or `APP_SESSION_KEY` rather than the flag, which other users of the machine can see.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use clap::{Parser, ValueEnum};
use engine_core::plugins::sessions::SessionKey;
use engine_core::{Connector, ServerConfig};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// Which engine serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineChoice {
    /// io_uring where the kernel allows it, tokio otherwise.
    Auto,
    /// The io_uring engine; fails to start where io_uring is unavailable.
    Uring,
    /// The portable tokio engine.
    Tokio,
}

/// Command-line flags; each also reads an environment variable. Unset ones come from the file.
#[derive(Debug, Parser)]
#[command(
    name = "app",
    version,
    about = "The example backend: Ktor's model in Rust on the engine chosen at start-up"
)]
pub struct Args {
    /// Engine: auto picks io_uring where the kernel allows it, tokio otherwise.
    #[arg(long, env = "APP_ENGINE", value_enum)]
    pub engine: Option<EngineChoice>,
    /// Address to listen on.
    #[arg(long, env = "APP_HOST")]
    pub host: Option<String>,
    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "APP_PORT")]
    pub port: Option<u16>,
    /// Worker threads (default: one per core).
    #[arg(long, env = "APP_WORKERS")]
    pub workers: Option<usize>,
    /// A TOML configuration file; flags and environment variables override it.
    #[arg(long, env = "APP_CONFIG")]
    pub config: Option<PathBuf>,
    /// The key that signs login sessions: base64 of 32 random bytes (`openssl rand -base64 32`).
    /// Without one, a key is generated at start-up and sessions end with the process. Prefer the
    /// environment variable or the file: a flag is visible to other users of the machine.
    #[arg(
        long,
        env = "APP_SESSION_KEY",
        hide_env_values = true,
        value_name = "BASE64"
    )]
    pub session_key: Option<String>,
    /// Whether the session cookie is `Secure` (HTTPS only; browsers also send it to localhost).
    #[arg(long, env = "APP_SESSION_SECURE_COOKIE", value_name = "BOOL")]
    pub session_secure_cookie: Option<bool>,
}

/// The configuration file's shape; every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub engine: Option<EngineChoice>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub workers: Option<usize>,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub timeouts: Timeouts,
    #[serde(default)]
    pub shutdown: Shutdown,
    #[serde(default)]
    pub session: Session,
}

/// `[limits]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub max_body_size: Option<u64>,
    pub max_connections: Option<usize>,
    pub max_request_line: Option<usize>,
    pub max_header_bytes: Option<usize>,
    pub max_headers: Option<usize>,
}

/// `[timeouts]`, in seconds.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timeouts {
    pub header_read: Option<f64>,
    pub idle: Option<f64>,
    pub write: Option<f64>,
}

/// `[shutdown]`, in seconds.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shutdown {
    pub grace: Option<f64>,
    pub timeout: Option<f64>,
}

/// `[session]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Session {
    pub key: Option<String>,
    pub secure_cookie: Option<bool>,
}

/// The resolved configuration.
#[derive(Debug)]
pub struct Settings {
    pub engine: EngineChoice,
    pub server: ServerConfig,
    /// The key that signs login sessions; `None`: generate one at start-up.
    pub session_key: Option<SessionKey>,
    /// The session cookie's `Secure`: on unless configured off.
    pub secure_cookie: bool,
}

impl Settings {
    /// Flags over environment (clap reads both), over the file, over the defaults.
    pub fn resolve(args: Args) -> Result<Self, String> {
        let file = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                toml::from_str::<FileConfig>(&text)
                    .map_err(|e| format!("{}: {e}", path.display()))?
            }
            None => FileConfig::default(),
        };
        let mut server = ServerConfig::default();
        let host = args.host.or(file.host).unwrap_or_else(|| "0.0.0.0".into());
        let port = args.port.or(file.port).unwrap_or(8080);
        server.connectors = vec![Connector { host, port }];
        server.workers = args.workers.or(file.workers);
        apply_limits(&mut server, &file.limits);
        let seconds = |value: Option<f64>, default: Duration| {
            value.map_or(Ok(default), |s| {
                Duration::try_from_secs_f64(s).map_err(|e| e.to_string())
            })
        };
        server.conn.header_read_timeout =
            seconds(file.timeouts.header_read, server.conn.header_read_timeout)?;
        server.conn.idle_timeout = seconds(file.timeouts.idle, server.conn.idle_timeout)?;
        server.conn.write_timeout = seconds(file.timeouts.write, server.conn.write_timeout)?;
        server.shutdown_grace = seconds(file.shutdown.grace, server.shutdown_grace)?;
        server.shutdown_timeout = seconds(file.shutdown.timeout, server.shutdown_timeout)?;
        let engine = args.engine.or(file.engine).unwrap_or(EngineChoice::Auto);
        let session_key = args
            .session_key
            .or(file.session.key)
            .map(|key| parse_session_key(&key))
            .transpose()?;
        let secure_cookie = args
            .session_secure_cookie
            .or(file.session.secure_cookie)
            .unwrap_or(true);
        Ok(Self {
            engine,
            server,
            session_key,
            secure_cookie,
        })
    }
}

/// A session key from its base64 (RFC 4648 §4, padded). The error never repeats the value: it is
/// a secret.
pub fn parse_session_key(base64: &str) -> Result<SessionKey, String> {
    let bytes = STANDARD
        .decode(base64.trim())
        .map_err(|_| "the session key is not base64 (openssl rand -base64 32 makes one)")?;
    SessionKey::from_slice(&bytes).map_err(|e| format!("the session key: {e}"))
}

fn apply_limits(server: &mut ServerConfig, limits: &Limits) {
    if let Some(v) = limits.max_body_size {
        server.conn.max_body_size = v;
    }
    if let Some(v) = limits.max_connections {
        server.max_connections = v;
    }
    if let Some(v) = limits.max_request_line {
        server.conn.limits.max_request_line = v;
    }
    if let Some(v) = limits.max_header_bytes {
        server.conn.limits.max_header_bytes = v;
    }
    if let Some(v) = limits.max_headers {
        server.conn.limits.max_headers = v;
    }
}
