//! The parameters a matched route captured from the request path: name → decoded value(s), in path
//! order (Ktor's `call.parameters` for path parameters). Owns nothing about matching; query
//! parameters live elsewhere.

use std::borrow::Cow;

/// Path parameters of a resolved route, in the order they appear in the path.
///
/// A name may carry several values: a named tailcard `{path...}` gives one value per remaining
/// segment, and a route may repeat a name (`/{id}/x/{id}`). [`get`](Self::get) returns the first,
/// [`get_all`](Self::get_all) all of them. An absent optional parameter and an empty named tailcard
/// leave no value. Values are percent-decoded, and borrow the request path when they held no `%`;
/// [`into_owned`](Self::into_owned) detaches them. A route without parameters allocates nothing.
///
/// ```
/// use engine_core::routing::{Resolution, RouteBuilder};
/// use http::Method;
///
/// let mut routes = RouteBuilder::new();
/// routes.get("/files/{owner}/{path...}", ());
/// let router = routes.build();
/// let Resolution::Found(found) = router.resolve(&Method::GET, "/files/ann/a%20b/c.txt") else {
///     panic!("no match");
/// };
/// assert_eq!(found.params.get("owner"), Some("ann"));
/// assert_eq!(found.params.get_all("path").collect::<Vec<_>>(), ["a b", "c.txt"]);
/// assert_eq!(found.params.get("missing"), None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params<'a> {
    pub(super) entries: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> Params<'a> {
    /// No parameters; does not allocate.
    pub const fn new() -> Self {
        Self {
            entries: Vec::new(),
        }
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_all(name).next()
    }

    /// Every value of `name`, in path order.
    pub fn get_all<'s>(&'s self, name: &str) -> impl Iterator<Item = &'s str> {
        self.iter().filter(move |(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Every `(name, value)` pair, in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(n, v)| (n.as_ref(), v.as_ref()))
    }

    /// Number of values (not of distinct names).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// No values at all.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The same parameters, owning their names and values, so they can outlive the router and the
    /// request path (to be stored in a call, for instance).
    pub fn into_owned(self) -> Params<'static> {
        let entries = self.entries.into_iter();
        Params {
            entries: entries
                .map(|(n, v)| (Cow::Owned(n.into_owned()), Cow::Owned(v.into_owned())))
                .collect(),
        }
    }

    pub(super) fn push(&mut self, name: &'a str, value: Cow<'a, str>) {
        self.entries.push((Cow::Borrowed(name), value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&'static str, &'static str)]) -> Params<'static> {
        let mut params = Params::new();
        for (name, value) in pairs {
            params.push(name, Cow::Borrowed(value));
        }
        params
    }

    #[test]
    fn get_returns_the_first_value_and_get_all_every_value() {
        let p = params(&[("id", "1"), ("path", "a"), ("path", "b"), ("id", "2")]);
        let cases: &[(&str, Option<&str>, &[&str])] = &[
            ("id", Some("1"), &["1", "2"]),
            ("path", Some("a"), &["a", "b"]),
            ("nope", None, &[]),
            ("ID", None, &[]),
        ];
        for (name, first, all) in cases {
            assert_eq!(p.get(name), *first, "{name}");
            assert_eq!(p.get_all(name).collect::<Vec<_>>(), *all, "{name}");
        }
        assert_eq!(p.len(), 4);
    }

    #[test]
    fn empty_params_do_not_allocate() {
        let p = Params::new();
        assert!(p.is_empty());
        assert_eq!(p.entries.capacity(), 0);
        assert_eq!(p.get("x"), None);
    }

    #[test]
    fn into_owned_keeps_pairs_and_order() {
        let owned = {
            let name = String::from("k");
            let value = String::from("v");
            let mut p = Params::new();
            p.push(&name, Cow::Borrowed(&value));
            p.push(&name, Cow::Owned("w".into()));
            p.into_owned()
        };
        assert_eq!(owned.iter().collect::<Vec<_>>(), [("k", "v"), ("k", "w")]);
    }
}
