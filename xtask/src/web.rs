//! The web client in `web/`: the `sotto-wasm` module it imports
//! (`web/src/wasm-pkg`, generated), its npm dependencies, type check, unit tests
//! and production build (`web/dist`, which the relay serves with `--web-dir`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::install::{CHROMIUM, WASM_TARGET, chromium, wasm_bindgen_cli};
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
/// by archive (`web/e2e/browser-cli.mjs`). Screenshots of the main screens go
/// to `<target>/e2e-artifacts`.
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
/// glue into `web/src/wasm-pkg` with wasm-bindgen, installing it when missing.
fn wasm_package() -> Result<()> {
    wasm_bindgen_cli()?;
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
