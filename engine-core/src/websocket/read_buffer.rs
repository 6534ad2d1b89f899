//! A session's read buffer: where the reader reads into and the [`Decoder`](super::Decoder)
//! splits messages off, as `Bytes` slices that keep their block alive while the handler (or the
//! writer, echoing) holds them.
//!
//! `BytesMut::reserve` can only reuse a block once every slice of it is gone; while messages are
//! still in flight it allocates a fresh one, whose pages the kernel then faults in and zero-fills.
//! The reader runs ahead of the handler, so with large messages that was a fresh block (and a page
//! fault) per message. Instead, a block still in use is set aside and the oldest set-aside block
//! whose messages are all gone is taken back, so a busy session cycles through a few warm blocks.
//! Blocks have room for two 64 KiB frames, and reads are sized so that a frame like the last one
//! never straddles a block's end ([`ReadBuffer::prepare_read`]): it starts in a block with room
//! for all of it, and is never copied. Measured on the 64 KiB echo (`benches/wrk/ws_echo.sh`'s
//! client, BENCHMARKS.md): minor faults per message (`/proc/PID/stat`) from about 1.2 to 0.04-0.1
//! (the bare tokio-tungstenite server: 0.01-0.05); the server's user CPU per message from about
//! 12 µs to 7-8 µs (bare: 8-9.5), where copying frames into new blocks (`memmove`, 8% of the
//! server's CPU) was most of the difference.

use bytes::BytesMut;

/// Blocks set aside while their messages are in flight, at most: a busy session holds at most
/// this many plus one blocks (each two to three times [`BLOCK`]), an idle one what it last had.
const MAX_SPARES: usize = 3;

/// The room made at a time: a 64 KiB message and its head fit in one block.
pub(super) const BLOCK: usize = 64 << 10;

/// The smallest block made: two 64 KiB frames with their heads (14 bytes at most, masked).
const MIN_BLOCK: usize = 2 * (BLOCK + 14);

/// Below this much room the reader makes more before reading.
const MIN_READ: usize = 4 << 10;

/// Frames expected at most this large when sizing blocks and reads ([`ReadBuffer::prepare_read`]).
const MAX_EXPECTED: usize = 2 * BLOCK;

#[derive(Debug, Default)]
pub(super) struct ReadBuffer {
    /// The block being read into; the bytes of a frame not yet whole are at its front.
    pub(super) current: BytesMut,
    /// `current` was made for one frame larger than a block: dropped, not kept, once emptied.
    oversized: bool,
    /// Blocks whose messages may still be held, oldest first.
    spares: Vec<BytesMut>,
}

impl ReadBuffer {
    /// Makes room for at least `needed` more bytes (and [`MIN_READ`] at least) after what the
    /// current block holds.
    pub(super) fn make_room(&mut self, needed: usize) {
        self.reserve(needed, 0);
    }

    /// Makes room for the next read of a frame and says how many bytes the read may take.
    ///
    /// `wants` is the size of the frame at the front once its head is in (0 before), `expected`
    /// the size of the last whole frame: the next ones are expected to be like it. A read may take
    /// the rest of the front frame and as many expected frames after it as the room holds, and
    /// no more: reading on would bring the start of a frame into the block's end without room
    /// for the rest of it, and that start would be copied into the next block (with 64 KiB
    /// messages, about 32 KiB copied per message: 8% of the server's CPU on the echo benchmark).
    /// Stopping costs a read more per block instead, and the next frame starts in a block with
    /// room for it.
    pub(super) fn prepare_read(&mut self, wants: usize, expected: usize) -> usize {
        let expected = expected.min(MAX_EXPECTED);
        let len = self.current.len();
        // The bytes the front frame still needs: known once its head is in; before, a frame
        // like the last one (what is at the front is then a partial head, 13 bytes at most).
        let rest = if wants > len {
            wants - len
        } else {
            expected.saturating_sub(len).max(1)
        };
        let mut room = self.current.capacity() - len;
        // Room for the rest of a frame of known size is enough, however little: more would move
        // the frame.
        if wants <= len || room < rest {
            self.reserve(rest, expected);
            room = self.current.capacity() - self.current.len();
        }
        // Up to the end of the front frame and of as many expected frames after it as fit: a
        // read that ends inside a frame then leaves room for the rest of it.
        match expected {
            0 => room,
            _ => rest + (room - rest) / expected * expected,
        }
    }

    /// Makes room for `needed` more bytes (and [`MIN_READ`] at least); a new block also has room
    /// for `then` bytes after them.
    fn reserve(&mut self, needed: usize, then: usize) {
        let needed = needed.max(MIN_READ);
        if self.oversized && self.current.is_empty() {
            // A large frame is over: its block goes with it rather than staying the session's.
            self.current = BytesMut::new();
            self.oversized = false;
        }
        if self.current.capacity() - self.current.len() >= needed
            || self.current.try_reclaim(needed)
        {
            return;
        }
        let len = self.current.len();
        let next = if len + needed > 4 * BLOCK {
            self.oversized = true;
            BytesMut::with_capacity(len + needed)
        } else {
            // Room for two 64 KiB frames at least, and for this frame and one like the last:
            // a frame only crosses into a new block (and is copied there) once per block, not
            // once per message.
            let want = len + (needed + then).max(MIN_BLOCK);
            let free = self
                .spares
                .iter_mut()
                .position(|spare| spare.try_reclaim(want));
            free.map_or_else(
                || BytesMut::with_capacity(want),
                |at| self.spares.remove(at),
            )
        };
        let mut previous = std::mem::replace(&mut self.current, next);
        self.current.extend_from_slice(&previous);
        // Emptied, so that taking it back later copies nothing. One with no room left may be
        // the unallocated first buffer: not worth a place.
        previous.clear();
        if previous.capacity() > 0 {
            if self.spares.len() == MAX_SPARES {
                // Every block is still in use: let the oldest go (it is freed with its last
                // message).
                self.spares.remove(0);
            }
            self.spares.push(previous);
        }
    }

    /// Drops what the current block holds (discarding input), keeping room to read into.
    pub(super) fn clear(&mut self) {
        self.current.clear();
        self.make_room(MIN_READ);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BufMut;

    /// Fills the current block and splits one message off it, as the decoder does.
    fn receive(buffer: &mut ReadBuffer, len: usize) -> bytes::Bytes {
        buffer.make_room(len);
        buffer.current.extend_from_slice(&vec![9; len]);
        buffer.current.split_to(len).freeze()
    }

    /// A stream of 64 KiB frames (14-byte heads) after a few small ones (so that blocks do not
    /// line up with the large frames by chance), read in pieces of whatever size the socket has,
    /// with the last two messages still held (an echo writing them): once large frames are what
    /// to expect, no frame is moved to another block after its bytes arrived, but for a partial
    /// head.
    #[test]
    fn frames_like_the_last_one_are_never_moved() {
        const FRAME: usize = 14 + (64 << 10);
        let frames: Vec<usize> = [1000; 3].into_iter().chain([FRAME; 200]).collect();
        let mut buffer = ReadBuffer::default();
        let mut held = std::collections::VecDeque::new();
        let (mut expected, mut wants) = (0, 0);
        // The frame at the front; bytes read of the stream; bytes moved between blocks.
        let (mut front, mut streamed, mut moved) = (0, 0, 0);
        let mut seed = 0x2545_f491_u32;
        while front < frames.len() {
            let (before, len) = (buffer.current.as_ptr(), buffer.current.len());
            let limit = buffer.prepare_read(wants, expected);
            // From the second large frame on: the read that ended the first was sized for small ones.
            if len > 0 && buffer.current.as_ptr() != before && front > 4 {
                moved += len;
            }
            // What the socket has: anything from 1 byte to 96 KiB, up to the stream's end.
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let left = frames.iter().sum::<usize>() - streamed;
            let n = limit.min(1 + seed as usize % (96 << 10)).min(left);
            buffer.current.put_bytes(7, n);
            streamed += n;
            // The decoder: whole frames are split off (and held), a partial one wants its size.
            while front < frames.len() {
                let size = frames[front];
                if buffer.current.len() < size {
                    wants = if buffer.current.len() >= 14 { size } else { 0 };
                    break;
                }
                held.push_back(buffer.current.split_to(size).freeze());
                if held.len() > 2 {
                    held.pop_front();
                }
                (expected, wants, front) = (size, 0, front + 1);
            }
        }
        assert!(moved <= 200 * 13, "{moved} bytes moved");
    }

    #[test]
    fn a_block_is_reused_once_its_messages_are_gone() {
        // Each message fills a block.
        let mut buffer = ReadBuffer::default();
        let first = receive(&mut buffer, 2 * BLOCK);
        let first_block = first.as_ptr();
        // Held: the next message goes to another block.
        let second = receive(&mut buffer, 2 * BLOCK);
        assert_ne!(second.as_ptr(), first_block);
        drop(first);
        // The first block is free again and comes back; the second is still in use.
        let third = receive(&mut buffer, 2 * BLOCK);
        assert_eq!(third.as_ptr(), first_block);
        drop((second, third));
    }

    #[test]
    fn a_partial_frame_moves_with_the_room() {
        let mut buffer = ReadBuffer::default();
        buffer.make_room(BLOCK);
        let cap = buffer.current.capacity();
        buffer.current.extend_from_slice(&vec![1; cap]);
        let _held = buffer.current.split_to(cap - 3).freeze();
        buffer.make_room(BLOCK);
        assert_eq!(&buffer.current[..], [1, 1, 1]);
        assert!(buffer.current.capacity() - buffer.current.len() >= BLOCK);
    }

    #[test]
    fn an_oversized_block_is_let_go_after_its_frame() {
        let mut buffer = ReadBuffer::default();
        let big = receive(&mut buffer, 10 * BLOCK);
        drop(big);
        buffer.make_room(MIN_READ);
        assert!(
            buffer.current.capacity() < 4 * BLOCK,
            "{}",
            buffer.current.capacity()
        );
    }

    #[test]
    fn blocks_in_use_are_never_kept_past_the_limit() {
        let mut buffer = ReadBuffer::default();
        let mut held = Vec::new();
        for _ in 0..10 {
            buffer.make_room(BLOCK);
            buffer.current.extend_from_slice(&[7; 100]);
            let cap = buffer.current.capacity();
            held.push(buffer.current.split_to(100).freeze());
            // Fill the block so that the next room needs another one.
            buffer.current.extend_from_slice(&vec![0; cap - 100]);
            buffer.current.clear();
            assert!(buffer.spares.len() <= MAX_SPARES);
        }
        assert!(held.iter().all(|m| m[..] == [7; 100]));
    }
}
