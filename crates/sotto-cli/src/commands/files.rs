//! `send-file`, `download` and `auto-download`, and the transfers `receive`
//! carries on: the client's file runner over the profile's `files`
//! directory, with a progress bar on a terminal.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sotto_client::files::{FileRunner, FileStore, Outcome, Progress, Which, local};
use sotto_core::{AutoDownload, ChatId, FileState, MessageNumber, Transfer};

use super::{Output, Session};
use crate::failure::Failure;
use crate::profile::core_failure;
use crate::terminal_text::one_line;

/// The profile's file copies.
pub(super) fn runner(session: &Session<'_>) -> anyhow::Result<FileRunner> {
    let store = FileStore::open(session.dir.join("files")).map_err(|error| {
        Failure::new("storage", format!("the profile's files directory: {error}"))
    })?;
    Ok(FileRunner::new(store, session.connect.clone()))
}

/// A progress bar on stderr, drawn only on a terminal and not for `--json`.
struct Bar {
    shown: bool,
    name: String,
    last: u64,
}

impl Bar {
    fn new(output: &Output, name: &str) -> Bar {
        Bar {
            shown: !output.json && std::io::stderr().is_terminal(),
            name: one_line(name).chars().take(30).collect(),
            last: u64::MAX,
        }
    }

    fn update(&mut self, progress: Progress) {
        if !self.shown || progress.total == 0 {
            return;
        }
        let percent = progress.done.saturating_mul(100) / progress.total;
        if percent == self.last {
            return;
        }
        self.last = percent;
        let filled = (percent / 4) as usize;
        let verb = if progress.upload {
            "sending"
        } else {
            "receiving"
        };
        let mut stderr = std::io::stderr().lock();
        let _ = write!(
            stderr,
            "\r{verb} {} [{}{}] {percent:>3}% of {}",
            self.name,
            "#".repeat(filled),
            " ".repeat(25 - filled.min(25)),
            size_text(progress.total)
        );
        let _ = stderr.flush();
    }

    fn end(&mut self) {
        if self.shown && self.last != u64::MAX {
            eprintln!();
        }
        self.last = u64::MAX;
    }
}

/// A size for people: 512 B, 1.4 KB, 3.0 MB, 1.1 GB (powers of 1000).
pub(crate) fn size_text(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A media type from a file name's extension.
fn media_type(path: &Path) -> &'static str {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    match extension.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" => "image/heic",
        "svg" => "image/svg+xml",
        "pdf" => "application/pdf",
        "txt" | "md" => "text/plain",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "json" => "application/json",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "tar" => "application/x-tar",
        "mp3" => "audio/mpeg",
        "ogg" | "opus" => "audio/ogg",
        "m4a" => "audio/mp4",
        "wav" => "audio/wav",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "mkv" => "video/x-matroska",
        "mov" => "video/quicktime",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "odt" => "application/vnd.oasis.opendocument.text",
        _ => "application/octet-stream",
    }
}

/// The name a file travels under: its own, cut to 255 bytes.
fn file_name(path: &Path) -> anyhow::Result<String> {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .ok_or_else(|| Failure::new("usage", format!("{} is not a file", path.display())))?;
    let mut end = name.len().min(MAX_NAME_LEN);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    Ok(name[..end].to_owned())
}

/// The longest file name a description carries.
const MAX_NAME_LEN: usize = 255;

fn outcome_text(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Sent => "sent",
        Outcome::Received => "received",
        Outcome::Failed(_) => "failed",
        Outcome::Waiting => "waiting",
        Outcome::RelayFull => "relay_full",
        Outcome::Removed => "removed",
    }
}

fn failure_text(outcome: Outcome) -> Option<&'static str> {
    match outcome {
        Outcome::Failed(failure) => Some(failure.reason()),
        _ => None,
    }
}

/// Carries on transfers with a progress bar per file; returns how each
/// stands, as JSON values and lines of text.
pub(super) async fn run_transfers(
    session: &mut Session<'_>,
    runner: &mut FileRunner,
    which: Which,
    output: &Output,
) -> anyhow::Result<Vec<(ChatId, MessageNumber, Outcome)>> {
    let names: Vec<(ChatId, MessageNumber, String)> = session
        .runtime
        .core()
        .file_transfers()
        .map_err(core_failure)?
        .into_iter()
        .map(|t| (t.chat, t.number, t.name))
        .collect();
    let mut bars: Vec<(ChatId, MessageNumber, Bar)> = names
        .iter()
        .map(|(chat, number, name)| (*chat, *number, Bar::new(output, name)))
        .collect();
    let mut current: Option<(ChatId, MessageNumber)> = None;
    let stall = session.timeout;
    let outcomes = runner
        .run(session.core(), which, stall, &mut |progress| {
            let key = (progress.chat, progress.number);
            if current.is_some_and(|shown| shown != key) {
                for (chat, number, bar) in &mut bars {
                    if Some((*chat, *number)) == current {
                        bar.end();
                    }
                }
            }
            current = Some(key);
            if let Some((_, _, bar)) = bars
                .iter_mut()
                .find(|(chat, number, _)| (*chat, *number) == key)
            {
                bar.update(progress);
            }
        })
        .await?;
    for (_, _, bar) in &mut bars {
        bar.end();
    }
    Ok(outcomes)
}

pub(super) fn outcomes_json(outcomes: &[(ChatId, MessageNumber, Outcome)]) -> Value {
    Value::Array(
        outcomes
            .iter()
            .map(|(chat, number, outcome)| {
                json!({
                    "contact": chat.0,
                    "message": number.0,
                    "state": outcome_text(*outcome),
                    "failure": failure_text(*outcome),
                })
            })
            .collect(),
    )
}

pub(super) fn outcome_lines(outcomes: &[(ChatId, MessageNumber, Outcome)]) -> Vec<String> {
    outcomes
        .iter()
        .filter(|(_, _, outcome)| *outcome != Outcome::Removed)
        .map(|(chat, number, outcome)| match outcome {
            Outcome::Failed(failure) => format!(
                "File {} of contact {}: refused: {}.",
                number.0,
                chat.0,
                failure.reason()
            ),
            Outcome::Waiting => format!(
                "File {} of contact {}: not finished, the relay did not answer in time; it goes on at the next `sotto receive`.",
                number.0, chat.0
            ),
            Outcome::RelayFull => format!(
                "File {} of contact {}: not finished, {RELAY_FULL}.",
                number.0, chat.0
            ),
            other => format!(
                "File {} of contact {}: {}.",
                number.0,
                chat.0,
                outcome_text(*other)
            ),
        })
        .collect()
}

/// What a user is told of an upload stopped by a relay out of storage.
const RELAY_FULL: &str = "the relay is out of storage and takes no more file chunks for now; \
nothing is lost: the upload goes on from where it stopped at the next `sotto receive` once \
the relay has room";

/// `sotto send-file CONTACT PATH`, or `GROUP PATH`: a group's file is
/// uploaded once, and its message goes to the group's log.
pub(super) async fn send_file(
    session: &mut Session<'_>,
    output: &Output,
    contact: &str,
    path: &Path,
) -> anyhow::Result<()> {
    let group = super::groups::group(session, contact)?.map(|group| group.id);
    let id = match group {
        Some(id) => id,
        None => session.contact(contact)?,
    };
    let source = std::fs::File::open(path).map_err(|error| {
        Failure::new("usage", format!("cannot read {}: {error}", path.display()))
    })?;
    if !source.metadata()?.is_file() {
        return Err(Failure::new("usage", format!("{} is not a file", path.display())).into());
    }
    let name = file_name(path)?;
    let media_type = media_type(path);
    let mut runner = runner(session)?;
    drop(source);
    // Kept by the profile until the file is encrypted into it, to encrypt
    // it again after a restart.
    let path = std::path::absolute(path)?;
    let relay = session.relay.clone();
    let number = runner
        .start_upload(session.core(), id, &path, &name, media_type, &relay)
        .await
        .map_err(|error| match error {
            sotto_client::ClientError::Core(error) => core_failure(error),
            sotto_client::ClientError::FileTooLarge { needed, limit } => Failure::new(
                "file_too_large",
                format!(
                    "{} is too large for the relay: it takes {} there, and the relay accepts files up to {}; nothing was sent",
                    path.display(),
                    size_text(needed),
                    size_text(limit)
                ),
            )
            .into(),
            other => anyhow::Error::new(other),
        })?;
    let outcomes = run_transfers(session, &mut runner, Which::One(id, number), output).await?;
    let outcome = outcomes
        .iter()
        .find(|(chat, n, _)| (*chat, *n) == (id, number))
        .map_or(Outcome::Waiting, |(_, _, outcome)| *outcome);
    let (_, mut problem) = session.settle_all().await?;
    if let Some(group) = group
        && outcome == Outcome::Sent
    {
        // The file's message goes to the log at the end of a read, and
        // comes back on the next one (the item takes its place in the log).
        for _ in 0..2 {
            if let Err(error) = super::groups::sync_group(session, group).await {
                problem = problem.or(Some(Failure::new("relay", error.to_string())));
                break;
            }
        }
    }
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or_default();
    output.emit(
        json!({
            "contact": id.0,
            "message": number.0,
            "name": name,
            "size": size,
            "media_type": media_type,
            "state": outcome_text(outcome),
            "failure": failure_text(outcome),
            "relay_error": problem.as_ref().map(ToString::to_string),
        }),
        || match outcome {
            Outcome::Sent => format!(
                "Sent {} ({}) as message {}.",
                one_line(&name),
                size_text(size),
                number.0
            ),
            other => outcome_lines(&[(id, number, other)]).join("\n"),
        },
    )?;
    match (outcome, problem) {
        (Outcome::Failed(failure), _) => {
            Err(Failure::new("file_failed", failure.reason()).shown().into())
        }
        (Outcome::RelayFull, _) => Err(Failure::new("relay_full", RELAY_FULL).shown().into()),
        (Outcome::Waiting, _) => Err(Failure::new(
            "relay",
            "the upload is not finished; it goes on at the next `sotto receive`",
        )
        .shown()
        .into()),
        (_, Some(problem)) => Err(problem.shown().into()),
        _ => Ok(()),
    }
}

/// `sotto download`: one file (`CONTACT NUMBER`) or every file waiting.
pub(super) async fn download(
    session: &mut Session<'_>,
    output: &Output,
    target: Option<(String, u64)>,
    dir: Option<PathBuf>,
) -> anyhow::Result<()> {
    let dir = match dir {
        Some(dir) => dir,
        None => std::env::current_dir()?,
    };
    if !dir.is_dir() {
        return Err(Failure::new("usage", format!("{} is not a directory", dir.display())).into());
    }
    let now = sotto_client::runtime::now_millis;
    let wanted: Vec<(ChatId, MessageNumber)> = match &target {
        Some((contact, number)) => {
            let id = session.contact(contact)?;
            let number = MessageNumber(*number);
            let (_, state) = session
                .runtime
                .core()
                .offered_file(id, number)
                .map_err(|_| {
                    Failure::new(
                        "unknown_message",
                        format!(
                            "message {} is not a file received from this contact",
                            number.0
                        ),
                    )
                })?;
            let _ = state;
            check_saving_allowed(session, id)?;
            vec![(id, number)]
        }
        // Chats that block saving are left out.
        None => {
            let mut waiting = every_waiting_file(session)?;
            waiting.retain(|(chat, _)| check_saving_allowed(session, *chat).is_ok());
            waiting
        }
    };
    for (chat, number) in &wanted {
        session
            .core()
            .start_download(now(), *chat, *number)
            .map_err(core_failure)?;
    }
    let mut runner = runner(session)?;
    // Saved as the check after the download decrypts them (once).
    let mut destinations = Vec::new();
    for (chat, number) in &wanted {
        let (file, _) = session
            .runtime
            .core()
            .offered_file(*chat, *number)
            .map_err(core_failure)?;
        let destination = free_name(&dir, &file.name);
        runner.save_when_received(*chat, *number, destination.clone());
        destinations.push(destination);
    }
    let which = match wanted.as_slice() {
        [(chat, number)] => Which::One(*chat, *number),
        _ => Which::All,
    };
    let outcomes = run_transfers(session, &mut runner, which, output).await?;
    let mut results = Vec::new();
    let mut lines = Vec::new();
    let mut failed = None;
    for ((chat, number), destination) in wanted.iter().zip(destinations) {
        let (file, state) = session
            .runtime
            .core()
            .offered_file(*chat, *number)
            .map_err(core_failure)?;
        let mut saved = None;
        let mut failure = None;
        match state {
            FileState::Received if runner.was_saved(*chat, *number) => saved = Some(destination),
            FileState::Received => {
                let transfer = session
                    .runtime
                    .core()
                    .transfer(*chat, *number)
                    .map_err(core_failure)?;
                let source = runner.store().path(*chat, *number, false);
                if !source.exists() {
                    failure = Some(
                        "the file's copy is not in this profile (copies of files do not travel in an export archive); ask the contact to send it again"
                            .to_owned(),
                    );
                } else if let Some(Transfer::Download(download)) = transfer {
                    let destination = free_name(&dir, &file.name);
                    let description = download.description().clone();
                    let target = destination.clone();
                    let result = tokio::task::spawn_blocking(move || {
                        local::save(&source, &description, &target)
                    })
                    .await?;
                    match result {
                        Ok(()) => saved = Some(destination),
                        Err(local::DecryptError::Forged) => {
                            failure = Some("the profile's copy does not decrypt".to_owned());
                        }
                        Err(local::DecryptError::Damaged(_)) => {
                            failure = Some("the profile's copy of the file is damaged".to_owned());
                        }
                        Err(local::DecryptError::Io(error)) => {
                            failure = Some(format!("saving into {}: {error}", dir.display()));
                        }
                    }
                }
            }
            FileState::Failed(reason) => failure = Some(reason.reason().to_owned()),
            _ => {}
        }
        let shown_state = if saved.is_some() {
            "saved"
        } else if failure.is_some() {
            "failed"
        } else {
            "waiting"
        };
        lines.push(match (&saved, &failure) {
            (Some(path), _) => format!(
                "Saved {} ({}) as {}.",
                one_line(&file.name),
                size_text(file.size),
                path.display()
            ),
            (None, Some(why)) => format!(
                "File {} ({}) of contact {} refused: {why}.",
                number.0,
                one_line(&file.name),
                chat.0
            ),
            (None, None) => format!(
                "File {} ({}) of contact {} is not downloaded yet (a relay did not answer in time); run `sotto download` again.",
                number.0,
                one_line(&file.name),
                chat.0
            ),
        });
        if failure.is_some() || saved.is_none() {
            failed.get_or_insert((failure.is_some(), lines.last().cloned().unwrap_or_default()));
        }
        results.push(json!({
            "contact": chat.0,
            "message": number.0,
            "name": file.name,
            "size": file.size,
            "media_type": file.media_type,
            "state": shown_state,
            "path": saved.map(|path| path.display().to_string()),
            "failure": failure,
        }));
    }
    let others: Vec<_> = outcomes
        .iter()
        .filter(|(chat, number, _)| !wanted.contains(&(*chat, *number)))
        .copied()
        .collect();
    lines.extend(outcome_lines(&others));
    if wanted.is_empty() {
        lines.push("No file is waiting to be downloaded.".to_owned());
    }
    output.emit(json!({ "files": results }), || lines.join("\n"))?;
    match failed {
        Some((true, line)) if target.is_some() => {
            Err(Failure::new("file_failed", line).shown().into())
        }
        Some((false, line)) if target.is_some() => Err(Failure::new("relay", line).shown().into()),
        _ => Ok(()),
    }
}

/// Downloads (if need be) and saves one file of a chat into `into`, for the
/// live UI: `progress` hears of every piece; the saved path, or why not.
pub(super) async fn save_one(
    runtime: &mut sotto_client::Runtime<sotto_store::SqlCipherStore>,
    profile: &Path,
    connect: &sotto_client::relay::ConnectOptions,
    stall: std::time::Duration,
    (chat, number): (ChatId, MessageNumber),
    into: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<PathBuf, String> {
    let core_error = |error: sotto_core::CoreError| error.to_string();
    if runtime
        .core()
        .media_settings(chat)
        .map_err(core_error)?
        .block_saving
    {
        return Err("saving media is blocked in this chat".to_owned());
    }
    let (file, _) = runtime
        .core()
        .offered_file(chat, number)
        .map_err(|_| format!("message {} is not a file received in this chat", number.0))?;
    let now = sotto_client::runtime::now_millis();
    runtime
        .core_mut()
        .start_download(now, chat, number)
        .map_err(core_error)?;
    let store = FileStore::open(profile.join("files")).map_err(|error| error.to_string())?;
    let mut runner = FileRunner::new(store, connect.clone());
    let destination = free_name(into, &file.name);
    runner.save_when_received(chat, number, destination.clone());
    runner
        .run(
            runtime.core_mut(),
            Which::One(chat, number),
            stall,
            progress,
        )
        .await
        .map_err(|error| error.to_string())?;
    let (_, state) = runtime
        .core()
        .offered_file(chat, number)
        .map_err(core_error)?;
    match state {
        FileState::Received if runner.was_saved(chat, number) => Ok(destination),
        FileState::Received => {
            let source = runner.store().path(chat, number, false);
            if !source.exists() {
                return Err("the file's copy is not in this profile".to_owned());
            }
            let Some(Transfer::Download(download)) =
                runtime.core().transfer(chat, number).map_err(core_error)?
            else {
                return Err("the file's record is missing".to_owned());
            };
            let description = download.description().clone();
            let target = destination.clone();
            let saved =
                tokio::task::spawn_blocking(move || local::save(&source, &description, &target))
                    .await
                    .map_err(|error| error.to_string())?;
            match saved {
                Ok(()) => Ok(destination),
                Err(local::DecryptError::Io(error)) => Err(format!("saving: {error}")),
                Err(_) => Err("the profile's copy of the file is damaged".to_owned()),
            }
        }
        FileState::Failed(failure) => Err(failure.reason().to_owned()),
        _ => Err("not downloaded yet (a relay did not answer in time); /save again".to_owned()),
    }
}

/// Every incoming file not yet saved or refused, oldest first.
fn every_waiting_file(session: &Session<'_>) -> anyhow::Result<Vec<(ChatId, MessageNumber)>> {
    let core = session.runtime.core();
    let mut waiting = Vec::new();
    for chat in core.chats().map_err(core_failure)? {
        for item in core
            .history(chat.id, None, usize::MAX)
            .map_err(core_failure)?
        {
            if item.direction == sotto_core::MessageDirection::Incoming
                && !item.deleted
                && item
                    .file
                    .as_ref()
                    .is_some_and(|file| matches!(file.state, "available" | "downloading"))
            {
                waiting.push((item.chat, item.number));
            }
        }
    }
    Ok(waiting)
}

/// `NAME` in `dir`, or `NAME (2)`, `NAME (3)`, … if taken; a name that
/// could leave the directory is replaced.
fn free_name(dir: &Path, name: &str) -> PathBuf {
    let safe: String = name
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    let safe = match safe.trim() {
        "" | "." | ".." => "file".to_owned(),
        other if other.starts_with('.') => format!("_{other}"),
        other => other.to_owned(),
    };
    let candidate = dir.join(&safe);
    if !candidate.exists() {
        return candidate;
    }
    let (stem, extension) = match safe.rsplit_once('.') {
        Some((stem, extension)) if !stem.is_empty() => (stem.to_owned(), format!(".{extension}")),
        _ => (safe.clone(), String::new()),
    };
    (2..)
        .map(|n| dir.join(format!("{stem} ({n}){extension}")))
        .find(|path| !path.exists())
        .unwrap_or(candidate)
}

/// `sotto auto-download [SIZE|off]`.
pub(super) fn auto_download(
    session: &mut Session<'_>,
    output: &Output,
    setting: Option<String>,
) -> anyhow::Result<()> {
    if let Some(setting) = setting {
        let limit = match setting.as_str() {
            "off" => None,
            text => Some(parse_size(text)?),
        };
        session
            .core()
            .set_auto_download(limit)
            .map_err(core_failure)?;
    }
    let limit = session
        .runtime
        .core()
        .auto_download()
        .map_err(core_failure)?;
    output.emit(json!({ "auto_download": limit }), || match limit {
        Some(limit) => format!(
            "Files up to {} download as they arrive (`sotto receive`).",
            size_text(limit)
        ),
        None => "Files download only with `sotto download`.".to_owned(),
    })
}

/// `sotto media CONTACT [--auto-download on|off|default] [--block-saving on|off]`.
pub(super) async fn media(
    session: &mut Session<'_>,
    output: &Output,
    contact: &str,
    auto_download: Option<String>,
    block_saving: Option<String>,
) -> anyhow::Result<()> {
    let id = session.contact(contact)?;
    if let Some(setting) = auto_download {
        let setting = match setting.as_str() {
            "on" => AutoDownload::On,
            "off" => AutoDownload::Off,
            "default" => AutoDownload::Default,
            other => {
                return Err(Failure::new(
                    "usage",
                    format!("--auto-download is `on`, `off` or `default`, not {other:?}"),
                )
                .into());
            }
        };
        session
            .core()
            .set_chat_auto_download(id, setting)
            .map_err(core_failure)?;
    }
    if let Some(setting) = block_saving {
        let block = match setting.as_str() {
            "on" => true,
            "off" => false,
            other => {
                return Err(Failure::new(
                    "usage",
                    format!("--block-saving is `on` or `off`, not {other:?}"),
                )
                .into());
            }
        };
        if super::groups::group(session, contact)?.is_some_and(|group| group.id == id) {
            // For every member, through the group's log.
            let change = sotto_core::GroupSend::MediaPrivacy {
                block_saving: block,
            };
            super::groups::write(session, id, change).await?;
        } else {
            let now = sotto_client::runtime::now_millis();
            session
                .core()
                .set_block_saving(now, &mut rand::rngs::OsRng, id, block)
                .map_err(core_failure)?;
            session.settle().await?;
        }
    }
    let settings = session
        .runtime
        .core()
        .media_settings(id)
        .map_err(core_failure)?;
    output.emit(
        json!({
            "contact": id.0,
            "auto_download": settings.auto_download,
            "block_saving": settings.block_saving,
        }),
        || {
            let auto = match settings.auto_download {
                AutoDownload::On => "every file of this chat downloads as it arrives",
                AutoDownload::Off => "no file of this chat downloads by itself",
                AutoDownload::Default => {
                    "files of this chat download as the profile's `auto-download` says"
                }
            };
            let saving = if settings.block_saving {
                "saving and exporting media is blocked in this chat, for both sides"
            } else {
                "media may be saved and exported"
            };
            format!("Automatic downloads: {auto}.\nSaving: {saving}.")
        },
    )
}

/// Refuses to save media of a chat that blocks it.
fn check_saving_allowed(session: &Session<'_>, chat: ChatId) -> anyhow::Result<()> {
    let settings = session
        .runtime
        .core()
        .media_settings(chat)
        .map_err(core_failure)?;
    if settings.block_saving {
        return Err(Failure::new(
            "saving_blocked",
            format!(
                "saving media is blocked in the chat with contact {} (`sotto media` shows it; either side may allow it again)",
                chat.0
            ),
        )
        .into());
    }
    Ok(())
}

/// `500`, `200K`, `5M`, `1G` (powers of 1000; KiB, MiB, GiB powers of 1024).
fn parse_size(text: &str) -> anyhow::Result<u64> {
    let bad = || {
        Failure::new(
            "usage",
            format!(
                "{text:?} is not a size: a number of bytes, or with K, M, G (KiB, MiB, GiB), or `off`"
            ),
        )
    };
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| bad())?;
    let factor: u64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" => 1000,
        "M" | "MB" => 1000 * 1000,
        "G" | "GB" => 1000 * 1000 * 1000,
        "KIB" => 1024,
        "MIB" => 1024 * 1024,
        "GIB" => 1024 * 1024 * 1024,
        _ => return Err(bad().into()),
    };
    Ok(number.checked_mul(factor).ok_or_else(bad)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_and_print() {
        assert_eq!(parse_size("500").unwrap(), 500);
        assert_eq!(parse_size("5M").unwrap(), 5_000_000);
        assert_eq!(parse_size("2MiB").unwrap(), 2 * 1024 * 1024);
        assert!(parse_size("5X").is_err());
        assert!(parse_size("99999999999999G").is_err());
        assert_eq!(size_text(512), "512 B");
        assert_eq!(size_text(1_400), "1.4 KB");
        assert_eq!(size_text(3_000_000_000), "3.0 GB");
    }

    #[test]
    fn saved_names_stay_in_their_directory() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            free_name(dir.path(), "../../etc/passwd"),
            dir.path().join("_.._.._etc_passwd")
        );
        assert_eq!(free_name(dir.path(), ".."), dir.path().join("file"));
        std::fs::write(dir.path().join("a.txt"), "x").unwrap();
        assert_eq!(free_name(dir.path(), "a.txt"), dir.path().join("a (2).txt"));
        assert_eq!(media_type(Path::new("x.JPG")), "image/jpeg");
    }
}
