//! Property tests of two sessions over an adversarial network.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{TestRng, authenticated_len, connect};
use proptest::prelude::*;
use sotto_crypto::{ENCRYPTED_MESSAGE_LEN, Error, MAX_RECEIVING_CHAINS, PickleKey, Session};

/// One step of the network schedule.
#[derive(Clone, Debug)]
enum Action {
    /// Party 0 (inviter) or 1 (joiner) sends a new message.
    Send(usize),
    /// Deliver to a party one of the messages sent to it (any order, any number of times);
    /// messages never picked are dropped.
    Deliver(usize, prop::sample::Index),
    /// A party saves its session to a pickle and continues from the restored copy.
    Restore(usize),
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        3 => (0..2usize).prop_map(Action::Send),
        4 => (0..2usize, any::<prop::sample::Index>()).prop_map(|(p, i)| Action::Deliver(p, i)),
        1 => (0..2usize).prop_map(Action::Restore),
    ]
}

/// A message in flight, with the sender's chain number as a model of the ratchet.
struct Flight {
    bytes: Vec<u8>,
    plaintext: Vec<u8>,
    chain: u32,
    delivered: bool,
}

/// The model of one party: its sending chain number and the newest peer chain seen.
struct Model {
    chain: u32,
    step_pending: bool,
    newest_peer_chain: u32,
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Every delivered message decrypts to what was sent, exactly once; redeliveries are
    /// `Duplicate`; only messages from forgotten chains (over the chain limit) fail.
    #[test]
    fn any_schedule_delivers_each_message_exactly_once(
        seed in any::<u64>(),
        actions in prop::collection::vec(action(), 1..100),
    ) {
        let mut rng = TestRng::new(seed);
        let pair = connect(&mut rng);
        let key = PickleKey::from_bytes(&rng.bytes());
        let mut sessions = [pair.inviter, pair.joiner];
        // inbox[p]: messages sent to party p. The answer (joiner chain 0) was delivered.
        let mut inbox: [Vec<Flight>; 2] = [Vec::new(), Vec::new()];
        let mut models = [
            Model { chain: 0, step_pending: true, newest_peer_chain: 0 },
            Model { chain: 0, step_pending: false, newest_peer_chain: 0 },
        ];
        let mut counter = 0u32;
        for action in actions {
            match action {
                Action::Send(from) => {
                    counter += 1;
                    let plaintext = format!("message {counter} from {from}").into_bytes();
                    let bytes = sessions[from].encrypt(&plaintext, &rng.encrypt_randomness()).unwrap();
                    prop_assert_eq!(bytes.len(), ENCRYPTED_MESSAGE_LEN);
                    let model = &mut models[from];
                    if model.step_pending {
                        model.chain += 1;
                        model.step_pending = false;
                    }
                    inbox[1 - from].push(Flight { bytes, plaintext, chain: model.chain, delivered: false });
                }
                Action::Deliver(to, index) => {
                    if inbox[to].is_empty() {
                        continue;
                    }
                    let picked = index.index(inbox[to].len());
                    let flight = &mut inbox[to][picked];
                    let result = sessions[to].decrypt(&flight.bytes);
                    let model = &mut models[to];
                    let forgotten = flight.chain + (MAX_RECEIVING_CHAINS as u32) <= model.newest_peer_chain;
                    if forgotten {
                        prop_assert_eq!(result, Err(Error::UnknownHeaderKey));
                    } else if flight.delivered {
                        prop_assert_eq!(result, Err(Error::Duplicate));
                    } else {
                        prop_assert_eq!(result.as_ref(), Ok(&flight.plaintext));
                        flight.delivered = true;
                        if flight.chain > model.newest_peer_chain {
                            model.newest_peer_chain = flight.chain;
                            model.step_pending = true;
                        }
                    }
                }
                Action::Restore(party) => {
                    let pickle = sessions[party].pickle(&key, &rng.bytes());
                    sessions[party] = Session::from_pickle(&key, &pickle).unwrap();
                }
            }
        }
    }

    /// Flipping any bits of an authenticated byte of a message (header or payload) makes
    /// it fail cleanly; the session is unharmed.
    #[test]
    fn tampering_fails_cleanly(
        seed in any::<u64>(),
        len in 0..3000usize,
        position in any::<prop::sample::Index>(),
        mask in 1..=255u8,
        from_inviter in any::<bool>(),
    ) {
        let mut rng = TestRng::new(seed);
        let pair = connect(&mut rng);
        let (mut from, mut to) = if from_inviter {
            (pair.inviter, pair.joiner)
        } else {
            (pair.joiner, pair.inviter)
        };
        let plaintext = vec![0x70; len];
        let message = from.encrypt(&plaintext, &rng.encrypt_randomness()).unwrap();
        let position = position.index(authenticated_len(len));
        let mut tampered = message.clone();
        tampered[position] ^= mask;
        prop_assert!(to.decrypt(&tampered).is_err());
        prop_assert!(to.decrypt(&tampered[..position]).is_err());
        prop_assert_eq!(to.decrypt(&message).unwrap(), plaintext);
    }

    /// Filler carries nothing: changing any of its bytes changes nothing about the
    /// decrypted result, and the session goes on as if the message were intact.
    #[test]
    fn filler_is_ignored(
        seed in any::<u64>(),
        len in 0..3000usize,
        start in any::<prop::sample::Index>(),
        masks in prop::collection::vec(any::<u8>(), 1..64),
    ) {
        let mut rng = TestRng::new(seed);
        let pair = connect(&mut rng);
        let (mut inviter, mut joiner) = (pair.inviter, pair.joiner);
        let plaintext = vec![0x71; len];
        let message = joiner.encrypt(&plaintext, &rng.encrypt_randomness()).unwrap();
        let filler = authenticated_len(len)..ENCRYPTED_MESSAGE_LEN;
        let start = filler.start + start.index(filler.len());
        let mut altered = message.clone();
        for (byte, mask) in altered[start..].iter_mut().zip(&masks) {
            *byte ^= mask;
        }
        prop_assert_eq!(inviter.decrypt(&altered).unwrap(), plaintext);
        prop_assert_eq!(inviter.decrypt(&message), Err(Error::Duplicate));
        let reply = inviter.encrypt(b"reply", &rng.encrypt_randomness()).unwrap();
        prop_assert_eq!(joiner.decrypt(&reply).unwrap(), b"reply".to_vec());
    }

    /// A message reflected back to its sender never decrypts.
    #[test]
    fn reflected_messages_fail(seed in any::<u64>(), turns in 0..4usize) {
        let mut rng = TestRng::new(seed);
        let pair = connect(&mut rng);
        let mut sessions = [pair.inviter, pair.joiner];
        for turn in 0..turns {
            let from = turn % 2;
            let message = sessions[from].encrypt(b"turn", &rng.encrypt_randomness()).unwrap();
            sessions[1 - from].decrypt(&message).unwrap();
        }
        for from in 0..2 {
            let message = sessions[from].encrypt(b"mine", &rng.encrypt_randomness()).unwrap();
            prop_assert!(sessions[from].decrypt(&message).is_err());
            prop_assert_eq!(sessions[1 - from].decrypt(&message).unwrap(), b"mine".to_vec());
        }
    }

    /// A pickled session restores to one that continues the conversation both ways.
    #[test]
    fn restored_sessions_continue(seed in any::<u64>(), sends in 0..6usize) {
        let mut rng = TestRng::new(seed);
        let pair = connect(&mut rng);
        let key = PickleKey::from_bytes(&rng.bytes());
        let (mut inviter, mut joiner) = (pair.inviter, pair.joiner);
        for _ in 0..sends {
            let message = inviter.encrypt(b"before", &rng.encrypt_randomness()).unwrap();
            joiner.decrypt(&message).unwrap();
        }
        let mut joiner = Session::from_pickle(&key, &joiner.pickle(&key, &rng.bytes())).unwrap();
        let reply = joiner.encrypt(b"after", &rng.encrypt_randomness()).unwrap();
        prop_assert_eq!(inviter.decrypt(&reply).unwrap(), b"after".to_vec());
        let back = inviter.encrypt(b"back", &rng.encrypt_randomness()).unwrap();
        prop_assert_eq!(joiner.decrypt(&back).unwrap(), b"back".to_vec());
    }
}
