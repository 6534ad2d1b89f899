//! Shared pieces of the criterion benchmarks and their profiling examples: the request fixtures,
//! and the in-memory [`connection::Connection`] the `pipeline` and `stack` benches drive calls over.
//! The benchmarks themselves live in `benches/`; `src/bin/hyper_server.rs` is the comparison
//! server of the loopback load benchmark.

pub mod connection;

/// Request heads the parser benchmarks and the profiling example parse.
pub mod fixtures {
    /// What wrk sends in TechEmpower's plaintext test.
    pub const TECHEMPOWER: &[u8] = b"GET /plaintext HTTP/1.1\r\n\
    Host: localhost:8080\r\n\
    Accept: text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7\r\n\
    Connection: keep-alive\r\n\r\n";

    /// A typical navigation request from Chromium, cookies included (~700 bytes).
    pub const BROWSER: &[u8] = b"GET /account/orders?page=2&sort=date HTTP/1.1\r\n\
    Host: shop.example.com\r\n\
    Connection: keep-alive\r\n\
    sec-ch-ua: \"Chromium\";v=\"124\", \"Google Chrome\";v=\"124\", \"Not-A.Brand\";v=\"99\"\r\n\
    sec-ch-ua-mobile: ?0\r\n\
    sec-ch-ua-platform: \"Linux\"\r\n\
    Upgrade-Insecure-Requests: 1\r\n\
    User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n\
    Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8\r\n\
    Sec-Fetch-Site: same-origin\r\n\
    Sec-Fetch-Mode: navigate\r\n\
    Sec-Fetch-User: ?1\r\n\
    Sec-Fetch-Dest: document\r\n\
    Referer: https://shop.example.com/account\r\n\
    Accept-Encoding: gzip, deflate, br, zstd\r\n\
    Accept-Language: en-US,en;q=0.9,de;q=0.8\r\n\
    Cookie: session=eyJ1c2VyIjo0MiwiZXhwIjoxNzE0MDAwMDAwfQ.c2lnbmF0dXJl; theme=dark; _ga=GA1.2.1234567890.1714000000\r\n\r\n";

    /// A request with 30 short header fields: per-field overhead dominates.
    pub const FIELDS_30: &[u8] = b"GET /api/v1/items/123 HTTP/1.1\r\n\
    Host: api.example.com\r\n\
    Accept: application/json\r\n\
    Accept-Encoding: gzip\r\n\
    Accept-Language: en\r\n\
    Authorization: Bearer abcdef0123456789\r\n\
    Cache-Control: no-cache\r\n\
    Connection: keep-alive\r\n\
    Content-Type: application/json\r\n\
    DNT: 1\r\n\
    If-None-Match: \"abc123\"\r\n\
    Origin: https://app.example.com\r\n\
    Pragma: no-cache\r\n\
    Referer: https://app.example.com/\r\n\
    TE: trailers\r\n\
    User-Agent: client/1.0\r\n\
    Via: 1.1 proxy\r\n\
    X-Api-Version: 2\r\n\
    X-B3-SpanId: a2fb4a1d1a96d312\r\n\
    X-B3-TraceId: 463ac35c9f6413ad\r\n\
    X-Client-Id: web\r\n\
    X-Correlation-Id: 7f3c9a\r\n\
    X-Device: desktop\r\n\
    X-Feature: beta\r\n\
    X-Forwarded-For: 203.0.113.7\r\n\
    X-Forwarded-Host: api.example.com\r\n\
    X-Forwarded-Proto: https\r\n\
    X-Real-IP: 203.0.113.7\r\n\
    X-Region: eu-west-1\r\n\
    X-Request-Id: 5d41402abc4b2a76\r\n\
    X-Tenant: acme\r\n\r\n";
}
