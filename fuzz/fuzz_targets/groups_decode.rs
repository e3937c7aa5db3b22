//! MLS group inputs: key packages, welcomes, group messages and pickles.

#![no_main]

use std::sync::{Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;
use sotto_groups::{DisplayName, Group, KeyPackage, PendingJoin};

const NOW: u64 = 1_800_000_000;
const WEEK: u64 = 7 * 24 * 60 * 60;

fn name() -> DisplayName {
    DisplayName::new("fuzz").unwrap_or_default()
}

fn pending() -> &'static PendingJoin {
    static PENDING: OnceLock<PendingJoin> = OnceLock::new();
    PENDING.get_or_init(|| PendingJoin::new(&name(), NOW, WEEK).unwrap().0)
}

fn group() -> &'static Mutex<Group> {
    static GROUP: OnceLock<Mutex<Group>> = OnceLock::new();
    GROUP.get_or_init(|| Mutex::new(Group::create(&name(), NOW, WEEK).unwrap()))
}

fuzz_target!(|data: &[u8]| {
    let _ = KeyPackage::from_bytes(data);
    let _ = Group::from_pickle(data);
    let _ = Group::from_state(data, std::iter::empty());
    let _ = PendingJoin::from_pickle(data);
    let _ = pending().join(data);
    if let Ok(mut group) = group().lock() {
        let _ = group.process(data);
    }
});
