//! The engine conformance suite: one set of cases, written once, run by every engine's tests through
//! [`conformance_suite!`](crate::conformance_suite). Cases talk raw HTTP/1.1 bytes to a server over
//! whatever connection the engine under test provides (a socket, or the in-memory pipe), so they
//! check the wire, not an API. `shared/CONFORMANCE.md` lists what they must cover, and
//! `COVERAGE.md` beside this file maps each of its bullets to the cases that check it.

use crate::engine::{Connector, EmbeddedServer, Engine, ServerConfig, embedded_server};
use crate::pipeline::BoxFuture;
use crate::{Error, Module};
use std::any::Any;
use std::io;
use std::net::SocketAddr;
use std::sync::Mutex;
use tokio::io::{AsyncRead, AsyncWrite};

mod bad_input;
mod behaviour;
mod content;
mod framing;
mod hooks;
mod lifecycle;
mod logs;
mod sessions_auth;
mod shutdown;
mod startup;
mod support;
mod web;
mod websocket;
mod websocket_wire;

pub use bad_input::*;
pub use behaviour::*;
pub use content::*;
pub use framing::*;
pub use hooks::*;
pub use lifecycle::*;
pub use sessions_auth::*;
pub use shutdown::*;
pub use startup::*;
pub use web::*;
pub use websocket::*;
pub use websocket_wire::*;

/// A connection to the server under test. `Any`, so that a case can reach the concrete stream (a
/// `TcpStream` or the in-memory stream) to reset it.
pub trait TestStream: AsyncRead + AsyncWrite + Send + Unpin + Any {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + Any> TestStream for T {}

/// A running server under test.
pub trait TestServer: Send + Sync {
    /// Opens a connection to the first listener.
    fn connect(&self) -> BoxFuture<'_, io::Result<Box<dyn TestStream>>>;
    /// Opens a connection to `addr`.
    fn connect_to(&self, addr: SocketAddr) -> BoxFuture<'static, io::Result<Box<dyn TestStream>>>;
    /// The first listening address.
    fn addr(&self) -> Option<SocketAddr>;
    /// Every listening address, in the order of the configuration's connectors.
    fn addrs(&self) -> Vec<SocketAddr>;
    /// Stops the server (blocking).
    fn stop(&self, grace: std::time::Duration, timeout: std::time::Duration);
}

/// How a test opens a connection to an address of the engine under test: a socket, or the
/// in-memory network.
pub type Dialer = fn(SocketAddr) -> BoxFuture<'static, io::Result<Box<dyn TestStream>>>;

/// An engine under test: a fresh engine per server, and how clients reach it.
pub trait EngineUnderTest: Send + Sync {
    /// A new, unstarted engine.
    fn engine(&self) -> Box<dyn Engine>;
    /// How clients connect to it.
    fn dialer(&self) -> Dialer;

    /// Starts `module` with `config` on one listener at `127.0.0.1`, a free port, and two workers.
    ///
    /// # Panics
    /// If the server does not start: the case cannot run.
    fn start(&self, mut config: ServerConfig, module: Box<dyn Module>) -> Box<dyn TestServer> {
        config.connectors = vec![Connector {
            host: "127.0.0.1".into(),
            port: 0,
        }];
        config.workers = Some(2);
        self.try_start(config, module)
            .unwrap_or_else(|error| panic!("the server under test did not start: {error}"))
    }

    /// Starts `module` with `config` as it is.
    fn try_start(
        &self,
        config: ServerConfig,
        module: Box<dyn Module>,
    ) -> Result<Box<dyn TestServer>, Error> {
        let mut server = embedded_server(self.engine(), config, module);
        server.start(false)?;
        let addrs = server.local_addrs().to_vec();
        Ok(Box::new(Running {
            addrs,
            dialer: self.dialer(),
            server: Mutex::new(server),
        }))
    }
}

struct Running {
    addrs: Vec<SocketAddr>,
    dialer: Dialer,
    server: Mutex<EmbeddedServer>,
}

impl TestServer for Running {
    fn connect(&self) -> BoxFuture<'_, io::Result<Box<dyn TestStream>>> {
        match self.addrs.first() {
            Some(&addr) => (self.dialer)(addr),
            None => Box::pin(async { Err(io::ErrorKind::NotConnected.into()) }),
        }
    }

    fn connect_to(&self, addr: SocketAddr) -> BoxFuture<'static, io::Result<Box<dyn TestStream>>> {
        (self.dialer)(addr)
    }

    fn addr(&self) -> Option<SocketAddr> {
        self.addrs.first().copied()
    }

    fn addrs(&self) -> Vec<SocketAddr> {
        self.addrs.clone()
    }

    fn stop(&self, grace: std::time::Duration, timeout: std::time::Duration) {
        self.server
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .stop(grace, timeout);
    }
}

/// Runs each named case against an engine: expands to one `#[test]` per case, with the same names
/// for every engine.
#[macro_export]
macro_rules! conformance_suite {
    ($engine:expr) => {
        $crate::conformance_suite!(@cases $engine;
            fixed_length_response_has_content_length,
            streamed_response_is_chunked_once,
            connection_close_requests_each_succeed,
            keep_alive_requests_share_a_connection,
            calls_kept_past_their_response_stay_their_own,
            hundred_sequential_requests,
            pipelined_gets_answer_in_order,
            pipelined_out_of_order_handlers_answer_in_order,
            http10_without_keep_alive_closes,
            http10_is_never_chunked,
            ignored_bodies_are_drained,
            get_with_body_is_echoed,
            content_length_over_2_31_is_413,
            body_over_configured_limit_is_413,
            unread_body_past_drain_limit_closes_after_response,
            expect_continue_only_when_reading,
            expect_continue_not_sent_when_unread,
            expect_continue_ignored_for_http10,
            unsupported_expectation_is_417,
            head_has_get_headers_and_no_body,
            chunk_extensions_and_trailers_are_accepted,
            full_duplex_echo,
            bad_requests_get_their_status,
            handler_failure_is_500_and_connection_goes_on,
            handler_panic_is_500,
            routed_handler_panic_is_500_and_the_connection_goes_on,
            development_error_body_names_the_error,
            status_only_response,
            empty_routing_is_404,
            date_header_on_every_response,
            header_timeout_gives_408,
            slow_header_trickle_gets_408,
            idle_connection_is_closed,
            write_timeout_closes_a_stalled_connection,
            two_listeners_report_real_ports,
            port_in_use_fails_and_leaks_nothing,
            failing_module_fails_start_once,
            ready_then_request_succeeds,
            ipv6_requests_see_host_and_port,
            lifecycle_events_fire_in_order,
            stopping_a_never_started_server_is_instant,
            percent_encoded_and_plus_paths_route,
            method_not_allowed_has_allow,
            multipart_field_and_file_parts,
            stream_failing_midway_aborts_connection,
            stream_failing_midway_resets_a_close_delimited_body,
            stream_short_of_content_length_aborts_connection,
            slow_stream_ends_when_client_closes,
            slow_stream_ends_when_client_resets,
            sleeping_handler_is_cancelled_on_close,
            routed_handler_is_cancelled_on_close,
            pipelined_slow_handlers_are_cancelled_on_close,
            late_body_with_connection_close_is_answered,
            truncated_body_fails_receive,
            pipelined_streamed_echo_posts_answer_in_order,
            upgrade_switches_to_raw_bytes,
            upgrade_keeps_bytes_sent_with_the_request,
            long_lived_stream_does_not_delay_others,
            stop_lets_in_flight_request_finish,
            stop_closes_idle_connections,
            stop_ends_requests_still_running_at_the_timeout,
            server_header_from_application_appears_once,
            redirects_carry_location,
            plugins_phase_redirect_skips_handler,
            appended_header_and_cookie_reach_client,
            query_parameters_reach_handler,
            form_parameters_reach_handler,
            form_with_other_content_type_is_415,
            repeated_request_headers_list_and_join,
            remote_address_is_client_loopback,
            plugin_rewrites_request_headers_and_body,
            failing_interceptor_in_any_phase_is_500,
            text_and_binary_content_types,
            second_response_fails_and_first_is_sent,
            hooks_fire_once_in_order,
            status_pages_replace_404_body_and_keep_status,
            range_requests_get_exact_slices,
            range_with_gzip_is_206_uncompressed,
            gzip_response_gunzips_to_original,
            gzip_streamed_response_gunzips_to_original,
            session_cookie_round_trips,
            basic_protected_route_401_then_200,
            websocket_handshake_with_protocol_upgrades,
            websocket_bad_handshakes_are_rejected,
            websocket_text_then_close,
            websocket_125_text_frames_in_order,
            websocket_20_mib_binary_echo,
            websocket_100k_small_frames_in_order,
            websocket_burst_of_large_messages_in_order,
            websocket_send_waits_for_unwritten_bytes,
            websocket_server_closes_first,
            websocket_client_closes_first,
            websocket_protocol_errors_close_with_1002,
            websocket_oversized_frame_closes_with_1009,
            websocket_client_drop_ends_idle_session,
            websocket_server_pings,
            websocket_lagging_handler_keeps_a_live_peer,
            websocket_silent_peer_is_closed_after_pong_timeout,
            websocket_fragmented_message_arrives_whole,
            websocket_client_drop_ends_sending_session,
            websocket_client_drop_ends_consuming_session,
            websocket_frame_with_the_handshake_arrives,
            websocket_stop_closes_sessions_with_1001,
            static_file_is_served_byte_exact,
            sse_events_are_framed,
            sse_stream_does_not_delay_others,
            websocket_invalid_utf8_closes_with_1007,
            websocket_deflate_is_negotiated_and_round_trips,
            websocket_deflate_bomb_closes_with_1009,
            websocket_raw_mode_hands_over_every_frame,
            websocket_send_after_close_fails,
            websocket_handler_is_cancelled_when_the_connection_ends,
        );
    };
    (@cases $engine:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::testing::conformance::run($engine, $crate::testing::conformance::$case);
            }
        )*
    };
}

/// Runs one case on a fresh current-thread runtime (the server runs on its engine's own threads).
pub fn run<E, F>(engine: E, case: F)
where
    E: EngineUnderTest,
    F: for<'e> FnOnce(&'e dyn EngineUnderTest) -> BoxFuture<'e, ()>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a test runtime");
    runtime.block_on(async {
        tokio::time::timeout(std::time::Duration::from_secs(60), case(&engine))
            .await
            .expect("the case finished within 60 s");
    });
}
