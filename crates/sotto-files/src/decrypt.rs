//! Decrypting a file from its chunks, in order, a segment at a time.

use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::Payload;
use chacha20poly1305::aead::stream::DecryptorBE32;

use crate::encrypt::{associated_data, cipher};
use crate::layout::{SEGMENT_LEN, TAG_LEN, encrypted_len, segments};
use crate::{FileError, FileKey, FileNonce};

/// Chunks in, in order ([`FileDecryptor::push`]), plaintext out; every
/// segment is authenticated in its place, and [`FileDecryptor::finish`]
/// fails unless the last one, sealed as last, arrived. Bytes after the
/// file's ciphertext (the last chunk's filler) are ignored. It holds at most
/// a segment of ciphertext.
pub struct FileDecryptor {
    stream: Option<DecryptorBE32<XChaCha20Poly1305>>,
    associated_data: [u8; 21],
    /// Segments not yet opened, the last among them.
    segments_left: u64,
    /// Ciphertext bytes of the file not yet received.
    ciphertext_left: u64,
    /// Bytes of the last segment, tag included.
    last_segment_len: usize,
    segment: Vec<u8>,
}

impl FileDecryptor {
    /// Decrypts a file of `file_len` bytes (as its description says) under
    /// `key` and `nonce`.
    pub fn new(key: &FileKey, nonce: &FileNonce, file_len: u64) -> Result<Self, FileError> {
        let stream = DecryptorBE32::from_aead(cipher(key), nonce.as_bytes().into());
        Ok(FileDecryptor {
            stream: Some(stream),
            associated_data: associated_data(file_len),
            segments_left: segments(file_len)?,
            ciphertext_left: encrypted_len(file_len)?,
            last_segment_len: (file_len % SEGMENT_LEN as u64) as usize + TAG_LEN,
            segment: Vec::with_capacity(SEGMENT_LEN + TAG_LEN),
        })
    }

    /// The next bytes of the chunks (a whole chunk or any part of one, in
    /// order); the plaintext they complete.
    pub fn push(&mut self, mut bytes: &[u8]) -> Result<Vec<u8>, FileError> {
        let mut plaintext = Vec::new();
        let file_part = usize::try_from(self.ciphertext_left).unwrap_or(usize::MAX);
        bytes = bytes.get(..file_part.min(bytes.len())).unwrap_or_default();
        self.ciphertext_left -= bytes.len() as u64;
        while !bytes.is_empty() {
            let segment_len = if self.segments_left == 1 {
                self.last_segment_len
            } else {
                SEGMENT_LEN + TAG_LEN
            };
            let room = segment_len - self.segment.len();
            let (now, later) = bytes.split_at(room.min(bytes.len()));
            self.segment.extend_from_slice(now);
            bytes = later;
            if self.segment.len() == segment_len {
                plaintext.extend(self.open_segment()?);
            }
        }
        Ok(plaintext)
    }

    /// Ends the file: an error unless every segment, the last included,
    /// arrived and opened.
    pub fn finish(self) -> Result<(), FileError> {
        match self.stream {
            None => Ok(()),
            Some(_) => Err(FileError::Truncated),
        }
    }

    fn open_segment(&mut self) -> Result<Vec<u8>, FileError> {
        let payload = Payload {
            msg: &self.segment,
            aad: &self.associated_data,
        };
        let opened = if self.segments_left == 1 {
            let stream = self.stream.take().ok_or(FileError::Forged)?;
            stream.decrypt_last(payload)
        } else {
            let stream = self.stream.as_mut().ok_or(FileError::Forged)?;
            stream.decrypt_next(payload)
        }
        .map_err(|_| FileError::Forged)?;
        self.segment.clear();
        self.segments_left -= 1;
        Ok(opened)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::FileEncryptor;

    const SEG: usize = SEGMENT_LEN;

    fn key(seed: u8) -> FileKey {
        FileKey::from_bytes([seed; 32])
    }

    fn nonce(seed: u8) -> FileNonce {
        FileNonce::from_bytes([seed; 19])
    }

    fn file(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 253) as u8).collect()
    }

    fn encrypt(key: &FileKey, nonce: &FileNonce, plaintext: &[u8]) -> Vec<Vec<u8>> {
        let mut encryptor = FileEncryptor::new(key, nonce, plaintext.len() as u64).unwrap();
        let mut chunks = Vec::new();
        for piece in plaintext.chunks(7_777) {
            encryptor.push(piece).unwrap();
            chunks.extend(std::iter::from_fn(|| encryptor.poll_chunk()));
        }
        encryptor.finish().unwrap();
        chunks.extend(std::iter::from_fn(|| encryptor.poll_chunk()));
        chunks
    }

    /// The file's length and digest, or the error: never the whole file
    /// in a failing assertion's message.
    fn decrypt(
        key: &FileKey,
        nonce: &FileNonce,
        len: usize,
        chunks: &[Vec<u8>],
    ) -> Result<(usize, [u8; 32]), FileError> {
        let mut decryptor = FileDecryptor::new(key, nonce, len as u64)?;
        let mut plaintext = Vec::new();
        for chunk in chunks {
            // In pieces of any size, as they come off the network.
            for piece in chunk.chunks(16_256) {
                plaintext.extend(decryptor.push(piece)?);
            }
        }
        decryptor.finish()?;
        Ok(summary(&plaintext))
    }

    fn summary(bytes: &[u8]) -> (usize, [u8; 32]) {
        (bytes.len(), *sotto_wire::ChunkDigest::of(bytes).as_bytes())
    }

    #[test]
    fn files_of_every_shape_round_trip() {
        for len in [
            0,
            1,
            SEG - 1,
            SEG,
            SEG + 1,
            3 * SEG,
            4 * 1024 * 1024 + 5,
            5 * 1024 * 1024,
        ] {
            let plaintext = file(len);
            let chunks = encrypt(&key(1), &nonce(2), &plaintext);
            assert_eq!(
                decrypt(&key(1), &nonce(2), len, &chunks),
                Ok(summary(&plaintext)),
                "{len}"
            );
        }
    }

    #[test]
    fn a_truncated_file_is_refused() {
        let len = 3 * 1024 * 1024 + 200_000;
        let chunks = encrypt(&key(1), &nonce(2), &file(len));
        // Without its last chunk, or cut at a segment's end.
        let without_last = &chunks[..chunks.len() - 1];
        assert_eq!(
            decrypt(&key(1), &nonce(2), len, without_last),
            Err(FileError::Truncated)
        );
        let cut = chunks.concat()[..2 * (SEG + TAG_LEN)].to_vec();
        assert_eq!(
            decrypt(&key(1), &nonce(2), len, &[cut]),
            Err(FileError::Truncated)
        );
        // A description that claims the file ends at a segment boundary
        // earlier: that segment was not sealed as the last.
        assert_eq!(
            decrypt(&key(1), &nonce(2), 3 * 1024 * 1024, &chunks),
            Err(FileError::Forged)
        );
    }

    #[test]
    fn reordered_or_swapped_chunks_and_segments_are_refused() {
        let len = 1024 * 1024 + 300_000;
        let chunks = encrypt(&key(1), &nonce(2), &file(len));
        assert!(chunks.len() >= 3);
        let mut reordered = chunks.clone();
        reordered.swap(0, 1);
        assert_eq!(
            decrypt(&key(1), &nonce(2), len, &reordered),
            Err(FileError::Forged)
        );
        // Two segments swapped inside the first chunk.
        let mut segments = chunks.clone();
        let seg = SEG + TAG_LEN;
        let (a, b) = segments[0].split_at_mut(seg);
        a.swap_with_slice(&mut b[..seg]);
        assert_eq!(
            decrypt(&key(1), &nonce(2), len, &segments),
            Err(FileError::Forged)
        );
        // A chunk of another file of the same length (another key and nonce).
        let other = encrypt(&key(3), &nonce(4), &file(len));
        let mut swapped = chunks.clone();
        swapped[1] = other[1].clone();
        assert_eq!(
            decrypt(&key(1), &nonce(2), len, &swapped),
            Err(FileError::Forged)
        );
        // The same key with another nonce, or another length, does not open.
        assert_eq!(
            decrypt(&key(1), &nonce(5), len, &chunks),
            Err(FileError::Forged)
        );
        assert_eq!(
            decrypt(&key(1), &nonce(2), len - 1, &chunks),
            Err(FileError::Forged)
        );
        // One bit changed anywhere in the ciphertext.
        let mut flipped = chunks.clone();
        flipped[2][100] ^= 1;
        assert_eq!(
            decrypt(&key(1), &nonce(2), len, &flipped),
            Err(FileError::Forged)
        );
        // The filler after the ciphertext is not read.
        let mut padded = chunks;
        let last = padded.last_mut().unwrap();
        let end = last.len() - 1;
        last[end] ^= 1;
        assert_eq!(
            decrypt(&key(1), &nonce(2), len, &padded),
            Ok(summary(&file(len)))
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn any_length_round_trips(len in 0usize..(3 * SEG + 100), seed in any::<u8>()) {
            let plaintext = file(len);
            let chunks = encrypt(&key(seed), &nonce(seed), &plaintext);
            prop_assert_eq!(
                decrypt(&key(seed), &nonce(seed), len, &chunks),
                Ok(summary(&plaintext))
            );
        }
    }
}
