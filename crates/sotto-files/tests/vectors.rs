//! Test vectors of the file format (docs/client-protocol.md, "Files"),
//! reproduced independently by docs/file_vectors.py.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sotto_files::{FileDecryptor, FileEncryptor, FileKey, FileNonce};
use sotto_wire::ChunkDigest;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A file of 65547 bytes (byte i = i mod 256): two segments, the second of
/// 11 bytes, in two 64 KiB chunks, the second filled out.
#[test]
fn a_two_segment_file() {
    let key = FileKey::from_bytes([0x01; 32]);
    let nonce = FileNonce::from_bytes([0x02; 19]);
    let file: Vec<u8> = (0..65547).map(|i| i as u8).collect();
    let mut encryptor = FileEncryptor::new(&key, &nonce, file.len() as u64).unwrap();
    encryptor.push(&file).unwrap();
    encryptor.finish().unwrap();
    let chunks: Vec<Vec<u8>> = std::iter::from_fn(|| encryptor.poll_chunk()).collect();
    assert_eq!(chunks.len(), 2);
    assert!(chunks.iter().all(|chunk| chunk.len() == 65536));
    let stream = chunks.concat();
    // Segment 0: bytes 0..65552; segment 1 (last): 65552..65579; filler after.
    let values = [
        ("segment 0, tag", hex(&stream[65536..65552])),
        ("segment 1, sealed", hex(&stream[65552..65579])),
        ("filler, first 16 bytes", hex(&stream[65579..65595])),
        (
            "chunk 0 digest",
            hex(ChunkDigest::of(&chunks[0]).as_bytes()),
        ),
        (
            "chunk 1 digest",
            hex(ChunkDigest::of(&chunks[1]).as_bytes()),
        ),
    ];
    for (name, value) in &values {
        println!("{name}: {value}");
    }
    let expected = [
        ("segment 0, tag", "76cdce8fda622d84b352e34a39dba927"),
        (
            "segment 1, sealed",
            "16ea4ddc1d77945834f8a213013e15267e2bea24f354045420e965",
        ),
        ("filler, first 16 bytes", "d675e90163a3b38c9dca930d6833f574"),
        (
            "chunk 0 digest",
            "404f6c5e3bd2537f4b89607540b64e6212df4596a0dc9a4c714381e7a3de0f08",
        ),
        (
            "chunk 1 digest",
            "9bcd1772447b9db3dba1078d30e7bcebb94ee5d82d73c215768134ab4891b7ed",
        ),
    ];
    for ((name, value), (expected_name, expected_value)) in values.iter().zip(expected) {
        assert_eq!(*name, expected_name);
        assert_eq!(value, expected_value, "{name}");
    }
    let mut decryptor = FileDecryptor::new(&key, &nonce, file.len() as u64).unwrap();
    let mut plaintext = decryptor.push(&chunks[0]).unwrap();
    plaintext.extend(decryptor.push(&chunks[1]).unwrap());
    decryptor.finish().unwrap();
    assert!(plaintext == file);
}
