//! `SottoClient` calls on files: send a file the user picked, download one
//! offered, cancel a transfer either way, read a file back (to save it to
//! disk or show it), and the automatic download limit. The transfers
//! themselves run in `crate::file_runner`; their progress reaches the UI as
//! `file_progress` events, their ends as `item_changed`.

use js_sys::Promise;
use sotto_core::{AutoDownload, ChatId, FileMedia, MessageNumber};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::client::{SottoClient, core_error, local_id, now};
use crate::file_runner;
use crate::rng::BrowserRng;

fn item(chat: f64, number: f64) -> Result<(ChatId, MessageNumber), JsValue> {
    Ok((
        ChatId(local_id(chat, "no such chat")?),
        MessageNumber(local_id(number, "no such message")?),
    ))
}

#[wasm_bindgen]
impl SottoClient {
    /// Sends `file` (a `File` or `Blob`, read a slice at a time) to `chat`
    /// as `name` of type `mediaType`: encrypts it into the profile's copies,
    /// adds its item (`item_added`, state `uploading`) and uploads it; the
    /// message goes once every chunk is on the relay, with `preview` (a
    /// small image, up to 8192 bytes; empty for none), `durationMs` and
    /// `waveform` (a voice message's, up to 64 bytes; 0 and empty for
    /// none). Resolves with the item's number.
    #[wasm_bindgen(js_name = sendFile)]
    #[allow(clippy::too_many_arguments)]
    pub fn send_file(
        &self,
        chat: f64,
        file: web_sys::Blob,
        name: String,
        media_type: String,
        preview: Vec<u8>,
        duration_ms: u32,
        waveform: Vec<u8>,
    ) -> Promise {
        let shared = std::rc::Rc::clone(&self.shared);
        future_to_promise(async move {
            let chat = ChatId(local_id(chat, "no such chat")?);
            let media = FileMedia::new(preview, duration_ms, waveform).map_err(core_error)?;
            let number =
                file_runner::send(&shared, chat, file, name, media_type, Some(media)).await?;
            Ok(JsValue::from(number.0 as f64))
        })
    }

    /// Downloads incoming file `number` (or resumes its download).
    #[wasm_bindgen(js_name = downloadFile)]
    pub fn download_file(&self, chat: f64, number: f64) -> Result<(), JsValue> {
        let (chat, number) = item(chat, number)?;
        file_runner::download(&self.shared, chat, number)
    }

    /// Cancels the transfer of file `number`, either way.
    #[wasm_bindgen(js_name = cancelFile)]
    pub fn cancel_file(&self, chat: f64, number: f64) -> Result<(), JsValue> {
        let (chat, number) = item(chat, number)?;
        file_runner::cancel(&self.shared, chat, number)
    }

    /// Decrypts file `number` (received, or sent from this browser) into
    /// `sink(bytes)`, called with each `Uint8Array` in order; a promise it
    /// returns is awaited before the next. `save`: the bytes leave the
    /// profile (to a file the user chose), which a chat that blocks saving
    /// refuses (`saving-blocked`); showing the file in the page is always
    /// allowed. Rejects with `not-found` when the file is not here,
    /// `invalid-input` when it does not decrypt.
    #[wasm_bindgen(js_name = readFile)]
    pub fn read_file(&self, chat: f64, number: f64, sink: js_sys::Function, save: bool) -> Promise {
        let shared = std::rc::Rc::clone(&self.shared);
        let allowed = match item(chat, number) {
            Ok((chat, _)) if save => self.with_core(|core| {
                let settings = core.media_settings(chat).map_err(core_error)?;
                if settings.block_saving {
                    Err(crate::client::error(
                        "saving-blocked",
                        "Saving media is blocked in this chat.",
                    ))
                } else {
                    Ok(())
                }
            }),
            Ok(_) => Ok(()),
            Err(error) => Err(error),
        };
        future_to_promise(async move {
            allowed?;
            let (chat, number) = item(chat, number)?;
            file_runner::read(&shared, chat, number, sink).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Files up to `limit` bytes download as they arrive; `undefined` turns
    /// automatic downloads off.
    #[wasm_bindgen(js_name = setAutoDownload)]
    pub fn set_auto_download(&self, limit: Option<f64>) -> Result<(), JsValue> {
        let limit = limit
            .map(|limit| local_id(limit, "not a size"))
            .transpose()?;
        self.change(|core| core.set_auto_download(limit).map_err(core_error))
    }

    /// Automatic downloads in one chat, on this device: `"default"` (the
    /// limit above), `"on"` (every file) or `"off"`.
    #[wasm_bindgen(js_name = setChatAutoDownload)]
    pub fn set_chat_auto_download(&self, chat: f64, value: String) -> Result<(), JsValue> {
        let chat = ChatId(local_id(chat, "no such chat")?);
        let setting = match value.as_str() {
            "default" => AutoDownload::Default,
            "on" => AutoDownload::On,
            "off" => AutoDownload::Off,
            _ => {
                return Err(crate::client::error(
                    "invalid-input",
                    "unknown automatic download setting",
                ));
            }
        };
        self.change(|core| {
            core.set_chat_auto_download(chat, setting)
                .map_err(core_error)
        })
    }

    /// Blocks (or allows again) saving the chat's media out of the profile,
    /// for both sides: the peer is told, and a notice shows on both (in a
    /// group, for every member, through its log).
    #[wasm_bindgen(js_name = setBlockSaving)]
    pub fn set_block_saving(&self, chat: f64, block: bool) -> Result<(), JsValue> {
        let chat = ChatId(local_id(chat, "no such chat")?);
        if self.is_group(chat)? {
            let change = sotto_core::GroupSend::MediaPrivacy {
                block_saving: block,
            };
            return self.group_send(chat, change);
        }
        self.change(|core| {
            core.set_block_saving(now(), &mut BrowserRng, chat, block)
                .map_err(core_error)
        })
    }

    /// The automatic download limit in bytes, or `undefined` when off.
    #[wasm_bindgen(js_name = autoDownload)]
    pub fn auto_download(&self) -> Result<Option<f64>, JsValue> {
        self.with_core(|core| {
            Ok(core
                .auto_download()
                .map_err(core_error)?
                .map(|limit| limit as f64))
        })
    }
}
