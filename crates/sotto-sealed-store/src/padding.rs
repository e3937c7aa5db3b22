//! The size buckets sealed records are padded to, so that IndexedDB (and
//! whoever reads the browser's files) learns a record's size class, not its
//! exact length: a short message and a long one in the same bucket look alike.
//!
//! ```text
//! bucket(n) = 256                                   n <= 256
//!           = the next power of two                 256 < n <= 64 KiB
//!           = the next multiple of 2^(e-3)          n > 64 KiB, 2^e <= n < 2^(e+1)
//! ```
//!
//! Small records (most of a profile: messages, contacts, queue state) cost at
//! most twice their size and fall in one of nine buckets; large ones (files)
//! cost at most an eighth more and fall in one of eight buckets per doubling.

/// The smallest bucket.
pub const MIN_BUCKET: usize = 256;
/// Up to this size, buckets are powers of two.
const POWER_OF_TWO_UNTIL: usize = 64 * 1024;

/// The bucket a sealed value of `len` bytes is padded to: at least `len`.
/// `None` only for lengths so close to `usize::MAX` that no bucket fits.
pub fn bucket(len: usize) -> Option<usize> {
    if len <= MIN_BUCKET {
        return Some(MIN_BUCKET);
    }
    if len <= POWER_OF_TWO_UNTIL {
        return len.checked_next_power_of_two();
    }
    // 2^e <= len: steps of 2^(e-3), eight per doubling.
    let e = usize::BITS - 1 - len.leading_zeros();
    let step = 1usize << (e - 3);
    len.div_ceil(step).checked_mul(step)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_the_documented_ones() {
        for (len, expected) in [
            (0, 256),
            (1, 256),
            (256, 256),
            (257, 512),
            (512, 512),
            (513, 1024),
            (40_000, 65_536),
            (65_536, 65_536),
            (65_537, 73_728),
            (73_728, 73_728),
            (73_729, 81_920),
            (131_071, 131_072),
            (131_073, 147_456),
            (16 * 1024 * 1024 + 4200, 18 * 1024 * 1024),
        ] {
            assert_eq!(bucket(len), Some(expected), "{len}");
        }
        assert_eq!(bucket(usize::MAX), None);
    }

    #[test]
    fn a_bucket_holds_its_length_with_bounded_overhead() {
        let mut len = 1usize;
        while len < 40 * 1024 * 1024 {
            for n in [len - 1, len, len + 1] {
                let b = bucket(n).unwrap_or(0);
                assert!(b >= n, "{n}");
                assert_eq!(bucket(b), Some(b), "buckets are fixed points: {n}");
                if n > POWER_OF_TWO_UNTIL {
                    assert!(b - n < n / 8 + 1, "{n} -> {b}");
                } else if n > MIN_BUCKET {
                    assert!(b < 2 * n, "{n} -> {b}");
                }
            }
            len = len * 3 / 2 + 1;
        }
    }
}
