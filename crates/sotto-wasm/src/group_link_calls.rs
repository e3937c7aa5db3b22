//! `SottoClient` calls on group links: an admin's side (make, replace or
//! delete a group's link on the home relay, its approval setting, the
//! requests to join and their decisions) and a joiner's (ask to join with a
//! link, the joins waiting, cancelling one).
//!
//! The core does the rest: the link's queue and the joiner's reply queue
//! are queues like any other (made, secured, subscribed and received by the
//! relay links of `crate::client`); an approved add is a commit of ours,
//! which comes as `group_commit_ready` and goes to the log
//! (`crate::group_runner`); the welcome comes as `group_joined`, a refusal
//! as `group_join_refused`.

use wasm_bindgen::prelude::*;

use crate::chat_calls::chat_id;
use crate::client::{SottoClient, core_error, json, local_id, now};
use crate::rng::BrowserRng;

#[wasm_bindgen]
impl SottoClient {
    /// The group's link, if this device made one: `GroupLinkView`
    /// (`{group, link, automatic}`, `link` null until the relay made its
    /// queue), or null.
    #[wasm_bindgen(js_name = groupLink)]
    pub fn group_link(&self, chat: f64) -> Result<JsValue, JsValue> {
        let chat = chat_id(chat)?;
        self.with_core(|core| json(&core.group_link(chat).map_err(core_error)?))
    }

    /// Makes (or replaces) the group's link on the home relay; the old
    /// link's queue is deleted. The link shows once its queue exists (the
    /// group's `chat_changed`).
    #[wasm_bindgen(js_name = createGroupLink)]
    pub fn create_group_link(&self, chat: f64, automatic: bool) -> Result<(), JsValue> {
        let chat = chat_id(chat)?;
        let relay = self.shared.borrow().home_relay.clone();
        self.change(|core| {
            core.create_group_link(now(), &mut BrowserRng, chat, &relay, automatic)
                .map_err(core_error)
        })
    }

    /// Deletes the group's link: later requests through it are refused by
    /// its relay.
    #[wasm_bindgen(js_name = deleteGroupLink)]
    pub fn delete_group_link(&self, chat: f64) -> Result<(), JsValue> {
        let chat = chat_id(chat)?;
        self.change(|core| core.delete_group_link(now(), chat).map_err(core_error))
    }

    /// Whether requests through the group's link join without an admin.
    #[wasm_bindgen(js_name = setGroupLinkApproval)]
    pub fn set_group_link_approval(&self, chat: f64, automatic: bool) -> Result<(), JsValue> {
        let chat = chat_id(chat)?;
        self.change(|core| {
            core.set_group_link_approval(chat, automatic)
                .map_err(core_error)
        })
    }

    /// The requests to join through the group's link, oldest first:
    /// `GroupJoinRequestView`s (`{id, group, member, name, received_at,
    /// approved}`).
    #[wasm_bindgen(js_name = groupJoinRequests)]
    pub fn group_join_requests(&self, chat: f64) -> Result<JsValue, JsValue> {
        let chat = chat_id(chat)?;
        self.with_core(|core| json(&core.group_join_requests(chat).map_err(core_error)?))
    }

    /// Approves a request: its add goes to the log (`group_commit_ready`),
    /// the welcome to the requester once the add is in effect.
    #[wasm_bindgen(js_name = approveGroupJoin)]
    pub fn approve_group_join(&self, request: f64) -> Result<(), JsValue> {
        let request = join_request_id(request)?;
        self.change(|core| {
            core.approve_group_join(now(), &mut BrowserRng, request)
                .map_err(core_error)
        })
    }

    /// Declines a request: the requester is told, and it is forgotten.
    #[wasm_bindgen(js_name = declineGroupJoin)]
    pub fn decline_group_join(&self, request: f64) -> Result<(), JsValue> {
        let request = join_request_id(request)?;
        self.change(|core| {
            core.decline_group_join(now(), &mut BrowserRng, request)
                .map_err(core_error)
        })
    }

    /// The group's name as a group link gives it, to show before joining;
    /// an `invalid-invitation` error for text that is no group link.
    #[wasm_bindgen(js_name = groupLinkName)]
    pub fn group_link_name(&self, link: String) -> Result<String, JsValue> {
        let link = sotto_core::GroupLink::parse(&link).map_err(core_error)?;
        Ok(link.name)
    }

    /// Asks to join a group with its link, showing `name` in it (the
    /// profile's display name when empty) and `picture` (a small image of
    /// at most 2048 bytes; empty for none): a reply queue on the home relay,
    /// then the request to the link's queue. Returns the join's id, which
    /// `group_join_refused` names when the answer is no.
    #[wasm_bindgen(js_name = joinGroupByLink)]
    pub fn join_group_by_link(
        &self,
        link: String,
        name: String,
        picture: Vec<u8>,
    ) -> Result<f64, JsValue> {
        let relay = self.shared.borrow().home_relay.clone();
        let name = Some(name.as_str()).filter(|name| !name.is_empty());
        let join = self.change(|core| {
            core.join_group_by_link(now(), &mut BrowserRng, &link, &relay, name, picture)
                .map_err(core_error)
        })?;
        Ok(join as f64)
    }

    /// The joins through links waiting for an answer: `GroupLinkJoinView`s
    /// (`{id, name, requested, created_at}`).
    #[wasm_bindgen(js_name = groupLinkJoins)]
    pub fn group_link_joins(&self) -> Result<JsValue, JsValue> {
        self.with_core(|core| json(&core.group_link_joins().map_err(core_error)?))
    }

    /// Gives up a join waiting for an answer: its reply queue is deleted.
    #[wasm_bindgen(js_name = cancelGroupLinkJoin)]
    pub fn cancel_group_link_join(&self, join: f64) -> Result<(), JsValue> {
        let join = local_id(join, "no such join")?;
        self.change(|core| core.cancel_group_link_join(now(), join).map_err(core_error))
    }
}

fn join_request_id(request: f64) -> Result<u64, JsValue> {
    local_id(request, "no such join request")
}
