//! The floor: what each step a delivered message cannot avoid costs on this
//! machine, measured in isolation, in this process.
//!
//! Each step runs in batches of [`BATCH`] operations; the fastest batch is the
//! one least disturbed by other work on the machine, the median shows the
//! spread. The WebSocket step is a real loopback TCP connection between two
//! tungstenite ends in this process (the relay's library), timed on each side.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures_util::{SinkExt, StreamExt};
use sotto_client::relay::random_auth_secret;
use sotto_wire::x25519_dalek::{PublicKey as DhPublicKey, StaticSecret};
use sotto_wire::{
    Block, CipherSuite, ClientHandshake, Command, CommandKey, CorrId, InnerBlock, MessageBody,
    MessageContent, MessageId, QueueKey, QueueMessage, RecipientId, RelayIdentity,
    RelaySessionAuth, SenderId, ServerHandshake, ServerHandshakeOutcome, Transport, VersionRange,
};
use tokio_tungstenite::tungstenite::Message;

/// Operations per timed batch.
const BATCH: usize = 200;
/// Batches per step.
const BATCHES: usize = 15;

/// One step's cost per operation.
pub(crate) struct Step {
    pub(crate) name: &'static str,
    /// Fastest batch, per operation.
    pub(crate) fastest: Duration,
    /// Median batch, per operation.
    pub(crate) median: Duration,
}

impl Step {
    fn from_batches(name: &'static str, mut batches: Vec<Duration>) -> Step {
        batches.sort_unstable();
        let per_op = |total: Duration| total / BATCH as u32;
        Step {
            name,
            fastest: per_op(batches[0]),
            median: per_op(batches[batches.len() / 2]),
        }
    }

    pub(crate) fn line(&self) -> String {
        format!(
            "{}: {:.1} µs (median batch {:.1} µs)",
            self.name,
            self.fastest.as_secs_f64() * 1e6,
            self.median.as_secs_f64() * 1e6
        )
    }
}

/// Times `operation` over [`BATCHES`] batches of [`BATCH`] calls.
fn time(name: &'static str, mut operation: impl FnMut()) -> Step {
    let batches = (0..BATCHES)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..BATCH {
                operation();
            }
            started.elapsed()
        })
        .collect();
    Step::from_batches(name, batches)
}

/// Sealing and opening a block with the suite the relay picks from `suites`.
/// Each sealed block is dropped at once, as the relay frees it once written
/// (keeping them all would time the first touch of fresh memory instead); the
/// blocks to open are sealed before their clock starts, in counter order.
fn block_steps(
    inner: &InnerBlock,
    suites: &[CipherSuite],
    [seal_name, open_name]: [&'static str; 2],
) -> Result<[Step; 2]> {
    let (mut sealer, _) = transports_with(suites)?;
    let seal = time(seal_name, || {
        std::hint::black_box(sealer.seal(inner).is_ok());
    });
    let (mut client, mut relay) = transports_with(suites)?;
    let blocks = (0..BATCH * BATCHES)
        .map(|_| client.seal(inner))
        .collect::<Result<Vec<Block>, _>>()?;
    let mut blocks = blocks.into_iter();
    let open = time(open_name, || {
        if let Some(block) = blocks.next() {
            std::hint::black_box(relay.open(block).is_ok());
        }
    });
    Ok([seal, open])
}

/// A client and a relay transport after a real handshake offering `suites`.
fn transports_with(suites: &[CipherSuite]) -> Result<(Transport, Transport)> {
    let identity = RelayIdentity::from_secret_bytes(random());
    let (client, hello) =
        ClientHandshake::start_with_suites(random(), VersionRange::SUPPORTED, suites);
    let ServerHandshakeOutcome::Accepted {
        server_hello,
        transport: relay,
        ..
    } = ServerHandshake::new(random(), VersionRange::SUPPORTED)
        .handle_client_hello(&hello, &identity)?
    else {
        bail!("handshake rejected");
    };
    let client = client.handle_server_hello(&server_hello, &identity.fingerprint())?;
    Ok((client, relay))
}

/// A client's transport after a real handshake, and the relay's command-key
/// derivation on that connection.
fn transports() -> Result<(Transport, RelaySessionAuth)> {
    let identity = RelayIdentity::from_secret_bytes(random());
    let (client, hello) = ClientHandshake::start(random(), VersionRange::SUPPORTED);
    let ServerHandshakeOutcome::Accepted {
        server_hello, auth, ..
    } = ServerHandshake::new(random(), VersionRange::SUPPORTED)
        .handle_client_hello(&hello, &identity)?
    else {
        bail!("handshake rejected");
    };
    let client = client.handle_server_hello(&server_hello, &identity.fingerprint())?;
    Ok((client, auth))
}

/// Measures every step; the caller adds the storage step from the disk run.
pub(crate) async fn measure() -> Result<Vec<Step>> {
    let mut steps = Vec::new();
    let (client, relay_auth) = transports()?;
    let session_id = client.session_id();
    let suite = client.suite();
    let sender_secret = random_auth_secret();
    let sender_key =
        CommandKey::for_client(&sender_secret, &client.relay_session_key(), &session_id)?;
    let recipient_key = CommandKey::for_client(
        &random_auth_secret(),
        &client.relay_session_key(),
        &session_id,
    )?;
    let send = Command::send(
        SenderId::from_bytes(random()),
        MessageBody::new(vec![0x5a; 16_000])?,
    );
    let ack = Command::Ack {
        recipient_id: RecipientId::from_bytes(random()),
        message_id: MessageId::from_bytes(random()),
    };
    let corr_id = CorrId::from_bytes([0, 0, 0, 0, 0, 0, 0, 1]);

    // Authenticators: one command key per (connection, queue), derived once
    // and cached by both ends; then a keyed BLAKE3 per command.
    let sender_public = sender_secret.public_key();
    steps.push(time(
        "command key derivation, X25519 + HKDF (once per connection and queue)",
        || {
            std::hint::black_box(relay_auth.command_key(&sender_public).is_ok());
        },
    ));
    steps.push(time(
        "authenticate a SEND with a 16,000-byte body (client)",
        || {
            std::hint::black_box(send.to_authorized_transmission(corr_id, &sender_key));
        },
    ));
    steps.push(time("authenticate an ACK (client)", || {
        std::hint::black_box(ack.to_authorized_transmission(corr_id, &recipient_key));
    }));
    let signed_send = send.to_authorized_transmission(corr_id, &sender_key);
    let signed_ack = ack.to_authorized_transmission(corr_id, &recipient_key);
    steps.push(time(
        "check the authenticator of a SEND with a 16,000-byte body (relay)",
        || {
            std::hint::black_box(signed_send.verify(&sender_key));
        },
    ));
    steps.push(time("check the authenticator of an ACK (relay)", || {
        std::hint::black_box(signed_ack.verify(&recipient_key));
    }));

    // Blocks: the negotiated AEAD over 16 KiB, with the inner block's encoding;
    // then the other suite, as a browser negotiates it, for comparison (not summed).
    let mut inner = InnerBlock::new();
    inner.push(&signed_send)?;
    steps.extend(block_steps(
        &inner,
        CipherSuite::offered(),
        [
            "block seal, negotiated suite (AES-256-GCM natively), 16 KiB (each side)",
            "block open, negotiated suite (AES-256-GCM natively), 16 KiB (each side)",
        ],
    )?);
    steps.extend(block_steps(
        &inner,
        &[CipherSuite::ChaCha20Poly1305],
        [
            "ChaCha20-Poly1305 (the browser's suite): block seal, 16 KiB",
            "ChaCha20-Poly1305 (the browser's suite): block open, 16 KiB",
        ],
    )?);

    // The relay's re-seal of each delivered body to the recipient.
    let queue_secret = StaticSecret::from(random());
    let recipient_secret = StaticSecret::from(random());
    let relay_queue_key = QueueKey::derive(&queue_secret, &DhPublicKey::from(&recipient_secret))?;
    let recipient_queue_key =
        QueueKey::derive(&recipient_secret, &DhPublicKey::from(&queue_secret))?;
    let message_id = MessageId::from_bytes(random());
    let message = QueueMessage {
        timestamp: 1,
        content: MessageContent::Body(MessageBody::new(vec![0x5a; 16_000])?),
    };
    steps.push(time(
        "re-seal of a 16,000-byte body with the negotiated suite (relay)",
        || {
            std::hint::black_box(relay_queue_key.seal(suite, &message_id, &message).is_ok());
        },
    ));
    let delivered = relay_queue_key.seal(suite, &message_id, &message)?;
    steps.push(time("open the re-sealed body (client)", || {
        std::hint::black_box(
            recipient_queue_key
                .open(suite, &message_id, &delivered)
                .is_ok(),
        );
    }));

    steps.extend(websocket_steps().await?);
    Ok(steps)
}

/// A 16 KiB binary frame over loopback TCP between two tungstenite ends: the
/// writer's and the reader's time, each way (client frames are masked).
async fn websocket_steps() -> Result<Vec<Step>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let accept = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await?;
        tcp.set_nodelay(true)?;
        tokio_tungstenite::accept_async(tcp)
            .await
            .map_err(anyhow::Error::from)
    });
    let tcp = tokio::net::TcpStream::connect(address).await?;
    tcp.set_nodelay(true)?;
    let (mut client, _) =
        tokio_tungstenite::client_async(format!("ws://{address}/ws"), tcp).await?;
    let mut server = accept.await.context("accept task")??;
    let frame = vec![0xa5u8; sotto_wire::BLOCK_SIZE];
    let mut steps = Vec::new();
    for (direction, masked) in [("relay → client", false), ("client → relay", true)] {
        let mut writes = Vec::with_capacity(BATCHES);
        let mut reads = Vec::with_capacity(BATCHES);
        for _ in 0..BATCHES {
            let mut write = Duration::ZERO;
            let mut read = Duration::ZERO;
            for _ in 0..BATCH {
                let message = Message::Binary(frame.clone().into());
                let (writer, reader) = if masked {
                    (&mut client, &mut server)
                } else {
                    (&mut server, &mut client)
                };
                let started = Instant::now();
                writer.send(message).await?;
                let written = Instant::now();
                match reader.next().await {
                    Some(Ok(Message::Binary(bytes))) if bytes.len() == frame.len() => {}
                    other => bail!("unexpected frame: {other:?}"),
                }
                write += written - started;
                read += written.elapsed();
            }
            writes.push(write);
            reads.push(read);
        }
        let (write_name, read_name) = if masked {
            (
                "WebSocket write of a 16 KiB frame, client → relay (client)",
                "WebSocket read of a 16 KiB frame, client → relay (relay)",
            )
        } else {
            (
                "WebSocket write of a 16 KiB frame, relay → client (relay)",
                "WebSocket read of a 16 KiB frame, relay → client (client)",
            )
        };
        let _ = direction;
        steps.push(Step::from_batches(write_name, writes));
        steps.push(Step::from_batches(read_name, reads));
    }
    Ok(steps)
}

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0; N];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    bytes
}
