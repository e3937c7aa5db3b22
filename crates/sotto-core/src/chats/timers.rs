//! The chats' timers: delivery receipts that wait a moment to go out
//! together, and disappearing messages that expire.

use std::collections::BTreeMap;

use rand_core::CryptoRngCore;
use sotto_crypto::Session;

use super::{Chats, RECEIPT_DELAY};
use crate::chat_item::{ChatItem, EXPIRY, MESSAGES};
use crate::chat_message::{Content, MAX_RECEIPT_SEQS, ReceiptKind};
use crate::connection::{ConnectionRecord, Established, Stage};
use crate::event::{Event, Pending};
use crate::ids::{ChatId, ConnectionId, MessageNumber};
use crate::shared::Shared;
use crate::staged_batch::StagedBatch;
use crate::time::UnixMillis;
use crate::{CoreError, Direction, KeyRange, Store, WriteBatch};

impl Chats {
    /// When [`Chats::handle_timeout`] has something to do next.
    pub(crate) fn poll_timeout(&self) -> Option<UnixMillis> {
        let receipts = self.receipts_due.values().min().copied();
        [self.next_expiry, receipts].into_iter().flatten().min()
    }

    /// Whether delivery receipts wait to go out.
    pub(crate) fn owes_receipts(&self) -> bool {
        !self.receipts_due.is_empty()
    }

    /// Time passed: delivery receipts whose wait is over go out.
    pub(crate) fn handle_timeout<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
    ) -> Result<(), CoreError> {
        let due: Vec<ConnectionId> = self
            .receipts_due
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            self.receipts_due.remove(&id);
            let Ok(record) = ConnectionRecord::load(cx.store(), id) else {
                continue;
            };
            let Stage::Established(mut state) = record.stage else {
                continue;
            };
            let mut session = cx.open_session(id, &state.channel)?;
            let mut batch = StagedBatch::new();
            self.send_receipts(
                cx,
                now,
                rng,
                id,
                record.chat,
                &mut state,
                &mut session,
                &mut batch,
            )?;
            state.channel.session = cx.pickle_session(rng, &session);
            ConnectionRecord {
                stage: Stage::Established(state),
                ..record
            }
            .put(&mut batch);
            cx.commit(batch)?;
            cx.keep_session(id, session);
        }
        Ok(())
    }

    /// A text was received on `connection`: its delivery receipt waits a
    /// moment to go out with others, or goes now with a full envelope.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn owe_receipt<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        connection: ConnectionId,
        chat: ChatId,
        seq: u64,
        state: &mut Established,
        session: &mut Session,
        batch: &mut StagedBatch,
    ) -> Result<(), CoreError> {
        state.pending_receipts.push(seq);
        if state.pending_receipts.len() >= MAX_RECEIPT_SEQS {
            self.send_receipts(cx, now, rng, connection, chat, state, session, batch)
        } else {
            self.receipts_due
                .entry(connection)
                .or_insert(now.after(RECEIPT_DELAY));
            Ok(())
        }
    }

    /// Sends the connection's pending delivery receipts in one envelope.
    #[allow(clippy::too_many_arguments)]
    fn send_receipts<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        connection: ConnectionId,
        chat: ChatId,
        state: &mut Established,
        session: &mut Session,
        batch: &mut StagedBatch,
    ) -> Result<(), CoreError> {
        self.receipts_due.remove(&connection);
        if state.pending_receipts.is_empty() {
            return Ok(());
        }
        let receipt = Content::Receipt {
            kind: ReceiptKind::Delivered,
            seqs: std::mem::take(&mut state.pending_receipts),
        };
        self.send_envelope(
            cx,
            now,
            rng,
            chat,
            &mut state.channel,
            session,
            receipt,
            true,
            None,
            batch,
        )?;
        Ok(())
    }

    /// A connection is gone: it owes no receipts.
    pub(crate) fn forget_connection(&mut self, connection: ConnectionId) {
        self.receipts_due.remove(&connection);
    }

    /// Deletes every message whose timer ran out.
    pub(crate) fn expire_messages<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        now: UnixMillis,
    ) -> Result<(), CoreError> {
        loop {
            let due = cx.store().range(
                EXPIRY,
                &KeyRange {
                    start: Vec::new(),
                    end: Some((now.0.saturating_add(1)).to_be_bytes().to_vec()),
                },
                Direction::Forward,
                256,
            )?;
            if due.is_empty() {
                break;
            }
            let mut batch = WriteBatch::new();
            let mut expired: BTreeMap<ChatId, Vec<MessageNumber>> = BTreeMap::new();
            for record in &due {
                batch.delete(EXPIRY, record.key.clone());
                let (Some(contact), Some(number)) = (
                    record
                        .key
                        .get(8..16)
                        .and_then(|b| <[u8; 8]>::try_from(b).ok()),
                    record
                        .key
                        .get(16..24)
                        .and_then(|b| <[u8; 8]>::try_from(b).ok()),
                ) else {
                    continue;
                };
                let contact = ChatId(u64::from_be_bytes(contact));
                let number = MessageNumber(u64::from_be_bytes(number));
                if let Some(item) = ChatItem::load(cx.store(), contact, number)? {
                    item.delete(cx.store(), &mut batch)?;
                }
                batch.delete(MESSAGES, ChatItem::key(contact, number));
                expired.entry(contact).or_default().push(number);
            }
            cx.journal.apply(batch)?;
            for (chat, numbers) in expired {
                cx.notify(Pending::ready(Event::ItemsRemoved { chat, numbers }));
                // The chat's preview may have been one of them.
                cx.notify(Pending::ChatChanged(chat));
            }
        }
        self.refresh_expiry(cx.store())
    }

    pub(crate) fn refresh_expiry(&mut self, store: &impl Store) -> Result<(), CoreError> {
        let first = store.range(EXPIRY, &KeyRange::all(), Direction::Forward, 1)?;
        self.next_expiry = first
            .first()
            .and_then(|record| record.key.get(..8))
            .and_then(|bytes| <[u8; 8]>::try_from(bytes).ok())
            .map(|bytes| UnixMillis(u64::from_be_bytes(bytes)));
        Ok(())
    }
}
