//! Files: hostile file descriptions for the decoder, and hostile chunk bytes
//! for the decryptor (which must refuse them, never panic or hold more than a
//! segment).

#![no_main]

use libfuzzer_sys::fuzz_target;
use sotto_files::{FileDecryptor, FileDescription, FileKey, FileNonce};

fuzz_target!(|data: &[u8]| {
    if let Ok(description) = FileDescription::decode(data) {
        // Relay addresses come back in their canonical spelling, so the bytes
        // may change once, and then stay.
        let encoded = description.encode().expect("a decoded description encodes");
        let again = FileDescription::decode(&encoded).expect("an encoded description decodes");
        assert_eq!(again.encode().expect("it encodes again"), encoded);
    }
    let Some((length, chunk)) = data.split_first_chunk::<2>() else {
        return;
    };
    let file_len = u64::from(u16::from_be_bytes(*length)) * 7;
    let key = FileKey::from_bytes([7; 32]);
    let nonce = FileNonce::from_bytes([9; 19]);
    let Ok(mut decryptor) = FileDecryptor::new(&key, &nonce, file_len) else {
        return;
    };
    // Random bytes never authenticate.
    assert!(decryptor.push(chunk).map_or(true, |plaintext| plaintext.is_empty()));
});
