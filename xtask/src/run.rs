//! `cargo xtask run`: a relay for local development on 127.0.0.1.

use anyhow::Result;

use crate::steps::{announce, cargo, run_checked};
use crate::workspace_root;

/// Builds the relay and runs it in the foreground until Ctrl-C.
pub(crate) fn run(args: &[String]) -> Result<()> {
    let mut release = false;
    let mut relay_args: Vec<String> = Vec::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--release" => release = true,
            "--" => relay_args.extend(rest.by_ref().cloned()),
            other => anyhow::bail!(
                "unknown option `{other}` for `cargo xtask run` (relay options go after `--`)"
            ),
        }
    }
    if !relay_args.iter().any(|arg| arg == "--listen") {
        relay_args.extend(["--listen".into(), "127.0.0.1:7000".into()]);
    }
    if !relay_args.iter().any(|arg| arg == "--data") {
        let data = workspace_root().join("relay-data");
        relay_args.extend(["--data".into(), data.to_string_lossy().into_owned()]);
    }
    if !relay_args.iter().any(|arg| arg == "--web-dir") {
        announce("building the web client (npm run build)");
        crate::web::build()?;
        let dist = crate::web::dist();
        relay_args.extend(["--web-dir".into(), dist.to_string_lossy().into_owned()]);
    }
    announce("building and starting sotto-relay (Ctrl-C stops it)");
    let mut command = cargo();
    command.args(["run", "--package", "sotto-relay", "--bin", "sotto-relay"]);
    if release {
        command.arg("--release");
    }
    command.arg("--").args(&relay_args);
    run_checked(&mut command)
}
