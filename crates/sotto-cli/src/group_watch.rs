//! Live group logs for `sotto listen` and `sotto chat`: one task per active
//! group holds a connection of its own to the group's relay, subscribed
//! (GSUB) with the member's read credentials. Each push of the log (GENT: a
//! new entry; GEND: the log was rekeyed or deleted) and each (re)subscription
//! wakes the live loop, which reads the log from the profile's cursor with
//! GREAD (`commands::groups`), so an entry appended while the connection was
//! down is read after it comes back, once and in order. The tasks hold no
//! group state: the core keeps the cursor.

use std::collections::HashMap;
use std::time::Duration;

use sotto_client::relay::{ConnectOptions, GroupReader, Push, RelayConnection};
use sotto_core::{ChatId, Core, GroupLog};
use sotto_store::SqlCipherStore;
use subtle::ConstantTimeEq;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use zeroize::Zeroizing;

/// Wakes waiting to be handled; more of one group's are the same wake.
const WAKE_CAPACITY: usize = 256;
/// The longest wait before connecting again to a group's relay.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// The watched groups and their wakes.
pub(crate) struct GroupWatch {
    connect: ConnectOptions,
    wake: mpsc::Sender<ChatId>,
    woken: mpsc::Receiver<ChatId>,
    /// Each watched group's task, with the credentials it subscribed with
    /// (a rekey starts it again).
    tasks: HashMap<ChatId, (Credentials, JoinHandle<()>)>,
}

impl GroupWatch {
    pub(crate) fn new(connect: ConnectOptions) -> GroupWatch {
        let (wake, woken) = mpsc::channel(WAKE_CAPACITY);
        GroupWatch {
            connect,
            wake,
            woken,
            tasks: HashMap::new(),
        }
    }

    /// Watches every active group of the profile with its current
    /// credentials, and no other: a group joined is watched from now on, a
    /// group rekeyed is subscribed again with its new keys, a group left is
    /// no longer watched.
    pub(crate) fn reconcile(&mut self, core: &Core<SqlCipherStore>) {
        let Ok(groups) = core.active_groups() else {
            return;
        };
        let mut wanted = HashMap::new();
        for group in groups {
            let (Ok(log), Ok(previous)) = (core.group_log(group), core.group_previous_log(group))
            else {
                continue;
            };
            wanted.insert(group, (log, previous));
        }
        self.tasks.retain(|chat, (subscribed, task)| {
            let keep = wanted.get(chat).is_some_and(|(log, previous)| {
                bool::from(credentials(log, previous.as_ref()).ct_eq(subscribed))
            });
            if !keep {
                task.abort();
            }
            keep
        });
        for (chat, (log, previous)) in wanted {
            if self.tasks.contains_key(&chat) {
                continue;
            }
            let subscribed = credentials(&log, previous.as_ref());
            let task = tokio::spawn(watch(
                chat,
                log,
                previous,
                self.connect.clone(),
                self.wake.clone(),
            ));
            self.tasks.insert(chat, (subscribed, task));
        }
    }

    /// Has the loop read a group's log (and write what it owes, such as
    /// read receipts) as if it had news.
    pub(crate) fn wake(&self, chat: ChatId) {
        let _ = self.wake.try_send(chat);
    }

    /// The next group whose log has news.
    pub(crate) async fn next(&mut self) -> ChatId {
        match self.woken.recv().await {
            Some(chat) => chat,
            // This holds a sender: the channel never closes.
            None => std::future::pending().await,
        }
    }
}

impl Drop for GroupWatch {
    fn drop(&mut self) {
        for (_, task) in self.tasks.values() {
            task.abort();
        }
    }
}

/// The read credentials a task subscribes with, as bytes to compare.
type Credentials = Zeroizing<Vec<u8>>;

fn credentials(log: &GroupLog, previous: Option<&GroupLog>) -> Credentials {
    let mut bytes = Zeroizing::new(log.relay.to_string().into_bytes());
    bytes.extend_from_slice(log.read.0.as_bytes());
    bytes.extend_from_slice(log.read.1.as_bytes());
    if let Some(previous) = previous {
        bytes.extend_from_slice(previous.read.1.as_bytes());
    }
    bytes
}

/// One group's subscription, connected again after a loss (with backoff);
/// it ends when the relay refuses both credentials or ends the
/// subscription (GEND), after waking the loop.
async fn watch(
    chat: ChatId,
    log: GroupLog,
    previous: Option<GroupLog>,
    connect: ConnectOptions,
    wake: mpsc::Sender<ChatId>,
) {
    // The current secret, the old one while the relay may still use it,
    // then the current one again (`GroupLog::attempts`).
    let readers: Vec<GroupReader> = log
        .attempts(previous.as_ref())
        .into_iter()
        .map(|attempt| GroupReader::new(attempt.log.read.0, attempt.log.read.1.clone()))
        .collect();
    let mut backoff = Duration::from_secs(1);
    loop {
        if let Ok((connection, mut pushes)) = RelayConnection::connect(&log.relay, &connect).await {
            let mut subscribed = None;
            let mut refused = true;
            for reader in &readers {
                match connection.subscribe_group_log(reader).await {
                    Ok(_) => {
                        subscribed = Some(reader.read_id());
                        break;
                    }
                    Err(sotto_client::ClientError::Refused(sotto_wire::ErrorCode::Auth)) => {}
                    // The connection failed: connect again.
                    Err(_) => refused = false,
                }
            }
            let Some(read_id) = subscribed else {
                if refused {
                    // Refused with every key: the loop reads, and learns why.
                    let _ = wake.try_send(chat);
                    return;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            };
            backoff = Duration::from_secs(1);
            // Whatever was appended while this was not subscribed.
            let _ = wake.try_send(chat);
            while let Some(push) = pushes.recv().await {
                match push {
                    Push::GroupEntry { read_id: id, .. } if id == read_id => {
                        let _ = wake.try_send(chat);
                    }
                    Push::GroupEnd(id) if id == read_id => {
                        let _ = wake.try_send(chat);
                        return;
                    }
                    _ => {}
                }
            }
            drop(connection);
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}
