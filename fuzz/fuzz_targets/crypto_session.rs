//! Two-party interaction: sends both ways over a network that drops, duplicates and
//! shuffles, with restarts from pickles. Every delivered message decrypts to what was
//! sent, exactly once.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sotto_crypto::{
    ENCRYPT_RANDOMNESS_LEN, Error, IdentityKeyPair, MAX_RECEIVING_CHAINS, PendingInvitation,
    PickleKey, Session, join,
};

#[derive(Arbitrary, Debug)]
enum Action {
    Send { from_joiner: bool, len: u16 },
    Deliver { to_joiner: bool, index: u8 },
    Duplicate { to_joiner: bool, index: u8 },
    Drop { to_joiner: bool, index: u8 },
    Shuffle { to_joiner: bool, seed: u8 },
    Restore { joiner: bool },
}

#[derive(Arbitrary, Debug)]
struct Script {
    seed: u64,
    actions: Vec<Action>,
}

/// Non-cryptographic filler: the fuzzer explores schedules, not randomness.
struct Filler(u64);

impl Filler {
    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for byte in &mut out {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            *byte = self.0 as u8;
        }
        out
    }
}

struct Flight {
    bytes: Vec<u8>,
    plaintext: Vec<u8>,
    chain: u32,
    delivered: bool,
}

struct Party {
    session: Session,
    chain: u32,
    step_pending: bool,
    newest_peer_chain: u32,
    inbox: Vec<Flight>,
}

impl Party {
    fn deliver(&mut self, index: u8) {
        if self.inbox.is_empty() {
            return;
        }
        let picked = usize::from(index) % self.inbox.len();
        let flight = &mut self.inbox[picked];
        let result = self.session.decrypt(&flight.bytes);
        if flight.chain + MAX_RECEIVING_CHAINS as u32 <= self.newest_peer_chain {
            assert_eq!(result, Err(Error::UnknownHeaderKey));
        } else if flight.delivered {
            assert_eq!(result, Err(Error::Duplicate));
        } else {
            assert_eq!(result.as_ref(), Ok(&flight.plaintext));
            flight.delivered = true;
            if flight.chain > self.newest_peer_chain {
                self.newest_peer_chain = flight.chain;
                self.step_pending = true;
            }
        }
    }
}

fuzz_target!(|script: Script| {
    let mut filler = Filler(script.seed | 1);
    let inviter_identity = IdentityKeyPair::from_secret_bytes(&filler.bytes());
    let joiner_identity = IdentityKeyPair::from_secret_bytes(&filler.bytes());
    let pending = PendingInvitation::new(&inviter_identity, &filler.bytes()).unwrap();
    let (joiner, answer) = join(
        &joiner_identity,
        &pending.invitation(),
        b"answer",
        &filler.bytes(),
    )
    .unwrap();
    let (inviter, first) = pending.accept(&inviter_identity, &answer).unwrap();
    assert_eq!(first, b"answer");
    let key = PickleKey::from_bytes(&filler.bytes());
    let mut parties = [
        Party {
            session: inviter,
            chain: 0,
            step_pending: true,
            newest_peer_chain: 0,
            inbox: Vec::new(),
        },
        Party {
            session: joiner,
            chain: 0,
            step_pending: false,
            newest_peer_chain: 0,
            inbox: Vec::new(),
        },
    ];
    for action in script.actions.into_iter().take(64) {
        match action {
            Action::Send { from_joiner, len } => {
                let from = usize::from(from_joiner);
                let plaintext = vec![len as u8; usize::from(len % 2048)];
                let randomness: [u8; ENCRYPT_RANDOMNESS_LEN] = filler.bytes();
                let bytes = parties[from]
                    .session
                    .encrypt(&plaintext, &randomness)
                    .unwrap();
                let sender = &mut parties[from];
                if sender.step_pending {
                    sender.chain += 1;
                    sender.step_pending = false;
                }
                let chain = sender.chain;
                parties[1 - from].inbox.push(Flight {
                    bytes,
                    plaintext,
                    chain,
                    delivered: false,
                });
            }
            Action::Deliver { to_joiner, index } | Action::Duplicate { to_joiner, index } => {
                parties[usize::from(to_joiner)].deliver(index);
            }
            Action::Drop { to_joiner, index } => {
                let inbox = &mut parties[usize::from(to_joiner)].inbox;
                if !inbox.is_empty() {
                    let picked = usize::from(index) % inbox.len();
                    inbox.remove(picked);
                }
            }
            Action::Shuffle { to_joiner, seed } => {
                let inbox = &mut parties[usize::from(to_joiner)].inbox;
                let len = inbox.len();
                if len > 1 {
                    inbox.rotate_left(usize::from(seed) % len);
                    inbox.swap(0, usize::from(seed / 2) % len);
                }
            }
            Action::Restore { joiner } => {
                let party = &mut parties[usize::from(joiner)];
                let pickle = party.session.pickle(&key, &filler.bytes());
                party.session = Session::from_pickle(&key, &pickle).unwrap();
            }
        }
    }
});
