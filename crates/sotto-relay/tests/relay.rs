//! End-to-end tests against the real `sotto-relay` binary over real WebSockets.

mod support;

use std::time::Duration;

use sotto_wire::{
    Command, ErrorCode, MessageContent, RelayAddress, RelayFingerprint, Response, VersionRange,
    WireError,
};
use support::wire::{Client, ConnectError, QueueOwner, body_of, new_queue_command, send_command};
use support::{Relay, auth_secret, open_socket};
use tokio_tungstenite::tungstenite::Message;

fn ok(response: &Response) {
    assert!(
        matches!(response, Response::Ok { .. }),
        "expected OK, got {response:?}"
    );
}

#[allow(clippy::panic)] // a test helper
fn err(response: &Response) -> ErrorCode {
    match response {
        Response::Err { code, .. } => *code,
        other => panic!("expected ERR, got {other:?}"),
    }
}

#[tokio::test]
async fn new_key_send_sub_msg_ack() {
    let mut relay = Relay::start(&[]);
    assert!(relay.address.to_string().starts_with("sotto+ws://"));
    assert!(relay.web_url.starts_with("http://127.0.0.1:"));

    let mut recipient = Client::connect(&relay.address).await.unwrap();
    let mut sender = Client::connect(&relay.address).await.unwrap();
    let queue = QueueOwner::create(&mut recipient).await;
    assert_ne!(queue.recipient_id.as_bytes(), queue.sender_id.as_bytes());

    // Secure the queue with the sender's key.
    let sender_key = auth_secret();
    let key = Command::Key {
        recipient_id: queue.recipient_id,
        sender_auth_key: sender_key.public_key(),
    };
    ok(&queue.request(&mut recipient, &key).await);
    ok(&queue.request(&mut recipient, &key).await);

    // Now an unauthorized SEND is refused and an authorized one accepted.
    let first = send_command(queue.sender_id, b"hello");
    assert_eq!(err(&sender.request(&first, None).await), ErrorCode::Auth);
    ok(&sender.request(&first, Some(&sender_key)).await);

    // SUB: OK, then the pending message is pushed, sealed with the queue key.
    let sub = Command::Sub {
        recipient_id: queue.recipient_id,
    };
    ok(&queue.request(&mut recipient, &sub).await);
    let (first_id, message) = queue.open(&recipient.next_push().await);
    assert_eq!(body_of(&message), b"hello");
    assert!(message.timestamp > 1_700_000_000);

    // A message sent while the first is unacknowledged waits for the ACK.
    let second = send_command(queue.sender_id, b"world");
    ok(&sender.request(&second, Some(&sender_key)).await);
    assert!(
        recipient
            .push_within(Duration::from_millis(300))
            .await
            .is_none()
    );
    let ack = Command::Ack {
        recipient_id: queue.recipient_id,
        message_id: first_id,
    };
    ok(&queue.request(&mut recipient, &ack).await);
    let (second_id, message) = queue.open(&recipient.next_push().await);
    assert_eq!(body_of(&message), b"world");
    assert_ne!(first_id, second_id);

    // Acking the same message twice: NO_MSG.
    assert_eq!(
        err(&queue.request(&mut recipient, &ack).await),
        ErrorCode::NoMsg
    );
    ok(&queue
        .request(
            &mut recipient,
            &Command::Ack {
                recipient_id: queue.recipient_id,
                message_id: second_id,
            },
        )
        .await);

    // Live delivery: a message sent now is pushed at once.
    ok(&sender
        .request(&send_command(queue.sender_id, b"live"), Some(&sender_key))
        .await);
    let (_, message) = queue.open(&recipient.next_push().await);
    assert_eq!(body_of(&message), b"live");

    let metrics = relay.metrics().await;
    assert!(metrics.contains("sotto_messages_sent_total 3"), "{metrics}");
    assert!(
        metrics.contains("sotto_queues_created_total 1"),
        "{metrics}"
    );

    let status = relay.terminate();
    assert!(status.success(), "{status:?}: {}", relay.log());
}

#[tokio::test]
async fn sends_in_one_block_and_get() {
    let relay = Relay::start(&[]);
    let mut client = Client::connect(&relay.address).await.unwrap();
    let queue = QueueOwner::create(&mut client).await;
    // An unsecured queue accepts unauthorized sends; 50 in one block share commits.
    let transmissions: Vec<_> = (0..50u8)
        .map(|n| client.transmission(&send_command(queue.sender_id, &[n; 100]), None))
        .collect();
    let corr_ids: Vec<_> = transmissions.iter().map(|t| t.corr_id).collect();
    client.send_batch(&transmissions).await;
    for corr_id in corr_ids {
        ok(&client.reply_to(corr_id).await);
    }
    let get = Command::Get {
        recipient_id: queue.recipient_id,
    };
    for n in 0..50u8 {
        let (id, message) = queue.open(&queue.request(&mut client, &get).await);
        assert_eq!(body_of(&message), vec![n; 100]);
        let ack = Command::Ack {
            recipient_id: queue.recipient_id,
            message_id: id,
        };
        ok(&queue.request(&mut client, &ack).await);
    }
    assert_eq!(
        err(&queue.request(&mut client, &get).await),
        ErrorCode::NoMsg
    );
}

#[tokio::test]
async fn unknown_queue_and_bad_authenticator_look_the_same() {
    let relay = Relay::start(&[]);
    let mut client = Client::connect(&relay.address).await.unwrap();
    let queue = QueueOwner::create(&mut client).await;
    let sub = Command::Sub {
        recipient_id: queue.recipient_id,
    };
    let wrong_key = auth_secret();
    let bad_authenticator = client.request(&sub, Some(&wrong_key)).await;
    let unknown = Command::Sub {
        recipient_id: sotto_wire::RecipientId::from_bytes([7; 24]),
    };
    let unknown_queue = client.request(&unknown, Some(&wrong_key)).await;
    assert_eq!(err(&bad_authenticator), ErrorCode::Auth);
    assert_eq!(err(&unknown_queue), ErrorCode::Auth);
    let unauthorized = client.request(&sub, None).await;
    assert_eq!(err(&unauthorized), ErrorCode::Auth);
    // Once the queue's key has authorized a command on this connection (the
    // relay keeps its command key), the same forgeries are still refused and
    // the key still works.
    ok(&client.request(&sub, Some(&queue.auth_key)).await);
    assert_eq!(
        err(&client.request(&sub, Some(&wrong_key)).await),
        ErrorCode::Auth
    );
    assert_eq!(err(&client.request(&sub, None).await), ErrorCode::Auth);
    ok(&client.request(&sub, Some(&queue.auth_key)).await);
}

#[tokio::test]
async fn quota_marker_and_recovery() {
    let relay = Relay::start(&["--queue-quota", "2"]);
    let mut client = Client::connect(&relay.address).await.unwrap();
    let queue = QueueOwner::create(&mut client).await;
    for n in 0..2u8 {
        ok(&client
            .request(&send_command(queue.sender_id, &[n]), None)
            .await);
    }
    let over = send_command(queue.sender_id, b"over");
    assert_eq!(err(&client.request(&over, None).await), ErrorCode::Quota);
    assert_eq!(err(&client.request(&over, None).await), ErrorCode::Quota);
    let sub = Command::Sub {
        recipient_id: queue.recipient_id,
    };
    ok(&queue.request(&mut client, &sub).await);
    let mut seen = Vec::new();
    for _ in 0..3 {
        let (id, message) = queue.open(&client.next_push().await);
        seen.push(message.content.clone());
        let ack = Command::Ack {
            recipient_id: queue.recipient_id,
            message_id: id,
        };
        ok(&queue.request(&mut client, &ack).await);
    }
    assert!(matches!(seen[0], MessageContent::Body(_)));
    assert!(matches!(seen[1], MessageContent::Body(_)));
    assert_eq!(seen[2], MessageContent::QuotaReached);
    // Room again.
    ok(&client.request(&over, None).await);
}

#[tokio::test]
async fn second_subscriber_takes_over() {
    let relay = Relay::start(&[]);
    let mut first = Client::connect(&relay.address).await.unwrap();
    let mut second = Client::connect(&relay.address).await.unwrap();
    let queue = QueueOwner::create(&mut first).await;
    let sub = Command::Sub {
        recipient_id: queue.recipient_id,
    };
    ok(&queue.request(&mut first, &sub).await);
    ok(&queue.request(&mut second, &sub).await);
    match first.next_push().await {
        Response::End { recipient_id } => assert_eq!(recipient_id, queue.recipient_id),
        other => panic!("expected END, got {other:?}"),
    }
    ok(&first
        .request(&send_command(queue.sender_id, b"x"), None)
        .await);
    let (_, message) = queue.open(&second.next_push().await);
    assert_eq!(body_of(&message), b"x");
    assert!(
        first
            .push_within(Duration::from_millis(200))
            .await
            .is_none()
    );
}

#[tokio::test]
async fn suspend_and_delete() {
    let relay = Relay::start(&[]);
    let mut client = Client::connect(&relay.address).await.unwrap();
    let queue = QueueOwner::create(&mut client).await;
    ok(&client
        .request(&send_command(queue.sender_id, b"kept"), None)
        .await);
    let off = Command::Off {
        recipient_id: queue.recipient_id,
    };
    ok(&queue.request(&mut client, &off).await);
    let send = send_command(queue.sender_id, b"refused");
    assert_eq!(err(&client.request(&send, None).await), ErrorCode::Auth);
    let get = Command::Get {
        recipient_id: queue.recipient_id,
    };
    let (_, message) = queue.open(&queue.request(&mut client, &get).await);
    assert_eq!(body_of(&message), b"kept");
    let del = Command::Del {
        recipient_id: queue.recipient_id,
    };
    ok(&queue.request(&mut client, &del).await);
    assert_eq!(
        err(&queue.request(&mut client, &get).await),
        ErrorCode::Auth
    );
}

#[tokio::test]
async fn password_gates_queue_creation() {
    let temp = tempfile::tempdir().unwrap();
    let relay = Relay::try_start_in(
        &temp.path().join("data"),
        &[],
        &[("SOTTO_RELAY_PASSWORD", "open sesame")],
    )
    .unwrap();
    let mut client = Client::connect(&relay.address).await.unwrap();
    for wrong in [None, Some(&b"open sesam"[..]), Some(&b"open sesame!"[..])] {
        let refused = QueueOwner::create_with_password(&mut client, wrong).await;
        assert_eq!(err(&refused.err().unwrap()), ErrorCode::Auth);
    }
    assert!(
        QueueOwner::create_with_password(&mut client, Some(b"open sesame"))
            .await
            .is_ok()
    );
    // The password is not in the command line.
    let (command, key, _) = new_queue_command(None);
    assert_eq!(
        err(&client.request(&command, Some(&key)).await),
        ErrorCode::Auth
    );
}

#[tokio::test]
async fn messages_survive_restart_and_kill() {
    let mut relay = Relay::start(&[]);
    let fingerprint = relay.address.fingerprint;
    let queue = {
        let mut client = Client::connect(&relay.address).await.unwrap();
        let queue = QueueOwner::create(&mut client).await;
        ok(&client
            .request(&send_command(queue.sender_id, b"one"), None)
            .await);
        ok(&client
            .request(&send_command(queue.sender_id, b"two"), None)
            .await);
        queue
    };
    assert!(relay.terminate().success());
    relay.restart();
    assert_eq!(relay.address.fingerprint, fingerprint);
    let mut client = Client::connect(&relay.address).await.unwrap();
    let get = Command::Get {
        recipient_id: queue.recipient_id,
    };
    let (first, message) = queue.open(&queue.request(&mut client, &get).await);
    assert_eq!(body_of(&message), b"one");
    let ack = Command::Ack {
        recipient_id: queue.recipient_id,
        message_id: first,
    };
    ok(&queue.request(&mut client, &ack).await);
    // An ACK is answered before it is on disk (a crash may deliver its message
    // again, which at-least-once delivery allows); the next durable write
    // carries it there.
    QueueOwner::create(&mut client).await;
    drop(client);
    // SIGKILL right after that write's answer: the ACK and the message are
    // both durable.
    relay.kill();
    relay.restart();
    let mut client = Client::connect(&relay.address).await.unwrap();
    let (_, message) = queue.open(&queue.request(&mut client, &get).await);
    assert_eq!(body_of(&message), b"two");
}

#[tokio::test]
async fn short_ttl_expires_messages() {
    let relay = Relay::start(&["--message-ttl", "1s", "--expiry-interval", "1s"]);
    let mut client = Client::connect(&relay.address).await.unwrap();
    let queue = QueueOwner::create(&mut client).await;
    ok(&client
        .request(&send_command(queue.sender_id, b"soon gone"), None)
        .await);
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let get = Command::Get {
        recipient_id: queue.recipient_id,
    };
    assert_eq!(
        err(&queue.request(&mut client, &get).await),
        ErrorCode::NoMsg
    );
    let metrics = relay.metrics().await;
    assert!(
        metrics.contains("sotto_messages_expired_total 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn wrong_fingerprint_is_refused() {
    let relay = Relay::start(&[]);
    let mut address: RelayAddress = relay.address.clone();
    address.fingerprint = RelayFingerprint::from_bytes([1; 32]);
    match Client::connect(&address).await {
        Err(ConnectError::Refused(WireError::FingerprintMismatch)) => {}
        Err(other) => panic!("unexpected error {other:?}"),
        Ok(_) => panic!("connected to a relay with the wrong fingerprint"),
    }
}

#[tokio::test]
async fn unsupported_version_is_rejected() {
    let relay = Relay::start(&[]);
    let versions = VersionRange::new(3, 4).unwrap();
    match Client::connect_with(&relay.address, versions).await {
        Err(ConnectError::Refused(WireError::VersionRejected {
            relay_min: 2,
            relay_max: 2,
        })) => {}
        Err(other) => panic!("unexpected error {other:?}"),
        Ok(_) => panic!("connected with an unsupported version"),
    }
}

#[tokio::test]
async fn bad_frames_close_only_their_connection() {
    let relay = Relay::start(&[]);
    let mut bystander = Client::connect(&relay.address).await.unwrap();
    let queue = QueueOwner::create(&mut bystander).await;

    // Before the handshake: a short frame, a text frame, an oversized frame.
    let bad_frames = [
        (Message::Binary(vec![0u8; 100].into()), Some(1002)),
        (Message::Text("hello".into()), Some(1002)),
        (Message::Binary(vec![0u8; 16385].into()), Some(1009)),
        (Message::Binary(vec![0u8; 100_000].into()), None),
        (Message::Binary(vec![0u8; 16384].into()), Some(1002)),
    ];
    for (frame, code) in bad_frames {
        let mut socket = open_socket(&relay.address).await;
        use futures_util::SinkExt;
        socket.send(frame).await.unwrap();
        let closed_with = support::closed(&mut socket).await;
        if code.is_some() {
            assert_eq!(closed_with, code);
        }
    }

    // After the handshake: a block that does not decrypt, and a wrong-size frame.
    let mut client = Client::connect(&relay.address).await.unwrap();
    client
        .send_raw(Message::Binary(vec![0u8; 16384].into()))
        .await;
    client.closed().await;
    let mut client = Client::connect(&relay.address).await.unwrap();
    client.send_raw(Message::Binary(vec![1u8; 20].into())).await;
    assert_eq!(client.closed().await, Some(1002));

    // Unknown command tag and a garbled SEND, in a valid block: ERR CMD.
    let mut client = Client::connect(&relay.address).await.unwrap();
    let mut unknown = client.transmission(&Command::Ping, None);
    unknown.tag = 0x7f;
    let mut garbled = client.transmission(&send_command(queue.sender_id, b"x"), None);
    garbled.body.push(0);
    let mut oversized = client.transmission(&send_command(queue.sender_id, b"x"), None);
    oversized.body = [&[0u8][..], &16001u16.to_be_bytes(), &vec![0u8; 16001]].concat();
    let (unknown_id, garbled_id, oversized_id) =
        (unknown.corr_id, garbled.corr_id, oversized.corr_id);
    client.send_batch(&[unknown, garbled]).await;
    assert_eq!(err(&client.reply_to(unknown_id).await), ErrorCode::Cmd);
    assert_eq!(err(&client.reply_to(garbled_id).await), ErrorCode::Cmd);
    client.send_batch(&[oversized]).await;
    assert_eq!(
        err(&client.reply_to(oversized_id).await),
        ErrorCode::LargeMsg
    );

    // The bystander is unaffected.
    assert!(matches!(
        bystander.request(&Command::Ping, None).await,
        Response::Pong
    ));
    ok(&bystander
        .request(&send_command(queue.sender_id, b"still here"), None)
        .await);
}

#[tokio::test]
async fn rate_limit_answers_limit() {
    let relay = Relay::start(&["--rate-limit", "1", "--rate-burst", "3"]);
    let mut client = Client::connect(&relay.address).await.unwrap();
    let pings: Vec<_> = (0..6)
        .map(|_| client.transmission(&Command::Ping, None))
        .collect();
    let ids: Vec<_> = pings.iter().map(|t| t.corr_id).collect();
    client.send_batch(&pings).await;
    let mut limited = 0;
    for id in ids {
        match client.reply_to(id).await {
            Response::Pong => {}
            Response::Err {
                code: ErrorCode::Limit,
                ..
            } => limited += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(limited, 3);
}

#[tokio::test]
async fn graceful_shutdown_closes_connections() {
    let mut relay = Relay::start(&[]);
    let mut client = Client::connect(&relay.address).await.unwrap();
    let pid_closed = tokio::spawn(async move { client.closed().await });
    let status = tokio::task::spawn_blocking(move || {
        let status = relay.terminate();
        (status, relay.log())
    })
    .await
    .unwrap();
    assert!(status.0.success(), "{:?}: {}", status.0, status.1);
    assert_eq!(pid_closed.await.unwrap(), Some(1001));
}

#[test]
fn refuses_plain_websocket_off_loopback() {
    let temp = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_sotto-relay"))
        .args(["--listen", "0.0.0.0:0", "--data"])
        .arg(temp.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("TLS"));
}

#[tokio::test]
async fn serves_wss_with_certificate_files() {
    let (cert, key) = support::test_tls_files();
    let relay = Relay::start(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    assert!(
        relay.address.to_string().starts_with("sotto://"),
        "{}",
        relay.address
    );
    assert!(relay.web_url.starts_with("https://127.0.0.1:"));
    let mut client = Client::connect(&relay.address).await.unwrap();
    let queue = QueueOwner::create(&mut client).await;
    ok(&client
        .request(&send_command(queue.sender_id, b"over tls"), None)
        .await);
    let get = Command::Get {
        recipient_id: queue.recipient_id,
    };
    let (_, message) = queue.open(&queue.request(&mut client, &get).await);
    assert_eq!(body_of(&message), b"over tls");
}

#[test]
fn refuses_unreadable_tls_files() {
    let temp = tempfile::tempdir().unwrap();
    let missing = temp.path().join("missing.pem");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_sotto-relay"))
        .args(["--listen", "127.0.0.1:0", "--data"])
        .arg(temp.path().join("data"))
        .arg("--tls-cert")
        .arg(&missing)
        .arg("--tls-key")
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("missing.pem"));
}

#[tokio::test]
async fn a_relay_without_the_web_client_says_what_an_opened_link_is() {
    let relay = Relay::start(&[]);
    let html = "accept: text/html,*/*;q=0.8\r\n";
    for (path, what, command) in [
        ("invite", "one-time invitation", "sotto connect"),
        ("contact", "contact address", "sotto connect"),
        ("group", "link of a group", "sotto group join"),
    ] {
        let page = http_request(&relay.web_url, "GET", path, html).await;
        assert!(page.starts_with("HTTP/1.1 200"), "{path}: {page}");
        assert!(page.contains(what), "{path}: {page}");
        assert!(page.contains(command), "{path}: {page}");
        let lower = page.to_lowercase();
        assert!(
            lower.contains("content-security-policy: default-src 'none'"),
            "{page}"
        );
        assert!(!lower.contains("<script"), "{page}");
    }
    let other = http_request(&relay.web_url, "GET", "elsewhere", html).await;
    assert!(other.starts_with("HTTP/1.1 404"), "{other}");
}

#[tokio::test]
async fn serves_static_files_and_reads_a_config_file() {
    let temp = tempfile::tempdir().unwrap();
    let web = temp.path().join("web");
    std::fs::create_dir(&web).unwrap();
    std::fs::write(web.join("index.html"), "<h1>sotto web</h1>").unwrap();
    let config = temp.path().join("relay.toml");
    std::fs::write(
        &config,
        format!("web-dir = {:?}\nqueue-quota = 1\n", web.to_str().unwrap()),
    )
    .unwrap();
    std::fs::write(web.join("index.html.gz"), "gzipped index").unwrap();
    std::fs::write(web.join("app.js"), "plain app").unwrap();
    std::fs::write(web.join("app.js.br"), "brotli app").unwrap();
    let relay = Relay::start(&["--config", config.to_str().unwrap()]);
    let index = support::http_get(&relay.web_url).await;
    assert!(index.starts_with("HTTP/1.1 200"), "{index}");
    assert!(index.contains("<h1>sotto web</h1>"));
    assert_security_headers(&index);
    let missing = support::http_get(&format!("{}nothing-here", relay.web_url)).await;
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
    assert_security_headers(&missing);
    // The client's own routes, and any page that is no file, are index.html for
    // a browser; other requests for missing files stay 404.
    let html = "accept: text/html,application/xhtml+xml,*/*;q=0.8\r\n";
    for path in ["invite", "contact", "contact/", "some/deep/page"] {
        let page = http_request(&relay.web_url, "GET", path, html).await;
        assert!(page.starts_with("HTTP/1.1 200"), "{path}: {page}");
        assert!(page.contains("<h1>sotto web</h1>"), "{path}: {page}");
        assert_security_headers(&page);
    }
    let plain = http_request(&relay.web_url, "GET", "invite", "").await;
    assert!(plain.contains("<h1>sotto web</h1>"), "{plain}");
    let script = http_request(&relay.web_url, "GET", "missing.js", "accept: */*\r\n").await;
    assert!(script.starts_with("HTTP/1.1 404"), "{script}");
    let post = http_request(&relay.web_url, "POST", "elsewhere", html).await;
    assert!(!post.starts_with("HTTP/1.1 200"), "{post}");
    // Metrics are not on the public listener, only on their own.
    let metrics = http_request(&relay.web_url, "GET", "metrics", html).await;
    assert!(!metrics.contains("sotto_"), "{metrics}");
    assert!(relay.metrics().await.contains("sotto_"));
    // The web client learns the relay's fingerprint from the relay itself.
    let fingerprint = support::http_get(&format!(
        "{}.well-known/sotto-relay-fingerprint",
        relay.web_url
    ))
    .await;
    assert!(fingerprint.starts_with("HTTP/1.1 200"), "{fingerprint}");
    assert!(
        fingerprint.ends_with(&format!("\r\n\r\n{}", relay.address.fingerprint)),
        "{fingerprint}"
    );
    // Precompressed copies go to clients that accept them.
    let brotli = http_request(&relay.web_url, "GET", "app.js", "accept-encoding: br\r\n").await;
    assert!(
        brotli.to_lowercase().contains("content-encoding: br"),
        "{brotli}"
    );
    assert!(brotli.contains("brotli app"), "{brotli}");
    let gzip = http_request(
        &relay.web_url,
        "GET",
        "invite",
        &format!("{html}accept-encoding: gzip\r\n"),
    )
    .await;
    assert!(
        gzip.to_lowercase().contains("content-encoding: gzip"),
        "{gzip}"
    );
    assert!(gzip.contains("gzipped index"), "{gzip}");
    let identity = http_request(&relay.web_url, "GET", "app.js", "").await;
    assert!(identity.contains("plain app"), "{identity}");
    // The quota from the file applies.
    let mut client = Client::connect(&relay.address).await.unwrap();
    let queue = QueueOwner::create(&mut client).await;
    ok(&client
        .request(&send_command(queue.sender_id, b"1"), None)
        .await);
    let second = send_command(queue.sender_id, b"2");
    assert_eq!(err(&client.request(&second, None).await), ErrorCode::Quota);
}

/// One HTTP/1.1 request with extra header lines (each ending in CRLF); the whole
/// response.
#[allow(clippy::unwrap_used)] // a test helper
async fn http_request(base: &str, method: &str, path: &str, headers: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let authority = base.strip_prefix("http://").unwrap().trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(authority).await.unwrap();
    let request = format!(
        "{method} /{path} HTTP/1.1\r\nhost: {authority}\r\n{headers}content-length: 0\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(support::WAIT, stream.read_to_end(&mut response))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&response).into_owned()
}

fn assert_security_headers(response: &str) {
    let lower = response.to_lowercase();
    for header in [
        "content-security-policy: default-src 'none'; script-src 'self' 'wasm-unsafe-eval';",
        "x-content-type-options: nosniff",
        "referrer-policy: no-referrer",
        "cross-origin-opener-policy: same-origin",
    ] {
        assert!(lower.contains(header), "no {header} in {response}");
    }
}

#[tokio::test]
async fn idle_connections_stay_small() {
    const CONNECTIONS: u64 = 400;
    // All from 127.0.0.1: the per-address cap is raised out of the way.
    let relay = Relay::start(&["--max-connections-per-ip", "1000"]);
    let Some(before) = relay.resident_kib() else {
        return; // no /proc here
    };
    let mut clients = Vec::new();
    for _ in 0..CONNECTIONS {
        clients.push(Client::connect(&relay.address).await.unwrap());
    }
    // Every connection has been through its handshake (two 16 KiB blocks).
    let client = clients.last_mut().unwrap();
    assert!(matches!(
        client.request(&Command::Ping, None).await,
        Response::Pong
    ));
    let after = relay.resident_kib().unwrap();
    let per_connection = after.saturating_sub(before) / CONNECTIONS;
    // About 45 KiB in a release build: a read buffer of a block and a read
    // chunk, a write buffer of a block, the connection's tasks. The hello block
    // kept for the connection's lifetime, or blocks piling up in the write
    // buffer, would add 16 KiB or more.
    assert!(
        per_connection <= 56,
        "{per_connection} KiB per idle connection"
    );
}

#[tokio::test]
async fn connection_cap_makes_new_connections_wait() {
    let relay = Relay::start(&["--max-connections", "1"]);
    let first = Client::connect(&relay.address).await.unwrap();
    let address = relay.address.clone();
    let mut second = tokio::spawn(async move { Client::connect(&address).await.is_ok() });
    let waited = tokio::time::timeout(Duration::from_millis(500), &mut second).await;
    assert!(
        waited.is_err(),
        "a connection past the cap was served at once"
    );
    drop(first);
    let connected = tokio::time::timeout(support::WAIT, second)
        .await
        .unwrap()
        .unwrap();
    assert!(connected);
}

#[tokio::test]
async fn silent_and_idle_clients_are_closed() {
    let relay = Relay::start(&["--handshake-timeout", "1s", "--idle-timeout", "2s"]);
    // No hello at all.
    let mut silent = open_socket(&relay.address).await;
    let started = std::time::Instant::now();
    support::closed(&mut silent).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    // A connection that says nothing after the handshake.
    let mut idle = Client::connect(&relay.address).await.unwrap();
    let started = std::time::Instant::now();
    idle.closed().await;
    assert!(started.elapsed() >= Duration::from_millis(1500));
    // PINGs keep a connection open.
    let mut busy = Client::connect(&relay.address).await.unwrap();
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert!(matches!(
            busy.request(&Command::Ping, None).await,
            Response::Pong
        ));
    }
}

#[tokio::test]
async fn random_hellos_are_refused_without_harm() {
    use futures_util::SinkExt;
    let relay = Relay::start(&[]);
    for seed in 0..20u8 {
        let mut frame = vec![seed; 16384];
        if seed % 2 == 0 {
            // A valid magic with garbage after it.
            frame[..8].copy_from_slice(b"SOTTOREL");
        }
        let mut socket = open_socket(&relay.address).await;
        socket.send(Message::Binary(frame.into())).await.unwrap();
        support::closed(&mut socket).await;
    }
    let mut client = Client::connect(&relay.address).await.unwrap();
    assert!(matches!(
        client.request(&Command::Ping, None).await,
        Response::Pong
    ));
}

#[tokio::test]
async fn with_sync_acks_every_ack_waits_for_its_fsync() {
    let relay = Relay::start(&["--sync-acks"]);
    let mut client = Client::connect(&relay.address).await.unwrap();
    let queue = QueueOwner::create(&mut client).await;
    ok(&client
        .request(&send_command(queue.sender_id, b"one"), None)
        .await);
    let sub = Command::Sub {
        recipient_id: queue.recipient_id,
    };
    ok(&queue.request(&mut client, &sub).await);
    let (id, _) = queue.open(&client.next_push().await);
    let ack = Command::Ack {
        recipient_id: queue.recipient_id,
        message_id: id,
    };
    ok(&queue.request(&mut client, &ack).await);
    let metrics = relay.metrics().await;
    assert!(
        metrics.contains("sotto_deferred_commits_total 0\n"),
        "{metrics}"
    );
}

#[tokio::test]
async fn acks_are_deferred_by_default_and_kept_over_a_clean_restart() {
    let mut relay = Relay::start(&[]);
    let queue = {
        let mut client = Client::connect(&relay.address).await.unwrap();
        let queue = QueueOwner::create(&mut client).await;
        for body in [&b"one"[..], b"two", b"three"] {
            ok(&client
                .request(&send_command(queue.sender_id, body), None)
                .await);
        }
        let sub = Command::Sub {
            recipient_id: queue.recipient_id,
        };
        ok(&queue.request(&mut client, &sub).await);
        for expected in [&b"one"[..], b"two"] {
            let (id, message) = queue.open(&client.next_push().await);
            assert_eq!(body_of(&message), expected);
            let ack = Command::Ack {
                recipient_id: queue.recipient_id,
                message_id: id,
            };
            ok(&queue.request(&mut client, &ack).await);
        }
        queue
    };
    let metrics = relay.metrics().await;
    assert!(
        !metrics.contains("sotto_deferred_commits_total 0\n"),
        "{metrics}"
    );
    // SIGTERM syncs what was deferred.
    assert!(relay.terminate().success());
    relay.restart();
    let mut client = Client::connect(&relay.address).await.unwrap();
    let get = Command::Get {
        recipient_id: queue.recipient_id,
    };
    let (_, message) = queue.open(&queue.request(&mut client, &get).await);
    assert_eq!(body_of(&message), b"three");
}

#[tokio::test]
async fn silent_http_connections_do_not_hold_slots() {
    use tokio::io::AsyncReadExt;
    let relay = Relay::start(&["--handshake-timeout", "1s", "--max-connections", "2"]);
    let authority = format!("{}:{}", relay.address.host, relay.address.port);
    // Two silent TCP connections take every slot, until the header timeout.
    let mut silent = Vec::new();
    for _ in 0..2 {
        silent.push(tokio::net::TcpStream::connect(&authority).await.unwrap());
    }
    for stream in &mut silent {
        let mut buffer = [0u8; 64];
        let read = tokio::time::timeout(support::WAIT, stream.read(&mut buffer))
            .await
            .unwrap();
        // Closed by the relay (EOF or reset), without an answer.
        assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    }
    let mut client = Client::connect(&relay.address).await.unwrap();
    assert!(matches!(
        client.request(&Command::Ping, None).await,
        Response::Pong
    ));
}

#[tokio::test]
async fn commands_in_one_block_see_earlier_writes() {
    let relay = Relay::start(&[]);
    let mut client = Client::connect(&relay.address).await.unwrap();
    let queue = QueueOwner::create(&mut client).await;
    // Clients should not mix a queue's two ids in one block; the relay still
    // runs the commands in order.
    let send = client.transmission(&send_command(queue.sender_id, b"first"), None);
    let sub = client.transmission(
        &Command::Sub {
            recipient_id: queue.recipient_id,
        },
        Some(&queue.auth_key),
    );
    let (send_id, sub_id) = (send.corr_id, sub.corr_id);
    client.send_batch(&[send, sub]).await;
    ok(&client.reply_to(send_id).await);
    ok(&client.reply_to(sub_id).await);
    let (id, message) = queue.open(&client.next_push().await);
    assert_eq!(body_of(&message), b"first");
    // ACK then GET in one block: GET sees the queue after the ACK.
    let ack = client.transmission(
        &Command::Ack {
            recipient_id: queue.recipient_id,
            message_id: id,
        },
        Some(&queue.auth_key),
    );
    let get = client.transmission(
        &Command::Get {
            recipient_id: queue.recipient_id,
        },
        Some(&queue.auth_key),
    );
    let (ack_id, get_id) = (ack.corr_id, get.corr_id);
    client.send_batch(&[ack, get]).await;
    ok(&client.reply_to(ack_id).await);
    assert_eq!(err(&client.reply_to(get_id).await), ErrorCode::NoMsg);
}

#[tokio::test]
async fn pipelined_blocks_are_answered_in_order() {
    let relay = Relay::start(&[]);
    let mut client = Client::connect(&relay.address).await.unwrap();
    let queue = QueueOwner::create(&mut client).await;
    let mut expected = Vec::new();
    for block in 0..12u8 {
        let mut batch = Vec::new();
        for n in 0..10u8 {
            let transmission = if n == 5 {
                client.transmission(&Command::Ping, None)
            } else {
                client.transmission(&send_command(queue.sender_id, &[block, n]), None)
            };
            expected.push(transmission.corr_id);
            batch.push(transmission);
        }
        client.send_batch(&batch).await;
    }
    let mut received = Vec::new();
    while received.len() < expected.len() {
        client.receive().await.unwrap();
        received.extend(client.take_replies().into_iter().map(|(id, response)| {
            assert!(
                matches!(response, Response::Ok { .. } | Response::Pong),
                "{response:?}"
            );
            id
        }));
    }
    assert_eq!(received, expected);
    // And the messages are stored in the order they were sent.
    let get = Command::Get {
        recipient_id: queue.recipient_id,
    };
    for block in 0..12u8 {
        for n in (0..10u8).filter(|&n| n != 5) {
            let (id, message) = queue.open(&queue.request(&mut client, &get).await);
            assert_eq!(body_of(&message), [block, n]);
            let ack = Command::Ack {
                recipient_id: queue.recipient_id,
                message_id: id,
            };
            ok(&queue.request(&mut client, &ack).await);
        }
    }
}
