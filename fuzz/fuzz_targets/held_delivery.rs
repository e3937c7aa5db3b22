//! What the browser keeps while locked: hostile plaintexts for the parser
//! (which only the lock key reaches, so it is fed directly), and hostile held
//! records for the opener.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sotto_sealed_store::held_delivery::{LockKey, fuzz_decode};

struct Counter(u8);

impl rand_core::RngCore for Counter {
    fn next_u32(&mut self) -> u32 {
        rand_core::impls::next_u32_via_fill(self)
    }
    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_fill(self)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for byte in dest {
            self.0 = self.0.wrapping_add(1);
            *byte = self.0;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for Counter {}

fuzz_target!(|data: &[u8]| {
    if let Ok(delivery) = fuzz_decode(data) {
        assert!(delivery.sealed.as_bytes().len() <= data.len());
    }
    let key = LockKey::generate(&mut Counter(3));
    let _ = key.open_held(data);
});
