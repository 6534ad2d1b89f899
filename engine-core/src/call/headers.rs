//! Request headers as the client sent them: offsets into the head's bytes, so reading them copies
//! nothing and building an `http::HeaderMap` waits until someone asks for one.

use crate::http::FieldIndex;
use http::{HeaderMap, HeaderName, HeaderValue};
use std::fmt;

/// The header fields of a request. Names compare ASCII case-insensitively; repeated fields keep
/// every value in order.
#[derive(Clone)]
pub struct Headers {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    /// As parsed: the head's bytes and the fields' offsets into them.
    Raw {
        head: Vec<u8>,
        fields: Vec<FieldIndex>,
    },
    /// After a plugin rewrote them.
    Map(HeaderMap),
}

impl Headers {
    pub(crate) fn empty() -> Self {
        Self {
            repr: Repr::Raw {
                head: Vec::new(),
                fields: Vec::new(),
            },
        }
    }

    /// Takes `head` and `fields` (the next request's, as the parser filled them) and hands back
    /// the vectors they replace, for the parser to refill: a connection's requests reuse two pairs
    /// of vectors instead of allocating.
    pub(crate) fn set_raw(
        &mut self,
        head: Vec<u8>,
        fields: Vec<FieldIndex>,
    ) -> (Vec<u8>, Vec<FieldIndex>) {
        match std::mem::replace(&mut self.repr, Repr::Raw { head, fields }) {
            Repr::Raw { head, fields } => (head, fields),
            Repr::Map(_) => Default::default(),
        }
    }

    pub(crate) fn from_map(map: HeaderMap) -> Self {
        Self {
            repr: Repr::Map(map),
        }
    }

    /// The first value of `name` as text; `None` if absent or not visible ASCII.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_all(name).next()
    }

    /// Every value of `name` that is text, in order.
    pub fn get_all<'a, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
        self.get_all_bytes(name)
            .filter_map(|v| std::str::from_utf8(v).ok())
    }

    /// Every value of `name` as bytes (field values may carry obs-text, RFC 9110 §5.5).
    pub fn get_all_bytes<'a, 'n>(&'a self, name: &'n str) -> Values<'a, 'n> {
        Values {
            inner: match &self.repr {
                Repr::Raw { head, fields } => ValuesInner::Raw {
                    head,
                    fields: fields.iter(),
                    name,
                },
                Repr::Map(map) => ValuesInner::Map(map.get_all(name).iter()),
            },
        }
    }

    /// Every value of `name` joined with `", "`, as a list-valued field is read (RFC 9110 §5.3).
    pub fn joined(&self, name: &str) -> Option<String> {
        let mut values = self.get_all(name);
        let first = values.next()?;
        Some(values.fold(first.to_owned(), |mut joined, v| {
            joined.push_str(", ");
            joined.push_str(v);
            joined
        }))
    }

    /// Whether `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get_all_bytes(name).next().is_some()
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Raw { fields, .. } => fields.len(),
            Repr::Map(map) => map.len(),
        }
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every field as name and value bytes, in order.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&str, &[u8])> + '_> {
        match &self.repr {
            Repr::Raw { head, fields } => Box::new(fields.iter().map(move |f| {
                // Field names are tokens: ASCII, so UTF-8.
                (
                    std::str::from_utf8(f.name.of(head)).unwrap_or(""),
                    f.value.of(head),
                )
            })),
            Repr::Map(map) => Box::new(map.iter().map(|(n, v)| (n.as_str(), v.as_bytes()))),
        }
    }

    /// The fields as an `http::HeaderMap` (allocates; names lowercased).
    pub fn to_header_map(&self) -> HeaderMap {
        match &self.repr {
            Repr::Raw { head, fields } => {
                let mut map = HeaderMap::with_capacity(fields.len());
                for f in fields {
                    // The parser admitted only tokens and field-value bytes, which `http` accepts.
                    if let (Ok(name), Ok(value)) = (
                        HeaderName::from_bytes(f.name.of(head)),
                        HeaderValue::from_bytes(f.value.of(head)),
                    ) {
                        map.append(name, value);
                    }
                }
                map
            }
            Repr::Map(map) => map.clone(),
        }
    }
}

/// The values of one header name; see [`Headers::get_all_bytes`].
#[derive(Debug)]
pub struct Values<'a, 'n> {
    inner: ValuesInner<'a, 'n>,
}

#[derive(Debug)]
enum ValuesInner<'a, 'n> {
    Raw {
        head: &'a [u8],
        fields: std::slice::Iter<'a, FieldIndex>,
        name: &'n str,
    },
    Map(http::header::ValueIter<'a, HeaderValue>),
}

impl<'a> Iterator for Values<'a, '_> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        match &mut self.inner {
            ValuesInner::Raw { head, fields, name } => fields
                .find(|f| {
                    f.name.len() == name.len()
                        && f.name.of(head).eq_ignore_ascii_case(name.as_bytes())
                })
                .map(|f| f.value.of(head)),
            ValuesInner::Map(values) => values.next().map(HeaderValue::as_bytes),
        }
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|(n, v)| (n, String::from_utf8_lossy(v))))
            .finish()
    }
}
