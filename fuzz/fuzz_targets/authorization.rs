//! The `Authorization` parser and Basic's decoder on arbitrary bytes: no panic, the scheme is a
//! prefix of the value, a token68 is the rest of it, and a decoded user-id has no `:`.
#![no_main]

use engine_core::plugins::auth::header::{Credentials, decode_basic, parse_authorization};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else { return };
    if let Some(parsed) = parse_authorization(value) {
        assert!(!parsed.scheme.is_empty());
        assert!(value.trim_start().starts_with(parsed.scheme));
        if let Credentials::Token68(token) = parsed.credentials {
            assert!(value.trim_end().ends_with(token));
            if let Some(credential) = decode_basic(token) {
                assert!(!credential.name.contains(':'));
            }
        }
    }
});
