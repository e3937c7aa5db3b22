//! `SottoClient` calls on contacts and chats: invitations, the contact
//! address and its requests, messages of every kind, receipts, typing, the
//! timer and verification. Each is one call into the core, then a pump.
//!
//! Ids cross as the numbers the views carry; views cross as JSON text (see
//! `crate::client::json`). What a call changes reaches the UI as the core's
//! events, complete, during the call.

use sotto_core::{ChatId, GroupSend, MessageNumber, Profile, ReceiptSetting, RequestId};
use wasm_bindgen::prelude::*;

use crate::client::{SottoClient, core_error, error, json, local_id, now, object};
use crate::rng::BrowserRng;
use crate::scanned_code::scanned_code_bytes;

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
    /// `invitation_ready` event with this id.
    #[wasm_bindgen(js_name = createInvitation)]
    pub fn create_invitation(&self) -> Result<f64, JsValue> {
        let relay = self.shared.borrow().home_relay.clone();
        let id = self.change(|core| {
            core.create_invitation(now(), &mut BrowserRng, &relay)
                .map_err(core_error)
        })?;
        Ok(id.0 as f64)
    }

    /// The one-time invitations not answered yet, by id: one that was
    /// answered is gone from the list when its `contact_connected` arrives.
    pub fn invitations(&self) -> Result<Vec<f64>, JsValue> {
        self.with_core(|core| {
            let pending = core.invitations().map_err(core_error)?;
            Ok(pending.iter().map(|id| id.0 as f64).collect())
        })
    }

    /// Connects with an invitation or contact address link; returns the new
    /// chat's id.
    pub fn connect(&self, link: String) -> Result<f64, JsValue> {
        let relay = self.shared.borrow().home_relay.clone();
        let chat = self.change(|core| {
            core.connect(now(), &mut BrowserRng, &link, &relay)
                .map_err(core_error)
        })?;
        Ok(chat.0 as f64)
    }

    /// The contact address link, or null while there is none (or its queue is
    /// still being made).
    #[wasm_bindgen(js_name = contactAddress)]
    pub fn contact_address(&self) -> Result<Option<String>, JsValue> {
        self.with_core(|core| core.address_link().map_err(core_error))
    }

    /// Makes (or replaces) the contact address on the home relay; the link
    /// comes as an `address_ready` event.
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

    /// Contact requests waiting: `RequestView`s.
    pub fn requests(&self) -> Result<JsValue, JsValue> {
        self.with_core(|core| json(&core.requests().map_err(core_error)?))
    }

    /// Accepts a contact request; returns the new chat's id.
    #[wasm_bindgen(js_name = acceptRequest)]
    pub fn accept_request(&self, request: f64) -> Result<f64, JsValue> {
        let request = request_id(request)?;
        let relay = self.shared.borrow().home_relay.clone();
        let chat = self.change(|core| {
            core.accept_request(now(), &mut BrowserRng, request, &relay)
                .map_err(core_error)
        })?;
        Ok(chat.0 as f64)
    }

    /// Rejects a contact request; nothing of it is kept.
    #[wasm_bindgen(js_name = rejectRequest)]
    pub fn reject_request(&self, request: f64) -> Result<(), JsValue> {
        let request = request_id(request)?;
        self.change(|core| core.reject_request(request).map_err(core_error))
    }

    /// Every chat, most recently active first: `ChatView`s.
    pub fn chats(&self) -> Result<JsValue, JsValue> {
        self.with_core(|core| json(&core.chats().map_err(core_error)?))
    }

    /// Items of a chat, the newest `limit` before item `before`, oldest
    /// first: `ItemView`s.
    pub fn history(&self, chat: f64, before: Option<f64>, limit: u32) -> Result<JsValue, JsValue> {
        let chat = chat_id(chat)?;
        let before = before.map(message_number).transpose()?;
        self.with_core(|core| {
            json(
                &core
                    .history(chat, before, limit as usize)
                    .map_err(core_error)?,
            )
        })
    }

    /// Sends a text, replying to item `reply_to` if given, in a group
    /// mentioning the members `mentions` (ids as `groupMembers` gives them);
    /// returns the new item's number (the item itself comes as an
    /// `item_added` event).
    #[wasm_bindgen(js_name = sendText)]
    pub fn send_text(
        &self,
        chat: f64,
        text: String,
        reply_to: Option<f64>,
        mentions: Option<Vec<String>>,
    ) -> Result<f64, JsValue> {
        let chat = chat_id(chat)?;
        let reply_to = reply_to.map(message_number).transpose()?;
        if self.is_group(chat)? {
            let mentions = mentions.unwrap_or_default();
            self.group_send(
                chat,
                GroupSend::Text {
                    text: &text,
                    reply_to,
                    mentions: &mentions,
                },
            )?;
            // The text is the newest item, numbered on this device at once.
            return self.with_core(|core| {
                let newest = core.history(chat, None, 1).map_err(core_error)?;
                Ok(newest.last().map_or(0.0, |item| item.number.0 as f64))
            });
        }
        let number = self.change(|core| {
            core.send_text(now(), &mut BrowserRng, chat, &text, reply_to)
                .map_err(core_error)
        })?;
        Ok(number.0 as f64)
    }

    /// Sets this user's reaction on a message; an empty `emoji` removes it.
    pub fn react(&self, chat: f64, item: f64, emoji: String) -> Result<(), JsValue> {
        let contact = chat_id(chat)?;
        let number = message_number(item)?;
        if self.is_group(contact)? {
            let reaction = GroupSend::Reaction {
                message: number,
                emoji: &emoji,
            };
            return self.group_send(contact, reaction);
        }
        self.change(|core| {
            core.react(now(), &mut BrowserRng, contact, number, &emoji)
                .map_err(core_error)
        })
    }

    /// Edits one of this user's texts for both sides.
    pub fn edit(&self, chat: f64, item: f64, text: String) -> Result<(), JsValue> {
        let contact = chat_id(chat)?;
        let number = message_number(item)?;
        if self.is_group(contact)? {
            let edit = GroupSend::Edit {
                message: number,
                text: &text,
            };
            return self.group_send(contact, edit);
        }
        self.change(|core| {
            core.edit(now(), &mut BrowserRng, contact, number, &text)
                .map_err(core_error)
        })
    }

    /// Deletes one of this user's texts for both sides.
    #[wasm_bindgen(js_name = deleteForEveryone)]
    pub fn delete_for_everyone(&self, chat: f64, item: f64) -> Result<(), JsValue> {
        let contact = chat_id(chat)?;
        let number = message_number(item)?;
        if self.is_group(contact)? {
            return self.group_send(contact, GroupSend::Delete { message: number });
        }
        self.change(|core| {
            core.delete_for_everyone(now(), &mut BrowserRng, contact, number)
                .map_err(core_error)
        })
    }

    /// The user saw the chat: its unread messages become read and read
    /// receipts go out as the settings say. Nothing happens when nothing is
    /// unread.
    #[wasm_bindgen(js_name = markRead)]
    pub fn mark_read(&self, chat: f64) -> Result<(), JsValue> {
        let contact = chat_id(chat)?;
        let group = self.change(|core| {
            let chat = core.chat(contact).map_err(core_error)?;
            if chat.unread == 0 {
                return Ok(false);
            }
            core.mark_read(now(), &mut BrowserRng, contact)
                .map_err(core_error)?;
            Ok(chat.members.is_some())
        })?;
        // A group's read receipts go with the next write to its log: now.
        if group {
            crate::group_runner::read(&self.shared, contact);
        }
        Ok(())
    }

    /// Tells the contact this user is (or stopped) typing, if the typing
    /// indicator setting is on.
    #[wasm_bindgen(js_name = setTyping)]
    pub fn set_typing(&self, chat: f64, typing: bool) -> Result<(), JsValue> {
        let contact = chat_id(chat)?;
        // No typing indicators in groups.
        if self.is_group(contact)? {
            return Ok(());
        }
        self.change(|core| {
            core.set_typing(now(), &mut BrowserRng, contact, typing)
                .map_err(core_error)
        })
    }

    /// Sets the chat's disappearing-message timer for both sides (null: off).
    #[wasm_bindgen(js_name = setTimer)]
    pub fn set_timer(&self, chat: f64, seconds: Option<u32>) -> Result<(), JsValue> {
        let contact = chat_id(chat)?;
        if self.is_group(contact)? {
            return self.group_send(contact, GroupSend::Timer { seconds });
        }
        self.change(|core| {
            core.set_timer(now(), &mut BrowserRng, contact, seconds)
                .map_err(core_error)
        })
    }

    /// Read receipts in one chat: `"default"`, `"on"` or `"off"`.
    #[wasm_bindgen(js_name = setChatReadReceipts)]
    pub fn set_chat_read_receipts(&self, chat: f64, value: String) -> Result<(), JsValue> {
        let contact = chat_id(chat)?;
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
    pub fn security_code(&self, chat: f64) -> Result<JsValue, JsValue> {
        let contact = chat_id(chat)?;
        self.with_core(|core| {
            let code = core.security_code(contact).map_err(core_error)?;
            let verified = core.chat(contact).map_err(core_error)?.verified;
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

    /// Whether `scanned`, the text of a QR code scanned from the contact's
    /// screen, shows this chat's security code (hex, as `securityCode` gives
    /// it). The core compares in constant time; anything that is not such a
    /// payload is simply no match.
    #[wasm_bindgen(js_name = securityCodeMatches)]
    pub fn security_code_matches(&self, chat: f64, scanned: String) -> Result<bool, JsValue> {
        let contact = chat_id(chat)?;
        let Some(payload) = scanned_code_bytes(&scanned) else {
            return Ok(false);
        };
        self.with_core(|core| {
            let code = core.security_code(contact).map_err(core_error)?;
            Ok(code.matches_qr_payload(&payload))
        })
    }

    /// Marks the contact's security code verified (or not).
    #[wasm_bindgen(js_name = setVerified)]
    pub fn set_verified(&self, chat: f64, verified: bool) -> Result<(), JsValue> {
        let contact = chat_id(chat)?;
        self.change(|core| core.set_verified(contact, verified).map_err(core_error))
    }
}

pub(crate) fn chat_id(chat: f64) -> Result<ChatId, JsValue> {
    local_id(chat, "no such chat").map(ChatId)
}

pub(crate) fn message_number(item: f64) -> Result<MessageNumber, JsValue> {
    local_id(item, "no such message").map(MessageNumber)
}

fn request_id(request: f64) -> Result<RequestId, JsValue> {
    local_id(request, "no such contact request").map(RequestId)
}
