//! `sotto-relay`: the relay server binary.

fn main() {}
