//! Size limits of the wire layer: each a named field with its default, the reason for it, and the
//! status a peer gets past it. Body size and drain limits belong to the connection driver, not here.

/// Limits the request head parser and the chunked decoder enforce.
///
/// ```
/// use engine_core::http::Limits;
/// let limits = Limits { max_headers: 32, ..Limits::default() };
/// assert_eq!(limits.max_request_line, 8 * 1024);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest request line, CRLF included: 8 KiB, the size RFC 9112 §3 recommends supporting at least.
    /// Past it: 414 URI Too Long.
    pub max_request_line: usize,
    /// Largest header section after the request line, the final CRLF included: 64 KiB, room for large
    /// cookies while bounding the memory one connection can pin. Past it: 431.
    pub max_header_bytes: usize,
    /// Most field lines in a header section: 100, as hyper and most proxies. Past it: 431.
    pub max_headers: usize,
    /// Longest chunk-size line (size, extensions, CRLF): 4 KiB. Extensions are ignored, so a long one
    /// is only a way to make the server buffer bytes. Past it: 400 (`InvalidChunkExtension`).
    pub max_chunk_line: usize,
    /// Largest trailer section of a chunked body: 16 KiB. Past it: 400 (`InvalidTrailer`).
    pub max_trailer_bytes: usize,
    /// Most trailer fields: 32. Past it: 400 (`InvalidTrailer`).
    pub max_trailers: usize,
}

impl Limits {
    /// The defaults documented on each field.
    pub const DEFAULT: Self = Self {
        max_request_line: 8 * 1024,
        max_header_bytes: 64 * 1024,
        max_headers: 100,
        max_chunk_line: 4 * 1024,
        max_trailer_bytes: 16 * 1024,
        max_trailers: 32,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}
