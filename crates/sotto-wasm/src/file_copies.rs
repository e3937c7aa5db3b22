//! The profile's own copies of files in the browser: each file's chunks as
//! they travel (encrypted under the file key, which only the sealed records
//! hold), in an IndexedDB database of their own, `sotto-files`, so that the
//! profile's writes never wait for megabytes of chunks. The native client
//! keeps the same bytes in files (`sotto_client::files::local`).
//!
//! - `chunks`: key `[copy, index]` (a copy's name, the chunk's index in the
//!   file), value the chunk's bytes.
//! - `copies`: key `CHAT-NUMBER` (a file's chunks) or `CHAT-NUMBER.d` (its
//!   redirect's, docs/client-protocol.md §15), value the copy's name. A file
//!   being encrypted for sending has a copy of a random name (`c-HEX`) and no
//!   entry yet: one that never got its entry (the page closed meanwhile) is
//!   removed by [`FileCopies::remove_unless`].
//!
//! Glue only: what the bytes are is `sotto_files`'s.

use js_sys::{Array, Promise, Uint8Array};
use rand_core::RngCore;
use sotto_core::{ChatId, MessageNumber};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbKeyRange, IdbRequest, IdbTransaction, IdbTransactionMode};

use crate::rng::BrowserRng;

const DATABASE: &str = "sotto-files";
const VERSION: u32 = 1;
const CHUNKS: &str = "chunks";
const COPIES: &str = "copies";

/// The open database of copies.
pub(crate) struct FileCopies(IdbDatabase);

/// The name under which item `number`'s copy is listed (`redirect`: its
/// description's).
pub(crate) fn entry(chat: ChatId, number: MessageNumber, redirect: bool) -> String {
    let suffix = if redirect { ".d" } else { "" };
    format!("{}-{}{suffix}", chat.0, number.0)
}

impl FileCopies {
    /// Opens (creating on first use) this origin's database of copies.
    pub(crate) async fn open() -> Result<FileCopies, JsValue> {
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
                for name in [CHUNKS, COPIES] {
                    if !database.object_store_names().contains(name) {
                        let _ = database.create_object_store(name);
                    }
                }
            }
        });
        request.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
        let result = finished(request.clone().into()).await;
        request.set_onupgradeneeded(None);
        drop(upgrade);
        Ok(FileCopies(result?.dyn_into::<IdbDatabase>()?))
    }

    /// A fresh copy's name, for a file being encrypted.
    pub(crate) fn new_copy() -> String {
        format!("c-{:016x}", BrowserRng.next_u64())
    }

    /// Keeps chunk `index` of `copy` and waits until it is on disk.
    pub(crate) async fn put_chunk(
        &self,
        copy: &str,
        index: usize,
        bytes: &[u8],
    ) -> Result<(), JsValue> {
        let transaction = self.transaction(&[CHUNKS])?;
        let done = committed(&transaction);
        let put = transaction.object_store(CHUNKS).and_then(|store| {
            store.put_with_key(&Uint8Array::from(bytes), &chunk_key(copy, index))
        });
        if let Err(error) = put {
            let _ = transaction.abort();
            let _ = JsFuture::from(done).await;
            return Err(error);
        }
        JsFuture::from(done).await.map(|_| ())
    }

    /// Chunk `index` of `copy`, if it is kept.
    pub(crate) async fn chunk(&self, copy: &str, index: usize) -> Result<Option<Vec<u8>>, JsValue> {
        let transaction = self
            .0
            .transaction_with_str_and_mode(CHUNKS, IdbTransactionMode::Readonly)?;
        let store = transaction.object_store(CHUNKS)?;
        let value = finished(store.get(&chunk_key(copy, index))?).await?;
        Ok(value
            .dyn_into::<Uint8Array>()
            .ok()
            .map(|bytes| bytes.to_vec()))
    }

    /// The copy listed as item `number`'s, if any.
    pub(crate) async fn copy_of(
        &self,
        chat: ChatId,
        number: MessageNumber,
        redirect: bool,
    ) -> Result<Option<String>, JsValue> {
        let transaction = self
            .0
            .transaction_with_str_and_mode(COPIES, IdbTransactionMode::Readonly)?;
        let store = transaction.object_store(COPIES)?;
        let value =
            finished(store.get(&JsValue::from_str(&entry(chat, number, redirect)))?).await?;
        Ok(value.as_string())
    }

    /// Lists `copy` as item `number`'s and waits until it is on disk.
    pub(crate) async fn adopt(
        &self,
        copy: &str,
        chat: ChatId,
        number: MessageNumber,
        redirect: bool,
    ) -> Result<(), JsValue> {
        let transaction = self.transaction(&[COPIES])?;
        let done = committed(&transaction);
        let put = transaction.object_store(COPIES).and_then(|store| {
            store.put_with_key(
                &JsValue::from_str(copy),
                &JsValue::from_str(&entry(chat, number, redirect)),
            )
        });
        if let Err(error) = put {
            let _ = transaction.abort();
            let _ = JsFuture::from(done).await;
            return Err(error);
        }
        JsFuture::from(done).await.map(|_| ())
    }

    /// The copy of item `number` (`redirect`: its description's) that a
    /// download fills, listed under its own name.
    pub(crate) async fn download_copy(
        &self,
        chat: ChatId,
        number: MessageNumber,
        redirect: bool,
    ) -> Result<String, JsValue> {
        if let Some(copy) = self.copy_of(chat, number, redirect).await? {
            return Ok(copy);
        }
        let copy = entry(chat, number, redirect);
        self.adopt(&copy, chat, number, redirect).await?;
        Ok(copy)
    }

    /// Removes item `number`'s copies and their entries.
    pub(crate) async fn remove(&self, chat: ChatId, number: MessageNumber) -> Result<(), JsValue> {
        let mut copies = Vec::new();
        for redirect in [false, true] {
            if let Some(copy) = self.copy_of(chat, number, redirect).await? {
                copies.push(copy);
            }
        }
        let entries = [entry(chat, number, false), entry(chat, number, true)];
        self.remove_copies(&copies, &entries).await
    }

    /// Removes the chunks of `copy` (a copy that never got an entry).
    pub(crate) async fn remove_copy(&self, copy: &str) -> Result<(), JsValue> {
        self.remove_copies(&[copy.to_owned()], &[]).await
    }

    /// Removes every copy but those of `kept` and those `encrypting`: a
    /// copy whose record is gone, and one whose encryption never finished.
    pub(crate) async fn remove_unless(
        &self,
        kept: &[(ChatId, MessageNumber)],
        encrypting: &[String],
    ) -> Result<(), JsValue> {
        let transaction = self.0.transaction_with_str_sequence_and_mode(
            &Array::of2(&JsValue::from_str(CHUNKS), &JsValue::from_str(COPIES)),
            IdbTransactionMode::Readonly,
        )?;
        let entry_keys = finished(transaction.object_store(COPIES)?.get_all_keys()?);
        let entry_values = finished(transaction.object_store(COPIES)?.get_all()?);
        let chunk_keys = finished(transaction.object_store(CHUNKS)?.get_all_keys()?);
        let entry_keys: Array = entry_keys.await?.dyn_into()?;
        let entry_values: Array = entry_values.await?.dyn_into()?;
        let chunk_keys: Array = chunk_keys.await?.dyn_into()?;
        let kept_entries: Vec<String> = kept
            .iter()
            .flat_map(|(chat, number)| [entry(*chat, *number, false), entry(*chat, *number, true)])
            .collect();
        let mut listed = Vec::new();
        let mut stale_entries = Vec::new();
        let mut stale = Vec::new();
        for (key, value) in entry_keys.iter().zip(entry_values.iter()) {
            let (Some(key), Some(copy)) = (key.as_string(), value.as_string()) else {
                continue;
            };
            if kept_entries.contains(&key) {
                listed.push(copy);
            } else {
                stale_entries.push(key);
                stale.push(copy);
            }
        }
        for key in chunk_keys.iter() {
            let copy = Array::from(&key).get(0).as_string().unwrap_or_default();
            if !listed.contains(&copy) && !stale.contains(&copy) && !encrypting.contains(&copy) {
                stale.push(copy);
            }
        }
        if stale.is_empty() && stale_entries.is_empty() {
            return Ok(());
        }
        self.remove_copies(&stale, &stale_entries).await
    }

    async fn remove_copies(&self, copies: &[String], entries: &[String]) -> Result<(), JsValue> {
        let transaction = self.transaction(&[CHUNKS, COPIES])?;
        let done = committed(&transaction);
        let removed = (|| {
            let chunks = transaction.object_store(CHUNKS)?;
            let listed = transaction.object_store(COPIES)?;
            for copy in copies {
                let range = IdbKeyRange::bound(
                    &chunk_key(copy, 0),
                    &Array::of2(&JsValue::from_str(copy), &JsValue::from_f64(f64::INFINITY)),
                )?;
                chunks.delete(&range)?;
            }
            for key in entries {
                listed.delete(&JsValue::from_str(key))?;
            }
            Ok::<(), JsValue>(())
        })();
        if let Err(error) = removed {
            let _ = transaction.abort();
            let _ = JsFuture::from(done).await;
            return Err(error);
        }
        JsFuture::from(done).await.map(|_| ())
    }

    /// A read-write transaction over `names`, reported committed once the
    /// browser flushed it (`"strict"`): a chunk is on disk before the record
    /// that counts it.
    fn transaction(&self, names: &[&str]) -> Result<IdbTransaction, JsValue> {
        let names: Array = names.iter().map(|name| JsValue::from_str(name)).collect();
        let options = js_sys::Object::new();
        js_sys::Reflect::set(&options, &"durability".into(), &"strict".into())?;
        // `transaction(names, mode, options)`: web-sys has the options only
        // among its unstable APIs.
        let open: js_sys::Function =
            js_sys::Reflect::get(&self.0, &"transaction".into())?.dyn_into()?;
        open.call3(&self.0, &names, &"readwrite".into(), &options)?
            .dyn_into()
    }
}

fn chunk_key(copy: &str, index: usize) -> JsValue {
    // Chunk indexes are below 4096.
    Array::of2(&JsValue::from_str(copy), &JsValue::from_f64(index as f64)).into()
}

/// Resolves with the request's result when it succeeds.
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
