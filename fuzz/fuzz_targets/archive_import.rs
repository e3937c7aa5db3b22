//! The export archive reader: hostile archives, fed in pieces of any size.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sotto_core::{ArchiveReader, Argon2Params, MemoryStore, Passphrase, Store, import_archive};

fuzz_target!(|data: &[u8]| {
    let Some((&piece, archive)) = data.split_first() else {
        return;
    };
    // Keep Argon2id cheap: a header's recorded cost (bytes 10..23) is set to
    // the minimum, so the fuzzer spends its time on the format, not the KDF.
    let mut archive = archive.to_vec();
    if archive.len() >= 23 && archive.starts_with(b"SOTTOARC") {
        let cheap = Argon2Params {
            memory_kib: 8,
            iterations: 1,
            lanes: 1,
        };
        archive[10..23].copy_from_slice(&cheap.encode());
    }
    let mut reader = ArchiveReader::new(Passphrase::new("fuzz"));
    for bytes in archive.chunks(usize::from(piece) + 1) {
        if reader.push(bytes).is_err() {
            break;
        }
    }
    let _ = reader.finish();
    let mut target = MemoryStore::new();
    if import_archive(&archive, Passphrase::new("fuzz"), &mut target).is_err() {
        assert!(target.tables().unwrap_or_default().is_empty());
    }
});
