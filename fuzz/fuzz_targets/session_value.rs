//! A session value from the wire, through each transform and the payload decoder: no panic, and
//! nothing verifies that was not issued (a random value never passes the signature or the seal).
#![no_main]

use engine_core::plugins::sessions::codec;
use engine_core::plugins::sessions::{SessionKey, SessionTransform};
use libfuzzer_sys::fuzz_target;
use std::time::SystemTime;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else { return };
    let key = SessionKey::from_slice(&[1; 32]).unwrap();
    let signed = SessionTransform::signed([key.clone()]);
    let encrypted = SessionTransform::encrypted([key]);
    assert_eq!(signed.decode("S", value), None);
    assert_eq!(encrypted.decode("S", value), None);
    let _ = codec::decode::<serde_json::Value>(value, SystemTime::now());
    // What is issued verifies, whatever it carries.
    let wire = signed.encode("S", value).unwrap();
    assert_eq!(signed.decode("S", &wire).as_deref(), Some(value));
    let wire = encrypted.encode("S", value).unwrap();
    assert_eq!(encrypted.decode("S", &wire).as_deref(), Some(value));
});
