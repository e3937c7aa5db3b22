//! `group create|invite|members|promote|remove|block|unblock|leave`, every chat message to a
//! group (text, reply, reaction, edit, delete, timer, receipts), and the
//! group logs `receive` reads: each log on a connection of its own (never
//! the profile's queue connections), read from the profile's cursor to the
//! end, entries handed to the core in order; commits the core makes are
//! appended, and a removal's new log secrets installed with GKEY.

use rand::rngs::OsRng;
use serde_json::{Value, json};
use sotto_client::relay::{
    ConnectOptions, GroupAdmin, GroupRead, GroupReader, GroupWriter, RelayConnection,
};
use sotto_core::{
    ChatId, GroupAdds, GroupChange, GroupLog, GroupRole, GroupSend, MessageDirection,
};
use sotto_wire::GroupEntry;

use super::{Output, Session};
use crate::failure::Failure;
use crate::profile::core_failure;
use crate::terminal_text::one_line;

/// The most entries one `receive` reads from one log (the rest wait for the
/// next).
const MAX_ENTRIES_PER_RECEIVE: usize = 10_000;

fn relay_failure(what: &'static str) -> impl Fn(sotto_client::ClientError) -> anyhow::Error {
    move |error| Failure::new("relay", format!("the group's relay ({what}): {error}")).into()
}

async fn connect(log: &GroupLog, options: &ConnectOptions) -> anyhow::Result<RelayConnection> {
    let (connection, _pushes) = RelayConnection::connect(&log.relay, options)
        .await
        .map_err(relay_failure("connecting"))?;
    Ok(connection)
}

fn writer(log: &GroupLog) -> GroupWriter {
    GroupWriter::new(log.write.0, log.write.1.clone())
}

fn reader(log: &GroupLog) -> GroupReader {
    GroupReader::new(log.read.0, log.read.1.clone())
}

/// A group by id or by name.
pub(super) fn group(session: &Session<'_>, name_or_id: &str) -> anyhow::Result<Option<FoundGroup>> {
    // Names from the records alone: `Core::groups` decodes each group's
    // whole state, tens of milliseconds in a large group.
    let groups = session.runtime.core().group_names().map_err(core_failure)?;
    if let Ok(id) = name_or_id.parse::<u64>()
        && let Some((chat, _)) = groups.iter().find(|(chat, _)| chat.0 == id)
    {
        return Ok(Some(FoundGroup { id: *chat }));
    }
    let mut matching = groups
        .into_iter()
        .filter(|(_, name)| name == name_or_id)
        .map(|(id, _)| FoundGroup { id });
    match (matching.next(), matching.next()) {
        (Some(group), None) => Ok(Some(group)),
        (Some(_), Some(_)) => Err(Failure::new(
            "usage",
            format!(
                "several groups are named {}; give its id",
                one_line(name_or_id)
            ),
        )
        .into()),
        (None, _) => Ok(None),
    }
}

/// A group found by [`group`].
pub(super) struct FoundGroup {
    /// Its chat.
    pub(super) id: ChatId,
}

pub(super) fn existing_group(session: &Session<'_>, name_or_id: &str) -> anyhow::Result<ChatId> {
    group(session, name_or_id)?.map(|g| g.id).ok_or_else(|| {
        Failure::new("not_found", format!("no group {}", one_line(name_or_id))).into()
    })
}

/// `group create NAME`: a log on the profile's relay, then the group.
pub(super) async fn create(
    session: &mut Session<'_>,
    output: &Output,
    name: &str,
    description: Option<&str>,
    picture: Option<Vec<u8>>,
) -> anyhow::Result<()> {
    let relay = session.relay.clone();
    let (connection, _pushes) = RelayConnection::connect(&relay, &session.connect)
        .await
        .map_err(relay_failure("connecting"))?;
    let created = connection
        .create_group_log(None)
        .await
        .map_err(relay_failure("creating the log"))?;
    let log = GroupLog {
        relay,
        admin: Some((created.admin.admin_id(), created.admin.auth_key().clone())),
        write: (created.writer.write_id(), created.writer.auth_key().clone()),
        read: (created.reader.read_id(), created.reader.auth_key().clone()),
    };
    let id = session
        .core()
        .create_group(sotto_client::runtime::now_millis(), name, log)
        .map_err(core_failure)?;
    if description.is_some() || picture.is_some() {
        let edit = ProfileEdit {
            name: None,
            description: description.map(str::to_owned),
            picture,
        };
        set_profile(session, id, edit).await?;
    }
    output.emit(json!({ "group": id.0, "name": name }), || {
        format!("Group {} created ({}).", one_line(name), id.0)
    })
}

/// What `group edit` changes; `None` keeps a part as it is.
pub(super) struct ProfileEdit {
    pub(super) name: Option<String>,
    pub(super) description: Option<String>,
    /// Empty: no picture.
    pub(super) picture: Option<Vec<u8>>,
}

/// Reads a group picture, refusing a file larger than a group's picture
/// may be before reading it whole.
pub(super) fn read_picture(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    read_image(
        path,
        sotto_groups::MAX_GROUP_PICTURE_LEN,
        "a group's picture",
    )
}

/// Reads a member's picture for a group, refusing a file larger than it
/// may be before reading it whole.
pub(super) fn read_member_picture(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    read_image(
        path,
        sotto_groups::MAX_MEMBER_PICTURE_LEN,
        "your picture in a group",
    )
}

fn read_image(path: &std::path::Path, max: usize, what: &str) -> anyhow::Result<Vec<u8>> {
    let failure = |error: std::io::Error| {
        Failure::new("storage", format!("reading {}: {error}", path.display()))
    };
    let len = std::fs::metadata(path).map_err(failure)?.len();
    if len > max as u64 {
        return Err(Failure::new(
            "usage",
            format!(
                "{} is {len} bytes; {what} is at most {max} bytes: choose a smaller image \
                 (a thumbnail, e.g. 64×64 pixels as JPEG or WebP)",
                path.display(),
            ),
        )
        .into());
    }
    Ok(std::fs::read(path).map_err(failure)?)
}

/// Commits this profile's new name or picture in group `id` on the newest
/// epoch and reads it back: the changes the reads showed.
pub(super) async fn set_self(
    session: &mut Session<'_>,
    id: ChatId,
    name: Option<&str>,
    picture: Option<Vec<u8>>,
) -> anyhow::Result<Vec<Value>> {
    sync_group(session, id).await?;
    session
        .core()
        .set_group_self(id, name, picture)
        .map_err(core_failure)?;
    sync_group(session, id).await
}

/// `group info GROUP`.
pub(super) fn info(session: &mut Session<'_>, output: &Output, name: &str) -> anyhow::Result<()> {
    let id = existing_group(session, name)?;
    let group = session
        .runtime
        .core()
        .groups()
        .map_err(core_failure)?
        .into_iter()
        .find(|group| group.id == id)
        .ok_or_else(|| Failure::new("not_found", "no such group"))?;
    output.emit(crate::json::value(&group)?, || {
        let mut lines = vec![format!(
            "{} ({} members{})",
            one_line(&group.name),
            group.members,
            if group.active { "" } else { ", you left" }
        )];
        if !group.description.is_empty() {
            lines.push(group.description.clone());
        }
        if let Some(picture) = &group.picture {
            lines.push(format!(
                "A picture of {} bytes (base64).",
                picture.len() / 4 * 3
            ));
        }
        lines.join("\n")
    })
}

/// `group edit GROUP [--name] [--description] [--picture FILE | --no-picture]`.
pub(super) async fn edit(
    session: &mut Session<'_>,
    output: &Output,
    name: &str,
    edit: ProfileEdit,
) -> anyhow::Result<()> {
    let id = existing_group(session, name)?;
    let changes = set_profile(session, id, edit).await?;
    let group = session
        .runtime
        .core()
        .groups()
        .map_err(core_failure)?
        .into_iter()
        .find(|group| group.id == id)
        .ok_or_else(|| Failure::new("not_found", "no such group"))?;
    output.emit(
        json!({ "group": id.0, "name": group.name, "description": group.description,
                "picture": group.picture, "changes": changes }),
        || format!("The group is now {}.", one_line(&group.name)),
    )
}

/// Commits a new profile on the newest epoch and reads it back: the
/// changes the reads showed.
pub(super) async fn set_profile(
    session: &mut Session<'_>,
    id: ChatId,
    edit: ProfileEdit,
) -> anyhow::Result<Vec<Value>> {
    sync_group(session, id).await?;
    let core = session.runtime.core();
    let current = core.group_profile(id).map_err(core_failure)?;
    let name = match (edit.name, &current) {
        (Some(name), _) => name,
        (None, Some(current)) => current.name().to_owned(),
        (None, None) => core
            .chat(id)
            .map_err(core_failure)?
            .name
            .unwrap_or_default(),
    };
    let description = edit.description.unwrap_or_else(|| {
        current
            .as_ref()
            .map(|p| p.description().to_owned())
            .unwrap_or_default()
    });
    let picture = edit
        .picture
        .unwrap_or_else(|| current.map(|p| p.picture().to_vec()).unwrap_or_default());
    session
        .core()
        .set_group_profile(id, &name, &description, picture)
        .map_err(core_failure)?;
    sync_group(session, id).await
}

/// `group me GROUP [--name NAME] [--picture FILE | --no-picture]`: commits
/// the change on the newest epoch and reads it back (without a change,
/// shows what this profile shows in the group).
pub(super) async fn me(
    session: &mut Session<'_>,
    output: &Output,
    group: &str,
    name: Option<String>,
    picture: Option<Vec<u8>>,
) -> anyhow::Result<()> {
    let id = existing_group(session, group)?;
    let mut changes = Vec::new();
    if name.is_some() || picture.is_some() {
        changes = set_self(session, id, name.as_deref(), picture).await?;
    }
    let me = session
        .runtime
        .core()
        .group_members(id)
        .map_err(core_failure)?
        .into_iter()
        .find(|member| member.me)
        .ok_or_else(|| Failure::new("not_found", "you are not in this group"))?;
    output.emit(
        json!({ "group": id.0, "id": me.id, "name": me.name, "picture": me.picture,
                "changes": changes }),
        || {
            let picture = match &me.picture {
                Some(picture) => format!("a picture of {} bytes", picture.len() / 4 * 3),
                None => "no picture".to_owned(),
            };
            format!(
                "In this group you are {}, with {picture}.",
                one_line(&me.name)
            )
        },
    )
}

/// `group invite GROUP CONTACT`.
pub(super) async fn invite(
    session: &mut Session<'_>,
    output: &Output,
    group_name: &str,
    contact: &str,
) -> anyhow::Result<()> {
    let id = existing_group(session, group_name)?;
    let contact_id = session.contact(contact)?;
    session
        .core()
        .invite_to_group(
            sotto_client::runtime::now_millis(),
            &mut OsRng,
            id,
            contact_id,
        )
        .map_err(core_failure)?;
    session.settle().await?;
    output.emit(json!({ "group": id.0, "contact": contact_id.0 }), || {
        format!(
            "{} is invited; they join once both of you run `sotto receive`.",
            one_line(contact)
        )
    })
}

/// `group members GROUP`.
pub(super) fn members(session: &Session<'_>, output: &Output, name: &str) -> anyhow::Result<()> {
    let id = existing_group(session, name)?;
    let members = session
        .runtime
        .core()
        .group_members(id)
        .map_err(core_failure)?;
    output.emit(json!({ "group": id.0, "members": members }), || {
        members
            .iter()
            .map(|m| {
                format!(
                    "{} {} ({:?}){}{}{}",
                    m.id,
                    one_line(&m.name),
                    m.role,
                    if m.picture.is_some() { ", picture" } else { "" },
                    if m.me { ", you" } else { "" },
                    if m.blocked { ", blocked" } else { "" }
                )
                .to_lowercase()
            })
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// `group remove GROUP MEMBER` (a member id or name).
pub(super) async fn remove(
    session: &mut Session<'_>,
    output: &Output,
    name: &str,
    member: &str,
) -> anyhow::Result<()> {
    let id = existing_group(session, name)?;
    let target = &other_member(session, id, member)?;
    session
        .core()
        .remove_group_member(id, target)
        .map_err(core_failure)?;
    let changes = sync_group(session, id).await?;
    output.emit(
        json!({ "group": id.0, "removed": target, "changes": changes }),
        || format!("Removed {} from the group.", one_line(member)),
    )
}

/// `group promote GROUP MEMBER ROLE`: the commit goes to the log and is
/// read back (in effect once it is first for its epoch).
pub(super) async fn promote(
    session: &mut Session<'_>,
    output: &Output,
    name: &str,
    member: &str,
    role: &str,
) -> anyhow::Result<()> {
    let role = match role {
        "owner" => GroupRole::Owner,
        "admin" => GroupRole::Admin,
        "member" => GroupRole::Member,
        _ => {
            return Err(Failure::new(
                "usage",
                format!("no role {}: admin, member or owner", one_line(role)),
            )
            .into());
        }
    };
    let id = existing_group(session, name)?;
    let target = other_member(session, id, member)?;
    // The commit is made on the newest epoch.
    sync_group(session, id).await?;
    session
        .core()
        .set_group_role(id, &target, role)
        .map_err(core_failure)?;
    let changes = sync_group(session, id).await?;
    output.emit(
        json!({ "group": id.0, "member": target, "role": role, "changes": changes }),
        || {
            format!(
                "{} is now {} of the group.",
                one_line(member),
                match role {
                    GroupRole::Owner => "an owner",
                    GroupRole::Admin => "an admin",
                    GroupRole::Member => "a member",
                }
            )
        },
    )
}

/// `group block|unblock GROUP MEMBER`: for this profile only.
pub(super) fn block(
    session: &mut Session<'_>,
    output: &Output,
    name: &str,
    member: &str,
    blocked: bool,
) -> anyhow::Result<()> {
    let id = existing_group(session, name)?;
    let target = other_member(session, id, member)?;
    session
        .core()
        .block_group_member(id, &target, blocked)
        .map_err(core_failure)?;
    output.emit(
        json!({ "group": id.0, "member": target, "blocked": blocked }),
        || {
            if blocked {
                format!(
                    "{} is blocked: their messages are not shown.",
                    one_line(member)
                )
            } else {
                format!("{} is unblocked.", one_line(member))
            }
        },
    )
}

/// Another member of a group by id or name, as the hex id the core takes.
fn other_member(session: &Session<'_>, id: ChatId, member: &str) -> anyhow::Result<String> {
    let members = session
        .runtime
        .core()
        .group_members(id)
        .map_err(core_failure)?;
    let target = members
        .iter()
        .filter(|m| !m.me && (m.id == member || m.name == member))
        .map(|m| m.id.clone())
        .collect::<Vec<_>>();
    match target.as_slice() {
        [target] => Ok(target.clone()),
        _ => Err(Failure::new(
            "not_found",
            format!("no single member {} in the group", one_line(member)),
        )
        .into()),
    }
}

/// `group-adds [contacts|nobody]`: who can add this profile to groups.
pub(super) fn adds_setting(
    session: &mut Session<'_>,
    output: &Output,
    setting: Option<String>,
) -> anyhow::Result<()> {
    let mut settings = session.runtime.core().settings();
    if let Some(setting) = setting {
        settings.group_adds = match setting.as_str() {
            "contacts" => GroupAdds::Contacts,
            "nobody" => GroupAdds::Nobody,
            _ => return Err(Failure::new("usage", "contacts or nobody").into()),
        };
        session
            .core()
            .set_settings(settings)
            .map_err(core_failure)?;
    }
    let value = match settings.group_adds {
        GroupAdds::Contacts => "contacts",
        GroupAdds::Nobody => "nobody",
    };
    output.emit(json!({ "group_adds": value }), || {
        format!("Who can add you to groups: {value}")
    })
}

/// `group invitations [list]`.
pub(super) fn invitations(session: &Session<'_>, output: &Output) -> anyhow::Result<()> {
    let invitations = session
        .runtime
        .core()
        .group_invitations()
        .map_err(core_failure)?;
    output.emit(json!({ "invitations": invitations }), || {
        if invitations.is_empty() {
            return "No group invitations.".to_owned();
        }
        invitations
            .iter()
            .map(|i| {
                format!(
                    "{} {} from {}",
                    i.id,
                    one_line(&i.name),
                    super::text::contact_name(session, i.contact)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// `group invitations accept ID`: the answer goes to the inviter now.
pub(super) async fn accept_invitation(
    session: &mut Session<'_>,
    output: &Output,
    invitation: u64,
) -> anyhow::Result<()> {
    session
        .core()
        .accept_group_invitation(sotto_client::runtime::now_millis(), &mut OsRng, invitation)
        .map_err(core_failure)?;
    session.settle().await?;
    output.emit(
        json!({ "invitation": invitation, "accepted": true }),
        || "Accepted; you join once both of you run `sotto receive`.".to_owned(),
    )
}

/// `group invitations decline ID`.
pub(super) fn decline_invitation(
    session: &mut Session<'_>,
    output: &Output,
    invitation: u64,
) -> anyhow::Result<()> {
    session
        .core()
        .decline_group_invitation(invitation)
        .map_err(core_failure)?;
    output.emit(
        json!({ "invitation": invitation, "declined": true }),
        || "Declined.".to_owned(),
    )
}

/// `group leave GROUP`.
pub(super) async fn leave(
    session: &mut Session<'_>,
    output: &Output,
    name: &str,
) -> anyhow::Result<()> {
    let id = existing_group(session, name)?;
    let proposal = session.core().leave_group(id).map_err(core_failure)?;
    let log = session.runtime.core().group_log(id).map_err(core_failure)?;
    let connection = connect(&log, &session.connect).await?;
    append(session, &connection, id, proposal).await?;
    output.emit(json!({ "group": id.0, "left": true }), || {
        "You leave the group once an admin's client commits it.".to_owned()
    })
}

/// `group delete GROUP` (owners): the deletion written to the log for every
/// member and read back, then the log deleted from its relay by its admin
/// (the member who made the group; otherwise it goes with its TTL). Run
/// again, it deletes the log again.
pub(super) async fn delete(
    session: &mut Session<'_>,
    output: &Output,
    name: &str,
) -> anyhow::Result<()> {
    let id = existing_group(session, name)?;
    let log = session.runtime.core().group_log(id).map_err(core_failure)?;
    if !session
        .runtime
        .core()
        .group_deleted(id)
        .map_err(core_failure)?
    {
        // Written for the group's newest epoch, which every member reads.
        sync_group(session, id).await?;
    }
    let deletion = session
        .core()
        .delete_group(sotto_client::runtime::now_millis(), id)
        .map_err(core_failure)?;
    let connection = connect(&log, &session.connect).await?;
    if let Some(entry) = deletion {
        append(session, &connection, id, entry).await?;
        sync_group(session, id).await?;
    }
    let log_deleted = match &log.admin {
        Some((admin_id, admin_key)) => {
            let admin = GroupAdmin::new(*admin_id, admin_key.clone());
            match connection.delete_group_log(&admin).await {
                // Gone already (deleted before, or expired).
                Ok(()) | Err(sotto_client::ClientError::Refused(sotto_wire::ErrorCode::Auth)) => {
                    true
                }
                Err(error) => return Err(relay_failure("deleting the log")(error)),
            }
        }
        None => false,
    };
    output.emit(
        json!({ "group": id.0, "deleted": true, "log_deleted": log_deleted }),
        || match log_deleted {
            true => "Deleted for everyone; its log is gone from the relay.".to_owned(),
            false => "Deleted for everyone; its log stays on the relay until it expires \
                      (only the member who made the group can delete it)."
                .to_owned(),
        },
    )
}

/// Members of a group by id or name (`--mention`), as the hex ids the core
/// takes.
pub(super) fn member_ids(
    session: &Session<'_>,
    id: ChatId,
    named: &[String],
) -> anyhow::Result<Vec<String>> {
    if named.is_empty() {
        return Ok(Vec::new());
    }
    let members = session
        .runtime
        .core()
        .group_members(id)
        .map_err(core_failure)?;
    named
        .iter()
        .map(|name| {
            let matching = members
                .iter()
                .filter(|m| m.id == *name || m.name == *name)
                .collect::<Vec<_>>();
            match matching.as_slice() {
                [member] => Ok(member.id.clone()),
                _ => Err(Failure::new(
                    "not_found",
                    format!("no single member {} in the group", one_line(name)),
                )
                .into()),
            }
        })
        .collect()
}

/// `send`, `reply`, `react`, `edit`, `delete` and `timer` on a group: the
/// log read first (a message is encrypted for the group's newest epoch),
/// the entry appended, and read back.
pub(super) async fn send(
    session: &mut Session<'_>,
    output: &Output,
    id: ChatId,
    message: GroupSend<'_>,
) -> anyhow::Result<()> {
    let seq = write(session, id, message).await?;
    let number = match message {
        GroupSend::Text { .. } => session
            .runtime
            .core()
            .history(id, None, 64)
            .map_err(core_failure)?
            .into_iter()
            .rev()
            .find(|item| item.direction == MessageDirection::Outgoing && item.seq == seq)
            .map(|item| item.number.0),
        _ => None,
    };
    output.emit(
        json!({ "group": id.0, "seq": seq, "message": number, "sent": true }),
        || match number {
            Some(number) => format!("Sent (message {number})."),
            None => "Sent.".to_owned(),
        },
    )
}

/// Writes one message to a group: the log read first (a message is
/// encrypted for the group's newest epoch), the entry appended, and read
/// back (the cursor moves past it, a text takes its number in the log).
/// Returns the entry's sequence number.
pub(super) async fn write(
    session: &mut Session<'_>,
    id: ChatId,
    message: GroupSend<'_>,
) -> anyhow::Result<u64> {
    sync_group(session, id).await?;
    let entry = session
        .core()
        .group_send(sotto_client::runtime::now_millis(), id, message)
        .map_err(core_failure)?;
    let log = session.runtime.core().group_log(id).map_err(core_failure)?;
    let connection = connect(&log, &session.connect).await?;
    let seq = append(session, &connection, id, entry).await?;
    sync_group(session, id).await?;
    Ok(seq)
}

/// `history GROUP`: the group's chat items on this device.
pub(super) async fn history(
    session: &mut Session<'_>,
    output: &Output,
    id: ChatId,
    limit: usize,
    mark_read: bool,
) -> anyhow::Result<()> {
    let items = session
        .runtime
        .core()
        .history(id, None, limit)
        .map_err(core_failure)?;
    if mark_read {
        session
            .core()
            .mark_read(sotto_client::runtime::now_millis(), &mut OsRng, id)
            .map_err(core_failure)?;
        // The read receipts go to the log now.
        send_receipts(session, id).await?;
    }
    output.emit(
        json!({ "group": id.0, "messages": crate::json::value(&items)? }),
        || {
            let now = sotto_client::runtime::now_millis();
            items
                .iter()
                .map(|item| super::text::item_line(item, now))
                .collect::<Vec<_>>()
                .join("\n")
        },
    )
}

/// Appends the receipts the core owes the group's members.
async fn send_receipts(session: &mut Session<'_>, id: ChatId) -> anyhow::Result<()> {
    let receipts = session
        .core()
        .group_receipts(sotto_client::runtime::now_millis(), id)
        .map_err(core_failure)?;
    if receipts.is_empty() {
        return Ok(());
    }
    let log = session.runtime.core().group_log(id).map_err(core_failure)?;
    let connection = connect(&log, &session.connect).await?;
    for entry in receipts {
        append(session, &connection, id, entry).await?;
    }
    Ok(())
}

/// Reads every active group's log to its end; returns what changed, as
/// `{group, name, change}` objects.
pub(super) async fn sync_all(session: &mut Session<'_>) -> anyhow::Result<Vec<Value>> {
    let groups = session
        .runtime
        .core()
        .active_groups()
        .map_err(core_failure)?;
    let mut changes = Vec::new();
    for group in groups {
        changes.extend(sync_group(session, group).await?);
    }
    Ok(changes)
}

/// Whether the relay refused a command's authorization.
fn refused_auth(error: &sotto_client::ClientError) -> bool {
    matches!(
        error,
        sotto_client::ClientError::Refused(sotto_wire::ErrorCode::Auth)
    )
}

/// Reads one group's log from the cursor to its end, appending what the
/// core makes (our pending commit, a lost commit made again, a member's
/// leaving committed) and sending the welcomes it releases. After a
/// removal, the admin rotates the log's keys here, at its next read; until
/// then the members read and write with the old secrets.
pub(super) async fn sync_group(
    session: &mut Session<'_>,
    id: ChatId,
) -> anyhow::Result<Vec<Value>> {
    let name = session
        .runtime
        .core()
        .chat(id)
        .map_err(core_failure)?
        .name
        .unwrap_or_default();
    let log = session.runtime.core().group_log(id).map_err(core_failure)?;
    let connection = connect(&log, &session.connect).await?;
    rotate_if_due(session, &connection, id).await?;
    let mut changes = Vec::new();
    let mut appended_pending = false;
    let mut at_end = false;
    for _ in 0..MAX_ENTRIES_PER_RECEIVE {
        let seq = session
            .runtime
            .core()
            .group_cursor(id)
            .map_err(core_failure)?;
        let Some(read) = read_entry(session, &connection, id, seq).await? else {
            // Refused with every read key: the group ends here.
            let now = sotto_client::runtime::now_millis();
            if session
                .core()
                .group_log_gone(now, id)
                .map_err(core_failure)?
            {
                changes.push(
                    json!({ "group": id.0, "name": name, "change": { "type": "log_closed" } }),
                );
            }
            return Ok(changes);
        };
        let entry = match read {
            GroupRead::Entry(entry) => entry,
            GroupRead::Position(position) if position.first > seq => {
                // Entries expired before we read them: move past them.
                session
                    .core()
                    .skip_group_entries(id, position.first)
                    .map_err(core_failure)?;
                continue;
            }
            GroupRead::Position(_) => {
                // At the end: a commit of ours still pending goes in now
                // (once: it comes back on the next read).
                let pending = session
                    .runtime
                    .core()
                    .pending_group_commit(id)
                    .map_err(core_failure)?;
                if pending.is_empty() || appended_pending {
                    at_end = true;
                    break;
                }
                // A long commit spans several entries, appended in order.
                for entry in pending {
                    append(session, &connection, id, entry).await?;
                }
                appended_pending = true;
                continue;
            }
        };
        let update = session
            .core()
            .handle_group_entry(
                sotto_client::runtime::now_millis(),
                &mut OsRng,
                id,
                seq,
                &entry,
            )
            .map_err(core_failure)?;
        let removed = matches!(
            update.change,
            Some(GroupChange::Removed | GroupChange::Deleted { .. })
        );
        if let Some(change) = &update.change {
            changes.push(json!({ "group": id.0, "name": name, "change": change }));
        }
        if removed {
            break;
        }
        // The welcome goes out now (a live loop sends it itself, and keeps
        // the events for what it shows).
        if update.welcome.is_some() && !session.live {
            session.settle().await?;
        }
        for entry in update.append {
            append(session, &connection, id, entry).await?;
        }
    }
    // At the log's end, our texts that never came back (an append that
    // failed) go again; delivery receipts for what was read go out (both
    // come back on the next read).
    let unsent = if at_end {
        session.core().group_unsent(id).map_err(core_failure)?
    } else {
        Vec::new()
    };
    let receipts = session
        .core()
        .group_receipts(sotto_client::runtime::now_millis(), id)
        .map_err(core_failure)?;
    for entry in unsent.into_iter().chain(receipts) {
        append(session, &connection, id, entry).await?;
    }
    Ok(changes)
}

/// The admin's GKEY to the secrets a removal derived, if due (the write
/// key first, the read key once every remaining member acknowledged).
async fn rotate_if_due(
    session: &mut Session<'_>,
    connection: &RelayConnection,
    id: ChatId,
) -> anyhow::Result<()> {
    let Some((write, read)) = session
        .runtime
        .core()
        .group_rotation(id)
        .map_err(core_failure)?
    else {
        return Ok(());
    };
    let log = session.runtime.core().group_log(id).map_err(core_failure)?;
    if let Some((admin_id, admin_key)) = &log.admin {
        let admin = GroupAdmin::new(*admin_id, admin_key.clone());
        connection
            .rekey_group_log_to(&admin, &write, &read)
            .await
            .map_err(relay_failure("rotating the keys"))?;
    }
    session
        .core()
        .group_rotation_installed(id)
        .map_err(core_failure)
}

/// GREAD with the current secrets, or the old ones while the relay still
/// uses them ([`GroupLog::attempts`]); `None` when the relay refuses every
/// attempt (this member lost the log).
async fn read_entry(
    session: &mut Session<'_>,
    connection: &RelayConnection,
    id: ChatId,
    seq: u64,
) -> anyhow::Result<Option<GroupRead>> {
    let log = session.runtime.core().group_log(id).map_err(core_failure)?;
    let previous = session
        .runtime
        .core()
        .group_previous_log(id)
        .map_err(core_failure)?;
    for attempt in log.attempts(previous.as_ref()) {
        match connection.read_group_entry(&reader(attempt.log), seq).await {
            Ok(read) => {
                if attempt.current && previous.is_some() {
                    session.core().group_rotated(id).map_err(core_failure)?;
                }
                return Ok(Some(read));
            }
            Err(error) if refused_auth(&error) => {}
            Err(error) => return Err(relay_failure("reading")(error)),
        }
    }
    Ok(None)
}

/// GAPP with the current secrets, or the old ones while the relay still
/// uses them ([`GroupLog::attempts`]).
async fn append(
    session: &mut Session<'_>,
    connection: &RelayConnection,
    id: ChatId,
    entry: GroupEntry,
) -> anyhow::Result<u64> {
    let log = session.runtime.core().group_log(id).map_err(core_failure)?;
    let previous = session
        .runtime
        .core()
        .group_previous_log(id)
        .map_err(core_failure)?;
    let mut refused = sotto_client::ClientError::Refused(sotto_wire::ErrorCode::Auth);
    for attempt in log.attempts(previous.as_ref()) {
        match connection
            .append_group_entry(&writer(attempt.log), entry.clone())
            .await
        {
            Err(error) if refused_auth(&error) => refused = error,
            result => return result.map_err(relay_failure("appending")),
        }
    }
    Err(relay_failure("appending")(refused))
}

/// A text line for a group change `receive` shows.
pub(super) fn change_line(change: &Value) -> String {
    let name = change["name"].as_str().unwrap_or_default();
    let change = &change["change"];
    match change["type"].as_str() {
        Some("members") => format!("{}: the members changed.", one_line(name)),
        Some("removed") => format!("{}: you are no longer a member.", one_line(name)),
        Some("log_closed") => format!(
            "{}: the group's log refuses you (removed, or deleted).",
            one_line(name)
        ),
        _ => String::new(),
    }
}
