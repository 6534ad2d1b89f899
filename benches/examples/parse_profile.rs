//! Parses one fixture in a loop, for profilers (callgrind, perf): `cargo run --release -p benches --example parse_profile -- browser`.
use benches::fixtures::{BROWSER, FIELDS_30, TECHEMPOWER};
use engine_core::http::{Limits, Parsed, parse_request_head};
use std::hint::black_box;

fn main() {
    let name = std::env::args().nth(1).unwrap_or_else(|| "browser".into());
    let buf = match name.as_str() {
        "techempower" => TECHEMPOWER,
        "fields_30" => FIELDS_30,
        _ => BROWSER,
    };
    let limits = Limits::default();
    let mut fields = Vec::new();
    let mut total = 0;
    for _ in 0..200_000 {
        if let Ok(Parsed::Complete(head)) = parse_request_head(black_box(buf), &limits, &mut fields)
        {
            total += head.len;
        }
    }
    println!("{total}");
}
