//! The profile's own record: identity key, storage key for session pickles,
//! the user's profile, settings and the id counter.
//!
//! ```text
//! table "account", key "account":
//! version (3) = 0x03 || identity secret (32) || pickle key (32) || profile
//! || read_receipts u8 || typing_indicators u8 || next_id u64
//! || count u8 (..=8) || relay address × count       home relays, first = default
//! || group_adds u8: 0x00 my contacts, 0x01 nobody
//! ```
//!
//! Version 1 (release 0.1) ends after `next_id`: it has no home relays (each
//! front end kept its own). Version 2 ends after the home relays: its
//! `group_adds` is "my contacts".
//!
//! Session pickles are sealed with the pickle key although the store is itself
//! encrypted: the crypto crate's API wants a key, and a leaked session record
//! alone then reveals nothing.

use sotto_crypto::{IdentityKeyPair, PickleKey};
use zeroize::Zeroizing;

use sotto_wire::RelayAddress;

use crate::codec::{Reader, Writer, corrupt};
use crate::profile::Profile;
use crate::queue_address::{decode_relay, encode_relay};
use crate::store::Table;
use crate::{CoreError, Store, WriteBatch};

pub(crate) const ACCOUNT: Table = Table::new("account");
const ACCOUNT_KEY: &[u8] = b"account";
const VERSION: u8 = 3;
/// Most home relays a profile keeps.
pub const MAX_HOME_RELAYS: usize = 8;

/// The user's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Send read receipts (chats may override). On by default.
    pub read_receipts: bool,
    /// Send typing indicators. Off by default.
    pub typing_indicators: bool,
    /// Who can add this profile to groups.
    pub group_adds: GroupAdds,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            read_receipts: true,
            typing_indicators: false,
            group_adds: GroupAdds::Contacts,
        }
    }
}

/// "Who can add me to groups".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupAdds {
    /// A contact's invitation joins at once (the default); anyone else's
    /// waits as a request.
    #[default]
    Contacts,
    /// Every invitation waits as a request to accept or decline.
    Nobody,
}

impl GroupAdds {
    fn byte(self) -> u8 {
        match self {
            GroupAdds::Contacts => 0,
            GroupAdds::Nobody => 1,
        }
    }

    fn from_byte(byte: u8) -> Result<GroupAdds, CoreError> {
        match byte {
            0 => Ok(GroupAdds::Contacts),
            1 => Ok(GroupAdds::Nobody),
            _ => Err(CoreError::Malformed("account")),
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
    /// Where this profile makes its queues; the first is the default.
    pub(crate) home_relays: Vec<RelayAddress>,
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
            home_relays: Vec::new(),
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
        let version = r.u8()?;
        if !(1..=VERSION).contains(&version) {
            return Err(CoreError::Malformed("account"));
        }
        let identity = Zeroizing::new(r.array::<32>()?);
        let pickle_key = Zeroizing::new(r.array::<32>()?);
        let profile = Profile::decode(&mut r)?;
        let mut settings = Settings {
            read_receipts: r.bool()?,
            typing_indicators: r.bool()?,
            group_adds: GroupAdds::Contacts,
        };
        let next_id = r.u64()?;
        let mut home_relays = Vec::new();
        if version >= 2 {
            let count = usize::from(r.u8()?);
            if count > MAX_HOME_RELAYS {
                return Err(CoreError::Malformed("account"));
            }
            for _ in 0..count {
                home_relays.push(decode_relay(&mut r)?);
            }
        }
        if version >= 3 {
            settings.group_adds = GroupAdds::from_byte(r.u8()?)?;
        }
        r.finish()?;
        let mut account = Account::new(*identity, *pickle_key, profile);
        account.settings = settings;
        account.next_id = next_id;
        account.home_relays = home_relays;
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
        let count = self.home_relays.len().min(MAX_HOME_RELAYS);
        w.u8(u8::try_from(count).unwrap_or(0));
        for relay in self.home_relays.iter().take(count) {
            encode_relay(&mut w, relay);
        }
        w.u8(self.settings.group_adds.byte());
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
        account.settings.group_adds = GroupAdds::Nobody;
        account.home_relays = vec![
            "sotto://tgAwbPp2cj_ew5XlOps9n9t4seLXojwy_LzS3G0MQJI@relay.example"
                .parse()
                .unwrap(),
        ];
        assert_eq!(account.allocate_id(), 1);
        let mut batch = WriteBatch::new();
        account.put(&mut batch);
        store.apply(batch).unwrap();
        let loaded = Account::load(&store).unwrap().unwrap();
        assert_eq!(loaded.next_id, 2);
        assert_eq!(loaded.settings, account.settings);
        assert_eq!(loaded.identity.public_key(), account.identity.public_key());
        assert_eq!(loaded.home_relays, account.home_relays);
    }

    #[test]
    fn a_version_1_account_opens_without_home_relays() {
        let account = Account::new([1; 32], [2; 32], Profile::new("A", None).unwrap());
        let mut batch = WriteBatch::new();
        account.put(&mut batch);
        let mut store = MemoryStore::new();
        store.apply(batch).unwrap();
        let mut bytes = store.get(ACCOUNT, ACCOUNT_KEY).unwrap().unwrap();
        // Version 2 is version 3 without `group_adds`; version 1 is version
        // 2 without the relay count.
        assert_eq!(bytes.pop(), Some(0));
        bytes[0] = 2;
        let loaded = Account::decode(&bytes).unwrap();
        assert_eq!(loaded.settings.group_adds, GroupAdds::Contacts);
        bytes[0] = 1;
        assert_eq!(bytes.pop(), Some(0));
        let loaded = Account::decode(&bytes).unwrap();
        assert!(loaded.home_relays.is_empty());
        bytes[0] = 2;
        assert!(Account::decode(&bytes).is_err());
        bytes[0] = 4;
        assert!(Account::decode(&bytes).is_err());
    }

    #[test]
    fn an_unknown_group_adds_setting_is_refused() {
        let account = Account::new([1; 32], [2; 32], Profile::new("A", None).unwrap());
        let mut batch = WriteBatch::new();
        account.put(&mut batch);
        let mut store = MemoryStore::new();
        store.apply(batch).unwrap();
        let mut bytes = store.get(ACCOUNT, ACCOUNT_KEY).unwrap().unwrap();
        *bytes.last_mut().unwrap() = 2;
        assert!(Account::decode(&bytes).is_err());
    }
}
