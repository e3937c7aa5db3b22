//! The browser's sealed records: hostile plaintexts for the parser (which
//! only the key reaches, so it is fed directly), and hostile sealed values and
//! indexes for the opener.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sotto_core::StorageKey;
use sotto_sealed_store::sealed_record::{
    INDEX_LEN, RecordIndex, RecordSealer, fuzz_parse_plaintext,
};

fuzz_target!(|data: &[u8]| {
    if let Ok((_, table, key, value)) = fuzz_parse_plaintext(data) {
        assert!(table + key + value <= data.len());
    }
    let sealer = RecordSealer::new(&StorageKey::take_derived(&mut [7; 32]));
    let Some((index, sealed)) = data.split_at_checked(INDEX_LEN) else {
        return;
    };
    let mut bytes = [0u8; INDEX_LEN];
    bytes.copy_from_slice(index);
    let _ = sealer.open(&RecordIndex(bytes), sealed);
});
