//! sotto-crypto's session beside vodozemac's Olm (version 1, the libolm-compatible
//! default): session setup on each side, steady-state encrypt and decrypt, and the first
//! message after a ratchet turn, for a 1 KiB and a full-size plaintext; and the ways to
//! produce a message's filler.
//!
//! Run with `cargo bench -p sotto-crypto --bench ratchet`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Randomness, olm_pair, sotto_pair};
use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use sotto_crypto::{
    ENCRYPT_RANDOMNESS_LEN, IdentityKeyPair, MAX_PLAINTEXT_LEN, PendingInvitation, join,
};
use vodozemac::olm::{Account, OlmMessage, Session as OlmSession, SessionConfig};

const SIZES: [(&str, usize); 2] = [("1KiB", 1024), ("full", MAX_PLAINTEXT_LEN)];

fn setup(c: &mut Criterion) {
    let mut group = c.benchmark_group("setup");
    let mut rng = Randomness(1);
    let inviter_identity = IdentityKeyPair::from_secret_bytes(&rng.bytes());
    let joiner_identity = IdentityKeyPair::from_secret_bytes(&rng.bytes());
    group.bench_function("sotto/inviter: create invitation", |b| {
        b.iter(|| PendingInvitation::new(&inviter_identity, &rng.bytes()).unwrap())
    });
    let pending = PendingInvitation::new(&inviter_identity, &rng.bytes()).unwrap();
    let invitation = pending.invitation();
    group.bench_function("sotto/joiner: join + first message", |b| {
        b.iter(|| join(&joiner_identity, &invitation, b"hi", &rng.bytes()).unwrap())
    });
    let (_, answer) = join(&joiner_identity, &invitation, b"hi", &rng.bytes()).unwrap();
    group.bench_function("sotto/inviter: accept + first decrypt", |b| {
        b.iter(|| pending.accept(&inviter_identity, &answer).unwrap())
    });

    let alice = Account::new();
    group.bench_function("olm/outbound: create + first message", |b| {
        b.iter_batched(
            || {
                let mut bob = Account::new();
                bob.generate_one_time_keys(1);
                (
                    bob.curve25519_key(),
                    *bob.one_time_keys().values().next().unwrap(),
                )
            },
            |(identity, one_time_key)| {
                let mut session = alice
                    .create_outbound_session(SessionConfig::version_1(), identity, one_time_key)
                    .unwrap();
                session.encrypt("hi").unwrap()
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("olm/inbound: create + first decrypt", |b| {
        b.iter_batched(
            || {
                let mut bob = Account::new();
                bob.generate_one_time_keys(1);
                let one_time_key = *bob.one_time_keys().values().next().unwrap();
                let mut session = alice
                    .create_outbound_session(
                        SessionConfig::version_1(),
                        bob.curve25519_key(),
                        one_time_key,
                    )
                    .unwrap();
                let OlmMessage::PreKey(first) = session.encrypt("hi").unwrap() else {
                    panic!("pre-key message expected");
                };
                (bob, first)
            },
            |(mut bob, first)| {
                bob.create_inbound_session(
                    SessionConfig::version_1(),
                    alice.curve25519_key(),
                    &first,
                )
                .unwrap()
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn steady_state(c: &mut Criterion) {
    let mut group = c.benchmark_group("steady");
    let mut rng = Randomness(2);
    for (label, size) in SIZES {
        let plaintext = vec![0x61u8; size];
        // Encryption runs on a pair of its own: it sends far more messages than a
        // receiver may skip.
        let (mut sender, _) = sotto_pair(&mut rng);
        group.bench_with_input(
            BenchmarkId::new("sotto/encrypt", label),
            &plaintext,
            |b, p| {
                let randomness: [u8; ENCRYPT_RANDOMNESS_LEN] = rng.bytes();
                b.iter(|| sender.encrypt(p, &randomness).unwrap())
            },
        );
        let (mut inviter, mut joiner) = sotto_pair(&mut rng);
        group.bench_with_input(
            BenchmarkId::new("sotto/decrypt", label),
            &plaintext,
            |b, p| {
                b.iter_batched(
                    || inviter.encrypt(p, &rng.bytes()).unwrap(),
                    |message| joiner.decrypt(&message).unwrap(),
                    BatchSize::SmallInput,
                )
            },
        );
        let (_, mut olm_sender) = olm_pair();
        group.bench_with_input(
            BenchmarkId::new("olm/encrypt", label),
            &plaintext,
            |b, p| b.iter(|| olm_sender.encrypt(p).unwrap()),
        );
        let (mut alice, mut bob) = olm_pair();
        group.bench_with_input(
            BenchmarkId::new("olm/decrypt", label),
            &plaintext,
            |b, p| {
                b.iter_batched(
                    || bob.encrypt(p).unwrap(),
                    |message| alice.decrypt(&message).unwrap(),
                    BatchSize::SmallInput,
                )
            },
        );
    }
    group.finish();
}

fn ratchet_turn(c: &mut Criterion) {
    let mut group = c.benchmark_group("turn");
    let mut rng = Randomness(3);
    for (label, size) in SIZES {
        let plaintext = vec![0x62u8; size];
        // The inviter has just received the joiner's new chain: its next encryption runs
        // the sending step (new X25519 + ML-KEM keys, encapsulation), and the joiner's
        // first decryption of it runs the receiving step (DH + decapsulation).
        let (mut inviter, mut joiner) = sotto_pair(&mut rng);
        let turn = joiner.encrypt(b"turn", &rng.bytes()).unwrap();
        inviter.decrypt(&turn).unwrap();
        group.bench_with_input(
            BenchmarkId::new("sotto/encrypt", label),
            &plaintext,
            |b, p| {
                b.iter_batched(
                    || (inviter.clone(), rng.bytes::<ENCRYPT_RANDOMNESS_LEN>()),
                    |(mut session, randomness)| session.encrypt(p, &randomness).unwrap(),
                    BatchSize::SmallInput,
                )
            },
        );
        let first_of_chain = inviter.clone().encrypt(&plaintext, &rng.bytes()).unwrap();
        group.bench_function(BenchmarkId::new("sotto/first decrypt", label), |b| {
            b.iter_batched(
                || joiner.clone(),
                |mut session| session.decrypt(&first_of_chain).unwrap(),
                BatchSize::SmallInput,
            )
        });

        let (mut alice, mut bob) = olm_pair();
        let turn = alice.encrypt("turn").unwrap();
        bob.decrypt(&turn).unwrap();
        group.bench_with_input(
            BenchmarkId::new("olm/encrypt", label),
            &plaintext,
            |b, p| {
                b.iter_batched(
                    || OlmSession::from_pickle(bob.pickle()),
                    |mut session| session.encrypt(p).unwrap(),
                    BatchSize::SmallInput,
                )
            },
        );
        let first_of_chain = OlmSession::from_pickle(bob.pickle())
            .encrypt(&plaintext)
            .unwrap();
        group.bench_function(BenchmarkId::new("olm/first decrypt", label), |b| {
            b.iter_batched(
                || OlmSession::from_pickle(alice.pickle()),
                |mut session| session.decrypt(&first_of_chain).unwrap(),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

/// Ways to produce the filler of a message with a 1 KiB plaintext (the rest of the fixed
/// size after header and payload), from a 32-byte seed of caller randomness: the choice
/// made in docs/e2e-protocol.md (rand's ChaCha12) beside the alternatives.
fn filler(c: &mut Criterion) {
    use chacha20poly1305::aead::{AeadInPlace, KeyInit};
    use chacha20poly1305::{XChaCha20Poly1305, XNonce};
    use rand_chacha::rand_core::{RngCore, SeedableRng};

    const LEN: usize = sotto_crypto::ENCRYPTED_MESSAGE_LEN
        - (2 + 24 + sotto_crypto::ENCRYPTED_HEADER_LEN + 1184 + 1024 + 16);
    let mut group = c.benchmark_group("filler");
    let seed = [7u8; 32];
    let mut out = vec![0u8; LEN];
    group.bench_function("xchacha20poly1305 over zeros", |b| {
        b.iter(|| {
            out.fill(0);
            let cipher = XChaCha20Poly1305::new(&seed.into());
            let tag = cipher
                .encrypt_in_place_detached(XNonce::from_slice(&[0; 24]), b"", &mut out)
                .unwrap();
            std::hint::black_box((&out, tag));
        })
    });
    group.bench_function("rand_chacha ChaCha20", |b| {
        b.iter(|| {
            rand_chacha::ChaCha20Rng::from_seed(seed).fill_bytes(&mut out);
            std::hint::black_box(&out);
        })
    });
    group.bench_function("rand_chacha ChaCha12", |b| {
        b.iter(|| {
            rand_chacha::ChaCha12Rng::from_seed(seed).fill_bytes(&mut out);
            std::hint::black_box(&out);
        })
    });
    group.bench_function("rand_chacha ChaCha8", |b| {
        b.iter(|| {
            rand_chacha::ChaCha8Rng::from_seed(seed).fill_bytes(&mut out);
            std::hint::black_box(&out);
        })
    });
    group.finish();
}

criterion_group!(benches, setup, steady_state, ratchet_turn, filler);
criterion_main!(benches);
