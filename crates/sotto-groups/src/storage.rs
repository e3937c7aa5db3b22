//! OpenMLS's storage for one group: a map from `label || JSON key` to JSON values.
//!
//! OpenMLS's own in-memory storage unwraps what it reads, so a damaged pickle would
//! panic there; this one returns an error for any value that does not decode, and the
//! group fails to load or to process instead.

use std::sync::RwLock;

use openmls_traits::storage::{CURRENT_VERSION, StorageProvider, traits};
use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroize;

use crate::provider::StorageMap;

/// Why the storage failed (never shown with any stored value).
#[derive(Debug, thiserror::Error)]
pub(crate) enum StorageError {
    /// A stored value did not decode as the type OpenMLS asked for.
    #[error("a stored value does not decode")]
    Corrupt,
    /// A value could not be encoded.
    #[error("a value could not be encoded")]
    Encoding,
    /// The lock was poisoned by a panic elsewhere.
    #[error("storage lock poisoned")]
    Poisoned,
}

/// Labels: the first bytes of every storage key.
mod label {
    pub(super) const JOIN_CONFIG: &[u8] = b"join_config";
    pub(super) const OWN_LEAF_NODES: &[u8] = b"own_leaf_nodes";
    pub(super) const PROPOSAL_REFS: &[u8] = b"proposal_refs";
    pub(super) const PROPOSAL: &[u8] = b"proposal";
    pub(super) const TREE: &[u8] = b"tree";
    pub(super) const INTERIM_TRANSCRIPT_HASH: &[u8] = b"interim_transcript_hash";
    pub(super) const CONTEXT: &[u8] = b"context";
    pub(super) const CONFIRMATION_TAG: &[u8] = b"confirmation_tag";
    pub(super) const GROUP_STATE: &[u8] = b"group_state";
    pub(super) const MESSAGE_SECRETS: &[u8] = b"message_secrets";
    pub(super) const RESUMPTION_PSK_STORE: &[u8] = b"resumption_psk_store";
    pub(super) const OWN_LEAF_INDEX: &[u8] = b"own_leaf_index";
    pub(super) const EPOCH_SECRETS: &[u8] = b"epoch_secrets";
    pub(super) const SIGNATURE_KEY_PAIR: &[u8] = b"signature_key_pair";
    pub(super) const ENCRYPTION_KEY_PAIR: &[u8] = b"encryption_key_pair";
    pub(super) const EPOCH_KEY_PAIRS: &[u8] = b"epoch_key_pairs";
    pub(super) const KEY_PACKAGE: &[u8] = b"key_package";
    pub(super) const PSK: &[u8] = b"psk";
}

/// The stored values of one group.
#[derive(Default)]
pub(crate) struct GroupStorage {
    values: RwLock<StorageMap>,
}

impl GroupStorage {
    pub(crate) fn new(values: StorageMap) -> Self {
        Self {
            values: RwLock::new(values),
        }
    }

    /// Runs `f` over the stored values.
    pub(crate) fn with_values<T>(&self, f: impl FnOnce(&StorageMap) -> T) -> Result<T, StorageError> {
        let values = self.values.read().map_err(|_| StorageError::Poisoned)?;
        Ok(f(&values))
    }

    fn key(label: &[u8], key: &impl Serialize) -> Result<Vec<u8>, StorageError> {
        let mut full = label.to_vec();
        full.push(b':');
        serde_json::to_writer(&mut full, key).map_err(|_| StorageError::Encoding)?;
        Ok(full)
    }

    fn put(&self, label: &[u8], key: &impl Serialize, value: &impl Serialize) -> Result<(), StorageError> {
        let key = Self::key(label, key)?;
        let value = serde_json::to_vec(value).map_err(|_| StorageError::Encoding)?;
        let mut values = self.values.write().map_err(|_| StorageError::Poisoned)?;
        if let Some(mut old) = values.insert(key, value) {
            old.zeroize();
        }
        Ok(())
    }

    fn get<V: DeserializeOwned>(&self, label: &[u8], key: &impl Serialize) -> Result<Option<V>, StorageError> {
        let key = Self::key(label, key)?;
        let values = self.values.read().map_err(|_| StorageError::Poisoned)?;
        values
            .get(&key)
            .map(|value| serde_json::from_slice(value).map_err(|_| StorageError::Corrupt))
            .transpose()
    }

    fn delete(&self, label: &[u8], key: &impl Serialize) -> Result<(), StorageError> {
        let key = Self::key(label, key)?;
        let mut values = self.values.write().map_err(|_| StorageError::Poisoned)?;
        if let Some(mut old) = values.remove(&key) {
            old.zeroize();
        }
        Ok(())
    }

    /// A list value: each item stored as its own JSON encoding.
    fn items(&self, label: &[u8], key: &impl Serialize) -> Result<Vec<Vec<u8>>, StorageError> {
        Ok(self.get(label, key)?.unwrap_or_default())
    }

    fn list<V: DeserializeOwned>(&self, label: &[u8], key: &impl Serialize) -> Result<Vec<V>, StorageError> {
        self.items(label, key)?
            .iter()
            .map(|item| serde_json::from_slice(item).map_err(|_| StorageError::Corrupt))
            .collect()
    }

    fn push(&self, label: &[u8], key: &impl Serialize, item: &impl Serialize) -> Result<(), StorageError> {
        let mut items = self.items(label, key)?;
        items.push(serde_json::to_vec(item).map_err(|_| StorageError::Encoding)?);
        self.put(label, key, &items)
    }

    fn remove_item(&self, label: &[u8], key: &impl Serialize, item: &impl Serialize) -> Result<(), StorageError> {
        let item = serde_json::to_vec(item).map_err(|_| StorageError::Encoding)?;
        let mut items = self.items(label, key)?;
        items.retain(|stored| *stored != item);
        self.put(label, key, &items)
    }
}

/// Writer, reader and deleter of one value stored under the group id.
macro_rules! group_value {
    ($write:ident, $read:ident, $delete:ident, $trait:ident, $label:expr) => {
        fn $write<GroupId: traits::GroupId<CURRENT_VERSION>, V: traits::$trait<CURRENT_VERSION>>(
            &self,
            group_id: &GroupId,
            value: &V,
        ) -> Result<(), Self::Error> {
            self.put($label, group_id, value)
        }

        fn $read<GroupId: traits::GroupId<CURRENT_VERSION>, V: traits::$trait<CURRENT_VERSION>>(
            &self,
            group_id: &GroupId,
        ) -> Result<Option<V>, Self::Error> {
            self.get($label, group_id)
        }

        fn $delete<GroupId: traits::GroupId<CURRENT_VERSION>>(
            &self,
            group_id: &GroupId,
        ) -> Result<(), Self::Error> {
            self.delete($label, group_id)
        }
    };
}

impl StorageProvider<CURRENT_VERSION> for GroupStorage {
    type Error = StorageError;

    group_value!(write_mls_join_config, mls_group_join_config, delete_group_config, MlsGroupJoinConfig, label::JOIN_CONFIG);
    group_value!(write_tree, tree, delete_tree, TreeSync, label::TREE);
    group_value!(write_interim_transcript_hash, interim_transcript_hash, delete_interim_transcript_hash, InterimTranscriptHash, label::INTERIM_TRANSCRIPT_HASH);
    group_value!(write_context, group_context, delete_context, GroupContext, label::CONTEXT);
    group_value!(write_confirmation_tag, confirmation_tag, delete_confirmation_tag, ConfirmationTag, label::CONFIRMATION_TAG);
    group_value!(write_message_secrets, message_secrets, delete_message_secrets, MessageSecrets, label::MESSAGE_SECRETS);
    group_value!(write_resumption_psk_store, resumption_psk_store, delete_all_resumption_psk_secrets, ResumptionPskStore, label::RESUMPTION_PSK_STORE);
    group_value!(write_own_leaf_index, own_leaf_index, delete_own_leaf_index, LeafNodeIndex, label::OWN_LEAF_INDEX);
    group_value!(write_group_epoch_secrets, group_epoch_secrets, delete_group_epoch_secrets, GroupEpochSecrets, label::EPOCH_SECRETS);

    // The group state's type parameters come in the other order.
    fn write_group_state<
        GroupState: traits::GroupState<CURRENT_VERSION>,
        GroupId: traits::GroupId<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        group_state: &GroupState,
    ) -> Result<(), Self::Error> {
        self.put(label::GROUP_STATE, group_id, group_state)
    }

    fn group_state<
        GroupState: traits::GroupState<CURRENT_VERSION>,
        GroupId: traits::GroupId<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
    ) -> Result<Option<GroupState>, Self::Error> {
        self.get(label::GROUP_STATE, group_id)
    }

    fn delete_group_state<GroupId: traits::GroupId<CURRENT_VERSION>>(
        &self,
        group_id: &GroupId,
    ) -> Result<(), Self::Error> {
        self.delete(label::GROUP_STATE, group_id)
    }

    fn append_own_leaf_node<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        LeafNode: traits::LeafNode<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        leaf_node: &LeafNode,
    ) -> Result<(), Self::Error> {
        self.push(label::OWN_LEAF_NODES, group_id, leaf_node)
    }

    fn own_leaf_nodes<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        LeafNode: traits::LeafNode<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
    ) -> Result<Vec<LeafNode>, Self::Error> {
        self.list(label::OWN_LEAF_NODES, group_id)
    }

    fn delete_own_leaf_nodes<GroupId: traits::GroupId<CURRENT_VERSION>>(
        &self,
        group_id: &GroupId,
    ) -> Result<(), Self::Error> {
        self.delete(label::OWN_LEAF_NODES, group_id)
    }

    fn queue_proposal<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        ProposalRef: traits::ProposalRef<CURRENT_VERSION>,
        QueuedProposal: traits::QueuedProposal<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        proposal_ref: &ProposalRef,
        proposal: &QueuedProposal,
    ) -> Result<(), Self::Error> {
        self.put(label::PROPOSAL, &(group_id, proposal_ref), proposal)?;
        self.push(label::PROPOSAL_REFS, group_id, proposal_ref)
    }

    fn queued_proposal_refs<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        ProposalRef: traits::ProposalRef<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
    ) -> Result<Vec<ProposalRef>, Self::Error> {
        self.list(label::PROPOSAL_REFS, group_id)
    }

    fn queued_proposals<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        ProposalRef: traits::ProposalRef<CURRENT_VERSION>,
        QueuedProposal: traits::QueuedProposal<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
    ) -> Result<Vec<(ProposalRef, QueuedProposal)>, Self::Error> {
        let refs: Vec<ProposalRef> = self.list(label::PROPOSAL_REFS, group_id)?;
        refs.into_iter()
            .map(|proposal_ref| {
                let proposal = self
                    .get(label::PROPOSAL, &(group_id, &proposal_ref))?
                    .ok_or(StorageError::Corrupt)?;
                Ok((proposal_ref, proposal))
            })
            .collect()
    }

    fn remove_proposal<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        ProposalRef: traits::ProposalRef<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        proposal_ref: &ProposalRef,
    ) -> Result<(), Self::Error> {
        self.remove_item(label::PROPOSAL_REFS, group_id, proposal_ref)?;
        self.delete(label::PROPOSAL, &(group_id, proposal_ref))
    }

    fn clear_proposal_queue<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        ProposalRef: traits::ProposalRef<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
    ) -> Result<(), Self::Error> {
        let refs: Vec<ProposalRef> = self.list(label::PROPOSAL_REFS, group_id)?;
        for proposal_ref in refs {
            self.delete(label::PROPOSAL, &(group_id, &proposal_ref))?;
        }
        self.delete(label::PROPOSAL_REFS, group_id)
    }

    fn write_signature_key_pair<
        SignaturePublicKey: traits::SignaturePublicKey<CURRENT_VERSION>,
        SignatureKeyPair: traits::SignatureKeyPair<CURRENT_VERSION>,
    >(
        &self,
        public_key: &SignaturePublicKey,
        signature_key_pair: &SignatureKeyPair,
    ) -> Result<(), Self::Error> {
        self.put(label::SIGNATURE_KEY_PAIR, public_key, signature_key_pair)
    }

    fn signature_key_pair<
        SignaturePublicKey: traits::SignaturePublicKey<CURRENT_VERSION>,
        SignatureKeyPair: traits::SignatureKeyPair<CURRENT_VERSION>,
    >(
        &self,
        public_key: &SignaturePublicKey,
    ) -> Result<Option<SignatureKeyPair>, Self::Error> {
        self.get(label::SIGNATURE_KEY_PAIR, public_key)
    }

    fn delete_signature_key_pair<SignaturePublicKey: traits::SignaturePublicKey<CURRENT_VERSION>>(
        &self,
        public_key: &SignaturePublicKey,
    ) -> Result<(), Self::Error> {
        self.delete(label::SIGNATURE_KEY_PAIR, public_key)
    }

    fn write_encryption_key_pair<
        EncryptionKey: traits::EncryptionKey<CURRENT_VERSION>,
        HpkeKeyPair: traits::HpkeKeyPair<CURRENT_VERSION>,
    >(
        &self,
        public_key: &EncryptionKey,
        key_pair: &HpkeKeyPair,
    ) -> Result<(), Self::Error> {
        self.put(label::ENCRYPTION_KEY_PAIR, public_key, key_pair)
    }

    fn encryption_key_pair<
        HpkeKeyPair: traits::HpkeKeyPair<CURRENT_VERSION>,
        EncryptionKey: traits::EncryptionKey<CURRENT_VERSION>,
    >(
        &self,
        public_key: &EncryptionKey,
    ) -> Result<Option<HpkeKeyPair>, Self::Error> {
        self.get(label::ENCRYPTION_KEY_PAIR, public_key)
    }

    fn delete_encryption_key_pair<EncryptionKey: traits::EncryptionKey<CURRENT_VERSION>>(
        &self,
        public_key: &EncryptionKey,
    ) -> Result<(), Self::Error> {
        self.delete(label::ENCRYPTION_KEY_PAIR, public_key)
    }

    fn write_encryption_epoch_key_pairs<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        EpochKey: traits::EpochKey<CURRENT_VERSION>,
        HpkeKeyPair: traits::HpkeKeyPair<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        epoch: &EpochKey,
        leaf_index: u32,
        key_pairs: &[HpkeKeyPair],
    ) -> Result<(), Self::Error> {
        self.put(label::EPOCH_KEY_PAIRS, &(group_id, epoch, leaf_index), &key_pairs)
    }

    fn encryption_epoch_key_pairs<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        EpochKey: traits::EpochKey<CURRENT_VERSION>,
        HpkeKeyPair: traits::HpkeKeyPair<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        epoch: &EpochKey,
        leaf_index: u32,
    ) -> Result<Vec<HpkeKeyPair>, Self::Error> {
        Ok(self
            .get(label::EPOCH_KEY_PAIRS, &(group_id, epoch, leaf_index))?
            .unwrap_or_default())
    }

    fn delete_encryption_epoch_key_pairs<
        GroupId: traits::GroupId<CURRENT_VERSION>,
        EpochKey: traits::EpochKey<CURRENT_VERSION>,
    >(
        &self,
        group_id: &GroupId,
        epoch: &EpochKey,
        leaf_index: u32,
    ) -> Result<(), Self::Error> {
        self.delete(label::EPOCH_KEY_PAIRS, &(group_id, epoch, leaf_index))
    }

    fn write_key_package<
        HashReference: traits::HashReference<CURRENT_VERSION>,
        KeyPackage: traits::KeyPackage<CURRENT_VERSION>,
    >(
        &self,
        hash_ref: &HashReference,
        key_package: &KeyPackage,
    ) -> Result<(), Self::Error> {
        self.put(label::KEY_PACKAGE, hash_ref, key_package)
    }

    fn key_package<
        KeyPackageRef: traits::HashReference<CURRENT_VERSION>,
        KeyPackage: traits::KeyPackage<CURRENT_VERSION>,
    >(
        &self,
        hash_ref: &KeyPackageRef,
    ) -> Result<Option<KeyPackage>, Self::Error> {
        self.get(label::KEY_PACKAGE, hash_ref)
    }

    fn delete_key_package<KeyPackageRef: traits::HashReference<CURRENT_VERSION>>(
        &self,
        hash_ref: &KeyPackageRef,
    ) -> Result<(), Self::Error> {
        self.delete(label::KEY_PACKAGE, hash_ref)
    }

    fn write_psk<PskId: traits::PskId<CURRENT_VERSION>, PskBundle: traits::PskBundle<CURRENT_VERSION>>(
        &self,
        psk_id: &PskId,
        psk: &PskBundle,
    ) -> Result<(), Self::Error> {
        self.put(label::PSK, psk_id, psk)
    }

    fn psk<PskBundle: traits::PskBundle<CURRENT_VERSION>, PskId: traits::PskId<CURRENT_VERSION>>(
        &self,
        psk_id: &PskId,
    ) -> Result<Option<PskBundle>, Self::Error> {
        self.get(label::PSK, psk_id)
    }

    fn delete_psk<PskKey: traits::PskId<CURRENT_VERSION>>(
        &self,
        psk_id: &PskKey,
    ) -> Result<(), Self::Error> {
        self.delete(label::PSK, psk_id)
    }
}

impl Drop for GroupStorage {
    /// The stored values hold epoch secrets and private keys: wipe them.
    fn drop(&mut self) {
        if let Ok(values) = self.values.get_mut() {
            for value in values.values_mut() {
                value.zeroize();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_value_is_an_error() {
        let storage = GroupStorage::default();
        storage.put(label::TREE, &1u8, &vec![1u8, 2, 3]).unwrap();
        assert_eq!(storage.get::<Vec<u8>>(label::TREE, &1u8).unwrap(), Some(vec![1, 2, 3]));
        let key = GroupStorage::key(label::TREE, &1u8).unwrap();
        storage.values.write().unwrap().insert(key, b"[1, 2".to_vec());
        assert!(matches!(storage.get::<Vec<u8>>(label::TREE, &1u8), Err(StorageError::Corrupt)));
    }

    #[test]
    fn lists_append_and_remove() {
        let storage = GroupStorage::default();
        storage.push(label::PROPOSAL_REFS, &0u8, &"a").unwrap();
        storage.push(label::PROPOSAL_REFS, &0u8, &"b").unwrap();
        storage.remove_item(label::PROPOSAL_REFS, &0u8, &"a").unwrap();
        assert_eq!(storage.list::<String>(label::PROPOSAL_REFS, &0u8).unwrap(), ["b"]);
    }
}
