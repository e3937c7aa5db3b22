//! `export` and `import`: moving a whole profile to another directory or
//! device as one encrypted archive.

use std::path::Path;

use anyhow::Context;
use serde_json::json;
use sotto_core::Core;

use super::{Output, progress};
use crate::failure::Failure;
use crate::profile::{self, PassphraseSource, core_failure};

pub(super) fn export(
    dir: &Path,
    file: &Path,
    source: &PassphraseSource,
    output: &Output,
) -> anyhow::Result<()> {
    if file.exists() {
        return Err(Failure::new("usage", format!("{} exists already", file.display())).into());
    }
    let passphrase = source.read("Passphrase", false)?;
    // Opening the core refuses a profile that was moved already.
    let (core, _) = profile::open_core(dir, &passphrase)?;
    let mut store = core.into_store();
    progress("writing the archive…");
    let receipt = {
        let mut out = std::fs::File::create_new(file)
            .with_context(|| format!("creating {}", file.display()))?;
        let receipt = store.export_archive(&mut out, &passphrase)?;
        out.sync_all()
            .with_context(|| format!("writing {}", file.display()))?;
        receipt
    };
    // The archive is on disk: retire this copy so that it never reuses keys.
    let moved_at = sotto_client::runtime::now_millis().0 / 1000;
    sotto_core::mark_moved(&mut store, &receipt, moved_at)
        .map_err(|error| profile::store_failure(error, dir))?;
    output.emit(
        json!({ "file": file.display().to_string(), "tables": receipt.tables, "records": receipt.records }),
        || format!("Exported to {}. This profile directory is now retired: import the archive elsewhere.", file.display()),
    )
}

pub(super) fn import(
    dir: &Path,
    file: &Path,
    source: &PassphraseSource,
    output: &Output,
) -> anyhow::Result<()> {
    let passphrase = source.read("Passphrase of the archive", false)?;
    let mut archive =
        std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    progress("deriving the database key…");
    let mut store = profile::create_store(dir, &passphrase)?;
    progress("importing the archive…");
    let summary = match store.import_archive(
        &mut std::io::BufReader::new(&mut archive),
        passphrase.clone(),
    ) {
        Ok(summary) => summary,
        Err(error) => {
            drop(store);
            // Leave nothing half-made that would block the next attempt.
            let database = profile::database_path(dir);
            let _ = std::fs::remove_file(sotto_store::key_file_path(&database));
            let _ = std::fs::remove_file(&database);
            return Err(error.into());
        }
    };
    let mut core = Core::open(store).map_err(core_failure)?;
    let relay = profile::home_relay(&mut core)?;
    let name = core.profile().display_name().to_owned();
    output.emit(
        json!({ "profile": dir.display().to_string(), "name": name, "relay": relay.to_string(), "tables": summary.tables, "records": summary.records }),
        || format!("Imported the profile of {name} into {}.", dir.display()),
    )
}
