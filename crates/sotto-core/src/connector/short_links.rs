//! Short links (`short_link.rs`) in the connector: the blob of an invitation
//! or of the contact address is published (LNEW) once its queue exists and
//! the link is ready when the relay names it (LID); the address's blob is
//! rewritten (LSET) every week so that it never expires while the profile is
//! in use; a blob is deleted (LDEL) with what it introduces, and as soon as a
//! one-time invitation is used, so a used link is refused at once. Someone
//! connecting through a short link first fetches the blob (LGET); the chat is
//! made only once it opened, so a link that fails leaves nothing behind.

use std::time::Duration;

use rand_core::CryptoRngCore;
use sotto_wire::{ErrorCode, LinkBlob, LinkId, RelayAddress, Response};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::Connector;
use crate::chat_record::ChatRecord;
use crate::chats::Chats;
use crate::connection_records::{InvitationRecord, JoinRecord, PublishedLink};
use crate::event::{Event, Pending};
use crate::ids::ChatId;
use crate::job::{JobCommand, JobPurpose, JobRecord};
use crate::link::{InvitationLink, Link, LinkKind};
use crate::outbox::retry_job;
use crate::queue_record::{QueueOwner, QueueRecord};
use crate::shared::{Shared, random_secret};
use crate::short_link::{LinkKey, SEAL_RANDOMNESS_LEN, ShortLink, seal_blob};
use crate::staged_batch::StagedBatch;
use crate::time::UnixMillis;
use crate::{CoreError, Store};

/// How often the address's blob is rewritten. Relays keep a blob for their
/// link TTL after its last write (21 days on the reference relay).
const REFRESH_EVERY: Duration = Duration::from_secs(7 * 24 * 3600);

const USED_OR_WITHDRAWN: &str = "This link was already used, or its owner withdrew it \
     (a one-time invitation works once; ask for a new link).";

impl Connector {
    /// The queue of an invitation or of the address exists: the link's blob
    /// goes to the same relay (LNEW); the link is ready once the relay names
    /// it.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn publish_link<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        queue: &QueueRecord,
        record: &mut InvitationRecord,
        kind: LinkKind,
        batch: &mut StagedBatch,
    ) -> Result<(), CoreError> {
        let full = InvitationLink {
            kind,
            queue: queue.address(),
            invitation: record.pending(&cx.account.pickle_key)?.invitation(),
        };
        let key = LinkKey::from_bytes(*random_secret(rng));
        let mut nonce = [0u8; SEAL_RANDOMNESS_LEN];
        rng.fill_bytes(&mut nonce);
        let blob = seal_blob(&full, &key, &nonce)?;
        let auth_secret = random_secret(rng);
        record.published = Some(PublishedLink {
            relay: queue.relay.clone(),
            link_id: None,
            auth_secret: auth_secret.clone(),
            key,
            refreshed_at: now.0,
        });
        let command = JobCommand::LinkNew { auth_secret, blob };
        let purpose = JobPurpose::PublishLink(queue.owner);
        cx.add_job(batch, now, queue.relay.clone(), command, purpose);
        Ok(())
    }

    /// Deletes a published blob (LDEL), when what it introduces goes away.
    pub(crate) fn unpublish_link<S: Store>(
        cx: &mut Shared<'_, S>,
        now: UnixMillis,
        published: &PublishedLink,
        batch: &mut StagedBatch,
    ) {
        // Without an id the LNEW is still out: its answer finds no record
        // and deletes the blob then.
        if let Some(link_id) = published.link_id {
            let command = JobCommand::LinkDel {
                link_id,
                auth_secret: published.auth_secret.clone(),
            };
            cx.add_job(
                batch,
                now,
                published.relay.clone(),
                command,
                JobPurpose::None,
            );
        }
    }

    /// Starts connecting through a short link: the blob is fetched from its
    /// relay (LGET) and the chat made once it opened.
    pub(crate) fn resolve_short_link<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        now: UnixMillis,
        chat: ChatId,
        link: &ShortLink,
        relay: &RelayAddress,
        reconnect: bool,
    ) -> Result<(), CoreError> {
        let mut batch = StagedBatch::new();
        JoinRecord {
            created_at: now.0,
            link: link.to_link(),
            relay: relay.clone(),
            reconnect,
        }
        .put(chat, &mut batch);
        let command = JobCommand::LinkGet {
            link_id: link.link_id,
        };
        let purpose = JobPurpose::ResolveLink { chat };
        cx.add_job(&mut batch, now, link.relay.clone(), command, purpose);
        cx.commit(batch)
    }

    /// The relay answered a link job (LNEW, LSET or LGET).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn handle_link_answer<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        chats: &mut Chats,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        job: JobRecord,
        response: Response,
    ) -> Result<(), CoreError> {
        if let Response::Err {
            code:
                ErrorCode::Quota
                | ErrorCode::Internal
                | ErrorCode::Limit
                | ErrorCode::Block
                | ErrorCode::Full,
            ..
        } = response
        {
            return retry_job(cx, now, job.id);
        }
        let mut batch = StagedBatch::new();
        JobRecord::delete(job.id, &mut batch);
        match (job.purpose, &job.command, response) {
            (
                JobPurpose::PublishLink(owner),
                JobCommand::LinkNew { auth_secret, blob },
                Response::LinkIds { link_id },
            ) => self.handle_link_published(
                cx,
                now,
                &job.relay,
                owner,
                link_id,
                auth_secret,
                blob,
                &mut batch,
            )?,
            (JobPurpose::PublishLink(_), _, _) => {
                // Refused (the relay keeps no links, say): the long form still
                // connects, so the owner is not left without a link.
                self.publish_full_link(cx, &job, &mut batch)?;
            }
            (
                JobPurpose::RefreshLink,
                JobCommand::LinkSet {
                    link_id,
                    auth_secret,
                    blob,
                },
                response,
            ) => {
                let link_id = *link_id;
                let Some(mut record) = InvitationRecord::load_address(cx.store())? else {
                    return commit(cx, job, batch);
                };
                let current = record
                    .published
                    .as_mut()
                    .filter(|published| published.link_id == Some(link_id));
                match (current, response) {
                    (Some(published), Response::Ok { .. }) => {
                        published.refreshed_at = now.0;
                        record.put_address(&mut batch);
                        schedule_refresh(
                            cx,
                            now,
                            &job.relay,
                            link_id,
                            auth_secret,
                            blob,
                            &mut batch,
                        );
                    }
                    (Some(published), _) => {
                        // The blob expired (the profile was not used for the
                        // relay's link TTL): publish it anew; the address gets
                        // a new link.
                        published.link_id = None;
                        published.refreshed_at = now.0;
                        record.link = None;
                        record.put_address(&mut batch);
                        let command = JobCommand::LinkNew {
                            auth_secret: auth_secret.clone(),
                            blob: blob.clone(),
                        };
                        let purpose = JobPurpose::PublishLink(QueueOwner::Address);
                        cx.add_job(&mut batch, now, job.relay.clone(), command, purpose);
                    }
                    // The address was replaced or deleted meanwhile.
                    (None, _) => {}
                }
            }
            (JobPurpose::ResolveLink { chat }, _, Response::Link { blob, .. }) => {
                self.handle_link_resolved(cx, chats, now, rng, chat, &blob, &mut batch)?;
            }
            (JobPurpose::ResolveLink { chat }, _, response) => {
                let reason = match response {
                    Response::Err {
                        code: ErrorCode::Auth,
                        ..
                    } => USED_OR_WITHDRAWN.to_owned(),
                    _ => "The link's relay gave an unexpected answer.".to_owned(),
                };
                JoinRecord::delete(chat, &mut batch);
                batch.notify(Pending::ready(Event::JoinFailed {
                    chat,
                    reason,
                    existing: None,
                }));
            }
            _ => {}
        }
        commit(cx, job, batch)
    }

    /// LID: the blob is on the relay; the short link is ready to share.
    #[allow(clippy::too_many_arguments)]
    fn handle_link_published<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        now: UnixMillis,
        relay: &RelayAddress,
        owner: QueueOwner,
        link_id: LinkId,
        auth_secret: &Zeroizing<[u8; 32]>,
        blob: &LinkBlob,
        batch: &mut StagedBatch,
    ) -> Result<(), CoreError> {
        let (record, kind) = owner_record(cx.store(), owner)?;
        let published = record
            .as_ref()
            .and_then(|record| record.published.as_ref())
            .filter(|published| {
                published.link_id.is_none()
                    && bool::from(published.auth_secret.ct_eq(auth_secret.as_ref()))
            });
        let (Some(mut record), Some(published)) = (record.clone(), published.cloned()) else {
            // Withdrawn (or replaced) while the LNEW was out: the blob goes too.
            let command = JobCommand::LinkDel {
                link_id,
                auth_secret: auth_secret.clone(),
            };
            cx.add_job(batch, now, relay.clone(), command, JobPurpose::None);
            return Ok(());
        };
        let text = ShortLink {
            kind,
            relay: published.relay.clone(),
            link_id,
            key: published.key.clone(),
        }
        .to_link();
        record.published = Some(PublishedLink {
            link_id: Some(link_id),
            ..published.clone()
        });
        link_ready(owner, record, text, batch);
        if owner == QueueOwner::Address {
            schedule_refresh(cx, now, &published.relay, link_id, auth_secret, blob, batch);
        }
        Ok(())
    }

    /// The relay refused the blob: the owner gets the long link instead.
    fn publish_full_link<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        job: &JobRecord,
        batch: &mut StagedBatch,
    ) -> Result<(), CoreError> {
        let JobPurpose::PublishLink(owner) = job.purpose else {
            return Ok(());
        };
        let Some(queue) = QueueRecord::load_all(cx.store())?
            .into_iter()
            .find(|queue| queue.owner == owner)
        else {
            return Ok(());
        };
        let (record, kind) = owner_record(cx.store(), owner)?;
        let Some(mut record) = record else {
            return Ok(());
        };
        let text = InvitationLink {
            kind,
            queue: queue.address(),
            invitation: record.pending(&cx.account.pickle_key)?.invitation(),
        }
        .to_link();
        record.published = None;
        link_ready(owner, record, text, batch);
        Ok(())
    }

    /// LINK: the invitation arrived; the chat is made (or connected again)
    /// as through the full link, or the join fails with a reason.
    #[allow(clippy::too_many_arguments)]
    fn handle_link_resolved<S: Store>(
        &mut self,
        cx: &mut Shared<'_, S>,
        chats: &mut Chats,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        chat: ChatId,
        blob: &LinkBlob,
        batch: &mut StagedBatch,
    ) -> Result<(), CoreError> {
        let Some(join) = JoinRecord::load(cx.store(), chat)? else {
            return Ok(());
        };
        JoinRecord::delete(chat, batch);
        let Link::Short(short) = Link::parse(&join.link)? else {
            return Err(CoreError::CorruptRecord("join"));
        };
        let opened = short
            .open(blob)
            .and_then(|link| Connector::refuse_own(cx, &link).map(|()| link));
        let link = match opened {
            Ok(link) => link,
            Err(error) => {
                let reason = format!("The link cannot be used: {error}.");
                batch.notify(Pending::ready(Event::JoinFailed {
                    chat,
                    reason,
                    existing: None,
                }));
                return Ok(());
            }
        };
        if !join.reconnect {
            return match self.join(cx, chats, now, rng, chat, &link, &join.relay, batch) {
                Err(CoreError::AlreadyContact { chat: existing }) => {
                    let reason = "You already have a chat with the person who made this link: \
                         open it, or connect it again with this link."
                        .to_owned();
                    batch.notify(Pending::ready(Event::JoinFailed {
                        chat,
                        reason,
                        existing: Some(existing),
                    }));
                    Ok(())
                }
                Ok(joined) => {
                    if joined != chat {
                        batch.notify(Pending::ready(Event::JoinedExisting {
                            chat,
                            existing: joined,
                        }));
                    }
                    Ok(())
                }
                Err(error) => Err(error),
            };
        }
        match ChatRecord::load(cx.store(), chat) {
            Ok(_) => self.join_existing_chat(cx, chats, now, rng, chat, &link, &join.relay, batch),
            Err(_) => {
                let reason = "The chat was deleted before the link was resolved.".to_owned();
                batch.notify(Pending::ready(Event::JoinFailed {
                    chat,
                    reason,
                    existing: None,
                }));
                Ok(())
            }
        }
    }
}

/// The invitation or address record a link belongs to, and the link's kind.
fn owner_record(
    store: &impl Store,
    owner: QueueOwner,
) -> Result<(Option<InvitationRecord>, LinkKind), CoreError> {
    Ok(match owner {
        QueueOwner::Invitation(id) => (InvitationRecord::load(store, id)?, LinkKind::OneTime),
        QueueOwner::Address => (
            InvitationRecord::load_address(store)?,
            LinkKind::ContactAddress,
        ),
        // Group links are full links: they publish no blob.
        QueueOwner::Connection(_) | QueueOwner::GroupLink(_) | QueueOwner::GroupJoin(_) => {
            (None, LinkKind::OneTime)
        }
    })
}

/// Keeps `text` as the link of `owner`'s record and tells the user it is ready.
fn link_ready(
    owner: QueueOwner,
    mut record: InvitationRecord,
    text: String,
    batch: &mut StagedBatch,
) {
    record.link = Some(text.clone());
    match owner {
        QueueOwner::Invitation(id) => {
            record.put(id, batch);
            batch.notify(Pending::ready(Event::InvitationReady {
                invitation: id,
                link: text,
            }));
        }
        QueueOwner::Address => {
            record.put_address(batch);
            batch.notify(Pending::ready(Event::AddressReady { link: text }));
        }
        QueueOwner::Connection(_) | QueueOwner::GroupLink(_) | QueueOwner::GroupJoin(_) => {}
    }
}

/// Rewrites the address's blob (LSET) after [`REFRESH_EVERY`].
fn schedule_refresh<S: Store>(
    cx: &mut Shared<'_, S>,
    now: UnixMillis,
    relay: &RelayAddress,
    link_id: LinkId,
    auth_secret: &Zeroizing<[u8; 32]>,
    blob: &LinkBlob,
    batch: &mut StagedBatch,
) {
    let command = JobCommand::LinkSet {
        link_id,
        auth_secret: auth_secret.clone(),
        blob: blob.clone(),
    };
    let at = now.after(REFRESH_EVERY);
    cx.add_job_at(
        batch,
        now,
        at,
        relay.clone(),
        command,
        JobPurpose::RefreshLink,
    );
}

fn commit<S: Store>(
    cx: &mut Shared<'_, S>,
    job: JobRecord,
    batch: StagedBatch,
) -> Result<(), CoreError> {
    cx.commit(batch)?;
    cx.outbox.forget(job.id);
    Ok(())
}
