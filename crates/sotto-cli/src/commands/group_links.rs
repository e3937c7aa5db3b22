//! `group link|join|joins|requests|approve|decline`: joining a group through
//! its link. The link is the admin's device's own (its queue and key): that
//! device receives the requests and decides them, or lets them in at once
//! when the link's approval is automatic.

use rand::rngs::OsRng;
use serde_json::{Value, json};
use sotto_core::{ChatId, Event};

use super::groups::{existing_group, sync_group};
use super::text::qr;
use super::{Output, Session};
use crate::failure::Failure;
use crate::profile::core_failure;
use crate::terminal_text::one_line;

/// What `group link` was asked to do.
pub(super) struct LinkChoice {
    pub(super) qr: bool,
    pub(super) replace: bool,
    pub(super) delete: bool,
    pub(super) approval: Option<String>,
}

/// `group link GROUP [--qr] [--replace|--delete] [--approval admin|automatic]`.
pub(super) async fn link(
    session: &mut Session<'_>,
    output: &Output,
    group: &str,
    choice: LinkChoice,
) -> anyhow::Result<()> {
    let now = sotto_client::runtime::now_millis;
    let id = existing_group(session, group)?;
    let automatic = match choice.approval.as_deref() {
        None => None,
        Some("admin") => Some(false),
        Some("automatic") => Some(true),
        Some(other) => {
            return Err(Failure::new(
                "usage",
                format!("--approval is admin or automatic, not {}", one_line(other)),
            )
            .into());
        }
    };
    if choice.delete {
        session
            .core()
            .delete_group_link(now(), id)
            .map_err(core_failure)?;
        session.settle().await?;
        return output.emit(
            json!({ "group": id.0, "link": null, "deleted": true }),
            || "The group's link is deleted.".to_owned(),
        );
    }
    let existing = session
        .runtime
        .core()
        .group_link(id)
        .map_err(core_failure)?;
    match (&existing, automatic) {
        (Some(_), Some(automatic)) if !choice.replace => session
            .core()
            .set_group_link_approval(id, automatic)
            .map_err(core_failure)?,
        (Some(link), None) if !choice.replace && link.link.is_some() => {}
        _ => {
            let automatic = automatic
                .or(existing.as_ref().map(|link| link.automatic))
                .unwrap_or(false);
            let relay = session.relay.clone();
            session
                .core()
                .create_group_link(now(), &mut OsRng, id, &relay, automatic)
                .map_err(core_failure)?;
        }
    }
    session.settle().await?;
    let view = session
        .runtime
        .core()
        .group_link(id)
        .map_err(core_failure)?
        .ok_or_else(|| Failure::new("relay", "the group's link could not be made"))?;
    let text = view.link.clone().ok_or_else(|| {
        Failure::new(
            "relay",
            "the relay has not made the link's queue yet; run the command again",
        )
    })?;
    let approval = if view.automatic { "automatic" } else { "admin" };
    output.emit(
        json!({ "group": id.0, "link": text, "approval": approval, "deleted": false }),
        || {
            let mut lines = format!("{text}\n(approval: {approval})");
            if choice.qr {
                lines = format!("{text}\n\n{}\n(approval: {approval})", qr(&text));
            }
            lines
        },
    )
}

/// `group join LINK [--name NAME] [--picture FILE]`: the request goes to
/// the link's relay.
pub(super) async fn join(
    session: &mut Session<'_>,
    output: &Output,
    link: &str,
    name: Option<&str>,
    picture: Vec<u8>,
) -> anyhow::Result<()> {
    let relay = session.relay.clone();
    let join = session
        .core()
        .join_group_by_link(
            sotto_client::runtime::now_millis(),
            &mut OsRng,
            link,
            &relay,
            name,
            picture,
        )
        .map_err(core_failure)?;
    let events = session.settle().await?;
    if let Some(reason) = events.iter().find_map(|event| match event {
        Event::GroupJoinRefused {
            join: refused,
            reason,
            ..
        } if *refused == join => Some(reason.clone()),
        _ => None,
    }) {
        return Err(Failure::new("refused", format!("the request was refused: {reason}")).into());
    }
    let group = sotto_core::GroupLink::parse(link)
        .map(|link| link.name)
        .unwrap_or_default();
    output.emit(
        json!({ "join": join, "name": group, "pending": true }),
        || {
            format!(
                "Asked to join {}; you join once an admin lets you in and you run `sotto receive`.",
                one_line(&group)
            )
        },
    )
}

/// `group joins [--cancel ID]`: requests to join through links still
/// waiting.
pub(super) async fn joins(
    session: &mut Session<'_>,
    output: &Output,
    cancel: Option<u64>,
) -> anyhow::Result<()> {
    if let Some(join) = cancel {
        let known = session
            .runtime
            .core()
            .group_link_joins()
            .map_err(core_failure)?
            .iter()
            .any(|j| j.id == join);
        if !known {
            return Err(Failure::new("not_found", format!("no join {join} waiting")).into());
        }
        session
            .core()
            .cancel_group_link_join(sotto_client::runtime::now_millis(), join)
            .map_err(core_failure)?;
        session.settle().await?;
    }
    let joins = session
        .runtime
        .core()
        .group_link_joins()
        .map_err(core_failure)?;
    output.emit(json!({ "joins": joins }), || {
        if joins.is_empty() {
            return "No requests to join waiting.".to_owned();
        }
        joins
            .iter()
            .map(|j| format!("{} {} (waiting for an admin)", j.id, one_line(&j.name)))
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// `group requests GROUP`.
pub(super) fn requests(session: &Session<'_>, output: &Output, group: &str) -> anyhow::Result<()> {
    let id = existing_group(session, group)?;
    let requests = session
        .runtime
        .core()
        .group_join_requests(id)
        .map_err(core_failure)?;
    output.emit(json!({ "group": id.0, "requests": requests }), || {
        if requests.is_empty() {
            return "No requests to join.".to_owned();
        }
        requests
            .iter()
            .map(|r| {
                format!(
                    "{} {} ({}){}",
                    r.id,
                    one_line(&r.name),
                    r.member,
                    if r.approved { ", approved" } else { "" }
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// The request `request` of group `group`, or a clear error.
fn check_request(session: &Session<'_>, group: &str, request: u64) -> anyhow::Result<()> {
    let id = existing_group(session, group)?;
    let known = session
        .runtime
        .core()
        .group_join_requests(id)
        .map_err(core_failure)?
        .iter()
        .any(|r| r.id == request);
    if !known {
        return Err(Failure::new("not_found", format!("no request {request} in the group")).into());
    }
    Ok(())
}

/// `group approve GROUP REQUEST`: the add goes to the log, and the welcome
/// to the requester once it is in effect.
pub(super) async fn approve(
    session: &mut Session<'_>,
    output: &Output,
    group: &str,
    request: u64,
) -> anyhow::Result<()> {
    check_request(session, group, request)?;
    let id = existing_group(session, group)?;
    let changes = decide(session, id, request, true).await?;
    output.emit(
        json!({ "group": id.0, "request": request, "approved": true, "changes": changes }),
        || "Approved; they join once they run `sotto receive`.".to_owned(),
    )
}

/// `group decline GROUP REQUEST`: the requester is told.
pub(super) async fn decline(
    session: &mut Session<'_>,
    output: &Output,
    group: &str,
    request: u64,
) -> anyhow::Result<()> {
    check_request(session, group, request)?;
    let id = existing_group(session, group)?;
    decide(session, id, request, false).await?;
    output.emit(
        json!({ "group": id.0, "request": request, "declined": true }),
        || "Declined.".to_owned(),
    )
}

/// Approves a request of group `id` (the add goes to the log, made on the
/// newest epoch, and the welcome to the requester once it is in effect; the
/// changes the reads showed), or declines it (the requester is told).
pub(super) async fn decide(
    session: &mut Session<'_>,
    id: ChatId,
    request: u64,
    approve: bool,
) -> anyhow::Result<Vec<Value>> {
    let now = sotto_client::runtime::now_millis();
    let mut changes = Vec::new();
    if approve {
        sync_group(session, id).await?;
        session
            .core()
            .approve_group_join(now, &mut OsRng, request)
            .map_err(core_failure)?;
        changes = sync_group(session, id).await?;
    } else {
        session
            .core()
            .decline_group_join(now, &mut OsRng, request)
            .map_err(core_failure)?;
    }
    session.settle().await?;
    Ok(changes)
}
