use super::*;
use proptest::prelude::*;

fn element(for_node: Option<&str>, proto: Option<&str>, host: Option<&str>) -> ForwardedElement {
    ForwardedElement {
        for_node: for_node.map(str::to_owned),
        by: None,
        host: host.map(str::to_owned),
        proto: proto.map(str::to_owned),
        extensions: Vec::new(),
    }
}

#[test]
fn forwarded_values() {
    let cases: &[(&str, Vec<ForwardedElement>)] = &[
        ("", vec![]),
        ("  ", vec![]),
        (
            "for=192.0.2.43",
            vec![element(Some("192.0.2.43"), None, None)],
        ),
        // RFC 7239 §4's examples.
        (
            r#"for="_gazonk""#,
            vec![element(Some("_gazonk"), None, None)],
        ),
        (
            r#"For="[2001:db8:cafe::17]:4711""#,
            vec![element(Some("[2001:db8:cafe::17]:4711"), None, None)],
        ),
        (
            "for=192.0.2.60;proto=http;by=203.0.113.43",
            vec![ForwardedElement {
                by: Some("203.0.113.43".into()),
                ..element(Some("192.0.2.60"), Some("http"), None)
            }],
        ),
        (
            "for=192.0.2.43, for=198.51.100.17",
            vec![
                element(Some("192.0.2.43"), None, None),
                element(Some("198.51.100.17"), None, None),
            ],
        ),
        // Whitespace around `;` and `,`, empty elements and pairs, extensions.
        (
            " for=a ; proto=https ,, ;; host=example.com;ext=1 ,",
            vec![
                element(Some("a"), Some("https"), None),
                ForwardedElement {
                    extensions: vec![("ext".into(), "1".into())],
                    ..element(None, None, Some("example.com"))
                },
            ],
        ),
        // An element of extensions only is still a hop.
        (
            "for=a, Secret=\"x y\", for=b",
            vec![
                element(Some("a"), None, None),
                ForwardedElement {
                    extensions: vec![("Secret".into(), "x y".into())],
                    ..element(None, None, None)
                },
                element(Some("b"), None, None),
            ],
        ),
        // A comma or semicolon inside a quoted-string is content; quoted-pairs are unescaped.
        (
            r#"host="a,b;c", for="x\"y\\z""#,
            vec![
                element(None, None, Some("a,b;c")),
                element(Some(r#"x"y\z"#), None, None),
            ],
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(
            parse_forwarded(input.as_bytes()).as_ref(),
            Ok(expected),
            "{input:?}"
        );
    }
}

#[test]
fn forwarded_errors() {
    use ForwardedError::*;
    let cases: &[(&[u8], ForwardedError)] = &[
        (b"=x", InvalidName),
        (b"for", MissingValue),
        (b"for =x", MissingValue),
        (b"for= x", InvalidValue),
        (b"for=", InvalidValue),
        (b"for=\"x", UnterminatedQuote),
        (b"for=\"x\\", UnterminatedQuote),
        (b"for=\"a\x01\"", InvalidValue),
        (b"for=\"\xff\"", InvalidValue),
        (b"for=a;FOR=b", DuplicateParameter),
        (b"ext=a;EXT=b", DuplicateParameter),
        (b"for=a b", UnexpectedByte),
        (b"for=\"a\"b", UnexpectedByte),
        (b"for=a\r\nproto=http", UnexpectedByte),
        (b"for=a\0", UnexpectedByte),
    ];
    for (input, expected) in cases {
        assert_eq!(
            parse_forwarded(input),
            Err(*expected),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn nodes() {
    let ip = |s: &str| NodeName::Ip(s.parse().unwrap());
    let cases = [
        ("192.0.2.43", Some((ip("192.0.2.43"), None))),
        ("192.0.2.43:47011", Some((ip("192.0.2.43"), Some(47011)))),
        ("[2001:db8:cafe::17]", Some((ip("2001:db8:cafe::17"), None))),
        (
            "[2001:db8:cafe::17]:4711",
            Some((ip("2001:db8:cafe::17"), Some(4711))),
        ),
        ("unknown", Some((NodeName::Unknown, None))),
        ("UNKNOWN:_p", Some((NodeName::Unknown, None))),
        (
            "_hidden",
            Some((NodeName::Obfuscated("_hidden".into()), None)),
        ),
        (
            "_SEVKISEK:_x.y",
            Some((NodeName::Obfuscated("_SEVKISEK".into()), None)),
        ),
        // Not nodes: IPv6 without brackets, a name, bad ports, a bare underscore.
        ("2001:db8::17", None),
        ("example.com", None),
        ("192.0.2.43:65536", None),
        ("192.0.2.43:", None),
        ("192.0.2.43:+1", None),
        ("[::1]x", None),
        ("[::1", None),
        ("_", None),
        ("", None),
    ];
    for (text, expected) in cases {
        let parsed = parse_node(text).map(|node| (node.name, node.port));
        assert_eq!(parsed, expected, "{text:?}");
    }
}

#[test]
fn hosts_and_schemes() {
    let cases = [
        ("example.com", Some(("example.com", None))),
        ("Example.com:8080", Some(("example.com", Some(8080)))),
        ("192.0.2.1:80", Some(("192.0.2.1", Some(80)))),
        ("[2001:DB8::1]:443", Some(("2001:db8::1", Some(443)))),
        ("[::1]", Some(("::1", None))),
        ("", None),
        (":80", None),
        ("a b", None),
        ("a/b", None),
        ("host:99999", None),
        ("host:", None),
        ("[::1]:", None),
        ("[nope]", None),
        ("a@b", None),
    ];
    for (text, expected) in cases {
        let parsed = parse_host(text);
        let expected = expected.map(|(h, p)| (h.to_owned(), p));
        assert_eq!(parsed, expected, "{text:?}");
    }
    for (scheme, valid) in [
        ("https", true),
        ("h2c+x.y-z", true),
        ("", false),
        ("1http", false),
        ("ht tp", false),
    ] {
        assert_eq!(is_scheme(scheme), valid, "{scheme:?}");
    }
}

fn format(elements: &[ForwardedElement]) -> String {
    let parts: Vec<String> = elements.iter().map(ToString::to_string).collect();
    parts.join(", ")
}

fn arb_value() -> impl Strategy<Value = Option<String>> {
    proptest::option::of("[ -~\t]{0,12}")
}

fn arb_element() -> impl Strategy<Value = ForwardedElement> {
    let extensions = proptest::collection::btree_map("x[a-z]{0,3}", "[ -~\t]{0,6}", 0..3);
    (
        arb_value(),
        arb_value(),
        arb_value(),
        arb_value(),
        extensions,
    )
        .prop_map(|(for_node, by, host, proto, extensions)| ForwardedElement {
            for_node,
            by,
            host,
            proto,
            extensions: extensions.into_iter().collect(),
        })
        .prop_filter("an element has a pair", |e| {
            *e != ForwardedElement::default()
        })
}

proptest! {
    /// Any elements, written with tokens or quoted-strings, read back as they were.
    #[test]
    fn forwarded_round_trips(elements in proptest::collection::vec(arb_element(), 0..5)) {
        let text = format(&elements);
        prop_assert_eq!(parse_forwarded(text.as_bytes()), Ok(elements), "{}", text);
    }

    /// Arbitrary bytes never panic, and an accepted value has no element without a pair.
    #[test]
    fn forwarded_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(elements) = parse_forwarded(&bytes) {
            prop_assert!(elements.iter().all(|e| *e != ForwardedElement::default()));
        }
    }

    /// What the parser accepts, written back, parses to the same elements (the fuzz target's
    /// property, on inputs of the grammar's own bytes so that many are accepted).
    #[test]
    fn accepted_values_write_back(text in r#"(for|by|host|proto|ext|=|;|,| |"|\\|[a-z0-9:\[\]_.])*"#) {
        if let Ok(elements) = parse_forwarded(text.as_bytes()) {
            prop_assert_eq!(parse_forwarded(format(&elements).as_bytes()), Ok(elements));
        }
    }

    /// A node or host that parses prints back to a form that parses the same.
    #[test]
    fn nodes_and_hosts_never_panic(text in "[ -~]{0,24}") {
        if let Some(node) = parse_node(&text) {
            let printed = match (&node.name, node.port) {
                (NodeName::Ip(IpAddr::V6(ip)), Some(port)) => format!("[{ip}]:{port}"),
                (NodeName::Ip(IpAddr::V6(ip)), None) => format!("[{ip}]"),
                (name, Some(port)) => format!("{name}:{port}"),
                (name, None) => name.to_string(),
            };
            prop_assert_eq!(parse_node(&printed), Some(node));
        }
        if let Some((host, port)) = parse_host(&text) {
            prop_assert!(!host.is_empty());
            prop_assert!(port.is_none() || text.contains(':'));
        }
    }
}
