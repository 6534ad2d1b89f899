//! The shared conformance suite on the tokio engine, over real loopback sockets.

use engine_core::Engine;
use engine_core::testing::conformance::{Dialer, EngineUnderTest, TestStream};
use engine_tokio::TokioEngine;

struct Tokio;

impl EngineUnderTest for Tokio {
    fn engine(&self) -> Box<dyn Engine> {
        Box::new(TokioEngine::new())
    }

    fn dialer(&self) -> Dialer {
        |addr| {
            Box::pin(async move {
                Ok(Box::new(tokio::net::TcpStream::connect(addr).await?) as Box<dyn TestStream>)
            })
        }
    }
}

engine_core::conformance_suite!(Tokio);
