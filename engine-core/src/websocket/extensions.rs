//! `Sec-WebSocket-Extensions` (RFC 6455 §9.1), parsed: a list of offers, each a name and its
//! parameters. Pure; what an offer means is the extension's business ([`super::deflate`]).
//!
//! ```text
//! Sec-WebSocket-Extensions = extension-list
//! extension-list = 1#extension
//! extension = extension-token *( ";" extension-param )
//! extension-param = token [ "=" (token | quoted-string) ]
//! ```
//!
//! "When using the quoted-string syntax variant, the value after quoted-string unescaping MUST
//! conform to the 'token' ABNF" (§9.1), so a parameter's value is a token either way.

/// One offered extension: its name and its parameters, in order, with their values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Offer<'a> {
    pub(super) name: &'a str,
    pub(super) params: Vec<(&'a str, Option<String>)>,
}

/// The offers in one `Sec-WebSocket-Extensions` value, or `None` if it does not follow the
/// grammar (the whole field is then ignored: nothing in it is negotiated).
pub(super) fn parse_offers(value: &str) -> Option<Vec<Offer<'_>>> {
    let mut offers = Vec::new();
    let mut rest = value;
    loop {
        rest = skip_ows(rest);
        // 1#: empty list elements are allowed and skipped (RFC 9110 §5.6.1).
        if let Some(after) = rest.strip_prefix(',') {
            rest = after;
            continue;
        }
        if rest.is_empty() {
            return (!offers.is_empty()).then_some(offers);
        }
        let (name, after) = token(rest)?;
        let mut offer = Offer {
            name,
            params: Vec::new(),
        };
        rest = skip_ows(after);
        while let Some(after) = rest.strip_prefix(';') {
            let (param, after) = token(skip_ows(after))?;
            rest = skip_ows(after);
            let value = match rest.strip_prefix('=') {
                Some(after) => {
                    let (value, after) = param_value(skip_ows(after))?;
                    rest = skip_ows(after);
                    Some(value)
                }
                None => None,
            };
            offer.params.push((param, value));
        }
        offers.push(offer);
        match rest.strip_prefix(',') {
            Some(after) => rest = after,
            None if rest.is_empty() => return Some(offers),
            None => return None,
        }
    }
}

fn skip_ows(s: &str) -> &str {
    s.trim_start_matches([' ', '\t'])
}

/// tchar (RFC 9110 §5.6.2).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A token at the start of `s`, and what follows it.
fn token(s: &str) -> Option<(&str, &str)> {
    let end = s.bytes().position(|b| !is_tchar(b)).unwrap_or(s.len());
    (end > 0).then(|| s.split_at(end))
}

/// A token or a quoted-string whose content is a token.
fn param_value(s: &str) -> Option<(String, &str)> {
    let Some(quoted) = s.strip_prefix('"') else {
        let (value, rest) = token(s)?;
        return Some((value.to_owned(), rest));
    };
    let mut value = String::new();
    let mut chars = quoted.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => {
                let rest = &quoted[at + 1..];
                return token(&value)
                    .is_some_and(|(_, tail)| tail.is_empty())
                    .then_some((value, rest));
            }
            '\\' => value.push(chars.next()?.1),
            c => value.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn offer<'a>(name: &'a str, params: &[(&'a str, Option<&str>)]) -> Offer<'a> {
        Offer {
            name,
            params: params
                .iter()
                .map(|&(n, v)| (n, v.map(str::to_owned)))
                .collect(),
        }
    }

    #[test]
    fn offers_parse() {
        assert_eq!(
            parse_offers("permessage-deflate; client_max_window_bits, permessage-deflate"),
            Some(vec![
                offer("permessage-deflate", &[("client_max_window_bits", None)]),
                offer("permessage-deflate", &[]),
            ])
        );
        assert_eq!(
            parse_offers("x-foo ;a=1;b = \"10\" ,, y"),
            Some(vec![
                offer("x-foo", &[("a", Some("1")), ("b", Some("10"))]),
                offer("y", &[]),
            ])
        );
    }

    #[test]
    fn malformed_fields_are_none() {
        for value in [
            "",
            " , ",
            "a;",
            "a;=1",
            "a;b=",
            "a;b=\"1",
            "a;b=\"1 2\"",
            "a b",
            "a;b=1 c",
            "é",
        ] {
            assert_eq!(parse_offers(value), None, "{value:?}");
        }
    }

    proptest! {
        #[test]
        fn any_text_parses_without_panic(value in "\\PC{0,40}") {
            let _ = parse_offers(&value);
        }

        #[test]
        fn written_offers_parse_back(
            offers in prop::collection::vec(
                ("[a-z][a-z_-]{0,8}", prop::collection::vec(("[a-z_]{1,8}", prop::option::of("[0-9]{1,2}"), any::<bool>()), 0..4)),
                1..4,
            )
        ) {
            let written: Vec<String> = offers.iter().map(|(name, params)| {
                let mut s = name.clone();
                for (param, value, quoted) in params {
                    s.push_str("; ");
                    s.push_str(param);
                    match (value, quoted) {
                        (Some(v), true) => s.push_str(&format!("=\"{v}\"")),
                        (Some(v), false) => s.push_str(&format!("={v}")),
                        (None, _) => {}
                    }
                }
                s
            }).collect();
            let joined = written.join(", ");
            let parsed = parse_offers(&joined).expect("a well-formed list");
            prop_assert_eq!(parsed.len(), offers.len());
            for (got, (name, params)) in parsed.iter().zip(&offers) {
                prop_assert_eq!(got.name, name.as_str());
                let want: Vec<(&str, Option<String>)> = params.iter().map(|(p, v, _)| (p.as_str(), v.clone())).collect();
                prop_assert_eq!(&got.params, &want);
            }
        }
    }
}
