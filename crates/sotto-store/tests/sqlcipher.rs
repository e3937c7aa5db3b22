//! The SQLCipher store against real files: keys, passphrase changes, atomic
//! batches, range reads, archives, and no plaintext on disk.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};

use sotto_core::{
    ArchiveError, Argon2Params, Direction, ExportRandomness, KeyRange, MemoryStore, Passphrase,
    Record, Store, StoreError, Table, WriteBatch, export_archive, import_archive,
};
use sotto_store::{SqlCipherStore, key_file_path};

/// Cheap Argon2id parameters: the tests exercise the format, not the cost.
const FAST: Argon2Params = Argon2Params {
    memory_kib: 256,
    iterations: 1,
    lanes: 1,
};
const MESSAGES: Table = Table::new("messages");
const CONTACTS: Table = Table::new("contacts");
const MARKER: &[u8] = b"PLAINTEXT-MARKER-a-message-nobody-may-read-on-disk";

fn passphrase() -> Passphrase {
    Passphrase::new("correct horse battery staple")
}

struct Profile {
    _directory: tempfile::TempDir,
    database: PathBuf,
}

fn profile() -> Profile {
    let directory = tempfile::tempdir().unwrap();
    let database = directory.path().join("profile.db");
    Profile {
        _directory: directory,
        database,
    }
}

fn create(profile: &Profile) -> SqlCipherStore {
    SqlCipherStore::create_with_params(&profile.database, &passphrase(), FAST).unwrap()
}

fn put(store: &mut impl Store, table: Table, key: &[u8], value: &[u8]) {
    let mut batch = WriteBatch::new();
    batch.put(table, key, value);
    store.apply(batch).unwrap();
}

fn everything(store: &impl Store) -> Vec<(String, Record)> {
    let mut out = Vec::new();
    for table in store.tables().unwrap() {
        for record in store.records_after(&table, None, usize::MAX).unwrap() {
            out.push((table.clone(), record));
        }
    }
    out
}

fn fill(store: &mut impl Store) {
    let mut batch = WriteBatch::new();
    for n in 0u16..500 {
        batch.put(MESSAGES, n.to_be_bytes(), vec![n as u8; usize::from(n)]);
    }
    batch.put(MESSAGES, b"big".to_vec(), vec![7; 300_000]);
    batch.put(CONTACTS, b"alice".to_vec(), MARKER.to_vec());
    store.apply(batch).unwrap();
}

/// Every file in the directory, and whether any holds `needle`.
fn files_containing(directory: &Path, needle: &[u8]) -> (Vec<String>, Vec<String>) {
    let mut names = Vec::new();
    let mut found = Vec::new();
    for entry in fs::read_dir(directory).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let bytes = fs::read(entry.path()).unwrap();
        if bytes.windows(needle.len()).any(|window| window == needle) {
            found.push(name.clone());
        }
        names.push(name);
    }
    names.sort();
    (names, found)
}

#[test]
fn records_survive_closing_and_reopening() {
    let profile = profile();
    let mut store = create(&profile);
    fill(&mut store);
    let before = everything(&store);
    drop(store);
    let store = SqlCipherStore::open(&profile.database, &passphrase()).unwrap();
    assert_eq!(everything(&store), before);
    assert_eq!(
        store.get(CONTACTS, b"alice").unwrap().as_deref(),
        Some(MARKER)
    );
    assert_eq!(store.get(CONTACTS, b"bob").unwrap(), None);
}

#[test]
fn a_wrong_passphrase_is_a_clear_error() {
    let profile = profile();
    drop(create(&profile));
    let error = SqlCipherStore::open(&profile.database, &Passphrase::new("wrong")).unwrap_err();
    assert!(matches!(error, StoreError::WrongPassphrase), "{error:?}");
    assert_eq!(error.to_string(), "wrong passphrase");
}

#[test]
fn creating_over_a_profile_and_opening_nothing_are_refused() {
    let profile = profile();
    drop(create(&profile));
    assert!(SqlCipherStore::create_with_params(&profile.database, &passphrase(), FAST).is_err());
    let missing = profile.database.with_file_name("missing.db");
    assert!(matches!(
        SqlCipherStore::open(&missing, &passphrase()),
        Err(StoreError::Unavailable(_))
    ));
    assert!(!missing.exists());
}

#[test]
fn a_changed_passphrase_opens_and_the_old_one_no_longer_does() {
    let profile = profile();
    let mut store = create(&profile);
    fill(&mut store);
    let before = everything(&store);
    let new = Passphrase::new("a new passphrase");
    assert!(matches!(
        store.change_passphrase(&Passphrase::new("not the old one"), &new),
        Err(StoreError::WrongPassphrase)
    ));
    store.change_passphrase(&passphrase(), &new).unwrap();
    // The store keeps working after the change.
    put(&mut store, CONTACTS, b"carol", b"after");
    drop(store);
    assert!(matches!(
        SqlCipherStore::open(&profile.database, &passphrase()),
        Err(StoreError::WrongPassphrase)
    ));
    let store = SqlCipherStore::open(&profile.database, &new).unwrap();
    assert_eq!(everything(&store).len(), before.len() + 1);
    // The new key file holds the default parameters.
    let key_file = fs::read(key_file_path(&profile.database)).unwrap();
    assert_eq!(&key_file[9..22], &Argon2Params::DEFAULT.encode());
}

#[test]
fn a_database_made_with_the_initial_parameters_opens_and_moves_to_the_default() {
    let profile = profile();
    let mut store =
        SqlCipherStore::create_with_params(&profile.database, &passphrase(), Argon2Params::INITIAL)
            .unwrap();
    put(&mut store, CONTACTS, b"alice", b"1");
    drop(store);
    let key_path = key_file_path(&profile.database);
    assert_eq!(
        &fs::read(&key_path).unwrap()[9..22],
        &Argon2Params::INITIAL.encode()
    );
    let mut store = SqlCipherStore::open(&profile.database, &passphrase()).unwrap();
    assert_eq!(store.get(CONTACTS, b"alice").unwrap(), Some(b"1".to_vec()));
    // A passphrase change writes the current defaults.
    let new = Passphrase::new("new");
    store.change_passphrase(&passphrase(), &new).unwrap();
    assert_eq!(
        &fs::read(&key_path).unwrap()[9..22],
        &Argon2Params::DEFAULT.encode()
    );
}

#[test]
fn empty_passphrases_are_refused_for_new_keys() {
    let profile = profile();
    assert!(matches!(
        SqlCipherStore::create_with_params(&profile.database, &Passphrase::new(""), FAST),
        Err(StoreError::EmptyPassphrase)
    ));
    assert!(!profile.database.exists());
    assert!(!key_file_path(&profile.database).exists());
    let mut store = create(&profile);
    assert!(matches!(
        store.change_passphrase(&passphrase(), &Passphrase::new("")),
        Err(StoreError::EmptyPassphrase)
    ));
    drop(store);
    SqlCipherStore::open(&profile.database, &passphrase()).unwrap();
}

#[test]
fn an_interrupted_passphrase_change_is_finished_or_forgotten() {
    let profile = profile();
    let key_path = key_file_path(&profile.database);
    let pending = PathBuf::from(format!("{}-new", key_path.display()));
    let mut store = create(&profile);
    put(&mut store, CONTACTS, b"alice", b"1");
    let old_key_file = fs::read(&key_path).unwrap();
    let new = Passphrase::new("new");
    store.change_passphrase(&passphrase(), &new).unwrap();
    drop(store);
    let new_key_file = fs::read(&key_path).unwrap();

    // Stopped after re-keying, before the new key file replaced the old one.
    fs::write(&key_path, &old_key_file).unwrap();
    fs::write(&pending, &new_key_file).unwrap();
    let store = SqlCipherStore::open(&profile.database, &new).unwrap();
    assert_eq!(store.get(CONTACTS, b"alice").unwrap(), Some(b"1".to_vec()));
    drop(store);
    assert!(!pending.exists());
    assert_eq!(fs::read(&key_path).unwrap(), new_key_file);

    // Stopped before re-keying: the pending file is stale and goes away.
    fs::write(&pending, &old_key_file).unwrap();
    drop(SqlCipherStore::open(&profile.database, &new).unwrap());
    assert!(!pending.exists());
}

#[test]
fn a_failing_batch_leaves_nothing_behind() {
    let profile = profile();
    let mut store = create(&profile);
    put(&mut store, CONTACTS, b"alice", b"kept");
    let mut batch = WriteBatch::new();
    batch.put(CONTACTS, b"bob", b"not kept");
    batch.delete(CONTACTS, b"alice");
    batch.put(MESSAGES, b"too big", vec![0; sotto_core::MAX_VALUE_LEN + 1]);
    batch.put(MESSAGES, b"after", b"never");
    assert!(store.apply(batch).is_err());
    assert_eq!(
        everything(&store),
        [(
            "contacts".to_owned(),
            Record {
                key: b"alice".to_vec(),
                value: b"kept".to_vec()
            }
        )]
    );
    // And the store still takes batches afterwards.
    put(&mut store, CONTACTS, b"bob", b"now");
    assert_eq!(store.get(CONTACTS, b"bob").unwrap(), Some(b"now".to_vec()));
}

#[test]
fn batches_between_syncs_commit_together_and_survive_a_reopen() {
    let profile = profile();
    let mut store = create(&profile);
    // Creating the database left nothing pending.
    store.sync().unwrap();
    assert!(store.start_sync().unwrap().is_none());

    put(&mut store, CONTACTS, b"alice", b"first");
    put(&mut store, MESSAGES, b"1", b"one");
    let mut failing = WriteBatch::new();
    failing.put(MESSAGES, b"2", b"never");
    failing.put(MESSAGES, b"too big", vec![0; sotto_core::MAX_VALUE_LEN + 1]);
    assert!(store.apply(failing).is_err());
    // The batches before the failing one are still pending, and readable.
    assert_eq!(store.get(MESSAGES, b"1").unwrap(), Some(b"one".to_vec()));
    // Two batches to sync.
    let pending = store.start_sync().unwrap().unwrap();
    // The store takes more batches while the fsync runs elsewhere.
    let fsync = std::thread::spawn(move || pending.finish());
    put(&mut store, CONTACTS, b"bob", b"second");
    fsync.join().unwrap().unwrap();
    assert!(store.start_sync().unwrap().is_some());
    assert!(store.start_sync().unwrap().is_none());

    // Applied but never synced: dropping the store commits it.
    put(&mut store, MESSAGES, b"3", b"three");
    drop(store);
    let store = SqlCipherStore::open(&profile.database, &passphrase()).unwrap();
    let keys: Vec<(String, Vec<u8>)> = everything(&store)
        .into_iter()
        .map(|(table, record)| (table, record.key))
        .collect();
    assert_eq!(
        keys,
        [
            ("contacts".to_owned(), b"alice".to_vec()),
            ("contacts".to_owned(), b"bob".to_vec()),
            ("messages".to_owned(), b"1".to_vec()),
            ("messages".to_owned(), b"3".to_vec()),
        ]
    );
}

#[test]
fn ranges_read_both_ways_like_the_memory_store() {
    let profile = profile();
    let mut sqlcipher = create(&profile);
    let mut memory = MemoryStore::new();
    for store in [&mut sqlcipher as &mut dyn Store, &mut memory] {
        let mut batch = WriteBatch::new();
        for key in [
            &[][..],
            &[0],
            &[0, 0],
            &[1],
            &[1, 0xff],
            &[1, 0xff, 3],
            &[2],
            &[0xff],
            &[0xff, 0xff],
        ] {
            batch.put(MESSAGES, key, key.len().to_be_bytes());
        }
        batch.put(CONTACTS, b"x", b"y");
        batch.delete(MESSAGES, [2]);
        batch.delete_range(
            CONTACTS,
            KeyRange {
                start: b"a".to_vec(),
                end: Some(b"b".to_vec()),
            },
        );
        batch.delete_range(MESSAGES, KeyRange::prefix(&[0xff, 0xff]));
        store.apply(batch).unwrap();
    }
    let ranges = [
        KeyRange::all(),
        KeyRange::prefix(&[1]),
        KeyRange::prefix(&[0xff]),
        KeyRange {
            start: vec![0, 0],
            end: Some(vec![1, 0xff, 3]),
        },
    ];
    for range in &ranges {
        for direction in [Direction::Forward, Direction::Backward] {
            for limit in [0, 1, 3, usize::MAX] {
                assert_eq!(
                    sqlcipher.range(MESSAGES, range, direction, limit).unwrap(),
                    memory.range(MESSAGES, range, direction, limit).unwrap(),
                    "{range:?} {direction:?} {limit}"
                );
            }
        }
    }
    assert_eq!(everything(&sqlcipher), everything(&memory));
    assert_eq!(
        sqlcipher.records_after("messages", Some(&[1]), 2).unwrap(),
        memory.records_after("messages", Some(&[1]), 2).unwrap()
    );
}

#[test]
fn a_profile_moves_between_sqlcipher_and_memory_through_an_archive() {
    let profile = profile();
    let mut store = create(&profile);
    fill(&mut store);
    let randomness = ExportRandomness {
        salt: [1; 16],
        nonce_prefix: [2; 16],
    };
    let (archive, _) = export_archive(&store, &passphrase(), FAST, randomness).unwrap();
    let mut memory = MemoryStore::new();
    import_archive(&archive, passphrase(), &mut memory).unwrap();
    assert_eq!(everything(&memory), everything(&store));

    let (back, _) = export_archive(&memory, &passphrase(), FAST, randomness).unwrap();
    let other = profile.database.with_file_name("imported.db");
    let mut imported = SqlCipherStore::create_with_params(&other, &passphrase(), FAST).unwrap();
    let summary = imported
        .import_archive(&mut back.as_slice(), passphrase())
        .unwrap();
    assert_eq!(summary.records, 502);
    assert_eq!(everything(&imported), everything(&store));
    // Into a profile that is not empty: refused.
    assert!(matches!(
        imported.import_archive(&mut back.as_slice(), passphrase()),
        Err(ArchiveError::TargetNotEmpty)
    ));
}

#[test]
fn an_archive_file_moves_a_profile_and_retires_the_old_one() {
    let profile = profile();
    let mut store = create(&profile);
    fill(&mut store);
    let mut archive = Vec::new();
    let receipt = store.export_archive(&mut archive, &passphrase()).unwrap();
    assert_eq!(receipt.records, 502);
    sotto_core::mark_moved(&mut store, &receipt, 1_790_000_000).unwrap();
    assert!(matches!(
        sotto_core::ensure_not_moved(&store),
        Err(ArchiveError::ProfileMoved)
    ));

    let other = profile.database.with_file_name("moved.db");
    let mut moved = SqlCipherStore::create_with_params(&other, &passphrase(), FAST).unwrap();
    let summary = moved
        .import_archive(&mut archive.as_slice(), passphrase())
        .unwrap();
    assert_eq!(summary.archive_id, receipt.archive_id);
    assert!(sotto_core::ensure_not_moved(&moved).is_ok());
    drop(store);
    let store = SqlCipherStore::open(&profile.database, &passphrase()).unwrap();
    let mut expected = everything(&store);
    expected.retain(|(table, _)| table != "profile_moved");
    assert_eq!(everything(&moved), expected);
}

#[test]
fn a_damaged_archive_imports_nothing() {
    let profile = profile();
    let mut store = create(&profile);
    fill(&mut store);
    let randomness = ExportRandomness {
        salt: [1; 16],
        nonce_prefix: [2; 16],
    };
    let (archive, _) = export_archive(&store, &passphrase(), FAST, randomness).unwrap();
    let target_path = profile.database.with_file_name("target.db");
    let mut target = SqlCipherStore::create_with_params(&target_path, &passphrase(), FAST).unwrap();
    let truncated = &archive[..archive.len() - 10];
    let mut tampered = archive.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    for bad in [truncated, &tampered[..]] {
        assert!(target.import_archive(&mut &bad[..], passphrase()).is_err());
        assert!(target.tables().unwrap().is_empty());
    }
    assert!(matches!(
        target.import_archive(&mut archive.as_slice(), Passphrase::new("wrong")),
        Err(ArchiveError::WrongPassphrase)
    ));
    assert!(target.tables().unwrap().is_empty());
}

#[test]
fn no_plaintext_reaches_the_disk() {
    let profile = profile();
    let directory = profile.database.parent().unwrap().to_owned();
    let mut store = create(&profile);
    fill(&mut store);
    // Updates and deletes too, so the WAL holds several versions of pages.
    for n in 0u8..20 {
        let mut value = MARKER.to_vec();
        value.push(n);
        put(&mut store, CONTACTS, &[n], &value);
    }
    let mut batch = WriteBatch::new();
    batch.delete_range(CONTACTS, KeyRange::prefix(&[1]));
    store.apply(batch).unwrap();

    // While open: the database and its WAL, no journal, no -shm, no temp file.
    let (names, found) = files_containing(&directory, MARKER);
    assert_eq!(names, ["profile.db", "profile.db-wal", "profile.db.kdf"]);
    assert!(found.is_empty(), "plaintext in {found:?}");
    // The table and key names are encrypted too.
    assert!(files_containing(&directory, b"records").1.is_empty());
    assert!(files_containing(&directory, b"alice").1.is_empty());

    store
        .change_passphrase(&passphrase(), &Passphrase::new("new"))
        .unwrap();
    put(&mut store, CONTACTS, b"after change", MARKER);
    let (_, found) = files_containing(&directory, MARKER);
    assert!(
        found.is_empty(),
        "plaintext after a passphrase change in {found:?}"
    );

    drop(store);
    let (names, found) = files_containing(&directory, MARKER);
    assert!(found.is_empty(), "plaintext after closing in {found:?}");

    // The scan itself works: it finds the marker in a file that holds it.
    let control = tempfile::tempdir().unwrap();
    fs::write(
        control.path().join("control"),
        [b"x", MARKER, b"y"].concat(),
    )
    .unwrap();
    assert_eq!(files_containing(control.path(), MARKER).1, ["control"]);
    assert!(
        names.iter().all(|name| name.starts_with("profile.db")),
        "{names:?}"
    );
}

#[test]
fn one_process_at_a_time() {
    let profile = profile();
    let mut store = create(&profile);
    put(&mut store, CONTACTS, b"alice", b"1");
    let second = SqlCipherStore::open(&profile.database, &passphrase());
    assert!(
        matches!(second, Err(StoreError::Unavailable(_))),
        "{second:?}"
    );
    drop(store);
    assert!(SqlCipherStore::open(&profile.database, &passphrase()).is_ok());
}
