//! Table-driven cases for the request head parser, prefix and split invariance, and a property test
//! against httparse.

use super::*;
use ParseError::*;

fn parse(buf: &[u8]) -> Result<Parsed<RequestHead>, ParseError> {
    parse_request_head(buf, &Limits::default(), &mut Vec::new())
}

/// Parses a complete head and returns it with its fields as strings.
fn complete(buf: &[u8]) -> (RequestHead, Vec<(String, String)>) {
    let mut fields = Vec::new();
    match parse_request_head(buf, &Limits::default(), &mut fields) {
        Ok(Parsed::Complete(head)) => {
            let fields = fields
                .iter()
                .map(|f| {
                    let s = |span: Span| String::from_utf8_lossy(span.of(buf)).into_owned();
                    (s(f.name), s(f.value))
                })
                .collect();
            (head, fields)
        }
        other => panic!("{:?}: {other:?}", String::from_utf8_lossy(buf)),
    }
}

const VALID: &[&[u8]] = &[
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /plaintext HTTP/1.1\r\nHost: localhost\r\nAccept: text/plain\r\nConnection: keep-alive\r\n\r\n",
    b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"POST /x?y=1&z=%20 HTTP/1.1\r\nHost: a:8080\r\nContent-Length: 3\r\n\r\nabc",
    b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
    b"CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n",
    b"GET http://example.org/pub?x HTTP/1.1\r\nHost: example.org\r\n\r\n",
    b"GET / HTTP/1.0\r\n\r\n",
    b"GET / HTTP/1.9\r\nHost: a\r\n\r\n",
    b"M-SEARCH /upnp HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /caf%C3%A9 HTTP/1.1\r\nHost: a\r\nX-Obs: \xff\xfe\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Spaces: \t a b \t \r\n\r\n",
    b"GET / HTTP/1.1\r\nhOsT: [::1]:80\r\nCookie: a=b; c=d\r\nCookie: e=f\r\n\r\n",
    b"PATCH /r HTTP/1.1\r\nHost: a\r\nX-Tab:\tv\tw\r\n\r\nleftover",
];

#[test]
fn valid_requests_parse_to_their_parts() {
    let (head, fields) = complete(VALID[3]);
    assert_eq!(head.method, Method::Post);
    assert_eq!(head.target.of(VALID[3]), b"/x?y=1&z=%20");
    assert_eq!(head.target_form, TargetForm::Origin);
    assert_eq!(head.version, Version::Http11);
    assert_eq!(head.host.map(|h| h.of(VALID[3])), Some(&b"a:8080"[..]));
    assert_eq!(
        fields,
        [
            ("Host".into(), "a:8080".into()),
            ("Content-Length".into(), "3".into())
        ]
    );
    assert_eq!(&VALID[3][head.len..], b"abc");

    let cases: &[(&[u8], Method, TargetForm, Version)] = &[
        (VALID[2], Method::Get, TargetForm::Origin, Version::Http11),
        (
            VALID[4],
            Method::Options,
            TargetForm::Asterisk,
            Version::Http11,
        ),
        (
            VALID[5],
            Method::Connect,
            TargetForm::Authority,
            Version::Http11,
        ),
        (VALID[6], Method::Get, TargetForm::Absolute, Version::Http11),
        (VALID[7], Method::Get, TargetForm::Origin, Version::Http10),
        (VALID[8], Method::Get, TargetForm::Origin, Version::Http11),
        (
            VALID[9],
            Method::Extension,
            TargetForm::Origin,
            Version::Http11,
        ),
        (
            VALID[13],
            Method::Patch,
            TargetForm::Origin,
            Version::Http11,
        ),
    ];
    for &(buf, method, form, version) in cases {
        let (head, _) = complete(buf);
        assert_eq!(
            (head.method, head.target_form, head.version),
            (method, form, version)
        );
    }
    assert_eq!(complete(VALID[9]).0.method_span.of(VALID[9]), b"M-SEARCH");
}

#[test]
fn field_values_are_trimmed_and_repeats_kept() {
    let (_, fields) = complete(VALID[11]);
    assert_eq!(fields[1], ("X-Empty".into(), String::new()));
    assert_eq!(fields[2], ("X-Spaces".into(), "a b".into()));
    let (head, fields) = complete(VALID[12]);
    assert_eq!(head.host.map(|h| h.of(VALID[12])), Some(&b"[::1]:80"[..]));
    assert_eq!(fields[1].1, "a=b; c=d");
    assert_eq!(fields[2].1, "e=f");
    let (head, fields) = complete(VALID[13]);
    assert_eq!(fields[1].1, "v\tw");
    assert_eq!(&VALID[13][head.len..], b"leftover");
}

const INVALID: &[(&[u8], ParseError)] = &[
    (b"G\x00T / HTTP/1.1\r\nHost: a\r\n\r\n", InvalidMethod),
    (b"GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", InvalidMethod),
    (b" GET / HTTP/1.1\r\nHost: a\r\n\r\n", InvalidMethod),
    (b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", InvalidTarget),
    (b"GET /a\x00b HTTP/1.1\r\nHost: a\r\n\r\n", InvalidTarget),
    (b"GET /a\x7fb HTTP/1.1\r\nHost: a\r\n\r\n", InvalidTarget),
    (b"GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", InvalidTarget),
    (
        b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n",
        InvalidTarget,
    ),
    (b"GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", InvalidTarget),
    (b"GET * HTTP/1.1\r\nHost: a\r\n\r\n", InvalidTarget),
    (b"M-SEARCH * HTTP/1.1\r\nHost: a\r\n\r\n", InvalidTarget),
    (b"CONNECT /x HTTP/1.1\r\nHost: a\r\n\r\n", InvalidTarget),
    (
        b"CONNECT example.org HTTP/1.1\r\nHost: a\r\n\r\n",
        InvalidTarget,
    ),
    (b"CONNECT a:b HTTP/1.1\r\nHost: a\r\n\r\n", InvalidTarget),
    (b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n", InvalidLineEnding),
    (b"GET / http/1.1\r\nHost: a\r\n\r\n", InvalidVersion),
    (b"GET / HTTP/1.x\r\nHost: a\r\n\r\n", InvalidVersion),
    (b"GET / HTTP/11.1\r\nHost: a\r\n\r\n", InvalidVersion),
    (b"GET / HTTP/1\r\nHost: a\r\n\r\n", InvalidVersion),
    (b"GET /\r\n\r\n", InvalidTarget),
    (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", UnsupportedVersion),
    (b"GET / HTTP/0.9\r\nHost: a\r\n\r\n", UnsupportedVersion),
    (b"GET / HTTP/1.1\nHost: a\r\n\r\n", InvalidLineEnding),
    (b"GET / HTTP/1.1\r\nHost: a\n\r\n", InvalidLineEnding),
    (b"GET / HTTP/1.1\r\nHost: a\r\n\n", InvalidLineEnding),
    (
        b"GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n",
        InvalidLineEnding,
    ),
    (b"GET / HTTP/1.1\r\nHost: a\r\n\rX", InvalidLineEnding),
    (b"\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", InvalidLineEnding),
    (b"\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", InvalidLineEnding),
    (b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", WhitespaceBeforeColon),
    (
        b"GET / HTTP/1.1\r\nHost\t: a\r\n\r\n",
        WhitespaceBeforeColon,
    ),
    (
        b"GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n folded\r\n\r\n",
        ObsoleteLineFolding,
    ),
    (b"GET / HTTP/1.1\r\n Host: a\r\n\r\n", ObsoleteLineFolding),
    (b"GET / HTTP/1.1\r\nHo\x00st: a\r\n\r\n", InvalidFieldName),
    // A bad name byte is an error before the line (or the colon) arrives.
    (b"GET / HTTP/1.0\r\nHost: a\r\n{", InvalidFieldName),
    (b"GET / HTTP/1.1\r\nHost: a\r\nX-Y z", WhitespaceBeforeColon),
    (
        b"GET / HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n",
        InvalidFieldName,
    ),
    (
        b"GET / HTTP/1.1\r\nX(y): a\r\nHost: a\r\n\r\n",
        InvalidFieldName,
    ),
    (
        b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n",
        InvalidFieldValue,
    ),
    (
        b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x0bb\r\n\r\n",
        InvalidFieldValue,
    ),
    (
        b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n",
        InvalidFieldValue,
    ),
    (b"GET / HTTP/1.1\r\n\r\n", InvalidHost),
    (b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", InvalidHost),
    (b"GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", InvalidHost),
    (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", InvalidHost),
    (b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", InvalidHost),
];

#[test]
fn invalid_requests_are_refused_with_their_error() {
    for &(buf, expected) in INVALID {
        assert_eq!(
            parse(buf),
            Err(expected),
            "{:?}",
            String::from_utf8_lossy(buf)
        );
    }
}

#[test]
fn errors_map_to_their_statuses() {
    let statuses = [
        (RequestLineTooLong, 414),
        (HeaderSectionTooLarge, 431),
        (TooManyHeaders, 431),
        (UnsupportedVersion, 505),
        (UnsupportedTransferCoding, 501),
        (InvalidHost, 400),
        (ObsoleteLineFolding, 400),
    ];
    for (error, status) in statuses {
        assert_eq!(error.status(), status, "{error}");
    }
}

#[test]
fn every_prefix_of_a_valid_request_is_partial() {
    for buf in VALID {
        let (head, _) = complete(buf);
        for end in 0..head.len {
            assert_eq!(
                parse(&buf[..end]),
                Ok(Parsed::Partial),
                "{:?}",
                String::from_utf8_lossy(&buf[..end])
            );
        }
    }
}

/// The parser restarts from the buffer's start, so "split at every offset" means: each prefix either
/// needs more bytes or already gives the final answer, and the final answer is the whole buffer's.
#[test]
fn the_result_does_not_depend_on_where_bytes_are_split() {
    let all = VALID
        .iter()
        .map(|&buf| (buf, parse(buf)))
        .chain(INVALID.iter().map(|&(b, e)| (b, Err(e))));
    for (buf, full) in all {
        let mut decided = false;
        for end in 0..=buf.len() {
            let result = parse(&buf[..end]);
            if result == Ok(Parsed::Partial) {
                assert!(
                    !decided,
                    "{:?}: partial after decided",
                    String::from_utf8_lossy(buf)
                );
                continue;
            }
            decided = true;
            assert_eq!(
                result,
                full,
                "{:?} cut at {end}",
                String::from_utf8_lossy(buf)
            );
        }
    }
}

#[test]
fn request_line_limit_gives_414_before_the_line_ends() {
    let limits = Limits {
        max_request_line: 64,
        ..Limits::default()
    };
    let mut fields = Vec::new();
    let long = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(100));
    assert_eq!(
        parse_request_head(long.as_bytes(), &limits, &mut fields),
        Err(RequestLineTooLong)
    );
    assert_eq!(
        parse_request_head(&long.as_bytes()[..70], &limits, &mut fields),
        Err(RequestLineTooLong)
    );
    assert_eq!(
        parse_request_head(&long.as_bytes()[..63], &limits, &mut fields),
        Ok(Parsed::Partial)
    );
    // Exactly at the limit (CRLF included) still parses.
    let fits = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(64 - 16));
    assert!(matches!(
        parse_request_head(fits.as_bytes(), &limits, &mut fields),
        Ok(Parsed::Complete(_))
    ));
    // Empty lines count: CRLFs alone cannot grow the buffer past the limit.
    assert_eq!(
        parse_request_head(&b"\r\n".repeat(40), &limits, &mut fields),
        Err(RequestLineTooLong)
    );
    assert_eq!(
        parse(format!("GET /{} HTTP/1.1\r\n", "a".repeat(9000)).as_bytes()),
        Err(RequestLineTooLong)
    );
}

#[test]
fn header_limits_give_431() {
    let limits = Limits {
        max_header_bytes: 64,
        max_headers: 3,
        ..Limits::default()
    };
    let mut fields = Vec::new();
    let mut check = |buf: &[u8]| parse_request_head(buf, &limits, &mut fields);
    assert_eq!(
        check(b"GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"),
        Err(TooManyHeaders)
    );
    assert!(matches!(
        check(b"GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n"),
        Ok(Parsed::Complete(_))
    ));
    let big = format!("GET / HTTP/1.1\r\nHost: a\r\nX: {}\r\n\r\n", "v".repeat(60));
    assert_eq!(check(big.as_bytes()), Err(HeaderSectionTooLarge));
    assert_eq!(check(&big.as_bytes()[..90]), Err(HeaderSectionTooLarge));
    // A section of exactly 64 bytes, final CRLF included, fits.
    let exact = format!(
        "GET / HTTP/1.1\r\nHost: a\r\nX: {}\r\n\r\n",
        "v".repeat(64 - 9 - 5 - 2)
    );
    assert!(matches!(check(exact.as_bytes()), Ok(Parsed::Complete(_))));
    assert_eq!(
        parse(
            format!(
                "GET / HTTP/1.1\r\nHost: a\r\nX: {}\r\n\r\n",
                "v".repeat(70_000)
            )
            .as_bytes()
        ),
        Err(HeaderSectionTooLarge)
    );
    let many: String = (0..101).map(|i| format!("X-{i}: v\r\n")).collect();
    assert_eq!(
        parse(format!("GET / HTTP/1.1\r\nHost: a\r\n{many}\r\n").as_bytes()),
        Err(TooManyHeaders)
    );
}

#[test]
fn the_fields_vector_is_reused_and_left_clean() {
    let mut fields = Vec::with_capacity(8);
    let limits = Limits::default();
    let _ = parse_request_head(VALID[12], &limits, &mut fields);
    assert_eq!(fields.len(), 3);
    assert_eq!(
        parse_request_head(&VALID[12][..40], &limits, &mut fields),
        Ok(Parsed::Partial)
    );
    assert!(fields.is_empty());
    assert!(parse_request_head(INVALID[33].0, &limits, &mut fields).is_err());
    assert!(fields.is_empty());
    assert_eq!(fields.capacity(), 8);
}

mod oracle;
