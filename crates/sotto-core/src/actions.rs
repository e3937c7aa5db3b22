//! The user's actions, as the front ends call them: each is routed to the
//! sub-machine it is for (the connector makes and ends connections, chats
//! send and manage the history), then the jobs it made are handed out.

use rand_core::CryptoRngCore;
use sotto_wire::RelayAddress;

use crate::core::Core;
use crate::ids::{ChatId, InvitationId, MessageNumber, RequestId};
use crate::profile::Profile;
use crate::time::UnixMillis;
use crate::{CoreError, Store};

impl<S: Store> Core<S> {
    // --- Connections (the connector) --------------------------------------------

    /// Creates a one-time invitation on `relay`. The link comes with
    /// [`Event::InvitationReady`](crate::Event::InvitationReady) once the relay has made the queue.
    pub fn create_invitation(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        relay: &RelayAddress,
    ) -> Result<InvitationId, CoreError> {
        let (mut cx, _, connector, _) = self.parts();
        let result = connector.create_invitation(&mut cx, now, rng, relay);
        self.after_action(now, result)
    }

    /// Withdraws a one-time invitation that was not answered: its queue is
    /// deleted on the relay and its keys forgotten.
    pub fn delete_invitation(
        &mut self,
        now: UnixMillis,
        invitation: InvitationId,
    ) -> Result<(), CoreError> {
        let (mut cx, _, connector, _) = self.parts();
        let result = connector.delete_invitation(&mut cx, now, invitation);
        self.after_action(now, result)
    }

    /// Creates (or replaces) the long-term contact address on `relay`. The link
    /// comes with [`Event::AddressReady`](crate::Event::AddressReady).
    pub fn create_address(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        relay: &RelayAddress,
    ) -> Result<(), CoreError> {
        let (mut cx, _, connector, _) = self.parts();
        let result = connector.create_address(&mut cx, now, rng, relay);
        self.after_action(now, result)
    }

    /// Deletes the contact address: its queue is deleted on the relay and
    /// later requests cannot arrive. Pending requests stay until decided.
    pub fn delete_address(&mut self, now: UnixMillis) -> Result<(), CoreError> {
        let (mut cx, _, connector, _) = self.parts();
        let result = connector.delete_address(&mut cx, now);
        self.after_action(now, result)
    }

    /// Deletes a chat with its peer: the connection's receiving queue is
    /// deleted on the relay, the history and everything queued for it are
    /// forgotten.
    pub fn delete_contact(&mut self, now: UnixMillis, chat: ChatId) -> Result<(), CoreError> {
        let (mut cx, _, connector, chats) = self.parts();
        let result = connector.delete_contact(&mut cx, chats, now, chat);
        if result.is_ok() {
            self.chats.refresh_expiry(&self.store)?;
        }
        self.after_action(now, result)
    }

    /// Connects through an invitation or contact-address link, receiving on a
    /// new queue on `relay` (this user's relay, maybe not the inviter's).
    pub fn connect(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        link: &str,
        relay: &RelayAddress,
    ) -> Result<ChatId, CoreError> {
        let (mut cx, _, connector, chats) = self.parts();
        let result = connector.connect(&mut cx, chats, now, rng, link, relay);
        self.after_action(now, result)
    }

    /// Accepts a contact request: a queue for this peer is made on `relay`,
    /// then the connection is confirmed.
    pub fn accept_request(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        request: RequestId,
        relay: &RelayAddress,
    ) -> Result<ChatId, CoreError> {
        let (mut cx, _, connector, _) = self.parts();
        let result = connector.accept_request(&mut cx, now, rng, request, relay);
        self.after_action(now, result)
    }

    /// Accepts a contact request as a new connection of an existing chat's
    /// peer (who lost their device, say): the chat is kept, the old queues
    /// are deleted, and if the identity key differs the chat shows
    /// [`ChatNotice::KeysChanged`](crate::ChatNotice::KeysChanged) and the peer is no longer verified.
    pub fn accept_request_into(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        request: RequestId,
        chat: ChatId,
        relay: &RelayAddress,
    ) -> Result<ChatId, CoreError> {
        let (mut cx, _, connector, chats) = self.parts();
        let result = connector.accept_request_into(&mut cx, chats, now, rng, request, chat, relay);
        self.after_action(now, result)
    }

    /// Connects an existing chat's peer again through a new link (the peer
    /// lost their device, say): like [`Core::connect`], but the chat is kept,
    /// the old queues are deleted, and if the identity key differs the chat
    /// shows [`ChatNotice::KeysChanged`](crate::ChatNotice::KeysChanged) and the peer is no longer verified.
    pub fn reconnect(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        chat: ChatId,
        link: &str,
        relay: &RelayAddress,
    ) -> Result<(), CoreError> {
        let (mut cx, _, connector, chats) = self.parts();
        let result = connector.reconnect(&mut cx, chats, now, rng, chat, link, relay);
        self.after_action(now, result)
    }

    /// Rejects a contact request: it is deleted and leaves nothing behind.
    pub fn reject_request(&mut self, request: RequestId) -> Result<(), CoreError> {
        let (mut cx, _, connector, _) = self.parts();
        connector.reject_request(&mut cx, request)
    }

    // --- Chats -------------------------------------------------------------------

    /// Sends a text, optionally replying to `reply_to`. Returns its number in
    /// the chat; its status starts at [`MessageStatus::Pending`](crate::MessageStatus::Pending).
    pub fn send_text(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        chat: ChatId,
        text: &str,
        reply_to: Option<MessageNumber>,
    ) -> Result<MessageNumber, CoreError> {
        let (mut cx, _, _, chats) = self.parts();
        let result = chats.send_text(&mut cx, now, rng, chat, text, reply_to);
        self.after_action(now, result)
    }

    /// Reacts to a message (an empty `emoji` removes this user's reaction).
    pub fn react(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        chat: ChatId,
        message: MessageNumber,
        emoji: &str,
    ) -> Result<(), CoreError> {
        let (mut cx, _, _, chats) = self.parts();
        let result = chats.react(&mut cx, now, rng, chat, message, emoji);
        self.after_action(now, result)
    }

    /// Edits one of this user's texts, for both sides.
    pub fn edit(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        chat: ChatId,
        message: MessageNumber,
        text: &str,
    ) -> Result<(), CoreError> {
        let (mut cx, _, _, chats) = self.parts();
        let result = chats.edit(&mut cx, now, rng, chat, message, text);
        self.after_action(now, result)
    }

    /// Deletes one of this user's texts for everyone.
    pub fn delete_for_everyone(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        chat: ChatId,
        message: MessageNumber,
    ) -> Result<(), CoreError> {
        let (mut cx, _, _, chats) = self.parts();
        let result = chats.delete_for_everyone(&mut cx, now, rng, chat, message);
        self.after_action(now, result)
    }

    /// The user read the chat: incoming messages become read, and read
    /// receipts go out if the setting allows and the chat is connected.
    pub fn mark_read(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        chat: ChatId,
    ) -> Result<(), CoreError> {
        let (mut cx, _, _, chats) = self.parts();
        let result = chats.mark_read(&mut cx, now, rng, chat);
        self.after_action(now, result)
    }

    /// Tells the contact that this user is (or stopped) typing, if typing
    /// indicators are on in the settings.
    pub fn set_typing(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        chat: ChatId,
        typing: bool,
    ) -> Result<(), CoreError> {
        let (mut cx, _, _, chats) = self.parts();
        let result = chats.set_typing(&mut cx, now, rng, chat, typing);
        self.after_action(now, result)
    }

    /// Sets the chat's disappearing-message timer (30 s to 4 weeks, or `None`
    /// for off), for both sides. It applies to messages sent after it.
    pub fn set_timer(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        chat: ChatId,
        seconds: Option<u32>,
    ) -> Result<(), CoreError> {
        let (mut cx, _, _, chats) = self.parts();
        let result = chats.set_timer(&mut cx, now, rng, chat, seconds);
        self.after_action(now, result)
    }

    /// Blocks (or allows again) saving media out of the chat and exporting
    /// it with the chat, for both sides: the peer is told in a
    /// `MediaPrivacy` chat message, and a notice shows on both sides.
    pub fn set_block_saving(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        chat: ChatId,
        block_saving: bool,
    ) -> Result<(), CoreError> {
        let (mut cx, _, _, chats) = self.parts();
        let result = chats.set_block_saving(&mut cx, now, rng, chat, block_saving);
        self.after_action(now, result)
    }

    /// Changes this user's profile and sends it to every connected peer.
    pub fn update_profile(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        profile: Profile,
    ) -> Result<(), CoreError> {
        let (mut cx, _, _, chats) = self.parts();
        let result = chats.update_profile(&mut cx, now, rng, profile);
        self.after_action(now, result)
    }

    /// After a user action that succeeded: expired messages go, due jobs go
    /// out.
    pub(crate) fn after_action<T>(
        &mut self,
        now: UnixMillis,
        result: Result<T, CoreError>,
    ) -> Result<T, CoreError> {
        let value = result?;
        self.tick(now)?;
        Ok(value)
    }
}
