//! The browser's `crypto.getRandomValues` as the core's random number
//! generator (through getrandom's `js` backend).

use rand_core::{CryptoRng, RngCore};

/// Randomness from the browser. A failure of `getRandomValues` (no Web Crypto)
/// is not recoverable: nothing may be sealed without randomness.
pub(crate) struct BrowserRng;

impl RngCore for BrowserRng {
    fn next_u32(&mut self) -> u32 {
        rand_core::impls::next_u32_via_fill(self)
    }

    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_fill(self)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        if getrandom::getrandom(dest).is_err() {
            // Filling with predictable bytes would be worse than stopping.
            wasm_bindgen::throw_str("crypto.getRandomValues is unavailable");
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        getrandom::getrandom(dest).map_err(|error| rand_core::Error::from(error.code()))
    }
}

impl CryptoRng for BrowserRng {}
