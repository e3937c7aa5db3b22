//! The OpenMLS provider of one group (or of one pending join): libcrux cryptography and
//! randomness, and an in-memory storage that a pickle serializes.
//!
//! Each group has its own provider, so a group's pickle holds that group's state and
//! nothing of any other group.

use std::collections::HashMap;

use openmls_libcrux_crypto::CryptoProvider;
use openmls_memory_storage::MemoryStorage;
use openmls_traits::OpenMlsProvider;
use openmls_traits::random::OpenMlsRand;
use zeroize::Zeroize;

use crate::Error;

/// OpenMLS's storage as a map of keys to values, both opaque bytes.
pub(crate) type StorageMap = HashMap<Vec<u8>, Vec<u8>>;

/// Cryptography, randomness and storage for one group.
pub(crate) struct GroupProvider {
    crypto: CryptoProvider,
    storage: MemoryStorage,
}

impl GroupProvider {
    /// A provider with empty storage; its random generator is seeded by the platform.
    pub(crate) fn new() -> Result<Self, Error> {
        Self::with_storage(StorageMap::new())
    }

    /// A provider over restored storage.
    pub(crate) fn with_storage(values: StorageMap) -> Result<Self, Error> {
        let crypto = CryptoProvider::new().map_err(|_| Error::Local("random generator"))?;
        let storage = MemoryStorage::default();
        *storage
            .values
            .write()
            .map_err(|_| Error::Local("storage lock"))? = values;
        Ok(Self { crypto, storage })
    }

    /// `N` random bytes from the provider's generator.
    pub(crate) fn random<const N: usize>(&self) -> Result<[u8; N], Error> {
        self.crypto
            .random_array()
            .map_err(|_| Error::Local("randomness"))
    }

    /// Runs `f` over the stored values (for pickles).
    pub(crate) fn with_values<T>(&self, f: impl FnOnce(&StorageMap) -> T) -> Result<T, Error> {
        let values = self
            .storage
            .values
            .read()
            .map_err(|_| Error::Local("storage lock"))?;
        Ok(f(&values))
    }
}

impl OpenMlsProvider for GroupProvider {
    type CryptoProvider = CryptoProvider;
    type RandProvider = CryptoProvider;
    type StorageProvider = MemoryStorage;

    fn storage(&self) -> &Self::StorageProvider {
        &self.storage
    }

    fn crypto(&self) -> &Self::CryptoProvider {
        &self.crypto
    }

    fn rand(&self) -> &Self::RandProvider {
        &self.crypto
    }
}

impl Drop for GroupProvider {
    /// The stored values hold epoch secrets and private keys: wipe them when the group
    /// is dropped. (Values OpenMLS overwrote earlier were freed by the memory storage
    /// without wiping; that is outside our reach.)
    fn drop(&mut self) {
        if let Ok(values) = self.storage.values.get_mut() {
            for value in values.values_mut() {
                value.zeroize();
            }
        }
    }
}
