//! `SottoClient` calls that manage chats on this device (pin, archive,
//! alias, clear, block, delete, connect again) and search them. Each is one call into the
//! core; what changes reaches the UI as the core's events.

use wasm_bindgen::prelude::*;

use sotto_core::UnixMillis;

use crate::chat_calls::{chat_id, message_number};
use crate::client::{SottoClient, core_error, json, now};
use crate::rng::BrowserRng;

#[wasm_bindgen]
impl SottoClient {
    /// Pins a chat (listed first) or unpins it.
    #[wasm_bindgen(js_name = setPinned)]
    pub fn set_pinned(&self, chat: f64, pinned: bool) -> Result<(), JsValue> {
        let chat = chat_id(chat)?;
        self.change(|core| core.set_pinned(chat, pinned).map_err(core_error))
    }

    /// Archives a chat or brings it back.
    #[wasm_bindgen(js_name = setArchived)]
    pub fn set_archived(&self, chat: f64, archived: bool) -> Result<(), JsValue> {
        let chat = chat_id(chat)?;
        self.change(|core| core.set_archived(chat, archived).map_err(core_error))
    }

    /// Names the chat's peer on this device; an empty alias removes it.
    #[wasm_bindgen(js_name = setAlias)]
    pub fn set_alias(&self, chat: f64, alias: String) -> Result<(), JsValue> {
        let chat = chat_id(chat)?;
        let alias = Some(alias.as_str()).filter(|alias| !alias.trim().is_empty());
        self.change(|core| core.set_alias(chat, alias).map_err(core_error))
    }

    /// Mutes a chat until `until` (Unix ms; `null` unmutes; a time past 2^53
    /// means always).
    #[wasm_bindgen(js_name = setMuted)]
    pub fn set_muted(&self, chat: f64, until: Option<f64>) -> Result<(), JsValue> {
        let chat = chat_id(chat)?;
        let until = until.map(|until| {
            if until >= 9_007_199_254_740_992.0 {
                UnixMillis::FOREVER
            } else {
                UnixMillis(until.max(0.0) as u64)
            }
        });
        self.change(|core| core.set_muted(chat, until).map_err(core_error))
    }

    /// Deletes one item on this device only.
    #[wasm_bindgen(js_name = deleteForMe)]
    pub fn delete_for_me(&self, chat: f64, item: f64) -> Result<(), JsValue> {
        let chat = chat_id(chat)?;
        let item = message_number(item)?;
        self.change(|core| core.delete_for_me(chat, item).map_err(core_error))
    }

    /// Deletes every item of a chat on this device.
    #[wasm_bindgen(js_name = clearHistory)]
    pub fn clear_history(&self, chat: f64) -> Result<(), JsValue> {
        let chat = chat_id(chat)?;
        self.change(|core| core.clear_history(chat).map_err(core_error))
    }

    /// Blocks the chat's peer (its queue is deleted; nothing more arrives).
    pub fn block(&self, chat: f64) -> Result<(), JsValue> {
        let chat = chat_id(chat)?;
        self.change(|core| core.block(now(), chat).map_err(core_error))
    }

    /// Lifts a block.
    pub fn unblock(&self, chat: f64) -> Result<(), JsValue> {
        let chat = chat_id(chat)?;
        self.change(|core| core.unblock(chat).map_err(core_error))
    }

    /// Connects an existing chat's peer again through a new link (a link of
    /// someone the user already has a chat with: `join_failed.existing`). The
    /// chat is kept; it connects as a new one would (`chat_changed`), or
    /// `join_failed` says why not.
    pub fn reconnect(&self, chat: f64, link: String) -> Result<(), JsValue> {
        let chat = chat_id(chat)?;
        let relay = self.shared.borrow().home_relay.clone();
        self.change(|core| {
            core.reconnect(now(), &mut BrowserRng, chat, &link, &relay)
                .map_err(core_error)
        })
    }

    /// Deletes a chat on this device: history, connection and contact.
    #[wasm_bindgen(js_name = deleteChat)]
    pub fn delete_chat(&self, chat: f64) -> Result<(), JsValue> {
        let chat = chat_id(chat)?;
        self.change(|core| core.delete_contact(now(), chat).map_err(core_error))
    }

    /// The newest `limit` messages of any chat containing `query`:
    /// `SearchHit`s (`{chat_name, item}`), newest first.
    pub fn search(&self, query: String, limit: u32) -> Result<JsValue, JsValue> {
        self.with_core(|core| json(&core.search(&query, limit as usize).map_err(core_error)?))
    }
}
