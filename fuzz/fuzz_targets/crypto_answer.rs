//! Answer decoder and key agreement: arbitrary answers to a fixed invitation fail cleanly.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sotto_crypto::{ANSWER_LEN, IdentityKeyPair, PendingInvitation};

fn inviter() -> &'static (IdentityKeyPair, PendingInvitation) {
    static INVITER: OnceLock<(IdentityKeyPair, PendingInvitation)> = OnceLock::new();
    INVITER.get_or_init(|| {
        let identity = IdentityKeyPair::from_secret_bytes(&[1; 32]);
        let pending = PendingInvitation::new(&identity, &[2; 96]).unwrap();
        (identity, pending)
    })
}

fuzz_target!(|data: &[u8]| {
    let (identity, pending) = inviter();
    assert!(pending.accept(identity, data).is_err());
    // Also try the input as the tail of a well-prefixed answer of the right length, so
    // the fuzzer reaches the key agreement and not only the length check: version 2
    // (sealed identity key) and version 1 (read only; its identity key is in clear,
    // without the 16-byte tag).
    for (version, len) in [(2u8, ANSWER_LEN), (1, ANSWER_LEN - 16)] {
        let mut framed = vec![version, 0x02];
        framed.extend_from_slice(data);
        framed.resize(len, 0);
        assert!(pending.accept(identity, &framed).is_err());
    }
});
