//! Steady-state encrypt + decrypt in a loop, for counting instructions rather than
//! timing on a busy machine: sotto-crypto or vodozemac's Olm, one plaintext size.
//!
//! ```text
//! cargo build --release -p sotto-crypto --example steady_state
//! valgrind --tool=callgrind --toggle-collect='*round_trips*' \
//!     target/release/examples/steady_state sotto 1k 100
//! callgrind_annotate callgrind.out.<pid>
//! ```
//!
//! Arguments: `sotto` or `olm`, `1k` or `full`, and the number of round trips (run in
//! batches of 20). Only the loop is inside the `round_trips` methods, so the toggle
//! leaves setup out of the count. Without valgrind it prints the time per round trip of
//! the fastest and of the median batch.
//!
//! `steady_state filler OPTION COUNT` instead produces the filler of a message with a
//! 1 KiB plaintext COUNT times, by one of the ways considered for it (`xchacha`:
//! XChaCha20-Poly1305 over zeros under a one-time key; `chacha20`, `chacha12`, `chacha8`:
//! rand's ChaCha generators seeded with 32 bytes); count it with
//! `--toggle-collect='*fillers*'`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../benches/common/mod.rs"]
mod common;

use std::hint::black_box;

use common::{Randomness, olm_pair, sotto_pair};

use sotto_crypto::{ENCRYPT_RANDOMNESS_LEN, MAX_PLAINTEXT_LEN, Session};
use vodozemac::olm::Session as OlmSession;

/// Cheap deterministic bytes standing in for the caller's RNG.
fn filled<const N: usize>(seed: u8) -> [u8; N] {
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = seed.wrapping_mul(31).wrapping_add(i as u8);
    }
    out
}

/// One side sends, the other receives: `count` steady-state round trips.
trait Pair {
    fn round_trips(&mut self, plaintext: &[u8], count: u32);
}

impl Pair for (Session, Session) {
    #[inline(never)]
    fn round_trips(&mut self, plaintext: &[u8], count: u32) {
        let randomness: [u8; ENCRYPT_RANDOMNESS_LEN] = filled(6);
        let (sender, receiver) = self;
        for _ in 0..count {
            let message = sender.encrypt(plaintext, &randomness).unwrap();
            let decrypted = receiver.decrypt(black_box(&message)).unwrap();
            assert_eq!(decrypted.len(), plaintext.len());
        }
    }
}

impl Pair for (OlmSession, OlmSession) {
    #[inline(never)]
    fn round_trips(&mut self, plaintext: &[u8], count: u32) {
        let (receiver, sender) = self;
        for _ in 0..count {
            let message = sender.encrypt(plaintext).unwrap();
            let decrypted = receiver.decrypt(black_box(&message)).unwrap();
            assert_eq!(decrypted.len(), plaintext.len());
        }
    }
}

/// Length of the filler after a 1 KiB plaintext (docs/e2e-protocol.md, 4.3).
const FILLER_LEN: usize = sotto_crypto::ENCRYPTED_MESSAGE_LEN
    - (2 + 24 + sotto_crypto::ENCRYPTED_HEADER_LEN + 1184 + 1024 + 16);

#[inline(never)]
fn fillers(option: &str, out: &mut [u8], count: u32) {
    use chacha20poly1305::aead::{AeadInPlace, KeyInit};
    use chacha20poly1305::{XChaCha20Poly1305, XNonce};
    use rand_chacha::rand_core::{RngCore, SeedableRng};
    for round in 0..count {
        let seed: [u8; 32] = filled(round as u8);
        match option {
            "xchacha" => {
                out.fill(0);
                let cipher = XChaCha20Poly1305::new(&seed.into());
                let tag = cipher
                    .encrypt_in_place_detached(XNonce::from_slice(&[0; 24]), b"", out)
                    .unwrap();
                black_box(tag);
            }
            "chacha20" => rand_chacha::ChaCha20Rng::from_seed(seed).fill_bytes(out),
            "chacha12" => rand_chacha::ChaCha12Rng::from_seed(seed).fill_bytes(out),
            "chacha8" => rand_chacha::ChaCha8Rng::from_seed(seed).fill_bytes(out),
            _ => panic!("filler options: xchacha, chacha20, chacha12, chacha8"),
        }
        black_box(&*out);
    }
}

/// Fastest and median batch of 20 filler productions.
fn time_fillers(option: &str, count: u32) {
    let mut out = vec![0u8; FILLER_LEN];
    let mut batches: Vec<f64> = (0..count.div_ceil(20))
        .map(|_| {
            let start = std::time::Instant::now();
            fillers(option, &mut out, 20);
            start.elapsed().as_secs_f64() * 1e6 / 20.0
        })
        .collect();
    batches.sort_by(f64::total_cmp);
    println!(
        "filler {option}, {FILLER_LEN} bytes: {:.2} µs (fastest batch), {:.2} µs (median)",
        batches[0],
        batches[batches.len() / 2]
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, mode, option, count] = args.as_slice()
        && mode == "filler"
    {
        time_fillers(option, count.parse().expect("a count"));
        return;
    }
    let usage = "usage: steady_state sotto|olm 1k|full ROUND_TRIPS";
    let (library, size, count) = match args.as_slice() {
        [_, library, size, count] => (library.as_str(), size.as_str(), count),
        _ => panic!("{usage}"),
    };
    let size = match size {
        "1k" => 1024,
        "full" => MAX_PLAINTEXT_LEN,
        _ => panic!("{usage}"),
    };
    let count: u32 = count.parse().expect(usage);
    let mut pair: Box<dyn Pair> = match library {
        "sotto" => Box::new(sotto_pair(&mut Randomness(1))),
        "olm" => Box::new(olm_pair()),
        _ => panic!("{usage}"),
    };
    let plaintext = vec![0x61u8; size];
    // Timed in batches: on a shared machine the fastest batch is the one least disturbed,
    // so the minimum is reported beside the median.
    const BATCH: u32 = 20;
    let mut batches: Vec<f64> = (0..count.div_ceil(BATCH))
        .map(|_| {
            let start = std::time::Instant::now();
            pair.round_trips(&plaintext, BATCH);
            start.elapsed().as_secs_f64() * 1e6 / f64::from(BATCH)
        })
        .collect();
    batches.sort_by(f64::total_cmp);
    if let (Some(min), Some(median)) = (batches.first(), batches.get(batches.len() / 2)) {
        println!(
            "{library} {} bytes: {} round trips, {min:.1} µs each (fastest batch), {median:.1} µs (median)",
            plaintext.len(),
            batches.len() as u32 * BATCH,
        );
    }
}
