//! The test pipeline and the other build commands.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::install::{self, WASM_TARGET};
use crate::workspace_root;

/// Crates that must build for the browser (sans-IO, no threads, no file system).
const WASM_CRATES: &[&str] = &["sotto-wire", "sotto-crypto", "sotto-core", "sotto-groups"];

/// Seconds each fuzz target runs in the test pipeline: enough to catch a broken
/// harness or a shallow crash, short enough for CI.
const FUZZ_SMOKE_SECONDS: u32 = 8;

/// Options of `cargo xtask test`.
struct TestOptions {
    install: bool,
    lint: bool,
    fuzz: bool,
}

impl TestOptions {
    fn parse(args: &[String]) -> Result<Self> {
        let mut options = TestOptions {
            install: true,
            lint: true,
            fuzz: true,
        };
        for arg in args {
            match arg.as_str() {
                "--no-install" => options.install = false,
                "--skip-lint" => options.lint = false,
                "--skip-fuzz" => options.fuzz = false,
                other => bail!("unknown option `{other}` for `cargo xtask test`"),
            }
        }
        Ok(options)
    }
}

/// `cargo xtask test`: every test of the project.
pub(crate) fn test(args: &[String]) -> Result<()> {
    let options = TestOptions::parse(args)?;
    let started = Instant::now();
    if options.install {
        install::prerequisites(options.fuzz)?;
    }
    if options.lint {
        announce("checking formatting (cargo fmt --check)");
        run_checked(cargo().args(["fmt", "--all", "--", "--check"]))?;
        announce("linting (cargo clippy -D warnings)");
        run_checked(cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ]))?;
        // The browser bridge builds only for wasm32: the workspace lint skips it.
        announce(&format!(
            "linting the browser bridge for {WASM_TARGET} (cargo clippy -D warnings)"
        ));
        run_checked(cargo().args([
            "clippy",
            "--locked",
            "--target",
            WASM_TARGET,
            "--package",
            "sotto-wasm",
            "--",
            "-D",
            "warnings",
        ]))?;
    }
    announce("unit, property and integration tests (cargo test --workspace)");
    run_checked(cargo().args(["test", "--workspace", "--locked"]))?;

    announce("web client: type check, unit tests and production build (npm)");
    crate::web::test()?;

    announce(&format!("building the sans-IO crates for {WASM_TARGET}"));
    let mut wasm = cargo();
    wasm.args(["build", "--locked", "--target", WASM_TARGET]);
    for name in WASM_CRATES {
        wasm.args(["--package", name]);
    }
    run_checked(&mut wasm)?;

    if options.fuzz {
        fuzz_all(FUZZ_SMOKE_SECONDS)?;
    }
    announce(&format!(
        "all tests passed in {:.0} s",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// `cargo xtask fuzz [TARGET] [--seconds N]`.
pub(crate) fn fuzz_command(args: &[String]) -> Result<()> {
    let mut seconds = 10;
    let mut target = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--seconds" => {
                let value = rest.next().context("--seconds needs a number")?;
                seconds = value
                    .parse()
                    .with_context(|| format!("--seconds: `{value}` is not a number"))?;
            }
            name if !name.starts_with('-') && target.is_none() => target = Some(name.to_owned()),
            other => bail!("unknown option `{other}` for `cargo xtask fuzz`"),
        }
    }
    match target {
        Some(name) => fuzz_one(install::fuzz_toolchain()?, &name, seconds),
        None => fuzz_all(seconds),
    }
}

fn fuzz_all(seconds: u32) -> Result<()> {
    let toolchain = install::fuzz_toolchain()?;
    let targets = fuzz_targets()?;
    if targets.is_empty() {
        bail!("no fuzz targets found in fuzz/fuzz_targets");
    }
    for name in &targets {
        fuzz_one(toolchain, name, seconds)?;
    }
    Ok(())
}

fn fuzz_one(toolchain: install::FuzzToolchain, name: &str, seconds: u32) -> Result<()> {
    announce(&format!("fuzzing {name} for {seconds} s"));
    let fuzz_dir = workspace_root().join("fuzz");
    let corpus = fuzz_dir.join("corpus").join(name);
    std::fs::create_dir_all(&corpus)
        .with_context(|| format!("creating the corpus directory {}", corpus.display()))?;
    let mut command = toolchain.cargo();
    command
        .current_dir(&fuzz_dir)
        .env("CARGO_TARGET_DIR", fuzz_target_dir())
        .args(["fuzz", "run", name, "--"])
        .arg(format!("-max_total_time={seconds}"))
        .arg("-rss_limit_mb=4096");
    run_checked(&mut command)
}

/// The fuzz targets: one file each in `fuzz/fuzz_targets`.
fn fuzz_targets() -> Result<Vec<String>> {
    let dir = workspace_root().join("fuzz").join("fuzz_targets");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|extension| extension == "rs")
            && let Some(stem) = path.file_stem()
        {
            names.push(stem.to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Fuzz builds use other compiler flags: keeping them apart from the main
/// target directory spares both from rebuilding each other's artifacts.
fn fuzz_target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let mut dir = dir;
            dir.push("-fuzz");
            PathBuf::from(dir)
        }
        None => workspace_root().join("fuzz").join("target"),
    }
}

/// `cargo xtask bench [relay|client|catch-up|files|crypto|groups|web|web-catch-up|web-search|web-files|all]`.
pub(crate) fn bench(args: &[String]) -> Result<()> {
    let which = args.first().map(String::as_str).unwrap_or("all");
    if !matches!(
        which,
        "relay"
            | "client"
            | "catch-up"
            | "files"
            | "crypto"
            | "groups"
            | "web"
            | "web-catch-up"
            | "web-search"
            | "web-files"
            | "all"
    ) {
        bail!(
            "unknown benchmark `{which}`: choose relay, client, catch-up, files, crypto, groups, web, web-catch-up, web-search, web-files or all"
        );
    }
    if matches!(which, "crypto" | "all") {
        announce("crypto benchmarks (criterion, release)");
        run_checked(cargo().args(["bench", "--package", "sotto-crypto"]))?;
    }
    if matches!(which, "groups" | "all") {
        announce("MLS group benchmark (100 and 1,000 members, release)");
        run_checked(cargo().args(["bench", "--package", "sotto-groups", "--bench", "groups"]))?;
    }
    // Options after `relay`, `client`, `catch-up`, `files` or `groups` go
    // to that bench (see its --help).
    let options = args.get(1..).unwrap_or_default();
    if matches!(which, "groups" | "all") {
        live_bench("groups", "sotto-groups-bench", options)?;
    }
    if matches!(which, "relay" | "all") {
        install::redis_server()?;
        live_bench("relay", "sotto-relay-bench", options)?;
    }
    if matches!(which, "client" | "all") {
        live_bench("client", "sotto-client-bench", options)?;
    }
    if matches!(which, "catch-up" | "all") {
        live_bench("catch-up", "sotto-catch-up-bench", options)?;
    }
    if matches!(which, "files" | "all") {
        // It drives the release `sotto` binary.
        announce("files benchmark (release): building sotto");
        run_checked(cargo().args(["build", "--release", "--package", "sotto-cli"]))?;
        live_bench("files", "sotto-files-bench", options)?;
    }
    if which == "web" {
        // Options after `web` go to the web bench (`--runs N`).
        crate::web::bench(&args[1..])?;
    } else if which == "all" {
        crate::web::bench(&[])?;
    }
    if which == "web-catch-up" {
        // Options after `web-catch-up` go to that bench (`--runs N`).
        crate::web::bench_catch_up(&args[1..])?;
    } else if which == "all" {
        crate::web::bench_catch_up(&[])?;
    }
    if which == "web-search" {
        // Options after `web-search` go to that bench (`--runs N`).
        crate::web::bench_search(&args[1..])?;
    } else if which == "all" {
        crate::web::bench_search(&[])?;
    }
    if which == "web-files" {
        // Options after `web-files` go to that bench (`--runs N`).
        crate::web::bench_files(&args[1..])?;
    } else if which == "all" {
        crate::web::bench_files(&[])?;
    }
    Ok(())
}

/// Builds sotto-relay and `bin` (from sotto-bench) in release, then runs
/// `bin` with `options`; it finds the relay next to itself.
fn live_bench(name: &str, bin: &str, options: &[String]) -> Result<()> {
    announce(&format!(
        "{name} benchmark (release): building sotto-relay and {bin}"
    ));
    run_checked(cargo().args([
        "build",
        "--release",
        "--package",
        "sotto-relay",
        "--package",
        "sotto-bench",
    ]))?;
    announce(&format!("{name} benchmark (release): running"));
    run_checked(
        cargo()
            .args([
                "run",
                "--release",
                "--package",
                "sotto-bench",
                "--bin",
                bin,
                "--",
            ])
            .args(options),
    )
}

/// A `cargo` command of the toolchain that runs this xtask.
pub(crate) fn cargo() -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(program);
    command.current_dir(workspace_root());
    command
}

/// Prints a step header so long runs show where they are.
pub(crate) fn announce(step: &str) {
    eprintln!("\n==> {step}");
}

/// Runs a command to completion and fails with its exit status.
pub(crate) fn run_checked(command: &mut Command) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("starting {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(())
}
