//! Property tests against httparse, the oracle: valid requests parse to the same method, target,
//! version and fields; whatever httparse rejects, we reject too, except where RFC 9112 lets us differ
//! and we document it:
//!
//! - `HTTP/1.x` with x > 1: httparse refuses it, we read it as HTTP/1.1 (RFC 9110 §2.5).
//!
//! The other direction (we refuse what httparse accepts) is expected: bare LF line endings, target
//! forms that do not fit the method, missing or repeated `Host`, whitespace around the request-line
//! parts.

use super::*;
use proptest::prelude::*;

const TCHARS: &[u8] =
    b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn token(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(proptest::sample::select(TCHARS), 1..max)
}

fn target() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(0x21u8..=0x7e, 0..64).prop_map(|mut rest| {
        rest.insert(0, b'/');
        rest
    })
}

fn field_value() -> impl Strategy<Value = Vec<u8>> {
    let byte =
        prop_oneof![8 => 0x21u8..=0x7e, 1 => Just(b' '), 1 => Just(b'\t'), 1 => 0x80u8..=0xff];
    // Values start and end with a visible byte, so trimming is not what is compared here.
    (
        proptest::collection::vec(byte, 0..40),
        0x21u8..=0x7e,
        0x21u8..=0x7e,
    )
        .prop_map(|(mid, a, z)| {
            let mut v = vec![a];
            v.extend(mid);
            v.push(z);
            v
        })
}

const OWS: &[&[u8]] = &[b"", b" ", b"  ", b"\t", b" \t"];

prop_compose! {
    fn request()(
        method in prop_oneof![
            Just(b"GET".to_vec()), Just(b"POST".to_vec()), Just(b"HEAD".to_vec()), token(12)
        ],
        target in target(),
        minor in 0u8..=1,
        fields in proptest::collection::vec((token(24), field_value()), 0..24),
        ows in proptest::sample::select(OWS),
    ) -> Vec<u8> {
        let mut buf = method;
        buf.push(b' ');
        buf.extend(target);
        buf.extend(format!(" HTTP/1.{minor}\r\nHost: example.org\r\n").as_bytes());
        for (name, value) in fields {
            if name.eq_ignore_ascii_case(b"host") {
                continue;
            }
            buf.extend(name);
            buf.push(b':');
            buf.extend(ows);
            buf.extend(value);
            buf.extend(ows);
            buf.extend(b"\r\n");
        }
        buf.extend(b"\r\n");
        buf
    }
}

type Parts = (Vec<u8>, Vec<u8>, u8, Vec<(Vec<u8>, Vec<u8>)>, usize);

fn ours(buf: &[u8]) -> Result<Option<Parts>, ParseError> {
    let mut fields = Vec::new();
    match parse_request_head(buf, &Limits::default(), &mut fields)? {
        Parsed::Partial => Ok(None),
        Parsed::Complete(head) => {
            let minor = if head.version == Version::Http10 {
                0
            } else {
                1
            };
            let fields = fields
                .iter()
                .map(|f| (f.name.of(buf).to_vec(), f.value.of(buf).to_vec()))
                .collect();
            Ok(Some((
                head.method_span.of(buf).to_vec(),
                head.target.of(buf).to_vec(),
                minor,
                fields,
                head.len,
            )))
        }
    }
}

fn oracle(buf: &[u8]) -> Result<Option<Parts>, httparse::Error> {
    let mut headers = [httparse::EMPTY_HEADER; 128];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(buf)? {
        httparse::Status::Partial => Ok(None),
        httparse::Status::Complete(len) => {
            let fields = req
                .headers
                .iter()
                .map(|h| (h.name.as_bytes().to_vec(), h.value.to_vec()))
                .collect();
            let method = req.method.unwrap_or_default().as_bytes().to_vec();
            let target = req.path.unwrap_or_default().as_bytes().to_vec();
            Ok(Some((
                method,
                target,
                req.version.unwrap_or_default(),
                fields,
                len,
            )))
        }
    }
}

/// httparse refuses `HTTP/1.x` for x > 1; RFC 9110 §2.5 has us read it as 1.1.
fn is_documented_difference(buf: &[u8]) -> bool {
    let line_end = buf
        .windows(2)
        .position(|w| w == b"\r\n")
        .unwrap_or(buf.len());
    let line = &buf[..line_end];
    line.len() >= 8
        && line[line.len() - 8..line.len() - 1].starts_with(b"HTTP/1.")
        && line[line.len() - 1] > b'1'
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn valid_requests_parse_like_httparse(buf in request()) {
        let expected = oracle(&buf);
        prop_assert!(expected.is_ok(), "{:?}: {:?}", String::from_utf8_lossy(&buf), expected);
        let expected = expected.unwrap();
        prop_assert!(expected.is_some());
        prop_assert_eq!(ours(&buf), Ok(expected));
    }

    #[test]
    fn what_httparse_rejects_we_reject(
        buf in request(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..4),
    ) {
        let mut buf = buf;
        for (at, byte, kind) in edits {
            let i = at.index(buf.len());
            match kind {
                0 => buf[i] = byte,
                1 => buf.insert(i, byte),
                _ => { buf.remove(i); }
            }
        }
        match (oracle(&buf), ours(&buf)) {
            (Err(_), Ok(_)) => prop_assert!(is_documented_difference(&buf), "{:?}", String::from_utf8_lossy(&buf)),
            (Ok(Some(theirs)), Ok(Some(mine))) => prop_assert_eq!(theirs, mine),
            (Ok(None), Ok(Some(_))) => prop_assert!(false, "we finished where httparse needs more: {:?}", String::from_utf8_lossy(&buf)),
            _ => {}
        }
    }
}
