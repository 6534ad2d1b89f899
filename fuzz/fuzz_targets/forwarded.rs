//! The `Forwarded` parser (RFC 7239) on arbitrary bytes: no panic; what it accepts, written back
//! with `Display`, parses to the same elements; the node and host parsers never panic on any value
//! it returns, and a node they accept prints back to the same node.
#![no_main]

use engine_core::plugins::forwarded::{NodeName, parse_forwarded, parse_host, parse_node};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(elements) = parse_forwarded(data) else {
        return;
    };
    let written: Vec<String> = elements.iter().map(ToString::to_string).collect();
    assert_eq!(parse_forwarded(written.join(",").as_bytes()).as_ref(), Ok(&elements));
    for element in &elements {
        let values = [&element.for_node, &element.by, &element.host, &element.proto];
        for value in values.into_iter().flatten() {
            let _ = parse_host(value);
            if let Some(node) = parse_node(value) {
                let name = match &node.name {
                    NodeName::Ip(std::net::IpAddr::V6(ip)) => format!("[{ip}]"),
                    name => name.to_string(),
                };
                let printed = node.port.map_or(name.clone(), |port| format!("{name}:{port}"));
                assert_eq!(parse_node(&printed), Some(node));
            }
        }
    }
});
