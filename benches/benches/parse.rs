//! `parse`: our request head parser against httparse on named fixtures, in bytes/s.
//!
//! Both sides do what a server needs from a head: method, target, version and every field. Ours also
//! checks the target form and `Host`; httparse does neither. Run: `cargo bench -p benches --bench parse`.

use benches::fixtures::{BROWSER, FIELDS_30, TECHEMPOWER};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use engine_core::http::{Limits, Parsed, parse_request_head};
use std::hint::black_box;

const FIXTURES: &[(&str, &[u8])] = &[
    ("techempower", TECHEMPOWER),
    ("browser", BROWSER),
    ("fields_30", FIELDS_30),
];

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    let limits = Limits::default();
    for &(name, buf) in FIXTURES {
        group.throughput(Throughput::Bytes(buf.len() as u64));
        let mut fields = Vec::new();
        group.bench_with_input(BenchmarkId::new("engine-core", name), buf, |b, buf| {
            b.iter(
                || match parse_request_head(black_box(buf), &limits, &mut fields) {
                    Ok(Parsed::Complete(head)) => head.len,
                    _ => unreachable!("fixtures are complete, valid requests"),
                },
            );
        });
        group.bench_with_input(BenchmarkId::new("httparse", name), buf, |b, buf| {
            b.iter(|| {
                let mut headers = [httparse::EMPTY_HEADER; 64];
                let mut req = httparse::Request::new(&mut headers);
                match req.parse(black_box(buf)) {
                    Ok(httparse::Status::Complete(len)) => len,
                    _ => unreachable!("fixtures are complete, valid requests"),
                }
            });
        });
    }
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
