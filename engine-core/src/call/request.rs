//! The request side of a call: method, target, version, headers, cookies, query and route
//! parameters, addresses. The body is read through the call ([`super::ApplicationCall::receive_bytes`]
//! and friends), because it runs through the receive pipeline.

use super::Parameters;
use super::headers::Headers;
use crate::http::{Method as WireMethod, RequestHead, TargetForm, Version as WireVersion};
use http::{HeaderMap, Method, Version};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

/// A request, as the handler sees it (Ktor's `call.request`).
#[derive(Debug)]
pub struct Request {
    method: Method,
    /// The method the application sees instead of `method`, once a plugin set one.
    method_override: OnceLock<Method>,
    version: Version,
    /// The request-target's bytes (visible ASCII: the parser admits nothing else), copied from the
    /// head into a vector each request of the connection reuses.
    target: Vec<u8>,
    /// Where the path starts and ends in `target` (past the authority of an absolute-form target).
    path: (usize, usize),
    headers: Mutex<Arc<Headers>>,
    local: SocketAddr,
    remote: SocketAddr,
    query: OnceLock<Parameters>,
    raw_query: OnceLock<Parameters>,
    cookies: OnceLock<Parameters>,
    pub(crate) route_parameters: OnceLock<Parameters>,
}

/// Where the connection's two ends are.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionInfo {
    /// The server's address.
    pub local: SocketAddr,
    /// The client's address.
    pub remote: SocketAddr,
}

impl Request {
    pub(crate) fn new(conn: ConnectionInfo) -> Self {
        Self {
            method: Method::GET,
            method_override: OnceLock::new(),
            version: Version::HTTP_11,
            target: b"/".to_vec(),
            path: (0, 1),
            headers: Mutex::new(Arc::new(Headers::empty())),
            local: conn.local,
            remote: conn.remote,
            query: OnceLock::new(),
            raw_query: OnceLock::new(),
            cookies: OnceLock::new(),
            route_parameters: OnceLock::new(),
        }
    }

    /// Fills this request from a parsed head. `head` holds the head's bytes, `parsed` its offsets
    /// and `fields` its field offsets (all relative to `head`). Needs the only reference, which the
    /// connection driver has between calls. Returns the previous request's head and field vectors
    /// (empty when a plugin still holds its headers), for the parser to refill.
    pub(crate) fn fill(
        &mut self,
        head: Vec<u8>,
        parsed: &RequestHead,
        fields: Vec<crate::http::FieldIndex>,
    ) -> (Vec<u8>, Vec<crate::http::FieldIndex>) {
        self.method = to_http_method(parsed.method, parsed.method_span.of(&head));
        self.version = match parsed.version {
            WireVersion::Http10 => Version::HTTP_10,
            WireVersion::Http11 => Version::HTTP_11,
        };
        self.target.clear();
        self.target.extend_from_slice(parsed.target.of(&head));
        self.path = path_range(&self.target, parsed.target_form);
        // Most calls set none of these: a check is a load, a `take` moves the cell out and back.
        clear(&mut self.method_override);
        clear(&mut self.query);
        clear(&mut self.raw_query);
        clear(&mut self.cookies);
        clear(&mut self.route_parameters);
        let headers = self
            .headers
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (mut head, mut fields) = match Arc::get_mut(headers) {
            Some(reused) => reused.set_raw(head, fields),
            None => {
                let mut fresh = Headers::empty();
                let previous = fresh.set_raw(head, fields);
                *headers = Arc::new(fresh);
                previous
            }
        };
        head.clear();
        fields.clear();
        if head.capacity() > KEPT_HEAD_CAPACITY {
            // One large head (up to the 64 KiB header limit) does not make every connection that
            // sent one hold that much for the rest of its life: the next parse allocates anew.
            head = Vec::new();
        }
        (head, fields)
    }

    /// The method the application sees (Ktor's `call.request.httpMethod`): the one the client sent,
    /// unless a plugin overrode it with [`override_method`](Self::override_method) (AutoHeadResponse
    /// makes a HEAD request a GET for routing and the handler).
    pub fn method(&self) -> &Method {
        self.method_override.get().unwrap_or(&self.method)
    }

    /// The method the client sent, whatever plugins made of it (Ktor's `call.request.local.method`).
    /// The connection driver frames the response by this one: a HEAD gets no body.
    pub fn local_method(&self) -> &Method {
        &self.method
    }

    /// Makes the application see `method` instead of the one the client sent, for the rest of the
    /// call. Set before routing (in [`CallPipeline::PLUGINS`](crate::CallPipeline::PLUGINS) or
    /// earlier) so that routing resolves with it. Once per call: a second override is refused and
    /// its method handed back.
    pub fn override_method(&self, method: Method) -> Result<(), Method> {
        self.method_override.set(method)
    }

    /// The HTTP version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The request-target as sent: `/path?query` (or an absolute URI, `*`, or an authority).
    pub fn uri(&self) -> &str {
        ascii(&self.target)
    }

    /// The path, still percent-encoded, without the query.
    pub fn path(&self) -> &str {
        ascii(&self.target[self.path.0..self.path.1])
    }

    /// The query string without `?`, still encoded; empty when there is none.
    pub fn query_string(&self) -> &str {
        let rest = &self.target[self.path.1..];
        ascii(rest.strip_prefix(b"?").unwrap_or(b""))
    }

    /// The query parameters, decoded (`+` is a space, `%XX` a byte).
    pub fn query_parameters(&self) -> &Parameters {
        self.query
            .get_or_init(|| Parameters::parse_query(self.query_string()))
    }

    /// The query parameters split but not decoded (Ktor's `rawQueryParameters`).
    pub fn raw_query_parameters(&self) -> &Parameters {
        self.raw_query
            .get_or_init(|| Parameters::parse_query_raw(self.query_string()))
    }

    /// The headers as they are now (a plugin may have rewritten them). Cheap: a reference count.
    pub fn headers(&self) -> Arc<Headers> {
        self.lock_headers().clone()
    }

    /// The first value of header `name` as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.lock_headers().get(name).map(str::to_owned)
    }

    /// Rewrites the headers: `f` edits them as an `http::HeaderMap` and the result replaces them for
    /// everyone who reads them afterwards.
    pub fn rewrite_headers(&self, f: impl FnOnce(&mut HeaderMap)) {
        let mut headers = self.lock_headers();
        let mut map = headers.to_header_map();
        f(&mut map);
        *headers = Arc::new(Headers::from_map(map));
    }

    /// The cookies the client sent (`Cookie` fields, RFC 6265 §5.4), percent-decoded.
    pub fn cookies(&self) -> &Parameters {
        self.cookies.get_or_init(|| {
            let headers = self.headers();
            headers
                .get_all("cookie")
                .flat_map(cookie::Cookie::split_parse_encoded)
                .filter_map(Result::ok)
                .map(|c| (c.name().to_owned(), c.value().to_owned()))
                .collect()
        })
    }

    /// The server's address on this connection.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The client's address.
    pub fn remote_addr(&self) -> SocketAddr {
        self.remote
    }

    fn lock_headers(&self) -> std::sync::MutexGuard<'_, Arc<Headers>> {
        // Replacing an `Arc` cannot be interrupted half-way: a poisoned lock is still consistent.
        self.headers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A head vector larger than this is not kept for the connection's next request.
const KEPT_HEAD_CAPACITY: usize = 8 * 1024;

fn clear<T>(cell: &mut OnceLock<T>) {
    if cell.get().is_some() {
        cell.take();
    }
}

fn ascii(bytes: &[u8]) -> &str {
    debug_assert!(bytes.is_ascii());
    // SAFETY: every byte of a request-target is visible ASCII: the parser admits nothing else
    // (`http::chars::TARGET`), and `Request::fill` takes the target only from a parsed head. Checking
    // again was 1.7% of a whole call's instructions (callgrind on the `pipeline` bench's
    // `call/routing_hello`), for a path read at least twice per call.
    unsafe { std::str::from_utf8_unchecked(bytes) }
}

fn to_http_method(method: WireMethod, token: &[u8]) -> Method {
    match method {
        WireMethod::Get => Method::GET,
        WireMethod::Head => Method::HEAD,
        WireMethod::Post => Method::POST,
        WireMethod::Put => Method::PUT,
        WireMethod::Delete => Method::DELETE,
        WireMethod::Connect => Method::CONNECT,
        WireMethod::Options => Method::OPTIONS,
        WireMethod::Trace => Method::TRACE,
        WireMethod::Patch => Method::PATCH,
        // A token is a valid extension method for `http`.
        WireMethod::Extension => Method::from_bytes(token).unwrap_or(Method::GET),
    }
}

/// The path's range in a target: everything before `?`, past `scheme://authority` for absolute-form.
fn path_range(target: &[u8], form: TargetForm) -> (usize, usize) {
    let end = crate::http::chars::find_byte(target, b'?').unwrap_or(target.len());
    let start = match form {
        TargetForm::Origin => 0,
        TargetForm::Absolute => {
            let authority = target
                .windows(3)
                .position(|w| w == b"://")
                .map_or(0, |i| i + 3);
            crate::http::chars::find_byte(&target[authority..end], b'/')
                .map_or(end, |i| authority + i)
        }
        TargetForm::Authority | TargetForm::Asterisk => end,
    };
    (start, end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{Limits, Parsed, parse_request_head};
    use std::net::Ipv4Addr;

    /// Fills `request` from `head` as the driver does, returning the vectors handed back.
    fn fill(request: &mut Request, head: &[u8]) -> (Vec<u8>, Vec<crate::http::FieldIndex>) {
        let mut fields = Vec::new();
        let Ok(Parsed::Complete(parsed)) =
            parse_request_head(head, &Limits::default(), &mut fields)
        else {
            panic!("a complete head");
        };
        request.fill(head.to_vec(), &parsed, fields)
    }

    #[test]
    fn fill_hands_back_the_previous_vectors_but_not_a_large_head() {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 80));
        let mut request = Request::new(ConnectionInfo {
            local: addr,
            remote: addr,
        });
        let small = b"GET /a?x=1 HTTP/1.1\r\nHost: h\r\n\r\n";
        let (head, fields) = fill(&mut request, small);
        assert!(head.is_empty() && fields.is_empty());
        assert_eq!((request.path(), request.query_string()), ("/a", "x=1"));

        let large = format!(
            "POST /b HTTP/1.1\r\nHost: h\r\nX-Big: {}\r\n\r\n",
            "v".repeat(20_000)
        );
        let (head, fields) = fill(&mut request, large.as_bytes());
        // The small head's vectors come back, emptied, with their room.
        assert!(head.is_empty() && head.capacity() >= small.len());
        assert!(fields.is_empty() && fields.capacity() >= 1);
        assert_eq!(request.path(), "/b");
        assert_eq!(request.headers().get("x-big").map(str::len), Some(20_000));

        let (head, fields) = fill(&mut request, small);
        // The large head's vector is not kept; its field index is.
        assert_eq!(head.capacity(), 0);
        assert!(fields.is_empty() && fields.capacity() >= 2);
        assert_eq!(request.headers().get("x-big"), None);
        assert_eq!(request.headers().get("host"), Some("h"));
    }
}
