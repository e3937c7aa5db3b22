//! A file encrypted into the profile's copies (read a block at a time from
//! the browser's `File`, or from bytes), and a copy decrypted back, every
//! segment checked.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use rand_core::RngCore;
use sotto_files::{
    FileDecryptor, FileEncryptor, FileKey, FileNonce, MAX_DESCRIBED_CHUNKS, encrypted_len,
    plan_chunks,
};
use sotto_wire::ChunkDigest;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use zeroize::Zeroizing;

use super::BLOCK;
use super::requests::Fault;
use crate::client::Shared;
use crate::file_copies::FileCopies;
use crate::rng::BrowserRng;

/// The copy is listed now (or gone): a refresh may judge it.
pub(super) fn forget_encrypting(shared: &Rc<RefCell<Shared>>, copy: &str) {
    shared
        .borrow_mut()
        .files
        .encrypting
        .retain(|encrypting| encrypting != copy);
}

/// Where a file to encrypt comes from.
pub(super) enum Source<'a> {
    /// A file the user picked, dropped, pasted or recorded.
    Blob(&'a web_sys::Blob),
    /// Bytes in memory (a description).
    Bytes(&'a [u8]),
}

impl Source<'_> {
    fn len(&self) -> u64 {
        match self {
            // A Blob's size is a whole number of bytes.
            Source::Blob(blob) => blob.size() as u64,
            Source::Bytes(bytes) => bytes.len() as u64,
        }
    }

    async fn read(&self, from: u64, to: u64) -> Result<Vec<u8>, JsValue> {
        match self {
            Source::Blob(blob) => {
                let slice = blob.slice_with_f64_and_f64(from as f64, to as f64)?;
                let buffer = JsFuture::from(slice.array_buffer()).await?;
                Ok(js_sys::Uint8Array::new(&buffer).to_vec())
            }
            Source::Bytes(bytes) => Ok(bytes
                .get(from as usize..to as usize)
                .unwrap_or_default()
                .to_vec()),
        }
    }
}

/// A file encrypted into the copies, not yet given to a transfer.
pub(super) struct Encrypted {
    pub(crate) copy: String,
    pub(crate) key: FileKey,
    pub(crate) nonce: FileNonce,
    pub(crate) len: u64,
    pub(crate) digests: Vec<ChunkDigest>,
}

/// Why a file could not be encrypted into the copies.
pub(super) enum EncryptError {
    /// Larger than a description can carry.
    TooLarge,
    /// It could not be read whole (it changed or went away meanwhile).
    Unreadable,
    /// The browser's storage refused it (full, say).
    Storage(JsValue),
}

/// Encrypts what `source` holds under a fresh key into a new copy, a block
/// at a time. The copy counts as being encrypted (a refresh leaves it be)
/// until [`forget_encrypting`], once it is listed.
pub(super) async fn encrypt(
    shared: &Rc<RefCell<Shared>>,
    copies: &FileCopies,
    source: Source<'_>,
) -> Result<Encrypted, EncryptError> {
    let len = source.len();
    let chunks = encrypted_len(len)
        .map(|encrypted| plan_chunks(encrypted).len())
        .map_err(|_| EncryptError::TooLarge)?;
    if chunks > MAX_DESCRIBED_CHUNKS {
        return Err(EncryptError::TooLarge);
    }
    let mut key = Zeroizing::new([0u8; 32]);
    BrowserRng.fill_bytes(key.as_mut());
    let mut nonce = [0u8; sotto_files::FILE_NONCE_LEN];
    BrowserRng.fill_bytes(&mut nonce);
    let key = FileKey::from_bytes(*key);
    let nonce = FileNonce::from_bytes(nonce);
    let copy = FileCopies::new_copy();
    shared.borrow_mut().files.encrypting.push(copy.clone());
    let result = encrypt_into(copies, &copy, &key, &nonce, &source, len).await;
    if result.is_err() {
        forget_encrypting(shared, &copy);
    }
    match result {
        Ok(digests) => Ok(Encrypted {
            copy,
            key,
            nonce,
            len,
            digests,
        }),
        Err(error) => {
            let _ = copies.remove_copy(&copy).await;
            Err(error)
        }
    }
}

pub(super) async fn encrypt_into(
    copies: &FileCopies,
    copy: &str,
    key: &FileKey,
    nonce: &FileNonce,
    source: &Source<'_>,
    len: u64,
) -> Result<Vec<ChunkDigest>, EncryptError> {
    let mut encryptor = FileEncryptor::new(key, nonce, len).map_err(|_| EncryptError::TooLarge)?;
    let mut digests = Vec::with_capacity(encryptor.chunk_sizes().len());
    let mut at = 0u64;
    loop {
        while let Some(chunk) = encryptor.poll_chunk() {
            digests.push(ChunkDigest::of(&chunk));
            copies
                .put_chunk(copy, digests.len() - 1, &chunk)
                .await
                .map_err(EncryptError::Storage)?;
        }
        if at >= len {
            break;
        }
        let to = (at + BLOCK as u64).min(len);
        let block = source
            .read(at, to)
            .await
            .map_err(|_| EncryptError::Unreadable)?;
        if block.len() as u64 != to - at {
            return Err(EncryptError::Unreadable);
        }
        encryptor
            .push(&block)
            .map_err(|_| EncryptError::Unreadable)?;
        at = to;
        if at >= len {
            encryptor.finish().map_err(|_| EncryptError::Unreadable)?;
        }
    }
    if len == 0 {
        encryptor.finish().map_err(|_| EncryptError::Unreadable)?;
        while let Some(chunk) = encryptor.poll_chunk() {
            digests.push(ChunkDigest::of(&chunk));
            copies
                .put_chunk(copy, digests.len() - 1, &chunk)
                .await
                .map_err(EncryptError::Storage)?;
        }
    }
    Ok(digests)
}

/// Decrypts `copy` (a file of `size` bytes in `chunks` chunks), every
/// segment checked, handing the plaintext to `sink` as it opens.
/// `Unexpected` when it does not decrypt whole, `Local` when a chunk cannot
/// be read.
pub(super) async fn decrypt_copy<F, Fut>(
    copies: &FileCopies,
    copy: &str,
    key: &FileKey,
    nonce: &FileNonce,
    size: u64,
    chunks: usize,
    sink: &mut F,
) -> Result<(), Fault>
where
    F: FnMut(Vec<u8>) -> Fut,
    Fut: Future<Output = Result<(), Fault>>,
{
    let mut decryptor = FileDecryptor::new(key, nonce, size).map_err(|_| Fault::Unexpected)?;
    for index in 0..chunks {
        let bytes = copies
            .chunk(copy, index)
            .await
            .map_err(|_| Fault::Local)?
            .ok_or(Fault::Local)?;
        let plain = decryptor.push(&bytes).map_err(|_| Fault::Unexpected)?;
        if !plain.is_empty() {
            sink(plain).await?;
        }
    }
    decryptor.finish().map_err(|_| Fault::Unexpected)
}
