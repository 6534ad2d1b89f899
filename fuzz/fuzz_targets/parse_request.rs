//! The request head parser and the framing decision on arbitrary bytes: no panic, spans inside the
//! buffer, and the answer for a prefix is "partial" or the whole buffer's answer.
#![no_main]

use engine_core::http::{Limits, Parsed, body_framing, parse_request_head};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Small limits, so the fuzzer reaches them.
    let limits = Limits { max_request_line: 512, max_header_bytes: 1024, max_headers: 16, ..Limits::default() };
    let mut fields = Vec::new();
    let full = parse_request_head(data, &limits, &mut fields);
    if let Ok(Parsed::Complete(head)) = &full {
        assert!(head.len <= data.len());
        assert!(fields.iter().all(|f| f.name.end as usize <= head.len && f.value.end as usize <= head.len));
        let _ = body_framing(head, data, &fields);
    }
    let cut = data.first().map_or(0, |&b| usize::from(b) % (data.len() + 1));
    let prefix = parse_request_head(&data[..cut], &limits, &mut fields);
    assert!(prefix == Ok(Parsed::Partial) || prefix == full, "prefix {cut}: {prefix:?} vs {full:?}");
});
