//! Entity tags and the evaluation of preconditions (RFC 9110 §8.8, §13): pure, table-tested.
//!
//! ```text
//! entity-tag    = [ "W/" ] DQUOTE *etagc DQUOTE               ; §8.8.3
//! etagc         = %x21 / %x23-7E / obs-text
//! If-Match      = "*" / #entity-tag                           ; §13.1.1
//! If-None-Match = "*" / #entity-tag                           ; §13.1.2
//! ```
//!
//! [`evaluate`] follows §13.2.2's order: `If-Match` (strong comparison), else
//! `If-Unmodified-Since`; then `If-None-Match` (weak comparison), else `If-Modified-Since` for GET
//! and HEAD. A list member that is not an entity-tag is skipped; a date that is not an HTTP-date
//! makes its field ignored (§13.1.3, §13.1.4), and so does a date field with nothing to compare it
//! to (no `Last-Modified`).

use http::{HeaderValue, Method};
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// An entity tag: an opaque validator, strong or weak.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EntityTag {
    weak: bool,
    tag: String,
}

fn is_etagc(c: char) -> bool {
    c == '\u{21}' || ('\u{23}'..='\u{7e}').contains(&c) || !c.is_ascii()
}

impl EntityTag {
    /// A strong tag; `None` if `tag` holds a byte an entity-tag cannot (`"`, space, controls).
    pub fn strong(tag: impl Into<String>) -> Option<Self> {
        Self::new(false, tag.into())
    }

    /// A weak tag (`W/"..."`); `None` as for [`strong`](Self::strong).
    pub fn weak(tag: impl Into<String>) -> Option<Self> {
        Self::new(true, tag.into())
    }

    fn new(weak: bool, tag: String) -> Option<Self> {
        tag.chars().all(is_etagc).then_some(Self { weak, tag })
    }

    /// Reads one entity-tag, OWS around it allowed.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim_matches([' ', '\t']);
        let (weak, quoted) = match text.strip_prefix("W/") {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let tag = quoted.strip_prefix('"')?.strip_suffix('"')?;
        Self::new(weak, tag.to_owned())
    }

    /// Whether the tag is weak.
    pub fn is_weak(&self) -> bool {
        self.weak
    }

    /// The opaque tag, without quotes.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// §8.8.3.2 strong comparison: both strong, same tag.
    pub fn strong_eq(&self, other: &Self) -> bool {
        !self.weak && !other.weak && self.tag == other.tag
    }

    /// §8.8.3.2 weak comparison: same tag, either or both weak.
    pub fn weak_eq(&self, other: &Self) -> bool {
        self.tag == other.tag
    }

    /// As a field value.
    pub fn to_header_value(&self) -> Option<HeaderValue> {
        HeaderValue::from_str(&self.to_string()).ok()
    }
}

impl fmt::Display for EntityTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = if self.weak { "W/" } else { "" };
        write!(f, "{prefix}\"{}\"", self.tag)
    }
}

/// An `If-Match` or `If-None-Match` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntityTagList {
    /// `*`: any current representation.
    Any,
    /// The listed tags that parse.
    Tags(Vec<EntityTag>),
}

impl EntityTagList {
    /// Reads a list of entity tags or `*`. Members are found by their quotes, not by splitting at
    /// commas, because an entity-tag may contain a comma (`etagc` includes `%x2C`).
    pub fn parse(value: &str) -> Self {
        if value.trim_matches([' ', '\t']) == "*" {
            return Self::Any;
        }
        let mut tags = Vec::new();
        let mut rest = value;
        loop {
            rest = rest.trim_start_matches([' ', '\t', ',']);
            if rest.is_empty() {
                break;
            }
            let weak = rest.starts_with("W/");
            let quoted = if weak { &rest[2..] } else { rest };
            let closing = quoted.strip_prefix('"').and_then(|inner| {
                inner
                    .find('"')
                    .map(|end| (&inner[..end], &inner[end + 1..]))
            });
            let Some((tag, after)) = closing else {
                // Not an entity-tag: skip to the next member.
                rest = rest.find(',').map_or("", |at| &rest[at + 1..]);
                continue;
            };
            let after = after.trim_start_matches([' ', '\t']);
            if (after.is_empty() || after.starts_with(','))
                && let Some(etag) = EntityTag::new(weak, tag.to_owned())
            {
                tags.push(etag);
            }
            rest = after.find(',').map_or("", |at| &after[at + 1..]);
        }
        Self::Tags(tags)
    }

    fn matches(&self, current: Option<&EntityTag>, strong: bool) -> bool {
        match (self, current) {
            (Self::Any, _) => true,
            (Self::Tags(_), None) => false,
            (Self::Tags(tags), Some(current)) => tags.iter().any(|tag| {
                if strong {
                    tag.strong_eq(current)
                } else {
                    tag.weak_eq(current)
                }
            }),
        }
    }
}

/// What the response says about its representation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    /// The `ETag`.
    pub etag: Option<EntityTag>,
    /// The `Last-Modified` date.
    pub last_modified: Option<SystemTime>,
}

/// The request's precondition fields, as text (repeated fields joined with `, `).
#[derive(Debug, Clone, Copy, Default)]
pub struct Conditions<'a> {
    /// `If-Match`.
    pub if_match: Option<&'a str>,
    /// `If-None-Match`.
    pub if_none_match: Option<&'a str>,
    /// `If-Modified-Since`.
    pub if_modified_since: Option<&'a str>,
    /// `If-Unmodified-Since`.
    pub if_unmodified_since: Option<&'a str>,
}

impl Conditions<'_> {
    /// Whether the request has no precondition at all.
    pub fn is_empty(&self) -> bool {
        self.if_match.is_none()
            && self.if_none_match.is_none()
            && self.if_modified_since.is_none()
            && self.if_unmodified_since.is_none()
    }
}

/// What the preconditions make of a response that would be 2xx.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Send the response as it is.
    Proceed,
    /// 304 Not Modified: the client's copy is current (GET and HEAD only).
    NotModified,
    /// 412 Precondition Failed.
    PreconditionFailed,
}

/// Seconds since the epoch: HTTP dates have no finer resolution (§5.6.7).
fn seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// `date` as seconds, if it is an HTTP-date.
fn http_date(date: &str) -> Option<u64> {
    httpdate::parse_http_date(date.trim_matches([' ', '\t']))
        .ok()
        .map(seconds)
}

/// Evaluates `conditions` for a `method` request whose response would be 2xx with `validators`
/// (RFC 9110 §13.2.2).
pub fn evaluate(method: &Method, conditions: &Conditions<'_>, validators: &Validators) -> Outcome {
    let etag = validators.etag.as_ref();
    let modified = validators.last_modified.map(seconds);
    if let Some(if_match) = conditions.if_match {
        if !EntityTagList::parse(if_match).matches(etag, true) {
            return Outcome::PreconditionFailed;
        }
    } else if let (Some(since), Some(modified)) =
        (conditions.if_unmodified_since.and_then(http_date), modified)
        && modified > since
    {
        return Outcome::PreconditionFailed;
    }
    let safe = method == Method::GET || method == Method::HEAD;
    if let Some(if_none_match) = conditions.if_none_match {
        if EntityTagList::parse(if_none_match).matches(etag, false) {
            return if safe {
                Outcome::NotModified
            } else {
                Outcome::PreconditionFailed
            };
        }
    } else if safe
        && let (Some(since), Some(modified)) =
            (conditions.if_modified_since.and_then(http_date), modified)
        && modified <= since
    {
        return Outcome::NotModified;
    }
    Outcome::Proceed
}

#[cfg(test)]
mod tests;
