//! OpenMLS's storage for one group: a map from `label || ":" || JSON key` to CBOR values.
//!
//! OpenMLS's own in-memory storage unwraps what it reads, so a damaged pickle would
//! panic there; this one returns an error for any value that does not decode, and the
//! group fails to load or to process instead.
//!
//! The storage also notes which keys were written or deleted since the caller last took
//! the changes, so that the caller stores only those (an application message changes a
//! few small values, never the ratchet tree).

use std::collections::BTreeSet;
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

/// The stored values of one group and the keys changed since the changes were last
/// taken.
#[derive(Default)]
pub(crate) struct GroupStorage {
    values: RwLock<Values>,
}

#[derive(Default)]
struct Values {
    map: StorageMap,
    changed: BTreeSet<Vec<u8>>,
}

impl GroupStorage {
    /// Storage over restored values, none of them changed.
    pub(crate) fn new(values: StorageMap) -> Self {
        Self {
            values: RwLock::new(Values {
                map: values,
                changed: BTreeSet::new(),
            }),
        }
    }

    /// Runs `f` over the stored values.
    pub(crate) fn with_values<T>(
        &self,
        f: impl FnOnce(&StorageMap) -> T,
    ) -> Result<T, StorageError> {
        let values = self.values.read().map_err(|_| StorageError::Poisoned)?;
        Ok(f(&values.map))
    }

    /// Runs `f` over the stored values and the keys changed since the last call, which
    /// it takes: the next call sees only later changes.
    pub(crate) fn take_changes<T>(
        &self,
        f: impl FnOnce(&StorageMap, BTreeSet<Vec<u8>>) -> T,
    ) -> Result<T, StorageError> {
        let mut values = self.values.write().map_err(|_| StorageError::Poisoned)?;
        let changed = std::mem::take(&mut values.changed);
        Ok(f(&values.map, changed))
    }

    fn key(label: &[u8], key: &impl Serialize) -> Result<Vec<u8>, StorageError> {
        let mut full = label.to_vec();
        full.push(b':');
        serde_json::to_writer(&mut full, key).map_err(|_| StorageError::Encoding)?;
        Ok(full)
    }

    fn put(
        &self,
        label: &[u8],
        key: &impl Serialize,
        value: &impl Serialize,
    ) -> Result<(), StorageError> {
        let key = Self::key(label, key)?;
        let value = encode(value)?;
        let mut values = self.values.write().map_err(|_| StorageError::Poisoned)?;
        values.changed.insert(key.clone());
        if let Some(mut old) = values.map.insert(key, value) {
            old.zeroize();
        }
        Ok(())
    }

    fn get<V: DeserializeOwned>(
        &self,
        label: &[u8],
        key: &impl Serialize,
    ) -> Result<Option<V>, StorageError> {
        let key = Self::key(label, key)?;
        let values = self.values.read().map_err(|_| StorageError::Poisoned)?;
        values.map.get(&key).map(|value| decode(value)).transpose()
    }

    fn delete(&self, label: &[u8], key: &impl Serialize) -> Result<(), StorageError> {
        let key = Self::key(label, key)?;
        let mut values = self.values.write().map_err(|_| StorageError::Poisoned)?;
        if let Some(mut old) = values.map.remove(&key) {
            old.zeroize();
            values.changed.insert(key);
        }
        Ok(())
    }

    /// A list value: each item stored as its own CBOR encoding.
    fn items(&self, label: &[u8], key: &impl Serialize) -> Result<Vec<Vec<u8>>, StorageError> {
        Ok(self.get(label, key)?.unwrap_or_default())
    }

    fn list<V: DeserializeOwned>(
        &self,
        label: &[u8],
        key: &impl Serialize,
    ) -> Result<Vec<V>, StorageError> {
        self.items(label, key)?
            .iter()
            .map(|item| decode(item))
            .collect()
    }

    fn push(
        &self,
        label: &[u8],
        key: &impl Serialize,
        item: &impl Serialize,
    ) -> Result<(), StorageError> {
        let mut items = self.items(label, key)?;
        items.push(encode(item)?);
        self.put(label, key, &items)
    }

    fn remove_item(
        &self,
        label: &[u8],
        key: &impl Serialize,
        item: &impl Serialize,
    ) -> Result<(), StorageError> {
        let item = encode(item)?;
        let mut items = self.items(label, key)?;
        items.retain(|stored| *stored != item);
        self.put(label, key, &items)
    }
}

/// A stored value: CBOR (RFC 8949), half the size of JSON for the byte strings OpenMLS
/// stores as sequences of numbers, and quicker to write.
fn encode(value: &impl Serialize) -> Result<Vec<u8>, StorageError> {
    let mut bytes = Vec::new();
    ciborium::into_writer(value, &mut bytes).map_err(|_| StorageError::Encoding)?;
    Ok(bytes)
}

fn decode<V: DeserializeOwned>(bytes: &[u8]) -> Result<V, StorageError> {
    ciborium::from_reader(bytes).map_err(|_| StorageError::Corrupt)
}

/// Writer, reader and deleter of one value stored under a key. The type parameters `K`
/// (the key) and `V` (the value) are listed in the order OpenMLS's trait declares them.
macro_rules! stored_value {
    (
        $write:ident<$w1:ident, $w2:ident>,
        $read:ident<$r1:ident, $r2:ident>,
        $delete:ident,
        K: $key:ident,
        V: $value:ident,
        $label:expr
    ) => {
        fn $write<$w1, $w2>(&self, key: &K, value: &V) -> Result<(), Self::Error>
        where
            K: traits::$key<CURRENT_VERSION>,
            V: traits::$value<CURRENT_VERSION>,
        {
            self.put($label, key, value)
        }

        fn $read<$r1, $r2>(&self, key: &K) -> Result<Option<V>, Self::Error>
        where
            K: traits::$key<CURRENT_VERSION>,
            V: traits::$value<CURRENT_VERSION>,
        {
            self.get($label, key)
        }

        fn $delete<K>(&self, key: &K) -> Result<(), Self::Error>
        where
            K: traits::$key<CURRENT_VERSION>,
        {
            self.delete($label, key)
        }
    };
}

impl StorageProvider<CURRENT_VERSION> for GroupStorage {
    type Error = StorageError;

    stored_value!(write_mls_join_config<K, V>, mls_group_join_config<K, V>, delete_group_config, K: GroupId, V: MlsGroupJoinConfig, label::JOIN_CONFIG);
    stored_value!(write_tree<K, V>, tree<K, V>, delete_tree, K: GroupId, V: TreeSync, label::TREE);
    stored_value!(write_interim_transcript_hash<K, V>, interim_transcript_hash<K, V>, delete_interim_transcript_hash, K: GroupId, V: InterimTranscriptHash, label::INTERIM_TRANSCRIPT_HASH);
    stored_value!(write_context<K, V>, group_context<K, V>, delete_context, K: GroupId, V: GroupContext, label::CONTEXT);
    stored_value!(write_confirmation_tag<K, V>, confirmation_tag<K, V>, delete_confirmation_tag, K: GroupId, V: ConfirmationTag, label::CONFIRMATION_TAG);
    stored_value!(write_group_state<V, K>, group_state<V, K>, delete_group_state, K: GroupId, V: GroupState, label::GROUP_STATE);
    stored_value!(write_message_secrets<K, V>, message_secrets<K, V>, delete_message_secrets, K: GroupId, V: MessageSecrets, label::MESSAGE_SECRETS);
    stored_value!(write_resumption_psk_store<K, V>, resumption_psk_store<K, V>, delete_all_resumption_psk_secrets, K: GroupId, V: ResumptionPskStore, label::RESUMPTION_PSK_STORE);
    stored_value!(write_own_leaf_index<K, V>, own_leaf_index<K, V>, delete_own_leaf_index, K: GroupId, V: LeafNodeIndex, label::OWN_LEAF_INDEX);
    stored_value!(write_group_epoch_secrets<K, V>, group_epoch_secrets<K, V>, delete_group_epoch_secrets, K: GroupId, V: GroupEpochSecrets, label::EPOCH_SECRETS);
    stored_value!(write_signature_key_pair<K, V>, signature_key_pair<K, V>, delete_signature_key_pair, K: SignaturePublicKey, V: SignatureKeyPair, label::SIGNATURE_KEY_PAIR);
    stored_value!(write_encryption_key_pair<K, V>, encryption_key_pair<V, K>, delete_encryption_key_pair, K: EncryptionKey, V: HpkeKeyPair, label::ENCRYPTION_KEY_PAIR);
    stored_value!(write_key_package<K, V>, key_package<K, V>, delete_key_package, K: HashReference, V: KeyPackage, label::KEY_PACKAGE);
    stored_value!(write_psk<K, V>, psk<V, K>, delete_psk, K: PskId, V: PskBundle, label::PSK);

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
        self.put(
            label::EPOCH_KEY_PAIRS,
            &(group_id, epoch, leaf_index),
            &key_pairs,
        )
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
}

impl Drop for GroupStorage {
    /// The stored values hold epoch secrets and private keys: wipe them.
    fn drop(&mut self) {
        if let Ok(values) = self.values.get_mut() {
            for value in values.map.values_mut() {
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
        assert_eq!(
            storage.get::<Vec<u8>>(label::TREE, &1u8).unwrap(),
            Some(vec![1, 2, 3])
        );
        let key = GroupStorage::key(label::TREE, &1u8).unwrap();
        storage
            .values
            .write()
            .unwrap()
            .map
            .insert(key, b"[1, 2".to_vec());
        assert!(matches!(
            storage.get::<Vec<u8>>(label::TREE, &1u8),
            Err(StorageError::Corrupt)
        ));
    }

    #[test]
    fn changes_are_the_keys_written_or_deleted_since_last_taken() {
        let storage = GroupStorage::new(StorageMap::from([(b"old".to_vec(), vec![1])]));
        let taken = || {
            storage
                .take_changes(|_, changed| changed.into_iter().collect::<Vec<_>>())
                .unwrap()
        };
        assert!(taken().is_empty());
        storage.put(label::TREE, &1u8, &7u8).unwrap();
        storage.put(label::CONTEXT, &1u8, &8u8).unwrap();
        storage.put(label::TREE, &1u8, &9u8).unwrap();
        let tree = GroupStorage::key(label::TREE, &1u8).unwrap();
        let context = GroupStorage::key(label::CONTEXT, &1u8).unwrap();
        assert_eq!(taken(), [context.clone(), tree.clone()]);
        assert!(taken().is_empty());
        // A deletion is a change; deleting what is not there is none.
        storage.delete(label::CONTEXT, &1u8).unwrap();
        storage.delete(label::PSK, &1u8).unwrap();
        assert_eq!(taken(), [context]);
        storage
            .with_values(|values| assert_eq!(values.len(), 2))
            .unwrap();
    }

    #[test]
    fn lists_append_and_remove() {
        let storage = GroupStorage::default();
        storage.push(label::PROPOSAL_REFS, &0u8, &"a").unwrap();
        storage.push(label::PROPOSAL_REFS, &0u8, &"b").unwrap();
        storage
            .remove_item(label::PROPOSAL_REFS, &0u8, &"a")
            .unwrap();
        assert_eq!(
            storage.list::<String>(label::PROPOSAL_REFS, &0u8).unwrap(),
            ["b"]
        );
    }
}
