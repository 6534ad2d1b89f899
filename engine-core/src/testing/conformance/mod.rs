//! The engine conformance suite: one set of cases, written once, run by every engine's tests through
//! [`conformance_suite!`](crate::conformance_suite). Cases talk raw HTTP/1.1 bytes to a server over
//! whatever connection the engine under test provides (a socket, or the in-memory pipe), so they
//! check the wire, not an API. `shared/CONFORMANCE.md` lists what they cover.

use crate::Module;
use crate::engine::ServerConfig;
use crate::pipeline::BoxFuture;
use std::any::Any;
use std::io;
use std::net::SocketAddr;
use tokio::io::{AsyncRead, AsyncWrite};

mod behaviour;
mod framing;
mod lifecycle;
mod support;

pub use behaviour::*;
pub use framing::*;
pub use lifecycle::*;

/// A connection to the server under test. `Any`, so that a case can reach the concrete stream (a
/// `TcpStream` or the in-memory stream) to reset it.
pub trait TestStream: AsyncRead + AsyncWrite + Send + Unpin + Any {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + Any> TestStream for T {}

/// A running server under test.
pub trait TestServer: Send + Sync {
    /// Opens a connection.
    fn connect(&self) -> BoxFuture<'_, io::Result<Box<dyn TestStream>>>;
    /// The listening address, for engines on sockets.
    fn addr(&self) -> Option<SocketAddr>;
    /// Stops the server.
    fn stop(&self, grace: std::time::Duration, timeout: std::time::Duration);
}

/// An engine under test: starts a server for a module.
pub trait EngineUnderTest: Send + Sync {
    /// Starts `module` with `config` (whose connectors the engine may replace with a free port).
    fn start(&self, config: ServerConfig, module: Box<dyn Module>) -> Box<dyn TestServer>;
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
            hundred_sequential_requests,
            pipelined_gets_answer_in_order,
            pipelined_out_of_order_handlers_answer_in_order,
            http10_without_keep_alive_closes,
            http10_is_never_chunked,
            ignored_bodies_are_drained,
            get_with_body_is_echoed,
            content_length_over_2_31_is_413,
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
            status_only_response,
            empty_routing_is_404,
            date_header_on_every_response,
            header_timeout_gives_408,
            idle_connection_is_closed,
            stream_failing_midway_aborts_connection,
            stream_short_of_content_length_aborts_connection,
            slow_stream_ends_when_client_closes,
            slow_stream_ends_when_client_resets,
            sleeping_handler_is_cancelled_on_close,
            pipelined_slow_handlers_are_cancelled_on_close,
            late_body_with_connection_close_is_answered,
            truncated_body_fails_receive,
            pipelined_streamed_echo_posts_answer_in_order,
            upgrade_switches_to_raw_bytes,
            upgrade_keeps_bytes_sent_with_the_request,
            long_lived_stream_does_not_delay_others,
            stop_lets_in_flight_request_finish,
            stop_closes_idle_connections,
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
