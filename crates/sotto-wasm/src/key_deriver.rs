//! The passphrase's Argon2id derivation, off the page's thread. It takes a
//! noticeable fraction of a second and would freeze the page, so the class
//! never runs it itself: it asks the UI's `derive(derivation, passphrase)`,
//! which runs [`derive_storage_key`] of this same module in a Web Worker
//! (`web/src/kdf-worker.ts`) and ends the worker after each key. The core's
//! [`KeyDerivation`] stays the one implementation of the KDF.

use js_sys::{Function, Promise, Uint8Array};
use sotto_core::{KeyDerivation, Passphrase, STORAGE_KEY_LEN, StorageKey};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use zeroize::Zeroizing;

use crate::client::error;

/// The UI's function that derives a key in a worker: `(derivation: Uint8Array,
/// passphrase: string) => Promise<Uint8Array>`.
pub(crate) struct KeyDeriver(Function);

impl KeyDeriver {
    pub(crate) fn new(derive: Function) -> KeyDeriver {
        KeyDeriver(derive)
    }

    /// The key `derivation` gives for `passphrase`. The bytes handed back are
    /// zeroized in JavaScript once copied.
    pub(crate) async fn derive(
        &self,
        derivation: &KeyDerivation,
        passphrase: &str,
    ) -> Result<StorageKey, JsValue> {
        let encoded = Uint8Array::from(derivation.encode().as_slice());
        let pending = self
            .0
            .call2(&JsValue::NULL, &encoded, &JsValue::from_str(passphrase))?;
        let pending: Promise = pending
            .dyn_into()
            .map_err(|_| error("internal", "the key derivation did not start"))?;
        let derived: Uint8Array = JsFuture::from(pending)
            .await?
            .dyn_into()
            .map_err(|_| error("internal", "the key derivation returned no key"))?;
        let mut key = Zeroizing::new([0u8; STORAGE_KEY_LEN]);
        let len_ok = derived.length() as usize == STORAGE_KEY_LEN;
        if len_ok {
            derived.copy_to(key.as_mut());
        }
        derived.fill(0, 0, derived.length());
        if !len_ok {
            return Err(error("internal", "the key derivation returned no key"));
        }
        Ok(StorageKey::take_derived(&mut key))
    }
}

/// Runs Argon2id for the worker: the key that `derivation` (as
/// [`KeyDerivation::encode`] writes it) gives for `passphrase`. Refuses
/// parameters out of the core's bounds before allocating for them.
#[wasm_bindgen(js_name = deriveStorageKey)]
pub fn derive_storage_key(derivation: &[u8], passphrase: String) -> Result<Uint8Array, JsValue> {
    let derivation: &[u8; KeyDerivation::ENCODED_LEN] = derivation
        .try_into()
        .map_err(|_| error("internal", "the key derivation is damaged"))?;
    let derivation =
        KeyDerivation::decode(derivation).map_err(|e| error("internal", &e.to_string()))?;
    let passphrase = Passphrase::new(passphrase.into_bytes());
    let key = derivation
        .derive(&passphrase)
        .map_err(|e| error("internal", &e.to_string()))?;
    Ok(Uint8Array::from(key.as_bytes().as_slice()))
}
