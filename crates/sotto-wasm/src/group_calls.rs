//! `SottoClient` calls on groups: create one (its log on the home relay),
//! invite a contact, the members with their roles and security codes,
//! promote, remove, leave, delete for everyone, the invitations held for the user, "who can
//! add me to groups", and blocking a member for me. A group is a chat: its messages go through the chat
//! calls (`crate::chat_calls`), which hand a group's entries to the group
//! logs (`crate::group_runner`).
//!
//! A commit (a role, a removal) is made on the group's newest epoch the
//! core knows and goes to the log with the next read; it takes effect once
//! it comes back first for its epoch.

use std::rc::Rc;

use sotto_core::{ChatId, GroupAdds, GroupRole, GroupSend};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::chat_calls::chat_id;
use crate::client::{SottoClient, core_error, error, json, now, object, pump};
use crate::rng::BrowserRng;

#[wasm_bindgen]
impl SottoClient {
    /// Creates a group named `name` (its log on the home relay), of which
    /// this profile is the owner and only member; resolves with its chat id.
    #[wasm_bindgen(js_name = createGroup)]
    pub fn create_group(&self, name: String) -> js_sys::Promise {
        let shared = Rc::clone(&self.shared);
        future_to_promise(async move {
            let relay = {
                let state = shared.borrow();
                if state.unlocked.is_none() {
                    return Err(error("locked", "the profile is locked"));
                }
                state.home_relay.clone()
            };
            if name.trim().is_empty() || name.len() > sotto_core::MAX_DISPLAY_NAME_LEN {
                return Err(error(
                    "invalid-input",
                    "a group needs a name, of at most 64 bytes",
                ));
            }
            let log = crate::group_runner::create_log(&shared, &relay)
                .await
                .map_err(|_| {
                    error(
                        "offline",
                        "the relay could not be reached to make the group",
                    )
                })?;
            let chat = {
                let mut state = shared.borrow_mut();
                let unlocked = state
                    .unlocked
                    .as_mut()
                    .ok_or_else(|| error("locked", "the profile is locked"))?;
                unlocked
                    .core
                    .create_group(now(), &name, log)
                    .map_err(core_error)?
            };
            pump(&shared);
            crate::group_runner::refresh(&shared);
            Ok(JsValue::from(chat.0 as f64))
        })
    }

    /// Every group: `GroupView`s (`{id, name, members, active, role}`).
    pub fn groups(&self) -> Result<JsValue, JsValue> {
        self.with_core(|core| json(&core.groups().map_err(core_error)?))
    }

    /// Invites contact `contact` into group `chat`: the invitation goes over
    /// their chat; they join once their answer came back and the commit
    /// that adds them is in the log.
    #[wasm_bindgen(js_name = inviteToGroup)]
    pub fn invite_to_group(&self, chat: f64, contact: f64) -> Result<(), JsValue> {
        let (chat, contact) = (chat_id(chat)?, chat_id(contact)?);
        self.change(|core| {
            core.invite_to_group(now(), &mut BrowserRng, chat, contact)
                .map_err(core_error)
        })
    }

    /// The members of a group: `GroupMemberView`s (`{id, name, picture,
    /// role, me, blocked}`; `picture` base64 or null).
    #[wasm_bindgen(js_name = groupMembers)]
    pub fn group_members(&self, chat: f64) -> Result<JsValue, JsValue> {
        let chat = chat_id(chat)?;
        self.with_core(|core| json(&core.group_members(chat).map_err(core_error)?))
    }

    /// The security code to compare with a member (by the id
    /// `groupMembers` gives): `{digits, qrPayload}` (the QR payload as hex).
    #[wasm_bindgen(js_name = groupSecurityCode)]
    pub fn group_security_code(&self, chat: f64, member: String) -> Result<JsValue, JsValue> {
        let chat = chat_id(chat)?;
        self.with_core(|core| {
            let code = core
                .group_security_code(chat, &member)
                .map_err(core_error)?;
            let payload: String = code
                .qr_payload()
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect();
            Ok(object(&[
                ("digits", code.digits().into()),
                ("qrPayload", payload.into()),
            ]))
        })
    }

    /// Gives a member a role: `"owner"`, `"admin"` or `"member"`.
    #[wasm_bindgen(js_name = setGroupRole)]
    pub fn set_group_role(&self, chat: f64, member: String, role: String) -> Result<(), JsValue> {
        let chat = chat_id(chat)?;
        let role = match role.as_str() {
            "owner" => GroupRole::Owner,
            "admin" => GroupRole::Admin,
            "member" => GroupRole::Member,
            _ => return Err(error("invalid-input", "unknown role")),
        };
        self.change(|core| core.set_group_role(chat, &member, role).map_err(core_error))?;
        crate::group_runner::read(&self.shared, chat);
        Ok(())
    }

    /// Gives the group a new name, description and picture (a small
    /// image of at most 8192 bytes; empty for none): owners and admins.
    #[wasm_bindgen(js_name = setGroupProfile)]
    pub fn set_group_profile(
        &self,
        chat: f64,
        name: String,
        description: String,
        picture: Vec<u8>,
    ) -> Result<(), JsValue> {
        let chat = chat_id(chat)?;
        self.change(|core| {
            core.set_group_profile(chat, &name, &description, picture)
                .map_err(core_error)
        })?;
        crate::group_runner::read(&self.shared, chat);
        Ok(())
    }

    /// Changes the name and picture this profile shows in the group (any
    /// member; `undefined` keeps one as it is; an empty picture: none; a
    /// picture is a small image of at most 2048 bytes).
    #[wasm_bindgen(js_name = setGroupSelf)]
    pub fn set_group_self(
        &self,
        chat: f64,
        name: Option<String>,
        picture: Option<Vec<u8>>,
    ) -> Result<(), JsValue> {
        let chat = chat_id(chat)?;
        self.change(|core| {
            core.set_group_self(chat, name.as_deref(), picture)
                .map_err(core_error)
        })?;
        crate::group_runner::read(&self.shared, chat);
        Ok(())
    }

    /// Removes a member from the group.
    #[wasm_bindgen(js_name = removeGroupMember)]
    pub fn remove_group_member(&self, chat: f64, member: String) -> Result<(), JsValue> {
        let chat = chat_id(chat)?;
        self.change(|core| core.remove_group_member(chat, &member).map_err(core_error))?;
        crate::group_runner::read(&self.shared, chat);
        Ok(())
    }

    /// Blocks (or, with `blocked` false, unblocks) a member for this
    /// profile only: their messages are dropped as they arrive; no one is
    /// told.
    #[wasm_bindgen(js_name = blockGroupMember)]
    pub fn block_group_member(
        &self,
        chat: f64,
        member: String,
        blocked: bool,
    ) -> Result<(), JsValue> {
        let chat = chat_id(chat)?;
        self.change(|core| {
            core.block_group_member(chat, &member, blocked)
                .map_err(core_error)
        })
    }

    /// Leaves the group: out once an admin's client commits it.
    #[wasm_bindgen(js_name = leaveGroup)]
    pub fn leave_group(&self, chat: f64) -> Result<(), JsValue> {
        let chat = chat_id(chat)?;
        let proposal = self.change(|core| core.leave_group(chat).map_err(core_error))?;
        crate::group_runner::send(&self.shared, chat, proposal);
        Ok(())
    }

    /// Deletes the group for everyone (owners): the deletion goes to the
    /// log, and once it is read back the log is deleted from its relay.
    /// Called again for a group this profile deleted, deletes the log again.
    #[wasm_bindgen(js_name = deleteGroup)]
    pub fn delete_group(&self, chat: f64) -> Result<(), JsValue> {
        let chat = chat_id(chat)?;
        let deletion = self.change(|core| core.delete_group(now(), chat).map_err(core_error))?;
        match deletion {
            Some(entry) => crate::group_runner::send(&self.shared, chat, entry),
            None => {
                let shared = Rc::clone(&self.shared);
                wasm_bindgen_futures::spawn_local(async move {
                    crate::group_runner::delete_log(&shared, chat).await;
                });
            }
        }
        Ok(())
    }

    /// The invitations held for the user ("who can add me to groups" is
    /// "nobody"): `GroupInvitationView`s (`{id, contact, name, received_at}`).
    #[wasm_bindgen(js_name = groupInvitations)]
    pub fn group_invitations(&self) -> Result<JsValue, JsValue> {
        self.with_core(|core| json(&core.group_invitations().map_err(core_error)?))
    }

    /// Accepts a held invitation: the answer goes to the inviting contact.
    #[wasm_bindgen(js_name = acceptGroupInvitation)]
    pub fn accept_group_invitation(&self, invitation: f64) -> Result<(), JsValue> {
        let invitation = invitation_id(invitation)?;
        self.change(|core| {
            core.accept_group_invitation(now(), &mut BrowserRng, invitation)
                .map_err(core_error)
        })
    }

    /// Declines a held invitation; nothing of it is kept.
    #[wasm_bindgen(js_name = declineGroupInvitation)]
    pub fn decline_group_invitation(&self, invitation: f64) -> Result<(), JsValue> {
        let invitation = invitation_id(invitation)?;
        self.change(|core| {
            core.decline_group_invitation(invitation)
                .map_err(core_error)
        })
    }

    /// Who can add this profile to groups: `"contacts"` or `"nobody"`.
    #[wasm_bindgen(js_name = groupAdds)]
    pub fn group_adds(&self) -> Result<String, JsValue> {
        self.with_core(|core| {
            Ok(match core.settings().group_adds {
                GroupAdds::Contacts => "contacts",
                GroupAdds::Nobody => "nobody",
            }
            .to_owned())
        })
    }

    /// Sets who can add this profile to groups: `"contacts"` (they add it
    /// directly) or `"nobody"` (every invitation waits for the user).
    #[wasm_bindgen(js_name = setGroupAdds)]
    pub fn set_group_adds(&self, value: String) -> Result<(), JsValue> {
        let group_adds = match value.as_str() {
            "contacts" => GroupAdds::Contacts,
            "nobody" => GroupAdds::Nobody,
            _ => return Err(error("invalid-input", "contacts or nobody")),
        };
        self.change(|core| {
            let settings = sotto_core::Settings {
                group_adds,
                ..core.settings()
            };
            core.set_settings(settings).map_err(core_error)
        })
    }
}

impl SottoClient {
    /// Whether `chat` is a group's.
    pub(crate) fn is_group(&self, chat: ChatId) -> Result<bool, JsValue> {
        self.with_core(|core| Ok(core.chat(chat).map_err(core_error)?.members.is_some()))
    }

    /// Encrypts `message` for the group and hands the entry to its log;
    /// what it changes in the history shows at once.
    pub(crate) fn group_send(&self, chat: ChatId, message: GroupSend<'_>) -> Result<(), JsValue> {
        let entry =
            self.change(|core| core.group_send(now(), chat, message).map_err(core_error))?;
        crate::group_runner::send(&self.shared, chat, entry);
        Ok(())
    }
}

fn invitation_id(invitation: f64) -> Result<u64, JsValue> {
    crate::client::local_id(invitation, "no such group invitation")
}
