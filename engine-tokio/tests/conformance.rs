//! The shared conformance suite on the tokio engine, over real loopback sockets.

use engine_core::testing::conformance::{EngineUnderTest, TestServer, TestStream};
use engine_core::{
    Connector, EmbeddedServer, Module, ServerConfig, embedded_server, pipeline::BoxFuture,
};
use engine_tokio::TokioEngine;
use std::io;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

struct Tokio;

struct Server {
    addr: SocketAddr,
    server: Mutex<EmbeddedServer>,
}

impl EngineUnderTest for Tokio {
    fn start(&self, mut config: ServerConfig, module: Box<dyn Module>) -> Box<dyn TestServer> {
        config.connectors = vec![Connector {
            host: "127.0.0.1".into(),
            port: 0,
        }];
        config.workers = Some(2);
        let mut server = embedded_server(TokioEngine::new(), config, module);
        server.start(false).expect("the tokio engine starts");
        let addr = server.local_addrs()[0];
        Box::new(Server {
            addr,
            server: Mutex::new(server),
        })
    }
}

impl TestServer for Server {
    fn connect(&self) -> BoxFuture<'_, io::Result<Box<dyn TestStream>>> {
        Box::pin(async move {
            let stream = tokio::net::TcpStream::connect(self.addr).await?;
            Ok(Box::new(stream) as Box<dyn TestStream>)
        })
    }

    fn addr(&self) -> Option<SocketAddr> {
        Some(self.addr)
    }

    fn stop(&self, grace: Duration, timeout: Duration) {
        self.server
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .stop(grace, timeout);
    }
}

engine_core::conformance_suite!(Tokio);
