//! The end of a transfer's chunk steps: an upload's message sent (or its
//! description uploaded first, a redirect), a download's redirect read and
//! the file's own download started, a finished download let go.

use std::cell::RefCell;
use std::rc::Rc;

use sotto_core::{ChatId, FileMessage, MessageNumber, Transfer};
use sotto_files::{TransferFailure, Upload};
use sotto_wire::RelayAddress;
use zeroize::Zeroizing;

use super::local_copy::{Source, decrypt_copy, encrypt, forget_encrypting};
use super::requests::Fault;
use super::{MAX_REDIRECT_LEN, advance, copies, fail};
use crate::client::{Shared, now, pump};
use crate::rng::BrowserRng;

/// Every chunk of the current upload is on its relay: send the message, or
/// upload the description first.
pub(super) async fn uploaded(shared: &Rc<RefCell<Shared>>, key: (ChatId, MessageNumber)) {
    let (transfer, name, media_type) = {
        let state = shared.borrow();
        let Some(active) = state.files.active.get(&key) else {
            return;
        };
        (
            active.transfer.clone(),
            active.name.clone(),
            active.media_type.clone(),
        )
    };
    let message = match &transfer {
        Transfer::Upload(upload) => {
            let Ok(description) = upload.description(0, &name, &media_type) else {
                return fail(shared, key, TransferFailure::Forged);
            };
            match FileMessage::inline(&description) {
                Ok(Some(message)) => message,
                Ok(None) => {
                    // Too long for a message: upload it as a file of its own.
                    let Ok(content) = description.encode() else {
                        return fail(shared, key, TransferFailure::Forged);
                    };
                    let content = Zeroizing::new(content);
                    let relays: Vec<RelayAddress> = description
                        .chunks
                        .first()
                        .map(|c| c.relay.clone())
                        .into_iter()
                        .collect();
                    let Ok(copies) = copies(shared).await else {
                        return;
                    };
                    let Ok(encrypted) = encrypt(shared, &copies, Source::Bytes(&content)).await
                    else {
                        return;
                    };
                    let Ok(redirect) = Upload::new(
                        encrypted.key.clone(),
                        encrypted.nonce,
                        encrypted.len,
                        &encrypted.digests,
                        &relays,
                        1,
                    ) else {
                        return fail(shared, key, TransferFailure::Forged);
                    };
                    let adopted = copies.adopt(&encrypted.copy, key.0, key.1, true).await;
                    forget_encrypting(shared, &encrypted.copy);
                    if adopted.is_err() {
                        return;
                    }
                    {
                        let mut state = shared.borrow_mut();
                        let state = &mut *state;
                        let Some(active) = state.files.active.get_mut(&key) else {
                            return;
                        };
                        active.transfer = Transfer::UploadRedirect {
                            file: upload.clone(),
                            redirect,
                        };
                        active.finishing = false;
                        if let Some(unlocked) = state.unlocked.as_mut() {
                            let _ = unlocked.core.save_transfer(key.0, key.1, &active.transfer);
                        }
                    }
                    pump(shared);
                    advance(shared);
                    return;
                }
                Err(_) => return fail(shared, key, TransferFailure::Forged),
            }
        }
        Transfer::UploadRedirect { file, redirect } => {
            let message = redirect
                .description(0, "", "")
                .ok()
                .and_then(|description| {
                    FileMessage::redirect(&name, file.file_len(), &media_type, &description).ok()
                });
            let Some(message) = message else {
                return fail(shared, key, TransferFailure::Forged);
            };
            message
        }
        _ => return,
    };
    let entry = {
        let mut state = shared.borrow_mut();
        let state = &mut *state;
        state.files.active.remove(&key);
        match state.unlocked.as_mut() {
            Some(unlocked) => unlocked
                .core
                .send_file(now(), &mut BrowserRng, key.0, key.1, message)
                .ok()
                .flatten(),
            None => None,
        }
    };
    // A group's file message goes to its log (the core keeps it until the
    // log has it).
    if let Some(entry) = entry {
        crate::group_runner::send(shared, key.0, entry);
    }
    pump(shared);
}

/// A download's machine is done (received or failed, acknowledged); a
/// redirect's content leads to the file's own download.
pub(super) async fn downloaded(shared: &Rc<RefCell<Shared>>, key: (ChatId, MessageNumber)) {
    let transfer = {
        let state = shared.borrow();
        let Some(active) = state.files.active.get(&key) else {
            return;
        };
        active.transfer.clone()
    };
    let Transfer::DownloadRedirect(download) = transfer else {
        shared.borrow_mut().files.active.remove(&key);
        return;
    };
    if download.failure().is_some() {
        shared.borrow_mut().files.active.remove(&key);
        return;
    }
    let description = download.description().clone();
    let content = async {
        if description.size > MAX_REDIRECT_LEN {
            return Err(Fault::Unexpected);
        }
        let copies = copies(shared).await.map_err(|_| Fault::Local)?;
        let copy = copies
            .copy_of(key.0, key.1, true)
            .await
            .map_err(|_| Fault::Local)?
            .ok_or(Fault::Local)?;
        let content = Rc::new(RefCell::new(Zeroizing::new(Vec::new())));
        decrypt_copy(
            &copies,
            &copy,
            &description.key,
            &description.nonce,
            description.size,
            description.chunks.len(),
            &mut |plain: Vec<u8>| {
                let content = Rc::clone(&content);
                async move {
                    content.borrow_mut().extend_from_slice(&plain);
                    Ok(())
                }
            },
        )
        .await?;
        let _ = copies.remove_copy(&copy).await;
        let content = content.borrow().clone();
        Ok(content)
    }
    .await;
    let next = {
        let mut state = shared.borrow_mut();
        let Some(unlocked) = state.unlocked.as_mut() else {
            return;
        };
        match content {
            Ok(content) => unlocked
                .core
                .redirect_downloaded(key.0, key.1, &content)
                .ok(),
            Err(Fault::Local) => return,
            Err(_) => None,
        }
    };
    match next {
        Some(download) => {
            if let Some(active) = shared.borrow_mut().files.active.get_mut(&key) {
                active.transfer = Transfer::Download(download);
                active.finishing = false;
            }
            pump(shared);
            advance(shared);
        }
        None => fail(shared, key, TransferFailure::Forged),
    }
}
