//! Pure parsers for what proxies send: the `Forwarded` field (RFC 7239 §4), its node names
//! (§6), and the `host[:port]` and scheme values that `Forwarded` and `X-Forwarded-*` carry.
//! Bytes in, values or a typed error out; nothing here trusts or applies them.
//!
//! ```text
//! Forwarded         = 1#forwarded-element                       ; RFC 7239 §4
//! forwarded-element = [ forwarded-pair ] *( ";" [ forwarded-pair ] )
//! forwarded-pair    = token "=" value
//! value             = token / quoted-string
//! node              = nodename [ ":" node-port ]                ; §6
//! nodename          = IPv4address / "[" IPv6address "]" / "unknown" / obfnode
//! obfnode           = "_" 1*( ALPHA / DIGIT / "." / "_" / "-" )
//! ```
//!
//! Leniency, and why: optional whitespace is accepted around `,` (the list rule of RFC 9110 §5.6.1
//! allows it) and around `;` (proxies in the wild write `for=a; proto=https`); empty list elements
//! and empty pairs are skipped (RFC 9110 §5.6.1 asks recipients to accept them). Strictness: a
//! parameter twice in one element is an error (§4: it "MUST NOT occur more than once"), and so is
//! anything outside the grammar, so that a malformed field is never half-applied.

use crate::http::chars::{is_ows, is_tchar};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One `forwarded-element`: what one proxy saw. Values are as sent, quoted-strings unescaped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForwardedElement {
    /// `for`: the client that made the request to this proxy (§5.2), a node.
    pub for_node: Option<String>,
    /// `by`: the interface where the request came in to the proxy (§5.1), a node.
    pub by: Option<String>,
    /// `host`: the `Host` the proxy received (§5.3).
    pub host: Option<String>,
    /// `proto`: the scheme the proxy was reached with (§5.4).
    pub proto: Option<String>,
    /// Other parameters (extensions, §5.5), name and value, in order. Kept so that an element
    /// with only extensions still counts as a hop.
    pub extensions: Vec<(String, String)>,
}

/// Writes the element as a `forwarded-element`: `for=..;by=..;host=..;proto=..`, each value a
/// token when it is one and a quoted-string otherwise. A value of visible ASCII, spaces and tabs
/// (anything [`parse_forwarded`] returns) reads back as it was.
///
/// ```
/// use engine_core::plugins::forwarded::ForwardedElement;
///
/// let element = ForwardedElement {
///     for_node: Some("[2001:db8::1]:4711".into()),
///     proto: Some("https".into()),
///     ..Default::default()
/// };
/// assert_eq!(element.to_string(), r#"for="[2001:db8::1]:4711";proto=https"#);
/// ```
impl fmt::Display for ForwardedElement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pairs = [
            ("for", &self.for_node),
            ("by", &self.by),
            ("host", &self.host),
            ("proto", &self.proto),
        ];
        let known = pairs
            .into_iter()
            .filter_map(|(name, value)| Some((name, value.as_deref()?)));
        let extensions = self
            .extensions
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()));
        for (i, (name, value)) in known.chain(extensions).enumerate() {
            let separator = if i == 0 { "" } else { ";" };
            write!(f, "{separator}{name}=")?;
            write_value(f, value)?;
        }
        Ok(())
    }
}

/// A value as a token when it is one, as a quoted-string otherwise.
fn write_value(f: &mut fmt::Formatter<'_>, value: &str) -> fmt::Result {
    if !value.is_empty() && value.bytes().all(is_tchar) {
        return f.write_str(value);
    }
    f.write_str("\"")?;
    for c in value.chars() {
        if c == '"' || c == '\\' {
            f.write_str("\\")?;
        }
        write!(f, "{c}")?;
    }
    f.write_str("\"")
}

/// Why a `Forwarded` field value does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ForwardedError {
    /// A parameter name that is empty or not a token.
    InvalidName,
    /// A parameter with no `=value`.
    MissingValue,
    /// A value that is empty or neither a token nor a quoted-string.
    InvalidValue,
    /// A quoted-string without its closing quote.
    UnterminatedQuote,
    /// A parameter twice in one element (§4).
    DuplicateParameter,
    /// A byte where `;`, `,` or the end was expected.
    UnexpectedByte,
}

impl ForwardedError {
    /// A short, fixed description for logs; it never echoes peer bytes.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidName => "Forwarded: invalid parameter name",
            Self::MissingValue => "Forwarded: parameter without a value",
            Self::InvalidValue => "Forwarded: invalid value",
            Self::UnterminatedQuote => "Forwarded: unterminated quoted-string",
            Self::DuplicateParameter => "Forwarded: parameter repeated in one element",
            Self::UnexpectedByte => "Forwarded: unexpected byte",
        }
    }
}

impl fmt::Display for ForwardedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for ForwardedError {}

/// Parses one `Forwarded` field value into its elements, in order (the first is the proxy
/// farthest from this server). An empty or all-whitespace value has no element.
///
/// ```
/// use engine_core::plugins::forwarded::parse_forwarded;
///
/// let elements = parse_forwarded(br#"for=192.0.2.60;proto=https, for="[2001:db8::1]:4711""#).unwrap();
/// assert_eq!(elements.len(), 2);
/// assert_eq!(elements[0].proto.as_deref(), Some("https"));
/// assert_eq!(elements[1].for_node.as_deref(), Some("[2001:db8::1]:4711"));
/// ```
pub fn parse_forwarded(value: &[u8]) -> Result<Vec<ForwardedElement>, ForwardedError> {
    let mut elements = Vec::new();
    let mut element = ForwardedElement::default();
    let mut has_pair = false;
    let mut at = skip_ows(value, 0);
    while at < value.len() {
        match value[at] {
            b',' => {
                if has_pair {
                    elements.push(std::mem::take(&mut element));
                    has_pair = false;
                }
                at = skip_ows(value, at + 1);
                continue;
            }
            b';' => {
                at = skip_ows(value, at + 1);
                continue;
            }
            _ => {}
        }
        let (name, pair_value, next) = parse_pair(value, at)?;
        store(&mut element, name, pair_value)?;
        has_pair = true;
        at = skip_ows(value, next);
        if at < value.len() && !matches!(value[at], b',' | b';') {
            return Err(ForwardedError::UnexpectedByte);
        }
    }
    if has_pair {
        elements.push(element);
    }
    Ok(elements)
}

/// One `token "=" value` from `at`: the name, the unescaped value, and where it ends.
fn parse_pair(input: &[u8], at: usize) -> Result<(&[u8], String, usize), ForwardedError> {
    let name_end = scan_token(input, at);
    if name_end == at {
        return Err(ForwardedError::InvalidName);
    }
    if input.get(name_end) != Some(&b'=') {
        return Err(ForwardedError::MissingValue);
    }
    let start = name_end + 1;
    let (value, end) = match input.get(start) {
        Some(b'"') => parse_quoted(input, start + 1)?,
        _ => {
            let end = scan_token(input, start);
            if end == start {
                return Err(ForwardedError::InvalidValue);
            }
            (ascii_text(&input[start..end]), end)
        }
    };
    Ok((&input[at..name_end], value, end))
}

/// A quoted-string's content from just past its opening quote (RFC 9110 §5.6.4):
/// `qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text`, `quoted-pair = "\" ( HTAB / SP /
/// VCHAR / obs-text )`. obs-text is refused: no proxy writes it, and a value is text.
fn parse_quoted(input: &[u8], mut at: usize) -> Result<(String, usize), ForwardedError> {
    let mut out = String::new();
    while let Some(&b) = input.get(at) {
        match b {
            b'"' => return Ok((out, at + 1)),
            b'\\' => match input.get(at + 1) {
                Some(&escaped @ (b'\t' | 0x20..=0x7e)) => {
                    out.push(char::from(escaped));
                    at += 2;
                }
                Some(_) => return Err(ForwardedError::InvalidValue),
                None => return Err(ForwardedError::UnterminatedQuote),
            },
            b'\t' | 0x20..=0x7e => {
                out.push(char::from(b));
                at += 1;
            }
            _ => return Err(ForwardedError::InvalidValue),
        }
    }
    Err(ForwardedError::UnterminatedQuote)
}

fn store(element: &mut ForwardedElement, name: &[u8], value: String) -> Result<(), ForwardedError> {
    let slot = if name.eq_ignore_ascii_case(b"for") {
        &mut element.for_node
    } else if name.eq_ignore_ascii_case(b"by") {
        &mut element.by
    } else if name.eq_ignore_ascii_case(b"host") {
        &mut element.host
    } else if name.eq_ignore_ascii_case(b"proto") {
        &mut element.proto
    } else {
        let name = ascii_text(name);
        if element
            .extensions
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(&name))
        {
            return Err(ForwardedError::DuplicateParameter);
        }
        element.extensions.push((name, value));
        return Ok(());
    };
    if slot.replace(value).is_some() {
        return Err(ForwardedError::DuplicateParameter);
    }
    Ok(())
}

fn scan_token(input: &[u8], from: usize) -> usize {
    from + input[from..].iter().take_while(|&&b| is_tchar(b)).count()
}

fn skip_ows(input: &[u8], from: usize) -> usize {
    from + input[from..].iter().take_while(|&&b| is_ows(b)).count()
}

fn ascii_text(bytes: &[u8]) -> String {
    // Tokens are ASCII (`tchar`), so this never replaces anything.
    String::from_utf8_lossy(bytes).into_owned()
}

/// A `node` of `for` or `by` (RFC 7239 §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardedNode {
    /// The node's name.
    pub name: NodeName,
    /// Its port, when a numeric one was given (an obfuscated port is dropped).
    pub port: Option<u16>,
}

/// The name of a [`ForwardedNode`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeName {
    /// An IPv4 address or a bracketed IPv6 address.
    Ip(IpAddr),
    /// `unknown`: the proxy does not know (§6.2).
    Unknown,
    /// An obfuscated identifier, `_` and then letters, digits, `.`, `_`, `-` (§6.3).
    Obfuscated(String),
}

impl fmt::Display for NodeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ip(ip) => write!(f, "{ip}"),
            Self::Unknown => f.write_str("unknown"),
            Self::Obfuscated(name) => f.write_str(name),
        }
    }
}

/// Parses a node (`192.0.2.43`, `"[2001:db8::17]:4711"`'s content, `unknown`, `_hidden:_port`).
pub fn parse_node(text: &str) -> Option<ForwardedNode> {
    let (name, port) = match text.strip_prefix('[') {
        Some(rest) => {
            let (ip, after) = rest.split_once(']')?;
            let ip: Ipv6Addr = ip.parse().ok()?;
            (NodeName::Ip(ip.into()), node_port(after)?)
        }
        None => {
            let (name, port) = match text.split_once(':') {
                Some((name, port)) => (name, node_port_value(port)?),
                None => (text, None),
            };
            (plain_node_name(name)?, port)
        }
    };
    Some(ForwardedNode { name, port })
}

/// What follows `]`: nothing, or `:` and a node-port.
fn node_port(after: &str) -> Option<Option<u16>> {
    match after.strip_prefix(':') {
        Some(port) => node_port_value(port),
        None if after.is_empty() => Some(None),
        None => None,
    }
}

/// `node-port = port / obfport`: `Some(None)` for an obfuscated port.
fn node_port_value(port: &str) -> Option<Option<u16>> {
    if is_obfuscated(port) {
        return Some(None);
    }
    parse_port(port).map(Some)
}

fn plain_node_name(name: &str) -> Option<NodeName> {
    if name.eq_ignore_ascii_case("unknown") {
        Some(NodeName::Unknown)
    } else if is_obfuscated(name) {
        Some(NodeName::Obfuscated(name.to_owned()))
    } else {
        name.parse::<Ipv4Addr>()
            .ok()
            .map(|ip| NodeName::Ip(ip.into()))
    }
}

fn is_obfuscated(text: &str) -> bool {
    text.strip_prefix('_').is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    })
}

/// `port = 1*5DIGIT` within `u16`; no sign, no space.
pub fn parse_port(text: &str) -> Option<u16> {
    if text.is_empty() || text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Splits `host[:port]` (RFC 9110 §7.2's `Host` value, RFC 3986 §3.2.2's `host`): a bracketed
/// IPv6 address, or a reg-name / IPv4 address of unreserved characters, sub-delims and
/// percent-encodings. The host comes back without brackets and lowercased.
///
/// ```
/// use engine_core::plugins::forwarded::parse_host;
///
/// assert_eq!(parse_host("Example.COM:8443"), Some(("example.com".to_owned(), Some(8443))));
/// assert_eq!(parse_host("[::1]"), Some(("::1".to_owned(), None)));
/// assert_eq!(parse_host("bad host"), None);
/// ```
pub fn parse_host(text: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = match text.strip_prefix('[') {
        Some(rest) => {
            let (ip, after) = rest.split_once(']')?;
            ip.parse::<Ipv6Addr>().ok()?;
            let port = match after.strip_prefix(':') {
                Some(port) => Some(parse_port(port)?),
                None if after.is_empty() => None,
                None => return None,
            };
            (ip, port)
        }
        None => {
            let (host, port) = match text.rsplit_once(':') {
                Some((host, port)) => (host, Some(parse_port(port)?)),
                None => (text, None),
            };
            let reg_name = |b: u8| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=%".contains(&b);
            if host.is_empty() || !host.bytes().all(reg_name) {
                return None;
            }
            (host, port)
        }
    };
    Some((host.to_ascii_lowercase(), port))
}

/// Whether `text` is a URI scheme (RFC 3986 §3.1: `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`).
pub fn is_scheme(text: &str) -> bool {
    let mut bytes = text.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
