//! Route selectors: what one segment of a path template matches, the template syntax they are
//! parsed from, and the quality a match scores (Ktor's `RouteSelector` and
//! `RouteSelectorEvaluation`).
//!
//! Owns only the template side. Request paths are split and decoded in [`super::path`]; how
//! qualities rank whole routes against each other is [`super::resolve`]'s job.
//!
//! Template syntax, one selector per `/`-separated segment (empty segments are ignored, so a
//! trailing slash and `//` change nothing):
//!
//! | segment          | selector                          | matches                              |
//! |------------------|-----------------------------------|--------------------------------------|
//! | `users`          | [`RouteSelector::Constant`]       | exactly that segment, case-sensitive |
//! | `{id}`           | [`RouteSelector::Parameter`]      | any one segment                      |
//! | `v{version}`     | `Parameter` with prefix           | one segment starting with `v`        |
//! | `{name}.json`    | `Parameter` with suffix           | one segment ending with `.json`      |
//! | `{id?}`          | [`RouteSelector::OptionalParameter`] | one segment or none               |
//! | `*`              | [`RouteSelector::Wildcard`]       | any one segment, captured nowhere    |
//! | `{...}`          | [`RouteSelector::Tailcard`]       | the rest of the path, zero or more   |
//! | `{path...}`      | named `Tailcard`                  | the rest, each segment a value       |
//!
//! Templates are written decoded: the constant `a b` matches the request segment `a%20b`. A
//! constant cannot contain `/`, `{` or `}`, so a segment with `%2F` only matches a parameter,
//! wildcard or tailcard. Ktor's tailcard with a prefix (`x{path...}`) and optional parameters with
//! a prefix or suffix are not supported: the template is refused.

use std::fmt;

/// What one node of the route tree matches. Built from a path template by
/// [`RouteBuilder`](super::RouteBuilder); read back through
/// [`RouteRef::selector`](super::RouteRef::selector).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RouteSelector {
    /// The root of the tree: matches without consuming a segment.
    Root,
    /// A literal segment, compared with the percent-decoded request segment.
    Constant(Box<str>),
    /// `prefix{name}suffix`: one segment that starts with `prefix` and ends with `suffix`, with a
    /// non-empty remainder between them, which becomes the value of `name`. Both affixes are empty
    /// for a plain `{name}`.
    Parameter {
        /// The parameter name.
        name: Box<str>,
        /// Literal text before the value; empty for none.
        prefix: Box<str>,
        /// Literal text after the value; empty for none.
        suffix: Box<str>,
    },
    /// `{name?}`: one segment, captured as `name`, or none (then `name` is absent from the params).
    OptionalParameter {
        /// The parameter name.
        name: Box<str>,
    },
    /// `*`: exactly one segment, any value, not captured.
    Wildcard,
    /// `{...}` or `{name...}`: all remaining segments, zero or more. Always the last selector of a
    /// route. A named tailcard captures each remaining segment as one value of `name`.
    Tailcard {
        /// The parameter name, `None` for `{...}`.
        name: Option<Box<str>>,
    },
}

impl RouteSelector {
    /// Quality of a constant match (Ktor: `qualityConstant`).
    pub const QUALITY_CONSTANT: f64 = 1.0;
    /// Quality of a parameter with a prefix or suffix (Ktor: `qualityParameterWithPrefixOrSuffix`).
    pub const QUALITY_PARAMETER_WITH_AFFIX: f64 = 0.9;
    /// Quality of a plain parameter, and of an optional parameter that is present.
    pub const QUALITY_PARAMETER: f64 = 0.8;
    /// Quality of a wildcard match.
    pub const QUALITY_WILDCARD: f64 = 0.5;
    /// Quality of an optional parameter that is absent (Ktor: `qualityMissing`).
    pub const QUALITY_MISSING: f64 = 0.2;
    /// Quality of a tailcard match, however many segments it takes.
    pub const QUALITY_TAILCARD: f64 = 0.1;

    /// The quality this selector scores when it matches. An optional parameter scores
    /// [`QUALITY_PARAMETER`](Self::QUALITY_PARAMETER) when present and
    /// [`QUALITY_MISSING`](Self::QUALITY_MISSING) when absent; `present` is ignored otherwise.
    pub fn quality(&self, present: bool) -> f64 {
        match self {
            Self::Root | Self::Constant(_) => Self::QUALITY_CONSTANT,
            Self::Parameter { prefix, suffix, .. } if !prefix.is_empty() || !suffix.is_empty() => {
                Self::QUALITY_PARAMETER_WITH_AFFIX
            }
            Self::Parameter { .. } => Self::QUALITY_PARAMETER,
            Self::OptionalParameter { .. } if present => Self::QUALITY_PARAMETER,
            Self::OptionalParameter { .. } => Self::QUALITY_MISSING,
            Self::Wildcard => Self::QUALITY_WILDCARD,
            Self::Tailcard { .. } => Self::QUALITY_TAILCARD,
        }
    }

    /// The value this selector captures from a decoded segment, as a byte range of it: the part
    /// between the affixes. `None` if the segment does not match the affixes or leaves nothing.
    pub(super) fn parameter_range(
        prefix: &str,
        suffix: &str,
        segment: &str,
    ) -> Option<(usize, usize)> {
        let value = segment.strip_prefix(prefix)?.strip_suffix(suffix)?;
        (!value.is_empty()).then(|| (prefix.len(), prefix.len() + value.len()))
    }

    /// The selector with parameter names erased: two routes with the same shape match exactly the
    /// same requests, which is how conflicts are found.
    pub(super) fn shape(&self) -> String {
        match self {
            Self::Root => String::new(),
            Self::Constant(literal) => literal.to_string(),
            Self::Parameter { prefix, suffix, .. } => format!("{prefix}{{}}{suffix}"),
            Self::OptionalParameter { .. } => "{?}".to_owned(),
            Self::Wildcard => "*".to_owned(),
            Self::Tailcard { .. } => "{...}".to_owned(),
        }
    }
}

/// Writes the selector back in template syntax; the root writes nothing.
impl fmt::Display for RouteSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Root => Ok(()),
            Self::Constant(literal) => f.write_str(literal),
            Self::Parameter {
                name,
                prefix,
                suffix,
            } => write!(f, "{prefix}{{{name}}}{suffix}"),
            Self::OptionalParameter { name } => write!(f, "{{{name}?}}"),
            Self::Wildcard => f.write_str("*"),
            Self::Tailcard { name } => write!(f, "{{{}...}}", name.as_deref().unwrap_or("")),
        }
    }
}

/// Why a path template was refused. Templates come from code, so these surface as panics at
/// registration, naming the template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TemplateError {
    /// A `{` without its `}`, or a `}` without its `{`.
    UnbalancedBrace,
    /// Two `{...}` groups in one segment.
    TwoParameters,
    /// `{}`, `{?}`, or a name containing `?`.
    InvalidName,
    /// A prefix or suffix around an optional parameter or a tailcard.
    AffixNotSupported,
    /// A tailcard followed by more segments.
    TailcardNotLast,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::UnbalancedBrace => "unbalanced `{` or `}` in a segment",
            Self::TwoParameters => "more than one parameter in a segment",
            Self::InvalidName => "a parameter name must be non-empty and must not contain `?`",
            Self::AffixNotSupported => {
                "an optional parameter or a tailcard cannot have a prefix or suffix"
            }
            Self::TailcardNotLast => "a tailcard `{...}` must be the last segment",
        })
    }
}

/// Parses a path template into one selector per non-empty segment.
pub(super) fn parse_template(template: &str) -> Result<Vec<RouteSelector>, TemplateError> {
    let mut selectors = Vec::new();
    let mut segments = template.split('/').filter(|s| !s.is_empty()).peekable();
    while let Some(segment) = segments.next() {
        let selector = parse_segment(segment)?;
        if matches!(selector, RouteSelector::Tailcard { .. }) && segments.peek().is_some() {
            return Err(TemplateError::TailcardNotLast);
        }
        selectors.push(selector);
    }
    Ok(selectors)
}

fn parse_segment(segment: &str) -> Result<RouteSelector, TemplateError> {
    if segment == "*" {
        return Ok(RouteSelector::Wildcard);
    }
    let Some(open) = segment.find('{') else {
        if segment.contains('}') {
            return Err(TemplateError::UnbalancedBrace);
        }
        return Ok(RouteSelector::Constant(segment.into()));
    };
    let (prefix, rest) = segment.split_at(open);
    let close = rest.find('}').ok_or(TemplateError::UnbalancedBrace)?;
    let (inner, suffix) = (&rest[1..close], &rest[close + 1..]);
    if prefix.contains('}') || inner.contains('{') {
        return Err(TemplateError::UnbalancedBrace);
    }
    if suffix.contains(['{', '}']) {
        return Err(TemplateError::TwoParameters);
    }
    let plain = prefix.is_empty() && suffix.is_empty();
    if let Some(name) = inner.strip_suffix("...") {
        let name = if name.is_empty() {
            None
        } else {
            Some(parameter_name(name)?)
        };
        return plain
            .then_some(RouteSelector::Tailcard { name })
            .ok_or(TemplateError::AffixNotSupported);
    }
    if let Some(name) = inner.strip_suffix('?') {
        let name = parameter_name(name)?;
        return plain
            .then_some(RouteSelector::OptionalParameter { name })
            .ok_or(TemplateError::AffixNotSupported);
    }
    Ok(RouteSelector::Parameter {
        name: parameter_name(inner)?,
        prefix: prefix.into(),
        suffix: suffix.into(),
    })
}

fn parameter_name(name: &str) -> Result<Box<str>, TemplateError> {
    if name.is_empty() || name.contains('?') {
        return Err(TemplateError::InvalidName);
    }
    Ok(name.into())
}

#[cfg(test)]
mod tests {
    use super::RouteSelector::*;
    use super::TemplateError::*;
    use super::*;

    fn param(name: &str, prefix: &str, suffix: &str) -> RouteSelector {
        Parameter {
            name: name.into(),
            prefix: prefix.into(),
            suffix: suffix.into(),
        }
    }

    #[test]
    fn parses_every_segment_kind() {
        let cases: &[(&str, Vec<RouteSelector>)] = &[
            ("", vec![]),
            ("/", vec![]),
            ("//a//", vec![Constant("a".into())]),
            ("/a/b/", vec![Constant("a".into()), Constant("b".into())]),
            ("a b", vec![Constant("a b".into())]),
            ("/{id}", vec![param("id", "", "")]),
            ("/v{version}", vec![param("version", "v", "")]),
            ("/{name}.json", vec![param("name", "", ".json")]),
            ("/a{x}b", vec![param("x", "a", "b")]),
            ("/{a.b}", vec![param("a.b", "", "")]),
            ("/{id?}", vec![OptionalParameter { name: "id".into() }]),
            ("/*", vec![Wildcard]),
            ("/*.txt", vec![Constant("*.txt".into())]),
            (
                "/a/{...}",
                vec![Constant("a".into()), Tailcard { name: None }],
            ),
            (
                "/{path...}",
                vec![Tailcard {
                    name: Some("path".into()),
                }],
            ),
            ("/{...}/", vec![Tailcard { name: None }]),
        ];
        for (template, expected) in cases {
            assert_eq!(
                parse_template(template).as_ref(),
                Ok(expected),
                "{template:?}"
            );
        }
    }

    #[test]
    fn refuses_malformed_templates() {
        let cases = [
            ("/{id", UnbalancedBrace),
            ("/id}", UnbalancedBrace),
            ("/{{id}}", UnbalancedBrace),
            ("/}{id}", UnbalancedBrace),
            ("/{a}{b}", TwoParameters),
            ("/{a}-{b}", TwoParameters),
            ("/{}", InvalidName),
            ("/{?}", InvalidName),
            ("/{a?b}", InvalidName),
            ("/x{id?}", AffixNotSupported),
            ("/{path...}.txt", AffixNotSupported),
            ("/{...}/a", TailcardNotLast),
            ("/{rest...}//b/", TailcardNotLast),
        ];
        for (template, expected) in cases {
            assert_eq!(parse_template(template), Err(expected), "{template:?}");
        }
    }

    #[test]
    fn display_round_trips_through_the_parser() {
        for template in [
            "users", "{id}", "v{v}", "{n}.json", "{id?}", "*", "{...}", "{p...}",
        ] {
            let selectors = parse_template(template).unwrap();
            assert_eq!(selectors[0].to_string(), template);
        }
    }

    #[test]
    fn qualities_rank_as_in_ktor() {
        let ranked = [
            Constant("a".into()).quality(true),
            param("x", "v", "").quality(true),
            param("x", "", "").quality(true),
            OptionalParameter { name: "x".into() }.quality(true),
            Wildcard.quality(true),
            OptionalParameter { name: "x".into() }.quality(false),
            Tailcard { name: None }.quality(true),
        ];
        assert!(ranked.windows(2).all(|w| w[0] >= w[1]), "{ranked:?}");
    }

    #[test]
    fn parameter_range_strips_affixes_and_refuses_empty_values() {
        let cases = [
            ("", "", "42", Some((0, 2))),
            ("v", "", "v2", Some((1, 2))),
            ("", ".json", "a.json", Some((0, 1))),
            ("", ".json", ".json", None),
            ("v", "", "x2", None),
            ("a", "a", "a", None),
            ("a", "a", "aba", Some((1, 2))),
        ];
        for (prefix, suffix, segment, expected) in cases {
            let got = RouteSelector::parameter_range(prefix, suffix, segment);
            assert_eq!(got, expected, "{prefix}{{}}{suffix} on {segment:?}");
        }
    }
}
