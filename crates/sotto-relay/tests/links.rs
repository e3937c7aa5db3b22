//! Link blobs over a real relay process: created, fetched by anyone holding the
//! id, replaced and deleted by the holder of the link key only, refused alike
//! whether the link exists or not, and durable across restarts and SIGKILL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use sotto_client::ClientError;
use sotto_client::relay::OwnedLink;
use sotto_wire::{
    Command, CorrId, EntityId, ErrorCode, LINK_BLOB_LEN, LinkBlob, LinkId, Response,
    ServerPassword, Transmission,
};
use support::wire::without_entity;
use support::{RawSession, Relay, auth_secret, random};

/// A blob of random bytes, as an encrypted one looks to the relay.
fn blob() -> LinkBlob {
    let mut bytes = vec![0; LINK_BLOB_LEN];
    for chunk in bytes.chunks_mut(32) {
        chunk.copy_from_slice(&random::<32>()[..chunk.len()]);
    }
    LinkBlob::new(bytes).unwrap()
}

#[tokio::test]
async fn a_link_is_created_fetched_replaced_and_deleted() {
    let relay = Relay::start(&[]);
    let owner = relay.connect().await;
    let joiner = relay.connect().await;
    let first = blob();
    let link = owner
        .connection
        .create_link(first.clone(), None)
        .await
        .unwrap();
    let id = link.link_id();
    assert_eq!(joiner.connection.fetch_link(id).await.unwrap(), Some(first));

    let second = blob();
    owner
        .connection
        .set_link(&link, second.clone())
        .await
        .unwrap();
    assert_eq!(
        joiner.connection.fetch_link(id).await.unwrap(),
        Some(second.clone())
    );
    // The owner's own connection sees its change at once, even in one block.
    assert_eq!(owner.connection.fetch_link(id).await.unwrap(), Some(second));

    owner.connection.delete_link(&link).await.unwrap();
    assert_eq!(joiner.connection.fetch_link(id).await.unwrap(), None);
    for refused in [
        owner.connection.set_link(&link, blob()).await,
        owner.connection.delete_link(&link).await,
    ] {
        assert!(matches!(
            refused,
            Err(ClientError::Refused(ErrorCode::Auth))
        ));
    }
    // Two links never share an id.
    let a = owner.connection.create_link(blob(), None).await.unwrap();
    let b = owner.connection.create_link(blob(), None).await.unwrap();
    assert_ne!(a.link_id(), b.link_id());
    // Aggregate counts only.
    assert_eq!(relay.metric("sotto_links_created_total").await, 3);
    assert_eq!(relay.metric("sotto_links_fetched_total").await, 3);
    assert_eq!(relay.metric("sotto_links_deleted_total").await, 1);
}

#[tokio::test]
async fn changes_without_the_link_key_are_refused_alike_for_existing_and_missing_links() {
    let relay = Relay::start(&[]);
    let owner = relay.connect().await;
    let kept = blob();
    let link = owner
        .connection
        .create_link(kept.clone(), None)
        .await
        .unwrap();
    let existing = *link.link_id().as_bytes();
    let missing = random::<24>();

    let mut raw = RawSession::open(&relay.address).await;
    let wrong = auth_secret();
    let key = raw.command_key(&wrong);
    let corr_id = CorrId::from_bytes([7; 8]);
    let mut answers = Vec::new();
    for id in [existing, missing] {
        let link_id = LinkId::from_bytes(id);
        let commands = [
            Command::LinkSet {
                link_id,
                blob: blob(),
            },
            Command::LinkDel { link_id },
        ];
        for command in commands {
            let reply = raw
                .exchange(&command.to_authorized_transmission(corr_id, &key))
                .await;
            assert_eq!(reply.len(), 1);
            answers.push(without_entity(&reply[0], &id));
        }
        // Without any authenticator, likewise.
        let reply = raw
            .exchange(&Command::LinkDel { link_id }.to_transmission(corr_id))
            .await;
        answers.push(without_entity(&reply[0], &id));
    }
    // Fetching a missing link is refused in the same form.
    let reply = raw
        .exchange(
            &Command::LinkGet {
                link_id: LinkId::from_bytes(missing),
            }
            .to_transmission(corr_id),
        )
        .await;
    answers.push(without_entity(&reply[0], &missing));
    assert!(answers.windows(2).all(|pair| pair[0] == pair[1]));

    // The link is untouched, and a client with the wrong key is refused too.
    let joiner = relay.connect().await;
    assert_eq!(
        joiner.connection.fetch_link(link.link_id()).await.unwrap(),
        Some(kept)
    );
    let thief = OwnedLink::new(link.link_id(), auth_secret());
    assert!(matches!(
        joiner.connection.set_link(&thief, blob()).await,
        Err(ClientError::Refused(ErrorCode::Auth))
    ));
}

#[tokio::test]
async fn links_survive_a_restart_and_a_kill() {
    let mut relay = Relay::start(&[]);
    let (link, replaced, deleted) = {
        let owner = relay.connect().await;
        let link = owner.connection.create_link(blob(), None).await.unwrap();
        let replaced = blob();
        owner
            .connection
            .set_link(&link, replaced.clone())
            .await
            .unwrap();
        let deleted = owner.connection.create_link(blob(), None).await.unwrap();
        owner.connection.delete_link(&deleted).await.unwrap();
        (link, replaced, deleted)
    };
    // SIGKILL right after the OKs: they promised the disk.
    relay.kill();
    relay.restart();
    let client = relay.connect().await;
    assert_eq!(
        client.connection.fetch_link(link.link_id()).await.unwrap(),
        Some(replaced.clone())
    );
    assert_eq!(
        client
            .connection
            .fetch_link(deleted.link_id())
            .await
            .unwrap(),
        None
    );
    // The owner's key still works after the restart; a clean stop keeps it all.
    let newest = blob();
    client
        .connection
        .set_link(&link, newest.clone())
        .await
        .unwrap();
    drop(client);
    assert!(relay.terminate().success());
    relay.restart();
    let client = relay.connect().await;
    assert_eq!(
        client.connection.fetch_link(link.link_id()).await.unwrap(),
        Some(newest)
    );
    client.connection.delete_link(&link).await.unwrap();
    relay.restart();
    let client = relay.connect().await;
    assert_eq!(
        client.connection.fetch_link(link.link_id()).await.unwrap(),
        None
    );
    // Nothing of a link reaches the relay's log: not its id, not its key.
    let log = relay.log();
    for secret in [
        link.link_id().as_bytes().as_slice(),
        link.auth_key().public_key().as_bytes(),
    ] {
        let hex: String = secret.iter().map(|byte| format!("{byte:02x}")).collect();
        assert!(!log.contains(&hex), "the log shows a link secret");
        assert!(
            !log.contains(&format!("{secret:?}")),
            "the log shows a link secret"
        );
    }
}

/// A transmission of tag `tag` with `body`, without authenticator.
fn raw_transmission(tag: u8, entity: Option<[u8; 24]>, body: Vec<u8>) -> Transmission {
    Transmission {
        authenticator: None,
        corr_id: CorrId::from_bytes([9; 8]),
        entity: entity.map(EntityId::from_bytes),
        tag,
        body,
    }
}

#[tokio::test]
async fn blobs_of_any_other_size_are_refused() {
    let relay = Relay::start(&[]);
    let mut raw = RawSession::open(&relay.address).await;
    let secret = auth_secret();
    let key = raw.command_key(&secret);
    let id = random::<24>();
    for len in [0, 1, LINK_BLOB_LEN - 1, LINK_BLOB_LEN + 1, 4096] {
        let mut lnew = secret.public_key().as_bytes().to_vec();
        lnew.push(0);
        lnew.extend(std::iter::repeat_n(0x42, len));
        let mut lnew = raw_transmission(0x0a, None, lnew);
        lnew.authenticate(&key);
        let lset = raw_transmission(0x0b, Some(id), vec![0x42; len]);
        for transmission in [lnew, lset] {
            let reply = raw.exchange(&transmission).await;
            let answer = Transmission::decode(&reply[0]).unwrap();
            assert_eq!(answer.corr_id, transmission.corr_id);
            assert_eq!(
                Response::from_transmission(&answer).unwrap(),
                Response::Err {
                    entity: transmission.entity,
                    code: ErrorCode::Cmd
                },
                "{len} bytes"
            );
        }
    }
    // The exact size is taken.
    let mut lnew = secret.public_key().as_bytes().to_vec();
    lnew.push(0);
    lnew.extend(std::iter::repeat_n(0x42, LINK_BLOB_LEN));
    let mut lnew = raw_transmission(0x0a, None, lnew);
    lnew.authenticate(&key);
    let reply = raw.exchange(&lnew).await;
    let answer = Response::from_transmission(&Transmission::decode(&reply[0]).unwrap()).unwrap();
    assert!(matches!(answer, Response::LinkIds { .. }), "{answer:?}");
}

#[tokio::test]
async fn a_relay_with_a_password_wants_it_for_new_links() {
    let relay = Relay::start(&["--password", "hunter2"]);
    let client = relay.connect().await;
    assert!(matches!(
        client.connection.create_link(blob(), None).await,
        Err(ClientError::Refused(ErrorCode::Auth))
    ));
    let wrong = ServerPassword::new(b"hunter3".to_vec()).unwrap();
    assert!(matches!(
        client.connection.create_link(blob(), Some(&wrong)).await,
        Err(ClientError::Refused(ErrorCode::Auth))
    ));
    let right = ServerPassword::new(b"hunter2".to_vec()).unwrap();
    let link = client
        .connection
        .create_link(blob(), Some(&right))
        .await
        .unwrap();
    // Fetching needs no password: the joiner has only the link.
    let joiner = relay.connect().await;
    assert!(
        joiner
            .connection
            .fetch_link(link.link_id())
            .await
            .unwrap()
            .is_some()
    );
}

/// Guessing link ids costs connections as guessing queue ids does: each miss
/// takes from the failed-authorization budget, and a burst closes with 1008.
#[tokio::test]
async fn guessing_link_ids_closes_the_connection() {
    let relay = Relay::start(&["--auth-failure-burst", "4"]);
    let owner = relay.connect().await;
    let link = owner.connection.create_link(blob(), None).await.unwrap();
    let mut raw = RawSession::open(&relay.address).await;
    let corr = |n: u8| CorrId::from_bytes([0, 0, 0, 0, 0, 0, 0, n]);
    // A hit costs nothing.
    let hit = Command::LinkGet {
        link_id: link.link_id(),
    };
    let guesses: Vec<Vec<u8>> = (1..=8)
        .map(|n| {
            let guess = Command::LinkGet {
                link_id: LinkId::from_bytes(random()),
            };
            guess.to_transmission(corr(n)).encode()
        })
        .collect();
    let mut block = vec![hit.to_transmission(corr(0)).encode()];
    block.extend(guesses);
    raw.send_encoded(&block).await;
    let mut responses = Vec::new();
    while responses.len() < 9 {
        responses.extend(raw.responses().await);
    }
    assert!(matches!(responses[0], (_, Response::Link { .. })));
    for (_, response) in &responses[1..] {
        assert!(
            matches!(
                response,
                Response::Err {
                    code: ErrorCode::Auth,
                    ..
                }
            ),
            "{response:?}"
        );
    }
    assert_eq!(support::closed(&mut raw.socket).await, Some(1008));
    // The owner's connection is still served.
    owner.connection.ping().await.unwrap();
}
