//! Release-mode figures for MLS groups of 100 and 1,000 members (10,000 on request):
//! adding and removing one member (making the commit, processing it at another member),
//! a new member processing its welcome, and the state a member stores.
//!
//! `cargo bench -p sotto-groups --bench groups -- [--members 100,1000] [--rounds 5]`

use std::time::{Duration, Instant};

use sotto_groups::{DisplayName, Group, GroupEvent, PendingJoin, Welcome};

const WEEK: u64 = 7 * 24 * 60 * 60;

type Failure = Box<dyn std::error::Error>;

fn main() -> Result<(), Failure> {
    let mut sizes = vec![100, 1000];
    let mut rounds = 5;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--members" => {
                let list = args.next().ok_or("--members needs a list")?;
                sizes = list.split(',').map(str::parse).collect::<Result<_, _>>()?;
            }
            "--rounds" => rounds = args.next().ok_or("--rounds needs a number")?.parse()?,
            // cargo bench passes --bench to every bench binary.
            "--bench" => {}
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    println!(
        "| members | add: commit | add: process | welcome: process | remove: commit | remove: process | add commit | welcome | remove commit | state (adder) | state (member) |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for members in sizes {
        run(members, rounds)?;
    }
    Ok(())
}

/// Seconds since the Unix epoch (OpenMLS checks key package lifetimes against the clock).
fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

fn pseudonym(index: usize) -> Result<(PendingJoin, sotto_groups::KeyPackage), Failure> {
    Ok(PendingJoin::new(
        &DisplayName::new(&format!("member {index}"))?,
        now(),
        WEEK,
    )?)
}

/// Our own commit back from the log: its welcome, if it added anyone.
fn confirm(group: &mut Group, commit: &[u8]) -> Result<Option<Welcome>, Failure> {
    match group.process(commit)? {
        GroupEvent::OwnCommitConfirmed { welcome, .. } => Ok(welcome),
        other => Err(format!("unexpected {other:?}").into()),
    }
}

/// Timings of one round.
#[derive(Default)]
struct Round {
    add_commit: Duration,
    add_process: Duration,
    welcome: Duration,
    remove_commit: Duration,
    remove_process: Duration,
    add_bytes: usize,
    welcome_bytes: usize,
    remove_bytes: usize,
}

fn run(members: usize, rounds: usize) -> Result<(), Failure> {
    // The owner adds everyone in one commit; member 1 follows the group as the observer
    // who processes every later commit. Only the owner's path is filled, so a commit
    // with a path encrypts to about every other leaf: the costliest case.
    let setup = Instant::now();
    let mut owner = Group::create(&DisplayName::new("owner")?, now(), WEEK)?;
    let (observer_join, first) = pseudonym(1)?;
    let mut key_packages = vec![first];
    for index in 2..members {
        key_packages.push(pseudonym(index)?.1);
    }
    // A welcome's group secrets are encrypted to each joiner with the whole group info
    // (and so the tree) as context: a single welcome to 10,000 joiners would hash the
    // tree 10,000 times. The setup hands the tree over apart; measured joins do not.
    let commit = owner.dangerous_add_members_without_tree(&key_packages)?;
    let welcome = confirm(&mut owner, commit.as_bytes())?.ok_or("no welcome")?;
    let tree = owner.dangerous_ratchet_tree()?;
    let mut observer = observer_join.dangerous_join_with_tree(welcome.as_bytes(), &tree)?;
    eprintln!(
        "{members} members: set up in {:.1} s",
        setup.elapsed().as_secs_f64()
    );

    let mut results = Vec::new();
    for index in 0..rounds {
        let mut round = Round::default();
        let (join, key_package) = pseudonym(members + index)?;

        let started = Instant::now();
        let commit = owner.add_members(&[key_package])?;
        round.add_commit = started.elapsed();
        round.add_bytes = commit.as_bytes().len();
        let welcome = confirm(&mut owner, commit.as_bytes())?.ok_or("no welcome")?;
        round.welcome_bytes = welcome.as_bytes().len();
        let started = Instant::now();
        observer.process(commit.as_bytes())?;
        round.add_process = started.elapsed();

        let started = Instant::now();
        let newcomer = join.join(welcome.as_bytes())?;
        round.welcome = started.elapsed();

        let started = Instant::now();
        let commit = owner.remove_members(&[newcomer.own_member_id()])?;
        round.remove_commit = started.elapsed();
        round.remove_bytes = commit.as_bytes().len();
        confirm(&mut owner, commit.as_bytes())?;
        let started = Instant::now();
        observer.process(commit.as_bytes())?;
        round.remove_process = started.elapsed();
        results.push(round);
    }

    let median = |f: fn(&Round) -> Duration| {
        let mut values: Vec<_> = results.iter().map(f).collect();
        values.sort();
        values[values.len() / 2]
    };
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    let kib = |bytes: usize| format!("{:.1} KiB", bytes as f64 / 1024.0);
    let last = results.last().ok_or("no rounds")?;
    let owner_state = owner.pickle()?.len();
    let observer_state = observer.pickle()?.len();
    println!(
        "| {members} | {} | {} | {} | {} | {} | {} | {} | {} | {} ({}/member) | {} ({}/member) |",
        ms(median(|r| r.add_commit)),
        ms(median(|r| r.add_process)),
        ms(median(|r| r.welcome)),
        ms(median(|r| r.remove_commit)),
        ms(median(|r| r.remove_process)),
        kib(last.add_bytes),
        kib(last.welcome_bytes),
        kib(last.remove_bytes),
        kib(owner_state),
        kib(owner_state / members),
        kib(observer_state),
        kib(observer_state / members),
    );
    Ok(())
}
