//! Tests of [`super`]: table-driven cases, split invariance, property tests.
use super::*;
use ParseError::{
    InvalidChunkExtension, InvalidChunkSize, InvalidLineEnding, InvalidTrailer,
    MissingChunkTerminator,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;

/// A body decoded to its end: its data, its trailers, and the input left after it.
type Body = (Vec<u8>, Vec<(Vec<u8>, Vec<u8>)>, Vec<u8>);

/// Feeds `pieces` to one decoder as successive reads, checking the `decode` contract on the
/// way. `Ok(None)`: the pieces ended before the body did.
fn drive(limits: &Limits, pieces: &[&[u8]]) -> Result<Option<Body>, ParseError> {
    let mut decoder = ChunkedDecoder::new(limits);
    let mut data = Vec::new();
    for (i, mut input) in pieces.iter().copied().enumerate() {
        loop {
            let (consumed, decoded) = decoder.decode(input)?;
            assert!(consumed <= input.len());
            match decoded {
                Decoded::Data(range) => {
                    assert!(!range.is_empty() && range.end == consumed, "{range:?}");
                    data.extend_from_slice(&input[range]);
                }
                Decoded::NeedMore => {
                    assert_eq!(consumed, input.len());
                    break;
                }
                Decoded::Done => {
                    assert!(decoder.is_done());
                    let rest = [&[&input[consumed..]], &pieces[i + 1..]].concat();
                    let trailers = decoder.trailers();
                    let trailers = trailers.map(|(n, v)| (n.to_vec(), v.to_vec())).collect();
                    return Ok(Some((data, trailers, rest.concat())));
                }
            }
            input = &input[consumed..];
        }
    }
    assert!(!decoder.is_done());
    Ok(None)
}

fn whole(input: &[u8]) -> Result<Option<Body>, ParseError> {
    drive(&Limits::default(), &[input])
}

fn bytewise(input: &[u8]) -> Result<Option<Body>, ParseError> {
    drive(&Limits::default(), &input.chunks(1).collect::<Vec<_>>())
}

type Fields = &'static [(&'static [u8], &'static [u8])];

/// (chunked body, its data, its trailers)
#[rustfmt::skip]
const VALID: &[(&[u8], &[u8], Fields)] = &[
    (b"5\r\nhello\r\n0\r\n\r\n", b"hello", &[]),
    (b"1\r\na\r\n2\r\nbc\r\n3\r\ndef\r\n0\r\n\r\n", b"abcdef", &[]),
    (b"A\r\n0123456789\r\n0\r\n\r\n", b"0123456789", &[]),
    (b"a\r\n0123456789\r\n0\r\n\r\n", b"0123456789", &[]),
    (b"1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n", b"abcdefghijklmnopqrstuvwxyz", &[]),
    (b"0\r\n\r\n", b"", &[]),
    (b"000000000000000000001\r\nx\r\n0000\r\n\r\n", b"x", &[]),
    (b"4\r\n\r\n\r\n\r\n0\r\n\r\n", b"\r\n\r\n", &[]),
    (b"3\r\n\0\xff\n\r\n0\r\n\r\n", b"\0\xff\n", &[]),
    (b"5;name=value\r\nhello\r\n0;last\r\n\r\n", b"hello", &[]),
    (b"5 ;\tname = value ; flag\t;x\r\nhello\r\n0 ; a\r\n\r\n", b"hello", &[]),
    (b"1;!#$%&'*+-.^_`|~09azAZ=!#$%&'*+-.^_`|~\r\nx\r\n0\r\n\r\n", b"x", &[]),
    (b"5;q=\"a;b\\\"c\\\\\";r=\"\"\r\nhello\r\n0;s=\"\\;\"\r\n\r\n", b"hello", &[]),
    (b"5;q=\"\x80\xff\t \" ;r\r\nhello\r\n0\r\n\r\n", b"hello", &[]),
    (b"5\r\nhello\r\n0\r\nExpires: never\r\nX-Sum:  abc \t\r\nX-Empty:\r\n\r\n", b"hello",
        &[(b"Expires", b"never"), (b"X-Sum", b"abc"), (b"X-Empty", b"")]),
];

fn expected(data: &[u8], trailers: Fields, rest: &[u8]) -> Option<Body> {
    let trailers = trailers.iter().map(|(n, v)| (n.to_vec(), v.to_vec()));
    Some((data.to_vec(), trailers.collect(), rest.to_vec()))
}

#[test]
fn valid_bodies_decode_and_leave_the_next_request_alone() {
    for &(input, data, trailers) in VALID {
        let next = b"GET / HTTP/1.1\r\n";
        let got = whole(&[input, next].concat());
        assert_eq!(
            got,
            Ok(expected(data, trailers, next)),
            "{}",
            input.escape_ascii()
        );
    }
}

#[test]
fn valid_bodies_decode_the_same_however_the_reads_split_them() {
    for &(input, data, trailers) in VALID {
        let (body, name) = (Ok(expected(data, trailers, b"")), input.escape_ascii());
        assert_eq!(bytewise(input), body, "{name} byte by byte");
        for i in 0..=input.len() {
            // Every strict prefix is a valid beginning: more bytes needed, not an error.
            if i < input.len() {
                assert_eq!(whole(&input[..i]), Ok(None), "{name} prefix {i}");
            }
            for j in i..=input.len() {
                let pieces = [&input[..i], &input[i..j], &input[j..]];
                let got = drive(&Limits::default(), &pieces);
                assert_eq!(got, body, "{name} split at {i}, {j}");
            }
        }
    }
}

#[rustfmt::skip]
const INVALID: &[(ParseError, &[&[u8]])] = &[
    // "chunk-size = 1*HEXDIG", within 64 bits.
    (InvalidChunkSize, &[b"\r\n", b";a\r\n", b" 1\r\n", b"g\r\n", b"1g\r\n", b"-1\r\n", b"+1\r\n",
        b"0x1\r\n", b"1.5\r\n", b"10000000000000000\r\n", b"000010000000000000000\r\n"]),
    // A bare LF or a bare CR in a size line.
    (InvalidLineEnding, &[b"\n", b"1\n", b"1\ra", b"1\r\r\n", b"1;a\n", b"1;a\rb", b"1;a=b\n",
        b"1;a=\"b\n"]),
    // chunk-ext: BWS only before ";" and around "=", names and values tokens, quoted-strings.
    (InvalidChunkExtension, &[b"1 \r\n", b"1;\r\n", b"1; \r\n", b"1;;a\r\n", b"1;=b\r\n",
        b"1;a=\r\n", b"1;a =\r\n", b"1;a b\r\n", b"1;a=b c\r\n", b"1;a@b\r\n", b"1;a\0\r\n",
        b"1;a=b=c\r\n", b"1;a=b\"c\"\r\n", b"1;a=\"b\r\n", b"1;a=\"\x7f\"\r\n",
        b"1;a=\"\\\x01\"\r\n", b"1;a=\"b\"c\r\n", b"1;a=\"b\"\"\r\n"]),
    // chunk-data not followed by exactly CRLF.
    (MissingChunkTerminator, &[b"1\r\nab", b"1\r\na\rb", b"1\r\na\n", b"2\r\na\r\n"]),
    // Trailer sections: a bare CR or LF, and what the field line parser refuses.
    (InvalidTrailer, &[b"0\r\n\n", b"0\r\n\r\r\n", b"0\r\nA: b\n\r\n", b"0\r\nA: b\rc\r\n\r\n",
        b"0\r\nA b\r\n\r\n", b"0\r\nA\r\n\r\n", b"0\r\n: b\r\n\r\n", b"0\r\n b: c\r\n\r\n",
        b"0\r\nA: b\r\n c\r\n\r\n", b"0\r\nA: \x01\r\n\r\n", b"0\r\nA@: b\r\n\r\n"]),
];

#[test]
fn invalid_bodies_fail_with_their_variant_however_split() {
    for &(error, inputs) in INVALID {
        for input in inputs {
            let name = input.escape_ascii();
            assert_eq!(whole(input), Err(error), "{name}");
            assert_eq!(bytewise(input), Err(error), "{name} byte by byte");
        }
    }
}

const fn limits(max_chunk_line: usize, max_trailer_bytes: usize, max_trailers: usize) -> Limits {
    Limits {
        max_chunk_line,
        max_trailer_bytes,
        max_trailers,
        ..Limits::DEFAULT
    }
}

const LINE: usize = Limits::DEFAULT.max_chunk_line;
const BYTES: usize = Limits::DEFAULT.max_trailer_bytes;
const FIELDS: usize = Limits::DEFAULT.max_trailers;

#[rustfmt::skip]
const LIMITED: &[(Limits, &[u8], Result<(), ParseError>)] = &[
    // Every byte of a size line counts, CRLF and leading zeros included; per line.
    (limits(5, BYTES, FIELDS), b"1;a\r\nx\r\n1;b\r\ny\r\n0;c\r\n\r\n", Ok(())),
    (limits(5, BYTES, FIELDS), b"1;ab\r\nx\r\n0\r\n\r\n", Err(InvalidChunkExtension)),
    (limits(5, BYTES, FIELDS), b"00001\r\n", Err(InvalidChunkExtension)),
    // The trailer section counts its final CRLF, as the header section does.
    (limits(LINE, 8, FIELDS), b"0\r\nA: b\r\n\r\n", Ok(())),
    (limits(LINE, 7, FIELDS), b"0\r\nA: b\r\n\r\n", Err(InvalidTrailer)),
    (limits(LINE, 2, FIELDS), b"0\r\n\r\n", Ok(())),
    (limits(LINE, 1, FIELDS), b"0\r\n\r\n", Err(InvalidTrailer)),
    (limits(LINE, BYTES, 1), b"0\r\nA: 1\r\n\r\n", Ok(())),
    (limits(LINE, BYTES, 1), b"0\r\nA: 1\r\nB: 2\r\n\r\n", Err(InvalidTrailer)),
    (limits(LINE, BYTES, 0), b"0\r\n\r\n", Ok(())),
];

#[test]
fn limits_apply_at_their_boundary() {
    for (limits, input, result) in LIMITED {
        let got = drive(limits, &[input]).map(|body| assert!(body.is_some()));
        assert_eq!(got, *result, "{} with {limits:?}", input.escape_ascii());
    }
    let zeros = |n| [&b"0".repeat(n)[..], b"1\r\n"].concat();
    assert_eq!(
        whole(&zeros(LINE - 3)),
        Ok(None),
        "a line of max_chunk_line bytes"
    );
    assert_eq!(whole(&zeros(LINE - 2)), Err(InvalidChunkExtension));
}

#[test]
fn data_comes_back_as_ranges_of_the_input() {
    let mut decoder = ChunkedDecoder::new(&Limits::default());
    let input = b"5\r\nhello\r\n0\r\n\r\nnext";
    assert_eq!(decoder.decode(input), Ok((8, Decoded::Data(3..8))));
    assert_eq!(decoder.decode(&input[8..]), Ok((7, Decoded::Done)));
    assert_eq!(decoder.decode(b"next"), Ok((0, Decoded::Done)));
    // No trailers: the trailer buffer never allocated.
    assert_eq!(decoder.trailer.capacity(), 0);

    let mut decoder = ChunkedDecoder::new(&Limits::default());
    let largest = b"ffffffffffffffff\r\nabc";
    assert_eq!(decoder.decode(largest), Ok((21, Decoded::Data(18..21))));
    assert_eq!(decoder.decode(b""), Ok((0, Decoded::NeedMore)));
    assert_eq!(decoder.decode(b"de"), Ok((2, Decoded::Data(0..2))));
    assert_eq!(decoder.state, State::Data(u64::MAX - 5));
}

#[test]
fn an_error_is_returned_again_on_every_later_call() {
    let mut decoder = ChunkedDecoder::new(&Limits::default());
    assert_eq!(decoder.decode(b"1\r\nab"), Ok((4, Decoded::Data(3..4))));
    assert_eq!(decoder.decode(b"b"), Err(MissingChunkTerminator));
    assert_eq!(
        decoder.decode(b"\r\n0\r\n\r\n"),
        Err(MissingChunkTerminator)
    );
    assert!(!decoder.is_done());
}

#[test]
fn trailer_map_keeps_every_trailer() {
    let mut decoder = ChunkedDecoder::new(&Limits::default());
    let input = b"0\r\nX-Sum: 1\r\nx-sum: 2\r\nExpires: never\r\n\r\n";
    assert_eq!(decoder.decode(input), Ok((input.len(), Decoded::Done)));
    let map = decoder.trailer_map().unwrap();
    assert_eq!(map.len(), 3);
    assert!(map.get_all("x-sum").iter().eq(["1", "2"]));
    assert_eq!(map["expires"], "never");
}

/// One chunk-ext: `BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ]`.
fn chunk_ext() -> impl Strategy<Value = String> {
    let (bws, token) = ("[ \t]{0,2}", "[!#$%&'*+.^_`|~0-9A-Za-z-]{1,8}");
    let quoted = r#""([\t !#-\[\]-~]|\\[\t -~]){0,8}""#;
    let value = (bws, bws, prop_oneof![token, quoted]).prop_map(|(a, b, v)| format!("{a}={b}{v}"));
    let ext = (bws, bws, token, proptest::option::of(value));
    ext.prop_map(|(a, b, name, value)| format!("{a};{b}{name}{}", value.unwrap_or_default()))
}

/// Encodes `data` in chunks of `sizes` (cycled) with `exts` (cycled) on the size lines.
fn encode(data: &[u8], sizes: &[usize], exts: &[String], upper: bool, zeros: usize) -> Vec<u8> {
    let (mut out, mut rest) = (Vec::new(), data);
    for i in 0.. {
        let size = sizes[i % sizes.len()].min(rest.len());
        let hex = format!("{size:x}");
        let hex = if upper { hex.to_uppercase() } else { hex };
        let line = format!("{}{hex}{}\r\n", "0".repeat(zeros), exts[i % exts.len()]);
        out.extend_from_slice(line.as_bytes());
        if size == 0 {
            break;
        }
        let (chunk, tail) = rest.split_at(size);
        out.extend_from_slice(&[chunk, b"\r\n"].concat());
        rest = tail;
    }
    out
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

proptest! {
    #[test]
    fn encoded_bodies_decode_to_their_data_however_split(
        data in vec(any::<u8>(), 0..1024),
        sizes in vec(1usize..100, 1..8),
        exts in vec(vec(chunk_ext(), 0..3).prop_map(|e| e.concat()), 1..8),
        trailers in vec(("[A-Za-z0-9-]{1,10}", "([!-~]+( [!-~]+)*)?"), 0..3),
        (upper, zeros) in (any::<bool>(), 0usize..3),
        cuts in vec(any::<Index>(), 0..8),
    ) {
        let mut encoded = encode(&data, &sizes, &exts, upper, zeros);
        for (name, value) in &trailers {
            encoded.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        encoded.extend_from_slice(b"\r\n");
        let trailers = trailers.into_iter().map(|(n, v)| (n.into_bytes(), v.into_bytes()));
        let body = (data, trailers.collect(), Vec::new());
        prop_assert_eq!(drive(&Limits::default(), &pieces(&encoded, &cuts)), Ok(Some(body)));
    }

    #[test]
    fn any_input_gives_the_same_outcome_however_split(
        input in prop_oneof![
            vec(any::<u8>(), 0..128),
            vec(proptest::sample::select(b"0123456789aAfFgx;= \t\"\\\r\n:".to_vec()), 0..128),
        ],
        cuts in vec(any::<Index>(), 0..8),
    ) {
        prop_assert_eq!(drive(&Limits::default(), &pieces(&input, &cuts)), whole(&input));
    }
}
