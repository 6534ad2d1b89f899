//! The shared conformance suite on the io_uring engine, over real loopback sockets.
//!
//! Where io_uring cannot run, every case fails with the probe's reason: a machine without it
//! cannot vouch for this engine, and a suite that passed there would say it had.

use engine_core::Engine;
use engine_core::testing::conformance::{Dialer, EngineUnderTest, TestStream};
use engine_uring::{UringEngine, io_uring_available};

struct Uring;

impl EngineUnderTest for Uring {
    fn engine(&self) -> Box<dyn Engine> {
        if let Err(reason) = io_uring_available() {
            panic!(
                "io_uring is not available, so the uring engine cannot be tested here: {reason}"
            );
        }
        Box::new(UringEngine::new())
    }

    fn dialer(&self) -> Dialer {
        |addr| {
            Box::pin(async move {
                Ok(Box::new(tokio::net::TcpStream::connect(addr).await?) as Box<dyn TestStream>)
            })
        }
    }
}

engine_core::conformance_suite!(Uring);
