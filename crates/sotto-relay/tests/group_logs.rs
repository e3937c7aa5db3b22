//! Group logs over a real relay process: created with three keys, appended to
//! by writers, read from a cursor and pushed to every subscribed member's
//! connection, kept across a crash of the relay, rotated so that a removed
//! member's old keys fail, deleted, expired, bounded by the storage budget,
//! refused alike for unknown ids and wrong keys, and unharmed by malformed
//! commands; and the same through `sotto-client`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use sotto_client::ClientError;
use sotto_client::relay::{GroupPosition, GroupRead, Push};
use sotto_wire::{
    Command, EntityId, ErrorCode, GROUP_ENTRY_LEN, GroupAdminId, GroupEntry, GroupReadId,
    GroupWriteId, QueueAuthSecret, Response, ServerPassword, Transmission,
};
use support::wire::Client;
use support::{Relay, auth_secret, random, within};

/// A group log's ids and the keys its members hold.
struct Log {
    admin_id: GroupAdminId,
    write_id: GroupWriteId,
    read_id: GroupReadId,
    admin: QueueAuthSecret,
    write: QueueAuthSecret,
    read: QueueAuthSecret,
}

impl Log {
    async fn create(client: &mut Client) -> Log {
        Log::create_with_password(client, None).await.unwrap()
    }

    async fn create_with_password(
        client: &mut Client,
        password: Option<&[u8]>,
    ) -> Result<Log, ErrorCode> {
        let (admin, write, read) = (auth_secret(), auth_secret(), auth_secret());
        let command = Command::GroupNew {
            admin_auth_key: admin.public_key(),
            write_auth_key: write.public_key(),
            read_auth_key: read.public_key(),
            password: password.map(|p| ServerPassword::new(p.to_vec()).unwrap()),
        };
        match client.request(&command, Some(&admin)).await {
            Response::GroupIds {
                admin_id,
                write_id,
                read_id,
            } => Ok(Log {
                admin_id,
                write_id,
                read_id,
                admin,
                write,
                read,
            }),
            Response::Err { code, .. } => Err(code),
            other => panic!("GNEW answered {other:?}"),
        }
    }

    async fn append(&self, client: &mut Client, entry: &GroupEntry) -> Response {
        let command = Command::GroupAppend {
            write_id: self.write_id,
            entry: entry.clone(),
        };
        client.request(&command, Some(&self.write)).await
    }

    async fn appended(&self, client: &mut Client, entry: &GroupEntry) -> u64 {
        match self.append(client, entry).await {
            Response::GroupSeq { write_id, seq } => {
                assert_eq!(write_id, self.write_id);
                seq
            }
            other => panic!("GAPP answered {other:?}"),
        }
    }

    async fn read(&self, client: &mut Client, from: u64) -> Response {
        let command = Command::GroupRead {
            read_id: self.read_id,
            from,
        };
        client.request(&command, Some(&self.read)).await
    }

    async fn subscribe(&self, client: &mut Client) -> Response {
        let command = Command::GroupSub {
            read_id: self.read_id,
        };
        client.request(&command, Some(&self.read)).await
    }

    async fn rekey(&mut self, client: &mut Client) {
        let (write, read) = (auth_secret(), auth_secret());
        let command = Command::GroupKey {
            admin_id: self.admin_id,
            write_auth_key: write.public_key(),
            read_auth_key: read.public_key(),
        };
        let reply = client.request(&command, Some(&self.admin)).await;
        assert!(matches!(reply, Response::Ok { .. }), "GKEY: {reply:?}");
        self.write = write;
        self.read = read;
    }

    /// The same log with the keys a member held before a rotation.
    fn with_keys_of(&self, old: &Log) -> Log {
        Log {
            admin_id: self.admin_id,
            write_id: self.write_id,
            read_id: self.read_id,
            admin: old.admin.clone(),
            write: old.write.clone(),
            read: old.read.clone(),
        }
    }

    fn position(&self, first: u64, next: u64) -> Response {
        Response::GroupPos {
            read_id: self.read_id,
            first,
            next,
        }
    }

    fn entry_at(&self, seq: u64, entry: &GroupEntry) -> Response {
        Response::GroupEntry {
            read_id: self.read_id,
            seq,
            entry: entry.clone(),
        }
    }
}

/// An entry of random bytes, as an end-to-end encrypted entry looks.
fn entry() -> GroupEntry {
    let mut bytes = vec![0; GROUP_ENTRY_LEN];
    for part in bytes.chunks_mut(32) {
        part.copy_from_slice(&random::<32>()[..part.len()]);
    }
    GroupEntry::new(bytes).unwrap()
}

fn is_error(response: &Response, expected: ErrorCode) -> bool {
    matches!(response, Response::Err { code, .. } if *code == expected)
}

async fn connect(relay: &Relay) -> Client {
    Client::connect(&relay.address).await.unwrap()
}

#[tokio::test]
async fn one_append_reaches_every_subscribed_member() {
    let relay = Relay::start(&[]);
    let mut admin = connect(&relay).await;
    let log = Log::create(&mut admin).await;
    let ids = [
        *log.admin_id.as_bytes(),
        *log.write_id.as_bytes(),
        *log.read_id.as_bytes(),
    ];
    assert!(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2]);

    let mut members = Vec::new();
    for _ in 0..5 {
        let mut member = connect(&relay).await;
        assert_eq!(log.subscribe(&mut member).await, log.position(1, 1));
        members.push(member);
    }
    let mut writer = connect(&relay).await;
    let first = entry();
    assert_eq!(log.appended(&mut writer, &first).await, 1);
    for member in &mut members {
        let push = within("a push", member.next_push()).await;
        assert_eq!(push, log.entry_at(1, &first));
    }
    // A member's own append comes back to it as well, once, in order.
    let second = entry();
    assert_eq!(log.appended(&mut members[0], &second).await, 2);
    for member in &mut members {
        assert_eq!(member.next_push().await, log.entry_at(2, &second));
        assert!(
            member
                .push_within(Duration::from_millis(200))
                .await
                .is_none()
        );
    }
    assert_eq!(relay.metric("sotto_group_entries_appended_total").await, 2);
    assert_eq!(relay.metric("sotto_group_entries_pushed_total").await, 10);

    // Reading from a cursor: entries by sequence number, GPOS past the end.
    let mut reader = connect(&relay).await;
    assert_eq!(log.read(&mut reader, 1).await, log.entry_at(1, &first));
    assert_eq!(log.read(&mut reader, 2).await, log.entry_at(2, &second));
    assert_eq!(log.read(&mut reader, 3).await, log.position(1, 3));
    assert_eq!(log.read(&mut reader, 0).await, log.position(1, 3));
    assert_eq!(log.read(&mut reader, u64::MAX).await, log.position(1, 3));

    // GUNSUB stops the pushes on that connection only.
    let unsub = Command::GroupUnsub {
        read_id: log.read_id,
    };
    let reply = members[1].request(&unsub, Some(&log.read)).await;
    assert!(matches!(reply, Response::Ok { .. }), "{reply:?}");
    let third = entry();
    assert_eq!(log.appended(&mut writer, &third).await, 3);
    assert_eq!(members[0].next_push().await, log.entry_at(3, &third));
    assert!(
        members[1]
            .push_within(Duration::from_millis(300))
            .await
            .is_none()
    );
}

#[tokio::test]
async fn a_rotation_ends_subscriptions_and_a_removed_members_keys_fail() {
    let relay = Relay::start(&["--log-level", "debug"]);
    let mut admin = connect(&relay).await;
    let mut log = Log::create(&mut admin).await;
    let mut removed = connect(&relay).await;
    let mut kept = connect(&relay).await;
    log.subscribe(&mut removed).await;
    log.subscribe(&mut kept).await;
    let before = entry();
    log.appended(&mut admin, &before).await;
    removed.next_push().await;
    kept.next_push().await;

    let old = log.with_keys_of(&log);
    log.rekey(&mut admin).await;
    let ended = Response::GroupEnd {
        read_id: log.read_id,
    };
    assert_eq!(within("GEND", removed.next_push()).await, ended);
    assert_eq!(within("GEND", kept.next_push()).await, ended);

    // The removed member still holds the ids and the old keys: every command
    // fails as for a log that does not exist.
    let old = log.with_keys_of(&old);
    assert!(is_error(
        &old.append(&mut removed, &entry()).await,
        ErrorCode::Auth
    ));
    assert!(is_error(&old.read(&mut removed, 1).await, ErrorCode::Auth));
    assert!(is_error(
        &old.subscribe(&mut removed).await,
        ErrorCode::Auth
    ));
    let rekey = Command::GroupKey {
        admin_id: log.admin_id,
        write_auth_key: auth_secret().public_key(),
        read_auth_key: auth_secret().public_key(),
    };
    // Nor can a member holding the write or read key act as the admin.
    let as_writer = removed.request(&rekey, Some(&old.write)).await;
    assert!(is_error(&as_writer, ErrorCode::Auth));

    // The members still in the group subscribe again with the new keys.
    assert_eq!(log.subscribe(&mut kept).await, log.position(1, 2));
    let after = entry();
    assert_eq!(log.appended(&mut admin, &after).await, 2);
    assert_eq!(kept.next_push().await, log.entry_at(2, &after));
    assert!(
        removed
            .push_within(Duration::from_millis(300))
            .await
            .is_none()
    );
    // Entries from before the rotation stay readable by the members.
    assert_eq!(log.read(&mut kept, 1).await, log.entry_at(1, &before));
    assert_eq!(relay.metric("sotto_group_logs_rekeyed_total").await, 1);

    // GDEL: every subscription ends, every id stops working.
    let delete = Command::GroupDel {
        admin_id: log.admin_id,
    };
    let reply = admin.request(&delete, Some(&log.admin)).await;
    assert!(matches!(reply, Response::Ok { .. }), "{reply:?}");
    assert_eq!(within("GEND", kept.next_push()).await, ended);
    assert!(is_error(
        &log.append(&mut admin, &entry()).await,
        ErrorCode::Auth
    ));
    assert!(is_error(&log.read(&mut kept, 1).await, ErrorCode::Auth));
    let again = admin.request(&delete, Some(&log.admin)).await;
    assert!(is_error(&again, ErrorCode::Auth));

    // Nothing identifying in the relay's log, even at debug level.
    let hex = |id: &[u8]| id.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let text = relay.log();
    assert!(!text.is_empty());
    for id in [
        log.admin_id.as_bytes(),
        log.write_id.as_bytes(),
        log.read_id.as_bytes(),
    ] {
        assert!(!text.contains(&hex(id)), "the log shows a group log id");
        assert!(
            !text.contains(&format!("{:?}", &id[..4])),
            "the log shows id bytes"
        );
    }
}

#[tokio::test]
async fn entries_survive_a_crash_and_readers_resume_from_their_cursor() {
    let mut relay = Relay::start(&[]);
    let mut client = connect(&relay).await;
    let mut log = Log::create(&mut client).await;
    let entries: Vec<GroupEntry> = (0..3).map(|_| entry()).collect();
    for (n, entry) in entries.iter().enumerate() {
        assert_eq!(log.appended(&mut client, entry).await, n as u64 + 1);
    }
    // SIGKILL right after the GSEQs: every entry they acknowledged is on disk.
    relay.restart();
    let mut client = connect(&relay).await;
    for (n, entry) in entries.iter().enumerate() {
        assert_eq!(
            log.read(&mut client, n as u64 + 1).await,
            log.entry_at(n as u64 + 1, entry)
        );
    }
    assert_eq!(log.subscribe(&mut client).await, log.position(1, 4));
    let mut writer = connect(&relay).await;
    let next = entry();
    assert_eq!(log.appended(&mut writer, &next).await, 4);
    assert_eq!(client.next_push().await, log.entry_at(4, &next));

    // A rotation survives the crash too: the old keys stay refused.
    let old = log.with_keys_of(&log);
    log.rekey(&mut writer).await;
    relay.restart();
    let mut client = connect(&relay).await;
    let old = log.with_keys_of(&old);
    assert!(is_error(
        &old.append(&mut client, &entry()).await,
        ErrorCode::Auth
    ));
    assert!(is_error(&old.read(&mut client, 1).await, ErrorCode::Auth));
    assert_eq!(log.appended(&mut client, &entry()).await, 5);
}

#[tokio::test]
async fn unknown_logs_and_wrong_keys_are_refused_alike() {
    let relay = Relay::start(&["--password", "secret words"]);
    let mut client = connect(&relay).await;
    assert_eq!(
        Log::create_with_password(&mut client, None).await.err(),
        Some(ErrorCode::Auth)
    );
    assert_eq!(
        Log::create_with_password(&mut client, Some(b"wrong"))
            .await
            .err(),
        Some(ErrorCode::Auth)
    );
    let log = Log::create_with_password(&mut client, Some(b"secret words"))
        .await
        .unwrap();
    log.appended(&mut client, &entry()).await;
    let unknown = Log {
        admin_id: GroupAdminId::from_bytes(random()),
        write_id: GroupWriteId::from_bytes(random()),
        read_id: GroupReadId::from_bytes(random()),
        admin: log.admin.clone(),
        write: log.write.clone(),
        read: log.read.clone(),
    };
    let mut prober = connect(&relay).await;
    assert!(is_error(
        &unknown.append(&mut prober, &entry()).await,
        ErrorCode::Auth
    ));
    assert!(is_error(
        &unknown.read(&mut prober, 1).await,
        ErrorCode::Auth
    ));
    // Each id takes its own key only: the read key does not write, the write
    // key does not read, and no id stands for another.
    let swapped = Log {
        write: log.read.clone(),
        read: log.write.clone(),
        ..unknown
    };
    let swapped = Log {
        admin_id: log.admin_id,
        write_id: log.write_id,
        read_id: log.read_id,
        ..swapped
    };
    assert!(is_error(
        &swapped.append(&mut prober, &entry()).await,
        ErrorCode::Auth
    ));
    assert!(is_error(
        &swapped.read(&mut prober, 1).await,
        ErrorCode::Auth
    ));
    let as_read_id = Command::GroupRead {
        read_id: GroupReadId::from_bytes(*log.write_id.as_bytes()),
        from: 1,
    };
    let reply = prober.request(&as_read_id, Some(&log.write)).await;
    assert!(is_error(&reply, ErrorCode::Auth));
    // Unauthenticated commands are refused too.
    let bare = Command::GroupRead {
        read_id: log.read_id,
        from: 1,
    };
    assert!(is_error(
        &prober.request(&bare, None).await,
        ErrorCode::Auth
    ));
    // The member with the right keys is unaffected.
    let mut member = connect(&relay).await;
    assert!(matches!(
        log.read(&mut member, 1).await,
        Response::GroupEntry { seq: 1, .. }
    ));
}

#[tokio::test]
async fn a_reader_that_falls_behind_gets_every_entry_in_order() {
    let relay = Relay::start(&[]);
    let mut writer = connect(&relay).await;
    let log = Log::create(&mut writer).await;
    let mut reader = connect(&relay).await;
    log.subscribe(&mut reader).await;
    // The reader reads nothing while 300 entries (4.8 MB, more than the
    // relay keeps in flight for one connection) are appended.
    let entries: Vec<GroupEntry> = (0..300).map(|_| entry()).collect();
    for entry in &entries {
        log.appended(&mut writer, entry).await;
    }
    for (n, entry) in entries.iter().enumerate() {
        let push = within("a push", reader.next_push()).await;
        assert_eq!(push, log.entry_at(n as u64 + 1, entry), "entry {}", n + 1);
    }
    assert!(
        reader
            .push_within(Duration::from_millis(300))
            .await
            .is_none()
    );
}

#[tokio::test]
async fn entries_expire_after_the_group_ttl() {
    let relay = Relay::start(&["--group-ttl", "4s"]);
    let mut client = connect(&relay).await;
    let log = Log::create(&mut client).await;
    let first = entry();
    log.appended(&mut client, &first).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let second = entry();
    log.appended(&mut client, &second).await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    // The first is gone, the second is not: GPOS tells where the log starts.
    assert_eq!(log.read(&mut client, 1).await, log.position(2, 3));
    assert_eq!(log.read(&mut client, 2).await, log.entry_at(2, &second));
    assert_eq!(log.subscribe(&mut client).await, log.position(2, 3));
}

#[tokio::test]
async fn the_storage_budget_refuses_entries_with_full_but_not_a_rotation() {
    let relay = Relay::start(&["--max-storage", "16MiB"]);
    let mut client = connect(&relay).await;
    let mut log = Log::create(&mut client).await;
    // 16 MiB of entries and more, 50 at a time without waiting for each GSEQ.
    let mut appended = 0;
    let mut full = 0;
    for _ in 0..22 {
        let mut corr_ids = Vec::new();
        for _ in 0..50 {
            let command = Command::GroupAppend {
                write_id: log.write_id,
                entry: entry(),
            };
            let transmission = client.transmission(&command, Some(&log.write));
            corr_ids.push(transmission.corr_id);
            client.send_batch(&[transmission]).await;
        }
        for corr_id in corr_ids {
            match client.reply_to(corr_id).await {
                Response::GroupSeq { seq, .. } => {
                    appended += 1;
                    assert_eq!(seq, appended);
                }
                reply if is_error(&reply, ErrorCode::Full) => full += 1,
                other => panic!("GAPP answered {other:?}"),
            }
        }
    }
    assert!(
        appended > 900 && full > 0,
        "{appended} appended, {full} full"
    );
    // A rotation (a member's removal) still goes through, and the log reads.
    log.rekey(&mut client).await;
    assert!(matches!(
        log.read(&mut client, appended).await,
        Response::GroupEntry { .. }
    ));
    assert!(is_error(
        &log.append(&mut client, &entry()).await,
        ErrorCode::Full
    ));
}

#[tokio::test]
async fn malformed_group_commands_get_err_cmd_and_lose_nothing() {
    let relay = Relay::start(&[]);
    let mut client = connect(&relay).await;
    let log = Log::create(&mut client).await;
    let kept = entry();
    log.appended(&mut client, &kept).await;
    let entity = Some(EntityId::from_bytes(*log.write_id.as_bytes()));
    // An entry a byte short or long, a GREAD without its position, a GSUB
    // without its log, a GNEW cut short.
    let cases = [
        (0x16, entity, vec![0; GROUP_ENTRY_LEN - 1]),
        (0x16, entity, vec![0; GROUP_ENTRY_LEN + 1]),
        (0x17, entity, vec![0; 7]),
        (0x18, None, Vec::new()),
        (0x15, None, vec![0; 95]),
    ];
    for (tag, entity, body) in cases {
        let transmission = Transmission {
            authenticator: None,
            corr_id: client.corr_id(),
            entity,
            tag,
            body,
        };
        let corr_id = transmission.corr_id;
        client.send_batch(&[transmission]).await;
        let reply = client.reply_to(corr_id).await;
        assert!(is_error(&reply, ErrorCode::Cmd), "tag {tag:#x}: {reply:?}");
    }
    assert_eq!(log.read(&mut client, 1).await, log.entry_at(1, &kept));
    assert_eq!(log.read(&mut client, 2).await, log.position(1, 2));
}

/// The same life through `sotto-client`'s typed methods.
#[tokio::test]
async fn sotto_client_creates_appends_reads_subscribes_rotates_and_deletes() {
    let relay = Relay::start(&[]);
    let admin = relay.connect().await;
    let log = admin.connection.create_group_log(None).await.unwrap();
    let mut member = relay.connect().await;
    let mut removed = relay.connect().await;
    let at = GroupPosition { first: 1, next: 1 };
    for client in [&member, &removed] {
        let position = client
            .connection
            .subscribe_group_log(&log.reader)
            .await
            .unwrap();
        assert_eq!(position, at);
    }
    let first = entry();
    let writer = relay.connect().await;
    let seq = writer
        .connection
        .append_group_entry(&log.writer, first.clone())
        .await
        .unwrap();
    assert_eq!(seq, 1);
    let pushed = Push::GroupEntry {
        read_id: log.reader.read_id(),
        seq: 1,
        entry: first.clone(),
    };
    assert_eq!(member.next_push().await, pushed);
    assert_eq!(removed.next_push().await, pushed);
    assert_eq!(
        member
            .connection
            .read_group_entry(&log.reader, 1)
            .await
            .unwrap(),
        GroupRead::Entry(first)
    );
    assert_eq!(
        member
            .connection
            .read_group_entry(&log.reader, 2)
            .await
            .unwrap(),
        GroupRead::Position(GroupPosition { first: 1, next: 2 })
    );

    let (new_writer, new_reader) = admin
        .connection
        .rekey_group_log(&log.admin, &log.writer, &log.reader)
        .await
        .unwrap();
    let ended = Push::GroupEnd(log.reader.read_id());
    assert_eq!(member.next_push().await, ended);
    assert_eq!(removed.next_push().await, ended);
    let refused = |result: Result<_, ClientError>| {
        matches!(result, Err(ClientError::Refused(ErrorCode::Auth)))
    };
    assert!(refused(
        removed
            .connection
            .append_group_entry(&log.writer, entry())
            .await
            .map(|_| ())
    ));
    assert!(refused(
        removed
            .connection
            .subscribe_group_log(&log.reader)
            .await
            .map(|_| ())
    ));
    member
        .connection
        .subscribe_group_log(&new_reader)
        .await
        .unwrap();
    let second = entry();
    let pending = writer
        .connection
        .submit_group_append(&new_writer, second.clone())
        .await
        .unwrap();
    assert_eq!(pending.seq().await.unwrap(), 2);
    assert_eq!(
        member.next_push().await,
        Push::GroupEntry {
            read_id: new_reader.read_id(),
            seq: 2,
            entry: second,
        }
    );
    assert!(
        removed
            .push_within(Duration::from_millis(300))
            .await
            .is_none()
    );
    member
        .connection
        .unsubscribe_group_log(&new_reader)
        .await
        .unwrap();
    admin.connection.delete_group_log(&log.admin).await.unwrap();
    assert!(refused(
        member
            .connection
            .read_group_entry(&new_reader, 1)
            .await
            .map(|_| ())
    ));
    assert!(format!("{log:?}").contains("GroupWriter(..)"));
}

/// Subscribers that stop reading while entries keep coming hold a bounded
/// number of bytes in the relay each, not the entries appended meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_that_do_not_read_hold_bounded_memory() {
    const SUBSCRIBERS: usize = 24;
    const ENTRIES: usize = 300;
    let relay = Relay::start(&["--stall-timeout", "1h"]);
    let mut writer = connect(&relay).await;
    let log = Log::create(&mut writer).await;
    let mut idle = Vec::new();
    for _ in 0..SUBSCRIBERS {
        let mut subscriber = connect(&relay).await;
        log.subscribe(&mut subscriber).await;
        // Kept open, never read from again.
        idle.push(subscriber);
    }
    let baseline = relay.resident_kib().unwrap();
    let entry = entry();
    for _ in 0..ENTRIES {
        log.appended(&mut writer, &entry).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let grown = relay.resident_kib().unwrap().saturating_sub(baseline);
    eprintln!(
        "{SUBSCRIBERS} subscribers not reading {ENTRIES} entries (4.8 MB each): \
         relay grew by {grown} KiB"
    );
    // Each may have its reply bound (16 blocks, 256 KiB) waiting plus its
    // buffers; holding the entries would take 4.8 MB each.
    assert!(
        grown < 1024 * SUBSCRIBERS as u64,
        "the relay grew by {grown} KiB for {SUBSCRIBERS} subscribers"
    );
    // Still serving: a new reader reads the last entry.
    let mut reader = connect(&relay).await;
    assert_eq!(
        log.read(&mut reader, ENTRIES as u64).await,
        log.entry_at(ENTRIES as u64, &entry)
    );
    drop(idle);
}
