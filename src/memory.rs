//! A global allocator that keeps a few large freed blocks for reuse.
//!
//! The CLI pins glibc's mmap threshold at [`LARGE`] for scoring (see
//! `pin_mmap_threshold` in `main.rs`), so that large per-article buffers go
//! back to the system and peak memory stays flat however long the input.
//! The price was paid on every large article: each of its big buffers (the
//! text, the rows, the scored sentences, the growing JSON string) was a
//! fresh mapping whose every page faulted on first touch, and was unmapped
//! again, which with two threads also interrupts the other core to flush
//! its TLB. Scoring ten copies of the news corpus as a sentence CSV took
//! 30,000 page faults, most of them for the same few dozen sizes again
//! and again.
//!
//! [`Recycling`] sits on the system allocator and keeps up to [`SLOTS`]
//! freed blocks of at least [`LARGE`] bytes, [`KEPT_BYTES`] in all; the next
//! allocation of a similar size (the block at most twice what is asked)
//! takes one back, pages already in place. Memory held this way is bounded
//! by [`KEPT_BYTES`] and does not grow with the input; everything else
//! goes straight to the system allocator. Only the CLI installs it
//! (`#[global_allocator]` in `main.rs`); the library does not depend on it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;

/// Blocks of at least this many bytes are kept when freed, and the CLI
/// pins glibc's mmap threshold here, so smaller blocks are left to its
/// heaps, which reuse them already. At 128 KiB, a job's buffers of 270 to
/// 380 KiB (a batch's rows, its scored sentences) were each mapped and
/// unmapped again, 200 times on ten copies of the news corpus as a sentence
/// CSV; with two threads every unmapping sends the other core an interrupt
/// to flush its TLB. At 512 KiB they stay in the thread's heap: the
/// sentence CSV and JSONL 6–7% faster with two threads, peak memory some
/// 2 MiB higher, and no more growing with the input than before.
pub const LARGE: usize = 512 << 10;
/// Freed blocks kept at most.
pub const SLOTS: usize = 8;
/// Bytes kept at most, over all kept blocks.
pub const KEPT_BYTES: usize = 8 << 20;

/// The kept blocks: address and usable size, in no order.
#[derive(Debug)]
struct Kept {
    blocks: [(usize, usize); SLOTS],
    len: usize,
    bytes: usize,
}

impl Kept {
    const fn new() -> Kept {
        Kept {
            blocks: [(0, 0); SLOTS],
            len: 0,
            bytes: 0,
        }
    }

    /// Takes the smallest kept block of `size` to `2 * size` bytes.
    fn take(&mut self, size: usize) -> Option<usize> {
        let fits = |s: usize| s >= size && s <= size.saturating_mul(2);
        let best = (0..self.len)
            .filter(|&i| fits(self.blocks[i].1))
            .min_by_key(|&i| self.blocks[i].1)?;
        let (addr, usable) = self.blocks[best];
        self.len -= 1;
        self.blocks[best] = self.blocks[self.len];
        self.bytes -= usable;
        Some(addr)
    }

    /// Keeps the block at `addr` of `usable` bytes if there is room;
    /// `false` when the caller must free it.
    fn keep(&mut self, addr: usize, usable: usize) -> bool {
        if self.len == SLOTS || self.bytes.saturating_add(usable) > KEPT_BYTES {
            return false;
        }
        self.blocks[self.len] = (addr, usable);
        self.len += 1;
        self.bytes += usable;
        true
    }
}

static KEPT: Mutex<Kept> = Mutex::new(Kept::new());

/// The system allocator, keeping a few large freed blocks for reuse (see
/// the module documentation). On targets other than Linux with glibc it
/// is the system allocator alone.
#[derive(Debug, Clone, Copy, Default)]
pub struct Recycling;

/// Whether blocks of `layout` are kept and reused: large, and aligned as
/// `malloc` aligns every block (so any kept block will do).
#[inline]
fn recycled(layout: Layout, size: usize) -> bool {
    cfg!(all(target_os = "linux", target_env = "gnu")) && size >= LARGE && layout.align() <= 16
}

fn kept() -> std::sync::MutexGuard<'static, Kept> {
    // Nothing panics while the lock is held; a poisoned lock is still sound.
    KEPT.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn usable_size(ptr: *mut u8) -> usize {
    // SAFETY: `ptr` is a live block from the system allocator, i.e. from
    // glibc's malloc, calloc, realloc or posix_memalign.
    unsafe { libc::malloc_usable_size(ptr.cast()) }
}

/// Never called: `recycled` keeps nothing on these targets.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn usable_size(_: *mut u8) -> usize {
    0
}

// SAFETY: every block handed out is a live block of the system allocator
// that nobody else holds (kept blocks are owned by `KEPT` alone), at least
// as large as asked and aligned to 16 bytes, which is all `recycled`
// layouts need; blocks are freed through the system allocator.
unsafe impl GlobalAlloc for Recycling {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if recycled(layout, layout.size()) {
            let taken = kept().take(layout.size());
            if let Some(addr) = taken {
                return addr as *mut u8;
            }
        }
        System.alloc(layout)
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if recycled(layout, layout.size()) && kept().keep(ptr as usize, usable_size(ptr)) {
            return;
        }
        System.dealloc(ptr, layout)
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // A fresh mapping is zero already; a kept block would need clearing.
        System.alloc_zeroed(layout)
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // A buffer growing past `LARGE` (a string being built) takes a kept
        // block rather than new pages.
        if new_size > layout.size() && recycled(layout, new_size) {
            // The lock is released before `dealloc` takes it again.
            let taken = kept().take(new_size);
            if let Some(addr) = taken {
                let new = addr as *mut u8;
                std::ptr::copy_nonoverlapping(ptr, new, layout.size());
                self.dealloc(ptr, layout);
                return new;
            }
        }
        System.realloc(ptr, layout, new_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_smallest_block_that_fits_within_twice_the_size() {
        let mut k = Kept::new();
        assert!(k.keep(0x1000, 300_000));
        assert!(k.keep(0x2000, 200_000));
        assert!(k.keep(0x3000, 1_000_000));
        // 150,000: 200,000 fits; 300,000 would too, but is larger.
        assert_eq!(k.take(150_000), Some(0x2000));
        // 400,000: 300,000 is too small, 1,000,000 more than twice.
        assert_eq!(k.take(400_000), None);
        assert_eq!(k.take(500_000), Some(0x3000));
        assert_eq!(k.take(300_000), Some(0x1000));
        assert_eq!(k.take(LARGE), None);
        assert_eq!((k.len, k.bytes), (0, 0));
    }

    #[test]
    fn keeps_at_most_slots_blocks_and_kept_bytes() {
        let mut k = Kept::new();
        for i in 0..SLOTS {
            assert!(k.keep(i + 1, LARGE), "block {i}");
        }
        assert!(!k.keep(0xff, LARGE), "a block past SLOTS was kept");
        let mut k = Kept::new();
        assert!(k.keep(1, KEPT_BYTES - LARGE));
        assert!(!k.keep(2, 2 * LARGE), "more than KEPT_BYTES were kept");
        assert!(k.keep(3, LARGE));
        assert_eq!(k.bytes, KEPT_BYTES);
        // Taking one makes room again.
        assert_eq!(k.take(LARGE), Some(3));
        assert!(k.keep(4, LARGE));
    }

    #[test]
    fn every_block_taken_is_one_kept_and_is_taken_once() {
        let mut rng = crate::testutil::Rng(0x9e37_79b9_7f4a_7c15);
        let mut k = Kept::new();
        let mut held: Vec<(usize, usize)> = Vec::new();
        let mut next = 1;
        for _ in 0..20_000 {
            let size = LARGE + rng.below(4 << 20);
            if rng.below(2) == 0 {
                if k.keep(next, size) {
                    held.push((next, size));
                }
                next += 1;
            } else if let Some(addr) = k.take(size) {
                let at = held.iter().position(|&(a, _)| a == addr).unwrap();
                let (_, usable) = held.swap_remove(at);
                assert!(usable >= size && usable <= 2 * size, "{usable} for {size}");
            }
            assert_eq!(k.len, held.len());
            assert_eq!(k.bytes, held.iter().map(|&(_, s)| s).sum::<usize>());
            assert!(k.len <= SLOTS && k.bytes <= KEPT_BYTES);
        }
    }

    #[test]
    fn blocks_come_back_whole_through_every_path() {
        // The allocator itself (tests do not install it globally), on its
        // own blocks: each path that takes a kept block is taken at least
        // once, and the bytes a caller wrote survive every move.
        let a = Recycling;
        let layout = |size| Layout::from_size_align(size, 8).unwrap();
        let kept_addresses = || {
            let k = kept();
            k.blocks[..k.len]
                .iter()
                .map(|&(addr, _)| addr)
                .collect::<Vec<_>>()
        };
        let filled = |p: *mut u8, n: usize, b: u8| {
            // SAFETY: `p` is a live block of at least `n` bytes.
            unsafe { std::slice::from_raw_parts(p, n).iter().all(|&x| x == b) }
        };
        unsafe {
            for round in 1..=4u8 {
                let size = LARGE + 4096 * round as usize;
                // A block 2.5 times as large is freed and kept ...
                let spare = a.alloc(layout(size * 5 / 2));
                std::ptr::write_bytes(spare, 0xa5, size * 5 / 2);
                a.dealloc(spare, layout(size * 5 / 2));
                // ... and a buffer growing to twice its size takes it (the
                // path that once took the lock twice and hung).
                let p = a.alloc(layout(size));
                assert!(!p.is_null() && (p as usize).is_multiple_of(16));
                std::ptr::write_bytes(p, round, size);
                let before = kept_addresses();
                let grown = a.realloc(p, layout(size), 2 * size);
                assert!(
                    before.contains(&(grown as usize)),
                    "round {round}: nothing kept was reused"
                );
                assert!(
                    filled(grown, size, round),
                    "round {round}: bytes lost in realloc"
                );
                // The first buffer went back to the pool; the next
                // allocation of its size gets it, with what was in it.
                let pool = kept_addresses();
                assert!(
                    pool.contains(&(p as usize)),
                    "round {round}: the old buffer was not kept"
                );
                let again = a.alloc(layout(size));
                assert!(
                    pool.contains(&(again as usize)),
                    "round {round}: nothing kept was reused"
                );
                let zeroed = a.alloc_zeroed(layout(size));
                assert!(filled(zeroed, size, 0), "alloc_zeroed gave old bytes");
                for (q, n) in [(grown, 2 * size), (again, size), (zeroed, size)] {
                    a.dealloc(q, layout(n));
                }
            }
            // Small and over-aligned blocks are the system allocator's.
            let p = a.alloc(layout(64));
            a.dealloc(p, layout(64));
            let aligned = Layout::from_size_align(LARGE, 4096).unwrap();
            let p = a.alloc(aligned);
            assert!((p as usize).is_multiple_of(4096));
            a.dealloc(p, aligned);
        }
    }
}
