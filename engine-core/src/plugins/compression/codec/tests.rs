use super::*;
use futures_util::StreamExt;
use futures_util::stream;

const CODINGS: [Coding; 3] = [Coding::Gzip, Coding::Deflate, Coding::Br];

fn sample(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| {
            b"the quick brown fox jumps over the lazy dog "[i % 44] ^ [0, 1, 2][(i / 4096) % 3]
        })
        .collect()
}

fn decode_all(coding: Coding, data: &[u8], limit: u64) -> Result<Vec<u8>, Error> {
    let mut decoder = Decoder::new(coding, limit);
    decoder.write_all(data).map_err(decode_error)?;
    decoder.finish().map_err(decode_error)
}

fn chunks(data: &[u8], size: usize) -> BodyStream {
    let chunks: Vec<_> = data
        .chunks(size)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    Box::pin(stream::iter(chunks))
}

async fn collect(
    mut stream: impl Stream<Item = Result<Bytes, Error>> + Unpin,
) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        assert!(!chunk.is_empty(), "no empty chunk goes to the driver");
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

#[test]
fn bytes_round_trip_every_coding() {
    let data = sample(100_000);
    for coding in CODINGS {
        let encoded = encode_all(coding, 6, &data).unwrap();
        assert!(encoded.len() < data.len() / 2, "{coding:?} compresses");
        assert_eq!(
            decode_all(coding, &encoded, u64::MAX).unwrap(),
            data,
            "{coding:?}"
        );
    }
}

#[test]
fn gzip_output_is_standard_gzip() {
    // flate2's reader is an independent check of the member format (magic bytes, CRC, size).
    let encoded = encode_all(Coding::Gzip, 6, b"hello").unwrap();
    assert_eq!(&encoded[..2], [0x1f, 0x8b]);
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&encoded[..]), &mut text)
        .unwrap();
    assert_eq!(text, "hello");
}

#[tokio::test]
async fn streams_round_trip_in_many_chunks() {
    let data = sample(3 * 1024 * 1024 + 17);
    for coding in CODINGS {
        let encoded = collect(EncodeStream::new(chunks(&data, 7_000), coding, 4))
            .await
            .unwrap();
        let decoded = collect(DecodeStream::new(chunks(&encoded, 1_000), coding, u64::MAX))
            .await
            .unwrap();
        assert_eq!(decoded, data, "{coding:?}");
    }
}

#[tokio::test]
async fn a_waiting_stream_gets_what_was_written_so_far() {
    // The producer sends one chunk, then waits forever: the client must still get that chunk.
    for coding in CODINGS {
        let first = stream::iter([Ok(Bytes::from_static(b"first line\n"))]);
        let body: BodyStream = Box::pin(first.chain(stream::pending()));
        let mut encoded = EncodeStream::new(body, coding, 6);
        let out = encoded.next().await.unwrap().unwrap();
        let mut decoder = Decoder::new(coding, u64::MAX);
        decoder.write_all(&out).unwrap();
        assert_eq!(decoder.output().as_slice(), b"first line\n", "{coding:?}");
    }
}

#[tokio::test]
async fn a_failing_stream_fails_the_encoded_one() {
    let body: BodyStream = Box::pin(stream::iter([
        Ok(Bytes::from_static(b"some")),
        Err(Error::msg("broken")),
    ]));
    let result = collect(EncodeStream::new(body, Coding::Gzip, 6)).await;
    assert!(result.is_err());
}

#[test]
fn bombs_stop_at_the_limit_with_413() {
    let zeros = vec![0u8; 4 * 1024 * 1024];
    for coding in CODINGS {
        let bomb = encode_all(coding, 9, &zeros).unwrap();
        assert!(bomb.len() < 64 * 1024, "{coding:?}: {} bytes", bomb.len());
        let error = decode_all(coding, &bomb, 1024 * 1024).unwrap_err();
        assert_eq!(
            error.status_code(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "{coding:?}"
        );
        assert_eq!(
            decode_all(coding, &bomb, 4 * 1024 * 1024).unwrap().len(),
            zeros.len()
        );
    }
}

#[test]
fn malformed_and_truncated_bodies_are_400() {
    let data = sample(10_000);
    for coding in CODINGS {
        let encoded = encode_all(coding, 6, &data).unwrap();
        let truncated = &encoded[..encoded.len() / 2];
        let error = decode_all(coding, truncated, u64::MAX).unwrap_err();
        assert_eq!(
            error.status_code(),
            StatusCode::BAD_REQUEST,
            "{coding:?} truncated"
        );
        let error = decode_all(coding, b"definitely not compressed data", u64::MAX).unwrap_err();
        assert_eq!(
            error.status_code(),
            StatusCode::BAD_REQUEST,
            "{coding:?} garbage"
        );
    }
}

#[tokio::test]
async fn an_empty_body_decodes_to_an_empty_body() {
    for coding in CODINGS {
        let body: BodyStream = Box::pin(stream::empty());
        assert_eq!(
            collect(DecodeStream::new(body, coding, 10)).await.unwrap(),
            b""
        );
    }
}

#[test]
fn concatenated_gzip_members_decode_whole() {
    let mut two = encode_all(Coding::Gzip, 6, b"one ").unwrap().to_vec();
    two.extend_from_slice(&encode_all(Coding::Gzip, 6, b"two").unwrap());
    assert_eq!(
        decode_all(Coding::Gzip, &two, u64::MAX).unwrap(),
        b"one two"
    );
}
