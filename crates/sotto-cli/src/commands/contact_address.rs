//! `address` and `requests`: the long-term contact address and the requests
//! that come through it.

use rand::rngs::OsRng;
use serde_json::{Value, json};
use sotto_core::RequestId;

use super::text::qr;
use super::{Output, Session};
use crate::failure::Failure;
use crate::profile::core_failure;
use crate::terminal_text::one_line;
use crate::{AddressAction, RequestsAction, json};

pub(super) async fn address(
    session: &mut Session<'_>,
    output: &Output,
    action: AddressAction,
) -> anyhow::Result<()> {
    let now = sotto_client::runtime::now_millis;
    match action {
        AddressAction::Create => {
            let relay = session.relay.clone();
            session
                .core()
                .create_address(now(), &mut OsRng, &relay)
                .map_err(core_failure)?;
            session.settle().await?;
        }
        AddressAction::Delete => {
            session
                .core()
                .delete_address(now())
                .map_err(|error| match error {
                    sotto_core::CoreError::NoAddress => {
                        Failure::new("no_address", "there is no contact address").into()
                    }
                    other => core_failure(other),
                })?;
            session.settle().await?;
            return output.emit(json!({ "link": Value::Null, "deleted": true }), || {
                "The contact address is deleted.".to_owned()
            });
        }
        AddressAction::Show => {}
    }
    let link = session
        .runtime
        .core()
        .address_link()
        .map_err(core_failure)?;
    output.emit(json!({ "link": link, "deleted": false }), || match &link {
        Some(link) => format!("{link}\n\n{}", qr(link)),
        None => "No contact address (create one with `sotto address create`).".to_owned(),
    })
}

pub(super) async fn requests(
    session: &mut Session<'_>,
    output: &Output,
    action: Option<RequestsAction>,
) -> anyhow::Result<()> {
    let now = sotto_client::runtime::now_millis;
    match action.unwrap_or(RequestsAction::List) {
        RequestsAction::List => {
            let requests = session.runtime.core().requests().map_err(core_failure)?;
            output.emit(json!({ "requests": json::value(&requests)? }), || {
                if requests.is_empty() {
                    return "No contact requests.".to_owned();
                }
                requests
                    .iter()
                    .map(|r| {
                        let bio = r
                            .bio
                            .as_deref()
                            .map(|bio| format!(" — {}", one_line(bio)))
                            .unwrap_or_default();
                        let name = one_line(&r.name);
                        format!("{:>4}  {name}{bio}", r.id.0)
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        }
        RequestsAction::Accept { request } => {
            let relay = session.relay.clone();
            let contact = session
                .core()
                .accept_request(now(), &mut OsRng, RequestId(request), &relay)
                .map_err(core_failure)?;
            session.settle().await?;
            output.emit(json!({ "request": request, "contact": contact.0 }), || {
                format!("Accepted: contact {}.", contact.0)
            })
        }
        RequestsAction::Reject { request } => {
            session
                .core()
                .reject_request(RequestId(request))
                .map_err(core_failure)?;
            output.emit(json!({ "request": request, "rejected": true }), || {
                "Rejected.".to_owned()
            })
        }
    }
}
