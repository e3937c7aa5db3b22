//! The web client in `web/`: the `sotto-wasm` module it imports
//! (`web/src/wasm-pkg`, generated), its npm dependencies, type check, unit tests
//! and production build (`web/dist`, which the relay serves with `--web-dir`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::install::{CHROMIUM, WASM_TARGET, chromium, web_build_tools};
use crate::steps::{announce, cargo, run_checked};
use crate::workspace_root;

/// Where `npm ci` leaves a copy of the lock file it installed, so that the
/// next run installs again only when the lock file changed.
const INSTALLED_LOCK: &str = "node_modules/.sotto-installed-lock.json";

/// The web client's directory.
pub(crate) fn dir() -> PathBuf {
    workspace_root().join("web")
}

/// The production build that the relay serves.
pub(crate) fn dist() -> PathBuf {
    dir().join("dist")
}

/// Type check, formatting check, unit tests and production build, installing
/// dependencies first when needed.
pub(crate) fn test() -> Result<()> {
    let web = dir();
    wasm_package()?;
    install_dependencies(&web)?;
    run_checked(npm(&web).args(["run", "typecheck"]))?;
    run_checked(npm(&web).args(["run", "format:check"]))?;
    run_checked(npm(&web).args(["test"]))?;
    run_checked(npm(&web).args(["run", "build"]))?;
    browser_test(&web)
}

/// The browser tests against a real relay, installing Debian's chromium when
/// missing: two headless Chromium contexts chat (`web/e2e/two-browsers.mjs`),
/// then a browser and the `sotto` command chat and move a profile between them
/// by archive (`web/e2e/browser-cli.mjs`), then the page at a phone's size,
/// with the keyboard alone, with the privacy blur, its requests and the app
/// lock (`web/e2e/layout.mjs`), then invitation and contact-address links
/// opened in a browser (`web/e2e/invite-link.mjs`), then QR codes: the
/// invitation's decoded from a screenshot by another decoder, and scanned by
/// a browser whose fake camera films it (`web/e2e/qr-codes.mjs`), then a
/// profile kept by an earlier version unlocked and upgraded
/// (`web/e2e/old-profile.mjs`), then managing chats, search, notifications
/// and the offline status (`web/e2e/manage-chats.mjs`), then receiving while
/// locked (`web/e2e/locked-receiving.mjs`), then the emoji picker, reactions
/// with any emoji, the first unread message and delete for me
/// (`web/e2e/daily-use.mjs`), then files: several dropped at once (one of
/// 100 MB), an image pasted, a voice message recorded, between two browsers
/// and the command (`web/e2e/files.mjs`), then a group made in a browser with
/// another browser and the command in it, across a reload and a relay
/// restart (`web/e2e/groups.mjs`), then group links: a browser joins by the
/// command's link with approval and the command by a browser's automatic
/// link, a member blocked in the browser stays hidden there, a picture the
/// command gives a group is its avatar in the browser, members' names and
/// pictures changed in the browser and by the command show on the other side,
/// and a request to join
/// that reaches the admin's browser while it is locked waits there after the
/// unlock to be approved (`web/e2e/groups-links.mjs`).
/// Screenshots of the main screens go to `<target>/e2e-artifacts`.
fn browser_test(web: &Path) -> Result<()> {
    chromium()?;
    announce("building sotto-relay and sotto for the browser tests");
    run_checked(cargo().args([
        "build",
        "--locked",
        "--package",
        "sotto-relay",
        "--bin",
        "sotto-relay",
        "--package",
        "sotto-cli",
        "--bin",
        "sotto",
    ]))?;
    let binaries = target_dir().join("debug");
    for (title, script) in [
        (
            "browser test: two Chromium profiles through a real relay",
            "e2e/two-browsers.mjs",
        ),
        (
            "browser test: a browser and the sotto command, and archives between them",
            "e2e/browser-cli.mjs",
        ),
        (
            "browser test: phone size, keyboard alone, privacy blur, requests, app lock",
            "e2e/layout.mjs",
        ),
        (
            "browser test: invitation and contact-address links opened in a browser",
            "e2e/invite-link.mjs",
        ),
        (
            "browser test: QR codes read from the screen and scanned with a camera",
            "e2e/qr-codes.mjs",
        ),
        (
            "browser test: a profile kept by an earlier version opens and is upgraded",
            "e2e/old-profile.mjs",
        ),
        (
            "browser test: managing chats, search, notifications and the offline status",
            "e2e/manage-chats.mjs",
        ),
        (
            "browser test: a locked browser keeps receiving, and a closed tab loses nothing",
            "e2e/locked-receiving.mjs",
        ),
        (
            "browser test: emoji, any reaction, the first unread message, delete for me",
            "e2e/daily-use.mjs",
        ),
        (
            "browser test: files dropped, pasted and recorded, between browsers and the command",
            "e2e/files.mjs",
        ),
        (
            "browser test: a group of two browsers and the command",
            "e2e/groups.mjs",
        ),
        (
            "browser test: group links and requests to join between a browser and the command (one while locked), blocking a member, a group's and members' pictures",
            "e2e/groups-links.mjs",
        ),
    ] {
        announce(title);
        run_checked(
            Command::new("node")
                .current_dir(web)
                .arg(script)
                .env("SOTTO_RELAY", binaries.join("sotto-relay"))
                .env("SOTTO_CLI", binaries.join("sotto"))
                .env("SOTTO_WEB", dist())
                .env("SOTTO_ARTIFACTS", target_dir().join("e2e-artifacts"))
                .env("CHROMIUM", CHROMIUM),
        )?;
    }
    Ok(())
}

/// The production build alone, installing dependencies first when needed.
pub(crate) fn build() -> Result<()> {
    let web = dir();
    wasm_package()?;
    install_dependencies(&web)?;
    run_checked(npm(&web).args(["run", "build"]))
}

/// Builds `sotto-wasm` for the browser (release) and generates its JavaScript
/// glue into `web/src/wasm-pkg` with wasm-bindgen, installing the wasm32 target
/// and wasm-bindgen-cli first when missing.
fn wasm_package() -> Result<()> {
    web_build_tools()?;
    announce("building the browser bridge (sotto-wasm, wasm-bindgen)");
    run_checked(cargo().args([
        "build",
        "--locked",
        "--release",
        "--package",
        "sotto-wasm",
        "--target",
        WASM_TARGET,
    ]))?;
    let module = target_dir()
        .join(WASM_TARGET)
        .join("release")
        .join("sotto_wasm.wasm");
    let out_dir = dir().join("src").join("wasm-pkg");
    run_checked(
        Command::new("wasm-bindgen")
            .args(["--target", "web", "--out-dir"])
            .arg(&out_dir)
            .arg(&module),
    )
}

/// Cargo's target directory.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => workspace_root().join("target"),
    }
}

/// `npm ci` when `node_modules` is missing or `package-lock.json` differs
/// from the one last installed.
fn install_dependencies(web: &Path) -> Result<()> {
    let lock_path = web.join("package-lock.json");
    let lock =
        std::fs::read(&lock_path).with_context(|| format!("reading {}", lock_path.display()))?;
    let installed = web.join(INSTALLED_LOCK);
    if std::fs::read(&installed).is_ok_and(|previous| previous == lock) {
        return Ok(());
    }
    announce("installing the web client's npm dependencies (npm ci)");
    run_checked(npm(web).args(["ci", "--no-audit", "--no-fund"]))?;
    std::fs::write(&installed, &lock).with_context(|| format!("writing {}", installed.display()))
}

fn npm(web: &Path) -> Command {
    let program = if cfg!(windows) { "npm.cmd" } else { "npm" };
    let mut command = Command::new(program);
    command.current_dir(web);
    command
}

/// The profile the web benchmark imports: chats and messages, and the
/// contact whose chat is the long one (the first contact sotto-seed-profile
/// creates).
const BENCH_CHATS: &str = "50";
const BENCH_BIG_CHAT: &str = "10000";
const BENCH_BIG_CHAT_NAME: &str = "Ada";
const BENCH_PASSPHRASE: &str = "benchmark passphrase";

/// Runs of `web/e2e/bench-relay.mjs`, each with a fresh relay, browser and
/// pair of profiles (the figures are their medians).
const BENCH_RELAY_RUNS: &str = "3";

/// `cargo xtask bench web [--runs N]`: the production build, a release relay,
/// a profile built by `sotto-seed-profile`, then `web/e2e/bench.mjs` in
/// headless Chromium, then `web/e2e/bench-relay.mjs` (two browser profiles
/// through the relay, and `sotto-client-bench` with the same counts beside
/// them; see docs/benchmarks.md).
pub(crate) fn bench(args: &[String]) -> Result<()> {
    let runs = runs_option(args, "5", "web")?;
    let archive = seeded_profile(
        "web-bench",
        "50 chats, 10,000 messages in one",
        &["--chats", BENCH_CHATS, "--big-chat", BENCH_BIG_CHAT],
        &["--bin", "sotto-client-bench"],
    )?;
    let binaries = target_dir().join("release");
    announce("web benchmark: headless Chromium");
    run_checked(
        Command::new("node")
            .current_dir(dir())
            .arg("e2e/bench.mjs")
            .env("SOTTO_RELAY", binaries.join("sotto-relay"))
            .env("SOTTO_WEB", dist())
            .env("SOTTO_ARCHIVE", &archive)
            .env("SOTTO_PASSPHRASE", BENCH_PASSPHRASE)
            .env("SOTTO_BIG_CHAT", BENCH_BIG_CHAT_NAME)
            .env("SOTTO_CHATS", BENCH_CHATS)
            .env("SOTTO_RUNS", runs)
            .env("CHROMIUM", CHROMIUM),
    )?;
    announce("web benchmark: two Chromium profiles through the relay");
    run_checked(
        Command::new("node")
            .current_dir(dir())
            .arg("e2e/bench-relay.mjs")
            .env("SOTTO_RELAY", binaries.join("sotto-relay"))
            .env("SOTTO_WEB", dist())
            .env("SOTTO_CLIENT_BENCH", binaries.join("sotto-client-bench"))
            .env("SOTTO_RELAY_RUNS", BENCH_RELAY_RUNS)
            .env("CHROMIUM", CHROMIUM),
    )
}

/// The search benchmark's profile: 100,000 messages, most of them in one chat.
const SEARCH_CHATS: &str = "50";
const SEARCH_PER_CHAT: &str = "40";
/// 100,000 messages less the 49 other chats' 40 each.
const SEARCH_BIG_CHAT: &str = "98040";

/// `cargo xtask bench web-search [--runs N]`: the production build, a
/// release relay, a profile of 100,000 messages built by
/// `sotto-seed-profile`, then `web/e2e/bench-search.mjs` times the bridge's
/// `search` in headless Chromium (see docs/benchmarks.md).
pub(crate) fn bench_search(args: &[String]) -> Result<()> {
    let runs = runs_option(args, "7", "web-search")?;
    let archive = seeded_profile(
        "web-search-bench",
        "50 chats, 100,000 messages",
        &[
            "--chats",
            SEARCH_CHATS,
            "--per-chat",
            SEARCH_PER_CHAT,
            "--big-chat",
            SEARCH_BIG_CHAT,
        ],
        &[],
    )?;
    announce("web search benchmark: headless Chromium");
    run_checked(
        Command::new("node")
            .current_dir(dir())
            .arg("e2e/bench-search.mjs")
            .env(
                "SOTTO_RELAY",
                target_dir().join("release").join("sotto-relay"),
            )
            .env("SOTTO_WEB", dist())
            .env("SOTTO_ARCHIVE", &archive)
            .env("SOTTO_PASSPHRASE", BENCH_PASSPHRASE)
            .env("SOTTO_CHATS", SEARCH_CHATS)
            .env("SOTTO_RUNS", runs)
            .env("CHROMIUM", CHROMIUM),
    )
}

/// `cargo xtask bench web-files [--runs N]`: the production build, a
/// release relay, then `web/e2e/bench-files.mjs`: a 100 MB file sent from one
/// headless Chromium profile to another through the relay, MB/s each way and
/// each page's peak memory (see docs/benchmarks.md).
pub(crate) fn bench_files(args: &[String]) -> Result<()> {
    let runs = runs_option(args, "3", "web-files")?;
    build()?;
    chromium()?;
    announce("web files benchmark (release): building sotto-relay");
    run_checked(cargo().args([
        "build",
        "--locked",
        "--release",
        "--package",
        "sotto-relay",
        "--bin",
        "sotto-relay",
    ]))?;
    announce("web files benchmark: a 100 MB file between two Chromium profiles");
    run_checked(
        Command::new("node")
            .current_dir(dir())
            .arg("e2e/bench-files.mjs")
            .env(
                "SOTTO_RELAY",
                target_dir().join("release").join("sotto-relay"),
            )
            .env("SOTTO_WEB", dist())
            .env("SOTTO_RUNS", runs)
            .env("CHROMIUM", CHROMIUM),
    )
}

/// What a web benchmark starts from: the production web client, Chromium,
/// a release relay and `sotto-seed-profile` (with `more_bins` of
/// sotto-bench), and a profile archive seeded with `seed_args` in
/// `<target>/<work>`, whose path is returned.
fn seeded_profile(
    work: &str,
    what: &str,
    seed_args: &[&str],
    more_bins: &[&str],
) -> Result<std::path::PathBuf> {
    build()?;
    chromium()?;
    announce(&format!(
        "{work} (release): building sotto-relay and sotto-seed-profile"
    ));
    run_checked(
        cargo()
            .args([
                "build",
                "--locked",
                "--release",
                "--package",
                "sotto-relay",
                "--bin",
                "sotto-relay",
                "--package",
                "sotto-bench",
                "--bin",
                "sotto-seed-profile",
            ])
            .args(more_bins),
    )?;
    let work = target_dir().join(work);
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let archive = work.join("profile.sotto");
    announce(&format!("building the benchmark's profile ({what})"));
    run_checked(
        Command::new(target_dir().join("release").join("sotto-seed-profile"))
            .arg("--out")
            .arg(&archive)
            .args(["--passphrase", BENCH_PASSPHRASE])
            .args(seed_args),
    )?;
    Ok(archive)
}

/// The value of `--runs N` among `args` (a positive number), or `default`.
fn runs_option(args: &[String], default: &str, bench: &str) -> Result<String> {
    let mut runs = String::from(default);
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--runs" => {
                runs = rest
                    .next()
                    .filter(|value| value.parse::<u32>().is_ok_and(|n| n > 0))
                    .context("--runs needs a positive number")?
                    .clone();
            }
            other => anyhow::bail!("unknown option `{other}` for `cargo xtask bench {bench}`"),
        }
    }
    Ok(runs)
}

/// `cargo xtask bench web-catch-up [--runs N]`: the production build, then
/// `sotto-catch-up-bench --for-web` leaves N offline receivers (export
/// archives) with their relays' data, and `web/e2e/bench-catch-up.mjs`
/// starts each relay again, serving `web/dist`, and times the catch-up of
/// each receiver imported into headless Chromium (see docs/benchmarks.md).
pub(crate) fn bench_catch_up(args: &[String]) -> Result<()> {
    let runs = runs_option(args, "3", "web-catch-up")?;
    build()?;
    chromium()?;
    announce("web catch-up benchmark (release): building sotto-relay and sotto-catch-up-bench");
    run_checked(cargo().args([
        "build",
        "--locked",
        "--release",
        "--package",
        "sotto-relay",
        "--bin",
        "sotto-relay",
        "--package",
        "sotto-bench",
        "--bin",
        "sotto-catch-up-bench",
    ]))?;
    let binaries = target_dir().join("release");
    let work = target_dir().join("web-catch-up");
    if work.exists() {
        std::fs::remove_dir_all(&work).with_context(|| format!("removing {}", work.display()))?;
    }
    announce("web catch-up benchmark: 50 contacts send 10,000 messages to an offline receiver");
    run_checked(
        Command::new(binaries.join("sotto-catch-up-bench"))
            .args(["--for-web", "--runs", &runs, "--dir"])
            .arg(&work),
    )?;
    announce("web catch-up benchmark: the receiver in headless Chromium");
    run_checked(
        Command::new("node")
            .current_dir(dir())
            .arg("e2e/bench-catch-up.mjs")
            .env("SOTTO_RELAY", binaries.join("sotto-relay"))
            .env("SOTTO_WEB", dist())
            .env("SOTTO_CATCH_UP", &work)
            .env("CHROMIUM", CHROMIUM),
    )
}
