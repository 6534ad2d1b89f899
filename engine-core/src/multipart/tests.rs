//! Tests of [`super`]: table-driven cases, split invariance, limits, streaming, property tests.
use super::*;
use MultipartError::{
    HeaderSectionTooLarge, InvalidBoundary, InvalidContentDisposition, InvalidDelimiter,
    InvalidHeader, TooManyParts, Truncated,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select};

/// A parsed body: each part's headers and data.
type Parts = Vec<(PartHeaders, Vec<u8>)>;

/// Feeds `pieces` as successive reads, keeping the declined tail as a caller must and checking the
/// `parse` contract on the way, then calls `finish`.
fn drive(
    boundary: &str,
    limits: &MultipartLimits,
    pieces: &[&[u8]],
) -> Result<Parts, MultipartError> {
    let mut parser = MultipartParser::new(boundary, limits)?;
    let (mut buf, mut parts, mut in_part) = (Vec::new(), Parts::new(), false);
    for piece in pieces {
        buf.extend_from_slice(piece);
        let mut start = 0;
        loop {
            let input = &buf[start..];
            let (consumed, event) = parser.parse(input)?;
            assert!(consumed <= input.len());
            let stop = matches!(event, Event::NeedMore | Event::End);
            match event {
                Event::PartStart(headers) => {
                    assert!(!std::mem::replace(&mut in_part, true));
                    parts.push((headers, Vec::new()));
                }
                Event::Data(range) => {
                    assert!(in_part && !range.is_empty() && range.end == consumed);
                    parts.last_mut().unwrap().1.extend_from_slice(&input[range]);
                }
                Event::PartEnd => assert!(std::mem::replace(&mut in_part, false)),
                Event::End => assert!(!in_part && consumed == input.len() && parser.is_done()),
                Event::NeedMore => assert!(input.len() - consumed <= parser.max_pending()),
            }
            start += consumed;
            if stop {
                break;
            }
        }
        buf.drain(..start);
    }
    parser.finish()?;
    Ok(parts)
}

fn whole(input: &[u8]) -> Result<Parts, MultipartError> {
    drive("boundary", &MultipartLimits::default(), &[input])
}

/// (name, filename, content type, data) of each part: what the tables compare.
type View = Vec<(String, Option<String>, Option<String>, Vec<u8>)>;

fn view(parts: Parts) -> View {
    let view = |(h, data): (PartHeaders, Vec<u8>)| (h.name, h.filename, h.content_type, data);
    parts.into_iter().map(view).collect()
}

type Expected = &'static [(
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    &'static [u8],
)];

fn expected(parts: Expected) -> View {
    let owned = |s: Option<&str>| s.map(str::to_owned);
    let part = |&(n, f, t, d): &(&str, _, _, &[u8])| (n.to_owned(), owned(f), owned(t), d.to_vec());
    parts.iter().map(part).collect()
}

/// `Content-Disposition: form-data; name="..."` and the empty line, as `const` text.
macro_rules! field {
    ($name:literal) => {
        concat!(
            "Content-Disposition: form-data; name=\"",
            $name,
            "\"\r\n\r\n"
        )
    };
}

/// (body with boundary "boundary", its parts)
#[rustfmt::skip]
const VALID: &[(&str, Expected)] = &[
    // A field and a file.
    (concat!("--boundary\r\n", field!("field"), "value\r\n--boundary\r\n",
        "Content-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n",
        "Content-Type: text/plain\r\n\r\nline1\r\nline2\n\r\n--boundary--\r\n"),
        &[("field", None, None, b"value"),
          ("file", Some("a.txt"), Some("text/plain"), b"line1\r\nline2\n")]),
    // Several parts, one of them empty, and a body with no part.
    (concat!("--boundary\r\n", field!("a"), "1\r\n--boundary\r\n", field!("b"), "\r\n--boundary\r\n",
        field!("c"), "333\r\n--boundary--"),
        &[("a", None, None, b"1"), ("b", None, None, b""), ("c", None, None, b"333")]),
    ("--boundary--", &[]),
    ("--boundary--\r\n", &[]),
    // Text like a delimiter inside data: not followed by SP, HTAB, CR, LF or "--", or incomplete.
    (concat!("--boundary\r\n", field!("a"), "x--boundary\r\n--boundar\r\n--boundaryX\r\n--boundary-x",
        "\r\n-boundary\r\r\n--boundaryz\n--boundary \r\n--BOUNDARY\r\n\r\n--boundary--"),
        &[("a", None, None, b"x--boundary\r\n--boundar\r\n--boundaryX\r\n--boundary-x\r\n-boundary\r\r\n--boundaryz\n--boundary \r\n--BOUNDARY\r\n")]),
    // A dash-boundary right after the header section: its CRLF ended the section, the part is empty.
    (concat!("--boundary\r\n", field!("a"), "--boundary\r\n", field!("b"), "--boundary-- \r\n"),
        &[("a", None, None, b""), ("b", None, None, b"")]),
    (concat!("--boundary\r\n", field!("a"), "--boundaryX\r\n--boundary--"),
        &[("a", None, None, b"--boundaryX")]),
    // Preamble (with delimiter-like text) and epilogue are ignored.
    (concat!("preamble --boundary\r\n--boundaryX\r\n\r\n--boundary\r\n", field!("a"),
        "x\r\n--boundary--\r\nepilogue\r\n--boundary\r\n"), &[("a", None, None, b"x")]),
    (concat!("\r\n--boundary\r\n", field!("a"), "x\r\n--boundary--"), &[("a", None, None, b"x")]),
    // Transport padding after a boundary, on both kinds of delimiter.
    (concat!("--boundary \t\r\n", field!("a"), "x\r\n--boundary\t\r\n", field!("b"),
        "y\r\n--boundary-- \r\n"), &[("a", None, None, b"x"), ("b", None, None, b"y")]),
    // Binary data.
    (concat!("--boundary\r\n", field!("a"), "\0\u{ff}\r\r\n\n-\r\n--boundary--"),
        &[("a", None, None, "\0\u{ff}\r\r\n\n-".as_bytes())]),
    // Content-Disposition: case, OWS, token values, escapes, filename*, other parameters.
    (concat!("--boundary\r\ncontent-disposition:FORM-DATA ;NAME=tok;\tfoo=\"bar\" ;\r\n\r\n",
        "\r\n--boundary\r\nContent-Disposition: form-data; name=\"a\\\"b\\\\c\"; filename=\"\"\r\n\r\n",
        "\r\n--boundary\r\nContent-Disposition: form-data; name=\"\u{e9}\"; filename=\"x\";",
        " filename*=UTF-8''%e2%82%ac%20rates.txt\r\n\r\n",
        "\r\n--boundary\r\nContent-Disposition: form-data; name=a; filename*=ISO-8859-1'en'%A3\r\n\r\n",
        "\r\n--boundary\r\nContent-Disposition: form-data; name=a; filename=b; filename*=X''c\r\n\r\n",
        "\r\n--boundary--"),
        &[("tok", None, None, b""), ("a\"b\\c", Some(""), None, b""),
          ("\u{e9}", Some("\u{20ac} rates.txt"), None, b""), ("a", Some("\u{a3}"), None, b""),
          ("a", Some("b"), None, b"")]),
];

#[test]
fn valid_bodies_parse_to_their_parts() {
    for &(body, parts) in VALID {
        assert_eq!(
            whole(body.as_bytes()).map(view),
            Ok(expected(parts)),
            "{body:?}"
        );
    }
}

#[test]
fn every_field_of_a_part_is_kept_in_order() {
    let body = concat!(
        "--boundary\r\nX-Other:  spaced \t\r\nContent-Type: image/png\r\n",
        "content-disposition: form-data; name=f\r\nContent-Transfer-Encoding: binary\r\n\r\n",
        "\r\n--boundary--"
    );
    let (headers, _) = whole(body.as_bytes()).unwrap().remove(0);
    let fields = [
        ("X-Other", "spaced"),
        ("Content-Type", "image/png"),
        ("content-disposition", "form-data; name=f"),
        ("Content-Transfer-Encoding", "binary"),
    ];
    let fields = fields.map(|(n, v)| (n.to_owned(), v.to_owned()));
    assert_eq!(headers.headers, fields);
    assert_eq!(headers.content_type.as_deref(), Some("image/png"));
}

#[test]
fn header_values_that_are_not_utf8_are_refused() {
    for line in [
        &b"Content-Disposition: form-data; name=\"\xff\""[..],
        b"X-A\xc3: b",
        b"X: \xc3(",
    ] {
        let body = [b"--boundary\r\n", line, b"\r\n\r\n--boundary--"].concat();
        assert_eq!(whole(&body), Err(InvalidHeader), "{}", line.escape_ascii());
    }
}

#[rustfmt::skip]
const INVALID: &[(MultipartError, &[&str])] = &[
    // The body ends before the close delimiter: empty, in the preamble, a delimiter line, headers,
    // data, or a delimiter that the end of input leaves undecided.
    (Truncated, &["", "preamble", "--boundary", "--boundary-", "--boundary-x\r\n", "--boundary\r",
        "--boundary\r\n", "--boundary\r\nContent-Disposition: form-data; name=a\r\n",
        concat!("--boundary\r\n", field!("a"), "data"),
        concat!("--boundary\r\n", field!("a"), "data\r\n--boundary"),
        concat!("--boundary\r\n", field!("a"), "data\r\n--boundary-"),
        concat!("--boundary\r\n", field!("a"), "data\r\n--boundary\r\n")]),
    // A recognised delimiter whose line is not padding then CRLF, or "--".
    (InvalidDelimiter, &["--boundary\n", "--boundary x\r\n", "--boundary\rx", "--boundary \n",
        "--boundary\t-", "pre\r\n--boundary\n", concat!("--boundary\r\n", field!("a"), "\r\n--boundary\n"),
        concat!("--boundary\r\n", field!("a"), "\r\n--boundary \t-\r\n")]),
    // Header sections: bare CR or LF, what the field line parser refuses, non-UTF-8, two types.
    (InvalidHeader, &["--boundary\r\nContent-Disposition: form-data; name=a\n\r\n",
        "--boundary\r\nContent-Disposition: form-data; name=a\r\n\n", "--boundary\r\n\rx",
        "--boundary\r\nContent-Disposition: form-data; name=a\rb\r\n\r\n",
        "--boundary\r\nno colon\r\n\r\n", "--boundary\r\nA : b\r\n\r\n", "--boundary\r\n: b\r\n\r\n",
        "--boundary\r\nContent-Disposition: form-data;\r\n name=a\r\n\r\n",
        "--boundary\r\nA: \u{1}\r\n\r\n", "--boundary\r\n--boundary--\r\n\r\n",
        "--boundary\r\nContent-Type: a/b\r\ncontent-type: a/b\r\n\r\n"]),
    // Content-Disposition (RFC 7578 §4.2): missing, repeated, not form-data, no name, duplicate
    // parameters, malformed parameters.
    (InvalidContentDisposition, &["--boundary\r\n\r\n", "--boundary\r\nContent-Type: a/b\r\n\r\n",
        "--boundary\r\nContent-Disposition: form-data; name=a\r\nContent-Disposition: form-data; name=a\r\n\r\n",
        "--boundary\r\nContent-Disposition: attachment; name=a\r\n\r\n",
        "--boundary\r\nContent-Disposition: form-data\r\n\r\n",
        "--boundary\r\nContent-Disposition: form-data; filename=a\r\n\r\n",
        "--boundary\r\nContent-Disposition: form-data; name=a; NAME=b\r\n\r\n",
        "--boundary\r\nContent-Disposition: form-data; name=a; filename=b; filename=c\r\n\r\n",
        "--boundary\r\nContent-Disposition: form-data; name=\r\n\r\n",
        "--boundary\r\nContent-Disposition: form-data; name =a\r\n\r\n",
        "--boundary\r\nContent-Disposition: form-data; name=a b\r\n\r\n",
        "--boundary\r\nContent-Disposition: form-data; name=\"a\r\n\r\n",
        "--boundary\r\nContent-Disposition: form-data; name=\"a\"b\r\n\r\n",
        "--boundary\r\nContent-Disposition: form-data; name=\"a\\\r\n\r\n",
        "--boundary\r\nContent-Disposition: form-data name=a\r\n\r\n",
        "--boundary\r\nContent-Disposition: ; name=a\r\n\r\n"]),
];

#[test]
fn invalid_bodies_fail_with_their_variant() {
    for &(error, bodies) in INVALID {
        for body in bodies {
            assert_eq!(whole(body.as_bytes()), Err(error), "{body:?}");
        }
    }
}

/// Every body of both tables, in each of `splits` ways, gives the outcome it gives whole.
fn assert_split_invariant(splits: impl Fn(&[u8]) -> Vec<Vec<&[u8]>>) {
    let invalid = INVALID.iter().flat_map(|(_, bodies)| bodies.iter());
    for body in VALID.iter().map(|(body, _)| body).chain(invalid) {
        let body = body.as_bytes();
        let once = whole(body);
        for pieces in splits(body) {
            let got = drive("boundary", &MultipartLimits::default(), &pieces);
            assert_eq!(got, once, "{pieces:?}");
        }
    }
}

#[test]
fn bodies_parse_the_same_byte_by_byte_and_split_anywhere() {
    assert_split_invariant(|body| vec![body.chunks(1).collect()]);
    assert_split_invariant(|body| {
        (0..=body.len())
            .map(|i| vec![&body[..i], &body[i..]])
            .collect()
    });
}

#[test]
fn bodies_parse_the_same_split_at_any_two_offsets() {
    assert_split_invariant(|body| {
        let pairs = (0..=body.len()).flat_map(|i| (i..=body.len()).map(move |j| (i, j)));
        let pieces = |(i, j)| vec![&body[..i], &body[i..j], &body[j..]];
        pairs.map(pieces).collect()
    });
}

const fn limits(max_header_bytes: usize, max_parts: usize) -> MultipartLimits {
    MultipartLimits {
        max_header_bytes,
        max_parts,
    }
}

/// The header section of `field!("a")`, its final CRLF included.
const SECTION: usize = field!("a").len();
const PARTS: usize = MultipartLimits::DEFAULT.max_parts;
const TWO: &str = concat!(
    "--boundary\r\n",
    field!("a"),
    "\r\n--boundary\r\n",
    field!("a"),
    "\r\n--boundary--"
);

#[rustfmt::skip]
const LIMITED: &[(MultipartLimits, &str, Result<usize, MultipartError>)] = &[
    // The section counts every byte through its final CRLF, per part.
    (limits(SECTION, PARTS), TWO, Ok(2)),
    (limits(SECTION - 1, PARTS), TWO, Err(HeaderSectionTooLarge)),
    (limits(2, PARTS), "--boundary\r\n\r\n", Err(InvalidContentDisposition)),
    (limits(1, PARTS), "--boundary\r\n\r\n", Err(HeaderSectionTooLarge)),
    // Past the limit is refused as soon as the bytes show it, complete or not.
    (limits(8, PARTS), "--boundary\r\nContent-Dis", Err(HeaderSectionTooLarge)),
    (limits(SECTION, 2), TWO, Ok(2)),
    (limits(SECTION, 1), TWO, Err(TooManyParts)),
    (limits(SECTION, 0), "--boundary--", Ok(0)),
    (limits(SECTION, 0), "--boundary\r\n", Err(TooManyParts)),
];

#[test]
fn limits_apply_at_their_boundary_and_answer_413() {
    for (limits, body, result) in LIMITED {
        for pieces in [vec![body.as_bytes()], body.as_bytes().chunks(1).collect()] {
            let got = drive("boundary", limits, &pieces).map(|parts| parts.len());
            assert_eq!(got, *result, "{body:?} with {limits:?}");
        }
    }
    assert_eq!(
        (HeaderSectionTooLarge.status(), TooManyParts.status()),
        (413, 413)
    );
    for error in [
        InvalidBoundary,
        InvalidDelimiter,
        InvalidHeader,
        InvalidContentDisposition,
    ] {
        assert_eq!(error.status(), 400, "{error}");
    }
    assert_eq!(Truncated.status(), 400);
}

#[test]
fn data_comes_back_as_ranges_of_the_input_and_delimiters_wait_for_more() {
    let mut parser = MultipartParser::new("b", &MultipartLimits::default()).unwrap();
    let head = concat!("--b\r\n", field!("a"));
    let input = [head.as_bytes(), b"hello\r\n--b"].concat();
    let part = |r: Result<(usize, Event), _>| r.map(|(n, e)| (n, matches!(e, Event::PartStart(_))));
    assert_eq!(part(parser.parse(&input)), Ok((head.len(), true)));
    assert_eq!(parser.parse(b"hello\r\n--b"), Ok((5, Event::Data(0..5))));
    // "\r\n--b" and "\r\n--b-" may begin a delimiter or be data: kept until a byte decides.
    assert_eq!(parser.parse(b"\r\n--b"), Ok((0, Event::NeedMore)));
    assert_eq!(parser.parse(b"\r\n--b-"), Ok((0, Event::NeedMore)));
    assert_eq!(parser.parse(b"\r\n--b-x\r\n--"), Ok((7, Event::Data(0..7))));
    assert_eq!(parser.parse(b"\r\n--"), Ok((0, Event::NeedMore)));
    assert_eq!(parser.parse(b"\r\n--b--"), Ok((5, Event::PartEnd)));
    // The close delimiter consumes everything given: the rest is epilogue.
    assert_eq!(parser.parse(b"--\r\nepilogue"), Ok((12, Event::End)));
    assert_eq!(parser.parse(b"more"), Ok((4, Event::End)));
    assert_eq!(parser.finish(), Ok(()));
}

#[test]
fn an_error_is_returned_again_on_every_later_call() {
    let mut parser = MultipartParser::new("b", &MultipartLimits::default()).unwrap();
    assert_eq!(parser.parse(b"--b \n"), Err(InvalidDelimiter));
    assert_eq!(parser.parse(b"\r\n"), Err(InvalidDelimiter));
    assert_eq!(parser.finish(), Err(InvalidDelimiter));
    let mut parser = MultipartParser::new("b", &MultipartLimits::default()).unwrap();
    assert_eq!(parser.parse(b"--b"), Ok((0, Event::NeedMore)));
    assert_eq!(parser.finish(), Err(Truncated));
    assert_eq!(parser.parse(b"--b--"), Err(Truncated));
}

#[test]
fn a_ten_thousand_line_file_streams_through_in_constant_memory() {
    let line = |i: usize| format!("line {i}: --boundar \r\n--boundaryX -- \r\r\n\n");
    let mut body = concat!("--boundary\r\n", field!("file"))
        .as_bytes()
        .to_vec();
    (0..10_000).for_each(|i| body.extend_from_slice(line(i).as_bytes()));
    body.extend_from_slice(b"\r\n--boundary--\r\n");
    let file: Vec<u8> = (0..10_000).flat_map(|i| line(i).into_bytes()).collect();

    let mut parser = MultipartParser::new("boundary", &MultipartLimits::default()).unwrap();
    let (mut buf, mut offset, mut largest) = (Vec::new(), 0, 0);
    for (i, read) in body.chunks(13).enumerate() {
        buf.extend_from_slice(read);
        largest = largest.max(buf.len());
        let mut start = 0;
        loop {
            match parser.parse(&buf[start..]).unwrap() {
                (n, Event::Data(range)) => {
                    // Compared where it lands in the file, never collected.
                    let data = &buf[start..][range];
                    assert_eq!(data, &file[offset..offset + data.len()], "read {i}");
                    offset += data.len();
                    start += n;
                }
                (n, Event::NeedMore | Event::End) => {
                    start += n;
                    break;
                }
                (n, _) => start += n,
            }
        }
        buf.drain(..start);
    }
    assert_eq!((parser.finish(), offset), (Ok(()), file.len()));
    assert!(largest <= 13 + parser.max_pending(), "{largest}");
    assert!(parser.head.capacity() <= MultipartLimits::DEFAULT.max_header_bytes);
}

#[rustfmt::skip]
const CONTENT_TYPES: &[(&str, Option<&str>)] = &[
    ("multipart/form-data; boundary=abc", Some("abc")),
    ("Multipart/Form-Data;BOUNDARY=abc", Some("abc")),
    (" multipart/form-data ; charset=utf-8 ;\tboundary=a-b_c.d'e+f ; ", Some("a-b_c.d'e+f")),
    ("multipart/form-data; boundary=\"a b:c=d?e,f/(g)\"", Some("a b:c=d?e,f/(g)")),
    ("multipart/form-data; boundary=\"\\a\\b\"", Some("ab")),
    ("multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
        Some("----WebKitFormBoundary7MA4YWxkTrZu0gW")),
    ("multipart/form-data; boundary=\"0123456789012345678901234567890123456789012345678901234567890123456789\"",
        Some("0123456789012345678901234567890123456789012345678901234567890123456789")),
    // 71 characters, empty, a trailing space, characters outside bchars.
    ("multipart/form-data; boundary=01234567890123456789012345678901234567890123456789012345678901234567890",
        None),
    ("multipart/form-data; boundary=\"\"", None),
    ("multipart/form-data; boundary=\"ab \"", None),
    ("multipart/form-data; boundary=a!b", None),
    ("multipart/form-data; boundary=\"a\\\"b\"", None),
    ("multipart/form-data; boundary=\"a\u{e9}\"", None),
    // Not form-data, no boundary, two, malformed parameters.
    ("multipart/mixed; boundary=abc", None),
    ("text/plain; boundary=abc", None),
    ("multipart/form-data", None),
    ("multipart/form-data; charset=utf-8", None),
    ("multipart/form-data; boundary=abc; boundary=abc", None),
    ("multipart/form-data; boundary=", None),
    ("multipart/form-data; boundary =abc", None),
    ("multipart/form-data; boundary= abc", None),
    ("multipart/form-data; boundary=\"abc", None),
    ("multipart/form-data; boundary=abc def", None),
    ("multipart/form-data boundary=abc", None),
    ("multipart/; boundary=abc", None),
    ("form-data; boundary=abc", None),
];

#[test]
fn boundary_comes_from_the_content_type() {
    for &(value, boundary) in CONTENT_TYPES {
        assert_eq!(
            boundary_from_content_type(value).as_deref(),
            boundary,
            "{value:?}"
        );
    }
}

#[test]
fn a_boundary_outside_rfc_2046_is_refused_by_new() {
    let long = "x".repeat(71);
    for boundary in ["", " ", "a ", "a\r", "a\"b", "a!b", "\u{e9}", &long] {
        let parser = MultipartParser::new(boundary, &MultipartLimits::default());
        assert_eq!(parser.err(), Some(InvalidBoundary), "{boundary:?}");
    }
    let ok = &long[1..];
    for boundary in [" a", "a b", "-", "'()+_,-./:=?", ok] {
        assert!(MultipartParser::new(boundary, &MultipartLimits::default()).is_ok());
    }
}

/// Offsets where `body` has a delimiter, by a definition kept apart from the parser: CRLF "--"
/// boundary, or "--" boundary at offset 0, followed by SP, HTAB, CR, LF or "--".
fn reference_delimiters(body: &[u8], boundary: &[u8]) -> Vec<usize> {
    let decides = |rest: &[u8]| {
        rest.first().is_some_and(|b| b" \t\r\n".contains(b)) || rest.starts_with(b"--")
    };
    let at = |p: usize, prefix: &[u8]| {
        let rest = &body[p..];
        rest.starts_with(prefix)
            && rest[prefix.len()..].starts_with(boundary)
            && decides(&rest[prefix.len() + boundary.len()..])
    };
    let first = at(0, b"--").then_some(0);
    first
        .into_iter()
        .chain((0..body.len()).filter(|&p| at(p, b"\r\n--")))
        .collect()
}

/// One part as generated: name, filename, content type, data.
type Generated = (String, Option<String>, Option<String>, Vec<u8>);

/// Encodes `parts` as a sender would, with a preamble, padding and an epilogue, and the offsets of
/// the delimiters it wrote.
fn encode(
    boundary: &str,
    parts: &[Generated],
    extra: &(String, String, String),
) -> (Vec<u8>, Vec<usize>) {
    let (preamble, padding, epilogue) = extra;
    let quote = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let (mut out, mut delimiters) = (preamble.clone().into_bytes(), Vec::new());
    for (i, (name, filename, content_type, data)) in parts.iter().enumerate() {
        delimiters.push(out.len());
        let crlf = if i > 0 || !preamble.is_empty() {
            "\r\n"
        } else {
            ""
        };
        let mut head = format!("{crlf}--{boundary}{padding}\r\n");
        head += &format!("Content-Disposition: form-data; name=\"{}\"", quote(name));
        if let Some(filename) = filename {
            head += &format!("; filename=\"{}\"", quote(filename));
        }
        if let Some(content_type) = content_type {
            head += &format!("\r\nContent-Type: {content_type}");
        }
        out.extend_from_slice(format!("{head}\r\n\r\n").as_bytes());
        out.extend_from_slice(data);
    }
    delimiters.push(out.len());
    let crlf = if parts.is_empty() && preamble.is_empty() {
        ""
    } else {
        "\r\n"
    };
    out.extend_from_slice(format!("{crlf}--{boundary}--{padding}\r\n{epilogue}").as_bytes());
    (out, delimiters)
}

/// `bytes` cut at the `cuts`, in order, empty pieces included.
fn pieces<'a>(bytes: &'a [u8], cuts: &[Index]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
    cuts.sort_unstable();
    cuts.push(bytes.len());
    let mut start = 0;
    let split = |&cut: &usize| &bytes[std::mem::replace(&mut start, cut)..cut];
    cuts.iter().map(split).collect()
}

/// Data made of pieces that look like delimiters: CR, LF, dashes, prefixes of the boundary.
fn tricky_data(boundary: String) -> impl Strategy<Value = Vec<u8>> {
    let prefix = (0..=boundary.len()).prop_map(move |n| boundary.as_bytes()[..n].to_vec());
    let fixed = select(vec![&b"\r"[..], b"\n", b"-", b"--", b"\r\n--", b" "]);
    let piece = prop_oneof![
        vec(any::<u8>(), 1..4),
        fixed.prop_map(<[u8]>::to_vec),
        prefix
    ];
    vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

fn generated_parts(boundary: String) -> impl Strategy<Value = Vec<Generated>> {
    let text = "[ -~\u{e9}\u{20ac}]{0,12}";
    let content_type = proptest::option::of("[a-z]{1,8}/[a-z0-9.+-]{1,8}");
    let part = (
        text,
        proptest::option::of(text),
        content_type,
        tricky_data(boundary),
    );
    vec(part, 0..5)
}

proptest! {
    #[test]
    fn encoded_parts_parse_back_however_split(
        (boundary, parts) in "[0-9A-Za-z'()+_,./:=? -]{0,8}[0-9A-Za-z'()+_,./:=?-]"
            .prop_flat_map(|b| (Just(b.clone()), generated_parts(b))),
        extra in ("([ -~]{1,12}\r\n)?[ -~]{0,4}", "[ \t]{0,2}", "[ -~\r\n]{0,12}"),
        cuts in vec(any::<Index>(), 0..12),
    ) {
        let (body, written) = encode(&boundary, &parts, &extra);
        // A part whose data holds a delimiter cannot be sent with this boundary (RFC 2046 §5.1.1).
        let found = reference_delimiters(&body, boundary.as_bytes());
        prop_assume!(found.iter().take(written.len()).eq(&written));
        let limits = MultipartLimits::default();
        prop_assert_eq!(drive(&boundary, &limits, &pieces(&body, &cuts)).map(view), Ok(parts));
    }

    #[test]
    fn any_input_gives_the_same_outcome_however_split(
        input in vec(select(vec![&b"--ab"[..], b"\r\n", b"--", b"-", b" ", b"\r", b"\n", b"x", b"\xff",
            b"Content-Disposition: form-data; name=x", b"Content-Type: a/b", b"; filename=\"f\""]), 0..40),
        cuts in vec(any::<Index>(), 0..8),
    ) {
        let input = input.concat();
        let limits = limits(64, 4);
        prop_assert_eq!(drive("ab", &limits, &pieces(&input, &cuts)), drive("ab", &limits, &[&input]));
    }

    #[test]
    fn a_valid_boundary_reads_back_from_token_and_quoted_forms(
        boundary in "[0-9A-Za-z'()+_,./:=? -]{0,69}[0-9A-Za-z'()+_,./:=?-]",
    ) {
        let quoted = format!("multipart/form-data; boundary=\"{boundary}\"");
        prop_assert_eq!(boundary_from_content_type(&quoted), Some(boundary.clone()));
        if boundary.bytes().all(is_tchar) {
            let token = format!("multipart/form-data; boundary={boundary}");
            prop_assert_eq!(boundary_from_content_type(&token), Some(boundary));
        }
    }
}
