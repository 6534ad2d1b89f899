//! The `Authorization` field and the `WWW-Authenticate` challenge, as pure functions: RFC 9110
//! §11 (the framework), RFC 7617 (Basic) and RFC 6750 §2.1, §3 (Bearer).
//!
//! ```text
//! credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ]      ; RFC 9110 §11.4
//! token68     = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//! auth-param  = token BWS "=" BWS ( token / quoted-string )
//! ```
//!
//! Nothing here allocates unless a quoted-string holds an escape.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::borrow::Cow;

/// A parsed `Authorization` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization<'a> {
    /// The scheme as sent; compare it case-insensitively (RFC 9110 §11.1).
    pub scheme: &'a str,
    /// What follows the scheme.
    pub credentials: Credentials<'a>,
}

/// The part of an `Authorization` value after the scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials<'a> {
    /// Nothing after the scheme.
    None,
    /// A `token68` (Basic's and Bearer's form).
    Token68(&'a str),
    /// A list of `name=value` parameters; names as sent, values unquoted.
    Params(Vec<(&'a str, Cow<'a, str>)>),
}

impl<'a> Authorization<'a> {
    /// Whether the scheme is `scheme`, ignoring case.
    pub fn is_scheme(&self, scheme: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(scheme)
    }

    /// The token68, if that is what follows the scheme.
    pub fn token68(&self) -> Option<&'a str> {
        match self.credentials {
            Credentials::Token68(token) => Some(token),
            _ => None,
        }
    }
}

/// `tchar` (RFC 9110 §5.6.2).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token68_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)
}

/// Whether `s` is a `token68`.
fn is_token68(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    !body.is_empty() && body.bytes().all(is_token68_char)
}

/// The longest token at the start of `s`, and the rest.
fn split_token(s: &str) -> (&str, &str) {
    let end = s.bytes().position(|b| !is_tchar(b)).unwrap_or(s.len());
    s.split_at(end)
}

/// Parses an `Authorization` (or `Proxy-Authorization`) value; `None` if it is not `credentials`.
/// Surrounding whitespace (OWS, which the field value excludes) is ignored.
pub fn parse_authorization(value: &str) -> Option<Authorization<'_>> {
    let value = value.trim_matches([' ', '\t']);
    let (scheme, rest) = split_token(value);
    if scheme.is_empty() {
        return None;
    }
    if rest.is_empty() {
        return Some(Authorization {
            scheme,
            credentials: Credentials::None,
        });
    }
    let rest = rest.strip_prefix(' ')?.trim_start_matches(' ');
    let credentials = if is_token68(rest) {
        Credentials::Token68(rest)
    } else {
        Credentials::Params(parse_params(rest)?)
    };
    Some(Authorization {
        scheme,
        credentials,
    })
}

/// `#auth-param`: a comma-separated list, empty elements allowed (RFC 9110 §5.6.1).
fn parse_params(mut s: &str) -> Option<Vec<(&str, Cow<'_, str>)>> {
    let mut params = Vec::new();
    loop {
        s = s.trim_start_matches([' ', '\t', ',']);
        if s.is_empty() {
            return Some(params);
        }
        let (name, rest) = split_token(s);
        if name.is_empty() {
            return None;
        }
        let rest = rest.trim_start_matches([' ', '\t']).strip_prefix('=')?;
        let rest = rest.trim_start_matches([' ', '\t']);
        let (value, rest) = if rest.starts_with('"') {
            parse_quoted(rest)?
        } else {
            let (token, rest) = split_token(rest);
            if token.is_empty() {
                return None;
            }
            (Cow::Borrowed(token), rest)
        };
        params.push((name, value));
        s = rest.trim_start_matches([' ', '\t']);
        if !s.is_empty() {
            s = s.strip_prefix(',')?;
        }
    }
}

/// A `quoted-string` at the start of `s` (RFC 9110 §5.6.4), unescaped, and the rest.
fn parse_quoted(s: &str) -> Option<(Cow<'_, str>, &str)> {
    let body = s.strip_prefix('"')?;
    let mut owned: Option<String> = None;
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                let value = owned.map_or(Cow::Borrowed(&body[..i]), Cow::Owned);
                return Some((value, &body[i + 1..]));
            }
            '\\' => {
                let (_, escaped) = chars.next()?;
                if !is_qd_text(escaped) && escaped != '"' && escaped != '\\' {
                    return None;
                }
                owned
                    .get_or_insert_with(|| body[..i].to_owned())
                    .push(escaped);
            }
            c if is_qd_text(c) => {
                if let Some(owned) = &mut owned {
                    owned.push(c);
                }
            }
            _ => return None,
        }
    }
    None
}

/// `qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text`.
fn is_qd_text(c: char) -> bool {
    matches!(c, '\t' | ' ' | '\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e') || u32::from(c) >= 0x80
}

/// Appends `value` as a `quoted-string`, escaping `"` and `\`. Control characters, which a
/// quoted-string cannot carry, are dropped.
pub fn push_quoted(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if is_qd_text(c) => out.push(c),
            _ => {}
        }
    }
    out.push('"');
}

/// Basic credentials (RFC 7617 §2): a user-id and a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPasswordCredential {
    /// The user-id (no `:`).
    pub name: String,
    /// The password (may contain `:`).
    pub password: String,
}

/// Decodes Basic's token68: base64 of `user-id ":" password` in UTF-8 (the `charset="UTF-8"`
/// this server announces, RFC 7617 §2.1). `None` if it is not that.
pub fn decode_basic(token68: &str) -> Option<UserPasswordCredential> {
    let bytes = STANDARD.decode(token68).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (name, password) = text.split_once(':')?;
    if name.chars().chain(password.chars()).any(char::is_control) {
        return None;
    }
    Some(UserPasswordCredential {
        name: name.to_owned(),
        password: password.to_owned(),
    })
}

/// Basic's challenge: `Basic realm="<realm>", charset="UTF-8"` (RFC 7617 §2, §2.1).
pub fn basic_challenge(realm: &str) -> String {
    let mut out = String::from("Basic realm=");
    push_quoted(&mut out, realm);
    out.push_str(", charset=\"UTF-8\"");
    out
}

/// Bearer's challenge (RFC 6750 §3): `Bearer`, then `realm`, then `error="invalid_token"` when a
/// token was sent and refused (a request with no token gets no error code, §3.1).
pub fn bearer_challenge(realm: Option<&str>, invalid_token: bool) -> String {
    let mut out = String::from("Bearer");
    let mut separator = " ";
    if let Some(realm) = realm {
        out.push_str(" realm=");
        push_quoted(&mut out, realm);
        separator = ", ";
    }
    if invalid_token {
        out.push_str(separator);
        out.push_str("error=\"invalid_token\"");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params<'a>(list: &[(&'a str, &'a str)]) -> Credentials<'a> {
        Credentials::Params(list.iter().map(|&(n, v)| (n, Cow::Borrowed(v))).collect())
    }

    #[test]
    fn parses_credentials() {
        let cases: Vec<(&str, Option<(&str, Credentials<'_>)>)> = vec![
            (
                "Basic dXNlcjpwYXNz",
                Some(("Basic", Credentials::Token68("dXNlcjpwYXNz"))),
            ),
            (
                "basic   dXNlcjpwYXNz==",
                Some(("basic", Credentials::Token68("dXNlcjpwYXNz=="))),
            ),
            (
                " Bearer a.b-c_d~e+f/g= ",
                Some(("Bearer", Credentials::Token68("a.b-c_d~e+f/g="))),
            ),
            ("Negotiate", Some(("Negotiate", Credentials::None))),
            (
                "Digest a=b, c=\"d e\"",
                Some(("Digest", params(&[("a", "b"), ("c", "d e")]))),
            ),
            (
                "Digest a = b ,, c=\"\"",
                Some(("Digest", params(&[("a", "b"), ("c", "")]))),
            ),
            (
                "X a=\"q\\\"x\\\\\"",
                Some((
                    "X",
                    Credentials::Params(vec![("a", Cow::Owned("q\"x\\".into()))]),
                )),
            ),
            ("", None),
            (" ", None),
            ("=abc", None),
            ("Basic\tdXNl", None),
            ("Basic dXNl cjpw", None),
            ("Basic =abc", None),
            ("Digest a=", Some(("Digest", Credentials::Token68("a=")))),
            ("Digest a=, b=c", None),
            ("Digest a=\"open", None),
            ("Digest a=b c=d", None),
            ("Digest a=\"x\\\u{1}\"", None),
            ("Basic\u{e9} x", None),
        ];
        for (value, expected) in cases {
            let parsed = parse_authorization(value).map(|a| (a.scheme, a.credentials));
            assert_eq!(parsed, expected, "{value:?}");
        }
    }

    #[test]
    fn decodes_basic() {
        let cases = [
            ("dXNlcjpwYXNz", Some(("user", "pass"))),
            ("dXNlcjpwOmE6c3M=", Some(("user", "p:a:ss"))),
            ("OnBhc3M=", Some(("", "pass"))),
            ("dGVzdDoxMjPCow==", Some(("test", "123\u{a3}"))),
            ("dXNlcnBhc3M=", None),
            ("dXNlcjpwYXNz=", None),
            ("//79:", None),
            ("gA==", None),
            ("dXNlcgpuYW1lOnBhc3M=", None),
        ];
        for (token, expected) in cases {
            let decoded = decode_basic(token);
            let decoded = decoded
                .as_ref()
                .map(|c| (c.name.as_str(), c.password.as_str()));
            assert_eq!(decoded, expected, "{token}");
        }
    }

    #[test]
    fn challenges() {
        assert_eq!(
            basic_challenge("Admin"),
            r#"Basic realm="Admin", charset="UTF-8""#
        );
        assert_eq!(
            basic_challenge("a \"b\" \\c\n"),
            r#"Basic realm="a \"b\" \\c", charset="UTF-8""#
        );
        assert_eq!(bearer_challenge(None, false), "Bearer");
        assert_eq!(
            bearer_challenge(None, true),
            r#"Bearer error="invalid_token""#
        );
        assert_eq!(
            bearer_challenge(Some("api"), true),
            r#"Bearer realm="api", error="invalid_token""#
        );
        // What we write, we read back.
        let challenge = basic_challenge("a \"b\"");
        let parsed = parse_authorization(&challenge).unwrap();
        assert_eq!(
            parsed.credentials,
            Credentials::Params(vec![
                ("realm", Cow::Owned("a \"b\"".into())),
                ("charset", "UTF-8".into())
            ])
        );
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        const TOKEN: &str = "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}";

        proptest! {
            #[test]
            fn never_panics_and_the_scheme_is_a_token(value in "\\PC{0,64}") {
                if let Some(parsed) = parse_authorization(&value) {
                    prop_assert!(!parsed.scheme.is_empty());
                    prop_assert!(parsed.scheme.bytes().all(is_tchar));
                    prop_assert!(value.trim_start_matches([' ', '\t']).starts_with(parsed.scheme));
                }
            }

            #[test]
            fn token68_round_trips(scheme in TOKEN, token in "[A-Za-z0-9._~+/-]{1,40}={0,2}", spaces in 1usize..4) {
                let value = format!("{scheme}{}{token}", " ".repeat(spaces));
                let parsed = parse_authorization(&value).unwrap();
                prop_assert_eq!(parsed.scheme, scheme.as_str());
                prop_assert_eq!(parsed.credentials, Credentials::Token68(&token));
            }

            #[test]
            fn params_round_trip(
                scheme in TOKEN,
                params in proptest::collection::vec((TOKEN, "[ -~\u{a0}-\u{ff}]{0,16}"), 1..5),
            ) {
                let mut value = format!("{scheme} ");
                for (i, (name, v)) in params.iter().enumerate() {
                    if i > 0 {
                        value.push_str(", ");
                    }
                    value.push_str(name);
                    value.push('=');
                    push_quoted(&mut value, v);
                }
                let parsed = parse_authorization(&value).unwrap();
                let expected: Vec<(&str, Cow<'_, str>)> =
                    params.iter().map(|(n, v)| (n.as_str(), Cow::Borrowed(v.as_str()))).collect();
                prop_assert_eq!(parsed.credentials, Credentials::Params(expected));
            }

            #[test]
            fn basic_round_trips(name in "[^:\\p{Cc}]{0,16}", password in "[^\\p{Cc}]{0,16}") {
                let token = STANDARD.encode(format!("{name}:{password}"));
                let value = format!("Basic {token}");
                let parsed = parse_authorization(&value).unwrap();
                let decoded = decode_basic(parsed.token68().unwrap()).unwrap();
                prop_assert_eq!((decoded.name, decoded.password), (name, password));
            }
        }
    }
}
