//! Profiles written, read back and upgraded; the recorded profile of format 1
//! under the first Argon2id defaults.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sotto_core::{Core, KeyRange, Passphrase, Profile, Salt, Table, WriteBatch};

use super::*;
use crate::padding::bucket;
use crate::test_support::{
    CountingRng, FORMAT_1_KDF, FORMAT_1_PASSPHRASE, FORMAT_1_RECORDS, format_1_derivation, hex,
    seal_unpadded,
};

/// Cheap parameters: these tests exercise the format, not the cost.
const FAST: Argon2Params = Argon2Params {
    memory_kib: 64,
    iterations: 1,
    lanes: 1,
};

/// IndexedDB as a map: `meta` values and records.
#[derive(Default)]
struct Database {
    meta: Vec<(&'static str, Vec<u8>)>,
    records: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Database {
    fn from_snapshot(snapshot: Snapshot) -> Database {
        Database {
            meta: snapshot.meta,
            records: snapshot
                .records
                .into_iter()
                .map(|write| (write.index.0.to_vec(), write.sealed.unwrap()))
                .collect(),
        }
    }

    fn meta(&self, name: &str) -> Option<&[u8]> {
        self.meta
            .iter()
            .find(|(entry, _)| *entry == name)
            .map(|(_, value)| value.as_slice())
    }

    /// What the bridge does to unlock: derive, check, load.
    fn unlock(
        &self,
        passphrase: &str,
    ) -> Result<(KeyDerivation, RecordSealer, LoadedProfile), ProfileError> {
        let derivation = stored_derivation(self.meta(META_KDF).unwrap())?;
        let key = derivation.derive(&Passphrase::new(passphrase))?;
        let sealer = RecordSealer::new(&key);
        let format = check_passphrase(&sealer, self.meta(META_CHECK))?;
        let loaded = load(
            &sealer,
            &derivation,
            format,
            self.records.clone(),
            self.meta(META_PREFS),
        )?;
        Ok((derivation, sealer, loaded))
    }
}

fn all(store: &MirrorStore, table: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    store
        .records_after(table, None, 100)
        .unwrap()
        .into_iter()
        .map(|record| (record.key, record.value))
        .collect()
}

/// The recorded profile: its `meta` and records as the bridge of format 1
/// wrote them.
fn format_1_database() -> Database {
    let sealed = |table: &str| {
        let (_, _, _, _, sealed) = FORMAT_1_RECORDS
            .iter()
            .find(|record| record.0 == table)
            .unwrap();
        hex(sealed)
    };
    Database {
        meta: vec![
            (META_KDF, hex(FORMAT_1_KDF)),
            (META_CHECK, sealed("passphrase_check")),
            (META_PREFS, sealed("web_prefs")),
        ],
        records: FORMAT_1_RECORDS
            .iter()
            .filter(|record| !["passphrase_check", "web_prefs"].contains(&record.0))
            .map(|(_, _, _, index, sealed)| (hex(index), hex(sealed)))
            .collect(),
    }
}

#[test]
fn the_recorded_format_1_profile_opens_and_is_written_again_in_todays_format() {
    let old = format_1_database();
    assert!(matches!(
        old.unlock("not the passphrase"),
        Err(ProfileError::WrongPassphrase)
    ));
    let (derivation, sealer, loaded) = old.unlock(FORMAT_1_PASSPHRASE).unwrap();
    assert_eq!(derivation, format_1_derivation());
    assert!(loaded.unpadded && loaded.weak_key_derivation);
    assert!(!loaded.store.has_changes());
    assert_eq!(loaded.prefs.as_slice(), br#"{"theme":"dark"}"#);
    assert_eq!(
        all(&loaded.store, "chats"),
        [(b"k1".to_vec(), b"hello".to_vec())]
    );
    assert_eq!(
        all(&loaded.store, "messages"),
        [(vec![0, 1], b"second record".to_vec())]
    );

    // Same key, today's record format: no longer outdated as far as records
    // go, but the parameters still are.
    let mut rng = CountingRng(50);
    let resealed = Snapshot::seal(
        &mut rng,
        &loaded.store,
        &sealer,
        &derivation,
        &loaded.prefs,
        None,
    );
    let again = Database::from_snapshot(resealed.unwrap());
    for (_, sealed) in &again.records {
        assert_eq!(bucket(sealed.len()), Some(sealed.len()));
    }
    let (_, _, reloaded) = again.unlock(FORMAT_1_PASSPHRASE).unwrap();
    assert!(!reloaded.unpadded);
    assert!(
        reloaded.weak_key_derivation,
        "the first defaults are weaker than today's"
    );

    // A new derivation with today's defaults: nothing outdated.
    let upgraded = KeyDerivation::new([9; 16]);
    let key = upgraded
        .derive(&Passphrase::new(FORMAT_1_PASSPHRASE))
        .unwrap();
    let snapshot = Snapshot::seal(
        &mut rng,
        &reloaded.store,
        &RecordSealer::new(&key),
        &upgraded,
        &reloaded.prefs,
        None,
    )
    .unwrap();
    let upgraded_database = Database::from_snapshot(snapshot);
    let (derivation, _, current) = upgraded_database.unlock(FORMAT_1_PASSPHRASE).unwrap();
    assert_eq!(derivation.params, Argon2Params::DEFAULT);
    assert!(!current.outdated());
    assert_eq!(current.prefs.as_slice(), br#"{"theme":"dark"}"#);
    for table in ["chats", "messages"] {
        assert_eq!(all(&current.store, table), all(&loaded.store, table));
    }
}

#[test]
fn a_core_profile_written_in_format_1_opens_as_a_core() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let core = Core::create(
        MirrorStore::new(),
        &mut rng,
        Profile::new("Ada", None).unwrap(),
    )
    .unwrap();
    let derivation = KeyDerivation {
        params: FAST,
        salt: Salt([3; 16]),
    };
    let key = derivation.derive(&Passphrase::new("pass")).unwrap();
    let sealer = RecordSealer::new(&key);
    let mut old = Database {
        meta: vec![(META_KDF, derivation.encode().to_vec())],
        records: Vec::new(),
    };
    let check_index = sealer.index(CHECK_TABLE, &[]).unwrap();
    old.meta.push((
        META_CHECK,
        seal_unpadded(&key, &check_index, &mut rng, CHECK_TABLE, &[], &[]),
    ));
    for table in core.store().tables().unwrap() {
        for record in core
            .store()
            .records_after(&table, None, usize::MAX)
            .unwrap()
        {
            let index = sealer.index(&table, &record.key).unwrap();
            let sealed = seal_unpadded(&key, &index, &mut rng, &table, &record.key, &record.value);
            old.records.push((index.0.to_vec(), sealed));
        }
    }
    assert!(!old.records.is_empty());
    let (_, _, loaded) = old.unlock("pass").unwrap();
    assert!(loaded.unpadded && loaded.weak_key_derivation);
    assert!(loaded.prefs.is_empty());
    let reopened = Core::open(loaded.store).unwrap();
    assert_eq!(reopened.profile().display_name(), "Ada");
}

#[test]
fn changes_are_sealed_padded_and_replay_to_the_same_records() {
    const CHATS: Table = Table::new("chats");
    let derivation = KeyDerivation {
        params: FAST,
        salt: Salt([4; 16]),
    };
    let sealer = RecordSealer::new(&derivation.derive(&Passphrase::new("pass")).unwrap());
    let mut store = MirrorStore::new();
    let mut batch = WriteBatch::new();
    batch.put(CHATS, b"a".to_vec(), b"short".to_vec());
    batch.put(CHATS, b"b".to_vec(), vec![1; 900]);
    batch.put(CHATS, b"c".to_vec(), vec![2; 10]);
    batch.delete_range(
        CHATS,
        KeyRange {
            start: b"c".to_vec(),
            end: None,
        },
    );
    store.apply(batch).unwrap();
    let mut rng = CountingRng(0);
    let writes = seal_changes(&mut rng, &sealer, &store).unwrap();
    assert!(!store.has_changes());
    let sizes: Vec<Option<usize>> = writes
        .iter()
        .map(|write| write.sealed.as_ref().map(Vec::len))
        .collect();
    assert_eq!(sizes, [Some(256), Some(1024), Some(256), None]);
    assert_eq!(writes[3].index, sealer.index("chats", b"c").unwrap());
    assert!(!format!("{:?}", writes[0]).contains("short"));

    let mut disk: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for write in writes {
        disk.retain(|(index, _)| index.as_slice() != write.index.0);
        if let Some(sealed) = write.sealed {
            disk.push((write.index.0.to_vec(), sealed));
        }
    }
    let loaded = load(&sealer, &derivation, RecordFormat::Padded, disk, None).unwrap();
    assert_eq!(all(&loaded.store, "chats"), all(&store, "chats"));
    assert_eq!(all(&store, "chats").len(), 2);
}

#[test]
fn damaged_meta_and_records_are_errors() {
    assert!(matches!(
        stored_derivation(&[1, 2, 3]),
        Err(ProfileError::Derivation(_))
    ));
    let mut kdf = hex(FORMAT_1_KDF);
    kdf[1..5].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        stored_derivation(&kdf),
        Err(ProfileError::Derivation(
            PassphraseError::ParametersOutOfBounds
        ))
    ));
    let mut database = format_1_database();
    assert!(matches!(
        Database {
            meta: database.meta.clone(),
            records: vec![(vec![1; 5], vec![0; 64])],
        }
        .unlock(FORMAT_1_PASSPHRASE),
        Err(ProfileError::Record(SealError::Malformed))
    ));
    database.records[0].1[30] ^= 1;
    assert!(matches!(
        database.unlock(FORMAT_1_PASSPHRASE),
        Err(ProfileError::Record(SealError::Unopenable))
    ));
    database.meta.retain(|(name, _)| *name != META_CHECK);
    assert!(matches!(
        database.unlock(FORMAT_1_PASSPHRASE),
        Err(ProfileError::WrongPassphrase)
    ));
}

/// The browser test's old profile (`web/e2e/fixtures/profile-format-1.txt`):
/// a real core's records in format 1 under the first Argon2id defaults, as
/// the bridge wrote them before padding. One line per `meta` value or record:
/// `passphrase TEXT`, `meta NAME HEX`, `record INDEX-HEX SEALED-HEX`.
const BROWSER_FIXTURE: &str = include_str!("../../../../web/e2e/fixtures/profile-format-1.txt");
const BROWSER_FIXTURE_PASSPHRASE: &str = "passphrase of an old profile";

fn browser_fixture() -> String {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let core = Core::create(
        MirrorStore::new(),
        &mut rng,
        Profile::new("Olga", None).unwrap(),
    )
    .unwrap();
    let derivation = KeyDerivation {
        params: Argon2Params::INITIAL,
        salt: Salt([0x0f; 16]),
    };
    let key = derivation
        .derive(&Passphrase::new(BROWSER_FIXTURE_PASSPHRASE))
        .unwrap();
    let sealer = RecordSealer::new(&key);
    let hex = |bytes: &[u8]| -> String { bytes.iter().map(|b| format!("{b:02x}")).collect() };
    let mut out = format!("passphrase {BROWSER_FIXTURE_PASSPHRASE}\n");
    out.push_str(&format!("meta {META_KDF} {}\n", hex(&derivation.encode())));
    let check_index = sealer.index(CHECK_TABLE, &[]).unwrap();
    let check = seal_unpadded(&key, &check_index, &mut rng, CHECK_TABLE, &[], &[]);
    out.push_str(&format!("meta {META_CHECK} {}\n", hex(&check)));
    for table in core.store().tables().unwrap() {
        for record in core
            .store()
            .records_after(&table, None, usize::MAX)
            .unwrap()
        {
            let index = sealer.index(&table, &record.key).unwrap();
            let sealed = seal_unpadded(&key, &index, &mut rng, &table, &record.key, &record.value);
            out.push_str(&format!("record {} {}\n", hex(&index.0), hex(&sealed)));
        }
    }
    out
}

/// A fixture line without the sealed value of a record: the records' values
/// are the core's, which move forward (the account record gained a version
/// since the fixture was written), while their indexes and the `meta` values
/// are format 1's own.
fn format_part(line: &str) -> String {
    match line.strip_prefix("record ") {
        Some(rest) => format!("record {}", rest.split(' ').next().unwrap_or_default()),
        None => line.to_owned(),
    }
}

#[test]
fn the_browser_tests_old_profile_is_what_format_1_wrote_and_opens() {
    let written = browser_fixture();
    let expected: Vec<String> = written.lines().map(format_part).collect();
    let recorded: Vec<String> = BROWSER_FIXTURE.lines().map(format_part).collect();
    assert_eq!(recorded, expected);
    let mut database = Database::default();
    for line in BROWSER_FIXTURE.lines() {
        let words: Vec<&str> = line.split(' ').collect();
        match words[0] {
            "meta" if words[1] == META_KDF => database.meta.push((META_KDF, hex(words[2]))),
            "meta" if words[1] == META_CHECK => database.meta.push((META_CHECK, hex(words[2]))),
            "record" => database.records.push((hex(words[1]), hex(words[2]))),
            _ => {}
        }
    }
    let (_, _, loaded) = database.unlock(BROWSER_FIXTURE_PASSPHRASE).unwrap();
    assert!(loaded.unpadded && loaded.weak_key_derivation);
    let core = Core::open(loaded.store).unwrap();
    assert_eq!(core.profile().display_name(), "Olga");
}

/// Rewrites the browser fixture: `SOTTO_WRITE_FIXTURE=1 cargo test -p
/// sotto-sealed-store record_the_browser_fixture -- --ignored`.
#[test]
#[ignore]
fn record_the_browser_fixture() {
    if std::env::var_os("SOTTO_WRITE_FIXTURE").is_none() {
        return;
    }
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../web/e2e/fixtures/profile-format-1.txt"
    );
    std::fs::write(path, browser_fixture()).unwrap();
}

#[test]
fn a_snapshot_under_a_new_key_keeps_the_lock_key() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let core = Core::create(
        MirrorStore::new(),
        &mut rng,
        Profile::new("Ada", None).unwrap(),
    )
    .unwrap();
    let lock_key = LockKey::generate(&mut rng);
    let held = lock_key
        .public_key()
        .seal(&mut rng, &held_delivery_sample())
        .unwrap();
    let derivation = KeyDerivation {
        params: FAST,
        salt: Salt([4; 16]),
    };
    let key = derivation.derive(&Passphrase::new("new one")).unwrap();
    let sealer = RecordSealer::new(&key);
    let snapshot = Snapshot::seal(
        &mut rng,
        core.store(),
        &sealer,
        &derivation,
        &[],
        Some(&lock_key),
    )
    .unwrap();
    let database = Database::from_snapshot(snapshot);
    let (_, sealer, _) = database.unlock("new one").unwrap();
    let reopened = LockKey::open(&sealer, database.meta(META_LOCK_KEY).unwrap()).unwrap();
    assert_eq!(
        reopened.open_held(&held).unwrap(),
        held_delivery_sample(),
        "what was kept under the old passphrase still opens"
    );
}

fn held_delivery_sample() -> sotto_core::HeldDelivery {
    sotto_core::HeldDelivery {
        relay: "sotto+ws://tgAwbPp2cj_ew5XlOps9n9t4seLXojwy_LzS3G0MQJI@127.0.0.1:7000"
            .parse()
            .unwrap(),
        recipient_id: sotto_wire::RecipientId::from_bytes([1; 24]),
        message_id: sotto_wire::MessageId::from_bytes([2; 24]),
        sealed: sotto_wire::SealedMessage::from_vec(vec![3; 30]).unwrap(),
        suite: sotto_wire::CipherSuite::Aes256Gcm,
    }
}
