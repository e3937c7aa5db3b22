//! Encrypting a file into padded chunks, a segment at a time.

use std::collections::VecDeque;

use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::stream::EncryptorBE32;
use chacha20poly1305::aead::{KeyInit, Payload};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use sotto_wire::ChunkSize;

use crate::layout::{SEGMENT_LEN, encrypted_len, plan_chunks};
use crate::{FileError, FileKey, FileNonce};

/// The associated data of every segment: the format and the file's length, so
/// that a description that lies about the length does not decrypt.
pub(crate) fn associated_data(file_len: u64) -> [u8; 21] {
    let mut data = [0u8; 21];
    data[..13].copy_from_slice(b"sotto-file-v1");
    data[13..].copy_from_slice(&file_len.to_be_bytes());
    data
}

/// The cipher of a file's segments.
pub(crate) fn cipher(key: &FileKey) -> XChaCha20Poly1305 {
    let mut stream_key = key.stream_key();
    let cipher = XChaCha20Poly1305::new(&stream_key.into());
    zeroize::Zeroize::zeroize(&mut stream_key);
    cipher
}

/// Plaintext in ([`FileEncryptor::push`], [`FileEncryptor::finish`]), whole
/// chunks out ([`FileEncryptor::poll_chunk`]), each exactly its planned size.
/// It holds at most a segment of plaintext and a chunk of ciphertext besides
/// the chunks not polled yet; poll after each push to keep it so.
pub struct FileEncryptor {
    stream: Option<EncryptorBE32<XChaCha20Poly1305>>,
    associated_data: [u8; 21],
    file_len: u64,
    taken: u64,
    segment: Vec<u8>,
    plan: Vec<ChunkSize>,
    /// Chunks filled so far (ready or polled).
    filled: usize,
    chunk: Vec<u8>,
    ready: VecDeque<Vec<u8>>,
    filler: ChaCha20Rng,
}

impl FileEncryptor {
    /// Encrypts a file of `file_len` bytes under `key` and `nonce`, both drawn
    /// at random for this file.
    pub fn new(key: &FileKey, nonce: &FileNonce, file_len: u64) -> Result<Self, FileError> {
        let plan = plan_chunks(encrypted_len(file_len)?);
        let stream = EncryptorBE32::from_aead(cipher(key), nonce.as_bytes().into());
        Ok(FileEncryptor {
            stream: Some(stream),
            associated_data: associated_data(file_len),
            file_len,
            taken: 0,
            segment: Vec::with_capacity(SEGMENT_LEN),
            plan,
            filled: 0,
            chunk: Vec::new(),
            ready: VecDeque::new(),
            filler: ChaCha20Rng::from_seed(key.filler_seed()),
        })
    }

    /// The sizes of the file's chunks, in order.
    pub fn chunk_sizes(&self) -> &[ChunkSize] {
        &self.plan
    }

    /// The next bytes of the file.
    pub fn push(&mut self, mut plaintext: &[u8]) -> Result<(), FileError> {
        let left = self.file_len - self.taken;
        if plaintext.len() as u64 > left || self.stream.is_none() {
            return Err(FileError::WrongLength);
        }
        self.taken += plaintext.len() as u64;
        while !plaintext.is_empty() {
            let room = SEGMENT_LEN - self.segment.len();
            let (now, later) = plaintext.split_at(room.min(plaintext.len()));
            self.segment.extend_from_slice(now);
            plaintext = later;
            // A full segment is never the last: the last holds the rest, 0 to
            // 65535 bytes.
            if self.segment.len() == SEGMENT_LEN {
                let sealed = match &mut self.stream {
                    Some(stream) => stream
                        .encrypt_next(Payload {
                            msg: &self.segment,
                            aad: &self.associated_data,
                        })
                        .map_err(|_| FileError::TooLarge)?,
                    None => return Err(FileError::WrongLength),
                };
                self.segment.clear();
                self.add_ciphertext(&sealed);
            }
        }
        Ok(())
    }

    /// Ends the file (all `file_len` bytes pushed): seals the last segment and
    /// fills out the last chunk.
    pub fn finish(&mut self) -> Result<(), FileError> {
        if self.taken != self.file_len {
            return Err(FileError::WrongLength);
        }
        let stream = self.stream.take().ok_or(FileError::WrongLength)?;
        let sealed = stream
            .encrypt_last(Payload {
                msg: &self.segment,
                aad: &self.associated_data,
            })
            .map_err(|_| FileError::TooLarge)?;
        self.segment.clear();
        self.add_ciphertext(&sealed);
        if let Some(size) = self.plan.get(self.filled) {
            let mut filler = vec![0u8; size.bytes() as usize - self.chunk.len()];
            self.filler.fill_bytes(&mut filler);
            self.add_ciphertext(&filler);
        }
        Ok(())
    }

    /// The next whole chunk, if one is ready.
    pub fn poll_chunk(&mut self) -> Option<Vec<u8>> {
        self.ready.pop_front()
    }

    fn add_ciphertext(&mut self, mut bytes: &[u8]) {
        while let Some(size) = self.plan.get(self.filled) {
            if bytes.is_empty() {
                return;
            }
            let size = size.bytes() as usize;
            if self.chunk.capacity() == 0 {
                self.chunk.reserve_exact(size);
            }
            let (now, later) = bytes.split_at((size - self.chunk.len()).min(bytes.len()));
            self.chunk.extend_from_slice(now);
            bytes = later;
            if self.chunk.len() == size {
                self.ready.push_back(std::mem::take(&mut self.chunk));
                self.filled += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_come_out_at_their_planned_sizes() {
        let key = FileKey::from_bytes([1; 32]);
        let nonce = FileNonce::from_bytes([2; 19]);
        let len = 4 * 1024 * 1024 + 70_000;
        let mut encryptor = FileEncryptor::new(&key, &nonce, len).unwrap();
        let sizes = encryptor.chunk_sizes().to_vec();
        assert_eq!(sizes, [ChunkSize::Mib4, ChunkSize::Kib64, ChunkSize::Kib64]);
        let mut chunks = Vec::new();
        for piece in vec![0x55u8; len as usize].chunks(10_000) {
            encryptor.push(piece).unwrap();
            chunks.extend(std::iter::from_fn(|| encryptor.poll_chunk()));
        }
        assert!(encryptor.push(&[0]).is_err());
        encryptor.finish().unwrap();
        chunks.extend(std::iter::from_fn(|| encryptor.poll_chunk()));
        let lens: Vec<usize> = chunks.iter().map(Vec::len).collect();
        let expected: Vec<usize> = sizes.iter().map(|size| size.bytes() as usize).collect();
        assert_eq!(lens, expected);
        // No run of zeros shows where the file ends.
        let last = chunks.last().unwrap();
        assert!(last[last.len() - 64..].iter().any(|&byte| byte != 0));
    }

    #[test]
    fn the_length_must_be_the_announced_one() {
        let key = FileKey::from_bytes([1; 32]);
        let nonce = FileNonce::from_bytes([2; 19]);
        let mut short = FileEncryptor::new(&key, &nonce, 10).unwrap();
        short.push(&[1; 9]).unwrap();
        assert_eq!(short.finish(), Err(FileError::WrongLength));
        let mut long = FileEncryptor::new(&key, &nonce, 10).unwrap();
        assert_eq!(long.push(&[1; 11]), Err(FileError::WrongLength));
    }
}
