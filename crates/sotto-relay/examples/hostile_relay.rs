//! A hostile relay, for end-to-end tests of the clients: the real relay
//! server (same options, same output as `sotto-relay`) over a store that
//! misbehaves like a malicious operator could, once the file `armed` exists in
//! its data directory. Counting the SENDs after that:
//!
//! - the 2nd is answered OK and never stored (a message dropped);
//! - the 4th is held back and stored after the 5th (reordered);
//! - the 6th is stored twice (duplicated);
//! - the 8th is followed by a copy of the 1st (an old message replayed).
//!
//! Once the file `armed-groups` exists, it does the like to group log
//! entries (GAPP), counting them after that:
//!
//! - the 2nd is answered and never stored (an entry dropped);
//! - the 4th is held back and stored after the 5th (reordered);
//! - the 6th is stored twice (duplicated);
//! - the 8th is followed by a copy of the 1st (an old entry replayed);
//! - the 9th is followed by an entry of its own making (injected).
//!
//! It is not a mode of `sotto-relay`: nothing in the production binary can
//! behave like this.

// Test tooling: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use sotto_relay::server::Server;
use sotto_relay::store::{Commit, QueueRecord, Storage, StoredMessage, WriteOp, WriteOutcome};
use sotto_relay::{Config, Error as StoreError};
use sotto_wire::{MessageId, QueueKey, RecipientId, SenderId};

/// What the hostile store remembers.
#[derive(Default)]
struct Mischief {
    /// SENDs seen since it was armed.
    sends: u64,
    /// The 4th SEND, until the 5th comes.
    held: Option<(SenderId, StoredMessage)>,
    /// The 1st SEND, to replay.
    first: Option<(SenderId, StoredMessage)>,
    /// Group entries appended since `armed-groups` exists.
    appends: u64,
    /// The 4th of them, until the 5th comes.
    held_entry: Option<WriteOp>,
    /// The 1st of them, to replay.
    first_entry: Option<WriteOp>,
}

struct HostileStore {
    inner: Arc<dyn Storage>,
    armed: PathBuf,
    armed_groups: PathBuf,
    mischief: Mutex<Mischief>,
}

/// A fresh message id (the relay's own are random too).
fn fresh_id() -> MessageId {
    MessageId::from_bytes(rand::random())
}

fn send(sender_id: SenderId, message: StoredMessage) -> WriteOp {
    WriteOp::Send {
        sender_id,
        message,
        marker_id: fresh_id(),
    }
}

impl Storage for HostileStore {
    fn queue(&self, recipient_id: &RecipientId) -> Result<Option<QueueRecord>, StoreError> {
        self.inner.queue(recipient_id)
    }

    fn queue_by_sender(
        &self,
        sender_id: &SenderId,
    ) -> Result<Option<(RecipientId, QueueRecord)>, StoreError> {
        self.inner.queue_by_sender(sender_id)
    }

    fn delivery(
        &self,
        recipient_id: &RecipientId,
        now: u64,
    ) -> Result<Option<(QueueKey, StoredMessage)>, StoreError> {
        self.inner.delivery(recipient_id, now)
    }

    fn first_message(
        &self,
        recipient_id: &RecipientId,
        now: u64,
    ) -> Result<Option<StoredMessage>, StoreError> {
        self.inner.first_message(recipient_id, now)
    }

    fn link_key(
        &self,
        link_id: &sotto_wire::LinkId,
        now: u64,
    ) -> Result<Option<sotto_relay::store::AuthKey>, StoreError> {
        self.inner.link_key(link_id, now)
    }

    fn link_blob(
        &self,
        link_id: &sotto_wire::LinkId,
        now: u64,
    ) -> Result<Option<sotto_wire::LinkBlob>, StoreError> {
        self.inner.link_blob(link_id, now)
    }

    fn chunk(
        &self,
        upload_id: &sotto_wire::UploadId,
        now: u64,
    ) -> Result<Option<sotto_relay::store::ChunkRecord>, StoreError> {
        self.inner.chunk(upload_id, now)
    }

    fn chunk_by_download(
        &self,
        download_id: &sotto_wire::DownloadId,
        now: u64,
    ) -> Result<Option<sotto_relay::store::ChunkRecord>, StoreError> {
        self.inner.chunk_by_download(download_id, now)
    }

    fn chunks(&self) -> Result<Vec<sotto_relay::store::ChunkRecord>, StoreError> {
        self.inner.chunks()
    }

    fn expire_chunks(&self, now: u64) -> Result<Vec<sotto_relay::store::ChunkFile>, StoreError> {
        self.inner.expire_chunks(now)
    }

    fn group_by_admin(
        &self,
        admin_id: &sotto_wire::GroupAdminId,
        now: u64,
    ) -> Result<Option<sotto_relay::store::GroupRecord>, StoreError> {
        self.inner.group_by_admin(admin_id, now)
    }

    fn group_by_write(
        &self,
        write_id: &sotto_wire::GroupWriteId,
        now: u64,
    ) -> Result<Option<sotto_relay::store::GroupRecord>, StoreError> {
        self.inner.group_by_write(write_id, now)
    }

    fn group_by_read(
        &self,
        read_id: &sotto_wire::GroupReadId,
        now: u64,
    ) -> Result<Option<sotto_relay::store::GroupRecord>, StoreError> {
        self.inner.group_by_read(read_id, now)
    }

    fn group_entry(
        &self,
        read_id: &sotto_wire::GroupReadId,
        seq: u64,
        now: u64,
    ) -> Result<Option<sotto_wire::GroupEntry>, StoreError> {
        self.inner.group_entry(read_id, seq, now)
    }

    fn apply(
        &self,
        ops: &[WriteOp],
        now: u64,
        commit: Commit,
    ) -> Result<Vec<WriteOutcome>, StoreError> {
        let (armed, armed_groups) = (self.armed.exists(), self.armed_groups.exists());
        if !armed && !armed_groups {
            return self.inner.apply(ops, now, commit);
        }
        let mut mischief = self.mischief.lock().unwrap();
        // The ops really applied, and for each op asked for either the index
        // of its own outcome among them or the outcome to fake.
        let mut applied = Vec::new();
        let mut answers: Vec<Result<usize, WriteOutcome>> = Vec::new();
        for op in ops {
            if armed_groups
                && let WriteOp::AppendGroup {
                    write_id, entry, ..
                } = op
            {
                mischief.appends += 1;
                let faked = || -> Result<WriteOutcome, StoreError> {
                    Ok(match self.inner.group_by_write(write_id, now)? {
                        Some(group) => WriteOutcome::Appended {
                            read_id: group.ids.read_id,
                            seq: group.next,
                        },
                        None => WriteOutcome::Refused,
                    })
                };
                match mischief.appends {
                    1 => {
                        mischief.first_entry = Some(op.clone());
                        answers.push(Ok(applied.len()));
                        applied.push(op.clone());
                    }
                    2 => answers.push(Err(faked()?)),
                    4 => {
                        mischief.held_entry = Some(op.clone());
                        answers.push(Err(faked()?));
                    }
                    5 => {
                        answers.push(Ok(applied.len()));
                        applied.push(op.clone());
                        applied.extend(mischief.held_entry.take());
                    }
                    6 => {
                        answers.push(Ok(applied.len()));
                        applied.push(op.clone());
                        applied.push(op.clone());
                    }
                    8 => {
                        answers.push(Ok(applied.len()));
                        applied.push(op.clone());
                        applied.extend(mischief.first_entry.clone());
                    }
                    9 => {
                        answers.push(Ok(applied.len()));
                        applied.push(op.clone());
                        // Framed like an entry, holding bytes no member made.
                        let mut made_up = vec![0x01, 0, 0, 0, 200];
                        made_up.extend((0..200u32).map(|i| (i * 7 + 3) as u8));
                        made_up.resize(entry.as_bytes().len(), 0);
                        if let WriteOp::AppendGroup {
                            write_id,
                            write_key,
                            ..
                        } = op
                        {
                            applied.push(WriteOp::AppendGroup {
                                write_id: *write_id,
                                write_key: *write_key,
                                entry: sotto_wire::GroupEntry::new(made_up).unwrap(),
                            });
                        }
                    }
                    _ => {
                        answers.push(Ok(applied.len()));
                        applied.push(op.clone());
                    }
                }
                continue;
            }
            let WriteOp::Send {
                sender_id, message, ..
            } = op
            else {
                answers.push(Ok(applied.len()));
                applied.push(op.clone());
                continue;
            };
            if !armed {
                answers.push(Ok(applied.len()));
                applied.push(op.clone());
                continue;
            }
            mischief.sends += 1;
            let faked = || -> Result<WriteOutcome, StoreError> {
                Ok(match self.inner.queue_by_sender(sender_id)? {
                    Some((recipient_id, _)) => WriteOutcome::Sent(recipient_id),
                    None => WriteOutcome::Refused,
                })
            };
            match mischief.sends {
                1 => {
                    mischief.first = Some((*sender_id, message.clone()));
                    answers.push(Ok(applied.len()));
                    applied.push(op.clone());
                }
                2 => answers.push(Err(faked()?)),
                4 => {
                    mischief.held = Some((*sender_id, message.clone()));
                    answers.push(Err(faked()?));
                }
                5 => {
                    answers.push(Ok(applied.len()));
                    applied.push(op.clone());
                    if let Some((sender, held)) = mischief.held.take() {
                        applied.push(send(sender, held));
                    }
                }
                6 => {
                    answers.push(Ok(applied.len()));
                    applied.push(op.clone());
                    let copy = StoredMessage {
                        id: fresh_id(),
                        ..message.clone()
                    };
                    applied.push(send(*sender_id, copy));
                }
                8 => {
                    answers.push(Ok(applied.len()));
                    applied.push(op.clone());
                    if let Some((sender, first)) = mischief.first.clone() {
                        let old = StoredMessage {
                            id: fresh_id(),
                            ..first
                        };
                        applied.push(send(sender, old));
                    }
                }
                _ => {
                    answers.push(Ok(applied.len()));
                    applied.push(op.clone());
                }
            }
        }
        drop(mischief);
        let outcomes = self.inner.apply(&applied, now, commit)?;
        Ok(answers
            .into_iter()
            .map(|answer| match answer {
                Ok(index) => outcomes[index],
                Err(fake) => fake,
            })
            .collect())
    }

    fn sync(&self) -> Result<(), StoreError> {
        self.inner.sync()
    }

    fn expire(&self, now: u64, limit: usize) -> Result<u64, StoreError> {
        self.inner.expire(now, limit)
    }
}

fn main() {
    let config = Config::load().unwrap_or_else(|error| {
        eprintln!("hostile_relay: {error}");
        std::process::exit(2);
    });
    let armed = config.data.join("armed");
    let armed_groups = config.data.join("armed-groups");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let server = Server::bind_with_storage(&config, |inner| {
            Arc::new(HostileStore {
                inner,
                armed,
                armed_groups,
                mischief: Mutex::new(Mischief::default()),
            })
        })
        .await
        .unwrap();
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "relay address: {}", server.relay_address()).unwrap();
        writeln!(stdout, "web: {}", server.web_url()).unwrap();
        stdout.flush().unwrap();
        drop(stdout);
        server.run(std::future::pending()).await.unwrap();
    });
}
