//! `SottoClient` calls on contacts and chats: invitations, the contact
//! address and its requests, messages of every kind, receipts, typing, the
//! timer and verification. Each is one call into the core, then a pump.

use js_sys::Array;
use sotto_core::{MessageNumber, Profile, ReceiptSetting, RequestId};
use wasm_bindgen::prelude::*;

use crate::client::{SottoClient, contact_id, core_error, error, now};
use crate::js_object::{chat_object, item_object, object, request_object};
use crate::rng::BrowserRng;

#[wasm_bindgen]
impl SottoClient {
    /// The profile: `{displayName, bio}`.
    pub fn profile(&self) -> Result<JsValue, JsValue> {
        self.with_core(|core| {
            let profile = core.profile();
            Ok(object(&[
                ("displayName", profile.display_name().into()),
                ("bio", profile.bio().unwrap_or_default().into()),
            ]))
        })
    }

    /// Changes the profile and sends it to every contact.
    #[wasm_bindgen(js_name = updateProfile)]
    pub fn update_profile(&self, display_name: String, bio: String) -> Result<(), JsValue> {
        let bio = Some(bio.as_str()).filter(|bio| !bio.is_empty());
        let profile = Profile::new(&display_name, bio).map_err(core_error)?;
        self.change(|core| {
            core.update_profile(now(), &mut BrowserRng, profile)
                .map_err(core_error)
        })
    }

    /// Asks the home relay for a queue; the link comes as an
    /// `invitation-ready` event with this id.
    #[wasm_bindgen(js_name = createInvitation)]
    pub fn create_invitation(&self) -> Result<String, JsValue> {
        let relay = self.shared.borrow().home_relay.clone();
        let id = self.change(|core| {
            core.create_invitation(now(), &mut BrowserRng, &relay)
                .map_err(core_error)
        })?;
        Ok(id.0.to_string())
    }

    /// Connects with an invitation or contact address link; returns the new
    /// chat's id.
    pub fn connect(&self, link: String) -> Result<String, JsValue> {
        let relay = self.shared.borrow().home_relay.clone();
        let contact = self.change(|core| {
            core.connect(now(), &mut BrowserRng, &link, &relay)
                .map_err(core_error)
        })?;
        Ok(contact.0.to_string())
    }

    /// The contact address link, or null while there is none (or its queue is
    /// still being made).
    #[wasm_bindgen(js_name = contactAddress)]
    pub fn contact_address(&self) -> Result<Option<String>, JsValue> {
        self.with_core(|core| core.address_link().map_err(core_error))
    }

    /// Makes (or replaces) the contact address on the home relay; the link
    /// comes as an `address-ready` event.
    #[wasm_bindgen(js_name = createContactAddress)]
    pub fn create_contact_address(&self) -> Result<(), JsValue> {
        let relay = self.shared.borrow().home_relay.clone();
        self.change(|core| {
            core.create_address(now(), &mut BrowserRng, &relay)
                .map_err(core_error)
        })
    }

    /// Deletes the contact address (its queue goes from the relay).
    #[wasm_bindgen(js_name = deleteContactAddress)]
    pub fn delete_contact_address(&self) -> Result<(), JsValue> {
        self.change(|core| core.delete_address(now()).map_err(core_error))
    }

    /// Contact requests waiting: `[{id, displayName, receivedAt}]`.
    #[wasm_bindgen(js_name = contactRequests)]
    pub fn contact_requests(&self) -> Result<JsValue, JsValue> {
        self.with_core(|core| {
            let requests: Array = core
                .requests()
                .map_err(core_error)?
                .iter()
                .map(request_object)
                .collect();
            Ok(requests.into())
        })
    }

    /// Accepts a contact request; returns the new chat's id.
    #[wasm_bindgen(js_name = acceptRequest)]
    pub fn accept_request(&self, request: String) -> Result<String, JsValue> {
        let request = request_id(&request)?;
        let relay = self.shared.borrow().home_relay.clone();
        let contact = self.change(|core| {
            core.accept_request(now(), &mut BrowserRng, request, &relay)
                .map_err(core_error)
        })?;
        Ok(contact.0.to_string())
    }

    /// Rejects a contact request; nothing of it is kept.
    #[wasm_bindgen(js_name = rejectRequest)]
    pub fn reject_request(&self, request: String) -> Result<(), JsValue> {
        let request = request_id(&request)?;
        self.change(|core| core.reject_request(request).map_err(core_error))
    }

    /// Every chat, most recently active first (see `js_object::chat_object`).
    pub fn chats(&self) -> Result<JsValue, JsValue> {
        self.with_core(|core| {
            let contacts = core.contacts().map_err(core_error)?;
            let chats: Array = contacts
                .iter()
                .map(|contact| chat_object(core, contact))
                .collect();
            Ok(chats.into())
        })
    }

    /// One chat, or null.
    pub fn chat(&self, chat: String) -> Result<JsValue, JsValue> {
        let contact = contact_id(&chat)?;
        self.with_core(|core| {
            Ok(match core.contact(contact) {
                Ok(summary) => chat_object(core, &summary),
                Err(_) => JsValue::NULL,
            })
        })
    }

    /// Items of a chat, newest `limit` before `before` (an item id), oldest first.
    pub fn history(
        &self,
        chat: String,
        before: Option<String>,
        limit: u32,
    ) -> Result<JsValue, JsValue> {
        let contact = contact_id(&chat)?;
        let before = before.as_deref().map(message_number).transpose()?;
        self.with_core(|core| {
            let history = core
                .history(contact, before, limit as usize)
                .map_err(core_error)?;
            let items: Array = history.iter().map(|item| item_object(core, item)).collect();
            Ok(items.into())
        })
    }

    /// One item of a chat, or null.
    pub fn item(&self, chat: String, item: String) -> Result<JsValue, JsValue> {
        let contact = contact_id(&chat)?;
        let number = message_number(&item)?;
        self.with_core(|core| {
            Ok(match core.message(contact, number) {
                Ok(item) => item_object(core, &item),
                Err(_) => JsValue::NULL,
            })
        })
    }

    /// Sends a text, replying to `reply_to` if given; returns the new item.
    #[wasm_bindgen(js_name = sendText)]
    pub fn send_text(
        &self,
        chat: String,
        text: String,
        reply_to: Option<String>,
    ) -> Result<JsValue, JsValue> {
        let contact = contact_id(&chat)?;
        let reply_to = reply_to.as_deref().map(message_number).transpose()?;
        self.change(|core| {
            let number = core
                .send_text(now(), &mut BrowserRng, contact, &text, reply_to)
                .map_err(core_error)?;
            let item = core.message(contact, number).map_err(core_error)?;
            Ok(item_object(core, &item))
        })
    }

    /// Sets this user's reaction on a message; an empty `emoji` removes it.
    pub fn react(&self, chat: String, item: String, emoji: String) -> Result<(), JsValue> {
        let contact = contact_id(&chat)?;
        let number = message_number(&item)?;
        self.change(|core| {
            core.react(now(), &mut BrowserRng, contact, number, &emoji)
                .map_err(core_error)
        })
    }

    /// Edits one of this user's texts for both sides.
    pub fn edit(&self, chat: String, item: String, text: String) -> Result<(), JsValue> {
        let contact = contact_id(&chat)?;
        let number = message_number(&item)?;
        self.change(|core| {
            core.edit(now(), &mut BrowserRng, contact, number, &text)
                .map_err(core_error)
        })
    }

    /// Deletes one of this user's texts for both sides.
    #[wasm_bindgen(js_name = deleteForEveryone)]
    pub fn delete_for_everyone(&self, chat: String, item: String) -> Result<(), JsValue> {
        let contact = contact_id(&chat)?;
        let number = message_number(&item)?;
        self.change(|core| {
            core.delete_for_everyone(now(), &mut BrowserRng, contact, number)
                .map_err(core_error)
        })
    }

    /// The user saw the chat: its unread messages become read and read
    /// receipts go out as the settings say. Nothing happens when nothing is
    /// unread.
    #[wasm_bindgen(js_name = markRead)]
    pub fn mark_read(&self, chat: String) -> Result<(), JsValue> {
        let contact = contact_id(&chat)?;
        self.change(|core| {
            if core.contact(contact).map_err(core_error)?.unread == 0 {
                return Ok(());
            }
            core.mark_read(now(), &mut BrowserRng, contact)
                .map_err(core_error)
        })
    }

    /// Tells the contact this user is (or stopped) typing, if the typing
    /// indicator setting is on.
    #[wasm_bindgen(js_name = setTyping)]
    pub fn set_typing(&self, chat: String, typing: bool) -> Result<(), JsValue> {
        let contact = contact_id(&chat)?;
        self.change(|core| {
            core.set_typing(now(), &mut BrowserRng, contact, typing)
                .map_err(core_error)
        })
    }

    /// Sets the chat's disappearing-message timer for both sides (null: off).
    #[wasm_bindgen(js_name = setTimer)]
    pub fn set_timer(&self, chat: String, seconds: Option<u32>) -> Result<(), JsValue> {
        let contact = contact_id(&chat)?;
        self.change(|core| {
            core.set_timer(now(), &mut BrowserRng, contact, seconds)
                .map_err(core_error)
        })
    }

    /// Read receipts in one chat: `"default"`, `"on"` or `"off"`.
    #[wasm_bindgen(js_name = setChatReadReceipts)]
    pub fn set_chat_read_receipts(&self, chat: String, value: String) -> Result<(), JsValue> {
        let contact = contact_id(&chat)?;
        let setting = match value.as_str() {
            "default" => ReceiptSetting::Default,
            "on" => ReceiptSetting::On,
            "off" => ReceiptSetting::Off,
            _ => return Err(error("invalid-input", "unknown read receipt setting")),
        };
        self.change(|core| core.set_read_receipts(contact, setting).map_err(core_error))
    }

    /// The security code to compare: `{digits, qrPayload, verified}` (the QR
    /// payload as hex).
    #[wasm_bindgen(js_name = securityCode)]
    pub fn security_code(&self, chat: String) -> Result<JsValue, JsValue> {
        let contact = contact_id(&chat)?;
        self.with_core(|core| {
            let code = core.security_code(contact).map_err(core_error)?;
            let verified = core.contact(contact).map_err(core_error)?.verified;
            let payload: String = code
                .qr_payload()
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect();
            Ok(object(&[
                ("digits", code.digits().into()),
                ("qrPayload", payload.into()),
                ("verified", verified.into()),
            ]))
        })
    }

    /// Marks the contact's security code verified (or not).
    #[wasm_bindgen(js_name = setVerified)]
    pub fn set_verified(&self, chat: String, verified: bool) -> Result<(), JsValue> {
        let contact = contact_id(&chat)?;
        self.change(|core| core.set_verified(contact, verified).map_err(core_error))
    }
}

fn message_number(item: &str) -> Result<MessageNumber, JsValue> {
    item.parse()
        .map(MessageNumber)
        .map_err(|_| error("not-found", "no such message"))
}

fn request_id(request: &str) -> Result<RequestId, JsValue> {
    request
        .parse()
        .map(RequestId)
        .map_err(|_| error("not-found", "no such contact request"))
}
