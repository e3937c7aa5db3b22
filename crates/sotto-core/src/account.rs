//! The profile's own record: identity key, storage key for session pickles,
//! the user's profile, settings and the id counter.
//!
//! ```text
//! table "account", key "account":
//! version (1) = 0x01 || identity secret (32) || pickle key (32) || profile
//! || read_receipts u8 || typing_indicators u8 || next_id u64
//! ```
//!
//! Session pickles are sealed with the pickle key although the store is itself
//! encrypted: the crypto crate's API wants a key, and a leaked session record
//! alone then reveals nothing.

use sotto_crypto::{IdentityKeyPair, PickleKey};
use zeroize::Zeroizing;

use crate::codec::{Reader, Writer, corrupt};
use crate::profile::Profile;
use crate::store::Table;
use crate::{CoreError, Store, WriteBatch};

pub(crate) const ACCOUNT: Table = Table::new("account");
const ACCOUNT_KEY: &[u8] = b"account";
const VERSION: u8 = 1;

/// The user's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Send read receipts (chats may override). On by default.
    pub read_receipts: bool,
    /// Send typing indicators. Off by default.
    pub typing_indicators: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            read_receipts: true,
            typing_indicators: false,
        }
    }
}

pub(crate) struct Account {
    pub(crate) identity: IdentityKeyPair,
    pub(crate) pickle_key: PickleKey,
    pickle_key_bytes: Zeroizing<[u8; 32]>,
    pub(crate) profile: Profile,
    pub(crate) settings: Settings,
    pub(crate) next_id: u64,
}

impl Account {
    pub(crate) fn new(identity: [u8; 32], pickle_key: [u8; 32], profile: Profile) -> Account {
        Account {
            identity: IdentityKeyPair::from_secret_bytes(&identity),
            pickle_key: PickleKey::from_bytes(&pickle_key),
            pickle_key_bytes: Zeroizing::new(pickle_key),
            profile,
            settings: Settings::default(),
            next_id: 1,
        }
    }

    pub(crate) fn load(store: &impl Store) -> Result<Option<Account>, CoreError> {
        let Some(bytes) = store.get(ACCOUNT, ACCOUNT_KEY)? else {
            return Ok(None);
        };
        Account::decode(&bytes)
            .map(Some)
            .map_err(corrupt("account"))
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Account, CoreError> {
        let mut r = Reader::new(bytes, "account");
        if r.u8()? != VERSION {
            return Err(CoreError::Malformed("account"));
        }
        let identity = Zeroizing::new(r.array::<32>()?);
        let pickle_key = Zeroizing::new(r.array::<32>()?);
        let profile = Profile::decode(&mut r)?;
        let settings = Settings {
            read_receipts: r.bool()?,
            typing_indicators: r.bool()?,
        };
        let next_id = r.u64()?;
        r.finish()?;
        let mut account = Account::new(*identity, *pickle_key, profile);
        account.settings = settings;
        account.next_id = next_id;
        Ok(account)
    }

    pub(crate) fn put(&self, batch: &mut WriteBatch) {
        let mut w = Writer::new();
        w.u8(VERSION)
            .array(self.identity.to_secret_bytes().as_ref())
            .array(self.pickle_key_bytes.as_ref());
        self.profile.encode(&mut w);
        w.bool(self.settings.read_receipts)
            .bool(self.settings.typing_indicators)
            .u64(self.next_id);
        batch.put(
            ACCOUNT,
            ACCOUNT_KEY.to_vec(),
            Zeroizing::new(w.finish()).to_vec(),
        );
    }

    /// A fresh local id; the caller writes the account in the same batch.
    pub(crate) fn allocate_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryStore;

    #[test]
    fn round_trip_through_a_store() {
        let mut store = MemoryStore::new();
        assert!(Account::load(&store).unwrap().is_none());
        let mut account = Account::new([1; 32], [2; 32], Profile::new("A", None).unwrap());
        account.settings.typing_indicators = true;
        assert_eq!(account.allocate_id(), 1);
        let mut batch = WriteBatch::new();
        account.put(&mut batch);
        store.apply(batch).unwrap();
        let loaded = Account::load(&store).unwrap().unwrap();
        assert_eq!(loaded.next_id, 2);
        assert_eq!(loaded.settings, account.settings);
        assert_eq!(loaded.identity.public_key(), account.identity.public_key());
    }
}
