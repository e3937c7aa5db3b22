//! The OpenMLS provider of one group (or of one pending join): libcrux cryptography and
//! randomness, and an in-memory storage that a pickle serializes.
//!
//! Each group has its own provider, so a group's pickle holds that group's state and
//! nothing of any other group.

use std::collections::HashMap;

use openmls_libcrux_crypto::CryptoProvider;
use openmls_traits::OpenMlsProvider;
use openmls_traits::random::OpenMlsRand;

use crate::Error;
use crate::storage::GroupStorage;

/// OpenMLS's storage as a map of keys to values, both opaque bytes.
pub(crate) type StorageMap = HashMap<Vec<u8>, Vec<u8>>;

/// Cryptography, randomness and storage for one group.
pub(crate) struct GroupProvider {
    crypto: CryptoProvider,
    storage: GroupStorage,
}

impl GroupProvider {
    /// A provider with empty storage; its random generator is seeded by the platform.
    pub(crate) fn new() -> Result<Self, Error> {
        Self::with_storage(StorageMap::new())
    }

    /// A provider over restored storage.
    pub(crate) fn with_storage(values: StorageMap) -> Result<Self, Error> {
        let crypto = CryptoProvider::new().map_err(|_| Error::Local("random generator"))?;
        Ok(Self {
            crypto,
            storage: GroupStorage::new(values),
        })
    }

    /// `N` random bytes from the provider's generator.
    pub(crate) fn random<const N: usize>(&self) -> Result<[u8; N], Error> {
        self.crypto
            .random_array()
            .map_err(|_| Error::Local("randomness"))
    }

    /// Runs `f` over the stored values (for pickles).
    pub(crate) fn with_values<T>(&self, f: impl FnOnce(&StorageMap) -> T) -> Result<T, Error> {
        self.storage
            .with_values(f)
            .map_err(|_| Error::Local("storage lock"))
    }

    /// Runs `f` over the stored values and the keys changed since the last call.
    pub(crate) fn take_changes<T>(
        &self,
        f: impl FnOnce(&StorageMap, std::collections::BTreeSet<Vec<u8>>) -> T,
    ) -> Result<T, Error> {
        self.storage
            .take_changes(f)
            .map_err(|_| Error::Local("storage lock"))
    }
}

impl OpenMlsProvider for GroupProvider {
    type CryptoProvider = CryptoProvider;
    type RandProvider = CryptoProvider;
    type StorageProvider = GroupStorage;

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
