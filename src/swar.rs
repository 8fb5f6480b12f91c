//! Eight bytes at once: which bytes of a `u64` fall in a class, without a branch per byte.
//!
//! Has the responsibility to hold the one trick the byte scanners share
//! (SIMD within a register, SWAR): eight bytes of text read as one `u64`
//! (the first in the low byte, `u64::from_le_bytes`) are compared with a
//! few additions and masks, and the answer is a mask with the top bit of
//! each byte that matched. The tokenizer's word bytes (where SSE2 is not
//! used), the CSV writer's test for a field that needs quotes and the page
//! reader's runs of words all ask it.

/// One in each byte.
pub const ONES: u64 = 0x0101_0101_0101_0101;

/// Each byte's top bit.
pub const HIGH: u64 = 0x8080_8080_8080_8080;

/// The top bit of each byte of `v` that is an ASCII byte from `lo` up to
/// `end` (not included; both at most `0x80`). With the top bits cleared no
/// byte carries into the next, so `b + (0x80 - lo)` has its top bit set
/// exactly when the byte `b` is at least `lo`; a byte that is not ASCII
/// (top bit set in `v`) is in no range.
#[inline(always)]
pub fn in_range(v: u64, lo: u8, end: u8) -> u64 {
    debug_assert!(lo <= end && end <= 0x80);
    let b = v & !HIGH;
    let at_least = |lo: u8| b + ONES * (0x80 - u64::from(lo));
    at_least(lo) & !at_least(end) & !v & HIGH
}

/// Whether some byte of `v` is `byte`: a byte equal to it is a zero byte of
/// `v ^ byte`, and `x - 1` borrows into the top bit of the lowest zero
/// byte of `x` (a byte above it may be flagged by the borrow too, which
/// does not change the answer).
#[inline(always)]
pub fn has_byte(v: u64, byte: u8) -> bool {
    let x = v ^ (ONES * u64::from(byte));
    x.wrapping_sub(ONES) & !x & HIGH != 0
}

/// Gathers the top bit of each byte of `m` into bit `i` for byte `i` (the
/// other bits of `m` are ignored).
#[inline(always)]
pub fn top_bits(m: u64) -> u64 {
    // Each byte's bit lands on its own bit of the top byte: no carries.
    ((m >> 7) & ONES).wrapping_mul(0x0102_0408_1020_4080) >> 56
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Eight bytes, each `b` but the one at `at`, which is `x`.
    fn word(b: u8, x: u8, at: usize) -> u64 {
        let mut bytes = [b; 8];
        bytes[at] = x;
        u64::from_le_bytes(bytes)
    }

    #[test]
    fn in_range_marks_exactly_the_ascii_bytes_of_the_range() {
        let ranges = [
            (b'0', b'9' + 1),
            (b'\t', b'\r' + 1),
            (b' ', b' ' + 1),
            (0, 0x80),
        ];
        for (lo, end) in ranges {
            for b in 0..=255u8 {
                for x in 0..=255u8 {
                    for at in [0, 3, 7] {
                        let mask = in_range(word(b, x, at), lo, end);
                        for k in 0..8 {
                            let byte = if k == at { x } else { b };
                            let want = (lo..end).contains(&byte);
                            assert_eq!(
                                mask >> (8 * k + 7) & 1 == 1,
                                want,
                                "{byte:#x} in {lo}..{end}"
                            );
                        }
                        assert_eq!(mask & !HIGH, 0);
                    }
                }
            }
        }
    }

    #[test]
    fn has_byte_finds_the_byte_anywhere_and_nothing_else() {
        for byte in [0u8, b',', b'"', b'\n', 0x7F, 0x80, 0xFF] {
            for b in 0..=255u8 {
                for x in 0..=255u8 {
                    for at in [0, 5, 7] {
                        let want = b == byte || x == byte;
                        assert_eq!(
                            has_byte(word(b, x, at), byte),
                            want,
                            "{byte:#x} among {b:#x}, {x:#x}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn top_bits_gathers_one_bit_per_byte() {
        for m in 0..=255u64 {
            let mut spread = 0;
            for k in 0..8 {
                spread |= (m >> k & 1) << (8 * k + 7);
            }
            // The low bits of each byte do not leak in.
            assert_eq!(top_bits(spread | !HIGH), m);
        }
    }
}
