//! End-to-end behaviour of two sessions: key agreement, ratchet turns, limits, errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{TestRng, authenticated_len, connect};
use sotto_crypto::{
    ANSWER_LEN, ENCRYPTED_MESSAGE_LEN, Error, IdentityKeyPair, Invitation, MAX_MESSAGE_BODY,
    MAX_PLAINTEXT_LEN, MAX_SKIP_PER_CHAIN, PendingInvitation, join,
};

#[test]
fn conversation_with_ratchet_turns() {
    let mut rng = TestRng::new(1);
    let mut pair = connect(&mut rng);
    for round in 0..4u8 {
        let to_joiner = pair
            .inviter
            .encrypt(&[round; 10], &rng.encrypt_randomness())
            .unwrap();
        assert_eq!(to_joiner.len(), ENCRYPTED_MESSAGE_LEN);
        assert_eq!(pair.joiner.decrypt(&to_joiner).unwrap(), [round; 10]);
        let to_inviter = pair
            .joiner
            .encrypt(&[round + 100; 3], &rng.encrypt_randomness())
            .unwrap();
        assert_eq!(pair.inviter.decrypt(&to_inviter).unwrap(), [round + 100; 3]);
    }
}

#[test]
fn sizes_fit_the_relay_limit() {
    let mut rng = TestRng::new(2);
    let pair = connect(&mut rng);
    assert_eq!(pair.answer.len(), ANSWER_LEN);
    const { assert!(ANSWER_LEN <= MAX_MESSAGE_BODY) };
    const { assert!(ENCRYPTED_MESSAGE_LEN <= MAX_MESSAGE_BODY) };
}

#[test]
fn full_size_plaintext_round_trips_and_longer_is_refused() {
    let mut rng = TestRng::new(3);
    let mut pair = connect(&mut rng);
    let big = vec![0x42; MAX_PLAINTEXT_LEN];
    let message = pair
        .joiner
        .encrypt(&big, &rng.encrypt_randomness())
        .unwrap();
    assert_eq!(message.len(), ENCRYPTED_MESSAGE_LEN);
    assert_eq!(pair.inviter.decrypt(&message).unwrap(), big);
    let too_big = vec![0; MAX_PLAINTEXT_LEN + 1];
    assert!(matches!(
        pair.joiner.encrypt(&too_big, &rng.encrypt_randomness()),
        Err(Error::PlaintextTooLong { .. })
    ));
}

#[test]
fn out_of_order_and_duplicates() {
    let mut rng = TestRng::new(4);
    let mut pair = connect(&mut rng);
    let messages: Vec<_> = (0..5u8)
        .map(|i| {
            pair.inviter
                .encrypt(&[i], &rng.encrypt_randomness())
                .unwrap()
        })
        .collect();
    for i in [3usize, 0, 4, 1, 2] {
        assert_eq!(pair.joiner.decrypt(&messages[i]).unwrap(), [i as u8]);
    }
    for message in &messages {
        assert_eq!(pair.joiner.decrypt(message), Err(Error::Duplicate));
    }
}

#[test]
fn late_message_from_a_previous_chain() {
    let mut rng = TestRng::new(5);
    let mut pair = connect(&mut rng);
    let early = pair
        .inviter
        .encrypt(b"early", &rng.encrypt_randomness())
        .unwrap();
    let seen = pair
        .inviter
        .encrypt(b"seen", &rng.encrypt_randomness())
        .unwrap();
    assert_eq!(pair.joiner.decrypt(&seen).unwrap(), b"seen");
    let reply = pair
        .joiner
        .encrypt(b"reply", &rng.encrypt_randomness())
        .unwrap();
    pair.inviter.decrypt(&reply).unwrap();
    let next_chain = pair
        .inviter
        .encrypt(b"next", &rng.encrypt_randomness())
        .unwrap();
    assert_eq!(pair.joiner.decrypt(&next_chain).unwrap(), b"next");
    assert_eq!(pair.joiner.decrypt(&early).unwrap(), b"early");
    assert_eq!(pair.joiner.decrypt(&early), Err(Error::Duplicate));
}

#[test]
fn gap_over_the_limit_is_rejected_without_changing_the_session() {
    let mut rng = TestRng::new(6);
    let mut pair = connect(&mut rng);
    let mut messages = Vec::new();
    for _ in 0..=MAX_SKIP_PER_CHAIN + 1 {
        messages.push(
            pair.joiner
                .encrypt(b"x", &rng.encrypt_randomness())
                .unwrap(),
        );
    }
    // The inviter consumed message 0 with the answer; message 2002 would skip 2001 keys.
    let last = messages.last().unwrap();
    assert_eq!(pair.inviter.decrypt(last), Err(Error::TooManySkipped));
    // The session is unchanged: the next message in order still decrypts, and then the
    // far message is within the limit.
    assert_eq!(pair.inviter.decrypt(&messages[1]).unwrap(), b"x");
    assert_eq!(pair.inviter.decrypt(last).unwrap(), b"x");
    assert_eq!(pair.inviter.decrypt(&messages[5]).unwrap(), b"x");
}

#[test]
fn tampered_messages_fail_cleanly() {
    let mut rng = TestRng::new(7);
    let mut pair = connect(&mut rng);
    let message = pair
        .joiner
        .encrypt(b"intact", &rng.encrypt_randomness())
        .unwrap();
    let authenticated = authenticated_len(b"intact".len());
    let payload = 2 + 24 + sotto_crypto::ENCRYPTED_HEADER_LEN;
    for position in [
        0,
        1,
        2,
        30,
        payload - 1,
        payload,
        payload + 1184,
        authenticated - 1,
    ] {
        let mut tampered = message.clone();
        tampered[position] ^= 0x01;
        assert!(pair.inviter.decrypt(&tampered).is_err(), "byte {position}");
    }
    assert!(pair.inviter.decrypt(&message[..100]).is_err());
    assert!(pair.inviter.decrypt(&message[..authenticated]).is_err());
    assert_eq!(pair.inviter.decrypt(&message).unwrap(), b"intact");
}

#[test]
fn filler_changes_nothing_about_the_result() {
    let mut rng = TestRng::new(27);
    let mut pair = connect(&mut rng);
    for plaintext in [
        &b""[..],
        b"some text",
        &[0x61; 1024],
        &[0x62; MAX_PLAINTEXT_LEN - 1],
    ] {
        let message = pair
            .joiner
            .encrypt(plaintext, &rng.encrypt_randomness())
            .unwrap();
        let filler = authenticated_len(plaintext.len())..ENCRYPTED_MESSAGE_LEN;
        assert!(!filler.is_empty());
        // Any filler at all: inverted, all zero, another message's.
        let mut inverted = message.clone();
        inverted[filler.clone()]
            .iter_mut()
            .for_each(|byte| *byte ^= 0xff);
        let mut zeroed = message.clone();
        zeroed[filler.clone()].fill(0);
        let other = pair
            .joiner
            .clone()
            .encrypt(b"other", &rng.encrypt_randomness())
            .unwrap();
        let mut borrowed = message.clone();
        borrowed[filler.clone()].copy_from_slice(&other[filler.clone()]);

        let mut reader = pair.inviter.clone();
        assert_eq!(reader.decrypt(&inverted).unwrap(), plaintext);
        for variant in [&message, &zeroed, &borrowed, &inverted] {
            assert_eq!(reader.decrypt(variant), Err(Error::Duplicate));
        }
        for variant in [&zeroed, &borrowed, &message] {
            let mut fresh = pair.inviter.clone();
            assert_eq!(fresh.decrypt(variant).unwrap(), plaintext);
        }
        assert_eq!(pair.inviter.decrypt(&message).unwrap(), plaintext);
    }
    // The sessions are in step: a reply still decrypts.
    let reply = pair
        .inviter
        .encrypt(b"reply", &rng.encrypt_randomness())
        .unwrap();
    assert_eq!(pair.joiner.decrypt(&reply).unwrap(), b"reply");
}

#[test]
fn a_plaintext_of_the_largest_size_leaves_no_filler() {
    let mut rng = TestRng::new(28);
    let mut pair = connect(&mut rng);
    let plaintext = vec![0x63; MAX_PLAINTEXT_LEN];
    assert_eq!(authenticated_len(plaintext.len()), ENCRYPTED_MESSAGE_LEN);
    let message = pair
        .joiner
        .encrypt(&plaintext, &rng.encrypt_randomness())
        .unwrap();
    let mut tampered = message.clone();
    tampered[ENCRYPTED_MESSAGE_LEN - 1] ^= 1;
    assert_eq!(
        pair.inviter.decrypt(&tampered),
        Err(Error::AuthenticationFailed)
    );
    assert_eq!(pair.inviter.decrypt(&message).unwrap(), plaintext);
}

#[test]
fn messages_of_another_version_fail_cleanly() {
    let mut rng = TestRng::new(29);
    let mut pair = connect(&mut rng);
    let message = pair
        .joiner
        .encrypt(b"versioned", &rng.encrypt_randomness())
        .unwrap();
    assert_eq!(message[0], 2);
    for version in [0, 3, 0xff] {
        let mut other = message.clone();
        other[0] = version;
        assert_eq!(
            pair.inviter.decrypt(&other),
            Err(Error::UnsupportedVersion(version))
        );
    }
    // A version-2 message relabelled as version 1 is read with the version-1 layout
    // and fails to authenticate.
    let mut relabelled = message.clone();
    relabelled[0] = 1;
    assert!(pair.inviter.decrypt(&relabelled).is_err());
    assert_eq!(pair.inviter.decrypt(&message).unwrap(), b"versioned");
}

#[test]
fn reflected_message_fails() {
    let mut rng = TestRng::new(8);
    let mut pair = connect(&mut rng);
    let message = pair
        .joiner
        .encrypt(b"mine", &rng.encrypt_randomness())
        .unwrap();
    assert_eq!(pair.joiner.decrypt(&message), Err(Error::UnknownHeaderKey));
    let reply = pair
        .inviter
        .encrypt(b"theirs", &rng.encrypt_randomness())
        .unwrap();
    assert_eq!(pair.inviter.decrypt(&reply), Err(Error::UnknownHeaderKey));
    assert_eq!(pair.joiner.decrypt(&reply).unwrap(), b"theirs");
}

#[test]
fn replayed_answer_is_a_duplicate_and_foreign_answers_are_refused() {
    let mut rng = TestRng::new(9);
    let mut pair = connect(&mut rng);
    assert_eq!(pair.inviter.decrypt(&pair.answer), Err(Error::Duplicate));
    let other = connect(&mut rng);
    assert_eq!(
        pair.inviter.decrypt(&other.answer),
        Err(Error::UnexpectedAnswer)
    );
    assert_eq!(
        pair.joiner.decrypt(&pair.answer),
        Err(Error::UnexpectedAnswer)
    );
}

#[test]
fn answer_to_another_invitation_fails() {
    let mut rng = TestRng::new(10);
    let pair = connect(&mut rng);
    let identity = IdentityKeyPair::from_secret_bytes(&rng.bytes());
    let pending = PendingInvitation::new(&identity, &rng.bytes()).unwrap();
    assert!(pending.accept(&identity, &pair.answer).is_err());
}

#[test]
fn wrong_kinds_and_weak_keys_are_refused() {
    let mut rng = TestRng::new(11);
    let identity = IdentityKeyPair::from_secret_bytes(&rng.bytes());
    let pending = PendingInvitation::new(&identity, &rng.bytes()).unwrap();
    let invitation = pending.invitation().to_bytes();
    assert_eq!(
        Invitation::from_bytes(&invitation).unwrap(),
        pending.invitation()
    );
    // An invitation handed in as an answer.
    assert!(matches!(
        pending.accept(&identity, &invitation),
        Err(Error::WrongKind { .. })
    ));
    // An answer with a low-order ephemeral key (a sealed low-order identity key is
    // refused the same way: `answer::tests`).
    let pair = connect(&mut rng);
    let pending = PendingInvitation::new(&identity, &rng.bytes()).unwrap();
    let (_, mut answer) = join(
        &pair.joiner_identity,
        &pending.invitation(),
        b"x",
        &rng.bytes(),
    )
    .unwrap();
    answer[2..34].copy_from_slice(&[0; 32]);
    assert_eq!(
        pending.accept(&identity, &answer).err(),
        Some(Error::LowOrderPublicKey)
    );
    // An invitation with a low-order one-time key, or an invalid ML-KEM key.
    let mut weak = invitation.clone();
    weak[34..66].copy_from_slice(&[0; 32]);
    let weak = Invitation::from_bytes(&weak).unwrap();
    assert_eq!(
        join(&pair.joiner_identity, &weak, b"x", &rng.bytes()).err(),
        Some(Error::LowOrderPublicKey)
    );
    let mut bad_kem = invitation;
    bad_kem[66..100].copy_from_slice(&[0xff; 34]);
    assert_eq!(
        Invitation::from_bytes(&bad_kem).err(),
        Some(Error::InvalidKemKey)
    );
}

#[test]
fn security_codes_match_on_both_sides() {
    let mut rng = TestRng::new(12);
    let pair = connect(&mut rng);
    assert_eq!(pair.inviter.security_code(), pair.joiner.security_code());
    assert_eq!(
        pair.inviter.peer_identity(),
        pair.joiner_identity.public_key()
    );
    assert_eq!(
        pair.joiner.peer_identity(),
        pair.inviter_identity.public_key()
    );
}

#[test]
fn debug_prints_no_secret() {
    let mut rng = TestRng::new(13);
    let pair = connect(&mut rng);
    let secret = pair.inviter_identity.to_secret_bytes();
    let printed = format!(
        "{:?} {:?} {:?}",
        pair.inviter, pair.joiner, pair.inviter_identity
    );
    assert!(printed.contains("redacted"));
    let secret_decimal = format!("{:?}", &secret[..4]).replace(['[', ']'], "");
    assert!(!printed.contains(&secret_decimal));
    assert!(!printed.contains(&hex::encode(&secret[..4])));
}

#[test]
fn rolled_back_state_does_not_reuse_a_keystream() {
    let mut rng = TestRng::new(14);
    let mut pair = connect(&mut rng);
    // A crash before the state was saved: the same chain position encrypts twice.
    let mut rolled_back = pair.joiner.clone();
    let first = pair
        .joiner
        .encrypt(b"first text", &rng.encrypt_randomness())
        .unwrap();
    let second = rolled_back
        .encrypt(b"other text", &rng.encrypt_randomness())
        .unwrap();
    // Payload (docs/e2e-protocol.md 4.3): after the version, kind, nonce and encrypted
    // header; it opens with the sender's ML-KEM key (the same in both), then the text.
    let payload = 2 + 24 + sotto_crypto::ENCRYPTED_HEADER_LEN;
    let kem_key_xor: Vec<u8> = (payload..payload + 1184)
        .map(|i| first[i] ^ second[i])
        .collect();
    assert!(kem_key_xor.iter().any(|&byte| byte != 0));
    let text = payload + 1184;
    let xored: Vec<u8> = (0..10)
        .map(|i| first[text + i] ^ second[text + i])
        .collect();
    let plaintext_xor: Vec<u8> = b"first text"
        .iter()
        .zip(b"other text")
        .map(|(a, b)| a ^ b)
        .collect();
    assert_ne!(xored, plaintext_xor);
    assert_eq!(pair.inviter.decrypt(&first).unwrap(), b"first text");
    assert_eq!(pair.inviter.decrypt(&second), Err(Error::Duplicate));
}

#[test]
fn stored_skipped_keys_are_bounded_oldest_first() {
    let mut rng = TestRng::new(15);
    let mut pair = connect(&mut rng);
    // Chain 1 of the joiner: messages 1..=1500 sent, only the last delivered (1499 skipped).
    let first_chain: Vec<_> = (0..1500)
        .map(|_| {
            pair.joiner
                .encrypt(b"a", &rng.encrypt_randomness())
                .unwrap()
        })
        .collect();
    pair.inviter.decrypt(first_chain.last().unwrap()).unwrap();
    let turn = pair
        .inviter
        .encrypt(b"turn", &rng.encrypt_randomness())
        .unwrap();
    pair.joiner.decrypt(&turn).unwrap();
    // Chain 2: 1001 messages, the last delivered (1000 more skipped: 2499 in all).
    let second_chain: Vec<_> = (0..1001)
        .map(|_| {
            pair.joiner
                .encrypt(b"b", &rng.encrypt_randomness())
                .unwrap()
        })
        .collect();
    pair.inviter.decrypt(second_chain.last().unwrap()).unwrap();
    // The 499 oldest skipped keys (chain 1, messages 1..=499) were evicted.
    assert_eq!(pair.inviter.decrypt(&first_chain[0]), Err(Error::Duplicate));
    assert_eq!(
        pair.inviter.decrypt(&first_chain[498]),
        Err(Error::Duplicate)
    );
    assert_eq!(pair.inviter.decrypt(&first_chain[499]).unwrap(), b"a");
    assert_eq!(pair.inviter.decrypt(&second_chain[0]).unwrap(), b"b");
}

#[test]
fn only_the_newest_receiving_chains_are_kept() {
    for (turns, late_readable) in [(3, true), (6, false)] {
        let mut rng = TestRng::new(16);
        let mut pair = connect(&mut rng);
        let late = pair
            .joiner
            .encrypt(b"late", &rng.encrypt_randomness())
            .unwrap();
        for _ in 0..turns {
            let to_joiner = pair
                .inviter
                .encrypt(b"x", &rng.encrypt_randomness())
                .unwrap();
            pair.joiner.decrypt(&to_joiner).unwrap();
            let to_inviter = pair
                .joiner
                .encrypt(b"y", &rng.encrypt_randomness())
                .unwrap();
            pair.inviter.decrypt(&to_inviter).unwrap();
        }
        let result = pair.inviter.decrypt(&late);
        if late_readable {
            assert_eq!(result.unwrap(), b"late");
        } else {
            assert_eq!(result, Err(Error::UnknownHeaderKey));
        }
    }
}
