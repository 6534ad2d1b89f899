//! `call.receive_multipart()`: a `multipart/form-data` body read part by part, each part's data
//! streamed as it arrives (a 10,000-line file never sits in memory whole). The parsing is
//! [`crate::multipart`]'s; this module feeds it from the receive pipeline's body.

use super::BodyStream;
use crate::Error;
use crate::multipart::{Event, MultipartError, MultipartLimits, MultipartParser, PartHeaders};
use bytes::{Buf, Bytes, BytesMut};
use futures_util::StreamExt;
use http::StatusCode;
use std::fmt;

/// A multipart body being read.
///
/// ```no_run
/// # async fn handler(call: engine_core::ApplicationCall) -> Result<(), engine_core::Error> {
/// let mut multipart = call.receive_multipart().await?;
/// while let Some(part) = multipart.next_part().await? {
///     let data = multipart.part_bytes().await?;
///     println!("{} ({:?}): {} bytes", part.name, part.filename, data.len());
/// }
/// # Ok(()) }
/// ```
pub struct Multipart {
    body: BodyStream,
    parser: MultipartParser,
    buf: BytesMut,
    /// Inside a part's data.
    in_part: bool,
    ended: bool,
}

impl fmt::Debug for Multipart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Multipart")
            .field("in_part", &self.in_part)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

fn to_error(error: MultipartError) -> Error {
    Error::new(
        StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST),
        error,
    )
}

/// Where one step of the parser left the reader.
enum Step {
    Part(PartHeaders),
    Data(Bytes),
    PartEnd,
    End,
}

impl Multipart {
    pub(crate) fn new(body: BodyStream, boundary: &str) -> Result<Self, Error> {
        let parser =
            MultipartParser::new(boundary, &MultipartLimits::default()).map_err(to_error)?;
        Ok(Self {
            body,
            parser,
            buf: BytesMut::new(),
            in_part: false,
            ended: false,
        })
    }

    /// The next part's headers; `None` after the last part. The rest of the current part's data,
    /// if unread, is skipped.
    pub async fn next_part(&mut self) -> Result<Option<PartHeaders>, Error> {
        loop {
            match self.step().await? {
                Step::Part(headers) => {
                    self.in_part = true;
                    return Ok(Some(headers));
                }
                Step::End => return Ok(None),
                Step::Data(_) | Step::PartEnd => {}
            }
        }
    }

    /// The next chunk of the current part's data; `None` at the part's end.
    pub async fn part_chunk(&mut self) -> Result<Option<Bytes>, Error> {
        if !self.in_part {
            return Ok(None);
        }
        match self.step().await? {
            Step::Data(data) => Ok(Some(data)),
            Step::PartEnd | Step::End => {
                self.in_part = false;
                Ok(None)
            }
            Step::Part(_) => Err(Error::status(
                StatusCode::BAD_REQUEST,
                "a part started inside another",
            )),
        }
    }

    /// The rest of the current part's data, collected.
    pub async fn part_bytes(&mut self) -> Result<Bytes, Error> {
        let mut collected = BytesMut::new();
        while let Some(chunk) = self.part_chunk().await? {
            collected.extend_from_slice(&chunk);
        }
        Ok(collected.freeze())
    }

    /// The rest of the current part's data as UTF-8 text; 400 if it is not.
    pub async fn part_text(&mut self) -> Result<String, Error> {
        let bytes = self.part_bytes().await?;
        String::from_utf8(bytes.into()).map_err(|e| Error::new(StatusCode::BAD_REQUEST, e))
    }

    async fn step(&mut self) -> Result<Step, Error> {
        if self.ended {
            return Ok(Step::End);
        }
        loop {
            let (consumed, event) = self.parser.parse(&self.buf).map_err(to_error)?;
            match event {
                Event::PartStart(headers) => {
                    self.buf.advance(consumed);
                    return Ok(Step::Part(headers));
                }
                Event::Data(range) => {
                    return Ok(Step::Data(
                        self.buf.split_to(consumed).freeze().slice(range),
                    ));
                }
                Event::PartEnd => {
                    self.buf.advance(consumed);
                    return Ok(Step::PartEnd);
                }
                Event::End => {
                    self.buf.advance(consumed);
                    self.ended = true;
                    return Ok(Step::End);
                }
                Event::NeedMore => {
                    self.buf.advance(consumed);
                    match self.body.next().await {
                        Some(chunk) => self.buf.extend_from_slice(&chunk?),
                        None => {
                            self.parser.finish().map_err(to_error)?;
                            self.ended = true;
                            return Ok(Step::End);
                        }
                    }
                }
            }
        }
    }
}
