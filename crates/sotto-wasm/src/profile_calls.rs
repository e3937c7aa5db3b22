//! `SottoClient` calls on the profile as a whole: the passphrase, the archive
//! shared with the `sotto` command (export and import), the core's settings
//! and the UI's preferences.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Promise, Uint8Array};
use rand_core::RngCore;
use sotto_core::{
    ArchiveError, Core, KeyDerivation, Settings, StorageKey, archive_key_derivation,
    export_archive_with_key, import_archive_with_key, mark_moved,
};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;
use zeroize::Zeroizing;

use sotto_sealed_store::mirror::MirrorStore;
use sotto_sealed_store::sealed_profile::{META_MOVED, META_PREFS};

use crate::bridge_event::BridgeEvent;
use crate::client::{
    Shared, SottoClient, adopt_new, check_chosen, core_error, emit, error, internal, load_records,
    new_derivation, new_key, now, object, open_key, rekey, seal_prefs, seal_snapshot, stop,
    storage_failed,
};
use crate::idb::{Durability, HeldChange, LogChange};
use crate::rng::BrowserRng;

/// Largest preferences record the UI may store.
const MAX_PREFS_LEN: usize = 64 * 1024;

#[wasm_bindgen]
impl SottoClient {
    /// Seals everything under a key from `next` (fresh salt), in one
    /// transaction that replaces the old records; rejects with
    /// `wrong-passphrase` unless `current` is the passphrase.
    #[wasm_bindgen(js_name = changePassphrase)]
    pub fn change_passphrase(&self, current: String, next: String) -> Promise {
        let shared = Rc::clone(&self.shared);
        let (current, next) = (Zeroizing::new(current), Zeroizing::new(next));
        future_to_promise(async move {
            if shared.borrow().unlocked.is_none() {
                return Err(error("locked", "the profile is locked"));
            }
            check_chosen(&next)?;
            open_key(&shared, &current).await?;
            let (derivation, sealer) = new_key(&shared, &next).await?;
            rekey(&shared, None, derivation, sealer).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The whole profile as the archive `sotto export` writes, sealed under
    /// `passphrase` (which must be the profile's). A live profile is then
    /// marked as moved and stops, as the command's does: two live copies
    /// would reuse keys. A moved profile can be exported again.
    #[wasm_bindgen(js_name = exportArchive)]
    pub fn export_archive(&self, passphrase: String) -> Promise {
        let shared = Rc::clone(&self.shared);
        let passphrase = Zeroizing::new(passphrase);
        future_to_promise(async move {
            let database = Rc::clone(&shared.borrow().database);
            let (derivation, sealer, format) = open_key(&shared, &passphrase).await?;
            check_chosen(&passphrase)?;
            let archive_key = ArchiveKey::derive(&shared, &passphrase).await?;
            if shared.borrow().moved {
                let (loaded, _) = load_records(&database, &sealer, &derivation, format).await?;
                let (archive, _) = archive_key.write(&loaded.store)?;
                return Ok(Uint8Array::from(archive.as_slice()).into());
            }
            let (archive, receipt) = {
                let state = shared.borrow();
                let Some(unlocked) = state.unlocked.as_ref() else {
                    return Err(error("locked", "the profile is locked"));
                };
                archive_key.write(unlocked.core.store())?
            };
            let Some(unlocked) = stop(&shared) else {
                return Err(error("locked", "the profile is locked"));
            };
            let (prefs, lock_key) = (unlocked.prefs, unlocked.lock_key);
            let mut store = unlocked.core.into_store();
            let moved_at = now().0 / 1000;
            mark_moved(&mut store, &receipt, moved_at)
                .map_err(|e| error("internal", &e.to_string()))?;
            let mut snapshot = seal_snapshot(&store, &sealer, &derivation, &prefs, &lock_key)?;
            snapshot.meta.push((META_MOVED, vec![1]));
            if let Err(cause) = database.write_snapshot(snapshot, HeldChange::Keep).await {
                storage_failed(&shared, &cause);
                return Err(error(
                    "internal",
                    "the browser's storage refused a write; nothing was exported (unlock to go on here)",
                ));
            }
            shared.borrow_mut().moved = true;
            emit(&shared, &BridgeEvent::Moved);
            Ok(Uint8Array::from(archive.as_slice()).into())
        })
    }

    /// Replaces this browser's profile, unless it is unlocked, with the
    /// archive's, which `passphrase` opens and which then protects it here
    /// too. Rejects with `wrong-passphrase` or `invalid-archive`; a failed
    /// import leaves the browser as it was.
    #[wasm_bindgen(js_name = importArchive)]
    pub fn import_archive(&self, archive: Vec<u8>, passphrase: String) -> Promise {
        let shared = Rc::clone(&self.shared);
        let passphrase = Zeroizing::new(passphrase);
        future_to_promise(async move {
            ensure_locked(&shared)?;
            let archive_derivation = archive_key_derivation(&archive).map_err(archive_error)?;
            let deriver = Rc::clone(&shared.borrow().deriver);
            let archive_key = deriver.derive(&archive_derivation, &passphrase).await?;
            let mut store = MirrorStore::new();
            import_archive_with_key(&archive, archive_key, &mut store).map_err(archive_error)?;
            let core = Core::open(store).map_err(core_error)?;
            let (derivation, sealer) = new_key(&shared, &passphrase).await?;
            ensure_locked(&shared)?;
            adopt_new(&shared, core, derivation, sealer).await
        })
    }

    /// The core's settings: `{readReceipts, typingIndicators}`.
    #[wasm_bindgen(js_name = coreSettings)]
    pub fn core_settings(&self) -> Result<JsValue, JsValue> {
        self.with_core(|core| {
            let settings = core.settings();
            Ok(object(&[
                ("readReceipts", settings.read_receipts.into()),
                ("typingIndicators", settings.typing_indicators.into()),
            ]))
        })
    }

    /// Changes the core's settings.
    #[wasm_bindgen(js_name = setCoreSettings)]
    pub fn set_core_settings(
        &self,
        read_receipts: bool,
        typing_indicators: bool,
    ) -> Result<(), JsValue> {
        self.change(|core| {
            let settings = Settings {
                read_receipts,
                typing_indicators,
                ..core.settings()
            };
            core.set_settings(settings).map_err(core_error)
        })
    }

    /// The UI's preferences as it last stored them (its own JSON; empty when
    /// never stored).
    pub fn prefs(&self) -> Result<String, JsValue> {
        let shared = self.shared.borrow();
        let unlocked = shared
            .unlocked
            .as_ref()
            .ok_or_else(|| error("locked", "the profile is locked"))?;
        Ok(String::from_utf8_lossy(&unlocked.prefs).into_owned())
    }

    /// Stores the UI's preferences, sealed; resolves once IndexedDB has them.
    #[wasm_bindgen(js_name = setPrefs)]
    pub fn set_prefs(&self, prefs: String) -> Promise {
        let shared = Rc::clone(&self.shared);
        future_to_promise(async move {
            if prefs.len() > MAX_PREFS_LEN {
                return Err(error("invalid-input", "the preferences are too large"));
            }
            let sealed = {
                let mut state = shared.borrow_mut();
                let Some(unlocked) = state.unlocked.as_mut() else {
                    return Err(error("locked", "the profile is locked"));
                };
                unlocked.prefs = Zeroizing::new(prefs.into_bytes());
                seal_prefs(&unlocked.sealer, &unlocked.prefs)?
            };
            let database = Rc::clone(&shared.borrow().database);
            if let Err(cause) = database
                .write(
                    &[(META_PREFS, &sealed)],
                    Vec::new(),
                    false,
                    LogChange::Keep,
                    HeldChange::Keep,
                    Durability::Handed,
                )
                .await
            {
                storage_failed(&shared, &cause);
                return Err(internal(cause));
            }
            Ok(JsValue::UNDEFINED)
        })
    }
}

fn ensure_locked(shared: &Rc<RefCell<Shared>>) -> Result<(), JsValue> {
    if shared.borrow().unlocked.is_some() {
        return Err(error(
            "profile-exists",
            "lock the profile in use before replacing it",
        ));
    }
    Ok(())
}

/// The key of a new archive (fresh salt), derived in the worker.
struct ArchiveKey {
    derivation: KeyDerivation,
    key: StorageKey,
}

impl ArchiveKey {
    async fn derive(shared: &Rc<RefCell<Shared>>, passphrase: &str) -> Result<ArchiveKey, JsValue> {
        let derivation = new_derivation();
        let deriver = Rc::clone(&shared.borrow().deriver);
        let key = deriver.derive(&derivation, passphrase).await?;
        Ok(ArchiveKey { derivation, key })
    }

    /// The archive of `store` under this key, with a fresh nonce prefix.
    fn write(&self, store: &MirrorStore) -> Result<(Vec<u8>, sotto_core::ExportReceipt), JsValue> {
        let mut nonce_prefix = [0u8; 16];
        BrowserRng.fill_bytes(&mut nonce_prefix);
        export_archive_with_key(store, &self.derivation, &self.key, nonce_prefix)
            .map_err(archive_error)
    }
}

fn archive_error(archive: ArchiveError) -> JsValue {
    let kind = match &archive {
        ArchiveError::WrongPassphrase => "wrong-passphrase",
        ArchiveError::Store(_) => "internal",
        _ => "invalid-archive",
    };
    error(kind, &archive.to_string())
}
