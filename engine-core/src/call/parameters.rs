//! `Parameters`: an ordered multimap of names to string values, for query strings, forms and route
//! parameters (Ktor's `Parameters`). Repeated names keep every value, in order.

use std::fmt;

/// Names to values, in the order they came; a name may repeat.
///
/// ```
/// use engine_core::call::Parameters;
/// let params = Parameters::parse_query("a=1&b=x%20y&a=2&flag");
/// assert_eq!(params.get("a"), Some("1"));
/// assert_eq!(params.get_all("a").collect::<Vec<_>>(), ["1", "2"]);
/// assert_eq!(params.get("b"), Some("x y"));
/// assert_eq!(params.get("flag"), Some(""));
/// assert_eq!(params.get("missing"), None);
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Parameters {
    entries: Vec<(String, String)>,
}

impl Parameters {
    /// No parameters; does not allocate.
    pub const fn new() -> Self {
        Self {
            entries: Vec::new(),
        }
    }

    /// Decodes an `application/x-www-form-urlencoded` string: a query string or a form body.
    /// `+` is a space and `%XX` a byte; invalid UTF-8 becomes U+FFFD (WHATWG URL's rule).
    pub fn parse_query(query: &str) -> Self {
        Self::parse_form(query.as_bytes())
    }

    /// Like [`parse_query`](Self::parse_query), from bytes.
    pub fn parse_form(bytes: &[u8]) -> Self {
        let entries = form_urlencoded::parse(bytes)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Self { entries }
    }

    /// Splits a query string into names and values without decoding them: `%26` stays `%26` and `+`
    /// stays `+` (Ktor's `rawQueryParameters`).
    pub fn parse_query_raw(query: &str) -> Self {
        let entries = query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| match pair.split_once('=') {
                Some((name, value)) => (name.to_owned(), value.to_owned()),
                None => (pair.to_owned(), String::new()),
            })
            .collect();
        Self { entries }
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.entries
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether `name` is present (with any value, the empty one included).
    pub fn contains(&self, name: &str) -> bool {
        self.entries.iter().any(|(n, _)| n == name)
    }

    /// Adds a value for `name`, after the ones it has.
    pub fn append(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.entries.push((name.into(), value.into()));
    }

    /// Every name and value, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Removes every value, keeping the allocation.
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

impl fmt::Debug for Parameters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Parameters {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self {
            entries: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoded_and_raw_query_parameters() {
        let query = "key=value%261%2B2+3&list=a&list=b&semi=a;b&auto&empty=";
        let decoded = Parameters::parse_query(query);
        assert_eq!(decoded.get("key"), Some("value&1+2 3"));
        assert_eq!(decoded.get_all("list").collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(decoded.get("semi"), Some("a;b"));
        assert_eq!(decoded.get("auto"), Some(""));
        assert!(decoded.contains("empty"));
        assert_eq!(decoded.get("missing"), None);
        let raw = Parameters::parse_query_raw(query);
        assert_eq!(raw.get("key"), Some("value%261%2B2+3"));
        assert_eq!(raw.get("auto"), Some(""));
        assert_eq!(raw.len(), decoded.len());
    }
}
