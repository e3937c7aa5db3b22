//! The IndexedDB database of one browser profile: `meta` holds the key
//! derivation (not secret), `records` holds sealed records under their opaque
//! indexes, `log` the writes not folded into `records` yet (`crate::write_log`),
//! `held` the deliveries kept while locked, under the keys of its key
//! generator (arrival order; `sotto_sealed_store::held_delivery`).
//! Glue only: what the bytes are is `sotto_sealed_store`'s.

use js_sys::{Array, Promise, Uint8Array};
use sotto_sealed_store::sealed_profile::{SealedWrite, Snapshot};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    IdbDatabase, IdbObjectStore, IdbObjectStoreParameters, IdbRequest, IdbTransaction,
    IdbTransactionMode,
};

use crate::write_log::{self, WriteLog};

/// When IndexedDB reports a write committed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Durability {
    /// Once the browser has flushed it to disk (`"strict"`): what a write
    /// must be before anything that depends on it leaves (an ACK, a message
    /// sent with a ratchet key it advanced), as the native store's fsync.
    Flushed,
    /// Once it is in the operating system's hands (`"relaxed"`, Chromium's
    /// default since version 121, and other browsers'): it survives the
    /// browser's crash, not always the machine's.
    Handed,
}

const DATABASE: &str = "sotto";
/// Version 2 added `log`, version 3 `held`.
const VERSION: u32 = 3;
const META: &str = "meta";
const RECORDS: &str = "records";
const LOG: &str = "log";
const HELD: &str = "held";

/// What a write does to the log besides the records it puts.
pub(crate) enum LogChange {
    Keep,
    /// One more entry, under this key.
    Append(u64, Vec<u8>),
    /// Folded into the records: empty it.
    Clear,
}

/// What a write does to the deliveries kept while locked.
pub(crate) enum HeldChange {
    Keep,
    /// They were applied to the records this write holds: delete them.
    Delete(Vec<HeldKey>),
    /// A new profile: what was kept for the old one goes.
    Clear,
}

/// Where a kept delivery is in `held`: its key generator's number.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct HeldKey(f64);

/// The open database.
pub(crate) struct Database(IdbDatabase);

impl Database {
    /// Opens (creating on first use) this origin's Sotto database.
    pub(crate) async fn open() -> Result<Database, JsValue> {
        let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
        let factory = window
            .indexed_db()?
            .ok_or_else(|| JsValue::from_str("IndexedDB is unavailable"))?;
        let request = factory.open_with_u32(DATABASE, VERSION)?;
        let upgrade = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            let database = event
                .target()
                .and_then(|target| target.dyn_into::<IdbRequest>().ok())
                .and_then(|request| request.result().ok())
                .and_then(|result| result.dyn_into::<IdbDatabase>().ok());
            if let Some(database) = database {
                for name in [META, RECORDS, LOG] {
                    if !database.object_store_names().contains(name) {
                        let _ = database.create_object_store(name);
                    }
                }
                if !database.object_store_names().contains(HELD) {
                    let parameters = IdbObjectStoreParameters::new();
                    parameters.set_auto_increment(true);
                    let _ =
                        database.create_object_store_with_optional_parameters(HELD, &parameters);
                }
            }
        });
        request.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
        let result = finished(request.clone().into()).await;
        request.set_onupgradeneeded(None);
        drop(upgrade);
        Ok(Database(result?.dyn_into::<IdbDatabase>()?))
    }

    /// A value of `meta`.
    pub(crate) async fn meta(&self, name: &str) -> Result<Option<Vec<u8>>, JsValue> {
        let (_, store) = self.store(META, IdbTransactionMode::Readonly)?;
        let value = finished(store.get(&JsValue::from_str(name))?).await?;
        Ok(value
            .dyn_into::<Uint8Array>()
            .ok()
            .map(|bytes| bytes.to_vec()))
    }

    /// Every sealed record, `(index, sealed)`, with the log applied over
    /// them, and what the log holds.
    pub(crate) async fn records(&self) -> Result<(Vec<(Vec<u8>, Vec<u8>)>, WriteLog), JsValue> {
        let names = Array::of2(&JsValue::from_str(RECORDS), &JsValue::from_str(LOG));
        let transaction = self
            .0
            .transaction_with_str_sequence_and_mode(&names, IdbTransactionMode::Readonly)?;
        let store = transaction.object_store(RECORDS)?;
        let log = transaction.object_store(LOG)?;
        // Every request is watched before any is awaited: their success
        // events may fire back to back.
        let keys = finished(store.get_all_keys()?);
        let values = finished(store.get_all()?);
        let log_keys = finished(log.get_all_keys()?);
        let log_values = finished(log.get_all()?);
        let keys: Array = keys.await?.dyn_into()?;
        let values: Array = values.await?.dyn_into()?;
        let log_keys: Array = log_keys.await?.dyn_into()?;
        let log_values: Array = log_values.await?.dyn_into()?;
        let mut records = Vec::with_capacity(keys.length() as usize);
        for (key, value) in keys.iter().zip(values.iter()) {
            let key = binary(&key)?;
            let value = binary(&value)?;
            records.push((key, value));
        }
        let mut state = WriteLog::default();
        let mut entries = Vec::with_capacity(log_keys.length() as usize);
        // In key order, as IndexedDB returns them.
        for (key, value) in log_keys.iter().zip(log_values.iter()) {
            let key = key
                .as_f64()
                .filter(|key| key.fract() == 0.0 && (0.0..9.0e15).contains(key))
                .ok_or_else(|| JsValue::from_str("a write log key is not a number"))?;
            let entry = write_log::decode(&binary(&value)?)
                .map_err(|error| JsValue::from_str(&error.to_string()))?;
            // Lossless: a whole number checked to be in range just above.
            state.read_back(key as u64, &entry);
            entries.push(entry);
        }
        Ok((write_log::apply(records, &entries), state))
    }

    /// Keeps one delivery received while locked (`held`, sealed) and waits
    /// until it is on disk; returns how many are kept now.
    pub(crate) async fn hold(&self, held: &[u8]) -> Result<u32, JsValue> {
        let transaction = self.transaction(&[HELD], Durability::Flushed)?;
        let done = committed(&transaction);
        let store = transaction.object_store(HELD)?;
        let count = store
            .add(&Uint8Array::from(held))
            .and_then(|_| store.count());
        let count = match count {
            Ok(count) => finished(count),
            Err(error) => {
                let _ = transaction.abort();
                let _ = JsFuture::from(done).await;
                return Err(error);
            }
        };
        let count = count.await?;
        JsFuture::from(done).await?;
        // A count of records, far below 2^32.
        Ok(count.as_f64().unwrap_or_default() as u32)
    }

    /// How many deliveries are kept.
    pub(crate) async fn held_count(&self) -> Result<u32, JsValue> {
        let (_, store) = self.store(HELD, IdbTransactionMode::Readonly)?;
        let count = finished(store.count()?).await?;
        // A count of records, far below 2^32.
        Ok(count.as_f64().unwrap_or_default() as u32)
    }

    /// The first `limit` deliveries kept while locked, in arrival order.
    pub(crate) async fn held(&self, limit: u32) -> Result<Vec<(HeldKey, Vec<u8>)>, JsValue> {
        let (_, store) = self.store(HELD, IdbTransactionMode::Readonly)?;
        let keys = finished(store.get_all_keys_with_key_and_limit(&JsValue::NULL, limit)?);
        let values = finished(store.get_all_with_key_and_limit(&JsValue::NULL, limit)?);
        let keys: Array = keys.await?.dyn_into()?;
        let values: Array = values.await?.dyn_into()?;
        let mut held = Vec::with_capacity(keys.length() as usize);
        for (key, value) in keys.iter().zip(values.iter()) {
            let key = key
                .as_f64()
                .ok_or_else(|| JsValue::from_str("a held key is not a number"))?;
            held.push((HeldKey(key), binary(&value)?));
        }
        Ok(held)
    }

    /// Writes `snapshot`, replacing everything the database held (and the
    /// deliveries kept while locked as `held` says), and waits until it is
    /// on disk.
    pub(crate) async fn write_snapshot(
        &self,
        snapshot: Snapshot,
        held: HeldChange,
    ) -> Result<(), JsValue> {
        let meta: Vec<(&str, &[u8])> = snapshot
            .meta
            .iter()
            .map(|(name, value)| (*name, value.as_slice()))
            .collect();
        self.write(
            &meta,
            snapshot.records,
            true,
            LogChange::Clear,
            held,
            Durability::Flushed,
        )
        .await
    }

    /// Writes `meta` values, sealed records, `log` and `held` in one
    /// transaction (after clearing `meta`, `records` and `log` if
    /// `clear_first`) and waits until IndexedDB has committed it with
    /// `durability`. A request the browser refuses aborts the whole
    /// transaction: nothing of a failed write is kept.
    pub(crate) async fn write(
        &self,
        meta: &[(&str, &[u8])],
        writes: Vec<SealedWrite>,
        clear_first: bool,
        log: LogChange,
        held: HeldChange,
        durability: Durability,
    ) -> Result<(), JsValue> {
        // Every write spans every store, so that IndexedDB runs them all in
        // the order they were made.
        let transaction = self.transaction(&[META, RECORDS, LOG, HELD], durability)?;
        let done = committed(&transaction);
        if let Err(error) = Self::fill(&transaction, meta, writes, clear_first, log, held) {
            let _ = transaction.abort();
            // The abort rejects `done`; the request's error says more.
            let _ = JsFuture::from(done).await;
            return Err(error);
        }
        JsFuture::from(done).await.map(|_| ())
    }

    /// A read-write transaction over `names`, committed with `durability`.
    fn transaction(
        &self,
        names: &[&str],
        durability: Durability,
    ) -> Result<IdbTransaction, JsValue> {
        let names: Array = names.iter().map(|name| JsValue::from_str(name)).collect();
        let options = js_sys::Object::new();
        let durability = match durability {
            Durability::Flushed => "strict",
            Durability::Handed => "relaxed",
        };
        js_sys::Reflect::set(&options, &"durability".into(), &durability.into())?;
        // `transaction(names, mode, options)`: web-sys has the options only
        // among its unstable APIs.
        let open: js_sys::Function =
            js_sys::Reflect::get(&self.0, &"transaction".into())?.dyn_into()?;
        open.call3(&self.0, &names, &"readwrite".into(), &options)?
            .dyn_into()
    }

    fn fill(
        transaction: &IdbTransaction,
        meta: &[(&str, &[u8])],
        writes: Vec<SealedWrite>,
        clear_first: bool,
        log: LogChange,
        held: HeldChange,
    ) -> Result<(), JsValue> {
        let meta_store = transaction.object_store(META)?;
        let records = transaction.object_store(RECORDS)?;
        let log_store = transaction.object_store(LOG)?;
        let held_store = transaction.object_store(HELD)?;
        match held {
            HeldChange::Keep => {}
            HeldChange::Delete(keys) => {
                for HeldKey(key) in keys {
                    held_store.delete(&JsValue::from_f64(key))?;
                }
            }
            HeldChange::Clear => {
                held_store.clear()?;
            }
        }
        if clear_first {
            meta_store.clear()?;
            records.clear()?;
            log_store.clear()?;
        }
        match log {
            LogChange::Keep => {}
            LogChange::Append(key, entry) => {
                // Keys stay far below 2^53, exact as JavaScript numbers.
                log_store.put_with_key(
                    &Uint8Array::from(entry.as_slice()),
                    &JsValue::from_f64(key as f64),
                )?;
            }
            LogChange::Clear => {
                log_store.clear()?;
            }
        }
        for (name, value) in meta {
            meta_store.put_with_key(&Uint8Array::from(*value), &JsValue::from_str(name))?;
        }
        for write in writes {
            let key = Uint8Array::from(write.index.0.as_slice());
            match write.sealed {
                Some(sealed) => {
                    records.put_with_key(&Uint8Array::from(sealed.as_slice()), &key)?;
                }
                None => {
                    records.delete(&key)?;
                }
            }
        }
        Ok(())
    }

    fn store(
        &self,
        name: &str,
        mode: IdbTransactionMode,
    ) -> Result<(IdbTransaction, IdbObjectStore), JsValue> {
        let transaction = self.0.transaction_with_str_and_mode(name, mode)?;
        let store = transaction.object_store(name)?;
        Ok((transaction, store))
    }
}

/// The bytes of a key or value read back (stored as `Uint8Array`, read back as
/// `ArrayBuffer` for keys).
fn binary(value: &JsValue) -> Result<Vec<u8>, JsValue> {
    if let Some(bytes) = value.dyn_ref::<Uint8Array>() {
        return Ok(bytes.to_vec());
    }
    if let Some(buffer) = value.dyn_ref::<js_sys::ArrayBuffer>() {
        return Ok(Uint8Array::new(buffer).to_vec());
    }
    Err(JsValue::from_str("a stored record is not binary"))
}

/// Resolves with the request's result when it succeeds. The handlers are set
/// at once, before the returned future is first polled.
fn finished(request: IdbRequest) -> impl std::future::Future<Output = Result<JsValue, JsValue>> {
    let promise = Promise::new(&mut |resolve, reject| {
        request.set_onsuccess(Some(&resolve));
        request.set_onerror(Some(&reject));
    });
    async move {
        JsFuture::from(promise).await?;
        request.result()
    }
}

/// Resolves when the transaction commits, rejects when it fails or aborts.
fn committed(transaction: &IdbTransaction) -> Promise {
    Promise::new(&mut |resolve, reject| {
        transaction.set_oncomplete(Some(&resolve));
        transaction.set_onerror(Some(&reject));
        transaction.set_onabort(Some(&reject));
    })
}
