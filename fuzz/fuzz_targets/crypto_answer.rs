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
    // Also try the input as the tail of a well-prefixed answer of the right length, so
    // the fuzzer reaches the key agreement and not only the length check.
    let mut framed = vec![1u8, 0x02];
    framed.extend_from_slice(data);
    framed.resize(ANSWER_LEN, 0);
    for answer in [data, &framed[..]] {
        assert!(pending.accept(identity, answer).is_err());
    }
});
