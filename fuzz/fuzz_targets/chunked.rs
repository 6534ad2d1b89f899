//! The chunked decoder on arbitrary bytes: no panic, data ranges inside the input, and the same
//! body, trailers and error whether the input arrives in one piece or in two.
#![no_main]

use engine_core::http::{ChunkedDecoder, Decoded, Limits, ParseError};
use libfuzzer_sys::fuzz_target;

type Outcome = (Vec<u8>, Vec<(Vec<u8>, Vec<u8>)>, bool);

fn decode(pieces: &[&[u8]]) -> Result<Outcome, ParseError> {
    let limits = Limits { max_chunk_line: 64, max_trailer_bytes: 256, max_trailers: 8, ..Limits::default() };
    let mut decoder = ChunkedDecoder::new(&limits);
    let mut body = Vec::new();
    for piece in pieces {
        let mut rest: &[u8] = piece;
        while !rest.is_empty() && !decoder.is_done() {
            let (consumed, decoded) = decoder.decode(rest)?;
            assert!(consumed <= rest.len());
            match decoded {
                Decoded::Data(range) => {
                    assert!(range.end <= consumed);
                    body.extend_from_slice(&rest[range]);
                }
                Decoded::NeedMore => assert_eq!(consumed, rest.len()),
                Decoded::Done => {}
            }
            rest = &rest[consumed..];
        }
    }
    let trailers = decoder.trailers().map(|(n, v)| (n.to_vec(), v.to_vec())).collect();
    Ok((body, trailers, decoder.is_done()))
}

fuzz_target!(|data: &[u8]| {
    let whole = decode(&[data]);
    let cut = data.first().map_or(0, |&b| usize::from(b) % (data.len() + 1));
    let split = decode(&[&data[..cut], &data[cut..]]);
    assert_eq!(whole, split);
});
