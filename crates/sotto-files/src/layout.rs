//! How long a file is once encrypted, and which chunk sizes carry it.

use sotto_wire::ChunkSize;

use crate::FileError;

/// Plaintext bytes per STREAM segment (every segment but the last is full).
pub const SEGMENT_LEN: usize = 64 * 1024;

/// Bytes a segment's tag adds.
pub(crate) const TAG_LEN: usize = 16;

/// The segments a file of `file_len` bytes takes: one per full 64 KiB, plus
/// the last one with the rest (0 to 65535 bytes; empty when the length is a
/// multiple of 64 KiB, so that the last flag always has a segment).
pub(crate) fn segments(file_len: u64) -> Result<u64, FileError> {
    let segments = file_len / SEGMENT_LEN as u64 + 1;
    // STREAM's counter is a u32, and its last value is reserved.
    if segments > u64::from(u32::MAX) {
        return Err(FileError::TooLarge);
    }
    Ok(segments)
}

/// The file's length once encrypted: its bytes plus a tag per segment.
pub fn encrypted_len(file_len: u64) -> Result<u64, FileError> {
    Ok(file_len + TAG_LEN as u64 * segments(file_len)?)
}

/// The chunk sizes that carry `encrypted_len` bytes, in order: 4 MiB chunks
/// while more than 4 MiB is left, then the largest sizes that fit the rest,
/// and last the smallest size that holds what remains. The last chunk's
/// padding is under 64 KiB, and a file's chunks say its size only to within
/// that.
pub fn plan_chunks(encrypted_len: u64) -> Vec<ChunkSize> {
    let largest = ChunkSize::Mib4;
    let mut sizes = Vec::new();
    let mut left = encrypted_len;
    while left > u64::from(largest.bytes()) {
        sizes.push(largest);
        left -= u64::from(largest.bytes());
    }
    while left > 0 {
        // The largest size the rest fills entirely; under 64 KiB, the
        // smallest size, which holds it all.
        let size = ChunkSize::ALL
            .into_iter()
            .rev()
            .find(|size| u64::from(size.bytes()) <= left)
            .unwrap_or(ChunkSize::Kib64);
        sizes.push(size);
        left = left.saturating_sub(u64::from(size.bytes()));
    }
    sizes
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * KIB;

    #[test]
    fn lengths_count_a_tag_per_segment() {
        assert_eq!(encrypted_len(0), Ok(16));
        assert_eq!(encrypted_len(1), Ok(17));
        assert_eq!(encrypted_len(65535), Ok(65551));
        assert_eq!(encrypted_len(65536), Ok(65536 + 32));
        assert_eq!(encrypted_len(1 << 30), Ok((1 << 30) + 16 * 16385));
        assert_eq!(encrypted_len(u64::MAX / 2), Err(FileError::TooLarge));
    }

    #[test]
    fn chunks_are_large_first_and_pad_under_64_kib() {
        use ChunkSize::*;
        assert_eq!(plan_chunks(16), [Kib64]);
        assert_eq!(plan_chunks(64 * KIB), [Kib64]);
        assert_eq!(plan_chunks(64 * KIB + 1), [Kib64, Kib64]);
        assert_eq!(plan_chunks(MIB + 5), [Mib1, Kib64]);
        assert_eq!(plan_chunks(4 * MIB), [Mib4]);
        assert_eq!(
            plan_chunks(9 * MIB + 300 * KIB),
            [Mib4, Mib4, Mib1, Kib256, Kib64]
        );
    }

    proptest! {
        #[test]
        fn a_plan_holds_the_bytes_with_little_padding(len in 1u64..(64 * MIB)) {
            let plan = plan_chunks(len);
            let capacity: u64 = plan.iter().map(|size| u64::from(size.bytes())).sum();
            prop_assert!(capacity >= len);
            prop_assert!(capacity - len < 64 * KIB);
            // Only the last chunk has padding.
            let before_last: u64 = plan[..plan.len() - 1]
                .iter()
                .map(|size| u64::from(size.bytes()))
                .sum();
            prop_assert!(before_last < len);
        }
    }
}
