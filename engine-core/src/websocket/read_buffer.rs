//! A session's read buffer: where the reader reads into and the [`Decoder`](super::Decoder)
//! splits messages off, as `Bytes` slices that keep their block alive while the handler (or the
//! writer, echoing) holds them.
//!
//! `BytesMut::reserve` can only reuse a block once every slice of it is gone; while messages are
//! still in flight it allocates a fresh one, whose pages the kernel then faults in and zero-fills.
//! The reader runs ahead of the handler, so with large messages that was a fresh block (and a page
//! fault) per message. Instead, a block still in use is set aside and the oldest set-aside block
//! whose messages are all gone is taken back, so a busy session cycles through a few warm blocks.
//! Blocks have room for two 64 KiB frames, so a frame crosses into a new block (and is copied
//! there) about once per block. Measured on the 64 KiB echo (`benches/wrk/ws_echo.sh`'s client,
//! BENCHMARKS.md): minor faults per message (`/proc/PID/stat`) from about 1.2 to 0.1-0.2 (the bare
//! tokio-tungstenite server: 0.03-0.05); callgrind instructions per message from 90k to 40k (bare:
//! 205k), the memcpy in here from 66k to 16k.

use bytes::BytesMut;

/// Blocks set aside while their messages are in flight, at most: a busy session holds at most
/// this many plus one blocks (each two to three times [`BLOCK`]), an idle one what it last had.
const MAX_SPARES: usize = 3;

/// The room made at a time: a 64 KiB message and its head fit in one block.
pub(super) const BLOCK: usize = 64 << 10;

/// Below this much room the reader makes more before reading.
const MIN_READ: usize = 4 << 10;

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
        // Room for two 64 KiB frames: a frame only crosses into a new block (and is copied
        // there) once per block, not once per message.
        let want = self.current.len() + needed.max(2 * BLOCK);
        let next = if want > 4 * BLOCK {
            self.oversized = true;
            BytesMut::with_capacity(want)
        } else {
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

    /// Fills the current block and splits one message off it, as the decoder does.
    fn receive(buffer: &mut ReadBuffer, len: usize) -> bytes::Bytes {
        buffer.make_room(len);
        buffer.current.extend_from_slice(&vec![9; len]);
        buffer.current.split_to(len).freeze()
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
