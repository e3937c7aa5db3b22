//! Installs what the tests need on a fresh machine. Every step checks first and
//! does nothing when the tool is already there.

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::steps::{announce, cargo, run_checked};

/// The Rust targets the sans-IO crates must build for.
pub(crate) const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// cargo-fuzz, pinned so that every machine builds the same fuzz harness.
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// wasm-bindgen-cli: exactly the `wasm-bindgen` version pinned in the root
/// `Cargo.toml`, or the generated glue does not match the wasm module.
const WASM_BINDGEN_VERSION: &str = "0.2.130";

/// Installs everything the test pipeline uses.
pub(crate) fn prerequisites(want_fuzz: bool) -> Result<()> {
    web_build_tools()?;
    libcrypto()?;
    tmux()?;
    redis_server()?;
    if want_fuzz {
        cargo_fuzz()?;
    }
    Ok(())
}

/// What building the web client needs from the Rust side: the wasm32 target
/// and wasm-bindgen-cli. Every command that builds the web client calls this
/// (`cargo xtask run` too), not only the test pipeline.
pub(crate) fn web_build_tools() -> Result<()> {
    wasm_target()?;
    wasm_bindgen_cli()
}

fn wasm_target() -> Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("running `rustup target list --installed`")?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|line| line.trim() == WASM_TARGET)
    {
        return Ok(());
    }
    announce(&format!("installing the {WASM_TARGET} target"));
    run_checked(Command::new("rustup").args(["target", "add", WASM_TARGET]))
}

/// `wasm-bindgen` of [`WASM_BINDGEN_VERSION`], which turns the `sotto-wasm`
/// module into what the web client imports.
fn wasm_bindgen_cli() -> Result<()> {
    let version = Command::new("wasm-bindgen").arg("--version").output();
    if version.is_ok_and(|output| {
        String::from_utf8_lossy(&output.stdout).trim()
            == format!("wasm-bindgen {WASM_BINDGEN_VERSION}")
    }) {
        return Ok(());
    }
    announce(&format!(
        "installing wasm-bindgen-cli {WASM_BINDGEN_VERSION} (one-time, a few minutes)"
    ));
    let install = |locked: bool| {
        let mut install = cargo();
        install.args([
            "install",
            "wasm-bindgen-cli",
            "--version",
            WASM_BINDGEN_VERSION,
            "--force",
        ]);
        if locked {
            install.arg("--locked");
        }
        // Installed binaries do not belong in the project's target directory.
        install.env_remove("CARGO_TARGET_DIR");
        run_checked(&mut install)
    };
    // The published lock file can name a dependency version that a registry
    // mirror lacks; the tool's own version is pinned either way.
    install(true).or_else(|_| install(false))
}

/// The browser of the web client's browser test (Debian's package).
pub(crate) const CHROMIUM: &str = "/usr/bin/chromium";

/// The colour emoji font, so that reactions show in the browser tests' screenshots.
const EMOJI_FONT: &str = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf";

/// Debian's chromium and an emoji font, for the browser tests.
pub(crate) fn chromium() -> Result<()> {
    if std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(EMOJI_FONT).exists() {
        return Ok(());
    }
    announce("installing chromium and fonts-noto-color-emoji (for the browser tests)");
    run_checked(Command::new("apt-get").arg("update"))?;
    run_checked(
        Command::new("apt-get")
            .args(["install", "-y", "chromium", "fonts-noto-color-emoji"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

/// OpenSSL's libcrypto, which the SQLCipher bundled into `sotto-store` links.
fn libcrypto() -> Result<()> {
    let present = Command::new("pkg-config")
        .args(["--exists", "libcrypto"])
        .status()
        .map(|status| status.success())
        .unwrap_or(false);
    if present {
        return Ok(());
    }
    announce("installing libssl-dev and pkg-config (for SQLCipher)");
    run_checked(Command::new("apt-get").arg("update"))?;
    run_checked(
        Command::new("apt-get")
            .args(["install", "-y", "libssl-dev", "pkg-config"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

/// tmux, the terminal that the test of `sotto chat` types into and reads.
fn tmux() -> Result<()> {
    let present = Command::new("tmux")
        .arg("-V")
        .output()
        .map(|output| output.status.success())
        .unwrap_or(false);
    if present {
        return Ok(());
    }
    announce("installing tmux (for the terminal UI test)");
    run_checked(Command::new("apt-get").arg("update"))?;
    run_checked(
        Command::new("apt-get")
            .args(["install", "-y", "tmux"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

/// Debian's Redis 7, the durable peer that `cargo xtask bench relay`
/// measures the relay against (its versus-redis run).
pub(crate) fn redis_server() -> Result<()> {
    let present = Command::new("redis-server")
        .arg("--version")
        .output()
        .map(|output| output.status.success())
        .unwrap_or(false);
    if present {
        return Ok(());
    }
    announce("installing redis-server (the relay benchmark's durable Redis)");
    run_checked(Command::new("apt-get").arg("update"))?;
    run_checked(
        Command::new("apt-get")
            .args(["install", "-y", "redis-server"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

fn cargo_fuzz() -> Result<()> {
    let present = Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .map(|output| output.status.success())
        .unwrap_or(false);
    if present {
        return Ok(());
    }
    announce(&format!(
        "installing cargo-fuzz {CARGO_FUZZ_VERSION} (one-time, a few minutes)"
    ));
    let mut install = cargo();
    install.args([
        "install",
        "--locked",
        "cargo-fuzz",
        "--version",
        CARGO_FUZZ_VERSION,
    ]);
    // Installed binaries do not belong in the project's target directory.
    install.env_remove("CARGO_TARGET_DIR");
    run_checked(&mut install)
}

/// The toolchain that builds fuzz targets: nightly when rustup has it, else the
/// stable toolchain with its unstable flags unlocked.
pub(crate) fn fuzz_toolchain() -> Result<FuzzToolchain> {
    let nightly = Command::new("rustup")
        .args(["run", "nightly", "rustc", "--version"])
        .output()
        .map(|output| output.status.success())
        .unwrap_or(false);
    if nightly {
        return Ok(FuzzToolchain::Nightly);
    }
    let stable = Command::new("rustc")
        .arg("--version")
        .output()
        .context("running rustc")?;
    if !stable.status.success() {
        bail!("no Rust toolchain found to build the fuzz targets");
    }
    Ok(FuzzToolchain::StableBootstrap)
}

/// How `cargo fuzz` gets the unstable compiler flags it needs.
#[derive(Clone, Copy)]
pub(crate) enum FuzzToolchain {
    /// `cargo +nightly fuzz`.
    Nightly,
    /// `RUSTC_BOOTSTRAP=1 cargo fuzz` on the stable toolchain.
    StableBootstrap,
}

impl FuzzToolchain {
    /// A `cargo` command set up for `cargo fuzz`.
    pub(crate) fn cargo(self) -> Command {
        match self {
            FuzzToolchain::Nightly => {
                // `+nightly` is understood by rustup's `cargo` proxy, not by the
                // toolchain's own cargo binary that runs this xtask.
                let mut command = Command::new("cargo");
                command.env_remove("RUSTUP_TOOLCHAIN").arg("+nightly");
                command
            }
            FuzzToolchain::StableBootstrap => {
                let mut command = cargo();
                command.env("RUSTC_BOOTSTRAP", "1");
                command
            }
        }
    }
}
