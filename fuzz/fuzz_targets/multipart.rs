//! The multipart parser on arbitrary bytes: no panic, data ranges inside the input, declined tails
//! within `max_pending`, and the same parts and error whether the input arrives in one piece or in
//! two. The same bytes as a Content-Type: a boundary it yields is one the parser accepts.
#![no_main]

use engine_core::multipart::{
    Event, MultipartError, MultipartLimits, MultipartParser, PartHeaders,
    boundary_from_content_type,
};
use libfuzzer_sys::fuzz_target;

type Parts = Vec<(PartHeaders, Vec<u8>)>;

fn parse(pieces: &[&[u8]]) -> Result<Parts, MultipartError> {
    // A short boundary and small limits, so the fuzzer reaches delimiters and limits.
    let limits = MultipartLimits {
        max_header_bytes: 256,
        max_parts: 8,
    };
    let mut parser = MultipartParser::new("ab", &limits)?;
    let (mut buf, mut parts) = (Vec::new(), Parts::new());
    for piece in pieces {
        buf.extend_from_slice(piece);
        let mut start = 0;
        loop {
            let input = &buf[start..];
            let (consumed, event) = parser.parse(input)?;
            assert!(consumed <= input.len());
            let stop = matches!(event, Event::NeedMore | Event::End);
            match event {
                Event::PartStart(headers) => parts.push((headers, Vec::new())),
                Event::Data(range) => {
                    assert!(!range.is_empty() && range.end == consumed);
                    let (_, data) = parts.last_mut().expect("data only inside a part");
                    data.extend_from_slice(&input[range]);
                }
                Event::NeedMore => assert!(input.len() - consumed <= parser.max_pending()),
                Event::PartEnd | Event::End => {}
            }
            start += consumed;
            if stop {
                break;
            }
        }
        // The caller keeps what the parser declined, as a real one must.
        buf.drain(..start);
    }
    parser.finish()?;
    Ok(parts)
}

fuzz_target!(|data: &[u8]| {
    let whole = parse(&[data]);
    let cut = data
        .first()
        .map_or(0, |&b| usize::from(b) % (data.len() + 1));
    assert_eq!(whole, parse(&[&data[..cut], &data[cut..]]));
    if let Some(boundary) = boundary_from_content_type(&String::from_utf8_lossy(data)) {
        assert!(MultipartParser::new(&boundary, &MultipartLimits::default()).is_ok());
    }
});
