//! Groups: the actions a front end calls and the log entries a runtime hands
//! in. The runtime carries out the group log's commands on a connection of
//! its own (GNEW, GAPP, GREAD, GSUB, GKEY): it gives the core the log's
//! credentials when it creates one, appends the entries the core makes, and
//! hands in every entry it reads, in log order, with its sequence number. The
//! core keeps the MLS state and the member's cursor in the store, so entries
//! are processed once, in order, across restarts.
//!
//! The log's order is MLS's ordering service: our own commit takes effect
//! only when it comes back from the log first for its epoch; when another
//! member's commit came first, ours is made again on the new epoch
//! ([`GroupUpdate::append`] holds it, to append).
//!
//! `invitations`: inviting a contact over the pairwise chat; `links`: joining
//! through a group link (`link_joins`: the joiner's side); `blocking`: members blocked for this profile;
//! `messages`: the group's chat messages, as chat items.

use rand_core::CryptoRngCore;
use sotto_groups::{
    CommitSummary, DisplayName, Group, GroupEvent, GroupProfile, KeyPackage, MemberId,
    MemberProfile, Role,
};
use sotto_wire::{GroupEntry, QueueAuthSecret};

use crate::chat_item::{ChatNotice, hex, parse_member_id as member_id_of};
use crate::chat_message::Content;
use crate::chat_record::{ChatKind, ChatRecord};
use crate::core::Core;
use crate::group_entry::{EntryContent, GroupChatMessage, content_of, entries_of, entry_of};
use crate::group_invite::{GroupWelcome, INVITE_ID_LEN, InviteRecord};
use crate::group_record::{GroupLog, GroupRecord, ReadAcks};
use crate::groups::pieces::Assembly;
use crate::ids::ChatId;
use crate::integrity::IntegrityNotice;
use crate::profile::MAX_DISPLAY_NAME_LEN;
use crate::staged_batch::StagedBatch;
use crate::time::UnixMillis;
use crate::{CoreError, Store};

/// How long our leaf in a group is valid (the longest OpenMLS accepts); a
/// self-update renews it.
const LEAF_LIFETIME_SECS: u64 = sotto_groups::MAX_KEY_PACKAGE_LIFETIME_SECS;

/// A group as the group list shows it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct GroupView {
    /// The group's chat.
    pub id: ChatId,
    /// The group's name: its profile's, as an owner or admin set it (else
    /// the name it was known by when joined).
    pub name: String,
    /// The group's description (empty for none).
    pub description: String,
    /// The group's picture, a small image (standard base64), if it has one.
    pub picture: Option<String>,
    /// How many members it has.
    pub members: usize,
    /// Whether this profile is still a member.
    pub active: bool,
    /// This profile's role in the group.
    pub role: GroupRole,
}

/// A member's role, in the one serde vocabulary of the front ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupRole {
    /// Created the group; may do everything.
    Owner,
    /// Adds, removes and promotes members.
    Admin,
    /// Writes and reads.
    Member,
}

impl From<GroupRole> for Role {
    fn from(role: GroupRole) -> Role {
        match role {
            GroupRole::Owner => Role::Owner,
            GroupRole::Admin => Role::Admin,
            GroupRole::Member => Role::Member,
        }
    }
}

impl From<Role> for GroupRole {
    fn from(role: Role) -> GroupRole {
        match role {
            Role::Owner => GroupRole::Owner,
            Role::Admin => GroupRole::Admin,
            Role::Member => GroupRole::Member,
        }
    }
}

/// One member of a group.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct GroupMemberView {
    /// The member's id in this group (hex; it names no one outside it).
    pub id: String,
    /// The name the member shows in this group.
    pub name: String,
    /// The picture the member shows in this group, a small image (standard
    /// base64), if it has one.
    pub picture: Option<String>,
    /// The member's role.
    pub role: GroupRole,
    /// Whether this member is this profile.
    pub me: bool,
    /// Whether this profile blocked the member (their messages are hidden).
    pub blocked: bool,
}

/// What one log entry did.
#[derive(Debug, Default)]
pub struct GroupUpdate {
    /// What to show, if anything.
    pub change: Option<GroupChange>,
    /// A commit of ours to append to the log now (one that lost its epoch's
    /// race, made again): its entries, in order (a long commit spans
    /// several); empty for none.
    pub append: Vec<GroupEntry>,
    /// The welcome of the members our confirmed commit added, to deliver to
    /// each of them end to end.
    pub welcome: Option<Vec<u8>>,
    /// A commit removed members: the log's write and read secrets are now
    /// the new epoch's ([`Core::group_log`]). The log's admin rotates the
    /// relay's keys to them (GKEY, [`Core::group_rotation`]) in two steps:
    /// the write key at its next read of the log, the read key once every
    /// remaining member acknowledged the commit (so that a member who was
    /// away reads it with the old read key); until then every member falls
    /// back on the old ones ([`Core::group_previous_log`]).
    pub rekeyed: bool,
}

impl GroupUpdate {
    /// Adds what a later entry did (an entry that waited for its epoch):
    /// its change, commit to append and welcome replace ours.
    fn merge(&mut self, later: GroupUpdate) {
        self.change = later.change.or(self.change.take());
        if !later.append.is_empty() {
            self.append = later.append;
        }
        self.welcome = later.welcome.or(self.welcome.take());
        self.rekeyed |= later.rekeyed;
    }
}

/// A member's new role, as [`GroupChange::Members`] shows it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct GroupRoleChange {
    /// The member's id (hex).
    pub id: String,
    /// The member's new role.
    pub role: GroupRole,
}

/// A change a log entry made that a front end shows.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum GroupChange {
    /// Members were added or removed, or changed role.
    Members {
        /// Members added (ids, hex).
        added: Vec<String>,
        /// Members removed or gone.
        removed: Vec<String>,
        /// Members whose role changed, with their new role.
        roles: Vec<GroupRoleChange>,
    },
    /// A member changed the name or picture it shows in this group.
    MemberProfile {
        /// The member's id (hex).
        id: String,
        /// The name it shows now.
        name: String,
        /// Whether it shows a picture now.
        picture: bool,
    },
    /// An owner or admin changed the group's name, description or picture.
    Profile {
        /// The group's name now.
        name: String,
        /// Its description now.
        description: String,
    },
    /// This profile was removed from the group.
    Removed,
    /// An owner deleted the group for everyone (`by_me`: this profile): the
    /// runtime stops reading its log, and the owner who deleted it deletes
    /// the log (GDEL).
    Deleted {
        /// Whether this profile deleted it.
        by_me: bool,
    },
}

impl<S: Store> Core<S> {
    /// Creates a group named `name` whose only member, its owner, is a
    /// fresh pseudonym showing this profile's display name, on the log
    /// `log` (which the runtime created with GNEW and whose admin
    /// credentials it gives here).
    pub fn create_group(
        &mut self,
        now: UnixMillis,
        name: &str,
        log: GroupLog,
    ) -> Result<ChatId, CoreError> {
        check_group_name(name)?;
        if log.admin.is_none() {
            return Err(CoreError::InvalidValue(
                "group log without admin credentials",
            ));
        }
        let profile = GroupProfile::new(name, "", Vec::new())?;
        let group = Group::create_with_profile(
            &self.own_member_name()?,
            Some(&profile),
            now.0 / 1000,
            LEAF_LIFETIME_SECS,
        )?;
        let (mut cx, ..) = self.parts();
        let mut record = GroupRecord {
            chat: ChatId(cx.account.allocate_id()),
            name: name.to_owned(),
            log,
            next_seq: 1,
            previous: None,
            rotation_due: false,
            read_acks: None,
            deleted: false,
            stored: None,
            group,
        };
        let mut batch = StagedBatch::new();
        record.put(&mut batch)?;
        ChatRecord::group(record.chat, 1, now.0).put(&mut batch);
        batch.notify(crate::event::Pending::ChatChanged(record.chat));
        cx.commit(batch)?;
        Ok(record.chat)
    }

    /// The group's profile (name, description, picture) as an owner or
    /// admin set it; `None` for a group made before groups had one.
    pub fn group_profile(&self, chat: ChatId) -> Result<Option<GroupProfile>, CoreError> {
        Ok(GroupRecord::load(self.store(), chat)?.group.profile()?)
    }

    /// The groups this profile takes part in (whose logs a runtime reads and
    /// subscribes to), from their records alone: [`Core::groups`] decodes
    /// every group's MLS state, too much to do after each read of a log.
    pub fn active_groups(&self) -> Result<Vec<ChatId>, CoreError> {
        let mut active = Vec::new();
        for chat in GroupRecord::ids(self.store())? {
            let taking_part = match GroupRecord::fields(self.store(), chat)?.active {
                Some(taking_part) => taking_part,
                None => GroupRecord::load(self.store(), chat)?.is_active(),
            };
            if taking_part {
                active.push(chat);
            }
        }
        Ok(active)
    }

    /// Every group's chat and name (as its profile gives it), from the
    /// records alone: finding a group by its name need not decode every
    /// group's MLS state, as [`Core::groups`] does.
    pub fn group_names(&self) -> Result<Vec<(ChatId, String)>, CoreError> {
        GroupRecord::ids(self.store())?
            .into_iter()
            .map(|chat| {
                let fields = GroupRecord::fields(self.store(), chat)?;
                let name = match fields.active {
                    Some(_) => fields.name,
                    // Before version 4 the record's name is the one known
                    // when the group was made or joined.
                    None => GroupRecord::load(self.store(), chat)?.display_name(),
                };
                Ok((chat, name))
            })
            .collect()
    }

    /// Every group of this profile.
    pub fn groups(&self) -> Result<Vec<GroupView>, CoreError> {
        GroupRecord::ids(self.store())?
            .into_iter()
            .map(|chat| {
                let record = GroupRecord::load(self.store(), chat)?;
                let group = &record.group;
                let role = group
                    .role(&group.own_member_id())
                    .unwrap_or(Role::Member)
                    .into();
                let profile = group.profile()?;
                Ok(GroupView {
                    id: chat,
                    name: record.display_name(),
                    description: profile
                        .as_ref()
                        .map(|p| p.description().to_owned())
                        .unwrap_or_default(),
                    picture: profile.as_ref().and_then(|p| base64_picture(p.picture())),
                    members: group.member_count(),
                    active: record.is_active(),
                    role,
                })
            })
            .collect()
    }

    /// The members of a group, in the group's order.
    pub fn group_members(&self, chat: ChatId) -> Result<Vec<GroupMemberView>, CoreError> {
        let record = GroupRecord::load(self.store(), chat)?;
        let own = record.group.own_member_id();
        record
            .group
            .members()?
            .into_iter()
            .map(|member| {
                Ok(GroupMemberView {
                    id: hex(member.id.as_bytes()),
                    name: member.name.as_str().to_owned(),
                    picture: base64_picture(&member.picture),
                    role: member.role.into(),
                    me: member.id == own,
                    blocked: blocking::is_blocked(self.store(), chat, &member.id)?,
                })
            })
            .collect()
    }

    /// The group's log and this member's credentials for it.
    pub fn group_log(&self, chat: ChatId) -> Result<GroupLog, CoreError> {
        Ok(GroupRecord::fields(self.store(), chat)?.log)
    }

    /// The sequence number of the next entry the core waits for: the
    /// runtime reads from there (GREAD) when it (re)subscribes.
    pub fn group_cursor(&self, chat: ChatId) -> Result<u64, CoreError> {
        Ok(GroupRecord::fields(self.store(), chat)?.next_seq)
    }

    /// A commit of ours that has not come back from the log yet, to append
    /// (again) after a restart: its entries, in order, or none. GAPP is not
    /// idempotent, but a copy in the log is skipped by every member.
    pub fn pending_group_commit(&self, chat: ChatId) -> Result<Vec<GroupEntry>, CoreError> {
        pending_entries(&GroupRecord::load(self.store(), chat)?)
    }

    /// Encrypts a text for the group: the entry to append to its log
    /// ([`Core::group_send`] with a plain text).
    pub fn group_text(
        &mut self,
        now: UnixMillis,
        chat: ChatId,
        text: &str,
    ) -> Result<GroupEntry, CoreError> {
        let text = GroupSend::Text {
            text,
            reply_to: None,
            mentions: &[],
        };
        self.group_send(now, chat, text)
    }

    /// Invites a contact into a group: an invitation goes over the pairwise
    /// chat `contact`; the contact's core answers with a key package, which
    /// makes the commit to append ([`crate::Event::GroupCommitReady`]), and the
    /// welcome goes to the contact once that commit is first in the log.
    pub fn invite_to_group(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        group: ChatId,
        contact: ChatId,
    ) -> Result<(), CoreError> {
        let record = GroupRecord::load(self.store(), group)?;
        if !record.group.role(&record.group.own_member_id())?.may_add() {
            return Err(CoreError::Group(sotto_groups::Error::Forbidden {
                role: record.group.role(&record.group.own_member_id())?,
                action: sotto_groups::Action::Add,
            }));
        }
        let mut invite = [0; INVITE_ID_LEN];
        rng.fill_bytes(&mut invite);
        let (mut cx, _, _, chats) = self.parts();
        let result = chats.with_session(
            &mut cx,
            rng,
            contact,
            |chats, cx, rng, chat, link, batch| {
                let content = Content::GroupInvite {
                    invite,
                    name: record.display_name(),
                };
                chats.send(cx, now, rng, chat.id, link, content, None, batch)?;
                InviteRecord {
                    id: invite,
                    group,
                    contact,
                    member: None,
                    key_package: None,
                }
                .put(batch);
                Ok(())
            },
        );
        self.after_action(now, result)
    }

    /// Adds the member of `key_package` (which reached us end to end): the
    /// commit to append. The welcome comes in [`GroupUpdate::welcome`] once
    /// the commit is first in the log.
    pub fn add_group_member(
        &mut self,
        chat: ChatId,
        key_package: &[u8],
    ) -> Result<Vec<GroupEntry>, CoreError> {
        let key_package = KeyPackage::from_bytes(key_package)?;
        self.with_group(chat, |record, _| {
            let commit = record.group.add_members(&[key_package])?;
            entries_of(commit.as_bytes())
        })
    }

    /// Gives the group a new profile — its name, description and picture
    /// (a small image, at most 8192 bytes; empty for none) — the commit's
    /// entries to append (owners and admins; every member refuses it from
    /// anyone else). Members show it from the commit on.
    pub fn set_group_profile(
        &mut self,
        chat: ChatId,
        name: &str,
        description: &str,
        picture: Vec<u8>,
    ) -> Result<Vec<GroupEntry>, CoreError> {
        check_group_name(name)?;
        let profile = GroupProfile::new(name, description, picture)?;
        self.with_group(chat, |record, _| {
            let commit = record.group.set_profile(profile)?;
            entries_of(commit.as_bytes())
        })
    }

    /// Changes the name and picture this profile shows in a group (`None`:
    /// kept as it is; an empty picture: none; a picture is a small image of
    /// at most [`sotto_groups::MAX_MEMBER_PICTURE_LEN`] bytes): the commit's
    /// entries to append, a self-update that any member may make for itself.
    /// Members show them from the commit on.
    pub fn set_group_self(
        &mut self,
        chat: ChatId,
        name: Option<&str>,
        picture: Option<Vec<u8>>,
    ) -> Result<Vec<GroupEntry>, CoreError> {
        let name = match name {
            Some(name) if name.trim().is_empty() => {
                return Err(CoreError::InvalidValue("name"));
            }
            Some(name) => Some(DisplayName::new(name)?),
            None => None,
        };
        self.with_group(chat, |record, _| {
            let group = &mut record.group;
            let current = group.member_profile(&group.own_member_id())?;
            let profile = MemberProfile::new(
                name.unwrap_or_else(|| current.name().clone()),
                picture.unwrap_or_else(|| current.picture().to_vec()),
            )?;
            if profile == current {
                return Err(CoreError::Group(sotto_groups::Error::NothingToCommit));
            }
            let commit = group.set_member_profile(&profile)?;
            entries_of(commit.as_bytes())
        })
    }

    /// Removes a member (by the hex id [`Core::group_members`] shows): the
    /// commit to append. Once it is first in the log, the admin rotates the
    /// log's keys (GKEY) and hands the new ones to the remaining members.
    pub fn remove_group_member(
        &mut self,
        chat: ChatId,
        member: &str,
    ) -> Result<Vec<GroupEntry>, CoreError> {
        let member = parse_member_id(member)?;
        self.with_group(chat, |record, _| {
            let commit = record.group.remove_members(&[member])?;
            entries_of(commit.as_bytes())
        })
    }

    /// Gives a member (by the hex id [`Core::group_members`] shows) a role:
    /// the commit to append, which changes the group's roles extension. Owners
    /// and admins may; every member refuses a commit the committer's role
    /// does not allow (an admin names no owner and changes no owner's role),
    /// and so does this member's own client before it is made.
    pub fn set_group_role(
        &mut self,
        chat: ChatId,
        member: &str,
        role: GroupRole,
    ) -> Result<Vec<GroupEntry>, CoreError> {
        let member = parse_member_id(member)?;
        self.with_group(chat, |record, _| {
            let commit = record.group.set_role(member, role.into())?;
            entries_of(commit.as_bytes())
        })
    }

    /// The security code this profile and a member of the group (by the hex
    /// id [`Core::group_members`] shows) compare to check that each sees the
    /// other's real key in this group; different in every group, so codes
    /// link no member across groups.
    pub fn group_security_code(
        &self,
        chat: ChatId,
        member: &str,
    ) -> Result<sotto_crypto::SecurityCode, CoreError> {
        let member = parse_member_id(member)?;
        let record = GroupRecord::load(self.store(), chat)?;
        Ok(record.group.security_code(&member)?)
    }

    /// The log with the secrets from before the last rotation, while the
    /// relay may still use them (a member tries them when the new ones are
    /// refused).
    pub fn group_previous_log(&self, chat: ChatId) -> Result<Option<GroupLog>, CoreError> {
        let record = GroupRecord::fields(self.store(), chat)?;
        Ok(record.previous.map(|(write, read)| GroupLog {
            write: (record.log.write.0, write),
            read: (record.log.read.0, read),
            ..record.log
        }))
    }

    /// Whether this member (the log's admin) has yet to rotate the log's
    /// keys on the relay ([`Core::group_rotation`]).
    pub fn group_rotation_due(&self, chat: ChatId) -> Result<bool, CoreError> {
        Ok(GroupRecord::fields(self.store(), chat)?.rotation_due)
    }

    /// The write and read secrets the log's admin installs now with GKEY,
    /// if a rotation is due. After a removal, at the admin's next read of
    /// the log: the new write secret (a removed member can no longer write)
    /// with the read secret the relay has, so that a member who was away
    /// still reads the removal's commit and derives the new secrets from
    /// it. Once every remaining member acknowledged that commit (a receipt
    /// for its sequence number, in the new epoch): the new read secret too.
    pub fn group_rotation(
        &self,
        chat: ChatId,
    ) -> Result<Option<(QueueAuthSecret, QueueAuthSecret)>, CoreError> {
        let record = GroupRecord::load(self.store(), chat)?;
        if !record.rotation_due || record.log.admin.is_none() {
            return Ok(None);
        }
        let read = match (&record.read_acks, &record.previous) {
            (Some(_), Some((_, relay_read))) => relay_read.clone(),
            _ => record.log.read.1.clone(),
        };
        Ok(Some((record.log.write.1.clone(), read)))
    }

    /// The relay accepted the admin's GKEY of [`Core::group_rotation`]'s
    /// secrets. Once the read secret rotated, the old secrets are forgotten.
    pub fn group_rotation_installed(&mut self, chat: ChatId) -> Result<(), CoreError> {
        self.with_group(chat, |record, _| {
            record.rotation_due = false;
            if record.read_acks.is_none() {
                record.previous = None;
            }
            Ok(())
        })
    }

    /// A read with the new secrets succeeded: the relay uses them, and the
    /// old ones are forgotten.
    pub fn group_rotated(&mut self, chat: ChatId) -> Result<(), CoreError> {
        self.with_group(chat, |record, _| {
            record.previous = None;
            if record.read_acks.is_none() {
                record.rotation_due = false;
            }
            Ok(())
        })
    }

    /// Moves the cursor forward to `seq` past entries the log no longer
    /// holds (expired before this member read them).
    pub fn skip_group_entries(&mut self, chat: ChatId, seq: u64) -> Result<(), CoreError> {
        self.with_group(chat, |record, _| {
            record.next_seq = record.next_seq.max(seq);
            Ok(())
        })
    }

    /// Deletes the group for everyone (owners only): the entry to append,
    /// after which the runtime reads the log (the deletion takes effect as
    /// the entry comes back, [`GroupChange::Deleted`]) and, as the log's
    /// admin, deletes the log (GDEL). `None` once this profile deleted it
    /// already: the runtime only deletes the log (again).
    pub fn delete_group(
        &mut self,
        now: UnixMillis,
        chat: ChatId,
    ) -> Result<Option<GroupEntry>, CoreError> {
        let record = GroupRecord::load(self.store(), chat)?;
        if record.deleted {
            return Ok(None);
        }
        self.group_send(now, chat, messages::GroupSend::DeleteGroup)
            .map(Some)
    }

    /// Whether the group was deleted for everyone (or its log is gone).
    pub fn group_deleted(&self, chat: ChatId) -> Result<bool, CoreError> {
        Ok(GroupRecord::load(self.store(), chat)?.deleted)
    }

    /// The group's relay refused to read its log with every read key this
    /// member holds (ERR AUTH): the log was deleted (its owner deleted the
    /// group while this member was away), or this member was removed while
    /// away and the read key rotated. The group ends here as if deleted,
    /// with a notice; its history stays. Returns whether it was active.
    pub fn group_log_gone(&mut self, now: UnixMillis, chat: ChatId) -> Result<bool, CoreError> {
        let (mut record, loaded) = self.group_cache.load(self.store.inner(), chat)?;
        if !record.is_active() {
            self.group_cache.keep(loaded, record);
            return Ok(false);
        }
        record.deleted = true;
        let mut chat_record = messages::group_chat(self.store(), &record, now)?;
        let mut batch = StagedBatch::new();
        let (mut cx, _, _, chats) = self.parts();
        chats.add_notice(now, &mut chat_record, ChatNotice::GroupLogGone, &mut batch);
        chat_record.put(&mut batch);
        batch.notify(crate::event::Pending::ChatChanged(chat));
        let stored = record.put_kept(&mut batch)?;
        cx.commit(batch)?;
        self.group_cache.keep(stored, record);
        Ok(true)
    }

    /// Proposes to leave the group: the proposal to append. An admin's core
    /// commits it as it reads it; this profile is out once that commit is in
    /// the log ([`GroupChange::Removed`]).
    pub fn leave_group(&mut self, chat: ChatId) -> Result<GroupEntry, CoreError> {
        self.with_group(chat, |record, _| {
            let proposal = record.group.leave()?;
            entry_of(proposal.as_bytes())
        })
    }

    /// Processes the log entry with sequence number `seq`. Entries before
    /// the cursor were processed already and change nothing; an entry that
    /// does not decrypt or that the group refuses is skipped (the cursor
    /// moves past it, with a notice when the relay is to blame), so one bad
    /// entry cannot stop the group. An entry of an epoch not reached yet
    /// waits for its commit (`integrity`) and is processed after it.
    pub fn handle_group_entry(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        chat: ChatId,
        seq: u64,
        entry: &GroupEntry,
    ) -> Result<GroupUpdate, CoreError> {
        let (mut update, mut advanced) =
            self.process_group_entry(now, rng, chat, seq, entry, false)?;
        // A commit may bring the epoch that held entries wait for.
        while advanced {
            advanced = false;
            for (seq, entry) in integrity::held(self.store(), chat)? {
                let (more, more_advanced) =
                    self.process_group_entry(now, rng, chat, seq, &entry, true)?;
                update.merge(more);
                advanced |= more_advanced;
            }
        }
        Ok(update)
    }

    /// Processes one entry, read from the log (`held`: from the entries
    /// that waited for their epoch). Returns what it did and whether the
    /// group moved to a new epoch.
    fn process_group_entry(
        &mut self,
        now: UnixMillis,
        rng: &mut impl CryptoRngCore,
        chat: ChatId,
        seq: u64,
        entry: &GroupEntry,
        held: bool,
    ) -> Result<(GroupUpdate, bool), CoreError> {
        let (mut record, loaded) = self.group_cache.load(self.store.inner(), chat)?;
        if seq < record.next_seq && !held {
            self.group_cache.keep(loaded, record);
            return Ok((GroupUpdate::default(), false));
        }
        record.next_seq = record.next_seq.max(seq.saturating_add(1));
        let mut batch = StagedBatch::new();
        let mut update = GroupUpdate::default();
        let mut welcomed = Vec::new();
        let mut chat_record = messages::group_chat(self.store(), &record, now)?;
        let mut incoming = None;
        let mut notices = Vec::new();
        let mut advanced = false;
        if held {
            integrity::forget_held(&mut batch, chat, seq);
        }
        // A piece of a longer message waits for the others; the message is
        // read at its last piece, its place in the log.
        let assembled;
        let mut pieced = false;
        let message = match content_of(entry) {
            Ok(EntryContent::Whole(message)) => Ok(Some(message)),
            Ok(EntryContent::Piece(piece)) => {
                pieced = true;
                match pieces::receive(self.store(), &mut batch, chat, seq, &piece)? {
                    Assembly::Waiting { gave_way } => {
                        notices.extend(gave_way.then_some(IntegrityNotice::Unreadable));
                        Ok(None)
                    }
                    Assembly::Complete(message) => {
                        assembled = message;
                        Ok(Some(&assembled[..]))
                    }
                    Assembly::Unreadable => Err(CoreError::Malformed("group entry pieces")),
                }
            }
            Err(error) => Err(error),
        };
        let event = match message {
            Ok(Some(message)) => Some(record.group.process(message).map_err(CoreError::Group)),
            Ok(None) => None,
            Err(error) => Some(Err(error)),
        };
        match event {
            None => {}
            Some(Ok(GroupEvent::Message { sender, plaintext })) => {
                incoming = Some((sender, plaintext));
            }
            Some(Ok(event)) => {
                advanced = is_commit(&event);
                if advanced {
                    integrity::commit_arrived(&mut batch, chat);
                }
                welcomed = apply_event(&mut record, event, &mut update)?;
            }
            // Only a local failure leaves the cursor where it was.
            Some(Err(CoreError::Group(sotto_groups::Error::Local(what)))) => {
                return Err(CoreError::Group(sotto_groups::Error::Local(what)));
            }
            // A commit is missing before this entry: it waits for it (a
            // message in pieces cannot: it is lost).
            Some(Err(CoreError::Group(sotto_groups::Error::FutureEpoch))) => {
                if pieced {
                    notices.push(IntegrityNotice::MissingChange);
                } else if held {
                    integrity::hold_again(&mut batch, chat, seq, entry);
                } else if integrity::hold(self.store(), &mut batch, chat, seq, entry)? {
                    notices.push(IntegrityNotice::MissingChange);
                }
            }
            Some(Err(error)) => notices.extend(integrity::notice_of(&error)),
        }
        let invites = match &update.welcome {
            Some(_) => invitations::welcomed_invites(self.store(), chat, &welcomed)?,
            None => Vec::new(),
        };
        if update.rekeyed {
            // Every member acknowledges a removal's commit in the new epoch;
            // the admin rotates the read key once all did.
            messages::owe_receipts(
                &mut batch,
                chat,
                crate::chat_message::ReceiptKind::Delivered,
                &[seq],
            );
            if record.log.admin.is_some() {
                record.read_acks = Some(ReadAcks {
                    commit_seq: seq,
                    members: Vec::new(),
                });
                acknowledged(&mut record)?;
            }
        }
        let mut message = incoming.as_ref().and_then(|(sender, plaintext)| {
            GroupChatMessage::decode(plaintext)
                .ok()
                .map(|message| (*sender, message))
        });
        // What the log did to this member's messages; a copy is not shown.
        let mut about_sender = Vec::new();
        if let Some((sender, decoded)) = &message {
            let (accept, found) =
                integrity::check(self.store(), &mut batch, chat, sender, decoded.number)?;
            if !found.is_empty() {
                let sender = messages::group_sender(&record, *sender)?;
                about_sender.extend(found.into_iter().map(|notice| (notice, sender.clone())));
            }
            if !accept {
                message = None;
            }
        }
        if let Some((sender, message)) = &message
            && let Some(acks) = &mut record.read_acks
            && acknowledges(&message.content, acks.commit_seq)
            && !acks.members.contains(sender)
        {
            acks.members.push(*sender);
            acknowledged(&mut record)?;
        }
        if matches!(
            update.change,
            Some(GroupChange::Profile { .. } | GroupChange::MemberProfile { .. })
        ) {
            batch.notify(crate::event::Pending::ChatChanged(chat));
        }
        // Only a commit changes who is in the group; counting them reads
        // every leaf of the tree, too much for every entry of a large group.
        if advanced || !matches!(chat_record.kind, ChatKind::Group { .. }) {
            let members = messages::member_count(&record);
            if chat_record.kind != (ChatKind::Group { members }) {
                chat_record.kind = ChatKind::Group { members };
                batch.notify(crate::event::Pending::ChatChanged(chat));
            }
        }
        {
            let (cx, _, _, chats) = self.parts();
            for notice in notices {
                chats.add_notice(
                    now,
                    &mut chat_record,
                    ChatNotice::Integrity(notice),
                    &mut batch,
                );
            }
            for (notice, sender) in about_sender {
                let notice = ChatNotice::Integrity(notice);
                chats.add_notice_about(now, &mut chat_record, notice, Some(sender), &mut batch);
            }
            // Our own text coming back is numbered by the log.
            let ours = messages::confirm_sent(&cx, chats, &mut batch, chat, seq, entry)?;
            // An owner's deletion (ours coming back, or another owner's)
            // ends the group; another member's is not heard.
            let deleted_by_me = match (&ours, &message) {
                (Some(Content::GroupDeleted), _) => Some(true),
                (_, Some((sender, message)))
                    if matches!(message.content, Content::GroupDeleted)
                        && record.group.role(sender).ok() == Some(Role::Owner) =>
                {
                    Some(false)
                }
                _ => None,
            };
            if let Some(by_me) = deleted_by_me
                && !record.deleted
            {
                record.deleted = true;
                let notice = ChatNotice::GroupDeleted { by_me };
                chats.add_notice(now, &mut chat_record, notice, &mut batch);
                batch.notify(crate::event::Pending::ChatChanged(chat));
                update.change = Some(GroupChange::Deleted { by_me });
            }
            // A member's message we cannot read is skipped, like a bad entry;
            // a member this profile blocked is not heard.
            if let Some((sender, message)) = message
                && !blocking::is_blocked(cx.store(), chat, &sender)?
            {
                messages::apply(
                    &cx,
                    chats,
                    now,
                    &record,
                    &mut chat_record,
                    seq,
                    sender,
                    message,
                    &mut batch,
                )?;
            }
        }
        chat_record.put(&mut batch);
        // A contact's key package that waited for our last commit is added now.
        if update.append.is_empty()
            && !record.group.has_pending_commit()
            && record.is_active()
            && let Some(mut invite) = invitations::waiting_invite(self.store(), chat)?
            && let Some(key_package) = invite.key_package.clone()
            && invitations::commit_add(&mut record, &mut invite, &key_package, &mut batch)?
        {
            update.append = pending_entries(&record)?;
        }
        // So is a request through the group's link approved meanwhile.
        let mut replies = false;
        if update.append.is_empty()
            && !record.group.has_pending_commit()
            && record.is_active()
            && let Some(mut request) = links::waiting_request(self.store(), chat)?
        {
            if links::commit_add(&mut record, &mut request, &mut batch)? {
                update.append = pending_entries(&record)?;
            } else {
                let (mut cx, ..) = self.parts();
                links::decline(&mut cx, now, rng, &request, &mut batch)?;
                replies = true;
            }
        }
        // Out of the group: its link goes, and its requests are declined.
        if matches!(update.change, Some(GroupChange::Removed)) {
            let (mut cx, ..) = self.parts();
            links::group_left(&mut cx, now, rng, chat, &mut batch)?;
            replies = true;
        }
        // The welcome goes to those who joined through the link.
        if let Some(welcome) = &update.welcome {
            let (mut cx, ..) = self.parts();
            links::send_welcomes(&mut cx, now, rng, &record, &welcomed, welcome, &mut batch)?;
            replies = true;
        }
        let stored = record.put_kept(&mut batch)?;
        self.parts().0.commit(batch)?;
        if replies {
            // The replies to joiners through the link go out now.
            self.tick(now)?;
        }
        // Each welcome goes out in a batch of its own with its invitation's
        // end; the group's state is stored already.
        for invite in invites {
            let Some(welcome) = update.welcome.clone() else {
                break;
            };
            let contents = invitations::welcome_messages(GroupWelcome {
                invite: invite.id,
                next_seq: record.next_seq,
                log: record.log.clone(),
                welcome,
            })?;
            let (mut cx, _, _, chats) = self.parts();
            let sent = chats.with_session(
                &mut cx,
                rng,
                invite.contact,
                |chats, cx, rng, contact, link, batch| {
                    invite.delete(batch);
                    for content in contents {
                        chats.send(cx, now, rng, contact.id, link, content, None, batch)?;
                    }
                    Ok(())
                },
            );
            self.after_action(now, sent)?;
        }
        self.group_cache.keep(stored, record);
        Ok((update, advanced))
    }

    /// Runs `f` on a group's record and stores the record it leaves.
    fn with_group<T>(
        &mut self,
        chat: ChatId,
        f: impl FnOnce(&mut GroupRecord, &mut StagedBatch) -> Result<T, CoreError>,
    ) -> Result<T, CoreError> {
        let mut record = GroupRecord::load(self.store(), chat)?;
        let mut batch = StagedBatch::new();
        let value = f(&mut record, &mut batch)?;
        record.put(&mut batch)?;
        self.parts().0.commit(batch)?;
        Ok(value)
    }

    /// The name our pseudonym shows in a new group: the profile's.
    fn own_member_name(&self) -> Result<DisplayName, CoreError> {
        Ok(DisplayName::new(self.profile().display_name())?)
    }
}

/// The entries of our commit waiting for its place in the log, if any.
fn pending_entries(record: &GroupRecord) -> Result<Vec<GroupEntry>, CoreError> {
    match record.group.pending_commit() {
        Some(commit) => entries_of(commit.as_bytes()),
        None => Ok(Vec::new()),
    }
}

/// Whether the event moved the group to a new epoch.
fn is_commit(event: &GroupEvent) -> bool {
    matches!(
        event,
        GroupEvent::CommitApplied(_)
            | GroupEvent::OwnCommitConfirmed { .. }
            | GroupEvent::CommitLost { .. }
            | GroupEvent::Removed(_)
    )
}

/// Records what one processed message did; returns the members our
/// confirmed commit added (who get the welcome).
fn apply_event(
    record: &mut GroupRecord,
    event: GroupEvent,
    update: &mut GroupUpdate,
) -> Result<Vec<MemberId>, CoreError> {
    let mut welcomed = Vec::new();
    match event {
        // The caller reads messages.
        GroupEvent::Message { .. } => {}
        GroupEvent::ProposalQueued { .. } => {
            // Admins commit a member's leaving at once (the first commit in
            // the log wins; the others find nothing left to do).
            let group = &mut record.group;
            if group.role(&group.own_member_id())?.may_add() && !group.has_pending_commit() {
                let commit = group.commit_proposals()?;
                update.append = entries_of(commit.as_bytes())?;
            }
        }
        GroupEvent::CommitApplied(summary) => {
            update.change = members_change(&summary).or(member_profile_change(record, &summary));
            rekey(record, &summary, update)?;
        }
        GroupEvent::OwnCommitConfirmed { summary, welcome } => {
            update.change = members_change(&summary).or(member_profile_change(record, &summary));
            rekey(record, &summary, update)?;
            welcomed = summary.added.clone();
            update.welcome = welcome.map(sotto_groups::Welcome::into_bytes);
        }
        GroupEvent::CommitLost { winner, lost } => {
            update.change = members_change(&winner).or(member_profile_change(record, &winner));
            rekey(record, &winner, update)?;
            if let Some(commit) = record.group.reapply(lost)? {
                update.append = entries_of(commit.as_bytes())?;
            }
        }
        GroupEvent::Removed(_) => update.change = Some(GroupChange::Removed),
    }
    Ok(welcomed)
}

/// The read key rotates once every remaining member acknowledged the
/// removal's commit.
fn acknowledged(record: &mut GroupRecord) -> Result<(), CoreError> {
    let Some(acks) = &record.read_acks else {
        return Ok(());
    };
    let own = record.group.own_member_id();
    let all = record
        .group
        .members()?
        .iter()
        .all(|member| member.id == own || acks.members.contains(&member.id));
    if all {
        record.read_acks = None;
        record.rotation_due = true;
    }
    Ok(())
}

/// Whether a member's message is a receipt for the entry at `seq`.
fn acknowledges(content: &Content, seq: u64) -> bool {
    match content {
        Content::Receipt { seqs, .. } => seqs.contains(&seq),
        Content::GroupReceipt { from, to, .. } => (*from..=*to).contains(&seq),
        _ => false,
    }
}

/// Labels of the MLS exporter secrets that are the log's write and read
/// secrets after a commit that removed members.
const WRITE_SECRET_LABEL: &str = "sotto group log write";
const READ_SECRET_LABEL: &str = "sotto group log read";

/// After a commit that removed members, the log's write and read secrets
/// are derived from the new epoch: every remaining member has them, no
/// removed member can.
fn rekey(
    record: &mut GroupRecord,
    summary: &CommitSummary,
    update: &mut GroupUpdate,
) -> Result<(), CoreError> {
    if summary.removed.is_empty() || !record.group.is_active() {
        return Ok(());
    }
    let write = record.group.export_secret(WRITE_SECRET_LABEL)?;
    let read = record.group.export_secret(READ_SECRET_LABEL)?;
    let old_write = std::mem::replace(&mut record.log.write.1, QueueAuthSecret::from_bytes(*write));
    let old_read = std::mem::replace(&mut record.log.read.1, QueueAuthSecret::from_bytes(*read));
    // Until the relay uses the new secrets, the old ones still read and
    // write: the write secret just replaced (the admin installs each
    // removal's write secret at once), and the oldest read secret not yet
    // rotated (the read secret waits for every member's acknowledgement).
    let relay_read = match record.previous.take() {
        Some((_, read)) => read,
        None => old_read,
    };
    record.previous = Some((old_write, relay_read));
    record.rotation_due = record.log.admin.is_some();
    update.rekeyed = true;
    Ok(())
}

fn members_change(summary: &CommitSummary) -> Option<GroupChange> {
    if let Some(profile) = &summary.profile {
        return Some(GroupChange::Profile {
            name: profile.name().to_owned(),
            description: profile.description().to_owned(),
        });
    }
    if summary.added.is_empty() && summary.removed.is_empty() && summary.role_changes.is_empty() {
        return None;
    }
    Some(GroupChange::Members {
        added: summary.added.iter().map(|id| hex(id.as_bytes())).collect(),
        removed: summary
            .removed
            .iter()
            .map(|id| hex(id.as_bytes()))
            .collect(),
        roles: summary
            .role_changes
            .iter()
            .map(|(id, role)| GroupRoleChange {
                id: hex(id.as_bytes()),
                role: (*role).into(),
            })
            .collect(),
    })
}

/// A picture as the front ends take it: standard base64, `None` for none.
fn base64_picture(picture: &[u8]) -> Option<String> {
    use base64::Engine;
    (!picture.is_empty()).then(|| base64::engine::general_purpose::STANDARD.encode(picture))
}

/// The committer's new name or picture, as it shows them after the commit
/// (a commit changes no one's leaf but its committer's).
fn member_profile_change(record: &GroupRecord, summary: &CommitSummary) -> Option<GroupChange> {
    let committer = summary.committer;
    let changed = |id: &MemberId| *id == committer;
    if !summary.renamed.iter().any(|(id, _)| changed(id))
        && !summary.picture_changes.iter().any(|(id, _)| changed(id))
    {
        return None;
    }
    let profile = record.group.member_profile(&committer).ok()?;
    Some(GroupChange::MemberProfile {
        id: hex(committer.as_bytes()),
        name: profile.name().as_str().to_owned(),
        picture: !profile.picture().is_empty(),
    })
}

fn check_group_name(name: &str) -> Result<(), CoreError> {
    if name.trim().is_empty() {
        return Err(CoreError::InvalidValue("group name"));
    }
    if name.len() > MAX_DISPLAY_NAME_LEN {
        return Err(CoreError::TooLong {
            what: "group name",
            max: MAX_DISPLAY_NAME_LEN,
        });
    }
    Ok(())
}

fn parse_member_id(text: &str) -> Result<MemberId, CoreError> {
    member_id_of(text).ok_or(CoreError::InvalidValue("member id"))
}

pub(crate) mod blocking;
#[cfg(feature = "dangerous-testing")]
mod dangerous;
pub(crate) mod integrity;
pub(crate) mod invitations;
pub(crate) mod link_joins;
pub(crate) mod links;
pub(crate) mod messages;
pub(crate) mod pieces;
pub use invitations::GroupInvitationView;
pub use link_joins::GroupLinkJoinView;
pub use links::{GroupJoinRequestView, GroupLinkView};
pub use messages::{GroupSend, MAX_MEMBERS_WITH_DELIVERY_RECEIPTS};
#[cfg(test)]
mod chat_tests;
#[cfg(test)]
mod link_tests;
#[cfg(test)]
mod tests;
